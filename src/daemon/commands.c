/*
 * Operator commands, as the CLI sends them (router words; unique abbreviations such as
 * `sh cry pki ser` are accepted):
 *   show crypto pki server|certificates|timers [--json] [--md5]
 *   show ip http server [status] [--json]
 *   show crypto key mypubkey rsa          show clock
 *   show timeline [html] [width N] [colour] [from TIME] [to TIME]
 *   [crypto pki] server NAME info requests | grant all|ID | reject all|ID | revoke SERIAL |
 *       unrevoke SERIAL | password generate [MINUTES] | rollover [cancel [--yes]] |
 *       shutdown | no shutdown
 *   [crypto pki] authenticate TP [--yes]  [crypto pki] enroll TP [--yes]
 *   crypto pki crl request TP
 *   show crypto pki trustpoints [status]
 *   clock advance DURATION | advance-to TIME    ping
 *   backup DIR                            (backup.c)
 *   reload                                (reload.c)
 */
#include "daemon/daemon.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/cmd_grammar.h"
#include "daemon/timeline_cmd.h"
#include "util/json.h"
#include "util/opproto.h"

#define CMD_WORDS_MAX OPPROTO_ARGS_MAX

typedef struct cmd {
	daemon_ctx *d;
	char *w[CMD_WORDS_MAX];
	int n;
	unsigned show_flags;
	bool yes;
	ec_buf *out;
	ec_time now;
} cmd;

/* Whether word abbreviates keyword (at least min characters, or the whole keyword). */
static bool kw(const char *word, const char *keyword, size_t min)
{
	size_t n = strlen(word);
	if (n == 0 || n > strlen(keyword) || strncasecmp(word, keyword, n) != 0)
		return false;
	return n >= min || n == strlen(keyword);
}

static bool at(const cmd *c, int i, const char *keyword, size_t min)
{
	return i < c->n && kw(c->w[i], keyword, min);
}

static int fail(cmd *c, const char *fmt, ...) EC_PRINTF(2, 3);

static int fail(cmd *c, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (ec_buf_printf(c->out, "%s\n", text) != 0)
		return -1;
	return -1;
}

static int fail_err(cmd *c, const ec_err *err)
{
	return fail(c, "%s", err->msg);
}

static int parse_id(const char *text, int64_t *id)
{
	if (strcasecmp(text, "all") == 0) {
		*id = -1;
		return 0;
	}
	char *end = NULL;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < 0)
		return -1;
	*id = v;
	return 0;
}

static ca_engine *find_ca(daemon_ctx *d, const char *name)
{
	for (size_t i = 0; i < d->n_cas; i++)
		if (strcmp(ca_name(d->cas[i]), name) == 0)
			return d->cas[i];
	return NULL;
}

static int show_timers(cmd *c)
{
	daemon_ctx *d = c->d;
	ec_timer_entry cs[256], pki[256];
	size_t n_cs = 0, n_pki = 0;
	for (size_t i = 0; i < d->n_cas && n_cs < 256; i++)
		n_cs += ca_timers(d->cas[i], cs + n_cs, 256 - n_cs);
	for (size_t i = 0; i < d->n_tps && n_pki < 256; i++)
		n_pki += client_timers(d->tps[i], pki + n_pki, 256 - n_pki);
	if (c->show_flags & CA_SHOW_JSON) {
		char iso[EC_TIME_TEXT_MAX];
		ec_time_format_iso(c->now, iso);
		if (ec_buf_printf(c->out, "{\"now\":\"%s\",\"authoritative\":%s,\"pki_timers\":", iso,
		                  ec_clock_is_authoritative(d->clock) ? "true" : "false") != 0 ||
		    ec_timers_format_json(c->out, pki, n_pki, c->now) != 0 ||
		    ec_buf_printf(c->out, ",\"cs_timers\":") != 0 ||
		    ec_timers_format_json(c->out, cs, n_cs, c->now) != 0 || ec_buf_printf(c->out, "}\n") != 0)
			return -1;
		return 0;
	}
	if (!ec_clock_is_authoritative(d->clock) &&
	    ec_buf_printf(c->out, "%% clock not authoritative: PKI timers are not running\n") != 0)
		return -1;
	char now_text[EC_TIME_TEXT_MAX];
	ec_time_format_router(c->now, now_text);
	if (ec_buf_printf(c->out, "Time source is %s, %s\n", ec_clock_is_simulated(d->clock) ? "simulated" : "system clock", now_text) != 0 ||
	    ec_timers_format(c->out, "PKI Timers", pki, n_pki, c->now) != 0)
		return -1;
	if (d->n_cas > 0 && ec_timers_format(c->out, "CS Timers", cs, n_cs, c->now) != 0)
		return -1;
	return 0;
}

