/* manifest.c - a backup's files, copied and hashed by directory descriptor; its MANIFEST. */
#define _GNU_SOURCE /* syncfs */
#include "util/manifest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util/encoding.h"

/* Deeper than any directory the state holds (trustpoints/keys is two): a deeper tree is not ours. */
#define MANIFEST_DEPTH_MAX 8

void ec_manifest_init(ec_manifest *m)
{
	memset(m, 0, sizeof(*m));
	ec_buf_init(&m->header, 1024 * 1024);
}

void ec_manifest_free(ec_manifest *m)
{
	for (size_t i = 0; i < m->n_files; i++)
		free(m->files[i].path);
	free(m->files);
	ec_buf_free(&m->header);
	memset(m, 0, sizeof(*m));
}

int ec_manifest_header(ec_manifest *m, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) || strchr(line, '\n') != NULL)
		return -1;
	return ec_buf_printf(&m->header, "%s\n", line);
}

static int add_record(ec_manifest *m, const char *path, uint64_t size, const char *sha, ec_err *err)
{
	ec_manifest_file *files = ec_array_room(m->files, m->n_files, &m->cap_files, sizeof(*files), 64);
	char *copy = strdup(path);
	if (files == NULL || copy == NULL) {
		free(copy);
		return ec_err_set(err, "out of memory");
	}
	m->files = files;
	ec_manifest_file *f = &m->files[m->n_files++];
	f->path = copy;
	f->size = size;
	snprintf(f->sha256, sizeof(f->sha256), "%s", sha);
	return 0;
}

/* Reads fd to its end, hashing it and, when out >= 0, writing it there. */
static int pump(int fd, int out, uint64_t *size, char sha[65], const char *what, ec_err *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return ec_err_set(err, "cannot start SHA-256");
	}
	int rc = 0;
	*size = 0;
	for (;;) {
		uint8_t chunk[65536];
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = ec_err_set(err, "cannot read %s: %s", what, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		*size += (uint64_t)n;
		if (EVP_DigestUpdate(md, chunk, (size_t)n) != 1 || (out >= 0 && ec_write_all(out, chunk, (size_t)n) != 0)) {
			rc = ec_err_set(err, "cannot copy %s: %s", what, strerror(errno));
			break;
		}
	}
	uint8_t digest[32];
	unsigned len = 0;
	if (rc == 0 && EVP_DigestFinal_ex(md, digest, &len) == 1 && len == sizeof(digest))
		ec_hex_encode(digest, sizeof(digest), sha);
	else if (rc == 0)
		rc = ec_err_set(err, "cannot hash %s", what);
	EVP_MD_CTX_free(md);
	return rc;
}

/* Opens a regular file of dfd for reading, never through a symbolic link. */
static int open_regular(int dfd, const char *name, const char *what, ec_err *err)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		int e = fd < 0 ? errno : 0;
		if (fd >= 0)
			close(fd);
		return e != 0 ? ec_err_set(err, "cannot open %s: %s", what, strerror(e))
		              : ec_err_set(err, "%s is not a regular file", what);
	}
	return fd;
}

/* Files are copied without a sync each (a million certificate files would take a million
 * syncs): one syncfs of the file system that holds them all, before the MANIFEST that vouches
 * for them is written. */
static int sync_all(const ec_dir *d, ec_err *err)
{
	return syncfs(d->fd) == 0 ? 0 : ec_err_set(err, "cannot sync %s: %s", d->path, strerror(errno));
}

static int copy_file(ec_manifest *m, int sdir, int ddir, const char *name, const char *rec, ec_err *err)
{
	int in = open_regular(sdir, name, rec, err);
	if (in < 0)
		return -1;
	int out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		int e = errno;
		close(in);
		return ec_err_set(err, "cannot create %s: %s", rec, strerror(e));
	}
	uint64_t size = 0;
	char sha[65];
	int rc = pump(in, out, &size, sha, rec, err);
	if (rc == 0 && fchmod(out, 0600) != 0)
		rc = ec_err_set(err, "cannot write %s: %s", rec, strerror(errno));
	close(in);
	if (close(out) != 0 && rc == 0)
		rc = ec_err_set(err, "cannot write %s: %s", rec, strerror(errno));
	if (rc == 0 && m != NULL)
		rc = add_record(m, rec, size, sha, err);
	return rc;
}

static int join(char *out, size_t sz, const char *dir, const char *name)
{
	int n = dir[0] != '\0' ? snprintf(out, sz, "%s/%s", dir, name) : snprintf(out, sz, "%s", name);
	return n < 0 || (size_t)n >= sz ? -1 : 0;
}

typedef struct tree_copy {
	ec_manifest *m;
	ec_manifest_skip_fn skip;
	void *ctx;
	const char *prefix;
	ec_err *err;
} tree_copy;

static int copy_dir(tree_copy *t, int sdir, int ddir, const char *rel, int depth);

