/* One entry of `show crypto pki certificates`, in the router's layout (cert_show.h). */
#include "pki/cert_show.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "pki/name_line.h"
#include "pki/pki.h"
#include "util/encoding.h"
#include "util/json.h"

const char *pki_cert_status(X509 *cert, ec_time now)
{
	return now < pki_cert_not_before(cert) ? "Available (not yet valid)"
	       : now > pki_cert_not_after(cert) ? "Expired" : "Available";
}

/* A name one attribute a line, most specific first, with the router's attribute names
 * (name_line.h: the same as every one-line name evercert shows). */
static int name_lines(ec_buf *out, X509_NAME *name)
{
	char lines[8192];
	return pki_name_lines(name, "    ", lines, sizeof(lines)) || ec_buf_printf(out, "%s", lines);
}

/* Keeps text printable: a control byte from a certificate never reaches the operator's terminal. */
static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			*s = '?';
}

/* The router's "Name:" line under Subject: the most specific CN's value; none without a CN. */
static int name_line(ec_buf *out, X509_NAME *name)
{
	int at = -1;
	for (int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1); i >= 0;
	     i = X509_NAME_get_index_by_NID(name, NID_commonName, i))
		at = i;
	if (at < 0)
		return 0;
	unsigned char *utf8 = NULL;
	int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at)));
	if (n < 0)
		return -1;
	char value[256];
	snprintf(value, sizeof(value), "%.*s", n, (const char *)utf8);
	OPENSSL_free(utf8);
	printable(value);
	return ec_buf_printf(out, "    Name: %s\n", value);
}

size_t pki_cert_alt_names(X509 *c, pki_alt_name *out, size_t max)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(c, NID_subject_alt_name, NULL, NULL);
	size_t n = 0;
	for (int i = 0; i < sk_GENERAL_NAME_num(names) && n < max; i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
		pki_alt_name *t = &out[n++];
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
		for (char *p = t->value; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				*p = '?';
	}
	GENERAL_NAMES_free(names);
	return n;
}

static int alt_name_lines(ec_buf *out, X509 *c)
{
	pki_alt_name names[32];
	size_t n = pki_cert_alt_names(c, names, 32);
	if (n > 0 && ec_buf_printf(out, "  Subject Alternative Names:\n"))
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *type = names[i].type;
		if (ec_buf_printf(out, "    %s: %s\n", strcmp(type, "ip") == 0 ? "IP Address"
		                  : strcmp(type, "email") == 0 ? "E-mail" : strcmp(type, "dns") == 0 ? "DNS" : type,
		                  names[i].value))
			return -1;
	}
	return 0;
}

int pki_cert_entry_head(ec_buf *out, const pki_cert_entry *e, ec_time now)
{
	X509 *c = e->cert;
	char serial[PKI_SERIAL_MAX], nb[EC_TIME_TEXT_MAX], na[EC_TIME_TEXT_MAX];
	if (pki_cert_serial_hex(c, serial) != 0)
		return -1;
	ec_time_format_router(pki_cert_not_before(c), nb);
	ec_time_format_router(pki_cert_not_after(c), na);
	/* Whole octets, as the router prints serials in certificate listings ("01", "03"). A
	 * certificate that starts later (a rollover one) is "Available" as on the router; its start
	 * date says when, and --json's status says "(not yet valid)". */
	if (ec_buf_printf(out, "%s%s%s%s\n  Status: %s\n  Certificate Serial Number (hex): %s%s\n"
	                  "  Certificate Usage: %s\n  Issuer:\n", e->ca ? "CA Certificate" : "Certificate",
	                  e->qualifier != NULL ? " (" : "", e->qualifier != NULL ? e->qualifier : "",
	                  e->qualifier != NULL ? ")" : "", now > pki_cert_not_after(c) ? "Expired" : "Available", strlen(serial) % 2 ? "0" : "",
	                  serial, e->ca ? "Signature" : "General Purpose") ||
	    name_lines(out, X509_get_issuer_name(c)) || ec_buf_printf(out, "  Subject:\n") ||
	    name_line(out, X509_get_subject_name(c)) || name_lines(out, X509_get_subject_name(c)) ||
	    alt_name_lines(out, c))
		return -1;
	return ec_buf_printf(out, "  Validity Date:\n    start date: %s\n    end   date: %s\n  Associated Trustpoints:",
	                     nb, na);
}

