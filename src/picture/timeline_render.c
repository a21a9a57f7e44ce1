/* The lanes as text rows for a terminal and as an HTML page with SVG (see lanes.h). */
#include "picture/lanes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "picture/picture.h"

#define NAME_COLS 24
#define SVG_W 1000
#define SVG_LEFT 190
#define SVG_RIGHT 20
#define SVG_TOP 34
#define LANE_H 30

static const char SPAN_GLYPH[] = {'=', '-', '=', '~'};
static const char *const SPAN_ANSI[] = {"\033[34m", "\033[35m", "\033[32m", "\033[35m"};
static const char *const SPAN_COLOUR[] = {PICTURE_COLOUR_CA, PICTURE_COLOUR_SHADOW, PICTURE_COLOUR_CERT,
                                          PICTURE_COLOUR_SHADOW};
static const char *const SPAN_NAME[] = {"CA certificate", "rollover CA, before its start", "certificate",
                                        "shadow certificate, before its start"};

static const char *mark_colour(enum lanes_mark_kind k)
{
	return k == LANES_MARK_503 ? PICTURE_COLOUR_EARLY : k == LANES_MARK_ARMED ? "#888888" : PICTURE_COLOUR_EVENT;
}

/* The date part of an ISO time: the one date format of the pictures. */
static void date_of(ec_time t, char out[EC_TIME_TEXT_MAX])
{
	ec_time_format_iso(t, out);
	out[10] = '\0';
}

static size_t column(const lanes_timeline *t, ec_time at, size_t cols)
{
	if (at <= t->from)
		return 0;
	size_t c = (size_t)((double)(at - t->from) / (double)(t->to - t->from) * (double)cols);
	return c >= cols ? cols - 1 : c;
}

/* The axis: each year's number at the column where it starts. */
static int text_axis(const lanes_timeline *t, size_t cols, ec_buf *out)
{
	char row[1024];
	memset(row, ' ', sizeof(row));
	char prev[EC_TIME_TEXT_MAX] = "";
	for (size_t c = 0; c + 4 < cols; c++) {
		char d[EC_TIME_TEXT_MAX];
		date_of(t->from + (ec_time)((double)(t->to - t->from) * (double)c / (double)cols), d);
		if (prev[0] != '\0' && strncmp(prev, d, 4) != 0)
			memcpy(row + c, d, 4);
		memcpy(prev, d, sizeof(prev));
	}
	return ec_buf_printf(out, "%*s%.*s\n", NAME_COLS, "", (int)cols, row);
}

/* One lane: spans as runs of their glyph, marks over them. */
static int text_lane(const lanes_timeline *t, const lanes_lane *l, size_t cols, bool colour, ec_buf *out)
{
	char cell[1024];
	int kind[1024]; /* span kind of each cell, -1 none, 100 + mark kind */
	memset(cell, ' ', cols);
	for (size_t c = 0; c < cols; c++)
		kind[c] = -1;
	for (size_t i = 0; i < l->n_spans; i++)
		for (size_t c = column(t, l->spans[i].from, cols); c <= column(t, l->spans[i].to - 1, cols); c++) {
			cell[c] = SPAN_GLYPH[l->spans[i].kind];
			kind[c] = (int)l->spans[i].kind;
		}
	for (size_t i = 0; i < l->n_marks; i++) {
		size_t c = column(t, l->marks[i].at, cols);
		cell[c] = lanes_mark_glyph(l->marks[i].kind);
		kind[c] = 100 + (int)l->marks[i].kind;
	}
	if (ec_buf_printf(out, "%-*.*s", NAME_COLS, NAME_COLS - 1, l->name) != 0)
		return -1;
	for (size_t c = 0; c < cols; c++) {
		const char *on = !colour || kind[c] < 0 ? "" : kind[c] >= 100 ? "\033[1;31m" : SPAN_ANSI[kind[c]];
		if (ec_buf_printf(out, "%s%c%s", on, cell[c], on[0] ? "\033[0m" : "") != 0)
			return -1;
	}
	return ec_buf_printf(out, "\n");
}

