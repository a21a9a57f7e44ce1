/* Facts into lanes and marks (see lanes.h). */
#include "picture/lanes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const MARK_NAMES[LANES_MARK_KINDS] = {"enroll", "renew", "shadow ready", "switch",
                                                          "rollover", "503", "armed"};
static const char MARK_GLYPHS[LANES_MARK_KINDS] = {'E', 'R', 'S', '|', '+', '!', '>'};

const char *lanes_mark_name(enum lanes_mark_kind k)
{
	return k < LANES_MARK_KINDS ? MARK_NAMES[k] : "?";
}

char lanes_mark_glyph(enum lanes_mark_kind k)
{
	return k < LANES_MARK_KINDS ? MARK_GLYPHS[k] : '?';
}

/* The lane of that name, added when missing; NULL past the cap (counted) or out of memory. */
static lanes_lane *lane_of(lanes_timeline *t, const char *name, bool ca)
{
	for (size_t i = 0; i < t->n_lanes; i++)
		if (t->lanes[i].ca == ca && strcmp(t->lanes[i].name, name) == 0)
			return &t->lanes[i];
	if (t->n_lanes == LANES_LANES_MAX) {
		t->lanes_left_out++;
		return NULL;
	}
	lanes_lane *l = &t->lanes[t->n_lanes++];
	memset(l, 0, sizeof(*l));
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->ca = ca;
	return l;
}

static int add_span(lanes_lane *l, enum lanes_span_kind kind, ec_time from, ec_time to, const char *serial)
{
	if (l == NULL || to <= from)
		return 0;
	lanes_span *s = realloc(l->spans, (l->n_spans + 1) * sizeof(*s));
	if (s == NULL)
		return -1;
	l->spans = s;
	s = &s[l->n_spans++];
	s->kind = kind;
	s->from = from;
	s->to = to;
	snprintf(s->label, sizeof(s->label), "serial %s", serial != NULL ? serial : "?");
	return 0;
}

/* Marks of one kind on one lane within one day are one mark with a count. */
static int add_mark(lanes_lane *l, enum lanes_mark_kind kind, ec_time at)
{
	if (l == NULL || at < 0)
		return 0;
	for (size_t i = 0; i < l->n_marks; i++)
		if (l->marks[i].kind == kind && l->marks[i].at / EC_MS_PER_DAY == at / EC_MS_PER_DAY) {
			l->marks[i].count++;
			return 0;
		}
	lanes_mark *m = realloc(l->marks, (l->n_marks + 1) * sizeof(*m));
	if (m == NULL)
		return -1;
	l->marks = m;
	l->marks[l->n_marks++] = (lanes_mark){kind, at, 1};
	return 0;
}

static int cmp_gen(const void *a, const void *b)
{
	const lanes_generation *x = a, *y = b;
	int c = strcmp(x->server, y->server);
	return c != 0 ? c : (x->generation > y->generation) - (x->generation < y->generation);
}

static ec_time cert_time(const lanes_cert *c)
{
	return c->issued >= 0 ? c->issued : c->not_before;
}

static int cmp_cert(const void *a, const void *b)
{
	const lanes_cert *x = a, *y = b;
	int c = strcmp(x->holder, y->holder);
	return c != 0 ? c : (cert_time(x) > cert_time(y)) - (cert_time(x) < cert_time(y));
}

/* "ROOTCA generation 1", or by its serial when the number is not known (a client's view). */
static void gen_name(const lanes_generation *g, char out[LANES_NAME_MAX])
{
	if (g->generation >= 0)
		snprintf(out, LANES_NAME_MAX, "%s generation %d", g->server, g->generation);
	else
		snprintf(out, LANES_NAME_MAX, "%s serial %s", g->server, g->serial ? g->serial : "?");
}

/* A generation made before its start was the rollover CA until then, made at the shadow
 * generation, and took over at its start. */
static int add_generations(lanes_timeline *t, lanes_generation *gens, size_t n)
{
	qsort(gens, n, sizeof(*gens), cmp_gen);
	for (size_t i = 0; i < n; i++) {
		char name[LANES_NAME_MAX];
		gen_name(&gens[i], name);
		lanes_lane *l = lane_of(t, name, true);
		bool successor = gens[i].created >= 0 && gens[i].created < gens[i].not_before;
		if (add_span(l, LANES_SPAN_CA, gens[i].not_before, gens[i].not_after, gens[i].serial) != 0 ||
		    (successor && (add_span(l, LANES_SPAN_CA_SHADOW, gens[i].created, gens[i].not_before, gens[i].serial) != 0 ||
		                   add_mark(l, LANES_MARK_ROLLOVER, gens[i].created) != 0 ||
		                   add_mark(l, LANES_MARK_SWITCH, gens[i].not_before) != 0)))
			return -1;
	}
	return 0;
}

/* A holder's certificates in the order issued: the first an enrollment, one issued before its
 * start a shadow certificate (held from then, switched to at its start), any other a renewal. */
