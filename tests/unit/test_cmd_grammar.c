/* The operator's words abbreviated as on the router: unique prefixes expand, an ambiguous one is
 * refused with the router's message, arguments and options are left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/cmd_grammar.h"

/* Expands line (words separated by single spaces) and returns the result joined the same way. */
static const char *expand(const char *line, int *rc, ec_err *err)
{
	static char copy[256], out[512];
	const char *w[16];
	size_t n = 0;
	snprintf(copy, sizeof(copy), "%s", line);
	for (char *save = NULL, *t = strtok_r(copy, " ", &save); t != NULL && n < 16; t = strtok_r(NULL, " ", &save))
		w[n++] = t;
	*rc = cmd_expand(w, n, err);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t used = strlen(out);
		snprintf(out + used, sizeof(out) - used, "%s%s", i ? " " : "", w[i]);
	}
	return out;
}

static void expands(const char *line, const char *want)
{
	int rc = 0;
	ec_err err = {""};
	const char *got = expand(line, &rc, &err);
	if (rc != 0 || strcmp(got, want) != 0)
		fail_msg("'%s' gave '%s' (%s), not '%s'", line, got, err.msg, want);
}

static void refused(const char *line, const char *want)
{
	int rc = 0;
	ec_err err = {""};
	(void)expand(line, &rc, &err);
	if (rc != -1 || strcmp(err.msg, want) != 0)
		fail_msg("'%s' gave %d '%s', not '%s'", line, rc, err.msg, want);
}

static void unique_prefixes(void **state)
{
	(void)state;
	expands("sh cr pk ser", "show crypto pki server");
	expands("sh cr pki ser --json", "show crypto pki server --json");
	expands("show crypto k my rsa", "show crypto key mypubkey rsa");
	expands("sh cry pki ti", "show crypto pki timers");
	expands("sh cry pki tr st", "show crypto pki trustpoints status");
	expands("sh ip h s st", "show ip http server status");
	expands("sh cl", "show clock");
	expands("SH CR PK CE", "show crypto pki certificates");
	expands("p", "ping");
	expands("rel", "reload");
}

static void arguments_stay(void **state)
{
	(void)state;
	/* Names keep their spelling and case, even where they look like a keyword's prefix. */
	expands("ser ROOTCA info req", "server ROOTCA info requests");
	expands("ser sh gr all", "server sh grant all");
	expands("ser CA gr 12", "server CA grant 12");
	expands("cr pk ser CA roll can --yes", "crypto pki server CA rollover cancel --yes");
	expands("ser CA n sh", "server CA no shutdown");
	expands("ser CA rev 0A1B", "server CA revoke 0A1B");
	expands("ser CA pass gen 30", "server CA password generate 30");
	expands("au TP", "authenticate TP");
	expands("cr pk en TP", "crypto pki enroll TP");
	expands("cr pk crl req TP", "crypto pki crl request TP");
	expands("cl advance 90d", "clock advance 90d");
	expands("cl advance- 2017-07-10T13:14:16Z", "clock advance-to 2017-07-10T13:14:16Z");
	expands("clock advance-to 2017-07-10T13:14:16Z", "clock advance-to 2017-07-10T13:14:16Z");
	expands("b /tmp/x", "backup /tmp/x");
}

static void ambiguous(void **state)
{
	(void)state;
	refused("s cr pk ser", "% Ambiguous command: \"s cr pk ser\"");
	refused("show crypto pki t", "% Ambiguous command: \"show crypto pki t\"");
	refused("ser CA r", "% Ambiguous command: \"ser CA r\"");
	/* A keyword that begins another is ambiguous until written in full, as on the router. */
	refused("cl adv 90d", "% Ambiguous command: \"cl adv 90d\"");
	refused("sh c", "% Ambiguous command: \"sh c\"");
}

static void unknown_lines_left_alone(void **state)
{
	(void)state;
	expands("frobnicate now", "frobnicate now");
	expands("show crypto pki frob", "show crypto pki frob");
	expands("sh crypto pki server extra words", "show crypto pki server extra words");
}

/* Writes over the stack below the caller, where a callee's locals were. */
static __attribute__((noinline)) void clobber_stack(void)
{
	volatile char junk[64 * 1024];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)0xA5;
}

/* The keywords put in the words' place live on after the call: the daemon reads them later,
 * from other functions. */
static void keywords_outlive_the_call(void **state)
{
	(void)state;
	char a[] = "sh", b[] = "cr", c[] = "pk", d[] = "ser";
	const char *w[] = {a, b, c, d};
	ec_err err;
	assert_int_equal(cmd_expand(w, 4, &err), 0);
	clobber_stack();
	assert_string_equal(w[0], "show");
	assert_string_equal(w[1], "crypto");
	assert_string_equal(w[2], "pki");
	assert_string_equal(w[3], "server");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unique_prefixes),
		cmocka_unit_test(arguments_stay),
		cmocka_unit_test(ambiguous),
		cmocka_unit_test(unknown_lines_left_alone),
		cmocka_unit_test(keywords_outlive_the_call),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
