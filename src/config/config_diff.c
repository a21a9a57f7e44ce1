/* The reload's comparison of the running configuration with the one read (config_diff.h). */
#include "config/config_diff.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A setting of a block: where it is in the model and how it compares. */
typedef struct field {
	const char *name;        /* as the configuration writes it */
	size_t off, size;
	bool text;               /* a NUL-terminated string (compared as such), else compared bytewise */
	bool live;               /* applies while the daemon runs */
} field;

#define SF(name, member, text, live) \
	{name, offsetof(cfg_server, member), sizeof(((cfg_server *)0)->member), text, live}
#define TF(name, member, text) \
	{name, offsetof(cfg_trustpoint, member), sizeof(((cfg_trustpoint *)0)->member), text, true}

/* grant and grant trustpoints are compared apart, to say what they were and become. */
static const field server_fields[] = {
	SF("grant auto rollover ca-cert", grant_auto_rollover_ca, false, true),
	SF("grant renewal-grace", renewal_grace, false, true),
	SF("lifetime certificate", lifetime_certificate, false, true),
	SF("lifetime enrollment-request", lifetime_enrollment_request, false, true),
	SF("hash", hash, false, true),
	SF("cdp-url", cdp_url, true, true),
	SF("encryption des", encryption_des, false, true),
	SF("shutdown", shutdown, false, true),
	SF("issuance rsa-modulus", issuance_rsa_min_bits, false, true),
	SF("issuance rsa-modulus", issuance_rsa_max_bits, false, true),
	SF("issuance subject-alt-name uri", issuance_allow_uri, false, true),
	/* What the CA generations, the store and the files were made from. */
	SF("issuer-name", issuer_name, true, false),
	SF("database level", database_level, false, false),
	SF("database url", database_path, true, false),
	SF("database url", database_store_url, true, false),
	SF("database archive", archive_set, false, false),
	SF("database archive", archive_format, false, false),
	SF("database archive", archive_password, true, false),
	SF("auto-rollover", auto_rollover, false, false),
	SF("auto-rollover", auto_rollover_period, false, false),
	SF("lifetime ca-certificate", lifetime_ca_certificate, false, false),
	SF("mode", mode, false, false),
	SF("mode", parent_url, true, false),
};

static const field trustpoint_fields[] = {
	TF("enrollment url", enrollment_url, true),        TF("subject-name", subject_name, true),
	TF("serial-number", serial_number, false),         TF("ip-address", ip_address, true),
	TF("ip-address", ip_interface, true),               TF("fqdn", fqdn, true),
	TF("password", password, true),                     TF("rsakeypair", rsakeypair, true),
	TF("rsakeypair", rsakeypair_bits, false),           TF("auto-enroll", auto_enroll, false),
	TF("auto-enroll", auto_enroll_percent, false),      TF("auto-enroll", auto_enroll_regenerate, false),
	TF("enrollment retry count", retry_count, false),   TF("enrollment retry period", retry_period_minutes, false),
	TF("revocation-check", revocation_check, false),    TF("revocation-check", revocation_check_set, false),
	TF("fingerprint", fingerprint, true),               TF("output certificate", certificate_file, true),
	TF("output key", key_file, true),                   TF("output chain", chain_file, true),
	TF("output ca-bundle", ca_bundle_file, true),       TF("output post-install", post_install, true),
	TF("output post-install-timeout", post_install_timeout_seconds, false),
	TF("hash/encryption", algorithms, false),
};

static void add(cfg_diff *d, bool refused, const char *fmt, ...) EC_PRINTF(3, 4);

static void add(cfg_diff *d, bool refused, const char *fmt, ...)
{
	if (refused)
		d->n_refused++;
	if (d->n_changes >= CFG_DIFF_MAX)
		return;
	cfg_change *c = &d->changes[d->n_changes++];
	c->refused = refused;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->text, sizeof(c->text), fmt, ap);
	va_end(ap);
	if (d->n_changes == CFG_DIFF_MAX)
		snprintf(c->text, sizeof(c->text), "... and more changes");
}

static bool field_differs(const field *f, const void *a, const void *b)
{
	const char *pa = (const char *)a + f->off, *pb = (const char *)b + f->off;
	return f->text ? strncmp(pa, pb, f->size) != 0 : memcmp(pa, pb, f->size) != 0;
}