/* JSON: the end of a document {"KEY":[items]}. */
static int json_items_end(cmd *c)
{
	return ec_buf_printf(c->out, "]}\n");
}

static int show_trustpoints(cmd *c)
{
	bool json = c->show_flags & CA_SHOW_JSON;
	if (json && ec_buf_printf(c->out, "{\"trustpoints\":[") != 0)
		return -1;
	if (!json && c->d->n_tps == 0)
		return ec_buf_printf(c->out, "%% No trustpoint is configured.\n");
	for (size_t i = 0; i < c->d->n_tps; i++)
		if ((json && i > 0 && ec_buf_printf(c->out, ",") != 0) ||
		    client_show_status(c->d->tps[i], c->now, json, c->out) != 0)
			return -1;
	return json ? json_items_end(c) : 0;
}

/* A CA certificate of one of the daemon's servers: the server's listing shows it. */
static bool listed_by_server(void *ctx, X509 *cert)
{
	const daemon_ctx *d = ctx;
	for (size_t i = 0; i < d->n_cas; i++)
		if (ca_holds_cert(d->cas[i], cert))
			return true;
	return false;
}

/* The trustpoints of the daemon that hold a server's CA certificate, after the server's name. */
static int trustpoints_holding(void *ctx, X509 *cert, bool json, ec_buf *out)
{
	const daemon_ctx *d = ctx;
	for (size_t i = 0; i < d->n_tps; i++) {
		if (!client_holds_ca_cert(d->tps[i], cert))
			continue;
		if (json ? ec_buf_printf(out, ",") || ec_json_string(out, client_name(d->tps[i]))
		         : ec_buf_printf(out, " %s", client_name(d->tps[i])))
			return -1;
	}
	return 0;
}

static int show_certificates(cmd *c)
{
	ec_err err = {""};
	bool json = c->show_flags & CA_SHOW_JSON;
	/* One document: {"certificates":[...]}, the trustpoints' items first, then each server's. */
	if (json && ec_buf_printf(c->out, "{\"certificates\":[") != 0)
		return -1;
	size_t start = c->out->len;
	/* Each CA certificate once: a server's own under the server, with the trustpoints that
	 * hold it too. */
	int rc = client_show_all_certificates(c->d->tps, c->d->n_tps, c->now, json, listed_by_server, c->d, c->out);
	for (size_t i = 0; i < c->d->n_cas && rc == 0; i++)
		if ((json && c->out->len > start && ec_buf_printf(c->out, ",") != 0) ||
		    ca_show_certificates_held(c->d->cas[i], c->now, c->show_flags, trustpoints_holding, c->d, c->out,
		                              &err) != 0)
			return fail_err(c, &err);
	if (rc == 0 && json)
		return json_items_end(c);
	if (rc == 0 && c->d->n_cas == 0 && c->d->n_tps == 0)
		rc = ec_buf_printf(c->out, "%% No certificates.\n");
	return rc;
}