int lanes_format_text(const lanes_timeline *t, int width, bool colour, ec_buf *out)
{
	size_t cols = (size_t)(width < 60 ? 60 : width > 1000 ? 1000 : width) - NAME_COLS;
	char a[EC_TIME_TEXT_MAX], b[EC_TIME_TEXT_MAX];
	date_of(t->from, a);
	date_of(t->to, b);
	if (ec_buf_printf(out, "Timeline from %s to %s (a column is %.1f days)\n", a, b,
	                  (double)(t->to - t->from) / (double)cols / EC_MS_PER_DAY) != 0 ||
	    text_axis(t, cols, out) != 0)
		return -1;
	for (size_t i = 0; i < t->n_lanes; i++)
		if (text_lane(t, &t->lanes[i], cols, colour, out) != 0)
			return -1;
	if (t->lanes_left_out > 0 && ec_buf_printf(out, "(%zu more holders not drawn)\n", t->lanes_left_out) != 0)
		return -1;
	if (ec_buf_printf(out, "= valid  - rollover CA before its start  ~ shadow certificate before its start\n") != 0)
		return -1;
	for (int k = 0; k < LANES_MARK_KINDS; k++)
		if (ec_buf_printf(out, "%c %s%s", lanes_mark_glyph(k), lanes_mark_name(k), k + 1 < LANES_MARK_KINDS ? "  " : "\n") != 0)
			return -1;
	return 0;
}

static double svg_x(const lanes_timeline *t, ec_time at)
{
	double w = SVG_W - SVG_LEFT - SVG_RIGHT;
	return SVG_LEFT + w * (double)(at - t->from) / (double)(t->to - t->from);
}

/* Year lines and labels, and now. */
static int svg_axis(const lanes_timeline *t, double height, ec_buf *out)
{
	char prev[EC_TIME_TEXT_MAX] = "";
	for (int px = 0; px <= SVG_W - SVG_LEFT - SVG_RIGHT; px++) {
		ec_time at = t->from + (ec_time)((double)(t->to - t->from) * px / (SVG_W - SVG_LEFT - SVG_RIGHT));
		char d[EC_TIME_TEXT_MAX];
		date_of(at, d);
		if (prev[0] != '\0' && strncmp(prev, d, 4) != 0 &&
		    ec_buf_printf(out, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%.0f\" stroke=\"#ddd\"/><text x=\"%d\" y=\"%d\" "
		                  "font-size=\"12\" text-anchor=\"middle\">%.4s</text>\n", SVG_LEFT + px, SVG_LEFT + px,
		                  SVG_TOP - 6, height, SVG_LEFT + px, SVG_TOP - 12, d) != 0)
			return -1;
		memcpy(prev, d, sizeof(prev));
	}
	if (t->now <= t->from || t->now >= t->to)
		return 0;
	char now[EC_TIME_TEXT_MAX];
	ec_time_format_iso(t->now, now);
	return ec_buf_printf(out, "<line class=\"now\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%.0f\" stroke=\"#000\" "
	                     "stroke-dasharray=\"2 2\"><title>now: %s</title></line>\n", svg_x(t, t->now),
	                     svg_x(t, t->now), SVG_TOP - 6, height, now);
}

static int svg_span(const lanes_timeline *t, const lanes_span *s, double y, ec_buf *out)
{
	char a[EC_TIME_TEXT_MAX], b[EC_TIME_TEXT_MAX];
	date_of(s->from, a);
	date_of(s->to, b);
	double x0 = svg_x(t, s->from), x1 = svg_x(t, s->to);
	return ec_buf_printf(out, "<rect class=\"span\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" rx=\"3\" "
	                     "fill=\"%s\"><title>%s, %s, %s to %s</title></rect>\n", x0, y + 6,
	                     x1 - x0 < 1 ? 1 : x1 - x0, LANE_H - 12, SPAN_COLOUR[s->kind], SPAN_NAME[s->kind],
	                     s->label, a, b);
}

/* A mark: a diamond on the lane, its letter above; a 503 mark says how many. */
static int svg_mark(const lanes_timeline *t, const lanes_mark *m, double y, ec_buf *out)
{
	char d[EC_TIME_TEXT_MAX];
	ec_time_format_iso(m->at, d);
	double x = svg_x(t, m->at), cy = y + LANE_H / 2.0;
	return ec_buf_printf(out, "<g class=\"mark\"><path d=\"M%.1f %.1fl5 5l-5 5l-5 -5z\" fill=\"%s\" stroke=\"#fff\"/>"
	                     "<title>%s%s%.0d at %s</title></g>\n", x, cy - 5, mark_colour(m->kind),
	                     lanes_mark_name(m->kind), m->count > 1 ? " x" : "", m->count > 1 ? m->count : 0, d);
}

