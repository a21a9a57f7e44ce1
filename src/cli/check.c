/* `evercert check`: the timer-dependency rule (SPEC §8) for a configuration, offline. */
#include "cli/check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/timeline.h"
#include "config/config.h"
#include "util/json.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: evercert check --config FILE [--client-policy PERCENT] [--json]\n"
	           "\n"
	           "Checks that every client's SHADOW renewal comes after its CA creates the rollover\n"
	           "certificate: (1 - P) x L <= R, with L the certificate lifetime, R the auto-rollover\n"
	           "period and P each trustpoint's auto-enroll percentage (or --client-policy P for the\n"
	           "clients of a CA configured alone). Prints the timeline of one CA generation and\n"
	           "every violation; exits 1 when unsafe, 2 on a usage or configuration error.\n"
	           "--json prints one JSON document instead (docs/JSON.md).\n");
}

static int parse_percent(const char *text, int *out)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (end != NULL && *end == '%')
		end++;
	if (errno != 0 || end == text || *end != '\0' || v < 1 || v > 100)
		return -1;
	*out = (int)v;
	return 0;
}

/* What a run checks and what it found. */
typedef struct check_run {
	ec_buf text;                      /* the timelines */
	ec_buf items;                     /* --json: the items of "checks" */
	bool json;
	int unsafe, pairs;
	bool too_long;                    /* an item did not fit: the document would be cut */
} check_run;

static int check_item(ec_buf *items, const cfg_server *s, const char *client, int percent, timeline_result r)
{
	return (items->len > 0 && ec_buf_printf(items, ",")) || ec_buf_printf(items, "{") ||
	       ec_json_kv_str(items, true, "server", s->name) || ec_json_kv_str(items, false, "client", client) ||
	       ec_json_kv_int(items, false, "auto_enroll_percent", percent) || ec_json_kv_bool(items, false, "safe", r.safe) ||
	       ec_json_kv_int(items, false, "certificate_lifetime_ms", s->lifetime_certificate) ||
	       ec_json_kv_int(items, false, "ca_lifetime_ms", s->lifetime_ca_certificate) ||
	       ec_json_kv_int(items, false, "auto_rollover_period_ms", s->auto_rollover ? s->auto_rollover_period : 0) ||
	       ec_json_kv_int(items, false, "earliest_shadow_before_expiry_ms", r.earliest_shadow) ||
	       ec_json_kv_int(items, false, "shadow_generation_before_expiry_ms", r.shadow_generation) ||
	       ec_json_kv_int(items, false, "unsafe_window_ms", r.unsafe_window) || ec_buf_printf(items, "}")
	           ? -1 : 0;
}

/* One server and client policy: its timeline, or with --json its item. */
static void check_pair(check_run *run, const cfg_server *s, const char *client, int percent)
{
	timeline_input in = {s->lifetime_ca_certificate, s->lifetime_certificate, s->auto_rollover,
	                     s->auto_rollover_period, percent, s->name, client};
	timeline_result r = timeline_check(&in, &run->text);
	if (run->json && check_item(&run->items, s, client, percent, r) != 0)
		run->too_long = true;
	run->unsafe += r.safe ? 0 : 1;
	run->pairs++;
}

static int print_json(const char *config, const check_run *run)
{
	ec_buf doc;
	ec_buf_init(&doc, 4 << 20);
	bool ok = !run->too_long && ec_buf_printf(&doc, "{") == 0 && ec_json_kv_str(&doc, true, "config", config) == 0 &&
	          ec_json_kv_bool(&doc, false, "safe", run->unsafe == 0) == 0 &&
	          ec_json_kv_int(&doc, false, "combinations", run->pairs) == 0 &&
	          ec_json_kv_int(&doc, false, "unsafe", run->unsafe) == 0 && ec_buf_printf(&doc, ",\"checks\":[") == 0 &&
	          ec_buf_append(&doc, run->items.data, run->items.len) == 0 && ec_buf_printf(&doc, "]}\n") == 0;
	if (ok)
		fwrite(doc.data, 1, doc.len, stdout);
	else
		fprintf(stderr, "evercert check: the report is too long\n");
	ec_buf_free(&doc);
	return ok ? 0 : -1;
}

static void print_text(const char *config, const cfg_config *cfg, const check_run *run)
{
	if (run->text.len > 0)
		fwrite(run->text.data, 1, run->text.len, stdout);
	if (cfg->n_servers == 0)
		printf("No certificate server in %s: nothing to check.\n", config);
	else if (run->pairs == 0)
		printf("No auto-enrolling trustpoint in %s: give the clients' policy with --client-policy PERCENT.\n", config);
	else
		printf("%s: %d of %d combination(s) unsafe\n", run->unsafe ? "UNSAFE" : "safe", run->unsafe, run->pairs);
}

/* Reads the options; -1 to go on, otherwise the exit status. */
static int parse_args(int argc, char **argv, const char **config, int *policy, bool *json)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			*json = true;
		else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			*config = argv[++i];
		else if (strcmp(argv[i], "--client-policy") == 0 && i + 1 < argc) {
			if (parse_percent(argv[++i], policy) != 0) {
				fprintf(stderr, "evercert check: --client-policy takes a percentage from 1 to 100\n");
				return 2;
			}
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (*config == NULL) {
		usage(stderr);
		return 2;
	}
	return -1;
}

int cli_check(int argc, char **argv, bool json)
{
	const char *config = NULL;
	int policy = 0;
	int status = parse_args(argc, argv, &config, &policy, &json);
	if (status >= 0)
		return status;
	cfg_config *cfg = NULL;
	ec_err err;
	if (cfg_load_file(config, &cfg, &err) != 0) {
		fprintf(stderr, "evercert check: %s\n", err.msg);
		return 2;
	}
	check_run run = {.json = json};
	ec_buf_init(&run.text, 1 << 20);
	ec_buf_init(&run.items, 1 << 20);
	for (size_t i = 0; i < cfg->n_servers; i++) {
		const cfg_server *s = &cfg->servers[i];
		if (policy > 0)
			check_pair(&run, s, "(--client-policy)", policy);
		for (size_t j = 0; j < cfg->n_trustpoints; j++)
			if (cfg->trustpoints[j].auto_enroll)
				check_pair(&run, s, cfg->trustpoints[j].name, cfg->trustpoints[j].auto_enroll_percent);
	}
	status = run.unsafe ? 1 : 0;
	if (json && print_json(config, &run) != 0)
		status = 2;
	else if (!json)
		print_text(config, cfg, &run);
	ec_buf_free(&run.text);
	ec_buf_free(&run.items);
	cfg_config_free(cfg);
	return status;
}
