/* `show crypto pki certificates` for the trustpoints. */
#include "client/client_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "pki/pki.h"
#include "util/encoding.h"
#include "util/json.h"

/* One certificate of the listing and every trustpoint that holds it. */
typedef struct shown_cert {
	X509 *cert;                       /* borrowed from a trustpoint */
	bool ca;
	bool rollover;
	const char *tps[CFG_MAX_TRUSTPOINTS];
	size_t n_tps;
} shown_cert;

typedef struct listing {
	shown_cert *list;
	size_t n;
	client_cert_filter elsewhere;     /* CA certificates a certificate server of the daemon lists */
	void *ctx;
} listing;

/* Adds cert (when held) to the listing, or the trustpoint to its entry when it is listed. */
static void collect(listing *l, X509 *cert, bool ca, bool rollover, const char *tp)
{
	shown_cert *list = l->list;
	size_t *n = &l->n;
	if (cert == NULL || (ca && l->elsewhere != NULL && l->elsewhere(l->ctx, cert)))
		return;
	size_t i = 0;
	while (i < *n && X509_cmp(list[i].cert, cert) != 0)
		i++;
	if (i == *n)
		list[(*n)++] = (shown_cert){.cert = cert, .ca = ca, .rollover = rollover};
	if (list[i].n_tps < CFG_MAX_TRUSTPOINTS)
		list[i].tps[list[i].n_tps++] = tp;
}

/* The identity certificates first, then the CA certificates, each once; within each the
 * rollover one above the active one, as the router lists them. */
static int collect_all(tp_runtime *const *tps, size_t n_tps, listing *l)
{
	if ((l->list = calloc(4 * n_tps + 1, sizeof(*l->list))) == NULL)
		return -1;
	for (size_t i = 0; i < n_tps; i++) {
		collect(l, tps[i]->rollover_cert, false, true, tps[i]->cfg.name);
		collect(l, tps[i]->cert, false, false, tps[i]->cfg.name);
	}
	for (size_t i = 0; i < n_tps; i++) {
		collect(l, tps[i]->rollover_ca, true, true, tps[i]->cfg.name);
		collect(l, tps[i]->ca, true, false, tps[i]->cfg.name);
	}
	return 0;
}

bool client_holds_ca_cert(const tp_runtime *tp, X509 *cert)
{
	return (tp->ca != NULL && X509_cmp(tp->ca, cert) == 0) ||
	       (tp->rollover_ca != NULL && X509_cmp(tp->rollover_ca, cert) == 0);
}

static const char *cert_status(X509 *c, ec_time now)
{
	return now < pki_cert_not_before(c) ? "Available (not yet valid)" : now > pki_cert_not_after(c) ? "Expired" : "Available";
}

/* A name one attribute a line, most specific first, the attribute in lower case ("cn=RootCA"). */
static int name_lines(ec_buf *out, X509_NAME *name)
{
	BIO *mem = BIO_new(BIO_s_mem());
	char *text = NULL;
	long len = 0;
	unsigned long flags = (XN_FLAG_ONELINE & ~(XN_FLAG_SEP_MASK | XN_FLAG_SPC_EQ)) | XN_FLAG_SEP_MULTILINE | XN_FLAG_DN_REV;
	flags &= ~(unsigned long)ASN1_STRFLGS_ESC_MSB;
	if (mem == NULL || X509_NAME_print_ex(mem, name, 0, flags) < 0 || (len = BIO_get_mem_data(mem, &text)) < 0) {
		BIO_free(mem);
		return -1;
	}
	int rc = 0;
	for (long start = 0; start < len && rc == 0;) {
		long end = start;
		while (end < len && text[end] != '\n')
			end++;
		long eq = start;
		while (eq < end && text[eq] != '=')
			eq++;
		rc = ec_buf_printf(out, "    ");
		for (long k = start; k < eq && rc == 0; k++)
			rc = ec_buf_printf(out, "%c", tolower((unsigned char)text[k]));
		rc = rc || ec_buf_printf(out, "%.*s\n", (int)(end - eq), text + eq);
		start = end + 1;
	}
	BIO_free(mem);
	return rc;
}

typedef struct alt_name_text {
	const char *type;                 /* "dns", "ip", "email", "uri", "other" */
	char value[256];
} alt_name_text;

/* The certificate's subjectAltNames, at most max; returns how many. */
static size_t alt_names(X509 *c, alt_name_text *out, size_t max)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(c, NID_subject_alt_name, NULL, NULL);
	size_t n = 0;
	for (int i = 0; i < sk_GENERAL_NAME_num(names) && n < max; i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
		alt_name_text *t = &out[n++];
		if (gn->type == GEN_IPADD) {
			int len = ASN1_STRING_length(gn->d.iPAddress);
			t->type = "ip";
			if (inet_ntop(len == 16 ? AF_INET6 : AF_INET, ASN1_STRING_get0_data(gn->d.iPAddress), t->value,
			              sizeof(t->value)) == NULL || (len != 4 && len != 16))
				snprintf(t->value, sizeof(t->value), "?");
			continue;
		}
		ASN1_IA5STRING *s = gn->type == GEN_DNS ? gn->d.dNSName : gn->type == GEN_EMAIL ? gn->d.rfc822Name
		                    : gn->type == GEN_URI ? gn->d.uniformResourceIdentifier : NULL;
		t->type = gn->type == GEN_DNS ? "dns" : gn->type == GEN_EMAIL ? "email" : gn->type == GEN_URI ? "uri" : "other";
		snprintf(t->value, sizeof(t->value), "%.*s", s != NULL ? ASN1_STRING_length(s) : 0,
		         s != NULL ? (const char *)ASN1_STRING_get0_data(s) : "");
		/* Shown as text: a control byte in a name never reaches the operator's terminal. */
		for (char *p = t->value; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				*p = '?';
	}
	GENERAL_NAMES_free(names);
	return n;
}