static int add_certs(lanes_timeline *t, lanes_cert *certs, size_t n)
{
	qsort(certs, n, sizeof(*certs), cmp_cert);
	for (size_t i = 0; i < n; i++) {
		const lanes_cert *c = &certs[i];
		lanes_lane *l = lane_of(t, c->holder, false);
		bool first = i == 0 || strcmp(certs[i - 1].holder, c->holder) != 0;
		bool shadow = c->issued >= 0 && c->issued < c->not_before;
		int rc = add_span(l, LANES_SPAN_CERT, c->not_before, c->not_after, c->serial);
		if (rc == 0 && shadow)
			rc = add_span(l, LANES_SPAN_CERT_SHADOW, c->issued, c->not_before, c->serial);
		if (rc == 0 && shadow)
			rc = add_mark(l, LANES_MARK_SHADOW_READY, c->issued) == 0 ? add_mark(l, LANES_MARK_SWITCH, c->not_before) : -1;
		else if (rc == 0)
			rc = add_mark(l, first && !c->renewal ? LANES_MARK_ENROLL : LANES_MARK_RENEW, cert_time(c));
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* An event without a lane goes to the CA generation active at its time. */
static lanes_lane *event_lane(lanes_timeline *t, const lanes_generation *gens, size_t n, const lanes_event *e)
{
	if (e->lane != NULL)
		return lane_of(t, e->lane, false);
	for (size_t i = 0; i < n; i++)
		if (e->at >= gens[i].not_before && e->at < gens[i].not_after) {
			char name[LANES_NAME_MAX];
			gen_name(&gens[i], name);
			return lane_of(t, name, true);
		}
	return NULL;
}

/* From the first fact to the last end, when the caller gave no range. */
static void auto_range(const lanes_timeline *t, ec_time *from, ec_time *to)
{
	*from = INT64_MAX;
	*to = INT64_MIN;
	for (size_t i = 0; i < t->n_lanes; i++) {
		const lanes_lane *l = &t->lanes[i];
		for (size_t j = 0; j < l->n_spans; j++) {
			*from = l->spans[j].from < *from ? l->spans[j].from : *from;
			*to = l->spans[j].to > *to ? l->spans[j].to : *to;
		}
		for (size_t j = 0; j < l->n_marks; j++) {
			*from = l->marks[j].at < *from ? l->marks[j].at : *from;
			*to = l->marks[j].at > *to ? l->marks[j].at : *to;
		}
	}
	if (*from >= *to) {
		*from = t->now - EC_MS_PER_DAY;
		*to = t->now + EC_MS_PER_DAY;
	}
}

/* Keeps what meets [from, to), cut to it. */
static void clip(lanes_lane *l, ec_time from, ec_time to)
{
	size_t k = 0;
	for (size_t j = 0; j < l->n_spans; j++) {
		lanes_span s = l->spans[j];
		if (s.to <= from || s.from >= to)
			continue;
		s.from = s.from < from ? from : s.from;
		s.to = s.to > to ? to : s.to;
		l->spans[k++] = s;
	}
	l->n_spans = k;
	k = 0;
	for (size_t j = 0; j < l->n_marks; j++)
		if (l->marks[j].at >= from && l->marks[j].at <= to)
			l->marks[k++] = l->marks[j];
	l->n_marks = k;
}

/* Copies of the facts that are sorted in place. */
static int copy_facts(const lanes_input *in, lanes_generation **gens, lanes_cert **certs)
{
	*gens = malloc((in->n_gens + 1) * sizeof(**gens));
	*certs = malloc((in->n_certs + 1) * sizeof(**certs));
	if (*gens == NULL || *certs == NULL)
		return -1;
	if (in->n_gens > 0)
		memcpy(*gens, in->gens, in->n_gens * sizeof(**gens));
	if (in->n_certs > 0)
		memcpy(*certs, in->certs, in->n_certs * sizeof(**certs));
	return 0;
}

int lanes_build(const lanes_input *in, lanes_timeline *out, ec_err *err)
{
	memset(out, 0, sizeof(*out));
	lanes_generation *gens = NULL;
	lanes_cert *certs = NULL;
	int rc = -1;
	out->now = in->now;
	out->lanes = calloc(LANES_LANES_MAX, sizeof(lanes_lane));
	if (out->lanes == NULL || copy_facts(in, &gens, &certs) != 0 ||
	    add_generations(out, gens, in->n_gens) != 0 || add_certs(out, certs, in->n_certs) != 0)
		goto out;
	for (size_t i = 0; i < in->n_events; i++)
		if (add_mark(event_lane(out, gens, in->n_gens, &in->events[i]), in->events[i].kind, in->events[i].at) != 0)
			goto out;
	if (in->from < in->to) {
		out->from = in->from;
		out->to = in->to;
	} else
		auto_range(out, &out->from, &out->to);
	for (size_t i = 0; i < out->n_lanes; i++)
		clip(&out->lanes[i], out->from, out->to);
	rc = 0;
out:
	free(gens);
	free(certs);
	if (rc != 0) {
		lanes_free(out);
		ec_err_set(err, "out of memory");
	}
	return rc;
}

void lanes_free(lanes_timeline *t)
{
	for (size_t i = 0; t->lanes != NULL && i < t->n_lanes; i++) {
		free(t->lanes[i].spans);
		free(t->lanes[i].marks);
	}
	free(t->lanes);
	t->lanes = NULL;
	t->n_lanes = 0;
}
