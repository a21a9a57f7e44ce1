/* evercertd: runs the certificate servers and trustpoints of one configuration. */
#include "daemon/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca/timeline.h"
#include "daemon/metrics.h"
#include "daemon/notify.h"
#include "scep_client/scep_client.h"
#include "pki/pki.h"
#include "scep/scep.h"
#include "util/encoding.h"
#include "util/fsutil.h"

/* What one connection may use for its request line and headers: a PKIOperation by GET with a
 * 4096-bit key (about 6 KB of base64) fits. It is also what an idle kept-alive connection costs
 * (libmicrohttpd clears the whole of it between requests), so `ip http max-connections` of them
 * must fit in a few tens of MiB. Bodies are collected apart, up to SCEP_MESSAGE_MAX. */
#define HTTP_CONNECTION_MEMORY (16 * 1024)
/* Request line and headers, from the connection's start: a client sends them at once. */
#define HTTP_HEADER_TIMEOUT 10
/* Body (256 KiB at 9 kB/s), handling and response, from the end of the headers. */
#define HTTP_REQUEST_TIMEOUT 30
/* Longer than the 30 s that common clients sleep between polls on a kept-alive connection:
 * closing it just as they reuse it makes their POST fail. */
#define HTTP_IDLE_TIMEOUT 90
/* One address holds at most a quarter of the connections, and never more than this. */
#define HTTP_PER_SOURCE_MAX 64

static daemon_ctx *g_daemon; /* only for the signal handler */

static void on_signal(int sig)
{
	if (g_daemon == NULL)
		return;
	/* SIGHUP (logrotate's postrotate) must never stop the CA: the main loop reopens the log. */
	if (sig == SIGHUP)
		g_daemon->hangup = 1;
	else
		g_daemon->stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: evercertd --config FILE --state-dir DIR [--foreground]\n"
	        "\n"
	        "Runs the certificate servers and trustpoints configured in FILE (router-style\n"
	        "configuration, see docs/CONFIGURATION.md): certificate servers answer SCEP over\n"
	        "HTTP, trustpoints enroll and renew with their CA. Keys, stores, state and the\n"
	        "operator socket live under DIR.\n"
	        "\n"
	        "  -c, --config FILE     configuration file\n"
	        "  -s, --state-dir DIR   state directory (created 0700; also EVERCERT_STATE_DIR);\n"
	        "                        it and every directory and link above it must belong to\n"
	        "                        root or to this user and be closed to writes by others\n"
	        "  -f, --foreground      stay in the foreground and log to standard error (as\n"
	        "                        under systemd); otherwise detach once ready, print the\n"
	        "                        pid and log to DIR/evercertd.log; `logging` lines in\n"
	        "                        FILE choose other destinations and levels\n"
	        "      --check           parse the configuration, report errors and exit\n"
	        "  -h, --help            this help\n"
	        "  -V, --version         print the version\n"
	        "\n"
	        "Trustpoints make each HTTP exchange with their CA through the evercert-http\n"
	        "program, looked for beside evercertd, then in " EVERCERT_HELPER_RELDIR "\n"
	        "relative to it (or named by EVERCERT_HTTP_HELPER).\n"
	        "\n"
	        "SIGHUP (or `evercert reload`) reopens the log file and reads FILE again: what can\n"
	        "change while running applies, or nothing does and the log says why.\n"
	        "\n"
	        "Operate the running daemon with `evercert --state-dir DIR <command>`.\n");
}

static int take_lock(daemon_ctx *d, ec_err *err)
{
	d->lock_fd = ec_open_at(&d->state, EVERCERTD_LOCK_NAME, O_RDWR | O_CREAT, 0600, err);
	if (d->lock_fd < 0)
		return -1;
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0)
		return ec_err_set(err, "another evercertd is already running with state directory %s", d->state_dir);
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(d->lock_fd, 0) != 0 || write(d->lock_fd, pid, (size_t)n) != n)
		return ec_err_set(err, "cannot write %s/%s: %s", d->state.path, EVERCERTD_LOCK_NAME, strerror(errno));
	return 0;
}

/* A simulated clock resumes where it stopped: the time it reached is kept in the state
 * directory, so that a restart does not move time backwards under persisted timers. */
static ec_time simulated_start(daemon_ctx *d)
{
	ec_time start = d->cfg->clock_simulate_start, saved;
	uint8_t *text = NULL;
	size_t len = 0;
	ec_err err;
	if (!ec_file_exists_at(&d->state, EVERCERTD_CLOCK_NAME) ||
	    ec_read_file_at(&d->state, EVERCERTD_CLOCK_NAME, 64, &text, &len, &err) != 0)
		return start;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	if (ec_time_parse_iso((const char *)text, &saved) == 0 && saved > start)
		start = saved;
	free(text);
	return start;
}

