/*
 * fsutil.h - files that survive crashes and stay private, in directories nobody else can redirect.
 *
 * ec_write_atomic installs a whole file or nothing: temp file in the same directory, write,
 * fsync, rename over the target, fsync of the directory. Private files (keys, state) are
 * created with mode 0600 whatever the umask. Reads are bounded by a cap.
 *
 * The state directory and each CA directory are an ec_dir: resolved once at start through
 * components that only root or the daemon's user can change (ec_path_resolve_trusted), then
 * held open. Every file in them is created, read, replaced and removed relative to that
 * descriptor (openat, renameat, unlinkat, fstatat) and never through a symbolic link: a link
 * found where a file is read or opened is refused, one found where a file is replaced is
 * replaced itself, its target untouched. The *_at functions take NULL for the directory when
 * name is a path of the operator's (an output file such as /etc/ssl/x.pem): the same rules then
 * apply to its last component.
 *
 * Purity and threads: not pure (the file system); any thread, an ec_dir shared read-only.
 */
#ifndef EVERCERT_UTIL_FSUTIL_H
#define EVERCERT_UTIL_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

/* The longest path any module builds or resolves, NUL included: the one path length. */
#define EC_PATH_MAX 4096

typedef struct ec_dir {
	int fd;                    /* O_DIRECTORY, held open; -1 when closed */
	char path[EC_PATH_MAX];    /* its resolved absolute path: for messages, and for SQLite */
} ec_dir;

/* Resolves path to an absolute path without symbolic links (into out), refusing it unless every
 * directory above the last one and every symbolic link it goes through (the links' targets
 * included, from / down) is owned by root or by uid, and no such directory is writable by group
 * or others without the sticky bit: anyone else could swap a component and redirect the files
 * under it. The reason names the component and the fix. The last directory is the caller's to
 * check (ec_dir_open wants it uid's own and private). With create_mode non-zero, missing
 * directories are created on the way (the last one with create_mode, the others 0755, both under
 * the umask). */
int ec_path_resolve_trusted(const char *path, uid_t uid, mode_t create_mode, char *out, size_t outsz,
                            ec_err *err) EC_MUST_USE;

/* Resolves (see above, for the effective uid, creating what is missing) and opens a directory
 * that must also be owned by the effective uid and not writable by group or others: they could
 * replace the keys, the state or the operator socket in it. *others_enter tells whether group or
 * others can list or enter it (the files in it are still private: the caller warns). */
int ec_dir_open(ec_dir *d, const char *path, mode_t mode, bool *others_enter, ec_err *err) EC_MUST_USE;

/* Opens (creating with mode) the subdirectory name of parent under the same rules; a symbolic
 * link there is refused. */
int ec_dir_open_sub(ec_dir *d, const ec_dir *parent, const char *name, mode_t mode, ec_err *err) EC_MUST_USE;

void ec_dir_close(ec_dir *d);

/* ec_write_atomic in d (or, d NULL, at the path name). */
int ec_write_atomic_at(const ec_dir *d, const char *name, const void *data, size_t len, mode_t mode,
                       ec_err *err) EC_MUST_USE;

/* ec_read_file of a regular file in d (d NULL: at the path name); a symbolic link is refused. */
int ec_read_file_at(const ec_dir *d, const char *name, size_t cap, uint8_t **out, size_t *len,
                    ec_err *err) EC_MUST_USE;

/* The same for a secret: refused as well when group or others can read or write it or another
 * user owns it (ec_check_private's rules, checked on the open file). */
int ec_read_private_at(const ec_dir *d, const char *name, size_t cap, uint8_t **out, size_t *len,
                       ec_err *err) EC_MUST_USE;

/* Opens a regular file in d with flags (O_NOFOLLOW and O_CLOEXEC added); a symbolic link or
 * anything but a regular file is refused with the reason. Returns the descriptor or -1. */
int ec_open_at(const ec_dir *d, const char *name, int flags, mode_t mode, ec_err *err) EC_MUST_USE;

/* 1 if something (a symbolic link included) is at name in d, 0 if not. */
int ec_file_exists_at(const ec_dir *d, const char *name);

/* Removes name from d (a symbolic link itself, never its target); 0 when it was not there. */
int ec_unlink_at(const ec_dir *d, const char *name);

/* Writes data to path atomically with the given mode (e.g. 0600 or 0644); a symbolic link at
 * path is replaced, not followed. */
int ec_write_atomic(const char *path, const void *data, size_t len, mode_t mode, ec_err *err) EC_MUST_USE;

/* Writes all of data to fd, retrying short writes and EINTR; -1 with errno set otherwise. On a
 * socket a peer that went away is such an error, never a SIGPIPE. The one write-all loop. */
int ec_write_all(int fd, const void *data, size_t len) EC_MUST_USE;
/* The same on a descriptor that may be non-blocking: while it is full, waits for room (through
 * util/task.h: in a task the loop goes on), at most stall_ms each time (-1: no bound); -1 when
 * the time runs out. */
int ec_write_all_within(int fd, const void *data, size_t len, int64_t stall_ms) EC_MUST_USE;
/* ec_write_all with write(2) alone, for a file, a pipe, or any descriptor in a process that
 * ignores SIGPIPE (evercertd): no send(2) that fails with ENOTSOCK first, which the daemon's log
 * paid twice for every line. */
int ec_write_all_file(int fd, const void *data, size_t len) EC_MUST_USE;

/* Reads a whole file of at most cap bytes into a malloc'd, NUL-terminated buffer. */
int ec_read_file(const char *path, size_t cap, uint8_t **out, size_t *len, ec_err *err) EC_MUST_USE;

/* Refuses a file that group or others can write (whoever writes the configuration decides who
 * gets certificates); *others_read tells whether group or others can read it. */
int ec_check_not_writable_by_others(const char *path, bool *others_read, ec_err *err) EC_MUST_USE;

/* 1 if path exists, 0 if not. */
int ec_file_exists(const char *path);

/* Joins dir and name into out (size outsz); -1 when it does not fit. */
int ec_path_join(char *out, size_t outsz, const char *dir, const char *name) EC_MUST_USE;

#endif
