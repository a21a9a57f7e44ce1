/* The Prometheus endpoint (metrics.h): the trustpoints' published copy, the SCEP latency
 * histogram, and the page. */
#include "daemon/metrics.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_PATH "/metrics"
#define METRICS_PAGE_MAX (4 * 1024 * 1024)
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The SCEP operations the latency histogram tells apart; anything else (files, /health) is
 * "other". */
static const char *const OPERATIONS[] = {"GetCACaps", "GetCACert", "GetNextCACert", "PKIOperation",
                                         "GetCRL", "GetCARolloverChain", "other"};
#define N_OPERATIONS (sizeof(OPERATIONS) / sizeof(OPERATIONS[0]))
/* Bucket bounds in milliseconds (printed in seconds); a PKIOperation signs with the CA key. */
static const int64_t BUCKETS_MS[] = {5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};
#define N_BUCKETS (sizeof(BUCKETS_MS) / sizeof(BUCKETS_MS[0]))

typedef struct tp_copy {
	char name[CFG_NAME_MAX];
	client_metrics m;
} tp_copy;

struct daemon_metrics {
	daemon_ctx *d;
	http_server *http;
	pthread_mutex_t lock;               /* guards what follows, down to the histogram */
	tp_copy tps[CFG_MAX_TRUSTPOINTS];
	size_t n_tps;
	ec_time now;                        /* the daemon's clock at the last publication */
	/* Per operation: requests in each bucket (not cumulative; the last is +Inf), and the sum. */
	atomic_uint_fast64_t buckets[N_OPERATIONS][N_BUCKETS + 1];
	atomic_uint_fast64_t sum_ms[N_OPERATIONS];
};

void daemon_metrics_publish(daemon_ctx *d)
{
	daemon_metrics *m = d->metrics;
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	m->n_tps = 0;
	for (size_t i = 0; i < d->n_tps && i < CFG_MAX_TRUSTPOINTS; i++) {
		tp_copy *c = &m->tps[m->n_tps++];
		snprintf(c->name, sizeof(c->name), "%s", client_name(d->tps[i]));
		client_metrics_read(d->tps[i], &c->m);
	}
	m->now = ec_clock_now(d->clock);
	pthread_mutex_unlock(&m->lock);
}

static size_t operation_index(const char *operation)
{
	for (size_t i = 0; operation != NULL && i + 1 < N_OPERATIONS; i++)
		if (strcmp(operation, OPERATIONS[i]) == 0)
			return i;
	return N_OPERATIONS - 1;
}

void daemon_metrics_scep_handle(void *ctx, const http_request *req, http_response *resp)
{
	daemon_ctx *d = ctx;
	int64_t start = ec_elapsed_ms();
	scep_router_handle(&d->router, req, resp);
	int64_t ms = ec_elapsed_ms() - start;
	daemon_metrics *m = d->metrics;
	if (m == NULL)
		return;
	size_t op = operation_index(req->operation), b = 0;
	while (b < N_BUCKETS && ms > BUCKETS_MS[b])
		b++;
	atomic_fetch_add(&m->buckets[op][b], 1);
	atomic_fetch_add(&m->sum_ms[op], (uint_fast64_t)(ms < 0 ? 0 : ms));
}

/* ---- the page ---- */