void daemon_clock_save(daemon_ctx *d)
{
	if (d->clock == NULL || !ec_clock_is_simulated(d->clock))
		return;
	char iso[EC_TIME_TEXT_MAX + 1];
	ec_err err;
	ec_time_format_iso(ec_clock_now(d->clock), iso);
	size_t n = strlen(iso);
	iso[n] = '\n';
	if (ec_write_atomic_at(&d->state, EVERCERTD_CLOCK_NAME, iso, n + 1, 0600, &err) != 0)
		dlog_at(d, EC_LOG_WARNING, "cannot save the simulated clock: %s", err.msg);
}

static int make_clock(daemon_ctx *d, ec_err *err)
{
	if (d->cfg->clock_simulated)
		d->clock = ec_clock_new_simulated(simulated_start(d), d->cfg->clock_simulate_rate);
	else
		d->clock = ec_clock_new_system(d->cfg->calendar_valid);
	return d->clock ? 0 : ec_err_set(err, "out of memory");
}

/* For `grant auto trustpoint TP`, on HTTP threads: a reload adds and removes trustpoints (under
 * tps_lock, reload.c), so d->tps is read under it, and what is taken from a trustpoint (a new
 * reference to its trust snapshot) outlives its removal. Call with tps_lock held. */
static tp_runtime *trustpoint_named(daemon_ctx *d, const char *name)
{
	for (size_t i = 0; i < d->n_tps; i++)
		if (strcmp(client_name(d->tps[i]), name) == 0)
			return d->tps[i];
	return NULL;
}

static pki_trust *trustpoint_trust(void *ctx, const char *name)
{
	daemon_ctx *d = ctx;
	pthread_mutex_lock(&d->tps_lock);
	tp_runtime *tp = trustpoint_named(d, name);
	pki_trust *trust = tp != NULL ? client_trust(tp) : NULL;
	pthread_mutex_unlock(&d->tps_lock);
	return trust;
}

static void trustpoint_crl_wanted(void *ctx, const char *name)
{
	daemon_ctx *d = ctx;
	pthread_mutex_lock(&d->tps_lock);
	tp_runtime *tp = trustpoint_named(d, name);
	if (tp != NULL)
		client_crl_wanted(tp);
	pthread_mutex_unlock(&d->tps_lock);
}

static int open_servers(daemon_ctx *d, ec_err *err)
{
	for (size_t i = 0; i < d->cfg->n_servers; i++) {
		const cfg_server *s = &d->cfg->servers[i];
		char rollover_label[CFG_NAME_MAX + 2];
		snprintf(rollover_label, sizeof(rollover_label), "%s#", s->name);
		int bits = cfg_key_bits(d->cfg, s->name, CFG_RSA_BITS_DEFAULT);
		ca_env env = {
			.state_dir = d->state.path,
			.state = &d->state,
			.default_key_bits = bits,
			.rollover_key_bits = cfg_key_bits(d->cfg, rollover_label, bits),
			.trustpoint_trust = trustpoint_trust,
			.trustpoint_crl_wanted = trustpoint_crl_wanted,
			.trustpoint_ctx = d,
			.audit = dlog_line,
			.audit_ctx = d,
		};
		if (ca_open(s, &env, ec_clock_now(d->clock), &d->cas[d->n_cas], err) != 0)
			return -1;
		d->n_cas++;
	}
	return 0;
}

static ec_time daemon_now(void *ctx)
{
	daemon_ctx *d = ctx;
	return ec_clock_now(d->clock);
}

int daemon_open_trustpoint(daemon_ctx *d, const cfg_config *cfg, size_t i, tp_runtime **out, ec_err *err)
{
	char host[256] = "";
	if (cfg->hostname[0])
		snprintf(host, sizeof(host), "%s", cfg->hostname);
	else if (gethostname(host, sizeof(host) - 1) != 0)
		snprintf(host, sizeof(host), "evercert");
	client_env env = {.state_dir = d->state.path, .state = &d->state, .hostname = host, .log = dlog_line,
	                  .log_ctx = d, .now = daemon_now, .now_ctx = d};
	/* The check in force, the default depending on the servers' grant lines. */
	cfg_trustpoint tp = cfg->trustpoints[i];
	tp.revocation_check = cfg_trustpoint_revocation(cfg, &tp);
	return client_open(&tp, &env, ec_clock_now(d->clock), out, err);
}