/* show ip http server [status]: the listener's limits and who holds its connections. */
static int show_http(cmd *c)
{
	if (c->d->http == NULL)
		return ec_buf_printf(c->out, (c->show_flags & CA_SHOW_JSON) ? "{\"enabled\":false}\n"
		                     : "HTTP server status: Disabled\n");
	http_server_status s;
	http_server_get_status(c->d->http, &s);
	const conn_guard_stats *g = &s.conns;
	if (c->show_flags & CA_SHOW_JSON) {
		const struct { const char *name; unsigned long long value; } f[] = {
			{"port", (unsigned long long)s.port}, {"connections", g->open}, {"addresses", g->addresses},
			{"heaviest", g->heaviest}, {"max_connections", s.capacity}, {"per_address", s.per_source_limit},
			{"busy_from", s.busy_mark}, {"header_timeout", s.header_timeout},
			{"request_timeout", s.request_timeout}, {"idle_timeout", s.idle_timeout},
			{"connection_memory", s.connection_memory}, {"refused_per_address", g->refused_source},
			{"refused_above_share", g->refused_shed}, {"refused_full", g->refused_full},
			{"closed_for_newcomer", g->evicted}, {"closed_header_timeout", g->expired_headers},
			{"closed_request_timeout", g->expired_request}, {"closed_idle", g->expired_idle},
			{"requests_above_share", g->shed_requests},
		};
		int rc = ec_buf_printf(c->out, "{\"enabled\":true");
		for (size_t i = 0; rc == 0 && i < sizeof(f) / sizeof(f[0]); i++)
			rc = ec_buf_printf(c->out, ",\"%s\":%llu", f[i].name, f[i].value);
		return rc == 0 ? ec_buf_printf(c->out, "}\n") : -1;
	}
	return ec_buf_printf(c->out,
	                     "HTTP server status: Enabled\n"
	                     "HTTP server port: %d\n"
	                     "HTTP server current connections: %u (from %u addresses, at most %u from one)\n"
	                     "Maximum number of concurrent server connections allowed: %u\n"
	                     "Maximum connections from one address: %u\n"
	                     "Busy from: %u connections (addresses above their share are then shed)\n"
	                     "Header time-out: %u seconds; request time-out: %u seconds; idle time-out: %u seconds\n"
	                     "Memory per connection for the URL and headers: %zu bytes\n"
	                     "Connections refused: %llu at the per-address cap, %llu above their share, %llu at capacity\n"
	                     "Connections closed: %llu for a lighter address, %llu at the header time-out, "
	                     "%llu at the request time-out, %llu idle\n"
	                     "Requests from addresses above their share: %llu\n",
	                     s.port, g->open, g->addresses, g->heaviest, s.capacity, s.per_source_limit, s.busy_mark,
	                     s.header_timeout, s.request_timeout, s.idle_timeout, s.connection_memory,
	                     (unsigned long long)g->refused_source, (unsigned long long)g->refused_shed,
	                     (unsigned long long)g->refused_full, (unsigned long long)g->evicted,
	                     (unsigned long long)g->expired_headers, (unsigned long long)g->expired_request,
	                     (unsigned long long)g->expired_idle, (unsigned long long)g->shed_requests);
}

static int show_clock_json(cmd *c, const char *iso)
{
	ec_time next = daemon_next_timer(c->d);
	char next_iso[EC_TIME_TEXT_MAX] = "";
	if (next != INT64_MAX)
		ec_time_format_iso(next, next_iso);
	return ec_buf_printf(c->out, "{\"now\":\"%s\",\"now_ms\":%lld,\"simulated\":%s,\"authoritative\":%s,"
	                     "\"next_timer\":%s%s%s,\"next_timer_ms\":%lld}\n", iso, (long long)c->now,
	                     ec_clock_is_simulated(c->d->clock) ? "true" : "false",
	                     ec_clock_is_authoritative(c->d->clock) ? "true" : "false", next_iso[0] ? "\"" : "",
	                     next_iso[0] ? next_iso : "null", next_iso[0] ? "\"" : "",
	                     (long long)(next == INT64_MAX ? -1 : next));
}

static int ca_show_server_at(cmd *c, ca_engine *ca, ec_err *err)
{
	unsigned flags = c->show_flags | (ec_clock_is_authoritative(c->d->clock) ? 0u : CA_SHOW_CLOCK_UNSET);
	return ca_show_server(ca, c->now, flags, c->out, err);
}

/* show crypto key mypubkey rsa: the servers' key pairs, then the trustpoints'; JSON: one document
 * {"keys":[...]}. */
static int show_keys(cmd *c)
{
	ec_err err = {""};
	bool json = c->show_flags & CA_SHOW_JSON;
	if (json && ec_buf_printf(c->out, "{\"keys\":[") != 0)
		return -1;
	size_t start = c->out->len;
	for (size_t i = 0; i < c->d->n_cas; i++)
		if ((json && c->out->len > start && ec_buf_printf(c->out, ",") != 0) ||
		    ca_show_mypubkey(c->d->cas[i], c->show_flags, c->out, &err) != 0)
			return fail_err(c, &err);
	if (client_show_all_keys(c->d->tps, c->d->n_tps, json, c->out->len == start, c->out) != 0)
		return -1;
	return json ? json_items_end(c) : 0;
}

/* A show of each certificate server; JSON: one document {"KEY":[...]} of their items. */
static int show_each_server(cmd *c, const char *key, int (*each)(cmd *c, ca_engine *ca, ec_err *err))
{
	ec_err err = {""};
	bool json = c->show_flags & CA_SHOW_JSON;
	if (json && ec_buf_printf(c->out, "{\"%s\":[", key) != 0)
		return -1;
	size_t start = c->out->len;
	for (size_t i = 0; i < c->d->n_cas; i++) {
		if (json && c->out->len > start && ec_buf_printf(c->out, ",") != 0)
			return -1;
		if (each(c, c->d->cas[i], &err) != 0)
			return fail_err(c, &err);
	}
	return json ? json_items_end(c) : 0;
}

