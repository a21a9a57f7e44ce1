/*
 * ca_internal.h - the certificate server's private state, shared by the ca_*.c files only.
 *
 * Locking: `lock` (a read-write lock) guards the key generations, the CRL and the shutdown flag:
 * HTTP threads hold it for reading while they use keys; the main thread takes it for writing to
 * change them (rollover, switch, CRL reissue). The transaction locks serialise the
 * decide-and-record part of enrollment per transactionID (striped by its hash), so that two
 * copies of one request can never both be issued while different requests are issued in
 * parallel. Order: lock, then one transaction lock (never two).
 *
 * Purity and threads: not pure (the store, files, keys); called on the threads of ca.h under the
 * locks above.
 */
#ifndef EVERCERT_CA_INTERNAL_H
#define EVERCERT_CA_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "ca/ca.h"
#include "ca/policy.h"
#include "pki/pki.h"
#include "scep/scep.h"
#include "store/store.h"

#define CA_MAX_GENERATIONS 64
#define CA_TX_STRIPES 64
/* What one source address may leave in the store without a certificate coming of it: requests
 * waiting in the manual queue plus the records of refused and expired ones. */
#define CA_KEPT_PER_SOURCE_MAX 64
/* The purge of refused and expired requests past their time runs at most this often. */
#define CA_PURGE_INTERVAL ((ec_time)3600 * 1000)
/* On a shared store: how long the lease on the timed events lasts unless renewed (a node that
 * dies is replaced within it), and how often each node renews it and looks for others'
 * changes (the most a node serves an outdated CA certificate or CRL). */
#define CA_LEASE_TTL ((ec_time)10 * 1000)
#define CA_CHECK_INTERVAL ((ec_time)1000)
/* Retry-After of a request that found the store unreachable. */
#define CA_UNAVAILABLE_RETRY_SECONDS 5

typedef struct ca_gen {
	int generation;
	enum store_ca_role role;
	X509 *cert;
	/* The link certificate by which the previous generation's key endorsed this one; NULL for
	 * the first generation, or one from before links whose predecessor's key was gone. */
	X509 *link;
	EVP_PKEY *key;                  /* NULL when the key file is gone (retired, expired) */
	char serial[PKI_SERIAL_MAX];
	ec_time not_before;
	ec_time not_after;
} ca_gen;

#define CA_EARLY_RING 1024

struct ca_engine {
	cfg_server cfg;
	ca_env env;
	ec_dir dir;                     /* every file of the CA is opened relative to dir.fd */
	ec_store *store;
	const EVP_MD *digest;           /* for certificates and CRLs */
	pki_issuance_rules rules;       /* what a request may ask for */
	char key_password[256];

	pthread_rwlock_t lock;
	pthread_mutex_t tx_locks[CA_TX_STRIPES];
	ca_gen gens[CA_MAX_GENERATIONS];
	size_t n_gens;
	int active;                     /* index into gens */
	int rollover;                   /* index into gens, or -1 */
	bool shutdown;
	ec_time next_purge;             /* main thread only; 0: at the first timer run */

	/* The early GetNextCACert requests (answered 503), for `show timeline`: when each of the last
	 * CA_EARLY_RING arrived. HTTP threads add under the read lock, so without a lock of their own. */
	_Atomic ec_time early_at[CA_EARLY_RING];
	atomic_uint_fast64_t early_n;

	uint8_t *crl_der;
	size_t crl_len;
	ec_time crl_this_update;
	ec_time crl_next_update;
	int64_t crl_number;

	/* Shared store (PostgreSQL), main thread only: */
	bool shared;
	char node_id[96];               /* this node in the lease and the log */
	bool lead;                      /* held the lease at the last check */
	ec_time next_check;             /* next lease renewal and refresh */
	int64_t state_version;          /* of the store, when the generations were last read */

	/* Enrollment answers by outcome (ca_metrics_read), counted on the HTTP threads. */
	atomic_uint_fast64_t outcomes[CA_OUTCOME_COUNT];
};

/* ca_core.c */
/* Loads a stored generation into *g (zeroed first): its key from the file, else from the store
 * when shared. 0, -1 (unreadable certificate) or -2 (a key that does not load). */
int ca_gen_load(ca_engine *ca, const store_ca_cert *row, ca_gen *g, ec_err *err);
/* The name of a file in the CA directory (relative to ca->dir). */
int ca_file(const ca_engine *ca, char *out, size_t outsz, const char *fmt, ...) EC_PRINTF(4, 5);
int ca_gen_files(const ca_engine *ca, int generation, char *key_name, char *cert_name, size_t sz);
int ca_publish_active(ca_engine *ca, ec_err *err);
/* endorser: the generation whose key signs the new one's link certificate (NULL for none); the
 * generation and its link are stored in one row. key: the generation's key pair, made before
 * (taken over, whatever the outcome), or NULL to make one here. */
int ca_create_generation(ca_engine *ca, int generation, int role, ec_time not_before, ec_time now,
                         const ca_gen *endorser, EVP_PKEY *key, ec_err *err);
