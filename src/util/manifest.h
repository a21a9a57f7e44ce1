/*
 * manifest.h - a backup's list of files: each file's path, size and SHA-256, and a few header
 * lines (what was backed up, when, by which version), kept in the file MANIFEST at the top of
 * the backup directory.
 *
 * The manifest is written last (atomically, fsynced): a backup without one is incomplete and is
 * never restored. Its text, one record per line, words separated by one space:
 *   evercert-backup 1                 the format (first line)
 *   <key> <value...>                  header lines, the caller's (version, created, ca ...)
 *   file <size> <sha256-hex> <path>   one per file, path relative to the backup directory
 * Paths are made of the names found in the directories copied; a name with a line break or a
 * path that leaves the directory ("..", a leading "/") is refused when read.
 *
 * Files are copied by their directory descriptors, never through a symbolic link (a link, a
 * socket or a device is not copied), and created with O_EXCL, mode 0600, directories 0700.
 *
 * Purity and threads: not pure (the file system); any thread, one ec_manifest per thread.
 */
#ifndef EVERCERT_UTIL_MANIFEST_H
#define EVERCERT_UTIL_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/fsutil.h"

#define EC_MANIFEST_NAME "MANIFEST"
#define EC_MANIFEST_FORMAT "evercert-backup 1"
/* About 100 bytes a file: room for two million, a CA at `database level complete` keeping a
 * <serial>.cer for each of a million certificates among them. */
#define EC_MANIFEST_MAX (256 * 1024 * 1024)

typedef struct ec_manifest_file {
	char *path;
	uint64_t size;
	char sha256[65];
} ec_manifest_file;

typedef struct ec_manifest {
	ec_buf header;               /* the header lines, each ending in a line break */
	ec_manifest_file *files;
	size_t n_files, cap_files;
} ec_manifest;

void ec_manifest_init(ec_manifest *m);
void ec_manifest_free(ec_manifest *m);

/* Appends a header line ("key value..."; no line break in it). */
int ec_manifest_header(ec_manifest *m, const char *fmt, ...) EC_PRINTF(2, 3) EC_MUST_USE;

/* Which entries of a tree copy to leave out: rel is the entry's path below the tree's top. */
typedef bool (*ec_manifest_skip_fn)(void *ctx, const char *rel, bool is_dir);

/* Copies every regular file and directory under src into dst (which must not hold them yet),
 * recording each file as prefix/rel when m is not NULL. skip may be NULL. Ends with a syncfs of
 * dst's file system: one sync for all the files, not one each. */
int ec_manifest_copy_tree(ec_manifest *m, const ec_dir *src, const ec_dir *dst, const char *prefix,
                          ec_manifest_skip_fn skip, void *ctx, ec_err *err) EC_MUST_USE;

/* Records a file already in place (name in d, e.g. a database copied by its own means) as rel:
 * sets its mode to 0600 and hashes it (ec_manifest_write syncs every file before it writes). */
int ec_manifest_add(ec_manifest *m, const ec_dir *d, const char *name, const char *rel, ec_err *err) EC_MUST_USE;

/* Writes MANIFEST into d, atomically: the last step of a backup. */
int ec_manifest_write(const ec_manifest *m, const ec_dir *d, ec_err *err) EC_MUST_USE;

/* Reads d/MANIFEST into m (initialised by the call) and checks the backup against it: every
 * file listed is there with its size and SHA-256, and nothing is there that it does not list.
 * The error names the first file that differs. */
int ec_manifest_verify(ec_manifest *m, const ec_dir *d, ec_err *err) EC_MUST_USE;

/* The value of header line `key` (the text after "key "), copied into out; 1 when absent. With
 * several such lines, `index` chooses one (0 first). */
int ec_manifest_get(const ec_manifest *m, const char *key, size_t index, char *out, size_t outsz);

/* Calls fn for each name in the directory fd ("." and ".." aside) until it returns non-zero,
 * which is returned; -1 with the reason (naming what) when the directory cannot be listed. */
int ec_dir_each(int fd, int (*fn)(void *ctx, const char *name), void *ctx, const char *what, ec_err *err) EC_MUST_USE;

/* Whether a directory holds nothing ("." and ".." aside). -1 when it cannot be read. */
int ec_dir_is_empty(const ec_dir *d);

#endif
