#include "ca/timeline.h"

#include <stdio.h>

/* "E-73d 0h" style offsets before the CA's expiry. */
static void before_e(ec_time d, char *out, size_t sz)
{
	if (d <= 0) {
		snprintf(out, sz, "E");
		return;
	}
	long long days = d / EC_MS_PER_DAY, hours = d % EC_MS_PER_DAY / EC_MS_PER_HOUR;
	long long mins = d % EC_MS_PER_HOUR / EC_MS_PER_MINUTE;
	if (hours == 0 && mins == 0)
		snprintf(out, sz, "E-%lldd", days);
	else if (mins == 0)
		snprintf(out, sz, "E-%lldd%lldh", days, hours);
	else
		snprintf(out, sz, "E-%lldd%lldh%lldm", days, hours, mins);
}

static double days(ec_time t)
{
	return (double)t / (double)EC_MS_PER_DAY;
}

timeline_result timeline_check(const timeline_input *in, ec_buf *out)
{
	timeline_result r = {0};
	/* An identity certificate never outlives its CA: the longest E - T is min(L, C). */
	ec_time longest = in->cert_lifetime < in->ca_lifetime ? in->cert_lifetime : in->ca_lifetime;
	int p = in->percent < 1 ? 1 : in->percent > 100 ? 100 : in->percent;
	r.earliest_shadow = longest / 100 * (100 - p) + longest % 100 * (100 - p) / 100;
	r.shadow_generation = in->auto_rollover ? in->rollover_period : 0;
	r.safe = in->auto_rollover && r.earliest_shadow <= r.shadow_generation && p < 100;
	char a[48], b[48], c[48], e[48];
	before_e(in->ca_lifetime, a, sizeof(a));
	before_e(longest, b, sizeof(b));
	before_e(r.shadow_generation, c, sizeof(c));
	before_e(r.earliest_shadow, e, sizeof(e));
	int rc = ec_buf_printf(out, "Certificate server %s with trustpoint %s (auto-enroll %d%%)\n", in->server, in->client, p);
	rc |= ec_buf_printf(out, "  %-14s CA certificate starts (lifetime ca-certificate %.1f days)\n", a, days(in->ca_lifetime));
	rc |= ec_buf_printf(out, "  %-14s last certificate issued with its full lifetime (%.1f days)\n", b, days(longest));
	if (in->auto_rollover)
		rc |= ec_buf_printf(out, "  %-14s CS SHADOW CERT GENERATION: rollover CA created (auto-rollover %.1f days)\n",
		                    c, days(in->rollover_period));
	else
		rc |= ec_buf_printf(out, "  %-14s (no auto-rollover: the rollover CA exists only if an operator runs `rollover`)\n", "-");
	rc |= ec_buf_printf(out, "  %-14s earliest client SHADOW (installed at %s, fires at %d%%)\n", e, b, p);
	rc |= ec_buf_printf(out, "  %-14s latest client SHADOW (a certificate installed just before E)\n", "E-0");
	rc |= ec_buf_printf(out, "  %-14s CS CERT EXPIRE: the rollover CA and the SHADOW certificates take over\n", "E");
	rc |= ec_buf_printf(out, "  rule (1 - P) x L <= R: (1 - %.2f) x %.1f = %.1f days %s %.1f days: ", p / 100.0,
	                    days(longest), days(r.earliest_shadow), r.earliest_shadow <= r.shadow_generation ? "<=" : ">",
	                    days(r.shadow_generation));
	if (r.safe) {
		rc |= ec_buf_printf(out, "safe\n");
	} else if (p == 100) {
		rc |= ec_buf_printf(out, "UNSAFE: auto-enroll 100 renews at expiry, so a SHADOW certificate cannot "
		                    "be ready in time; use a percentage such as 80\n");
	} else if (!in->auto_rollover) {
		rc |= ec_buf_printf(out, "UNSAFE: without auto-rollover every SHADOW waits for an operator\n");
	} else {
		/* Clients whose E - T exceeds R / (1 - P) ask before the rollover certificate exists. */
		ec_time limit = r.shadow_generation / (100 - p) * 100;
		r.unsafe_window = longest - limit;
		char w1[48], w2[48];
		before_e(longest, w1, sizeof(w1));
		before_e(limit, w2, sizeof(w2));
		rc |= ec_buf_printf(out, "UNSAFE: clients that installed a certificate between %s and %s fire SHADOW "
		                    "before the rollover CA exists (they get 503 with Retry-After and wait);\n"
		                    "  raise auto-rollover to at least %.1f days or auto-enroll to at least %d%%\n",
		                    w1, w2, days(r.earliest_shadow),
		                    (int)(100 - (double)r.shadow_generation * 100 / (double)longest) + 1);
	}
	(void)rc;
	return r;
}