static int family(ec_buf *out, const char *name, const char *type, const char *help)
{
	return ec_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value, escaped as the exposition format wants (backslash, quote, line feed). */
static int label_value(ec_buf *out, const char *v)
{
	int rc = 0;
	for (; *v && rc == 0; v++)
		rc = *v == '\\' ? ec_buf_printf(out, "\\\\") : *v == '"' ? ec_buf_printf(out, "\\\"")
		     : *v == '\n' ? ec_buf_printf(out, "\\n") : ec_buf_append(out, v, 1);
	return rc;
}

/* name{key="value"[,...]} — labels given as pairs, NULL-terminated. */
static int sample_start(ec_buf *out, const char *name, const char *const *labels)
{
	int rc = ec_buf_printf(out, "%s", name);
	for (size_t i = 0; labels[i] != NULL && rc == 0; i += 2)
		rc = ec_buf_printf(out, "%s%s=\"", i == 0 ? "{" : ",", labels[i]) || label_value(out, labels[i + 1]) ||
		     ec_buf_printf(out, "\"");
	return rc || (labels[0] != NULL && ec_buf_printf(out, "}")) ? -1 : 0;
}

static int sample_int(ec_buf *out, const char *name, const char *const *labels, long long v)
{
	return sample_start(out, name, labels) || ec_buf_printf(out, " %lld\n", v) ? -1 : 0;
}

/* An instant in seconds since the epoch, to the millisecond; nothing when there is none. */
static int sample_time(ec_buf *out, const char *name, const char *const *labels, ec_time t)
{
	if (t == INT64_MAX || t <= 0)
		return 0;
	return sample_start(out, name, labels) ||
	       ec_buf_printf(out, " %lld.%03lld\n", (long long)(t / 1000), (long long)(t % 1000)) ? -1 : 0;
}

/* The certificate servers as they are now; n is the count. */
typedef struct ca_view {
	const char *name;
	ca_metrics m;
	bool ok;                            /* the store answered (pending is known) */
} ca_view;

static int ca_generations(ec_buf *out, const ca_view *v, size_t n)
{
	static const char *const names[2] = {"evercert_ca_certificate_not_before_timestamp_seconds",
	                                     "evercert_ca_certificate_not_after_timestamp_seconds"};
	int rc = 0;
	for (int k = 0; k < 2 && rc == 0; k++) {
		rc = family(out, names[k], "gauge", k == 0 ? "Start of each CA generation's certificate."
		            : "End of each CA generation's certificate (active, rollover, retired).");
		for (size_t i = 0; i < n && rc == 0; i++)
			for (size_t g = 0; g < v[i].m.n_gens && rc == 0; g++) {
				const ca_metrics_gen *gen = &v[i].m.gens[g];
				char number[16];
				snprintf(number, sizeof(number), "%d", gen->generation);
				const char *labels[] = {"server", v[i].name, "generation", number, "role", gen->role,
				                        "serial_hex", gen->serial_hex, NULL};
				rc = sample_time(out, names[k], labels, k == 0 ? gen->not_before : gen->not_after);
			}
	}
	return rc;
}

/* One value per server: a gauge or a time. */
enum ca_field { CA_ENABLED, CA_ROLLOVER, CA_CRL_NEXT, CA_PENDING };

static long long ca_value(const ca_view *v, enum ca_field f)
{
	switch (f) {
	case CA_ENABLED: return v->m.enabled;
	case CA_ROLLOVER: return v->m.rollover;
	case CA_CRL_NEXT: return v->m.crl_next_update;
	default: return v->m.pending;
	}
}

static int ca_scalars(ec_buf *out, const ca_view *v, size_t n)
{
	static const struct { const char *name, *help; enum ca_field field; bool time; } f[] = {
		{"evercert_ca_enabled", "1 while the server accepts requests (not shut down).", CA_ENABLED, false},
		{"evercert_ca_rollover_available", "1 while a rollover CA certificate exists (GetNextCACert hands it out).",
		 CA_ROLLOVER, false},
		{"evercert_ca_crl_next_update_timestamp_seconds", "nextUpdate of the current CRL.", CA_CRL_NEXT, true},
		{"evercert_ca_pending_requests", "Enrollment requests waiting for the operator.", CA_PENDING, false},
	};
	int rc = 0;
	for (size_t k = 0; k < sizeof(f) / sizeof(f[0]) && rc == 0; k++) {
		rc = family(out, f[k].name, "gauge", f[k].help);
		for (size_t i = 0; i < n && rc == 0; i++) {
			const char *labels[] = {"server", v[i].name, NULL};
			if (f[k].field == CA_PENDING && !v[i].ok)
				continue;
			rc = f[k].time ? sample_time(out, f[k].name, labels, ca_value(&v[i], f[k].field))
			               : sample_int(out, f[k].name, labels, ca_value(&v[i], f[k].field));
		}
	}
	return rc;
}

/* The next time each kind of CA event is due. */
static int ca_events(ec_buf *out, const ca_view *v, size_t n)
{
	static const char name[] = "evercert_ca_next_event_timestamp_seconds";
	int rc = family(out, name, "gauge", "When each CA event is next due: crl_update, shadow_generation "
	                "(the rollover CA certificate is made), certificate_expire (the active one ends).");
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct { const char *event; ec_time at; } e[] = {
			{"crl_update", v[i].m.crl_next_update}, {"shadow_generation", v[i].m.shadow_generation},
			{"certificate_expire", v[i].m.cert_expire}};
		for (size_t k = 0; k < 3 && rc == 0; k++) {
			const char *labels[] = {"server", v[i].name, "event", e[k].event, NULL};
			rc = sample_time(out, name, labels, e[k].at);
		}
	}
	return rc;
}

