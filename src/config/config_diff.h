/*
 * config_diff.h - what a reload would change: the running configuration against the one just
 * read, as a list of changes, each either applicable while the daemon runs or refused.
 *
 * Applied live: the trustpoints (added, removed, changed: a changed one is closed and opened
 * again under its new lines, its persisted state kept), a certificate server's grant lines,
 * lifetimes of certificates, CRLs and enrollment requests, hash, cdp-url, DES, issuance bounds and
 * shutdown, `ip http max-connections`, and the `logging` lines. Refused: what the running
 * certificate servers, their store or the listener were built from (a server added or removed,
 * issuer-name, key size, database lines, mode, lifetime ca-certificate and auto-rollover, which
 * shape CA generations already planned), the listeners' addresses and ports (SCEP and metrics), the
 * clock lines (time zone included) and the hostname. A reload with any refused change applies
 * nothing: the daemon goes on with the whole of its running configuration, never half of each.
 *
 * Servers and trustpoints are matched by name; where a block starts in the file does not count.
 *
 * Purity and threads: pure; any thread.
 */
#ifndef EVERCERT_CONFIG_CONFIG_DIFF_H
#define EVERCERT_CONFIG_CONFIG_DIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

#define CFG_DIFF_MAX 96        /* changes listed; more are counted, the last entry says so */
#define CFG_CHANGE_TEXT_MAX 200

typedef struct cfg_change {
	bool refused;
	char text[CFG_CHANGE_TEXT_MAX]; /* "certificate server ROOTCA: grant: manual -> auto" */
} cfg_change;

typedef struct cfg_diff {
	cfg_change changes[CFG_DIFF_MAX];
	size_t n_changes;
	size_t n_refused;
	/* What to apply when nothing is refused. Indices: old_* into the running configuration,
	 * new_* into the one read. */
	bool server_changed[CFG_MAX_SERVERS];   /* by the running server's index */
	size_t tp_removed[CFG_MAX_TRUSTPOINTS]; /* old index: closed (removed, or changed) */
	size_t n_tp_removed;
	size_t tp_added[CFG_MAX_TRUSTPOINTS];   /* new index: opened (added, or changed) */
	size_t n_tp_added;
	bool http_limits_changed;
	bool logging_changed;
} cfg_diff;

/* Compares the running configuration with the one read; *out is filled (zeroed first). */
void cfg_diff_compute(const cfg_config *running, const cfg_config *read, cfg_diff *out);

#endif
