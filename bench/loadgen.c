/*
 * loadgen: SCEP enrollment load against a CA, measured from outside.
 *
 * Everything a client must compute (keys, self-signed certificates, PKCS#10, signatures,
 * envelopes) is built before the clock starts; during the timed part the workers only POST
 * prepared PKCSReq messages over N kept-alive connections and keep the replies. Each connection is
 * opened, and answers a GetCACaps, before the clock starts: the figures are those of connections
 * kept alive, not of N TCP handshakes and N connection threads at the CA started at the same
 * instant (which made the first request of each connection the slowest of the run, three to four
 * times the median). Afterwards each reply is read: pkiStatus, and for SUCCESS the certificate's
 * serial, to count duplicates.
 *
 *   loadgen --url URL --connections N --requests M [--keys K] [--pid CA_PID] [--label NAME]
 *   loadgen --url URL --connections N --replay DIR [--content-type TYPE | --get] [--pid CA_PID] [--label NAME]
 *
 * --replay sends, once each, the PKIOperation messages recorded from a real client (files DIR/NAME.der,
 * as bench/shapes.sh records them), POSTed with that client's Content-Type, or with --get by GET
 * (base64 in message=, percent-encoded: the URLs are made before the clock starts), as clients that
 * do not use POSTPKIOperation send them; their keys stay with the client, so a SUCCESS reply is
 * counted, not opened (no duplicate check).
 *
 * Prints one line of JSON (and a human summary on stderr): enrollments/s counting SUCCESS only,
 * p50/p95/p99 latency in ms, errors by kind, duplicate serials, and with --pid the CA process's
 * CPU seconds during the run and its peak RSS.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "pki/pki.h"
#include "scep/scep.h"
#include "util/buf.h"

typedef struct job {
	uint8_t *msg;
	size_t msg_len;
	char *get_url;      /* --get: the whole URL, message included */
	int key;
	uint8_t *reply;
	size_t reply_len;
	long http;
	double ms;
} job;

static const char *g_url;
static const char *g_content_type = "Content-Type: application/x-pki-message";
static bool g_replay;
static job *g_jobs;
static int g_n;
static atomic_int g_next;
static pthread_barrier_t g_connected;   /* every connection open: the clock starts */

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static size_t collect(char *data, size_t size, size_t n, void *ctx)
{
	return ec_buf_append(ctx, data, size * n) == 0 ? size * n : 0;
}

static void *worker(void *arg)
{
	(void)arg;
	CURL *c = curl_easy_init();
	char url[1024];
	snprintf(url, sizeof(url), "%s?operation=PKIOperation", g_url);
	struct curl_slist *h = curl_slist_append(NULL, g_content_type);
	ec_buf caps;
	ec_buf_init(&caps, 1 << 16);
	char caps_url[1024];
	snprintf(caps_url, sizeof(caps_url), "%s?operation=GetCACaps", g_url);
	curl_easy_setopt(c, CURLOPT_URL, caps_url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &caps);
	(void)curl_easy_perform(c);   /* a connection that failed to open is opened by the first job */
	ec_buf_free(&caps);
	pthread_barrier_wait(&g_connected);
	for (;;) {
		int i = atomic_fetch_add(&g_next, 1);
		if (i >= g_n)
			break;
		job *j = &g_jobs[i];
		ec_buf b;
		ec_buf_init(&b, 1 << 20);
		if (j->get_url != NULL) {
			curl_easy_setopt(c, CURLOPT_URL, j->get_url);
			curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		} else {
			curl_easy_setopt(c, CURLOPT_URL, url);
			curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)j->msg);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->msg_len);
		}
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
		double t = now_ms();
		if (curl_easy_perform(c) == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &j->http);
		j->ms = now_ms() - t;
		j->reply = ec_buf_take(&b, &j->reply_len);
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return NULL;
}