void ca_audit(ca_engine *ca, const char *fmt, ...) EC_PRINTF(2, 3);
/* The digest of certificates and CRLs for a `hash` line (enum cfg_hash). */
const EVP_MD *ca_digest_for(int hash);
/* The transaction lock of a transactionID. */
pthread_mutex_t *ca_tx_lock(ca_engine *ca, const char *txid);
/* Fills *out with kind and body, which it takes (freed by the reply); body NULL is out of memory. */
int ca_reply_take(ca_reply *out, ca_reply_kind kind, uint8_t *body, size_t len, ec_err *err) EC_MUST_USE;
/* The same with a copy of data. */
int ca_reply_copy(ca_reply *out, ca_reply_kind kind, const void *data, size_t len, ec_err *err) EC_MUST_USE;
ca_gen *ca_gen_by_serial(ca_engine *ca, const char *serial);

/* ca_cluster.c: one CA on several nodes sharing the store (main thread) */
/* After the store is open: notes whether it is shared and names this node; a shared store
 * without an archive password is refused. */
int ca_cluster_init(ca_engine *ca, ec_err *err);
/* The key of a generation in the store, PKCS#8 encrypted under the key password; get returns 1
 * when the store has none. */
int ca_key_put_shared(ca_engine *ca, int generation, EVP_PKEY *key, ec_err *err);
int ca_key_get_shared(ca_engine *ca, int generation, EVP_PKEY **key, ec_err *err);
/* At each timer run on a shared store: reloads what other nodes changed, then takes or renews
 * the lease; true when this node runs the timed events. Sets the next check. */
bool ca_cluster_tick(ca_engine *ca, ec_time now);
/* At close: gives the lease up, so that another node takes over at once. */
void ca_cluster_leave(ca_engine *ca);

/* ca_custody.c */
/* Makes successor->link, signed by outgoing's key, valid from now (not stored here). */
int ca_link_make(ca_engine *ca, const ca_gen *outgoing, ca_gen *successor, ec_time now, ec_err *err);
/* At start: makes and stores the link of every generation that has none while its
 * predecessor's key is still present (stores from before links); failures are audited. */
void ca_links_complete(ca_engine *ca, ec_time now);
/* Writes NAME-rollover.pem when there is a rollover CA certificate, removes it when there is
 * none; failures are audited (the file is a convenience, HTTP serves the same from memory). */
void ca_publish_rollover(ca_engine *ca);

/* ca_crl.c */
int ca_crl_issue(ca_engine *ca, ec_time now, ec_err *err); /* caller holds lock for writing */
/* Shared store: takes the store's CRL when it differs from the one served and is signed by the
 * active key (caller holds lock for writing): 0 taken, 1 nothing to take. */
int ca_crl_adopt(ca_engine *ca, ec_err *err);
int ca_crl_load(ca_engine *ca, ec_err *err);

/* ca_issue.c */
/* Makes the certificate for a request (serial reserved, .cer exported at level complete) without
 * recording it: *row describes it for the store (row->der borrows *der). csr, when not NULL, is
 * the request already parsed; *cert (optional) receives the certificate object. */
int ca_issue_build(ca_engine *ca, const store_request *req, X509_REQ *csr, ca_gen *gen, ec_time now,
                   store_cert *row, uint8_t **der, size_t *der_len, X509 **cert, ec_err *err);
/* Issues the certificate of a stored request with generation gen; caller holds the request's transaction lock and lock
 * (read). On success the request is GRANTED in the store and *der holds the certificate. */
int ca_issue_for_request(ca_engine *ca, const store_request *req, ca_gen *gen, ec_time now,
                         uint8_t **der, size_t *der_len, ec_err *err);

/* ca_rollover.c */
/* The successor's key pair, made without the lock and beside the daemon's loop (task.h) when run
 * in a task: seconds of arithmetic for a large key stop neither SCEP requests nor the loop. NULL
 * (err set) on failure. */
EVP_PKEY *ca_rollover_key(const ca_engine *ca, ec_err *err);
/* Caller holds lock (write); key as ca_create_generation's. */
int ca_rollover_create(ca_engine *ca, ec_time now, EVP_PKEY *key, ec_err *err);
/* Caller holds lock (write). record: write the roles to the store and reissue the CRL (false on
 * a node of a shared store that does not hold the lease: it switches what it serves by itself,
 * the holder records it). */
int ca_rollover_switch(ca_engine *ca, ec_time now, bool record, ec_err *err);
ec_time ca_shadow_generation_time(const ca_engine *ca);             /* INT64_MAX when none */
/* ca_metrics.c: "active", "rollover" or "retired", as show and the metrics name them. */
const char *ca_role_name(enum store_ca_role role);

/* ca_keytime.c: when each CA key pair was made, for `show crypto key mypubkey rsa`: kept in
 * NAME.<G>.key.made beside the key (ISO 8601 UTC), written once when the generation is created.
 * A failure to write it is audited, never fatal: the show then falls back to the key file's time. */
void ca_key_time_record(ca_engine *ca, int generation, ec_time made);
/* The key's recorded making time (returns 1), else its key file's modification time (0), else
 * -1 (neither: a key of a shared store that this node never wrote). */
int ca_key_time(const ca_engine *ca, int generation, ec_time *out);
/* Removes the record with its key (a cancelled rollover). */
void ca_key_time_forget(ca_engine *ca, int generation);

#endif
