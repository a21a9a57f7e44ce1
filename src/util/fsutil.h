/*
 * fsutil.h - files that survive crashes and stay private.
 *
 * ec_write_atomic installs a whole file or nothing: temp file in the same directory, write,
 * fsync, rename over the target, fsync of the directory. Private files (keys, state) are
 * created with mode 0600 whatever the umask. Reads are bounded by a cap.
 */
#ifndef EVERCERT_UTIL_FSUTIL_H
#define EVERCERT_UTIL_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

/* Writes data to path atomically with the given mode (e.g. 0600 or 0644). */
int ec_write_atomic(const char *path, const void *data, size_t len, mode_t mode, ec_err *err) EC_MUST_USE;

/* Writes all of data to fd, retrying short writes and EINTR; -1 with errno set otherwise. */
int ec_write_all(int fd, const void *data, size_t len) EC_MUST_USE;

/* Reads a whole file of at most cap bytes into a malloc'd, NUL-terminated buffer. */
int ec_read_file(const char *path, size_t cap, uint8_t **out, size_t *len, ec_err *err) EC_MUST_USE;

/* Creates dir and its parents as needed; the last component gets mode (e.g. 0700). */
int ec_mkdir_p(const char *dir, mode_t mode, ec_err *err) EC_MUST_USE;

/* Refuses (returns -1 with a reason) a file that group or others can read or write. */
int ec_check_private(const char *path, ec_err *err) EC_MUST_USE;

/* Refuses a directory that group or others can write, or owned by another user: they could
 * replace the keys, the state or the operator socket in it. *others_enter tells whether group or
 * others can list or enter it (the files in it are still private: warn, do not refuse). */
int ec_check_private_dir(const char *path, bool *others_enter, ec_err *err) EC_MUST_USE;

/* Refuses a file that group or others can write (whoever writes the configuration decides who
 * gets certificates); *others_read tells whether group or others can read it. */
int ec_check_not_writable_by_others(const char *path, bool *others_read, ec_err *err) EC_MUST_USE;

/* 1 if path exists, 0 if not. */
int ec_file_exists(const char *path);

/* Joins dir and name into out (size outsz); -1 when it does not fit. */
int ec_path_join(char *out, size_t outsz, const char *dir, const char *name) EC_MUST_USE;

#endif