static int show(cmd *c)
{
	if (at(c, 1, "clock", 2)) {
		char iso[EC_TIME_TEXT_MAX];
		ec_time_format_iso(c->now, iso);
		if (c->show_flags & CA_SHOW_JSON)
			return show_clock_json(c, iso);
		return ec_buf_printf(c->out, "%s (%s, %s)\n", iso, ec_clock_is_simulated(c->d->clock) ? "simulated" : "system",
		                     ec_clock_is_authoritative(c->d->clock) ? "authoritative" : "not authoritative");
	}
	if (at(c, 1, "crypto", 2) && at(c, 2, "key", 2) && at(c, 3, "mypubkey", 2))
		return show_keys(c);
	if (at(c, 1, "ip", 2) && at(c, 2, "http", 2) && at(c, 3, "server", 2) && (c->n == 4 || at(c, 4, "status", 2)))
		return show_http(c);
	if (at(c, 1, "timeline", 2))
		return timeline_command(c->d, c->now, c->w + 2, c->n - 2, c->out);
	if (!at(c, 1, "crypto", 2) || !at(c, 2, "pki", 3))
		return fail(c, "unknown show command; try: show crypto pki server|certificates|timers");
	if (at(c, 3, "timers", 2))
		return show_timers(c);
	if (at(c, 3, "trustpoints", 2))
		return show_trustpoints(c);
	if (at(c, 3, "certificates", 2))
		return show_certificates(c);
	if (!at(c, 3, "server", 2))
		return fail(c, "unknown show command; try: show crypto pki server|certificates|timers|trustpoints");
	if (c->d->n_cas == 0 && !(c->show_flags & CA_SHOW_JSON))
		return ec_buf_printf(c->out, "%% No certificate server is configured.\n");
	return show_each_server(c, "servers", ca_show_server_at);
}

static int server_password(cmd *c, ca_engine *ca, int i, ec_err *err)
{
	long minutes = 60;
	if (i + 2 < c->n) {
		char *end = NULL;
		errno = 0;
		minutes = strtol(c->w[i + 2], &end, 10);
		if (errno != 0 || end == c->w[i + 2] || *end != '\0')
			return fail(c, "bad number of minutes '%s'", c->w[i + 2]);
	}
	return ca_cmd_password_generate(ca, (int)(minutes > 100000 ? 100000 : minutes), c->now, c->out, err);
}

/* server NAME <verb> ... ; i is the index of the verb. */
static int server_verb(cmd *c, ca_engine *ca, int i)
{
	ec_err err = {""};
	int64_t id;
	int rc;
	const char *arg = i + 1 < c->n ? c->w[i + 1] : NULL;
	if (at(c, i, "info", 2) && at(c, i + 1, "requests", 3) && (c->show_flags & CA_SHOW_JSON))
		rc = ca_cmd_info_requests_json(ca, c->out, &err) || ec_buf_printf(c->out, "\n");
	else if (at(c, i, "info", 2) && at(c, i + 1, "requests", 3))
		rc = ca_cmd_info_requests(ca, c->now, c->out, &err);
	else if ((at(c, i, "grant", 2) || at(c, i, "reject", 3)) && arg != NULL) {
		if (parse_id(arg, &id) != 0)
			return fail(c, "expected 'all' or a request number, not '%s'", arg);
		rc = at(c, i, "grant", 2) ? ca_cmd_grant(ca, id, c->now, c->out, &err)
		                          : ca_cmd_reject(ca, id, c->now, c->out, &err);
	} else if ((at(c, i, "revoke", 3) || at(c, i, "unrevoke", 3)) && arg != NULL)
		rc = ca_cmd_revoke(ca, arg, at(c, i, "revoke", 3), c->now, c->out, &err);
	else if (at(c, i, "password", 2) && at(c, i + 1, "generate", 1))
		rc = server_password(c, ca, i, &err);
	else if (at(c, i, "rollover", 2) && at(c, i + 1, "cancel", 1))
		rc = ca_cmd_rollover_cancel(ca, c->yes, c->now, c->out, &err);
	else if (at(c, i, "rollover", 2) && arg == NULL)
		rc = ca_cmd_rollover(ca, c->now, c->out, &err);
	else if (at(c, i, "shutdown", 2) && arg == NULL)
		rc = ca_cmd_shutdown(ca, true, c->out, &err);
	else if (at(c, i, "no", 2) && at(c, i + 1, "shutdown", 2))
		rc = ca_cmd_shutdown(ca, false, c->out, &err);
	else
		return fail(c, "unknown server command; try: info requests, grant all|ID, reject all|ID, "
		            "revoke SERIAL, unrevoke SERIAL, password generate [MINUTES], rollover [cancel], "
		            "shutdown, no shutdown");
	if (rc == 0 && at(c, i, "rollover", 2) && at(c, i + 1, "cancel", 1) && !c->yes)
		return opproto_ask_confirm(c->out, "Delete the rollover CA certificate and key?") == 0 ? 0 : -1;
	if (rc == 0)
		dlog(c->d, "operator: server %s %s%s%s", ca_name(ca), c->w[i], arg ? " " : "", arg ? arg : "");
	return rc == 0 ? 0 : fail_err(c, &err);
}

