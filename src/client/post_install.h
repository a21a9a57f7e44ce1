/*
 * post_install.h - when a trustpoint's post-install command is started, told to stop, killed and
 * started once more: the decisions alone, on times the caller reads from a monotonic clock (ms).
 *
 * At most one command runs per trustpoint. An install while it runs asks for one more run after
 * it ends (however many installs came meanwhile: the command reads the files as they are then).
 * A command still running timeout_ms after its start gets SIGTERM, and SIGKILL
 * POST_INSTALL_KILL_GRACE_MS later.
 *
 * Purity and threads: pure (no clock, no process, no I/O); called on the daemon's main thread.
 */
#ifndef EVERCERT_CLIENT_POST_INSTALL_H
#define EVERCERT_CLIENT_POST_INSTALL_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

/* Between SIGTERM and SIGKILL. */
#define POST_INSTALL_KILL_GRACE_MS 5000
/* How often a running command is checked for its end (waitpid WNOHANG) between deadlines. */
#define POST_INSTALL_REAP_INTERVAL_MS 200
/* post_install_deadline when nothing is due. */
#define POST_INSTALL_NEVER INT64_MAX

enum post_install_stage {
	POST_INSTALL_IDLE,
	POST_INSTALL_RUNNING,
	POST_INSTALL_TERM_SENT,
	POST_INSTALL_KILL_SENT,
};

typedef struct post_install_slot {
	enum post_install_stage stage;
	int64_t started_ms;   /* when the running command started */
	int64_t term_sent_ms; /* when it got SIGTERM */
	bool again;           /* an install came while it ran: run once more after it */
} post_install_slot;

enum post_install_request {
	POST_INSTALL_START,         /* nothing runs: start it now */
	POST_INSTALL_QUEUED,        /* one runs: it runs once more after it ends */
	POST_INSTALL_ALREADY_QUEUED /* one runs and the next run was already asked for */
};

enum post_install_action {
	POST_INSTALL_WAIT,      /* nothing to send now */
	POST_INSTALL_SEND_TERM, /* the timeout passed */
	POST_INSTALL_SEND_KILL  /* the grace after SIGTERM passed */
};

/* An install asks for a run; the slot records a queued one. */
enum post_install_request post_install_request(post_install_slot *s) EC_MUST_USE;
/* The command asked for was started at now_ms. */
void post_install_started(post_install_slot *s, int64_t now_ms);
/* What to send at now_ms; the slot then counts the signal as sent. */
enum post_install_action post_install_due(post_install_slot *s, int64_t now_ms, int64_t timeout_ms) EC_MUST_USE;
/* The next instant post_install_due has something to send; POST_INSTALL_NEVER when none. */
int64_t post_install_deadline(const post_install_slot *s, int64_t timeout_ms);
/* The running command ended; true when it must be started again (a queued run). */
bool post_install_ended(post_install_slot *s) EC_MUST_USE;
/* The daemon stops: nothing more is started. */
void post_install_forget(post_install_slot *s);

#endif