static int ca_enrollments(ec_buf *out, const ca_view *v, size_t n)
{
	static const char name[] = "evercert_ca_enrollments_total";
	int rc = family(out, name, "counter", "Answers to enrollment messages (PKCSReq, RenewalReq, CertPoll) since "
	                "the start, by outcome: success, pending, failure, unavailable (the store was away).");
	for (size_t i = 0; i < n && rc == 0; i++)
		for (int o = 0; o < CA_OUTCOME_COUNT && rc == 0; o++) {
			const char *labels[] = {"server", v[i].name, "outcome", ca_outcome_name(o), NULL};
			rc = sample_int(out, name, labels, (long long)v[i].m.enrollments[o]);
		}
	return rc;
}

/* The store's work on the disk, where the backend counts it (SQLite). */
static int ca_store(ec_buf *out, const ca_view *v, size_t n)
{
	static const struct { const char *name, *help; } f[] = {
		{"evercert_store_commits_total", "Transactions the server's store committed since the start."},
		{"evercert_store_fdatasyncs_total", "Syncs of the store's files to the disk (fdatasync or fsync) since "
		 "the start; fewer than commits when group commit gathers concurrent issuances."},
		{"evercert_store_wal_bytes_total", "Bytes the store wrote to its write-ahead log since the start."},
	};
	int rc = 0;
	for (size_t k = 0; k < sizeof(f) / sizeof(f[0]) && rc == 0; k++) {
		rc = family(out, f[k].name, "counter", f[k].help);
		for (size_t i = 0; i < n && rc == 0; i++) {
			const char *labels[] = {"server", v[i].name, NULL};
			const uint64_t values[] = {v[i].m.store_commits, v[i].m.store_fdatasyncs, v[i].m.store_wal_bytes};
			if (v[i].m.store_counted)
				rc = sample_int(out, f[k].name, labels, (long long)values[k]);
		}
	}
	return rc;
}

static int histogram(ec_buf *out, daemon_metrics *m)
{
	static const char name[] = "evercert_scep_request_duration_seconds";
	int rc = family(out, name, "histogram", "Time to answer a request on the SCEP listener, by operation.");
	for (size_t op = 0; op < N_OPERATIONS && rc == 0; op++) {
		unsigned long long count = 0;
		for (size_t b = 0; b <= N_BUCKETS && rc == 0; b++) {
			char le[32];
			count += atomic_load(&m->buckets[op][b]);
			if (b < N_BUCKETS)
				snprintf(le, sizeof(le), "%g", (double)BUCKETS_MS[b] / 1000.0);
			else
				snprintf(le, sizeof(le), "+Inf");
			const char *labels[] = {"operation", OPERATIONS[op], "le", le, NULL};
			rc = sample_int(out, "evercert_scep_request_duration_seconds_bucket", labels, (long long)count);
		}
		const char *labels[] = {"operation", OPERATIONS[op], NULL};
		unsigned long long sum = atomic_load(&m->sum_ms[op]);
		rc = rc || sample_start(out, "evercert_scep_request_duration_seconds_sum", labels) ||
		     ec_buf_printf(out, " %llu.%03llu\n", sum / 1000, sum % 1000) ||
		     sample_int(out, "evercert_scep_request_duration_seconds_count", labels, (long long)count);
	}
	return rc;
}

