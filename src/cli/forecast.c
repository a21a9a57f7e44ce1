/* `evercert forecast`: the request load of N clients on each certificate server of a
 * configuration, as a table or an HTML page. */
#include "cli/forecast.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "picture/forecast.h"
#include "util/fsutil.h"

#define FORECAST_OUT_MAX (64 * 1024 * 1024)

static void usage(FILE *f)
{
	fprintf(f, "usage: evercert forecast --config FILE --clients N [--spread DURATION]\n"
	           "                         [--client-policy PERCENT] [--early-retry spread|instant] [--html FILE]\n"
	           "\n"
	           "Models the requests that N auto-enrolling clients make to each certificate server of\n"
	           "FILE, per hour, from the CA certificate's start across its next two rollovers: first\n"
	           "enrollments evenly over DURATION (default 0: all at once), then each client's RENEW\n"
	           "and SHADOW at its auto-enroll percentage (the trustpoints' in FILE, or PERCENT), the\n"
	           "lifetimes and auto-rollover of the server. An early GetNextCACert comes back spread\n"
	           "over the CA's window (`instant`: all at the shadow generation, as before the spread).\n"
	           "Prints a table of 30-day periods and the peak hour and second; --html FILE writes\n"
	           "the same with a chart as one self-contained page.\n");
}

typedef struct fc_args {
	const char *config, *html;
	long long clients;
	ec_time spread;
	int policy;
	bool instant;
} fc_args;

static int parse_number(const char *text, long long lo, long long hi, long long *out)
{
	char *end = NULL;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (end != NULL && *end == '%')
		end++;
	if (errno != 0 || end == text || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* -1: go on; otherwise the exit status. */
static int parse_args(int argc, char **argv, fc_args *a)
{
	long long v = 0;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (val == NULL) {
			usage(stderr);
			return 2;
		}
		i++;
		if (strcmp(o, "--config") == 0)
			a->config = val;
		else if (strcmp(o, "--html") == 0)
			a->html = val;
		else if (strcmp(o, "--clients") == 0 && parse_number(val, 1, FORECAST_CLIENTS_MAX, &a->clients) == 0)
			continue;
		else if (strcmp(o, "--client-policy") == 0 && parse_number(val, 1, 100, &v) == 0)
			a->policy = (int)v;
		else if (strcmp(o, "--spread") == 0 && (strcmp(val, "0") == 0 || ec_duration_parse(val, &a->spread) == 0))
			continue;
		else if (strcmp(o, "--early-retry") == 0 && (strcmp(val, "spread") == 0 || strcmp(val, "instant") == 0))
			a->instant = strcmp(val, "instant") == 0;
		else {
			fprintf(stderr, "evercert forecast: bad option or value: %s %s\n", o, val);
			return 2;
		}
	}
	if (a->config == NULL || a->clients == 0) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* The model's input for server s: the trustpoints' distinct percentages, or the stated one. */
static int input_for(const cfg_config *cfg, const cfg_server *s, const fc_args *a, forecast_input *in)
{
	*in = (forecast_input){s->lifetime_ca_certificate, s->lifetime_certificate, s->auto_rollover,
	                       s->auto_rollover_period, {0}, 0, a->clients, a->spread, !a->instant};
	if (a->policy > 0)
		in->percents[in->n_percents++] = a->policy;
	for (size_t j = 0; a->policy == 0 && j < cfg->n_trustpoints; j++) {
		const cfg_trustpoint *t = &cfg->trustpoints[j];
		bool seen = false;
		for (size_t k = 0; k < in->n_percents; k++)
			seen = seen || in->percents[k] == t->auto_enroll_percent;
		if (t->auto_enroll && !seen && in->n_percents < FORECAST_PERCENTS_MAX)
			in->percents[in->n_percents++] = t->auto_enroll_percent;
	}
	if (in->n_percents == 0) {
		fprintf(stderr, "evercert forecast: no auto-enrolling trustpoint in %s: give the clients' policy with "
		        "--client-policy PERCENT\n", a->config);
		return -1;
	}
	return 0;
}

static int forecast_server(const cfg_config *cfg, const cfg_server *s, const fc_args *a, ec_buf *text, ec_buf *html)
{
	forecast_input in;
	forecast_result r;
	ec_err err;
	if (input_for(cfg, s, a, &in) != 0)
		return -1;
	if (forecast_run(&in, &r, &err) != 0) {
		fprintf(stderr, "evercert forecast: %s\n", err.msg);
		return -1;
	}
	int rc = forecast_format_text(&in, &r, s->name, text);
	if (rc == 0 && html != NULL)
		rc = forecast_format_html(&in, &r, s->name, html);
	forecast_result_free(&r);
	if (rc != 0)
		fprintf(stderr, "evercert forecast: the output is too large\n");
	return rc;
}

int cli_forecast(int argc, char **argv)
{
	fc_args a = {0};
	int status = parse_args(argc, argv, &a);
	if (status >= 0)
		return status;
	cfg_config *cfg = NULL;
	ec_err err;
	if (cfg_load_file(a.config, &cfg, &err) != 0) {
		fprintf(stderr, "evercert forecast: %s\n", err.msg);
		return 2;
	}
	ec_buf text, html;
	ec_buf_init(&text, FORECAST_OUT_MAX);
	ec_buf_init(&html, FORECAST_OUT_MAX);
	status = cfg->n_servers == 0 ? 2 : 0;
	if (cfg->n_servers == 0)
		fprintf(stderr, "evercert forecast: no certificate server in %s\n", a.config);
	/* The HTML page holds the first server's forecast: one page, one picture. */
	for (size_t i = 0; status == 0 && i < cfg->n_servers; i++)
		if (forecast_server(cfg, &cfg->servers[i], &a, &text, i == 0 && a.html ? &html : NULL) != 0)
			status = 2;
	if (status == 0 && a.html != NULL && ec_write_atomic(a.html, html.data, html.len, 0644, &err) != 0) {
		fprintf(stderr, "evercert forecast: %s\n", err.msg);
		status = 1;
	}
	if (status == 0) {
		fwrite(text.data, 1, text.len, stdout);
		if (a.html != NULL)
			printf("Wrote %s\n", a.html);
	}
	ec_buf_free(&text);
	ec_buf_free(&html);
	cfg_config_free(cfg);
	return status;
}