static int server(cmd *c, int i)
{
	if (i + 1 >= c->n)
		return fail(c, "usage: server NAME <command>");
	ca_engine *ca = find_ca(c->d, c->w[i]);
	if (ca == NULL)
		return fail(c, "no certificate server named '%s'", c->w[i]);
	return server_verb(c, ca, i + 1);
}

static tp_runtime *find_tp(daemon_ctx *d, const char *name)
{
	for (size_t i = 0; i < d->n_tps; i++)
		if (strcmp(client_name(d->tps[i]), name) == 0)
			return d->tps[i];
	return NULL;
}

/* Waits for the trustpoint's own work (an exchange in flight) to end, then works on it at the
 * time reached meanwhile. */
static int claim(cmd *c, const tp_runtime *tp)
{
	if (daemon_claim_trustpoint(c->d, tp) != 0)
		return fail(c, "trustpoint %s is busy and cannot be waited for now (or the daemon is stopping); "
		            "try again", client_name(tp));
	c->now = ec_clock_now(c->d->clock);
	return 0;
}

/* authenticate TP | enroll TP */
static int trustpoint_cmd(cmd *c, bool enroll)
{
	if (c->n != 2)
		return fail(c, "usage: %s TRUSTPOINT", enroll ? "enroll" : "authenticate");
	tp_runtime *tp = find_tp(c->d, c->w[1]);
	if (tp == NULL)
		return fail(c, "no trustpoint named '%s'", c->w[1]);
	ec_err err = {""};
	if (claim(c, tp) != 0)
		return -1;
	int rc = enroll ? client_cmd_enroll(tp, c->yes, c->now, c->out, &err)
	                : client_cmd_authenticate(tp, c->yes, c->now, c->out, &err);
	daemon_release_trustpoint(c->d, tp);
	if (rc != 0)
		return fail_err(c, &err);
	dlog(c->d, "operator: %s %s", enroll ? "enroll" : "authenticate", c->w[1]);
	return 0;
}

/* crypto pki crl request TP: the trustpoint fetches its CA's CRL now. */
static int crl_request(cmd *c, int i)
{
	if (c->n != i + 1)
		return fail(c, "usage: crypto pki crl request TRUSTPOINT");
	tp_runtime *tp = find_tp(c->d, c->w[i]);
	if (tp == NULL)
		return fail(c, "no trustpoint named '%s'", c->w[i]);
	ec_err err = {""};
	dlog(c->d, "operator: crypto pki crl request %s", c->w[i]);
	if (claim(c, tp) != 0)
		return -1;
	int rc = client_cmd_crl_request(tp, c->now, c->out, &err);
	daemon_release_trustpoint(c->d, tp);
	return rc != 0 ? fail_err(c, &err) : 0;
}

static int clock_cmd(cmd *c)
{
	ec_err err = {""};
	ec_time delta, target;
	if (at(c, 1, "advance-to", 8) && c->n == 3) {
		if (ec_time_parse_iso(c->w[2], &target) != 0)
			return fail(c, "bad time '%s' (example: 2017-07-10T13:14:16Z)", c->w[2]);
	} else if (at(c, 1, "advance", 2) && c->n == 3) {
		if (ec_duration_parse(c->w[2], &delta) != 0)
			return fail(c, "bad duration '%s' (examples: 90d, 1d2h3m, 5m42.946s, 639d23:54:18)", c->w[2]);
		target = ec_clock_now(c->d->clock) + delta;
	} else {
		return fail(c, "usage: clock advance DURATION (e.g. 90d, 5m42.946s, 639d23:54:18) | "
		            "clock advance-to TIME (e.g. 2017-07-10T13:14:16Z)");
	}
	if (daemon_clock_advance(c->d, target, c->out, &err) != 0)
		return fail_err(c, &err);
	return 0;
}