enum tp_field { TP_CERT_END, TP_RENEWAL, TP_FAILURES, TP_LAST_SUCCESS, TP_ENROLLED, TP_AUTHENTICATED, TP_ROLLOVER };

static long long tp_value(const client_metrics *m, enum tp_field f)
{
	switch (f) {
	case TP_CERT_END: return m->cert_not_after;
	case TP_RENEWAL: return m->renewal_at;
	case TP_FAILURES: return m->failures_in_row;
	case TP_LAST_SUCCESS: return m->last_success;
	case TP_ENROLLED: return m->enrolled;
	case TP_AUTHENTICATED: return m->authenticated;
	default: return m->rollover_ready;
	}
}

static int trustpoints(ec_buf *out, const tp_copy *t, size_t n)
{
	static const struct { const char *name, *help; enum tp_field field; bool time; } f[] = {
		{"evercert_trustpoint_certificate_not_after_timestamp_seconds", "End of the identity certificate in use.",
		 TP_CERT_END, true},
		{"evercert_trustpoint_next_renewal_timestamp_seconds", "When the armed renewal fires (kind: RENEW, also "
		 "before the first certificate, or SHADOW).", TP_RENEWAL, true},
		{"evercert_trustpoint_consecutive_failures", "Exchanges with the CA failed since the last success.",
		 TP_FAILURES, false},
		{"evercert_trustpoint_last_success_timestamp_seconds", "When a certificate was last obtained (at the "
		 "daemon's start: the current certificate's notBefore).", TP_LAST_SUCCESS, true},
		{"evercert_trustpoint_enrolled", "1 while an identity certificate is installed.", TP_ENROLLED, false},
		{"evercert_trustpoint_authenticated", "1 while a CA certificate is installed.", TP_AUTHENTICATED, false},
		{"evercert_trustpoint_rollover_ready", "1 while a SHADOW certificate from the CA's successor waits for "
		 "the switch.", TP_ROLLOVER, false},
	};
	int rc = 0;
	for (size_t k = 0; k < sizeof(f) / sizeof(f[0]) && rc == 0; k++) {
		rc = family(out, f[k].name, "gauge", f[k].help);
		for (size_t i = 0; i < n && rc == 0; i++) {
			const char *labels[] = {"trustpoint", t[i].name, f[k].field == TP_RENEWAL ? "kind" : NULL,
			                        t[i].m.renewal_kind, NULL};
			long long v = tp_value(&t[i].m, f[k].field);
			rc = f[k].time ? sample_time(out, f[k].name, labels, v) : sample_int(out, f[k].name, labels, v);
		}
	}
	return rc;
}

static int daemon_info(ec_buf *out, const daemon_ctx *d, ec_time now)
{
	const char *version[] = {"version", EVERCERT_VERSION, NULL};
	const char *none[] = {NULL};
	return family(out, "evercert_build_info", "gauge", "The evercertd build; always 1.") ||
	       sample_int(out, "evercert_build_info", version, 1) ||
	       family(out, "evercert_clock_time_seconds", "gauge", "The daemon's clock (a simulated clock's time "
	              "when it runs on one): the instants above are on it.") ||
	       sample_time(out, "evercert_clock_time_seconds", none, now) ||
	       family(out, "evercert_clock_simulated", "gauge", "1 when the daemon runs on a simulated clock.") ||
	       sample_int(out, "evercert_clock_simulated", none, ec_clock_is_simulated(d->clock))
	           ? -1 : 0;
}

