/* The chain of custody across CA generations (RFC 4210 §4.4 NewWithOld link certificates):
 * from a pinned CA certificate to the CA's current one by signatures alone. Validity dates are
 * never looked at: a client that was away for years must still be able to follow the chain
 * through generations that have long expired. */
#include "pki/pki.h"

#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

/* A link endorses successor for holder: signed by holder's key under holder's name, and naming
 * the successor's subject and key. The successor must be a CA certificate that signs itself. */
static bool link_endorses(X509 *link, X509 *holder, X509 *successor)
{
	EVP_PKEY *holder_key = X509_get0_pubkey(holder);
	EVP_PKEY *link_key = X509_get0_pubkey(link);
	EVP_PKEY *successor_key = X509_get0_pubkey(successor);
	if (holder_key == NULL || link_key == NULL || successor_key == NULL)
		return false;
	if (X509_NAME_cmp(X509_get_issuer_name(link), X509_get_subject_name(holder)) != 0 ||
	    X509_NAME_cmp(X509_get_subject_name(link), X509_get_subject_name(successor)) != 0)
		return false;
	bool ok = X509_verify(link, holder_key) == 1 && EVP_PKEY_eq(link_key, successor_key) == 1 &&
	          X509_verify(successor, successor_key) == 1;
	ERR_clear_error();
	return ok;
}

/* The successor of holder that some link in certs endorses, other than holder itself (same
 * key: no progress) and than the certificates already walked (used[]); prefer is taken when it
 * qualifies (the CA's active certificate, which may be missing from certs). Returns the index
 * in certs, n for prefer, or -1. */
static int find_successor(X509 *holder, STACK_OF(X509) *certs, X509 *prefer, const bool *used)
{
	int n = sk_X509_num(certs);
	int found = -1;
	for (int li = 0; li < n; li++) {
		X509 *link = sk_X509_value(certs, li);
		for (int ci = 0; ci <= n; ci++) {
			X509 *c = ci < n ? sk_X509_value(certs, ci) : prefer;
			if (c == NULL || (ci < n && used[ci]) || c == link)
				continue;
			if (EVP_PKEY_eq(X509_get0_pubkey(c), X509_get0_pubkey(holder)) == 1)
				continue;
			if (!link_endorses(link, holder, c))
				continue;
			if (prefer != NULL && X509_cmp(c, prefer) == 0)
				return n;
			if (found < 0)
				found = ci;
		}
	}
	return found;
}

int pki_custody_walk(X509 *pinned, STACK_OF(X509) *chain, X509 *active, pki_custody_result *out, ec_err *err)
{
	memset(out, 0, sizeof(*out));
	int n = sk_X509_num(chain);
	if (pinned == NULL || active == NULL)
		return ec_err_set(err, "no pinned or no active CA certificate");
	if (n > PKI_CUSTODY_MAX_CERTS)
		return ec_err_set(err, "the chain holds %d certificates (at most %d)", n, PKI_CUSTODY_MAX_CERTS);
	bool used[PKI_CUSTODY_MAX_CERTS + 1] = {false};
	X509 *holder = pinned;
	int steps = 0;
	while (X509_cmp(holder, active) != 0) {
		int i = find_successor(holder, chain, active, used);
		if (i < 0)
			return ec_err_set(err, "the CA's current certificate does not chain to the pinned CA "
			                  "certificate (%d link(s) followed, then none endorsed by that generation's key)",
			                  steps);
		if (i == n)
			break;
		used[i] = true;
		holder = sk_X509_value(chain, i);
		steps++;
	}
	out->generations = steps + (X509_cmp(holder, active) != 0 ? 1 : 0);
	out->current = X509_dup(active);
	int next = find_successor(active, chain, NULL, used);
	if (next >= 0 && next < n)
		out->successor = X509_dup(sk_X509_value(chain, next));
	if (out->current == NULL || (next >= 0 && next < n && out->successor == NULL)) {
		pki_custody_result_free(out);
		return ec_err_set(err, "out of memory");
	}
	return 0;
}

void pki_custody_result_free(pki_custody_result *r)
{
	X509_free(r->current);
	X509_free(r->successor);
	r->current = r->successor = NULL;
}

int pki_custody_parse_pem(const uint8_t *pem, size_t len, STACK_OF(X509) **out, ec_err *err)
{
	*out = NULL;
	if (len > INT32_MAX)
		return ec_err_set(err, "the chain is too large");
	ERR_clear_error();
	BIO *in = BIO_new_mem_buf(pem, (int)len);
	STACK_OF(X509) *certs = sk_X509_new_null();
	if (in == NULL || certs == NULL) {
		BIO_free(in);
		sk_X509_free(certs);
		return ec_err_set(err, "out of memory");
	}
	X509 *c;
	while ((c = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_num(certs) >= PKI_CUSTODY_MAX_CERTS || !sk_X509_push(certs, c)) {
			X509_free(c);
			ec_err_set(err, "the chain holds more than %d certificates", PKI_CUSTODY_MAX_CERTS);
			goto fail;
		}
	}
	/* The loop ends at the end of the data (no start line) or at a malformed certificate. */
	unsigned long e = ERR_peek_last_error();
	if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
		ec_err_set(err, "certificate %d of the chain is malformed", sk_X509_num(certs) + 1);
		goto fail;
	}
	ERR_clear_error();
	if (sk_X509_num(certs) == 0) {
		ec_err_set(err, "the chain holds no certificate");
		goto fail;
	}
	BIO_free(in);
	*out = certs;
	return 0;
fail:
	ERR_clear_error();
	BIO_free(in);
	sk_X509_pop_free(certs, X509_free);
	return -1;
}