static int open_trustpoints(daemon_ctx *d, ec_err *err)
{
	for (size_t i = 0; i < d->cfg->n_trustpoints; i++) {
		if (daemon_open_trustpoint(d, d->cfg, i, &d->tps[d->n_tps], err) != 0)
			return -1;
		d->n_tps++;
	}
	return 0;
}

/* One address holds at most a quarter of the connections (and HTTP_PER_SOURCE_MAX); from three
 * quarters on, the addresses holding more than their share get no more connections and their
 * PKIOperations (each costs private-key operations) get 503. */
static unsigned http_per_source(unsigned capacity)
{
	return capacity / 4 < HTTP_PER_SOURCE_MAX ? capacity / 4 : HTTP_PER_SOURCE_MAX;
}

static unsigned http_busy_mark(unsigned capacity)
{
	return capacity / 4 * 3;
}

int daemon_http_limits_check(const daemon_ctx *d, const cfg_config *next, ec_err *err)
{
	if (d->http == NULL || (unsigned)next->http_max_connections <= http_server_capacity_max(d->http))
		return 0;
	return ec_err_set(err, "ip http max-connections %d: the listener started with room for %u connections; "
	                  "more need a restart", next->http_max_connections, http_server_capacity_max(d->http));
}

int daemon_http_limits(daemon_ctx *d, const cfg_config *next, ec_err *err)
{
	unsigned capacity = (unsigned)next->http_max_connections;
	if (d->http == NULL)
		return 0;
	return http_server_set_limits(d->http, capacity, http_per_source(capacity), http_busy_mark(capacity), err);
}

static int start_http(daemon_ctx *d, ec_err *err)
{
	if (d->n_cas == 0)
		return 0;
	if (!d->cfg->http_server) {
		dlog_at(d, EC_LOG_WARNING, "no `ip http server` line: the certificate servers are not reachable over "
		        "HTTP");
		return 0;
	}
	d->router = (scep_router){d->cas, d->n_cas, d->clock, dlog_line, d};
	unsigned capacity = (unsigned)d->cfg->http_max_connections;
	http_server_opts o = {
		.bind_address = d->cfg->http_bind,
		.port = d->cfg->http_port,
		.max_body = SCEP_MESSAGE_MAX,
		.connection_memory = HTTP_CONNECTION_MEMORY,
		.header_timeout = HTTP_HEADER_TIMEOUT,
		.request_timeout = HTTP_REQUEST_TIMEOUT,
		.idle_timeout = HTTP_IDLE_TIMEOUT,
		.capacity = capacity,
		.per_source_limit = capacity / 4 < HTTP_PER_SOURCE_MAX ? capacity / 4 : HTTP_PER_SOURCE_MAX,
		/* From three quarters on, the addresses holding more than their share get no more
		 * connections and their PKIOperations (each costs private-key operations) get 503. */
		.busy_mark = capacity / 4 * 3,
		.log = dlog_line,
		.log_ctx = d,
	};
	/* Timed for the metrics' latency histogram, then the SCEP router. */
	if (daemon_http_start(&o, daemon_metrics_scep_handle, d, &d->http, err) == 0)
		return 0;
	/* Name the line to change: a port in use is the usual reason. */
	return ec_err_wrap(err, "%s line %d: `ip http server %d`", d->config_path, d->cfg->http_port_line,
	                   d->cfg->http_port);
}

int daemon_http_start(const http_server_opts *opts, http_handler handler, void *ctx, http_server **out, ec_err *err)
{
	/* The listener's threads inherit a mask that blocks the signals the daemon handles: the
	 * handler then runs on the main thread only, the one that reads what it sets. */
	sigset_t handled, saved;
	sigemptyset(&handled);
	sigaddset(&handled, SIGINT);
	sigaddset(&handled, SIGTERM);
	sigaddset(&handled, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &handled, &saved);
	int rc = http_server_start(opts, handler, ctx, out, err);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	return rc;
}

/* What an operator needs to point a client at this CA. */
static void announce(daemon_ctx *d)
{
	if (d->http == NULL)
		return;
	const char *host = d->cfg->http_bind[0] ? d->cfg->http_bind : "127.0.0.1";
	for (size_t i = 0; i < d->n_cas; i++) {
		char fp[160], hex[65];
		X509 *ca = ca_active_cert(d->cas[i]);
		if (ca_fingerprint(d->cas[i], fp, sizeof(fp)) != 0 || pki_cert_fingerprint_hex(ca, hex) != 0)
			continue;
		dlog_at(d, EC_LOG_NOTICE, "certificate server %s ready at http://%s:%d/cgi-bin/pkiclient.exe",
		        ca_name(d->cas[i]), host, http_server_port(d->http));
		dlog(d, "CA certificate fingerprint (SHA-256): %s", fp);
		dlog(d, "enroll a client, e.g.: scepclient -server-url http://%s:%d/cgi-bin/pkiclient.exe "
		     "-ca-fingerprint %s -private-key client.key -certificate client.pem -cn myhost",
		     host, http_server_port(d->http), hex);
	}
}

