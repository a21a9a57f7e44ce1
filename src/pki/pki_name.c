/*
 * pki_name.c - distinguished names as text, in the router's form.
 *
 * Grammar accepted by pki_name_parse (a practical subset of RFC 4514):
 *   name  = rdn *( "," rdn )          most specific first: "CN=RootCA,OU=TAC,O=Cisco"
 *   rdn   = ava *( "+" ava )          a multi-valued RDN ("serialNumber=X+hostname=Y")
 *   ava   = type "=" value            type: a short name below, any case; spaces around
 *                                     '=', ',' and '+' are ignored
 *   value: "\" followed by two hex digits is that byte, "\" followed by any other character is
 *          that character (so "\," "\+" "\\" "\ " escape); '=' and '"' need no escape.
 * The DER RDN sequence is the reverse of the text (O first), as Cisco IOS builds it.
 * pki_name_format writes the inverse, escaping only what the parser needs.
 */
#include "pki/pki.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/objects.h>

#include "util/encoding.h"

#define PKI_NAME_TEXT_MAX 4096
#define PKI_NAME_AVA_MAX 64

/* Attribute types by short name; the first entry of a NID is the name pki_name_format writes,
 * the later ones are aliases accepted on input (router spellings). */
static const struct {
	const char *name;
	int nid;
} pki_attrs[] = {
	{"CN", NID_commonName},
	{"OU", NID_organizationalUnitName},
	{"O", NID_organizationName},
	{"L", NID_localityName},
	{"ST", NID_stateOrProvinceName},
	{"C", NID_countryName},
	{"emailAddress", NID_pkcs9_emailAddress},
	{"serialNumber", NID_serialNumber},
	{"DC", NID_domainComponent},
	{"UID", NID_userId},
	{"street", NID_streetAddress},
	{"postalCode", NID_postalCode},
	{"title", NID_title},
	{"GN", NID_givenName},
	{"SN", NID_surname},
	{"initials", NID_initials},
	{"pseudonym", NID_pseudonym},
	{"generationQualifier", NID_generationQualifier},
	{"dnQualifier", NID_dnQualifier},
	{"unstructuredName", NID_pkcs9_unstructuredName},
	{"unstructuredAddress", NID_pkcs9_unstructuredAddress},
	{"E", NID_pkcs9_emailAddress},
	{"EA", NID_pkcs9_emailAddress},
	{"hostname", NID_pkcs9_unstructuredName},
	{"ipaddress", NID_pkcs9_unstructuredAddress},
};

typedef struct name_ava {
	int nid;
	const char *value;    /* unescaped, in the parser's scratch buffer, not NUL-terminated */
	size_t len;
	bool joins_previous;  /* preceded by '+': same RDN as the previous AVA */
} name_ava;

static int attr_nid(const char *type, size_t len)
{
	for (size_t i = 0; i < sizeof(pki_attrs) / sizeof(pki_attrs[0]); i++)
		if (strlen(pki_attrs[i].name) == len && strncasecmp(pki_attrs[i].name, type, len) == 0)
			return pki_attrs[i].nid;
	return NID_undef;
}

/* Reads "type =" at *pp into ava->nid and moves *pp past the '='. */
static int parse_type(const char **pp, name_ava *ava, ec_err *err)
{
	const char *p = *pp;
	while (*p == ' ')
		p++;
	const char *start = p;
	while (*p != '\0' && *p != '=' && *p != ',' && *p != '+')
		p++;
	if (*p != '=')
		return ec_err_set(err, "missing '=' after '%.*s'", (int)(p - start), start);
	const char *end = p;
	while (end > start && end[-1] == ' ')
		end--;
	if (end == start)
		return ec_err_set(err, "missing attribute type before '='");
	ava->nid = attr_nid(start, (size_t)(end - start));
	if (ava->nid == NID_undef)
		return ec_err_set(err, "unknown attribute type '%.*s'", (int)(end - start), start);
	*pp = p + 1;
	return 0;
}

