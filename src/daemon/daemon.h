/*
 * daemon.h - evercertd's context: the one place that owns the configuration, the clock, the
 * certificate servers, the HTTP listener and the operator socket, and wires them together.
 *
 * Threads: the main thread runs the timer loop; libmicrohttpd's workers run SCEP requests. The
 * work that waits on the network or on an operator (a trustpoint's timers, one operator
 * connection) runs as a task (util/task.h) that takes turns with the loop: the loop polls what
 * each task waits for beside the operator socket, so one CA that never answers delays neither the
 * other trustpoints, nor the certificate servers' timers, nor the operator. Nothing else is
 * global.
 *
 * Purity and threads: not pure (it is the effects: files, sockets, signals, the log); everything
 * here runs on the main thread or in a task holding its turn, but dlog and dlog_line, which any
 * thread may call.
 */
#ifndef EVERCERT_DAEMON_DAEMON_H
#define EVERCERT_DAEMON_DAEMON_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>

#include "ca/ca.h"
#include "client/client.h"
#include "clock/clock.h"
#include "config/config.h"
#include "http_server/http_server.h"
#include "http_server/scep_router.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/task.h"

#define EVERCERTD_SOCKET_NAME "evercertd.sock"
#define EVERCERTD_LOCK_NAME "evercertd.lock"
#define EVERCERTD_LOG_NAME "evercertd.log"
#define EVERCERTD_CLOCK_NAME "clock.simulated"

/* The operator connections served at once; more wait in the socket's backlog. */
#define DAEMON_OPERATOR_JOBS 16

struct daemon_ctx;

/* One piece of work run as a task: a certificate server's or a trustpoint's due timers, or one
 * operator connection. */
typedef struct daemon_job {
	struct daemon_ctx *d;
	ec_task *task;                /* NULL: the slot is free */
	size_t index;                 /* a server's or trustpoint's job: its index in cas or tps */
	ec_time now;                  /* the instant whose timers it runs */
	int fd;                       /* an operator's job: the connection */
} daemon_job;

typedef struct daemon_ctx {
	const char *config_path;
	const char *state_dir;          /* as given */
	ec_dir state;                   /* resolved and held open: every file in it goes through it */
	bool foreground;
	cfg_config *cfg;
	ec_clock *clock;
	ca_engine *cas[CFG_MAX_SERVERS];
	size_t n_cas;
	tp_runtime *tps[CFG_MAX_TRUSTPOINTS];
	size_t n_tps;
	pthread_mutex_t tps_lock;       /* held to change tps (reload) and to read it off the main thread */
	scep_router router;
	http_server *http;
	struct daemon_metrics *metrics; /* metrics.h */
	int control_fd;
	int lock_fd;
	/* The log (log.c): the file (O_APPEND, -1: none yet) and each destination's level
	 * (enum cfg_log_level, 0: off; all 0 before the configuration is applied: standard error).
	 * Atomic: a reload changes them while other threads log. */
	atomic_int log_fd;
	atomic_int log_console, log_file, log_syslog;
	char log_path[CFG_TEXT_MAX];  /* the file, as configured ("" none), reopened on SIGHUP */
	bool syslog_open;
	bool clock_warned;            /* "clock not authoritative" was logged */
	daemon_job ca_jobs[CFG_MAX_SERVERS];
	int64_t ca_retry_at[CFG_MAX_SERVERS]; /* ec_elapsed_ms() before which a failed timer waits */
	daemon_job tp_jobs[CFG_MAX_TRUSTPOINTS];
	bool tp_claimed[CFG_MAX_TRUSTPOINTS]; /* an operator command works on that trustpoint */
	daemon_job operator_jobs[DAEMON_OPERATOR_JOBS];
	bool advancing;               /* `clock advance` fires the timers itself */
	int64_t turn_start;           /* ec_elapsed_ms() when the loop's current turn began */
	volatile sig_atomic_t stop;
	volatile sig_atomic_t hangup; /* SIGHUP received, not yet acted on */
	bool reloading;               /* a reload works on the trustpoints: none is started or claimed */
} daemon_ctx;

