/* The HTML page around the pictures (see picture.h). */
#include "picture/picture.h"

#include <stdio.h>
#include <string.h>

/* The system's own sans-serif: a font file would have to travel with the page. */
static const char STYLE[] =
	"body{font-family:sans-serif;margin:1.5em;color:#222;background:#fff}"
	"h1{font-size:1.3em}svg{background:#fafafa;border:1px solid #ddd}"
	"table{border-collapse:collapse;margin-top:1em}td,th{padding:2px 8px;text-align:right;"
	"border-bottom:1px solid #eee}th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}"
	".legend span{display:inline-block;margin-right:1.2em}.sw{display:inline-block;width:12px;"
	"height:12px;margin-right:4px;vertical-align:middle}p.note{color:#555}pre{white-space:pre-wrap}";

int picture_html_escape(ec_buf *out, const char *text)
{
	for (const char *p = text; *p != '\0'; p++) {
		const char *rep = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : *p == '"' ? "&quot;" : NULL;
		if (rep != NULL ? ec_buf_append(out, rep, strlen(rep)) != 0 : ec_buf_append(out, p, 1) != 0)
			return -1;
	}
	return 0;
}

int picture_html_begin(ec_buf *out, const char *title)
{
	if (ec_buf_printf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	                  "<meta name=\"generator\" content=\"evercert\"><title>") != 0 ||
	    picture_html_escape(out, title) != 0 ||
	    ec_buf_printf(out, "</title><style>%s</style></head>\n<body>\n<h1>", STYLE) != 0 ||
	    picture_html_escape(out, title) != 0)
		return -1;
	return ec_buf_printf(out, "</h1>\n");
}

int picture_html_end(ec_buf *out)
{
	return ec_buf_printf(out, "</body></html>\n");
}

void picture_day_label(ec_time t, char out[EC_TIME_TEXT_MAX])
{
	ec_time day = t / EC_MS_PER_DAY;
	ec_time rest = t % EC_MS_PER_DAY;
	snprintf(out, EC_TIME_TEXT_MAX, "day %lld %02lld:%02lld", (long long)day, (long long)(rest / 3600000),
	         (long long)(rest / 60000 % 60));
}
