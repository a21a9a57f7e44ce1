/* The daemon's log: one line per event, escaped whole (util/logtext.h), so that nothing a client
 * sends can forge a line. */
#include "daemon/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/logtext.h"

/* Longest message kept; a longer one is cut and marked. */
#define DLOG_MESSAGE_MAX 4096

void dlog(daemon_ctx *d, const char *fmt, ...)
{
	char when[EC_TIME_TEXT_MAX] = "-";
	char msg[DLOG_MESSAGE_MAX];
	/* Each byte may become four; the prefix and the marks of a cut message fit in the rest. */
	char line[EC_TIME_TEXT_MAX + 64 + 4 * DLOG_MESSAGE_MAX];
	if (d->clock != NULL)
		ec_time_format_iso(ec_clock_now(d->clock), when);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
	int head = snprintf(line, sizeof(line), "%s evercertd: ", when);
	if (head < 0)
		return;
	size_t used = (size_t)head;
	used += ec_log_escape(msg, len, line + used, sizeof(line) - used - 16);
	if (len < (size_t)n)
		used += (size_t)snprintf(line + used, sizeof(line) - used, " [cut]");
	line[used++] = '\n';
	/* One write per line on an O_APPEND descriptor: lines of different threads never mix. */
	int fd = d->log_fd >= 0 ? d->log_fd : STDERR_FILENO;
	if (ec_write_all(fd, line, used) != 0)
		return; /* nowhere left to say so */
}

void dlog_line(void *ctx, const char *line)
{
	dlog(ctx, "%s", line);
}

int dlog_open(daemon_ctx *d, ec_err *err)
{
	int fd = ec_open_at(&d->state, EVERCERTD_LOG_NAME, O_WRONLY | O_APPEND | O_CREAT, 0600, err);
	if (fd < 0)
		return -1;
	if (d->log_fd < 0) {
		d->log_fd = fd;
		return 0;
	}
	/* dup2 swaps the file under the same descriptor at once: threads logging meanwhile write to
	 * the old file or the new one, never to a closed descriptor. */
	int rc = dup2(fd, d->log_fd) < 0 ? ec_err_set(err, "cannot reopen the log: %s", strerror(errno)) : 0;
	close(fd);
	return rc;
}

void dlog_hangup(daemon_ctx *d)
{
	if (d->log_fd < 0) {
		dlog(d, "SIGHUP received: reload is not supported yet; ignored");
		return;
	}
	ec_err err;
	if (dlog_open(d, &err) != 0)
		dlog(d, "SIGHUP received: %s; still logging to the previous file", err.msg);
	else
		dlog(d, "SIGHUP received: log file %s/%s reopened (reload of the configuration is not supported "
		     "yet)", d->state.path, EVERCERTD_LOG_NAME);
}
