/*
 * lanes.h - a PKI's years as lanes on one time axis: one lane per CA generation, one per holder
 * of certificates (a trustpoint, or a subject the CA issued to), each with its spans of validity
 * and its marks (enroll, renew, shadow ready, switch, rollover, 503, armed timer).
 *
 * The caller gathers the facts (the CA's generations, the certificates with when they were
 * issued, events such as an early GetNextCACert) from wherever they are kept; lanes_build orders
 * them into lanes, derives the marks and clips everything to a time range. The renderers
 * (timeline_render.c) draw the result as text for a terminal or as an HTML page.
 *
 * Ownership: lanes_build fills a lanes_timeline that lanes_free releases; the facts are copied.
 * Purity and threads: pure (no clock, no I/O); any thread.
 */
#ifndef EVERCERT_PICTURE_LANES_H
#define EVERCERT_PICTURE_LANES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock/clock.h"
#include "util/buf.h"
#include "util/err.h"

#define LANES_NAME_MAX 64
#define LANES_LANES_MAX 256

/* One CA generation (server names its certificate server; generation -1 when its number is not
 * known, as a client sees its CA: the lane is then named by the serial). created: when it was made, or -1
 * when unknown; a generation made before its start was a rollover (shadow) CA until then. */
typedef struct lanes_generation {
	const char *server;
	int generation;
	const char *serial;
	ec_time created, not_before, not_after;
} lanes_generation;

/* One certificate of a holder. issued: when it was issued (or installed), -1 when unknown;
 * renewal: signed by a certificate of the holder's (RENEW or SHADOW) rather than a first enrollment. */
typedef struct lanes_cert {
	const char *holder;
	const char *serial;
	ec_time issued, not_before, not_after;
	bool renewal;
} lanes_cert;

enum lanes_mark_kind {
	LANES_MARK_ENROLL = 0,
	LANES_MARK_RENEW,
	LANES_MARK_SHADOW_READY, /* a certificate from the successor, issued ahead of its start */
	LANES_MARK_SWITCH,       /* a successor takes over: CA generation or shadow certificate */
	LANES_MARK_ROLLOVER,     /* the CA made its successor (shadow generation) */
	LANES_MARK_503,          /* an early GetNextCACert answered 503 (count: how many that day) */
	LANES_MARK_ARMED,        /* a renewal timer armed for the future */
	LANES_MARK_KINDS
};

/* An event for a lane (a holder's, or NULL: the CA generation active at that time). */
typedef struct lanes_event {
	const char *lane;
	enum lanes_mark_kind kind;
	ec_time at;
} lanes_event;

typedef struct lanes_input {
	const lanes_generation *gens;
	size_t n_gens;
	const lanes_cert *certs;
	size_t n_certs;
	const lanes_event *events;
	size_t n_events;
	ec_time from, to;           /* the range; from >= to: from the first fact to the last end */
	ec_time now;                /* drawn as a line when within the range */
} lanes_input;

enum lanes_span_kind { LANES_SPAN_CA = 0, LANES_SPAN_CA_SHADOW, LANES_SPAN_CERT, LANES_SPAN_CERT_SHADOW };

typedef struct lanes_span {
	enum lanes_span_kind kind;
	ec_time from, to;
	char label[LANES_NAME_MAX];  /* "serial 0x0A" */
} lanes_span;

typedef struct lanes_mark {
	enum lanes_mark_kind kind;
	ec_time at;
	int count;                   /* marks of one kind on one lane and day are merged */
} lanes_mark;

typedef struct lanes_lane {
	char name[LANES_NAME_MAX];
	bool ca;                     /* a CA generation's lane */
	lanes_span *spans;
	size_t n_spans;
	lanes_mark *marks;
	size_t n_marks;
} lanes_lane;

typedef struct lanes_timeline {
	ec_time from, to, now;
	lanes_lane *lanes;           /* CA generations first (by server, generation), then holders */
	size_t n_lanes;
	size_t lanes_left_out;       /* holders past LANES_LANES_MAX */
} lanes_timeline;

/* A collector of facts for the callers that gather them from several places: the add functions
 * copy the structures and their strings (lanes_facts_free releases them); -1 when out of memory. */
typedef struct lanes_facts {
	lanes_generation *gens;
	size_t n_gens;
	lanes_cert *certs;
	size_t n_certs;
	lanes_event *events;
	size_t n_events;
	char **strings;
	size_t n_strings;
} lanes_facts;

int lanes_facts_add_generation(lanes_facts *f, const lanes_generation *g) EC_MUST_USE;
int lanes_facts_add_cert(lanes_facts *f, const lanes_cert *c) EC_MUST_USE;
int lanes_facts_add_event(lanes_facts *f, const lanes_event *e) EC_MUST_USE;
void lanes_facts_free(lanes_facts *f);
/* The input for lanes_build over f's facts. */
lanes_input lanes_facts_input(const lanes_facts *f, ec_time from, ec_time to, ec_time now);

int lanes_build(const lanes_input *in, lanes_timeline *out, ec_err *err) EC_MUST_USE;
void lanes_free(lanes_timeline *t);

/* The mark's name ("enroll", "renew", "shadow ready", "switch", "rollover", "503", "armed") and
 * its one-character glyph for text lanes. */
const char *lanes_mark_name(enum lanes_mark_kind k);
char lanes_mark_glyph(enum lanes_mark_kind k);

/* Renderers (timeline_render.c). Text: one row per lane, width columns in all (at least 60),
 * colour with ANSI escapes only when asked (a terminal). HTML: a self-contained page with one SVG
 * lane (<g class="lane">) per lane. Append to out; -1 when out's cap is reached. */
int lanes_format_text(const lanes_timeline *t, int width, bool colour, ec_buf *out) EC_MUST_USE;
int lanes_format_html(const lanes_timeline *t, const char *title, ec_buf *out) EC_MUST_USE;

#endif