/* --get: each job's URL with its message in base64, percent-encoded. */
static int make_get_urls(void)
{
	for (int i = 0; i < g_n; i++) {
		job *j = &g_jobs[i];
		size_t b64_len = 4 * ((j->msg_len + 2) / 3) + 1;
		char *b64 = malloc(b64_len);
		if (b64 == NULL)
			return -1;
		EVP_EncodeBlock((unsigned char *)b64, j->msg, (int)j->msg_len);
		char *esc = curl_easy_escape(NULL, b64, 0);
		free(b64);
		size_t len = strlen(g_url) + strlen(esc) + 64;
		j->get_url = esc != NULL ? malloc(len) : NULL;
		if (j->get_url != NULL)
			snprintf(j->get_url, len, "%s?operation=PKIOperation&message=%s", g_url, esc);
		curl_free(esc);
		if (j->get_url == NULL)
			return -1;
	}
	return 0;
}

static X509 *fetch_ca(const char *url)
{
	CURL *c = curl_easy_init();
	char u[1024];
	ec_buf b;
	ec_buf_init(&b, 1 << 20);
	snprintf(u, sizeof(u), "%s?operation=GetCACert", url);
	curl_easy_setopt(c, CURLOPT_URL, u);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	X509 *ca = NULL;
	ec_err err;
	if (curl_easy_perform(c) == CURLE_OK && pki_cert_from_der(b.data, b.len, &ca, &err) != 0) {
		STACK_OF(X509) *certs = NULL;
		if (scep_degenerate_parse(b.data, b.len, &certs, NULL, &err) == 0 && sk_X509_num(certs) > 0)
			ca = X509_dup(sk_X509_value(certs, 0));
		sk_X509_pop_free(certs, X509_free);
	}
	ec_buf_free(&b);
	curl_easy_cleanup(c);
	return ca;
}

static X509 *self_signed(EVP_PKEY *k)
{
	X509 *c = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)"loadgen", -1, -1, 0);
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), 1);
	X509_gmtime_adj(X509_getm_notBefore(c), -3600);
	X509_gmtime_adj(X509_getm_notAfter(c), 86400);
	X509_set_subject_name(c, n);
	X509_set_issuer_name(c, n);
	X509_set_pubkey(c, k);
	X509_sign(c, k, EVP_sha256());
	X509_NAME_free(n);
	return c;
}

static uint8_t *csr_der(EVP_PKEY *k, int i, size_t *len)
{
	X509_REQ *r = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	char cn[64];
	snprintf(cn, sizeof(cn), "loadgen-%d", i);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_REQ_set_subject_name(r, n);
	X509_REQ_set_pubkey(r, k);
	X509_REQ_sign(r, k, EVP_sha256());
	uint8_t *der = NULL;
	ec_err err;
	if (pki_csr_to_der(r, &der, len, &err) != 0)
		der = NULL;
	X509_NAME_free(n);
	X509_REQ_free(r);
	return der;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The recorded messages of DIR (*.der, in name order) as jobs; their number, -1 on failure. */
static int load_replay(const char *dir)
{
	DIR *d = opendir(dir);
	char *names[100000];
	int n = 0;
	for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL && n < 100000;) {
		size_t len = strlen(e->d_name);
		if (len > 4 && strcmp(e->d_name + len - 4, ".der") == 0)
			names[n++] = strdup(e->d_name);
	}
	if (d == NULL || n == 0)
		return -1;
	closedir(d);
	qsort(names, (size_t)n, sizeof(*names), cmp_name);
	g_jobs = calloc((size_t)n, sizeof(*g_jobs));
	for (int i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		FILE *f = fopen(path, "rb");
		ec_buf b;
		ec_buf_init(&b, 1 << 20);
		char chunk[4096];
		for (size_t got; f != NULL && (got = fread(chunk, 1, sizeof(chunk), f)) > 0;)
			if (ec_buf_append(&b, chunk, got) != 0)
				break;
		if (f != NULL)
			fclose(f);
		g_jobs[i].msg = (uint8_t *)ec_buf_take(&b, &g_jobs[i].msg_len);
		free(names[i]);
	}
	return n;
}