static int trustpoint_list(ec_buf *out, const shown_cert *s, bool json)
{
	int rc = 0;
	for (size_t i = 0; i < s->n_tps && rc == 0; i++)
		rc = json ? (i > 0 && ec_buf_printf(out, ",")) || ec_json_string(out, s->tps[i])
		          : ec_buf_printf(out, " %s", s->tps[i]);
	return rc;
}

static int cert_text(ec_buf *out, const shown_cert *s, ec_time now)
{
	X509 *c = s->cert;
	char serial[PKI_SERIAL_MAX], nb[EC_TIME_TEXT_MAX], na[EC_TIME_TEXT_MAX];
	alt_name_text names[32];
	size_t n_names = alt_names(c, names, 32);
	if (pki_cert_serial_hex(c, serial) != 0)
		return -1;
	ec_time_format_router(pki_cert_not_before(c), nb);
	ec_time_format_router(pki_cert_not_after(c), na);
	/* Whole octets, as the router prints serials ("01", "03"). */
	if (ec_buf_printf(out, "%s%s\n  Status: %s\n  Certificate Serial Number (hex): %s%s\n"
	                  "  Certificate Usage: %s\n  Issuer:\n", s->ca ? "CA Certificate" : "Certificate",
	                  s->rollover ? " (Rollover)" : "", cert_status(c, now), strlen(serial) % 2 ? "0" : "", serial,
	                  s->ca ? "Signature" : "General Purpose") ||
	    name_lines(out, X509_get_issuer_name(c)) || ec_buf_printf(out, "  Subject:\n") ||
	    name_lines(out, X509_get_subject_name(c)))
		return -1;
	if (n_names > 0 && ec_buf_printf(out, "  Subject Alternative Names:\n"))
		return -1;
	for (size_t i = 0; i < n_names; i++)
		if (ec_buf_printf(out, "    %s: %s\n", strcmp(names[i].type, "ip") == 0 ? "IP Address"
		                  : strcmp(names[i].type, "email") == 0 ? "E-mail" : strcmp(names[i].type, "dns") == 0 ? "DNS"
		                  : names[i].type, names[i].value))
			return -1;
	return ec_buf_printf(out, "  Validity Date:\n    start date: %s\n    end   date: %s\n  Associated Trustpoints:",
	                     nb, na) || trustpoint_list(out, s, false) || ec_buf_printf(out, "\n\n")
	           ? -1 : 0;
}

static int cert_json(ec_buf *out, const shown_cert *s, ec_time now, bool first)
{
	X509 *c = s->cert;
	char serial[PKI_SERIAL_MAX], subject[1024], issuer[1024], nb[EC_TIME_TEXT_MAX], na[EC_TIME_TEXT_MAX], fp[65];
	alt_name_text names[32];
	size_t n_names = alt_names(c, names, 32);
	if (pki_cert_serial_hex(c, serial) != 0 || pki_name_format(X509_get_subject_name(c), subject, sizeof(subject)) != 0 ||
	    pki_name_format(X509_get_issuer_name(c), issuer, sizeof(issuer)) != 0 || pki_cert_fingerprint_hex(c, fp) != 0)
		return -1;
	ec_time_format_iso(pki_cert_not_before(c), nb);
	ec_time_format_iso(pki_cert_not_after(c), na);
	if ((!first && ec_buf_printf(out, ",")) || ec_buf_printf(out, "{") ||
	    ec_json_kv_str(out, true, "type", s->ca ? "ca_certificate" : "certificate") ||
	    ec_json_kv_bool(out, false, "rollover", s->rollover) ||
	    ec_json_kv_str(out, false, "status", cert_status(c, now)) || ec_json_kv_str(out, false, "serial_hex", serial) ||
	    ec_json_kv_str(out, false, "issuer", issuer) || ec_json_kv_str(out, false, "subject", subject) ||
	    ec_json_kv_str(out, false, "not_before", nb) || ec_json_kv_str(out, false, "not_after", na) ||
	    ec_json_kv_str(out, false, "fingerprint_sha256", fp) || ec_buf_printf(out, ",\"subject_alt_names\":["))
		return -1;
	for (size_t i = 0; i < n_names; i++)
		if ((i > 0 && ec_buf_printf(out, ",")) || ec_buf_printf(out, "{") ||
		    ec_json_kv_str(out, true, "type", names[i].type) || ec_json_kv_str(out, false, "value", names[i].value) ||
		    ec_buf_printf(out, "}"))
			return -1;
	return ec_buf_printf(out, "],\"associated_trustpoints\":[") || trustpoint_list(out, s, true) ||
	       ec_buf_printf(out, "]}") ? -1 : 0;
}

int client_show_all_certificates(tp_runtime *const *tps, size_t n_tps, ec_time now, bool json,
                                 client_cert_filter elsewhere, void *ctx, ec_buf *out)
{
	listing l = {.elsewhere = elsewhere, .ctx = ctx};
	if (n_tps == 0)
		return 0;
	if (collect_all(tps, n_tps, &l) != 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < l.n && rc == 0; i++)
		rc = json ? cert_json(out, &l.list[i], now, i == 0) : cert_text(out, &l.list[i], now);
	free(l.list);
	return rc;
}

int client_show_certificates(tp_runtime *tp, ec_time now, bool json, ec_buf *out)
{
	return client_show_all_certificates(&tp, 1, now, json, NULL, NULL, out);
}
