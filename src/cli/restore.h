/*
 * restore.h - `evercert restore`, offline: a backup made by `evercert backup` (the daemon's
 * backup.c) checked against its MANIFEST and brought back into a new state directory, its
 * counters moved past anything the lost original may have issued since.
 *
 * Purity and threads: not pure (files, standard output); the CLI's one thread.
 */
#ifndef EVERCERT_CLI_RESTORE_H
#define EVERCERT_CLI_RESTORE_H

#include <stddef.h>

/* How far a restored CA's serial counter moves forward: more serials than a CA could issue
 * between its last backup and its loss. Serials are a sequential 64-bit counter (store.h); 2^44
 * is nine years at 60,000 certificates a second (thirty times the bound measured on a 2-core
 * machine, docs/PERFORMANCE.md), and leaves room for 500,000 restores below 2^63. */
#define RESTORE_SERIAL_SKIP ((int64_t)1 << 44)
/* The CRL number likewise (RFC 5280: it only increases); a CRL is issued per revocation and
 * update, far fewer than certificates. */
#define RESTORE_CRL_SKIP ((int64_t)1 << 32)

/* argv[0] is "restore"; state_dir is --state-dir given before the command (or NULL). Returns
 * the process exit status. */
int cli_restore(int argc, char **argv, const char *state_dir);

/* `backup DIR` goes to the daemon, whose working directory is not ours: DIR made absolute
 * against ours into out. -1 when it does not fit or the working directory is unknown. */
int cli_absolute_path(const char *path, char *out, size_t outsz);

#endif
