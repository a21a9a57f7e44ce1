/*
 * daemon.h - evercertd's context: the one place that owns the configuration, the clock, the
 * certificate servers, the HTTP listener and the operator socket, and wires them together.
 *
 * Threads: the main thread runs the timer loop and the operator commands; libmicrohttpd's
 * workers run SCEP requests. Nothing else is global.
 *
 * Purity and threads: not pure (it is the effects: files, sockets, signals, the log); everything
 * here runs on the main thread but dlog and dlog_line, which any thread may call.
 */
#ifndef EVERCERT_DAEMON_DAEMON_H
#define EVERCERT_DAEMON_DAEMON_H

#include <signal.h>
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

#define EVERCERTD_SOCKET_NAME "evercertd.sock"
#define EVERCERTD_LOCK_NAME "evercertd.lock"
#define EVERCERTD_LOG_NAME "evercertd.log"
#define EVERCERTD_CLOCK_NAME "clock.simulated"

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
	scep_router router;
	http_server *http;
	int control_fd;
	int lock_fd;
	int log_fd;                   /* the log file (O_APPEND), or -1: standard error */
	bool clock_warned;            /* "clock not authoritative" was logged */
	volatile sig_atomic_t stop;
	volatile sig_atomic_t hangup; /* SIGHUP received, not yet acted on */
} daemon_ctx;

/* log.c: one line, prefixed with the daemon clock's time; the whole line is escaped
 * (util/logtext.h), so no caller can end it early or start another. Any thread. */
void dlog(daemon_ctx *d, const char *fmt, ...) EC_PRINTF(2, 3);
/* Adapter for the modules' audit/log callbacks (ctx is the daemon_ctx). */
void dlog_line(void *ctx, const char *line);
/* Opens DIR/evercertd.log (a symbolic link there is refused), or reopens it in place under the
 * same descriptor: after logrotate moved it, the next lines go to a new file. */
int dlog_open(daemon_ctx *d, ec_err *err) EC_MUST_USE;
/* What SIGHUP does, on the main thread: reopens the log file, if any, and says so. */
void dlog_hangup(daemon_ctx *d);

/* control.c: the operator socket. */
int control_open(daemon_ctx *d, ec_err *err) EC_MUST_USE;
void control_serve_one(daemon_ctx *d);
void control_close(daemon_ctx *d);

/* commands.c: runs one operator command (argv from the CLI); output and errors go to out.
 * Returns 0 on success, -1 when the command failed (out then holds the reason). */
int command_run(daemon_ctx *d, int argc, char **argv, ec_buf *out) EC_MUST_USE;

/* loop.c */
int daemon_run_due_timers(daemon_ctx *d, ec_time now) EC_MUST_USE;
ec_time daemon_next_timer(daemon_ctx *d);
/* Moves a simulated clock to target, firing every due timer at its own instant, in order. */
int daemon_clock_advance(daemon_ctx *d, ec_time target, ec_buf *out, ec_err *err) EC_MUST_USE;
void daemon_loop(daemon_ctx *d);
/* main.c: keeps the time a simulated clock reached, for the next start. */
void daemon_clock_save(daemon_ctx *d);

#endif