/* Reads an escaped value at *pp into scratch (unescaped, trimmed), up to an unescaped ',' or
 * '+' or the end; *pp is left on the separator. Returns the value's length. */
static int parse_value(const char **pp, char *scratch, size_t *len, ec_err *err)
{
	const char *p = *pp;
	size_t n = 0, keep = 0; /* keep: length up to the last escaped character (not trimmed) */
	while (*p == ' ')
		p++;
	while (*p != '\0' && *p != ',' && *p != '+') {
		if (*p != '\\') {
			scratch[n++] = *p++;
			continue;
		}
		int hi = ec_hex_digit((unsigned char)p[1]);
		int lo = hi < 0 ? -1 : ec_hex_digit((unsigned char)p[2]);
		if (p[1] == '\0')
			return ec_err_set(err, "backslash at the end of the name");
		if (hi >= 0 && lo >= 0) {
			scratch[n++] = (char)(hi * 16 + lo);
			p += 3;
		} else {
			scratch[n++] = p[1];
			p += 2;
		}
		if (scratch[n - 1] == '\0')
			return ec_err_set(err, "NUL character in a name value");
		keep = n;
	}
	while (n > keep && scratch[n - 1] == ' ')
		n--;
	*pp = p;
	*len = n;
	return 0;
}

/* Splits text into AVAs; their values live in scratch (at least strlen(text) bytes). */
static int parse_avas(const char *text, char *scratch, name_ava *avas, size_t *count, ec_err *err)
{
	const char *p = text;
	size_t n = 0, used = 0;
	bool joins = false;
	for (;;) {
		if (n == PKI_NAME_AVA_MAX)
			return ec_err_set(err, "more than %d attributes in the name", PKI_NAME_AVA_MAX);
		name_ava *a = &avas[n];
		if (parse_type(&p, a, err) != 0 || parse_value(&p, scratch + used, &a->len, err) != 0)
			return -1;
		if (a->len == 0)
			return ec_err_set(err, "empty value for %s", OBJ_nid2sn(a->nid));
		a->value = scratch + used;
		a->joins_previous = joins;
		used += a->len;
		n++;
		if (*p == '\0')
			break;
		joins = *p == '+';
		p++;
	}
	*count = n;
	return 0;
}

/* Adds the AVAs to name, RDNs in reverse order, each RDN's AVAs in their text order. */
static int build_name(const name_ava *avas, size_t count, X509_NAME *name, ec_err *err)
{
	size_t end = count; /* one past the last AVA of the RDN being added */
	while (end > 0) {
		size_t start = end - 1;
		while (start > 0 && avas[start].joins_previous)
			start--;
		for (size_t i = start; i < end; i++) {
			if (!X509_NAME_add_entry_by_NID(name, avas[i].nid, MBSTRING_UTF8,
			                                (const unsigned char *)avas[i].value,
			                                (int)avas[i].len, -1, i == start ? 0 : -1))
				return ec_err_ssl(err, "bad value for %s '%.*s'", OBJ_nid2sn(avas[i].nid),
				                  (int)avas[i].len, avas[i].value);
		}
		end = start;
	}
	return 0;
}

/* The text's length, once it is known to be a name of a usable size and not all blanks. */
static int name_text_ok(const char *text, size_t *len, ec_err *err)
{
	if (text == NULL)
		return ec_err_set(err, "no name given");
	*len = strlen(text);
	if (*len > PKI_NAME_TEXT_MAX)
		return ec_err_set(err, "name longer than %d characters", PKI_NAME_TEXT_MAX);
	if (strspn(text, " ") == *len)
		return ec_err_set(err, "empty name");
	return 0;
}

