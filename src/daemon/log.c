/* The daemon's log: one line per event, escaped whole (util/logtext.h), so that nothing a client
 * sends can forge a line; each line has a level, and goes to the destinations of the `logging`
 * lines whose level it reaches (standard error, a file, syslog). */
#include "daemon/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/logtext.h"

/* The configuration's levels are syslog's priorities: a line reaches syslog with its own. */
_Static_assert(CFG_LOG_ERROR == LOG_ERR && CFG_LOG_WARNING == LOG_WARNING && CFG_LOG_NOTICE == LOG_NOTICE &&
               CFG_LOG_INFO == LOG_INFO && CFG_LOG_DEBUG == LOG_DEBUG && EC_LOG_ERROR == LOG_ERR &&
               EC_LOG_DEBUG == LOG_DEBUG, "log levels are syslog priorities");

/* Longest message kept; a longer one is cut and marked. */
#define DLOG_MESSAGE_MAX 4096

/* What a line's level or kind puts before the message: severity and the audit trail stand out
 * to a reader and to grep, and the line still starts with the time and "evercertd: ". */
static const char *tag(int level, bool audit)
{
	if (audit)
		return "audit: ";
	switch (level) {
	case EC_LOG_ERROR: return "error: ";
	case EC_LOG_WARNING: return "warning: ";
	case EC_LOG_DEBUG: return "debug: ";
	default: return "";
	}
}

static void emit(daemon_ctx *d, int level, bool audit, const char *msg, size_t len, bool cut)
{
	char when[EC_TIME_TEXT_MAX] = "-";
	/* Each byte may become four; the prefix and the marks of a cut message fit in the rest. */
	char line[EC_TIME_TEXT_MAX + 64 + 4 * DLOG_MESSAGE_MAX];
	int console = d->log_console, file = d->log_file, sys = d->log_syslog, fd = d->log_fd;
	/* Before the configuration is applied (an error at start), standard error. */
	bool configured = console != 0 || file != 0 || sys != 0;
	if (configured && level > console && level > file && level > sys)
		return;
	if (d->clock != NULL)
		ec_time_format_iso(ec_clock_now(d->clock), when);
	int head = snprintf(line, sizeof(line), "%s evercertd: ", when);
	if (head < 0)
		return;
	size_t used = (size_t)head, body = used;
	used += (size_t)snprintf(line + used, sizeof(line) - used, "%s", tag(level, audit));
	used += ec_log_escape(msg, len, line + used, sizeof(line) - used - 16);
	if (cut)
		used += (size_t)snprintf(line + used, sizeof(line) - used, " [cut]");
	if (level <= sys)
		syslog(LOG_DAEMON | level, "%s", line + body); /* syslog stamps its own time */
	line[used++] = '\n';
	/* One write per line on an O_APPEND descriptor: lines of different threads never mix. A
	 * failed write has nowhere left to be told. */
	if (!configured || level <= console)
		(void)!ec_write_all_file(STDERR_FILENO, line, used);   /* SIGPIPE is ignored here */
	if (fd >= 0 && level <= file)
		(void)!ec_write_all_file(fd, line, used);
}

static void vlog(daemon_ctx *d, int level, bool audit, const char *fmt, va_list ap) EC_PRINTF(4, 0);

static void vlog(daemon_ctx *d, int level, bool audit, const char *fmt, va_list ap)
{
	char msg[DLOG_MESSAGE_MAX];
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
	emit(d, level, audit, msg, len, len < (size_t)n);
}

void dlog(daemon_ctx *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(d, EC_LOG_INFO, false, fmt, ap);
	va_end(ap);
}

void dlog_at(daemon_ctx *d, int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(d, level, false, fmt, ap);
	va_end(ap);
}

void daudit(daemon_ctx *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(d, EC_LOG_NOTICE, true, fmt, ap);
	va_end(ap);
}

void dlog_line(void *ctx, const char *line)
{
	ec_log_class c = ec_log_classify(line);
	emit(ctx, c.level, c.audit, line, strlen(line), false);
}

/* The destinations in force: without a `logging` line, standard error in the foreground,
 * otherwise evercertd.log in the state directory. */
static cfg_logging effective(const daemon_ctx *d, const cfg_logging *l)
{
	if (l->set)
		return *l;
	cfg_logging e = {.console = d->foreground ? CFG_LOG_INFO : CFG_LOG_OFF,
	                 .file = d->foreground ? CFG_LOG_OFF : CFG_LOG_INFO};
	snprintf(e.file_path, sizeof(e.file_path), "%s", EVERCERTD_LOG_NAME);
	return e;
}

/* A name in the state directory is opened through it (a symbolic link there is refused); an
 * absolute path is the operator's choice, but its last component is never followed as a link. */
static int open_log_file(daemon_ctx *d, const char *path, ec_err *err)
{
	if (path[0] != '/')
		return ec_open_at(&d->state, path, O_WRONLY | O_APPEND | O_CREAT, 0600, err);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return ec_err_set(err, "cannot open the log file %s: %s", path, strerror(errno));
	return fd;
}

/* Puts the file at path under d->log_fd. dup2 swaps the file under the same descriptor at once:
 * threads logging meanwhile write to the old file or the new one, never to a closed descriptor. */
static int install_file(daemon_ctx *d, const char *path, ec_err *err)
{
	int fd = open_log_file(d, path, err);
	if (fd < 0)
		return -1;
	if (d->log_fd < 0) {
		d->log_fd = fd;
		return 0;
	}
	int rc = dup2(fd, d->log_fd) < 0 ? ec_err_set(err, "cannot reopen the log: %s", strerror(errno)) : 0;
	close(fd);
	return rc;
}

int dlog_configure(daemon_ctx *d, const cfg_logging *l, ec_err *err)
{
	cfg_logging e = effective(d, l);
	/* The file first: if it cannot be opened, nothing changes. */
	if (e.file != CFG_LOG_OFF && install_file(d, e.file_path, err) != 0)
		return ec_err_wrap(err, "logging file %s", e.file_path);
	if (e.syslog != CFG_LOG_OFF && !d->syslog_open) {
		openlog("evercertd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		d->syslog_open = true;
	}
	snprintf(d->log_path, sizeof(d->log_path), "%s", e.file != CFG_LOG_OFF ? e.file_path : "");
	/* A file no longer logged to stays open, unwritten: another thread may be about to write. */
	d->log_file = e.file;
	d->log_syslog = e.syslog;
	d->log_console = e.console;
	return 0;
}

void dlog_describe(const daemon_ctx *d, char *out, size_t outsz)
{
	if (d->log_path[0] == '/' || d->log_path[0] == '\0')
		snprintf(out, outsz, "%s", d->log_path[0] ? d->log_path : d->log_syslog ? "syslog" : "standard error");
	else
		snprintf(out, outsz, "%s/%s", d->state.path, d->log_path);
}

void dlog_reopen(daemon_ctx *d)
{
	if (d->log_path[0] == '\0')
		return;
	ec_err err;
	char where[EC_PATH_MAX + 64];
	dlog_describe(d, where, sizeof(where));
	if (install_file(d, d->log_path, &err) != 0)
		dlog_at(d, EC_LOG_ERROR, "%s; still logging to the previous file", err.msg);
	else
		dlog(d, "log file %s reopened", where);
}
