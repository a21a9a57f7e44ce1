#include "daemon/daemon.h"

#include <stdarg.h>

void dlog(daemon_ctx *d, const char *fmt, ...)
{
	FILE *f = d->log ? d->log : stderr;
	char when[EC_TIME_TEXT_MAX] = "-";
	if (d->clock != NULL)
		ec_time_format_iso(ec_clock_now(d->clock), when);
	va_list ap;
	va_start(ap, fmt);
	flockfile(f);
	fprintf(f, "%s evercertd: ", when);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
	fflush(f);
	funlockfile(f);
	va_end(ap);
}

void dlog_line(void *ctx, const char *line)
{
	dlog(ctx, "%s", line);
}
