/* `evercert check`: the timer-dependency rule (SPEC §8) for a configuration, offline. */
#include "cli/check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca/timeline.h"
#include "config/config.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: evercert check --config FILE [--client-policy PERCENT]\n"
	           "\n"
	           "Checks that every client's SHADOW renewal comes after its CA creates the rollover\n"
	           "certificate: (1 - P) x L <= R, with L the certificate lifetime, R the auto-rollover\n"
	           "period and P each trustpoint's auto-enroll percentage (or --client-policy P for the\n"
	           "clients of a CA configured alone). Prints the timeline of one CA generation and\n"
	           "every violation; exits 1 when unsafe, 2 on a usage or configuration error.\n");
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

static int check_pair(const cfg_server *s, const char *client, int percent, ec_buf *out)
{
	timeline_input in = {s->lifetime_ca_certificate, s->lifetime_certificate, s->auto_rollover,
	                     s->auto_rollover_period, percent, s->name, client};
	timeline_result r = timeline_check(&in, out);
	return r.safe ? 0 : 1;
}

int cli_check(int argc, char **argv)
{
	const char *config = NULL;
	int policy = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "--client-policy") == 0 && i + 1 < argc) {
			if (parse_percent(argv[++i], &policy) != 0) {
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
	if (config == NULL) {
		usage(stderr);
		return 2;
	}
	cfg_config *cfg = NULL;
	ec_err err;
	if (cfg_load_file(config, &cfg, &err) != 0) {
		fprintf(stderr, "evercert check: %s\n", err.msg);
		return 2;
	}
	ec_buf out;
	ec_buf_init(&out, 1 << 20);
	int unsafe = 0, pairs = 0;
	for (size_t i = 0; i < cfg->n_servers; i++) {
		const cfg_server *s = &cfg->servers[i];
		if (policy > 0) {
			unsafe += check_pair(s, "(--client-policy)", policy, &out);
			pairs++;
		}
		for (size_t j = 0; j < cfg->n_trustpoints; j++) {
			const cfg_trustpoint *t = &cfg->trustpoints[j];
			if (!t->auto_enroll)
				continue;
			unsafe += check_pair(s, t->name, t->auto_enroll_percent, &out);
			pairs++;
		}
	}
	if (out.len > 0)
		fwrite(out.data, 1, out.len, stdout);
	if (cfg->n_servers == 0)
		printf("No certificate server in %s: nothing to check.\n", config);
	else if (pairs == 0)
		printf("No auto-enrolling trustpoint in %s: give the clients' policy with --client-policy PERCENT.\n", config);
	else
		printf("%s: %d of %d combination(s) unsafe\n", unsafe ? "UNSAFE" : "safe", unsafe, pairs);
	ec_buf_free(&out);
	cfg_config_free(cfg);
	return unsafe ? 1 : 0;
}
