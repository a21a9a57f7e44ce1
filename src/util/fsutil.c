#include "util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/task.h"

/* Symbolic links followed while resolving one path, as the kernel's own limit. */
#define FS_MAX_LINKS 40

int ec_write_all(int fd, const void *data, size_t len)
{
	return ec_write_all_within(fd, data, len, -1);
}

/* socket: try send(2) first (it refuses SIGPIPE per call), falling back to write(2) on ENOTSOCK. */
static int write_all(int fd, const void *data, size_t len, int64_t stall_ms, bool socket)
{
	const uint8_t *p = data;
	while (len > 0) {
		/* On a socket, no SIGPIPE: a peer that went away is an error return, not our end. */
		ssize_t n = socket ? send(fd, p, len, MSG_NOSIGNAL) : write(fd, p, len);
		if (n < 0 && socket && errno == ENOTSOCK) {
			socket = false;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		/* A non-blocking descriptor that is full: wait for room (in a task, the loop goes on). */
		if (n < 0 && errno == EAGAIN) {
			if (ec_wait_fd(fd, POLLOUT, stall_ms) <= 0)
				return -1;
			continue;
		}
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int ec_write_all_within(int fd, const void *data, size_t len, int64_t stall_ms)
{
	return write_all(fd, data, len, stall_ms, true);
}

int ec_write_all_file(int fd, const void *data, size_t len)
{
	return write_all(fd, data, len, -1, false);
}

/* "dir/name" for messages. */
static const char *shown(const ec_dir *d, const char *name, char *buf, size_t sz)
{
	if (d == NULL)
		return name;
	snprintf(buf, sz, "%s/%s", d->path, name);
	return buf;
}

/* The directory a name lives in: d's descriptor, or (d NULL) its parent opened by path into
 * *owned. *base is the name within it. */
static int parent_of(const ec_dir *d, const char *name, int *owned, const char **base)
{
	*owned = -1;
	*base = name;
	if (d != NULL)
		return d->fd;
	const char *slash = strrchr(name, '/');
	if (slash == NULL) {
		*owned = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		return *owned;
	}
	char dir[EC_PATH_MAX];
	size_t n = slash == name ? 1 : (size_t)(slash - name);
	if (n >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, name, n);
	dir[n] = '\0';
	*base = slash + 1;
	*owned = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return *owned;
}

static void close_owned(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* Creates a fresh temp file beside base in dfd (never through a link: O_EXCL). */
static int create_temp(int dfd, const char *base, char *tmp, size_t sz)
{
	for (int attempt = 0; attempt < 100; attempt++) {
		uint8_t rnd[6];
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return -1;
		int n = snprintf(tmp, sz, "%s.tmp.%02x%02x%02x%02x%02x%02x", base, rnd[0], rnd[1], rnd[2],
		                 rnd[3], rnd[4], rnd[5]);
		if (n < 0 || (size_t)n >= sz) {
			errno = ENAMETOOLONG;
			return -1;
		}
		int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

int ec_write_atomic_at(const ec_dir *d, const char *name, const void *data, size_t len, mode_t mode,
                       ec_err *err)
{
	char where[EC_PATH_MAX + 256], tmp[NAME_MAX + 1];
	const char *what = shown(d, name, where, sizeof(where)), *base;
	int owned;
	int dfd = parent_of(d, name, &owned, &base);
	if (dfd < 0)
		return ec_err_set(err, "cannot open the directory of %s: %s", what, strerror(errno));
	int fd = create_temp(dfd, base, tmp, sizeof(tmp));
	if (fd < 0) {
		int e = errno;
		close_owned(owned);
		return ec_err_set(err, "cannot create a temporary file for %s: %s", what, strerror(e));
	}
	int rc = 0;
	if (fchmod(fd, mode) != 0 || ec_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		rc = ec_err_set(err, "cannot write %s: %s", what, strerror(errno));
		close(fd);
	} else if (close(fd) != 0 || renameat(dfd, tmp, dfd, base) != 0) {
		/* renameat replaces a symbolic link at base; it never writes through it. */
		rc = ec_err_set(err, "cannot install %s: %s", what, strerror(errno));
	} else if (fsync(dfd) != 0) {
		rc = ec_err_set(err, "cannot sync the directory of %s: %s", what, strerror(errno));
		tmp[0] = '\0';
	} else {
		tmp[0] = '\0';
	}
	if (rc != 0 && tmp[0] != '\0')
		unlinkat(dfd, tmp, 0);
	close_owned(owned);
	return rc;
}

int ec_write_atomic(const char *path, const void *data, size_t len, mode_t mode, ec_err *err)
{
	return ec_write_atomic_at(NULL, path, data, len, mode, err);
}

/* Reads the whole of fd (at most cap bytes) into a NUL-terminated buffer. */
static int read_fd(int fd, const char *what, size_t cap, uint8_t **out, size_t *len, ec_err *err)
{
	size_t alloc = 4096, used = 0;
	uint8_t *buf = malloc(alloc);
	if (buf == NULL)
		return ec_err_set(err, "out of memory reading %s", what);
	for (;;) {
		if (used + 1 >= alloc) {
			if (alloc > cap + 1) {
				free(buf);
				return ec_err_set(err, "%s is larger than %zu bytes", what, cap);
			}
			uint8_t *p = realloc(buf, alloc * 2);
			if (p == NULL) {
				free(buf);
				return ec_err_set(err, "out of memory reading %s", what);
			}
			buf = p;
			alloc *= 2;
		}
		ssize_t n = read(fd, buf + used, alloc - used - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(buf);
			return ec_err_set(err, "cannot read %s: %s", what, strerror(e));
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used > cap) {
			free(buf);
			return ec_err_set(err, "%s is larger than %zu bytes", what, cap);
		}
	}
	buf[used] = '\0';
	*out = buf;
	*len = used;
	return 0;
}

int ec_read_file(const char *path, size_t cap, uint8_t **out, size_t *len, ec_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ec_err_set(err, "cannot open %s: %s", path, strerror(errno));
	int rc = read_fd(fd, path, cap, out, len, err);
	close(fd);
	return rc;
}

int ec_open_at(const ec_dir *d, const char *name, int flags, mode_t mode, ec_err *err)
{
	char where[EC_PATH_MAX + 256];
	const char *what = shown(d, name, where, sizeof(where));
	int fd = d != NULL ? openat(d->fd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode)
	                   : open(name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		if (errno == ELOOP)
			return ec_err_set(err, "%s is a symbolic link: refusing to follow it (remove it)", what);
		return ec_err_set(err, "cannot open %s: %s", what, strerror(errno));
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ec_err_set(err, "%s is not a regular file", what);
	}
	return fd;
}

/* ec_check_private's rules on an open file. */
static int check_private_stat(const char *what, const struct stat *st, ec_err *err)
{
	if (st->st_mode & (S_IRWXG | S_IRWXO))
		return ec_err_set(err, "%s is readable or writable by other users (mode %03o); "
		                       "run chmod 600 on it", what, (unsigned)(st->st_mode & 0777));
	if (st->st_uid != geteuid())
		return ec_err_set(err, "%s is owned by another user (uid %u)", what, (unsigned)st->st_uid);
	return 0;
}

static int read_at(const ec_dir *d, const char *name, bool private, size_t cap, uint8_t **out,
                   size_t *len, ec_err *err)
{
	char where[EC_PATH_MAX + 256];
	const char *what = shown(d, name, where, sizeof(where));
	int fd = ec_open_at(d, name, O_RDONLY, 0, err);
	if (fd < 0)
		return -1;
	struct stat st;
	int rc = 0;
	if (private && (fstat(fd, &st) != 0 || check_private_stat(what, &st, err) != 0))
		rc = -1;
	if (rc == 0)
		rc = read_fd(fd, what, cap, out, len, err);
	close(fd);
	return rc;
}

int ec_read_file_at(const ec_dir *d, const char *name, size_t cap, uint8_t **out, size_t *len, ec_err *err)
{
	return read_at(d, name, false, cap, out, len, err);
}

int ec_read_private_at(const ec_dir *d, const char *name, size_t cap, uint8_t **out, size_t *len,
                       ec_err *err)
{
	return read_at(d, name, true, cap, out, len, err);
}

int ec_file_exists_at(const ec_dir *d, const char *name)
{
	struct stat st;
	return fstatat(d != NULL ? d->fd : AT_FDCWD, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

int ec_unlink_at(const ec_dir *d, const char *name)
{
	if (unlinkat(d != NULL ? d->fd : AT_FDCWD, name, 0) == 0 || errno == ENOENT)
		return 0;
	return -1;
}

/* ---- trusted directories ---- */

/* Refuses a component of a path that someone other than root and uid could change. */
static int check_component(const char *path, const struct stat *st, uid_t uid, ec_err *err)
{
	const char *kind = S_ISLNK(st->st_mode) ? "symbolic link" : "directory";
	if (st->st_uid != 0 && st->st_uid != uid)
		return ec_err_set(err, "%s %s is owned by uid %u, neither root nor the daemon's user (uid %u), "
		                  "who could redirect every file beneath it; use a path whose directories and "
		                  "links belong to root or to uid %u (e.g. chown root %s)",
		                  kind, path, (unsigned)st->st_uid, (unsigned)uid, (unsigned)uid, path);
	if (S_ISLNK(st->st_mode) || !(st->st_mode & (S_IWGRP | S_IWOTH)) || (st->st_mode & S_ISVTX))
		return 0;
	return ec_err_set(err, "directory %s is writable by other users (mode %04o) without the sticky bit: "
	                  "they could replace what lies beneath it; run chmod go-w %s",
	                  path, (unsigned)(st->st_mode & 07777), path);
}

/* Replaces the component just read (cand, a link) by its target: todo becomes the target
 * followed by rest; done restarts at / for an absolute target. */
static int follow_link(const char *cand, const char *rest, char *todo, size_t todosz, char *done, ec_err *err)
{
	char target[EC_PATH_MAX];
	ssize_t n = readlink(cand, target, sizeof(target) - 1);
	if (n < 0)
		return ec_err_set(err, "cannot read the symbolic link %s: %s", cand, strerror(errno));
	target[n] = '\0';
	char next[2 * EC_PATH_MAX];
	int m = snprintf(next, sizeof(next), "%s/%s", target, rest);
	if (m < 0 || (size_t)m >= todosz)
		return ec_err_set(err, "path too long after following %s", cand);
	memcpy(todo, next, (size_t)m + 1);
	if (target[0] == '/')
		done[0] = '\0';
	return 0;
}

/* The absolute path to walk (todo): path itself, or a relative one behind the working directory. */
static int absolute_path_to_walk(const char *path, char *todo, size_t todosz, ec_err *err)
{
	if (path[0] == '\0')
		return ec_err_set(err, "empty directory name");
	if (path[0] != '/') {
		/* The working directory's own components are checked like the rest. */
		char cwd[EC_PATH_MAX];
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return ec_err_set(err, "cannot resolve %s: getcwd: %s", path, strerror(errno));
		if (snprintf(todo, todosz, "%s/%s", cwd, path) >= (int)todosz)
			return ec_err_set(err, "path too long: %s", path);
	} else if (snprintf(todo, todosz, "%s", path) >= (int)todosz) {
		return ec_err_set(err, "path too long: %s", path);
	}
	return 0;
}

/* lstat of the component cand into *st; with create_mode non-zero a missing one is created first
 * (the last with create_mode, those on the way 0755). */
static int reach_component(const char *cand, bool last, mode_t create_mode, struct stat *st, ec_err *err)
{
	if (lstat(cand, st) == 0)
		return 0;
	if (errno != ENOENT || create_mode == 0)
		return ec_err_set(err, "cannot reach %s: %s", cand, strerror(errno));
	if (mkdir(cand, last ? create_mode : 0755) != 0 && errno != EEXIST)
		return ec_err_set(err, "cannot create %s: %s", cand, strerror(errno));
	if (lstat(cand, st) != 0)
		return ec_err_set(err, "cannot reach %s: %s", cand, strerror(errno));
	return 0;
}

int ec_path_resolve_trusted(const char *path, uid_t uid, mode_t create_mode, char *out, size_t outsz,
                            ec_err *err)
{
	char todo[2 * EC_PATH_MAX], done[EC_PATH_MAX] = "", cand[EC_PATH_MAX + NAME_MAX + 2];
	struct stat st;
	if (absolute_path_to_walk(path, todo, sizeof(todo), err) != 0)
		return -1;
	if (lstat("/", &st) != 0 || check_component("/", &st, uid, err) != 0)
		return -1;
	int links = 0;
	char *p = todo;
	while (*p != '\0') {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		char *end = p + strcspn(p, "/");
		size_t clen = (size_t)(end - p);
		char *rest = *end ? end + 1 : end;
		if (clen == 1 && p[0] == '.') {
			p = rest;
			continue;
		}
		if (clen == 2 && p[0] == '.' && p[1] == '.') {
			char *slash = strrchr(done, '/');
			if (slash != NULL)
				*slash = '\0';
			p = rest;
			continue;
		}
		if (clen > NAME_MAX || snprintf(cand, sizeof(cand), "%s/%.*s", done, (int)clen, p) >= EC_PATH_MAX)
			return ec_err_set(err, "path too long: %s", path);
		bool last = rest[strspn(rest, "/")] == '\0';
		if (reach_component(cand, last, create_mode, &st, err) != 0)
			return -1;
		/* The directory reached last is the caller's to judge (ec_dir_open wants it private). */
		if ((!last || S_ISLNK(st.st_mode)) && check_component(cand, &st, uid, err) != 0)
			return -1;
		if (S_ISLNK(st.st_mode)) {
			if (++links > FS_MAX_LINKS)
				return ec_err_set(err, "too many symbolic links in %s", path);
			if (follow_link(cand, rest, todo, sizeof(todo), done, err) != 0)
				return -1;
			p = todo;
			continue;
		}
		if (!S_ISDIR(st.st_mode))
			return ec_err_set(err, "%s is not a directory", cand);
		memcpy(done, cand, strlen(cand) + 1);
		p = rest;
	}
	if (snprintf(out, outsz, "%s", done[0] ? done : "/") >= (int)outsz)
		return ec_err_set(err, "path too long: %s", path);
	return 0;
}

/* ec_check_private_dir's rules on an open directory. */
static int check_private_dir_stat(const char *path, const struct stat *st, bool *others_enter, ec_err *err)
{
	if (!S_ISDIR(st->st_mode))
		return ec_err_set(err, "%s is not a directory", path);
	if (others_enter != NULL)
		*others_enter = (st->st_mode & (S_IRWXG | S_IRWXO)) != 0;
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return ec_err_set(err, "directory %s is writable by other users (mode %03o); run chmod 700 on it",
		                  path, (unsigned)(st->st_mode & 0777));
	if (st->st_uid != geteuid())
		return ec_err_set(err, "directory %s is owned by another user (uid %u)", path, (unsigned)st->st_uid);
	return 0;
}

/* Checks the directory just opened at d->fd (a private directory of ours); closes it when not. */
static int check_opened_dir(ec_dir *d, bool *others_enter, ec_err *err)
{
	struct stat st;
	if (fstat(d->fd, &st) != 0 || check_private_dir_stat(d->path, &st, others_enter, err) != 0) {
		ec_dir_close(d);
		return -1;
	}
	return 0;
}

int ec_dir_open(ec_dir *d, const char *path, mode_t mode, bool *others_enter, ec_err *err)
{
	d->fd = -1;
	if (ec_path_resolve_trusted(path, geteuid(), mode, d->path, sizeof(d->path), err) != 0)
		return -1;
	d->fd = open(d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d->fd < 0)
		return ec_err_set(err, "cannot open directory %s: %s", d->path, strerror(errno));
	return check_opened_dir(d, others_enter, err);
}

int ec_dir_open_sub(ec_dir *d, const ec_dir *parent, const char *name, mode_t mode, ec_err *err)
{
	d->fd = -1;
	if (snprintf(d->path, sizeof(d->path), "%s/%s", parent->path, name) >= (int)sizeof(d->path))
		return ec_err_set(err, "path too long: %s/%s", parent->path, name);
	if (mkdirat(parent->fd, name, mode) != 0 && errno != EEXIST)
		return ec_err_set(err, "cannot create %s: %s", d->path, strerror(errno));
	d->fd = openat(parent->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d->fd < 0) {
		if (errno == ELOOP || errno == ENOTDIR)
			return ec_err_set(err, "%s is not a directory (a symbolic link is not followed)", d->path);
		return ec_err_set(err, "cannot open directory %s: %s", d->path, strerror(errno));
	}
	return check_opened_dir(d, NULL, err);
}

void ec_dir_close(ec_dir *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

int ec_check_not_writable_by_others(const char *path, bool *others_read, ec_err *err)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return ec_err_set(err, "cannot stat %s: %s", path, strerror(errno));
	*others_read = (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return ec_err_set(err, "%s is writable by other users (mode %03o); run chmod go-w on it", path,
		                  (unsigned)(st.st_mode & 0777));
	return 0;
}

int ec_file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

int ec_path_join(char *out, size_t outsz, const char *dir, const char *name)
{
	int n = snprintf(out, outsz, "%s/%s", dir, name);
	return (n < 0 || (size_t)n >= outsz) ? -1 : 0;
}
