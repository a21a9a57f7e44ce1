/* manifest_verify.c - reading a MANIFEST and checking a backup directory against it. */
#include "util/manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "util/encoding.h"

#define VERIFY_DEPTH_MAX 8

/* A path the manifest may name: relative, no empty, "." or ".." component. */
static bool path_ok(const char *p)
{
	if (p[0] == '\0' || p[0] == '/')
		return false;
	for (const char *c = p; *c != '\0';) {
		size_t n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += n;
		if (*c == '/')
			c++;
		if (*c == '\0' && c[-1] == '/')
			return false;
	}
	return true;
}

static bool sha_ok(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (size_t i = 0; i < 64; i++)
		if (ec_hex_digit((unsigned char)s[i]) < 0 || (s[i] >= 'A' && s[i] <= 'F'))
			return false;
	return true;
}

/* One "file SIZE SHA PATH" line (after "file "). */
static int parse_file_line(ec_manifest *m, char *rest, size_t lineno, ec_err *err)
{
	char *sp1 = strchr(rest, ' '), *sp2 = sp1 != NULL ? strchr(sp1 + 1, ' ') : NULL;
	if (sp2 == NULL)
		return ec_err_set(err, "MANIFEST line %zu: expected 'file SIZE SHA256 PATH'", lineno);
	*sp1 = *sp2 = '\0';
	char *end = NULL;
	errno = 0;
	unsigned long long size = strtoull(rest, &end, 10);
	if (errno != 0 || end == rest || *end != '\0' || rest[0] == '-' || !sha_ok(sp1 + 1) || !path_ok(sp2 + 1))
		return ec_err_set(err, "MANIFEST line %zu: bad size, SHA-256 or path", lineno);
	ec_manifest_file *files = ec_array_room(m->files, m->n_files, &m->cap_files, sizeof(*files), 64);
	char *path = strdup(sp2 + 1);
	if (files == NULL || path == NULL) {
		free(path);
		return ec_err_set(err, "out of memory");
	}
	m->files = files;
	m->files[m->n_files++] = (ec_manifest_file){.path = path, .size = size};
	snprintf(m->files[m->n_files - 1].sha256, 65, "%s", sp1 + 1);
	return 0;
}

static int parse(ec_manifest *m, char *text, ec_err *err)
{
	size_t lineno = 0;
	for (char *line = text, *next; line != NULL && *line != '\0'; line = next) {
		char *nl = strchr(line, '\n');
		if (nl == NULL)
			return ec_err_set(err, "MANIFEST is cut short (no line break at its end)");
		*nl = '\0';
		next = nl + 1;
		lineno++;
		if (lineno == 1) {
			if (strcmp(line, EC_MANIFEST_FORMAT) != 0)
				return ec_err_set(err, "MANIFEST does not start with '%s': not an evercert backup", EC_MANIFEST_FORMAT);
		} else if (strncmp(line, "file ", 5) == 0) {
			if (parse_file_line(m, line + 5, lineno, err) != 0)
				return -1;
		} else if (ec_buf_printf(&m->header, "%s\n", line) != 0) {
			return ec_err_set(err, "MANIFEST header too large");
		}
	}
	return lineno > 0 ? 0 : ec_err_set(err, "MANIFEST is empty");
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const ec_manifest_file *)a)->path, ((const ec_manifest_file *)b)->path);
}

typedef struct walk {
	ec_manifest *m;
	bool *seen;
	ec_err *err;
} walk;

