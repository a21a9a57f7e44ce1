/* The timeline's lanes from the facts of two CA generations and a client that enrolled, renewed,
 * obtained a shadow certificate and was answered 503 once; and both renderings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "picture/lanes.h"

#define DAY EC_MS_PER_DAY

static const lanes_generation GENS[] = {
	{"ROOTCA", 1, "05", 640 * DAY, 730 * DAY, 1460 * DAY},
	{"ROOTCA", 0, "01", 0, 0, 730 * DAY},
};
static const lanes_cert CERTS[] = {
	{"vpn-1", "02", 1000, 1000, 365 * DAY, false},
	{"vpn-1", "03", 292 * DAY, 292 * DAY, 657 * DAY, true},
	{"vpn-1", "06", 650 * DAY, 730 * DAY, 1095 * DAY, true},
};
static const lanes_event EVENTS[] = {
	{NULL, LANES_MARK_503, 630 * DAY},
	{"vpn-1", LANES_MARK_ARMED, 1022 * DAY},
};

static const lanes_lane *lane(const lanes_timeline *t, const char *name)
{
	for (size_t i = 0; i < t->n_lanes; i++)
		if (strcmp(t->lanes[i].name, name) == 0)
			return &t->lanes[i];
	return NULL;
}

static int marks(const lanes_lane *l, enum lanes_mark_kind k)
{
	int n = 0;
	for (size_t i = 0; i < l->n_marks; i++)
		n += l->marks[i].kind == k ? l->marks[i].count : 0;
	return n;
}

static void lanes_and_marks(void **state)
{
	(void)state;
	lanes_input in = {GENS, 2, CERTS, 3, EVENTS, 2, 0, 0, 700 * DAY};
	lanes_timeline t;
	ec_err err;
	assert_int_equal(lanes_build(&in, &t, &err), 0);
	assert_int_equal(t.n_lanes, 3);
	assert_string_equal(t.lanes[0].name, "ROOTCA generation 0"); /* generations first, in order */
	assert_string_equal(t.lanes[1].name, "ROOTCA generation 1");
	const lanes_lane *g1 = &t.lanes[1], *g0 = &t.lanes[0], *v = lane(&t, "vpn-1");
	assert_non_null(v);
	assert_int_equal(marks(g1, LANES_MARK_ROLLOVER), 1);
	assert_int_equal(marks(g1, LANES_MARK_SWITCH), 1);
	assert_int_equal(g1->n_spans, 2); /* rollover CA before its start, then active */
	assert_int_equal(marks(g0, LANES_MARK_503), 1); /* the generation active at the time */
	assert_int_equal(v->n_spans, 4); /* three certificates, and the shadow one held before its start */
	assert_int_equal(marks(v, LANES_MARK_ENROLL), 1);
	assert_int_equal(marks(v, LANES_MARK_RENEW), 1);
	assert_int_equal(marks(v, LANES_MARK_SHADOW_READY), 1);
	assert_int_equal(marks(v, LANES_MARK_SWITCH), 1);
	assert_int_equal(marks(v, LANES_MARK_ARMED), 1);
	assert_int_equal(t.from, 0);
	assert_int_equal(t.to, 1460 * DAY);
	lanes_free(&t);
}

static void clipped_to_a_range(void **state)
{
	(void)state;
	lanes_input in = {GENS, 2, CERTS, 3, EVENTS, 2, 600 * DAY, 800 * DAY, 700 * DAY};
	lanes_timeline t;
	ec_err err;
	assert_int_equal(lanes_build(&in, &t, &err), 0);
	const lanes_lane *v = lane(&t, "vpn-1");
	assert_int_equal(marks(v, LANES_MARK_ENROLL), 0);
	assert_int_equal(marks(v, LANES_MARK_SHADOW_READY), 1);
	for (size_t i = 0; i < v->n_spans; i++)
		assert_true(v->spans[i].from >= 600 * DAY && v->spans[i].to <= 800 * DAY);
	lanes_free(&t);
}

static void renderings(void **state)
{
	(void)state;
	lanes_input in = {GENS, 2, CERTS, 3, EVENTS, 2, 0, 0, 700 * DAY};
	lanes_timeline t;
	ec_err err;
	assert_int_equal(lanes_build(&in, &t, &err), 0);
	ec_buf text, colour, html;
	ec_buf_init(&text, 1 << 20);
	ec_buf_init(&colour, 1 << 20);
	ec_buf_init(&html, 1 << 20);
	assert_int_equal(lanes_format_text(&t, 80, false, &text), 0);
	assert_int_equal(lanes_format_text(&t, 80, true, &colour), 0);
	assert_int_equal(lanes_format_html(&t, "a <PKI>", &html), 0);
	assert_int_equal(ec_buf_append(&text, "", 1), 0);
	assert_int_equal(ec_buf_append(&colour, "", 1), 0);
	assert_int_equal(ec_buf_append(&html, "", 1), 0);
	const char *s = (const char *)text.data;
	assert_null(strchr(s, '\033'));
	assert_non_null(strstr((const char *)colour.data, "\033["));
	assert_non_null(strstr(s, "ROOTCA generation 1"));
	for (const char *line = s; (line = strchr(line, '\n')) != NULL && line[1] != '\0'; line++)
		assert_true(strcspn(line + 1, "\n") <= 80);
	const char *h = (const char *)html.data;
	int lanes = 0;
	for (const char *p = h; (p = strstr(p, "<g class=\"lane\"")) != NULL; p++)
		lanes++;
	assert_int_equal(lanes, 3);
	assert_non_null(strstr(h, "a &lt;PKI&gt;"));
	assert_null(strstr(h, "<script"));
	ec_buf_free(&text);
	ec_buf_free(&colour);
	ec_buf_free(&html);
	lanes_free(&t);
}

static void facts_are_copied(void **state)
{
	(void)state;
	lanes_facts f = {0};
	char name[16] = "web-1";
	lanes_cert c = {name, "0A", 5, 5, DAY, false};
	assert_int_equal(lanes_facts_add_cert(&f, &c), 0);
	snprintf(name, sizeof(name), "changed");
	assert_string_equal(f.certs[0].holder, "web-1");
	lanes_facts_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lanes_and_marks),
		cmocka_unit_test(clipped_to_a_range),
		cmocka_unit_test(renderings),
		cmocka_unit_test(facts_are_copied),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
