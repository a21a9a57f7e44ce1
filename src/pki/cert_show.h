/*
 * cert_show.h - the entries of `show crypto pki certificates` and `show crypto key mypubkey rsa`
 * in the router's layout, the same for a certificate server's and a trustpoint's.
 *
 * A certificate entry of `show crypto pki certificates`, in the router's layout,
 * the same for a certificate server's CA certificates and a trustpoint's CA and identity
 * certificates:
 *
 *   CA Certificate (Rollover)             or "Certificate" for an identity certificate
 *     Status: Available                     "Expired" after its end
 *     Certificate Serial Number (hex): 03
 *     Certificate Usage: Signature          "General Purpose" for an identity certificate
 *     Issuer:
 *       cn=RootCA                           one attribute a line, most specific first
 *     Subject:
 *       Name: RootCA                        the CN's value, when the name has one
 *       cn=RootCA
 *     Subject Alternative Names:            evercert's addition, when there are any
 *       DNS: www.example.net
 *     Validity Date:
 *       start date: 13:14:16 CET Oct 8 2017  in the display zone (`clock timezone`)
 *       end   date: 13:14:16 CET Oct 8 2019
 *     Associated Trustpoints: ROOTCA        the names are the caller's, between head and tail
 *     Storage: /var/lib/evercert/ROOTCA/ROOTCA-rollover.pem
 *
 * A key entry of `show crypto key mypubkey rsa`:
 *
 *   % Key pair was generated at: 13:14:16 CET Oct 9 2015
 *   Key name: ROOTCA                      NAME# for a successor's key (a CA's rollover key, a
 *   Key type: RSA KEYS                    trustpoint's shadow key), as the router names them
 *    Key size: 2048 bits                  evercert's addition
 *    Storage Device: /var/lib/evercert/ROOTCA/ROOTCA.0.key
 *    Usage: General Purpose Key
 *    Key is not exportable.
 *    Key Data:
 *     30819F30 0D06092A ...               the SubjectPublicKeyInfo, DER, 8 words a line
 *
 * When the making of a key was not recorded, the first line gives its file's modification time
 * as such ("% Key pair file was written at: ..."), or says that the time is not known.
 *
 * Text taken from a certificate (names, alternative names) is shown with control bytes replaced,
 * so that a crafted certificate cannot write to the operator's terminal.
 *
 * Purity and threads: pure (the time is given; nothing is read but the certificate); any thread.
 */
#ifndef EVERCERT_PKI_CERT_SHOW_H
#define EVERCERT_PKI_CERT_SHOW_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

#include <openssl/evp.h>

#include "clock/clock.h"
#include "util/buf.h"

typedef struct pki_cert_entry {
	X509 *cert;                 /* borrowed */
	bool ca;                    /* a CA certificate: "CA Certificate", usage Signature */
	const char *qualifier;      /* "Rollover", "Retired" or NULL: shown in parentheses after the title */
} pki_cert_entry;

/* "Available", "Available (not yet valid)" or "Expired" at now (--json's status; the text entry
 * says "Available" before the start too, as the router does). */
const char *pki_cert_status(X509 *cert, ec_time now);

/* Appends the entry from its title to "  Associated Trustpoints:" (no names, no line end): the
 * caller appends " NAME" for each trustpoint, then calls pki_cert_entry_tail. -1 on failure. */
int pki_cert_entry_head(ec_buf *out, const pki_cert_entry *e, ec_time now);
/* Ends the trustpoints' line and the entry: "  Storage: PATH" when storage is given, then the
 * blank line between entries. */
int pki_cert_entry_tail(ec_buf *out, const char *storage);

/* One subjectAltName as text: its type ("dns", "ip", "email", "uri", "other") and value. */
typedef struct pki_alt_name {
	const char *type;
	char value[256];
} pki_alt_name;
/* The certificate's subjectAltNames, at most max; returns how many. */
size_t pki_cert_alt_names(X509 *cert, pki_alt_name *out, size_t max);

/* How a key entry knows when its key was made. */
enum pki_key_time_source {
	PKI_KEY_TIME_NONE = -1,     /* not known */
	PKI_KEY_TIME_FILE = 0,      /* the key file's modification time */
	PKI_KEY_TIME_RECORDED = 1,  /* recorded when the key was made */
};

typedef struct pki_key_entry {
	const char *name;           /* "ROOTCA", "ROOTCA#" */
	EVP_PKEY *key;              /* borrowed */
	ec_time made;               /* per made_source */
	int made_source;            /* enum pki_key_time_source */
	const char *storage;        /* the key file, or where else the key is kept */
	bool exportable;
} pki_key_entry;

/* The entry as text, ending with the last line of key data. */
int pki_key_entry_text(ec_buf *out, const pki_key_entry *e);
/* The entry's JSON members, each after a comma (inside an object the caller opened): key_name,
 * key_type ("rsa", "ec"), bits, public_key_der_hex, generated_at (ISO 8601 or null),
 * generated_at_source ("recorded", "file" or "unknown"), storage_device, exportable. */
int pki_key_entry_json(ec_buf *out, const pki_key_entry *e);

#endif