static int setup(daemon_ctx *d, ec_err *err)
{
	bool others_enter = false;
	/* Resolved and checked once, then only used through its descriptor (util/fsutil.h). */
	if (ec_dir_open(&d->state, d->state_dir, 0700, &others_enter, err) != 0) {
		ec_err_wrap(err, "state directory %s", d->state_dir);
		return -1;
	}
	if (take_lock(d, err) != 0 || dlog_configure(d, &d->cfg->logging, err) != 0)
		return -1;
	/* The clock first: every line of the log, this warning included, carries the time. */
	if (make_clock(d, err) != 0)
		return -1;
	if (others_enter)
		dlog_at(d, EC_LOG_WARNING, "other users can enter the state directory %s; run chmod 700 on it "
		        "(the keys and state in it are private files all the same)", d->state.path);
	/* The listener after every server and trustpoint: its threads may call into any of them
	 * from the first request on. The operator socket after it: a daemon that answers is
	 * reachable over HTTP. */
	if (scep_init(err) != 0 || open_servers(d, err) != 0 ||
	    open_trustpoints(d, err) != 0 || daemon_metrics_open(d, err) != 0 || start_http(d, err) != 0 ||
	    control_open(d, err) != 0)
		return -1;
	return 0;
}

static void teardown(daemon_ctx *d)
{
	http_server_stop(d->http);
	daemon_metrics_close(d);
	control_close(d);
	for (size_t i = 0; i < d->n_tps; i++)
		client_close(d->tps[i]);
	for (size_t i = 0; i < d->n_cas; i++)
		ca_close(d->cas[i]);
	cfg_config_free(d->cfg);
	ec_clock_free(d->clock);
	if (d->log_fd >= 0)
		close(d->log_fd);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	ec_dir_close(&d->state);
}

/* Detaches; the parent exits once the child reports that it started ("ok LOGFILE") or why it did
 * not. What the parent prints is flushed before _exit: when standard output is a pipe or a file
 * (a script, an init system) it is fully buffered, and _exit would drop it. */
static int detach(int *report_fd)
{
	int p[2];
	if (pipe(p) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		close(p[1]);
		char buf[EC_ERR_MSG_MAX + 16];
		ssize_t n = read(p[0], buf, sizeof(buf) - 1);
		if (n <= 0)
			_exit(1);
		buf[n] = '\0';
		if (strncmp(buf, "ok ", 3) == 0) {
			printf("evercertd: started in the background (pid %ld), logging to %s\n", (long)pid, buf + 3);
			fflush(stdout);
			_exit(0);
		}
		fprintf(stderr, "evercertd: %s\n", buf);
		_exit(1);
	}
	close(p[0]);
	setsid();
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		close(null);
	}
	*report_fd = p[1];
	return 0;
}

static void report(int fd, const char *text)
{
	if (fd < 0)
		return;
	ssize_t ignored = write(fd, text, strlen(text));
	(void)ignored;
	close(fd);
}

static void notify(daemon_ctx *d, const char *state)
{
	char why[EC_ERR_MSG_MAX];
	if (daemon_notify(state, why, sizeof(why)) != 0)
		dlog_at(d, EC_LOG_WARNING, "%s", why);
}

/* The servers are open and the listener accepts: the parent of a detached daemon, or the
 * service manager, may say so. */
static void started(daemon_ctx *d, int report_fd)
{
	char text[EC_PATH_MAX + 64];
	memcpy(text, "ok ", 3);
	dlog_describe(d, text + 3, sizeof(text) - 3);
	report(report_fd, text);
	snprintf(text, sizeof(text), "READY=1\nSTATUS=%zu certificate server(s), %zu trustpoint(s)", d->n_cas,
	         d->n_tps);
	notify(d, text);
}

static int parse_args(daemon_ctx *d, int argc, char **argv, bool *check_only)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"state-dir", required_argument, NULL, 's'},
		{"foreground", no_argument, NULL, 'f'},   {"check", no_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "c:s:fhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': d->config_path = optarg; break;
		case 's': d->state_dir = optarg; break;
		case 'f': d->foreground = true; break;
		case 'k': *check_only = true; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("evercertd %s\n", EVERCERT_VERSION); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (d->state_dir == NULL)
		d->state_dir = getenv("EVERCERT_STATE_DIR");
	if (optind != argc || d->config_path == NULL || (d->state_dir == NULL && !*check_only)) {
		fprintf(stderr, "evercertd: --config FILE and --state-dir DIR are required\n");
		usage(stderr);
		return -1;
	}
	return 0;
}

