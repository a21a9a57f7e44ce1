#include "util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ec_write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char copy[4096];
	if (strlen(path) >= sizeof(copy))
		return -1;
	strncpy(copy, path, sizeof(copy) - 1);
	copy[sizeof(copy) - 1] = '\0';
	int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	int rc = fsync(dfd);
	close(dfd);
	return rc;
}

int ec_write_atomic(const char *path, const void *data, size_t len, mode_t mode, ec_err *err)
{
	char tmp[4096];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return ec_err_set(err, "path too long: %s", path);
	int fd = mkstemp(tmp);
	if (fd < 0)
		return ec_err_set(err, "cannot create %s: %s", tmp, strerror(errno));
	if (fchmod(fd, mode) != 0 || ec_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return ec_err_set(err, "cannot write %s: %s", path, strerror(e));
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		return ec_err_set(err, "cannot install %s: %s", path, strerror(e));
	}
	if (fsync_dir_of(path) != 0)
		return ec_err_set(err, "cannot sync the directory of %s: %s", path, strerror(errno));
	return 0;
}

int ec_read_file(const char *path, size_t cap, uint8_t **out, size_t *len, ec_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ec_err_set(err, "cannot open %s: %s", path, strerror(errno));
	size_t alloc = 4096, used = 0;
	uint8_t *buf = malloc(alloc);
	if (buf == NULL) {
		close(fd);
		return ec_err_set(err, "out of memory reading %s", path);
	}
	for (;;) {
		if (used + 1 >= alloc) {
			if (alloc > cap + 1) {
				free(buf);
				close(fd);
				return ec_err_set(err, "%s is larger than %zu bytes", path, cap);
			}
			uint8_t *p = realloc(buf, alloc * 2);
			if (p == NULL) {
				free(buf);
				close(fd);
				return ec_err_set(err, "out of memory reading %s", path);
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
			close(fd);
			return ec_err_set(err, "cannot read %s: %s", path, strerror(e));
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used > cap) {
			free(buf);
			close(fd);
			return ec_err_set(err, "%s is larger than %zu bytes", path, cap);
		}
	}
	close(fd);
	buf[used] = '\0';
	*out = buf;
	*len = used;
	return 0;
}

int ec_mkdir_p(const char *dir, mode_t mode, ec_err *err)
{
	char path[4096];
	size_t n = strlen(dir);
	if (n == 0 || n >= sizeof(path))
		return ec_err_set(err, "bad directory name '%s'", dir);
	memcpy(path, dir, n + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return ec_err_set(err, "cannot create %s: %s", path, strerror(errno));
		*p = '/';
	}
	if (mkdir(path, mode) != 0) {
		if (errno != EEXIST)
			return ec_err_set(err, "cannot create %s: %s", path, strerror(errno));
		struct stat st;
		if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
			return ec_err_set(err, "%s exists and is not a directory", path);
	}
	return 0;
}

int ec_check_private(const char *path, ec_err *err)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return ec_err_set(err, "cannot stat %s: %s", path, strerror(errno));
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return ec_err_set(err, "%s is readable or writable by other users (mode %03o); "
		                       "run chmod 600 on it", path, (unsigned)(st.st_mode & 0777));
	if (st.st_uid != geteuid())
		return ec_err_set(err, "%s is owned by another user (uid %u)", path, (unsigned)st.st_uid);
	return 0;
}

int ec_check_private_dir(const char *path, bool *others_enter, ec_err *err)
{
	struct stat st;
	*others_enter = false;
	if (stat(path, &st) != 0)
		return ec_err_set(err, "cannot stat %s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return ec_err_set(err, "%s is not a directory", path);
	*others_enter = (st.st_mode & (S_IRWXG | S_IRWXO)) != 0;
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return ec_err_set(err, "directory %s is writable by other users (mode %03o); run chmod 700 on it",
		                  path, (unsigned)(st.st_mode & 0777));
	if (st.st_uid != geteuid())
		return ec_err_set(err, "directory %s is owned by another user (uid %u)", path, (unsigned)st.st_uid);
	return 0;
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