static const char *grant_name(const cfg_server *s, char *buf, size_t sz)
{
	switch (s->grant) {
	case CFG_GRANT_AUTO: return "auto";
	case CFG_GRANT_NONE: return "none";
	case CFG_GRANT_AUTO_TRUSTPOINT: break;
	default: return "manual";
	}
	size_t used = (size_t)snprintf(buf, sz, "auto trustpoint");
	for (size_t i = 0; i < s->n_grant_trustpoints && used < sz; i++)
		used += (size_t)snprintf(buf + used, sz - used, " %s", s->grant_trustpoints[i]);
	return buf;
}

static bool grant_differs(const cfg_server *a, const cfg_server *b)
{
	if (a->grant != b->grant || a->n_grant_trustpoints != b->n_grant_trustpoints)
		return true;
	for (size_t i = 0; i < a->n_grant_trustpoints; i++)
		if (strcmp(a->grant_trustpoints[i], b->grant_trustpoints[i]) != 0)
			return true;
	return false;
}

/* The rollover key's size defaults to the CA key's, as the daemon opens the server. */
static void key_sizes(cfg_diff *d, const cfg_config *ra, const cfg_config *rb, const char *name)
{
	char rollover[CFG_NAME_MAX + 2];
	snprintf(rollover, sizeof(rollover), "%s#", name);
	int a = cfg_key_bits(ra, name, CFG_RSA_BITS_DEFAULT), b = cfg_key_bits(rb, name, CFG_RSA_BITS_DEFAULT);
	int ra_bits = cfg_key_bits(ra, rollover, a), rb_bits = cfg_key_bits(rb, rollover, b);
	if (a != b)
		add(d, true, "certificate server %s: key size (crypto key generate rsa label %s): %d -> %d bits "
		    "cannot change while the daemon runs", name, name, a, b);
	if (ra_bits != rb_bits)
		add(d, true, "certificate server %s: rollover key size (label %s): %d -> %d bits cannot change while "
		    "the daemon runs", name, rollover, ra_bits, rb_bits);
}

/* One server present in both. */
static void server_diff(cfg_diff *d, size_t i, const cfg_config *ra, const cfg_config *rb, const cfg_server *b)
{
	const cfg_server *a = &ra->servers[i];
	char wa[CFG_CHANGE_TEXT_MAX / 2], wb[CFG_CHANGE_TEXT_MAX / 2];
	if (grant_differs(a, b)) {
		add(d, false, "certificate server %s: grant: %s -> %s", a->name, grant_name(a, wa, sizeof(wa)),
		    grant_name(b, wb, sizeof(wb)));
		d->server_changed[i] = true;
	}
	if (a->lifetime_crl != b->lifetime_crl) {
		ec_time_format_countdown(a->lifetime_crl, wa);
		ec_time_format_countdown(b->lifetime_crl, wb);
		add(d, false, "certificate server %s: lifetime crl: %s -> %s", a->name, wa, wb);
		d->server_changed[i] = true;
	}
	for (size_t k = 0; k < COUNT(server_fields); k++) {
		const field *f = &server_fields[k];
		/* One report per line: the fields a line sets follow one another. */
		if (!field_differs(f, a, b) || (k > 0 && strcmp(server_fields[k - 1].name, f->name) == 0 &&
		                                field_differs(&server_fields[k - 1], a, b)))
			continue;
		if (f->live) {
			add(d, false, "certificate server %s: %s changed", a->name, f->name);
			d->server_changed[i] = true;
		} else {
			add(d, true, "certificate server %s: %s cannot change while the daemon runs", a->name, f->name);
		}
	}
	key_sizes(d, ra, rb, a->name);
}

static void servers_diff(cfg_diff *d, const cfg_config *a, const cfg_config *b)
{
	for (size_t i = 0; i < a->n_servers; i++) {
		const cfg_server *s = cfg_find_server(b, a->servers[i].name);
		if (s == NULL)
			add(d, true, "certificate server %s removed: a certificate server cannot be removed while the "
			    "daemon runs", a->servers[i].name);
		else
			server_diff(d, i, a, b, s);
	}
	for (size_t i = 0; i < b->n_servers; i++)
		if (cfg_find_server(a, b->servers[i].name) == NULL)
			add(d, true, "certificate server %s added: a certificate server cannot be added while the daemon "
			    "runs", b->servers[i].name);
}