/* Reads every certificate server; a store that does not answer leaves its pending count out. */
static ca_view *read_servers(daemon_ctx *d, size_t *n)
{
	*n = d->n_cas;
	ca_view *v = calloc(*n + 1, sizeof(*v));
	for (size_t i = 0; v != NULL && i < *n; i++) {
		ec_err err;
		v[i].name = ca_name(d->cas[i]);
		v[i].ok = ca_metrics_read(d->cas[i], &v[i].m, &err) == 0;
	}
	return v;
}

static int render(daemon_metrics *m, ec_buf *out)
{
	size_t n_cas = 0, n_tps;
	ca_view *cas = read_servers(m->d, &n_cas);
	tp_copy *tps = malloc(sizeof(m->tps));
	if (cas == NULL || tps == NULL) {
		free(cas);
		free(tps);
		return -1;
	}
	pthread_mutex_lock(&m->lock);
	n_tps = m->n_tps;
	memcpy(tps, m->tps, n_tps * sizeof(*tps));
	ec_time now = m->now;
	pthread_mutex_unlock(&m->lock);
	int rc = daemon_info(out, m->d, now) || ca_generations(out, cas, n_cas) || ca_scalars(out, cas, n_cas) ||
	         ca_events(out, cas, n_cas) || ca_enrollments(out, cas, n_cas) || ca_store(out, cas, n_cas) ||
	         histogram(out, m) ||
	         trustpoints(out, tps, n_tps);
	free(cas);
	free(tps);
	return rc ? -1 : 0;
}

static void metrics_handle(void *ctx, const http_request *req, http_response *resp)
{
	daemon_metrics *m = ctx;
	if (strcmp(req->path, METRICS_PATH) != 0) {
		http_response_text(resp, 404, "not found: the metrics are at " METRICS_PATH);
		return;
	}
	if (strcmp(req->method, "GET") != 0) {
		http_response_text(resp, 405, "only GET " METRICS_PATH);
		return;
	}
	ec_buf page;
	ec_buf_init(&page, METRICS_PAGE_MAX);
	if (render(m, &page) != 0) {
		ec_buf_free(&page);
		http_response_text(resp, 500, "cannot render the metrics");
		return;
	}
	resp->status = 200;
	resp->content_type = METRICS_CONTENT_TYPE;
	resp->body = ec_buf_take(&page, &resp->body_len);
}

int daemon_metrics_open(daemon_ctx *d, ec_err *err)
{
	daemon_metrics *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return ec_err_set(err, "out of memory");
	m->d = d;
	pthread_mutex_init(&m->lock, NULL);
	d->metrics = m;
	daemon_metrics_publish(d);
	if (!d->cfg->metrics)
		return 0;
	/* A scraper or two: few connections, short deadlines, no body. */
	http_server_opts o = {
		.bind_address = d->cfg->metrics_bind,
		.port = d->cfg->metrics_port,
		.max_body = 0,
		.connection_memory = 8 * 1024,
		.header_timeout = 10,
		.request_timeout = 30,
		.idle_timeout = 90,
		.capacity = 16,
		.log = dlog_line,
		.log_ctx = d,
	};
	if (daemon_http_start(&o, metrics_handle, m, &m->http, err) != 0)
		return ec_err_wrap(err, "%s: `ip http metrics %s %d`", d->config_path, d->cfg->metrics_bind,
		                   d->cfg->metrics_port);
	bool v6 = strchr(d->cfg->metrics_bind, ':') != NULL;
	dlog(d, "metrics at http://%s%s%s:%d%s", v6 ? "[" : "", d->cfg->metrics_bind, v6 ? "]" : "",
	     http_server_port(m->http), METRICS_PATH);
	return 0;
}

void daemon_metrics_close(daemon_ctx *d)
{
	daemon_metrics *m = d->metrics;
	if (m == NULL)
		return;
	http_server_stop(m->http);
	pthread_mutex_destroy(&m->lock);
	free(m);
	d->metrics = NULL;
}
