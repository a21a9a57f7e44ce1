/* `show timeline`: facts from the servers and the trustpoints, lanes, then a renderer (see
 * timeline_cmd.h). */
#include "daemon/timeline_cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ca/ca_timeline.h"
#include "client/client_timeline.h"

#define TIMELINE_WIDTH_DEFAULT 100

typedef struct tl_opts {
	bool html, colour;
	int width;
	ec_time from, to;
} tl_opts;

static int parse_opts(char *const *w, int n, tl_opts *o, ec_buf *out)
{
	*o = (tl_opts){false, false, TIMELINE_WIDTH_DEFAULT, 0, 0};
	for (int i = 0; i < n; i++) {
		const char *val = i + 1 < n ? w[i + 1] : NULL;
		char *end = NULL;
		if (strcasecmp(w[i], "html") == 0)
			o->html = true;
		else if (strcasecmp(w[i], "colour") == 0 || strcasecmp(w[i], "color") == 0)
			o->colour = true;
		else if (strcasecmp(w[i], "width") == 0 && val != NULL) {
			errno = 0;
			long v = strtol(val, &end, 10);
			if (errno != 0 || *end != '\0' || v < 1 || v > 1000)
				goto bad;
			o->width = (int)v;
			i++;
		} else if ((strcasecmp(w[i], "from") == 0 || strcasecmp(w[i], "to") == 0) && val != NULL) {
			if (ec_time_parse_iso(val, strcasecmp(w[i], "from") == 0 ? &o->from : &o->to) != 0)
				goto bad;
			i++;
		} else
			goto bad;
	}
	return 0;
bad:
	(void)!ec_buf_printf(out, "usage: show timeline [html] [width COLUMNS] [colour] [from TIME] [to TIME] "
	                     "(TIME as 2017-07-10T13:14:16Z)\n");
	return -1;
}

static int gather(daemon_ctx *d, ec_time now, lanes_facts *f, ec_err *err)
{
	for (size_t i = 0; i < d->n_cas; i++)
		if (ca_timeline_facts(d->cas[i], f, err) != 0)
			return -1;
	for (size_t i = 0; i < d->n_tps; i++)
		if (client_timeline_facts(d->tps[i], now, f, err) != 0)
			return -1;
	return 0;
}

int timeline_command(daemon_ctx *d, ec_time now, char *const *words, int n, ec_buf *out)
{
	tl_opts o;
	if (parse_opts(words, n, &o, out) != 0)
		return -1;
	lanes_facts f = {0};
	lanes_timeline t = {0};
	ec_err err = {""};
	int rc = -1;
	if (gather(d, now, &f, &err) != 0) {
		(void)!ec_buf_printf(out, "%s\n", err.msg);
		goto out;
	}
	lanes_input in = lanes_facts_input(&f, o.from, o.to, now);
	if (lanes_build(&in, &t, &err) != 0) {
		(void)!ec_buf_printf(out, "%s\n", err.msg);
		goto out;
	}
	if (t.n_lanes == 0)
		rc = ec_buf_printf(out, "%% Nothing to draw: no certificate server and no certificate held.\n");
	else if (o.html)
		rc = lanes_format_html(&t, "evercert timeline", out);
	else
		rc = lanes_format_text(&t, o.width, o.colour, out);
	if (rc != 0) {
		ec_buf_reset(out);
		(void)!ec_buf_printf(out, "the timeline is too large to send\n");
	}
out:
	lanes_free(&t);
	lanes_facts_free(&f);
	return rc;
}