static bool alt_names_differ(const cfg_trustpoint *a, const cfg_trustpoint *b)
{
	if (a->n_alt_names != b->n_alt_names)
		return true;
	for (size_t i = 0; i < a->n_alt_names; i++)
		if (a->alt_names[i].type != b->alt_names[i].type || strcmp(a->alt_names[i].value, b->alt_names[i].value) != 0)
			return true;
	return false;
}

/* The first line that differs ("" when none): the revocation check in force counts, which the
 * servers' grant lines may change. */
static const char *trustpoint_change(const cfg_config *ra, const cfg_trustpoint *a, const cfg_config *rb,
                                     const cfg_trustpoint *b)
{
	for (size_t k = 0; k < COUNT(trustpoint_fields); k++)
		if (field_differs(&trustpoint_fields[k], a, b))
			return trustpoint_fields[k].name;
	if (alt_names_differ(a, b))
		return "subject-alt-name";
	if (cfg_trustpoint_revocation(ra, a) != cfg_trustpoint_revocation(rb, b))
		return "revocation check in force (a grant auto trustpoint line)";
	return "";
}

static void trustpoints_diff(cfg_diff *d, const cfg_config *a, const cfg_config *b)
{
	for (size_t i = 0; i < a->n_trustpoints; i++) {
		const cfg_trustpoint *old = &a->trustpoints[i], *tp = cfg_find_trustpoint(b, old->name);
		const char *what = tp != NULL ? trustpoint_change(a, old, b, tp) : NULL;
		if (tp != NULL && what[0] == '\0')
			continue;
		d->tp_removed[d->n_tp_removed++] = i;
		if (tp == NULL) {
			add(d, false, "trustpoint %s removed", old->name);
			continue;
		}
		add(d, false, "trustpoint %s changed (%s): opened again with its new lines", old->name, what);
		d->tp_added[d->n_tp_added++] = (size_t)(tp - b->trustpoints);
	}
	for (size_t i = 0; i < b->n_trustpoints; i++)
		if (cfg_find_trustpoint(a, b->trustpoints[i].name) == NULL) {
			add(d, false, "trustpoint %s added", b->trustpoints[i].name);
			d->tp_added[d->n_tp_added++] = i;
		}
}

static void logging_diff(cfg_diff *d, const cfg_logging *a, const cfg_logging *b)
{
	if (a->set == b->set && a->console == b->console && a->file == b->file && a->syslog == b->syslog &&
	    strcmp(a->file_path, b->file_path) == 0)
		return;
	d->logging_changed = true;
	add(d, false, "logging: console %s, file %s%s%s, syslog %s", cfg_log_level_name(b->console),
	    cfg_log_level_name(b->file), b->file_path[0] ? " " : "", b->file_path, cfg_log_level_name(b->syslog));
}

static void global_diff(cfg_diff *d, const cfg_config *a, const cfg_config *b)
{
	if (a->http_server != b->http_server || a->http_port != b->http_port || strcmp(a->http_bind, b->http_bind) != 0)
		add(d, true, "ip http server/port/bind: the listener's address cannot change while the daemon runs");
	if (a->metrics != b->metrics || a->metrics_port != b->metrics_port || strcmp(a->metrics_bind, b->metrics_bind) != 0)
		add(d, true, "ip http metrics: the metrics listener's address cannot change while the daemon runs");
	if (a->http_max_connections != b->http_max_connections) {
		add(d, false, "ip http max-connections: %d -> %d", a->http_max_connections, b->http_max_connections);
		d->http_limits_changed = true;
	}
	/* The display zone is read wherever a time is shown: it is set once, at start. */
	if (a->calendar_valid != b->calendar_valid || a->clock_simulated != b->clock_simulated ||
	    a->clock_simulate_start != b->clock_simulate_start || a->clock_simulate_rate != b->clock_simulate_rate ||
	    strcmp(a->timezone_name, b->timezone_name) != 0 || a->timezone_offset_minutes != b->timezone_offset_minutes)
		add(d, true, "clock: the daemon's clock and time zone cannot change while it runs");
	if (strcmp(a->hostname, b->hostname) != 0)
		add(d, true, "hostname cannot change while the daemon runs (the trustpoints' names derive from it)");
}

void cfg_diff_compute(const cfg_config *running, const cfg_config *read, cfg_diff *out)
{
	memset(out, 0, sizeof(*out));
	global_diff(out, running, read);
	logging_diff(out, &running->logging, &read->logging);
	servers_diff(out, running, read);
	trustpoints_diff(out, running, read);
}