/* log.c: one line, prefixed with the daemon clock's time; the whole line is escaped
 * (util/logtext.h), so no caller can end it early or start another. Any thread.
 * dlog logs at info, dlog_at at a level (enum ec_log_level), daudit a decision, at notice, in the
 * audit trail ("audit: "). Errors and warnings are marked "error: ", "warning: ". */
void dlog(daemon_ctx *d, const char *fmt, ...) EC_PRINTF(2, 3);
void dlog_at(daemon_ctx *d, int level, const char *fmt, ...) EC_PRINTF(3, 4);
void daudit(daemon_ctx *d, const char *fmt, ...) EC_PRINTF(2, 3);
/* Adapter for the modules' audit/log callbacks (ctx is the daemon_ctx): level and audit from
 * the line's wording (ec_log_classify). */
void dlog_line(void *ctx, const char *line);
/* Applies `logging` lines (main thread): opens the file (a name in the state directory through
 * it, a symbolic link refused; an absolute path without following a final link), under the same
 * descriptor as the previous file if any, and sets the levels. On failure nothing changed. */
int dlog_configure(daemon_ctx *d, const cfg_logging *l, ec_err *err) EC_MUST_USE;
/* Reopens the log file in place: after logrotate moved it, the next lines go to a new file. */
void dlog_reopen(daemon_ctx *d);
/* Where the log goes, for messages: the file's path, "syslog" or "standard error". */
void dlog_describe(const daemon_ctx *d, char *out, size_t outsz);

/* control.c: the operator socket. control_accept takes one connection (-1: none waiting);
 * control_serve reads its request, runs it and answers (in the connection's task). */
int control_open(daemon_ctx *d, ec_err *err) EC_MUST_USE;
int control_accept(daemon_ctx *d);
void control_serve(daemon_ctx *d, int fd);
void control_close(daemon_ctx *d);

/* jobs.c: the tasks of the certificate servers, the trustpoints and the operator connections. */
/* The loop's turn: the tasks it starts or resumes in one turn hold the turn for at most about
 * this long in all, and none is started or resumed while an operator waits (connecting, or the
 * operator's task ready to go on), before the operator socket is served again (an operator's own
 * task is always resumed). daemon_turn_left: whether the current turn has some left. */
#define DAEMON_TURN_BUDGET_MS 15
bool daemon_turn_left(const daemon_ctx *d);
/* Whether a certificate server's timers run (in a task) or wait after a failure. */
bool daemon_server_busy(const daemon_ctx *d, size_t i);
/* Starts the task that runs certificate server i's timers due at now; after a failure the
 * server's timers wait DAEMON_RETRY_MS of real time. */
#define DAEMON_RETRY_MS 5000
void daemon_start_server(daemon_ctx *d, size_t i, ec_time now);
/* Whether a trustpoint is being worked on (its task runs, or a command claimed it), or a
 * server's timers run (its new state comes first). */
bool daemon_trustpoint_busy(const daemon_ctx *d, size_t i);
/* Starts the task that runs trustpoint i's timers due at now and the CRL fetch asked of it. */
void daemon_start_trustpoint(daemon_ctx *d, size_t i, ec_time now);
/* Serves an accepted operator connection in a task of its own; false when all slots are taken
 * (then the loop stops accepting until one is free). */
bool daemon_can_serve_operator(const daemon_ctx *d);
void daemon_start_operator(daemon_ctx *d, int fd);
/* A reload on SIGHUP, in a task of the operator slots (a free slot, or at once on the loop's own
 * thread when none is free). */
void daemon_start_reload(daemon_ctx *d);
/* In a command's task: waits until nothing else works on the trustpoint, then claims it, so
 * that its timers wait for the command. -1 when the daemon is stopping, or when it is busy and
 * the caller is not a task (it could not wait without stopping the loop). */
int daemon_claim_trustpoint(daemon_ctx *d, const tp_runtime *tp) EC_MUST_USE;
void daemon_release_trustpoint(daemon_ctx *d, const tp_runtime *tp);
/* In a command's task: waits until no server or trustpoint task runs. -1 when the daemon is
 * stopping. */