static int copy_entry(tree_copy *t, int sdir, int ddir, const char *rel, const char *name, int depth)
{
	char sub[EC_PATH_MAX], rec[EC_PATH_MAX];
	struct stat st;
	if (join(sub, sizeof(sub), rel, name) != 0 || join(rec, sizeof(rec), t->prefix, sub) != 0)
		return ec_err_set(t->err, "path too long: %s/%s", rel, name);
	if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : ec_err_set(t->err, "cannot read %s: %s", sub, strerror(errno));
	bool is_dir = S_ISDIR(st.st_mode);
	if ((!is_dir && !S_ISREG(st.st_mode)) || strchr(name, '\n') != NULL ||
	    (t->skip != NULL && t->skip(t->ctx, sub, is_dir)))
		return 0; /* sockets, links and what the caller leaves out */
	if (!is_dir)
		return copy_file(t->m, sdir, ddir, name, rec, t->err);
	if (depth >= MANIFEST_DEPTH_MAX)
		return ec_err_set(t->err, "%s: directories nested too deep", sub);
	if (mkdirat(ddir, name, 0700) != 0)
		return ec_err_set(t->err, "cannot create directory %s: %s", rec, strerror(errno));
	int s = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int rc = s < 0 || d < 0 ? ec_err_set(t->err, "cannot open directory %s: %s", sub, strerror(errno))
	                        : copy_dir(t, s, d, sub, depth + 1);
	if (s >= 0)
		close(s);
	if (d >= 0)
		close(d);
	return rc;
}

typedef struct copy_level {
	tree_copy *t;
	int sdir, ddir;
	const char *rel;
	int depth;
} copy_level;

static int copy_one(void *ctx, const char *name)
{
	copy_level *l = ctx;
	return copy_entry(l->t, l->sdir, l->ddir, l->rel, name, l->depth);
}

static int copy_dir(tree_copy *t, int sdir, int ddir, const char *rel, int depth)
{
	copy_level l = {t, sdir, ddir, rel, depth};
	return ec_dir_each(sdir, copy_one, &l, rel, t->err);
}

int ec_manifest_copy_tree(ec_manifest *m, const ec_dir *src, const ec_dir *dst, const char *prefix,
                          ec_manifest_skip_fn skip, void *ctx, ec_err *err)
{
	tree_copy t = {m, skip, ctx, prefix != NULL ? prefix : "", err};
	if (copy_dir(&t, src->fd, dst->fd, "", 0) != 0)
		return -1;
	return sync_all(dst, err);
}

int ec_manifest_add(ec_manifest *m, const ec_dir *d, const char *name, const char *rel, ec_err *err)
{
	int fd = open_regular(d->fd, name, rel, err);
	if (fd < 0)
		return -1;
	uint64_t size = 0;
	char sha[65];
	int rc = fchmod(fd, 0600) != 0
	             ? ec_err_set(err, "cannot set the mode of %s: %s", rel, strerror(errno))
	             : pump(fd, -1, &size, sha, rel, err);
	close(fd);
	return rc == 0 ? add_record(m, rel, size, sha, err) : -1;
}

int ec_manifest_write(const ec_manifest *m, const ec_dir *d, ec_err *err)
{
	ec_buf text;
	ec_buf_init(&text, EC_MANIFEST_MAX);
	int rc = ec_buf_printf(&text, "%s\n", EC_MANIFEST_FORMAT) != 0 ||
	         ec_buf_append(&text, m->header.data, m->header.len) != 0;
	for (size_t i = 0; rc == 0 && i < m->n_files; i++)
		rc = ec_buf_printf(&text, "file %" PRIu64 " %s %s\n", m->files[i].size, m->files[i].sha256,
		                   m->files[i].path);
	if (rc != 0)
		rc = ec_err_set(err, "the manifest is too large");
	else
		rc = sync_all(d, err) != 0 ? -1 : ec_write_atomic_at(d, EC_MANIFEST_NAME, text.data, text.len, 0600, err);
	ec_buf_free(&text);
	return rc;
}

int ec_manifest_get(const ec_manifest *m, const char *key, size_t index, char *out, size_t outsz)
{
	size_t klen = strlen(key);
	const char *p = (const char *)m->header.data, *end = p + m->header.len;
	while (p != NULL && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (len > klen && memcmp(p, key, klen) == 0 && p[klen] == ' ' && index-- == 0) {
			snprintf(out, outsz, "%.*s", (int)(len - klen - 1), p + klen + 1);
			return 0;
		}
		p = nl != NULL ? nl + 1 : NULL;
	}
	return 1;
}

int ec_dir_each(int fd, int (*fn)(void *ctx, const char *name), void *ctx, const char *what, ec_err *err)
{
	int own = dup(fd);
	DIR *dir = own >= 0 ? fdopendir(own) : NULL;
	if (dir == NULL) {
		if (own >= 0)
			close(own);
		return ec_err_set(err, "cannot list %s: %s", what[0] ? what : ".", strerror(errno));
	}
	rewinddir(dir); /* the duplicate shares its offset with fd, which an earlier listing moved */
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(dir)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			rc = fn(ctx, e->d_name);
	closedir(dir);
	return rc;
}

static int found(void *ctx, const char *name)
{
	(void)ctx;
	(void)name;
	return 1;
}

int ec_dir_is_empty(const ec_dir *d)
{
	ec_err err;
	int rc = ec_dir_each(d->fd, found, NULL, d->path, &err);
	return rc < 0 ? -1 : rc == 0;
}