static void cpu_of(int pid, double *cpu_s, long *hwm_kb)
{
	char path[64], buf[4096];
	*cpu_s = -1;
	*hwm_kb = -1;
	if (pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (f != NULL && fgets(buf, sizeof(buf), f) != NULL) {
		char *p = strrchr(buf, ')');
		unsigned long ut = 0, st = 0;
		if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
			*cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	}
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	while (f != NULL && fgets(buf, sizeof(buf), f) != NULL)
		if (strncmp(buf, "VmHWM:", 6) == 0)
			*hwm_kb = strtol(buf + 6, NULL, 10);
	if (f)
		fclose(f);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *arg(int argc, char **argv, const char *name, const char *def)
{
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return def;
}

static bool flag(int argc, char **argv, const char *name)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	ec_err err;
	g_url = arg(argc, argv, "--url", NULL);
	int conns = (int)strtol(arg(argc, argv, "--connections", "8"), NULL, 10);
	g_n = (int)strtol(arg(argc, argv, "--requests", "200"), NULL, 10);
	int nkeys = (int)strtol(arg(argc, argv, "--keys", "16"), NULL, 10);
	int pid = (int)strtol(arg(argc, argv, "--pid", "0"), NULL, 10);
	const char *label = arg(argc, argv, "--label", "ca");
	const char *replay = arg(argc, argv, "--replay", NULL);
	static char content_type[256];
	snprintf(content_type, sizeof(content_type), "Content-Type: %s",
	         arg(argc, argv, "--content-type", "application/x-pki-message"));
	g_content_type = content_type;
	g_replay = replay != NULL;
	if (replay != NULL && (g_n = load_replay(replay)) < 1) {
		fprintf(stderr, "loadgen: no recorded messages (NAME.der) in %s\n", replay);
		return 1;
	}
	if (g_url == NULL || conns < 1 || g_n < 1 || nkeys < 1 || scep_init(&err) != 0) {
		fprintf(stderr, "usage: loadgen --url URL --connections N (--requests M [--keys K] | --replay DIR "
		        "[--content-type TYPE | --get]) [--pid PID] [--label NAME]\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	X509 *ca = fetch_ca(g_url);
	if (ca == NULL) {
		fprintf(stderr, "loadgen: no CA certificate from %s\n", g_url);
		return 1;
	}
	/* Everything the client computes, before the clock starts. */
	if (g_replay)
		nkeys = 0;
	EVP_PKEY **keys = calloc((size_t)nkeys + 1, sizeof(*keys));
	X509 **signers = calloc((size_t)nkeys + 1, sizeof(*signers));
	if (!g_replay)
		g_jobs = calloc((size_t)g_n, sizeof(*g_jobs));
	for (int k = 0; k < nkeys; k++) {
		keys[k] = EVP_RSA_gen(2048);
		signers[k] = self_signed(keys[k]);
	}
	for (int i = 0; !g_replay && i < g_n; i++) {
		size_t len = 0;
		uint8_t *csr = csr_der(keys[i % nkeys], i, &len), nonce[SCEP_NONCE_LEN];
		char txid[64];
		snprintf(txid, sizeof(txid), "loadgen-%ld-%d", (long)getpid(), i);
		if (csr == NULL || scep_random(nonce, sizeof(nonce)) != 0)
			return 1;
		scep_request_params p = {SCEP_MSG_PKCSREQ, txid, nonce, signers[i % nkeys], keys[i % nkeys], ca,
		                         EVP_aes_128_cbc(), EVP_sha256(), csr, len};
		if (scep_build_request(&p, &g_jobs[i].msg, &g_jobs[i].msg_len, &err) != 0) {
			fprintf(stderr, "loadgen: %s\n", err.msg);
			return 1;
		}
		g_jobs[i].key = i % nkeys;
		free(csr);
	}
	if (flag(argc, argv, "--get") && make_get_urls() != 0) {
		fprintf(stderr, "loadgen: out of memory making the GET URLs\n");
		return 1;
	}
	double cpu0, cpu1;
	long hwm;
	pthread_t *t = calloc((size_t)conns, sizeof(*t));
	if (t == NULL || pthread_barrier_init(&g_connected, NULL, (unsigned)conns + 1) != 0) {
		fprintf(stderr, "loadgen: cannot set up %d connections\n", conns);
		return 1;
	}
	for (int i = 0; i < conns; i++)
		if (pthread_create(&t[i], NULL, worker, NULL) != 0) {
			/* The barrier would wait for it forever. */
			fprintf(stderr, "loadgen: cannot start connection thread %d of %d\n", i + 1, conns);
			return 1;
		}
	pthread_barrier_wait(&g_connected);
	cpu_of(pid, &cpu0, &hwm);
	double start = now_ms();
	for (int i = 0; i < conns; i++)
		pthread_join(t[i], NULL);
	double elapsed = now_ms() - start;
	cpu_of(pid, &cpu1, &hwm);

	/* Afterwards: what each reply says, and whether any serial came twice. */
	int nserial = 0, ok = 0, pending = 0, failure = 0, http_err = 0, bad = 0, dups = 0;
	double *lat = calloc((size_t)g_n, sizeof(*lat));
	char **serials = calloc((size_t)g_n, sizeof(*serials));
	for (int i = 0; i < g_n; i++) {
		job *j = &g_jobs[i];
		lat[i] = j->ms;
		scep_msg *m = NULL;
		if (j->http != 200) {
			http_err++;
			continue;
		}
		if (scep_msg_parse(j->reply, j->reply_len, &m, &err) != 0 || !m->signature_ok) {
			bad++;
			scep_msg_free(m);
			continue;
		}
		if (m->status == SCEP_STATUS_SUCCESS && g_replay) {
			ok++;
		} else if (m->status == SCEP_STATUS_SUCCESS) {
			uint8_t *p7 = NULL;
			size_t p7len = 0;
			STACK_OF(X509) *certs = NULL;
			char hex[PKI_SERIAL_MAX];
			if (scep_msg_decrypt(m, signers[j->key], keys[j->key], &p7, &p7len, NULL, &err) == 0 &&
			    scep_degenerate_parse(p7, p7len, &certs, NULL, &err) == 0 && sk_X509_num(certs) > 0 &&
			    pki_cert_serial_hex(sk_X509_value(certs, 0), hex) == 0) {
				serials[nserial++] = strdup(hex);
				ok++;
			} else {
				bad++;
			}
			sk_X509_pop_free(certs, X509_free);
			free(p7);
		} else if (m->status == SCEP_STATUS_PENDING) {
			pending++;
		} else {
			failure++;
		}
		scep_msg_free(m);
	}
	qsort(serials, (size_t)nserial, sizeof(*serials), cmp_str);
	for (int i = 1; i < nserial; i++)
		if (strcmp(serials[i], serials[i - 1]) == 0)
			dups++;
	qsort(lat, (size_t)g_n, sizeof(*lat), cmp_double);
	double rate = ok / (elapsed / 1000.0);
	double p50 = lat[g_n / 2], p95 = lat[(int)(g_n * 0.95)], p99 = lat[(int)(g_n * 0.99) < g_n ? (int)(g_n * 0.99) : g_n - 1];
	printf("{\"label\":\"%s\",\"connections\":%d,\"requests\":%d,\"success\":%d,\"enroll_per_s\":%.1f,"
	       "\"p50_ms\":%.1f,\"p95_ms\":%.1f,\"p99_ms\":%.1f,\"pending\":%d,\"failure\":%d,\"http_errors\":%d,"
	       "\"bad_replies\":%d,\"duplicate_serials\":%d,\"ca_cpu_s\":%.2f,\"ca_peak_rss_kb\":%ld}\n",
	       label, conns, g_n, ok, rate, p50, p95, p99, pending, failure, http_err, bad, dups,
	       cpu0 >= 0 ? cpu1 - cpu0 : -1.0, hwm);
	fprintf(stderr, "%s: %d/%d enrolled in %.2f s: %.1f/s, p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, "
	        "errors %d, duplicate serials %d\n", label, ok, g_n, elapsed / 1000, rate, p50, p95, p99,
	        pending + failure + http_err + bad, dups);
	return 0;
}