static int check_file(walk *w, int dfd, const char *name, const char *rel)
{
	ec_manifest_file key = {.path = (char *)rel};
	ec_manifest_file *f = bsearch(&key, w->m->files, w->m->n_files, sizeof(key), by_path);
	if (f == NULL)
		return ec_err_set(w->err, "%s is in the backup but not in its MANIFEST", rel);
	w->seen[f - w->m->files] = true;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return ec_err_set(w->err, "cannot open %s: %s", rel, strerror(errno));
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int rc = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 ? 0 : ec_err_set(w->err, "no SHA-256");
	uint64_t size = 0;
	while (rc == 0) {
		uint8_t chunk[65536];
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = ec_err_set(w->err, "cannot read %s: %s", rel, strerror(errno));
		if (n <= 0)
			break;
		size += (uint64_t)n;
		if (EVP_DigestUpdate(md, chunk, (size_t)n) != 1)
			rc = ec_err_set(w->err, "cannot hash %s", rel);
	}
	uint8_t digest[32];
	char hex[65];
	unsigned len = 0;
	if (rc == 0 && (EVP_DigestFinal_ex(md, digest, &len) != 1 || len != sizeof(digest)))
		rc = ec_err_set(w->err, "cannot hash %s", rel);
	EVP_MD_CTX_free(md);
	close(fd);
	if (rc != 0)
		return -1;
	ec_hex_encode(digest, sizeof(digest), hex);
	if (size != f->size || CRYPTO_memcmp(hex, f->sha256, 64) != 0)
		return ec_err_set(w->err, "%s does not match the MANIFEST (%s): the backup is damaged or was changed; "
		                  "it is not restored", rel, size != f->size ? "size differs" : "SHA-256 differs");
	return 0;
}

static int walk_dir(walk *w, int dfd, const char *rel, int depth);

static int walk_entry(walk *w, int dfd, const char *rel, const char *name, int depth)
{
	char sub[EC_PATH_MAX];
	int n = rel[0] ? snprintf(sub, sizeof(sub), "%s/%s", rel, name) : snprintf(sub, sizeof(sub), "%s", name);
	struct stat st;
	if (n < 0 || (size_t)n >= sizeof(sub))
		return ec_err_set(w->err, "path too long in the backup: %s/%s", rel, name);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return ec_err_set(w->err, "cannot read %s: %s", sub, strerror(errno));
	if (S_ISREG(st.st_mode))
		return rel[0] == '\0' && strcmp(name, EC_MANIFEST_NAME) == 0 ? 0 : check_file(w, dfd, name, sub);
	if (!S_ISDIR(st.st_mode))
		return ec_err_set(w->err, "%s in the backup is neither a file nor a directory", sub);
	if (depth >= VERIFY_DEPTH_MAX)
		return ec_err_set(w->err, "%s: directories nested too deep", sub);
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return ec_err_set(w->err, "cannot open %s: %s", sub, strerror(errno));
	int rc = walk_dir(w, fd, sub, depth + 1);
	close(fd);
	return rc;
}

typedef struct walk_level {
	walk *w;
	int dfd;
	const char *rel;
	int depth;
} walk_level;

static int walk_one(void *ctx, const char *name)
{
	walk_level *l = ctx;
	return walk_entry(l->w, l->dfd, l->rel, name, l->depth);
}

static int walk_dir(walk *w, int dfd, const char *rel, int depth)
{
	walk_level l = {w, dfd, rel, depth};
	return ec_dir_each(dfd, walk_one, &l, rel, w->err);
}

int ec_manifest_verify(ec_manifest *m, const ec_dir *d, ec_err *err)
{
	ec_manifest_init(m);
	uint8_t *text = NULL;
	size_t len = 0;
	if (!ec_file_exists_at(d, EC_MANIFEST_NAME))
		return ec_err_set(err, "%s has no %s: not a backup, or one that did not finish", d->path, EC_MANIFEST_NAME);
	if (ec_read_file_at(d, EC_MANIFEST_NAME, EC_MANIFEST_MAX, &text, &len, err) != 0)
		return -1;
	int rc = strlen((char *)text) != len ? ec_err_set(err, "MANIFEST holds a NUL byte") : parse(m, (char *)text, err);
	free(text);
	if (rc != 0)
		return -1;
	qsort(m->files, m->n_files, sizeof(m->files[0]), by_path);
	for (size_t i = 1; i < m->n_files; i++)
		if (strcmp(m->files[i - 1].path, m->files[i].path) == 0)
			return ec_err_set(err, "MANIFEST lists %s twice", m->files[i].path);
	walk w = {m, calloc(m->n_files + 1, sizeof(bool)), err};
	if (w.seen == NULL)
		return ec_err_set(err, "out of memory");
	rc = walk_dir(&w, d->fd, "", 0);
	for (size_t i = 0; rc == 0 && i < m->n_files; i++)
		if (!w.seen[i])
			rc = ec_err_set(err, "%s is in the MANIFEST but missing from the backup", m->files[i].path);
	free(w.seen);
	return rc;
}