int pki_name_parse(const char *text, X509_NAME **out, ec_err *err)
{
	size_t len = 0, count = 0;

	*out = NULL;
	if (name_text_ok(text, &len, err) != 0)
		return -1;
	char *scratch = malloc(len + 1);
	name_ava *avas = calloc(PKI_NAME_AVA_MAX, sizeof(*avas));
	X509_NAME *name = X509_NAME_new();
	int rc = scratch != NULL && avas != NULL && name != NULL ? 0 : ec_err_set(err, "out of memory");
	if (rc == 0 && (parse_avas(text, scratch, avas, &count, err) != 0 || build_name(avas, count, name, err) != 0))
		rc = ec_err_wrap(err, "bad name '%s'", text);
	if (rc == 0)
		*out = name;
	else
		X509_NAME_free(name);
	free(avas);
	free(scratch);
	return rc;
}

/* ---- formatting ---- */

typedef struct name_writer {
	char *out;
	size_t size;
	size_t used;
	bool overflow;
} name_writer;

static void put(name_writer *w, const char *s, size_t n)
{
	if (w->overflow || n >= w->size - w->used) {
		w->overflow = true;
		return;
	}
	memcpy(w->out + w->used, s, n);
	w->used += n;
	w->out[w->used] = '\0';
}

static void put_type(name_writer *w, const ASN1_OBJECT *obj)
{
	int nid = OBJ_obj2nid(obj);
	for (size_t i = 0; nid != NID_undef && i < sizeof(pki_attrs) / sizeof(pki_attrs[0]); i++) {
		if (pki_attrs[i].nid == nid) {
			put(w, pki_attrs[i].name, strlen(pki_attrs[i].name));
			return;
		}
	}
	char oid[128];
	int n = OBJ_obj2txt(oid, sizeof(oid), obj, 0);
	if (n <= 0 || (size_t)n >= sizeof(oid)) {
		w->overflow = true;
		return;
	}
	put(w, oid, (size_t)n);
}

/* Writes value bytes, escaping ',', '+', '\', spaces at either end and control characters. */
static void put_escaped(name_writer *w, const unsigned char *v, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = v[i];
		char buf[4];
		if (c < 0x20 || c == 0x7f) {
			snprintf(buf, sizeof(buf), "\\%02X", c);
			put(w, buf, 3);
		} else if (c == ',' || c == '+' || c == '\\' || (c == ' ' && (i == 0 || i == len - 1))) {
			buf[0] = '\\';
			buf[1] = (char)c;
			put(w, buf, 2);
		} else {
			put(w, (const char *)&v[i], 1);
		}
	}
}

/* Writes one AVA; a value that is not a string is written as '#' and the hex of its bytes. */
static void put_entry(name_writer *w, const X509_NAME_ENTRY *e)
{
	const ASN1_STRING *data = X509_NAME_ENTRY_get_data(e);
	unsigned char *utf8 = NULL;
	put_type(w, X509_NAME_ENTRY_get_object(e));
	put(w, "=", 1);
	int n = ASN1_STRING_to_UTF8(&utf8, data);
	if (n >= 0) {
		put_escaped(w, utf8, (size_t)n);
		OPENSSL_free(utf8);
		return;
	}
	ERR_clear_error();
	const unsigned char *raw = ASN1_STRING_get0_data(data);
	put(w, "#", 1);
	for (int i = 0; i < ASN1_STRING_length(data); i++) {
		char hex[3];
		snprintf(hex, sizeof(hex), "%02x", raw[i]);
		put(w, hex, 2);
	}
}

int pki_name_format(const X509_NAME *name, char *out, size_t outsz)
{
	if (outsz == 0)
		return -1;
	name_writer w = {out, outsz, 0, false};
	out[0] = '\0';
	int i = X509_NAME_entry_count(name) - 1;
	while (i >= 0) {
		/* The entries of one RDN are contiguous and share a set number. */
		int set = X509_NAME_ENTRY_set(X509_NAME_get_entry(name, i));
		int start = i;
		while (start > 0 && X509_NAME_ENTRY_set(X509_NAME_get_entry(name, start - 1)) == set)
			start--;
		if (w.used > 0)
			put(&w, ",", 1);
		for (int j = start; j <= i; j++) {
			if (j > start)
				put(&w, "+", 1);
			put_entry(&w, X509_NAME_get_entry(name, j));
		}
		i = start - 1;
	}
	if (w.overflow) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}