static int svg_lanes(const lanes_timeline *t, ec_buf *out)
{
	double height = SVG_TOP + LANE_H * (double)t->n_lanes + 8;
	if (ec_buf_printf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\" viewBox=\"0 0 %d "
	                  "%.0f\" role=\"img\">\n", SVG_W, height, SVG_W, height) != 0 || svg_axis(t, height, out) != 0)
		return -1;
	for (size_t i = 0; i < t->n_lanes; i++) {
		const lanes_lane *l = &t->lanes[i];
		double y = SVG_TOP + LANE_H * (double)i;
		if (ec_buf_printf(out, "<g class=\"lane\" data-kind=\"%s\" data-name=\"", l->ca ? "ca" : "holder") != 0 ||
		    picture_html_escape(out, l->name) != 0 ||
		    ec_buf_printf(out, "\"><rect x=\"0\" y=\"%.0f\" width=\"%d\" height=\"%d\" fill=\"%s\"/>"
		                  "<text x=\"8\" y=\"%.0f\" font-size=\"13\">", y, SVG_W, LANE_H, i % 2 ? "#f4f4f4" : "#fbfbfb",
		                  y + LANE_H / 2.0 + 4) != 0 ||
		    picture_html_escape(out, l->name) != 0 || ec_buf_printf(out, "</text>\n") != 0)
			return -1;
		for (size_t j = 0; j < l->n_spans; j++)
			if (svg_span(t, &l->spans[j], y, out) != 0)
				return -1;
		for (size_t j = 0; j < l->n_marks; j++)
			if (svg_mark(t, &l->marks[j], y, out) != 0)
				return -1;
		if (ec_buf_printf(out, "</g>\n") != 0)
			return -1;
	}
	return ec_buf_printf(out, "</svg>\n");
}

static int html_legend(ec_buf *out)
{
	if (ec_buf_printf(out, "<p class=\"legend\">") != 0)
		return -1;
	for (int k = 0; k < 4; k++)
		if (k != 2 && ec_buf_printf(out, "<span><i class=\"sw\" style=\"background:%s\"></i>%s</span>",
		                            SPAN_COLOUR[k], SPAN_NAME[k]) != 0)
			return -1;
	if (ec_buf_printf(out, "<span><i class=\"sw\" style=\"background:%s\"></i>certificate</span><span>"
	                  "diamonds: enroll, renew, shadow ready, switch, rollover (orange), early GetNextCACert 503 "
	                  "(red), armed renewal (grey); hover for the date</span></p>\n", PICTURE_COLOUR_CERT) != 0)
		return -1;
	return 0;
}

/* Per lane: its spans and how many of each mark. */
static int html_table(const lanes_timeline *t, ec_buf *out)
{
	if (ec_buf_printf(out, "<table><tr><th>lane</th><th>certificates</th>") != 0)
		return -1;
	for (int k = 0; k < LANES_MARK_KINDS; k++)
		if (ec_buf_printf(out, "<th>%s</th>", lanes_mark_name(k)) != 0)
			return -1;
	if (ec_buf_printf(out, "</tr>\n") != 0)
		return -1;
	for (size_t i = 0; i < t->n_lanes; i++) {
		const lanes_lane *l = &t->lanes[i];
		int n[LANES_MARK_KINDS] = {0};
		size_t certs = 0; /* the spans of validity, not the time a successor waited for its start */
		for (size_t j = 0; j < l->n_spans; j++)
			certs += l->spans[j].kind == LANES_SPAN_CA || l->spans[j].kind == LANES_SPAN_CERT;
		for (size_t j = 0; j < l->n_marks; j++)
			n[l->marks[j].kind] += l->marks[j].count;
		if (ec_buf_printf(out, "<tr><td>") != 0 || picture_html_escape(out, l->name) != 0 ||
		    ec_buf_printf(out, "</td><td>%zu</td>", certs) != 0)
			return -1;
		for (int k = 0; k < LANES_MARK_KINDS; k++)
			if (ec_buf_printf(out, "<td>%d</td>", n[k]) != 0)
				return -1;
		if (ec_buf_printf(out, "</tr>\n") != 0)
			return -1;
	}
	return ec_buf_printf(out, "</table>\n");
}

int lanes_format_html(const lanes_timeline *t, const char *title, ec_buf *out)
{
	char a[EC_TIME_TEXT_MAX], b[EC_TIME_TEXT_MAX];
	date_of(t->from, a);
	date_of(t->to, b);
	if (picture_html_begin(out, title) != 0 ||
	    ec_buf_printf(out, "<p class=\"note\">From %s to %s; %zu lanes%s.</p>\n", a, b, t->n_lanes,
	                  t->lanes_left_out ? " (more holders were left out)" : "") != 0 ||
	    html_legend(out) != 0 || svg_lanes(t, out) != 0 || html_table(t, out) != 0)
		return -1;
	return picture_html_end(out);
}