static bool config_has_secret(const cfg_config *cfg)
{
	for (size_t i = 0; i < cfg->n_servers; i++)
		if (cfg->servers[i].archive_password[0] != '\0')
			return true;
	for (size_t i = 0; i < cfg->n_trustpoints; i++)
		if (cfg->trustpoints[i].password[0] != '\0')
			return true;
	return false;
}

/* --check also applies `evercert check`'s rule: a client whose SHADOW renewal would come before
 * its CA makes the rollover certificate is warned of, not refused (the file is valid). */
static void warn_unsafe_timers(const cfg_config *cfg)
{
	for (size_t i = 0; i < cfg->n_servers; i++) {
		const cfg_server *s = &cfg->servers[i];
		for (size_t j = 0; j < cfg->n_trustpoints; j++) {
			const cfg_trustpoint *t = &cfg->trustpoints[j];
			if (!t->auto_enroll)
				continue;
			timeline_input in = {s->lifetime_ca_certificate, s->lifetime_certificate, s->auto_rollover,
			                     s->auto_rollover_period, t->auto_enroll_percent, s->name, t->name};
			ec_buf out;
			ec_buf_init(&out, 1 << 16);
			if (!timeline_check(&in, &out).safe)
				fprintf(stderr, "evercertd: warning: trustpoint %s would ask for its SHADOW certificate before "
				        "server %s makes the rollover CA certificate (run `evercert check --config FILE` for "
				        "the timeline)\n", t->name, s->name);
			ec_buf_free(&out);
		}
	}
}

int main(int argc, char **argv)
{
	/* Static: a signal may arrive while exit() runs the handlers of the libraries, after main's
	 * frame is gone, and on_signal writes into it. */
	static daemon_ctx d = {.control_fd = -1, .lock_fd = -1, .log_fd = -1, .state.fd = -1,
	                      .tps_lock = PTHREAD_MUTEX_INITIALIZER};
	bool check_only = false;
	ec_err err;
	ec_err_clear(&err);
	if (parse_args(&d, argc, argv, &check_only) != 0)
		return 2;
	if (cfg_load_file(d.config_path, &d.cfg, &err) != 0) {
		fprintf(stderr, "evercertd: %s\n", err.msg);
		return 1;
	}
	for (size_t i = 0; i < d.cfg->n_notices; i++)
		fprintf(stderr, "evercertd: notice: %s: %s\n", d.config_path, d.cfg->notices[i]);
	ec_time_set_display_zone(d.cfg->timezone_name, d.cfg->timezone_offset_minutes);
	if (check_only) {
		warn_unsafe_timers(d.cfg);
		printf("%s: configuration OK (%zu certificate server(s), %zu trustpoint(s))\n", d.config_path,
		       d.cfg->n_servers, d.cfg->n_trustpoints);
		cfg_config_free(d.cfg);
		return 0;
	}
	bool others_read = false;
	if (ec_check_not_writable_by_others(d.config_path, &others_read, &err) != 0) {
		fprintf(stderr, "evercertd: %s\n", err.msg);
		cfg_config_free(d.cfg);
		return 1;
	}
	if (others_read && config_has_secret(d.cfg))
		fprintf(stderr, "evercertd: warning: %s holds a password and other users can read it; "
		        "run chmod 600 on it\n", d.config_path);
	umask(077);
	int report_fd = -1;
	if (!d.foreground && detach(&report_fd) != 0) {
		fprintf(stderr, "evercertd: cannot detach: %s\n", strerror(errno));
		return 1;
	}
	g_daemon = &d;
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a peer gone mid-reply is an error return, not our end */
	if (setup(&d, &err) != 0) {
		if (d.foreground)
			fprintf(stderr, "evercertd: %s\n", err.msg);
		else
			dlog_at(&d, EC_LOG_ERROR, "start failed: %s", err.msg);
		report(report_fd, err.msg);
		teardown(&d);
		return 1;
	}
	announce(&d);
	dlog_at(&d, EC_LOG_NOTICE, "started (state directory %s)", d.state.path);
	started(&d, report_fd);
	daemon_loop(&d);
	dlog_at(&d, EC_LOG_NOTICE, "stopping");
	notify(&d, "STOPPING=1");
	daemon_clock_save(&d);
	teardown(&d);
	return 0;
}