/* backup DIR: the CLI sends DIR as an absolute path (the daemon's working directory is not the
 * operator's). */
static int backup_cmd(cmd *c)
{
	if (c->n != 2)
		return fail(c, "usage: backup DIRECTORY");
	ec_err err = {""};
	dlog(c->d, "operator: backup %s", c->w[1]);
	if (daemon_backup(c->d, c->w[1], c->out, &err) != 0) {
		dlog(c->d, "%s", err.msg);
		return fail_err(c, &err);
	}
	dlog(c->d, "backup written to %s", c->w[1]);
	return 0;
}

bool command_read_only(int argc, char **argv)
{
	cmd c = {.n = 0};
	for (int i = 0; i < argc && c.n < CMD_WORDS_MAX; i++)
		if (argv[i][0] != '-')
			c.w[c.n++] = argv[i];
	ec_err err;
	if (c.n == 0 || cmd_expand((const char **)c.w, (size_t)c.n, &err) != 0)
		return false;
	if (kw(c.w[0], "show", 2) || kw(c.w[0], "ping", 4))
		return true;
	/* [crypto pki] server NAME info requests */
	int i = kw(c.w[0], "crypto", 2) && at(&c, 1, "pki", 3) ? 2 : 0;
	return at(&c, i, "server", 2) && at(&c, i + 2, "info", 2);
}

int command_run(daemon_ctx *d, int argc, char **argv, ec_buf *out)
{
	cmd c = {.d = d, .out = out, .now = ec_clock_now(d->clock)};
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			c.show_flags |= CA_SHOW_JSON;
		else if (strcmp(argv[i], "--md5") == 0)
			c.show_flags |= CA_SHOW_MD5;
		else if (strcmp(argv[i], "--yes") == 0 || strcmp(argv[i], "-y") == 0)
			c.yes = true;
		else if (c.n < CMD_WORDS_MAX)
			c.w[c.n++] = argv[i];
	}
	if (c.n == 0)
		return fail(&c, "empty command");
	/* The keywords put in the words' place are static text, only ever read. */
	ec_err err;
	if (cmd_expand((const char **)c.w, (size_t)c.n, &err) != 0)
		return fail(&c, "%s", err.msg);
	if (kw(c.w[0], "ping", 4) && (c.show_flags & CA_SHOW_JSON))
		return ec_buf_printf(out, "{\"running\":true,\"version\":\"%s\"}\n", EVERCERT_VERSION) == 0 ? 0 : -1;
	if (kw(c.w[0], "ping", 4))
		return ec_buf_printf(out, "evercertd %s running\n", EVERCERT_VERSION) == 0 ? 0 : -1;
	if (kw(c.w[0], "show", 2))
		return show(&c);
	if (kw(c.w[0], "clock", 2))
		return clock_cmd(&c);
	if (kw(c.w[0], "reload", 6) && c.n == 1)
		return daemon_reload(d, "evercert reload", out) == 0 ? 0 : -1;
	if (kw(c.w[0], "backup", 6))
		return backup_cmd(&c);
	/* The router's long form of the trustpoint commands: crypto pki authenticate|enroll TP. */
	if (c.n >= 3 && kw(c.w[0], "crypto", 2) && at(&c, 1, "pki", 3) &&
	    (at(&c, 2, "authenticate", 4) || at(&c, 2, "enroll", 3))) {
		memmove(c.w, c.w + 2, (size_t)(c.n - 2) * sizeof(c.w[0]));
		c.n -= 2;
	}
	if (kw(c.w[0], "authenticate", 4))
		return trustpoint_cmd(&c, false);
	if (kw(c.w[0], "enroll", 3))
		return trustpoint_cmd(&c, true);
	if (kw(c.w[0], "crypto", 2) && at(&c, 1, "pki", 3) && at(&c, 2, "server", 2))
		return server(&c, 3);
	if (kw(c.w[0], "crypto", 2) && at(&c, 1, "pki", 3) && at(&c, 2, "crl", 3) && at(&c, 3, "request", 3))
		return crl_request(&c, 4);
	if (kw(c.w[0], "server", 2))
		return server(&c, 1);
	return fail(&c, "unknown command '%s' (see evercert --help)", c.w[0]);
}