int pki_cert_entry_tail(ec_buf *out, const char *storage)
{
	if (ec_buf_printf(out, "\n"))
		return -1;
	if (storage != NULL && ec_buf_printf(out, "  Storage: %s\n", storage))
		return -1;
	return ec_buf_printf(out, "\n");
}

static int made_line(ec_buf *out, const pki_key_entry *e)
{
	char t[EC_TIME_TEXT_MAX];
	if (e->made_source == PKI_KEY_TIME_NONE)
		return ec_buf_printf(out, "%% Key pair generation time not recorded\n");
	ec_time_format_router(e->made, t);
	/* A file's time is when it was last written (a restore writes it too): never called the
	 * key's making. */
	return ec_buf_printf(out, e->made_source == PKI_KEY_TIME_RECORDED ? "%% Key pair was generated at: %s\n"
	                                                                  : "%% Key pair file was written at: %s\n", t);
}

static const char *key_type_text(EVP_PKEY *key, bool json)
{
	int id = EVP_PKEY_get_base_id(key);
	if (id == EVP_PKEY_RSA)
		return json ? "rsa" : "RSA KEYS";
	return id == EVP_PKEY_EC ? (json ? "ec" : "EC KEYS") : (json ? "other" : "OTHER KEYS");
}

int pki_key_entry_text(ec_buf *out, const pki_key_entry *e)
{
	unsigned char *spki = NULL;
	int n = i2d_PUBKEY(e->key, &spki);
	if (n <= 0)
		return -1;
	int rc = made_line(out, e) ||
	         ec_buf_printf(out, "Key name: %s\nKey type: %s\n Key size: %d bits\n Storage Device: %s\n"
	                       " Usage: General Purpose Key\n Key is %sexportable.\n Key Data:\n", e->name,
	                       key_type_text(e->key, false), EVP_PKEY_get_bits(e->key), e->storage,
	                       e->exportable ? "" : "not ");
	for (int i = 0; i < n && rc == 0; i += 4) {
		char hex[9];
		ec_hex_encode(spki + i, (size_t)(n - i < 4 ? n - i : 4), hex);
		for (char *p = hex; *p; p++)
			*p = (char)(*p >= 'a' ? *p - 32 : *p);
		rc = ec_buf_printf(out, "%s%s%s", i % 32 == 0 ? "  " : " ", hex, (i % 32 == 28 || i + 4 >= n) ? "\n" : "");
	}
	OPENSSL_free(spki);
	return rc ? -1 : 0;
}

int pki_key_entry_json(ec_buf *out, const pki_key_entry *e)
{
	unsigned char *spki = NULL;
	int n = i2d_PUBKEY(e->key, &spki);
	if (n <= 0)
		return -1;
	char *hex = malloc(2 * (size_t)n + 1), made[EC_TIME_TEXT_MAX];
	int rc = hex == NULL ? -1 : 0;
	if (rc == 0)
		ec_hex_encode(spki, (size_t)n, hex);
	if (e->made_source != PKI_KEY_TIME_NONE)
		ec_time_format_iso(e->made, made);
	rc = rc || ec_json_kv_str(out, false, "key_name", e->name) ||
	     ec_json_kv_str(out, false, "key_type", key_type_text(e->key, true)) ||
	     ec_json_kv_int(out, false, "bits", EVP_PKEY_get_bits(e->key)) ||
	     ec_json_kv_str(out, false, "public_key_der_hex", hex) ||
	     (e->made_source == PKI_KEY_TIME_NONE ? ec_buf_printf(out, ",\"generated_at\":null")
	                                          : ec_json_kv_str(out, false, "generated_at", made)) ||
	     ec_json_kv_str(out, false, "generated_at_source", e->made_source == PKI_KEY_TIME_RECORDED ? "recorded"
	                                                       : e->made_source == PKI_KEY_TIME_FILE ? "file" : "unknown") ||
	     ec_json_kv_str(out, false, "storage_device", e->storage) ||
	     ec_json_kv_bool(out, false, "exportable", e->exportable);
	free(hex);
	OPENSSL_free(spki);
	return rc ? -1 : 0;
}