int daemon_wait_trustpoints_idle(daemon_ctx *d) EC_MUST_USE;
/* What the jobs wait for, appended to the loop's poll set from p[n] (at most max entries in all,
 * owners[] says whose each is); returns the new count, *deadline lowered to the first deadline. */
size_t daemon_jobs_poll_set(daemon_ctx *d, struct pollfd *p, daemon_job **owners, size_t n, size_t max,
                            int64_t *deadline);
/* Resumes the jobs whose descriptor poll found ready or whose deadline passed; frees the ones
 * that ended. */
void daemon_jobs_resume(daemon_ctx *d, const struct pollfd *p, daemon_job **owners, size_t from, size_t n);
/* At stop: every job is told to wind up at once (its waits return cancelled) and freed. */
void daemon_jobs_stop(daemon_ctx *d);
/* A trustpoint that a reload closes: the exchange its task waits on is cancelled, as at stop (the
 * trustpoint's state stays as the last step left it), and the task freed once it has wound up. */
void daemon_cancel_trustpoint(daemon_ctx *d, size_t i);

/* commands.c: runs one operator command (argv from the CLI); output and errors go to out.
 * Returns 0 on success, -1 when the command failed (out then holds the reason). */
int command_run(daemon_ctx *d, int argc, char **argv, ec_buf *out) EC_MUST_USE;
/* Whether a command only reads (show ..., ping, server NAME info ...): those are logged at debug
 * and stay out of the audit trail. Pure. */
bool command_read_only(int argc, char **argv);

/* backup.c: `backup DIR` (an absolute path, new or empty): copies the state, each CA with its
 * database, and the configuration into DIR, MANIFEST last (util/manifest.h). In a command's
 * task; waits until no server or trustpoint task runs, then copies without giving up its turn. */
int daemon_backup(daemon_ctx *d, const char *path, ec_buf *out, ec_err *err) EC_MUST_USE;

/* loop.c */
/* Starts the tasks of the servers and trustpoints whose timers are due at now. */
void daemon_start_due_timers(daemon_ctx *d, ec_time now);
ec_time daemon_next_timer(daemon_ctx *d);
/* Moves a simulated clock to target, firing every due timer at its own instant, in order. */
int daemon_clock_advance(daemon_ctx *d, ec_time target, ec_buf *out, ec_err *err) EC_MUST_USE;
void daemon_loop(daemon_ctx *d);
/* main.c: starts an HTTP listener whose threads leave the daemon's signals to the main thread. */
int daemon_http_start(const http_server_opts *opts, http_handler handler, void *ctx, http_server **out,
                      ec_err *err) EC_MUST_USE;
/* main.c: keeps the time a simulated clock reached, for the next start. */
void daemon_clock_save(daemon_ctx *d);
/* main.c: opens trustpoint i of cfg as the daemon runs it (at start, and on a reload). */
int daemon_open_trustpoint(daemon_ctx *d, const cfg_config *cfg, size_t i, tp_runtime **out,
                           ec_err *err) EC_MUST_USE;

/* main.c: the listener's connection limits from next's `ip http max-connections`, while it runs;
 * _check says beforehand whether they can apply (not above what the listener started with). */
int daemon_http_limits_check(const daemon_ctx *d, const cfg_config *next, ec_err *err) EC_MUST_USE;
int daemon_http_limits(daemon_ctx *d, const cfg_config *next, ec_err *err) EC_MUST_USE;

/* reload.c: SIGHUP and `evercert reload`. Reopens the log file, reads the configuration file
 * again and applies what config/config_diff.h says may change live, or nothing at all: a file
 * that does not parse, or a change that cannot apply while running, leaves the daemon on its
 * running configuration, and the log says why (the line number, each refused change). The
 * trustpoints removed or replaced are closed once no task or command works on them. In a task
 * (it waits for them); what changed, or why nothing did, is appended to out and logged.
 * 0 when the configuration read is in force, -1 otherwise. */
int daemon_reload(daemon_ctx *d, const char *why, ec_buf *out) EC_MUST_USE;

#endif
