/*
 * store.h - the CA's system of record: issued certificates, enrollment transactions, the serial
 * counter, CA certificate generations, one-time passwords and small metadata.
 *
 * One interface, two backends: SQLite in WAL mode, synchronous=FULL (the default, one process per
 * database file) and PostgreSQL through libpq (several CA nodes may share one database; one
 * connection per store, its calls taking turns on it under a mutex).
 * store_open chooses the backend by the form of its URL and every call below goes to that
 * backend's table of operations (store_backend.h). Every call that changes something is one transaction: when it
 * returns 0 the change is durable (fsynced), which is what lets the CA send a reply only after the
 * certificate is recorded. Calls are serialised internally, so one ec_store may be shared by
 * threads.
 *
 * Serials are 64-bit counters shown in upper-case hex without leading zeros ("1", "2", "1A"):
 * one counter for CA and issued certificates. Serials are reserved durably in blocks of
 * STORE_SERIAL_BLOCK and handed out from memory, so that most issuances cost no fsync for their
 * serial; a serial is never handed out twice, even if the process dies, and what a stopped
 * process had left of its block is skipped (serials increase, with gaps across restarts).
 *
 * Rows returned to the caller are copies the caller frees with the matching _free function.
 * Failures return -1 with a reason; "not found" is returned as 1 where documented.
 *
 * Purity and threads: not pure (the database); any thread: HTTP threads and the main thread share
 * one store.
 */
#ifndef EVERCERT_STORE_STORE_H
#define EVERCERT_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock/clock.h"
#include "util/err.h"

typedef struct ec_store ec_store;

#define STORE_SERIAL_MAX 44   /* hex text of a serial (RFC 5280: up to 20 bytes) */
#define STORE_SUBJECT_MAX 1024
#define STORE_FP_MAX 65       /* sha256 hex + NUL */
#define STORE_TXID_MAX 257
#define STORE_SERIAL_BLOCK 32
#define STORE_REASON_MAX 256

enum store_cert_status { STORE_CERT_VALID = 0, STORE_CERT_REVOKED = 1 };

typedef struct store_cert {
	char serial[STORE_SERIAL_MAX];
	char issuer_serial[STORE_SERIAL_MAX]; /* serial of the CA certificate that signed it */
	char subject[STORE_SUBJECT_MAX];      /* empty at database level minimum */
	ec_time not_before;
	ec_time not_after;
	enum store_cert_status status;
	ec_time revoked_at;                   /* 0 unless revoked */
	uint8_t *der;                         /* NULL unless kept (level complete) */
	size_t der_len;
} store_cert;

enum store_req_state {
	STORE_REQ_PENDING = 0,
	STORE_REQ_GRANTED = 1,   /* certificate issued */
	STORE_REQ_REJECTED = 2,
	STORE_REQ_EXPIRED = 3,
	STORE_REQ_APPROVED = 4,  /* granted by the operator, certificate not yet issued */
};

/* An enrollment transaction: one PKCSReq/RenewalReq and its outcome. */
typedef struct store_request {
	int64_t id;                            /* assigned by store_request_insert */
	char txid[STORE_TXID_MAX];
	enum store_req_state state;
	int msg_type;                          /* SCEP messageType of the request */
	int fail_info;                         /* when rejected */
	bool renewal;                          /* signed by a certificate this CA issued */
	char subject[STORE_SUBJECT_MAX];
	char signer_fp[STORE_FP_MAX];          /* SHA-256 of the signer certificate, hex */
	char pubkey_fp[STORE_FP_MAX];          /* SHA-256 of the request's public key, hex */
	char ca_serial[STORE_SERIAL_MAX];      /* the CA certificate the request was encrypted to */
	char source[64];                       /* peer address */
	ec_time created;
	ec_time expires;                       /* pending requests are dropped after this */
	char cert_serial[STORE_SERIAL_MAX];    /* when granted */
	uint8_t *csr_der;                      /* the PKCS#10 */
	size_t csr_der_len;
	uint8_t *signer_der;                   /* the signer certificate (reply recipient) */
	size_t signer_der_len;
	uint8_t *cert_der;                     /* the issued certificate, kept for resends */
	size_t cert_der_len;
	char reason[STORE_REASON_MAX];         /* why it waits for the operator or was refused */
} store_request;

/* A request refused on arrival: what the operator needs to know of it, never the request
 * itself (an unauthenticated sender must not be able to fill the disk). */
typedef struct store_refusal {
	ec_time created;
	char source[64];
	char txid[STORE_TXID_MAX];
	char subject[STORE_SUBJECT_MAX];
	char pubkey_fp[STORE_FP_MAX];
	int fail_info;
	char reason[STORE_REASON_MAX];
} store_refusal;

/* CA certificate generations: the active CA, its rollover successor and retired ones. */
enum store_ca_role { STORE_CA_ACTIVE = 0, STORE_CA_ROLLOVER = 1, STORE_CA_RETIRED = 2 };

typedef struct store_ca_cert {
	int generation;                        /* 0 for the first CA, then 1, 2, ... */
	enum store_ca_role role;
	char serial[STORE_SERIAL_MAX];
	ec_time not_before;
	ec_time not_after;
	uint8_t *der;
	size_t der_len;
	/* The link certificate by which the previous generation's key endorsed this one (DER), or
	 * NULL: the first generation, or one made before links existed whose predecessor's key is
	 * gone. Kept for as long as the generation, retired ones included. */
	uint8_t *link_der;
	size_t link_der_len;
} store_ca_cert;

/* Where the store is. url is one of:
 *   sqlite:PATH or a plain PATH   the SQLite database at PATH (created if needed, mode 0600);
 *                                 a plain path must not begin with "WORD:" (it would be a scheme)
 *   sqlite::memory: or :memory:   a SQLite database in memory, gone at store_close (tests)
 *   postgresql://... or postgres://...   a PostgreSQL database: a libpq connection URI, given to
 *                                 libpq as it is (password by PGPASSFILE or passfile=, TLS by
 *                                 sslmode=...); the tables are made or upgraded at open
 * Another scheme names a backend this build does not have: refused. */
typedef struct store_config {
	const char *url;
} store_config;

int store_open(const store_config *cfg, ec_store **out, ec_err *err) EC_MUST_USE;
/* Closes the store; NULL is ignored. */
void store_close(ec_store *st);

/* ---- serials ---- */
/* Reserves the next serial (durably) and writes its hex text. The first serial is 1. */
int store_reserve_serial(ec_store *st, char serial[STORE_SERIAL_MAX], ec_err *err) EC_MUST_USE;
/* The last serial handed out by this process, or after a start the end of the last reserved
 * block ("0" when none). */
int store_last_serial(ec_store *st, char serial[STORE_SERIAL_MAX], ec_err *err) EC_MUST_USE;

/* ---- issued certificates ---- */
/* Records an issued certificate and, when request_id > 0, marks that request GRANTED with the
 * certificate attached: one transaction. */
int store_record_issued(ec_store *st, const store_cert *cert, int64_t request_id,
                        const uint8_t *cert_der, size_t cert_der_len, ec_err *err) EC_MUST_USE;
/* Records a new transaction that is already GRANTED (req->state, cert_serial and cert_der set by
 * the caller) together with its certificate, for requests granted on arrival. Returns once both
 * are durable. On SQLite, calls from concurrent threads are committed together (group commit: one
 * transaction and one fsync for the group, a savepoint per call so that one failure does not
 * take the others with it). Sets req->id. When otp is not NULL, that one-time password is used
 * up in the same transaction (valid at req->created): if it is no longer valid nothing is
 * recorded and 1 is returned, and if the grant fails the password stays usable. */
int store_record_granted(ec_store *st, store_request *req, const store_cert *cert, const char *otp,
                         ec_err *err) EC_MUST_USE;
/* A request under way (its envelope opened, being decided and signed) will likely call
 * store_record_granted within a few signatures' time. On SQLite a group commit about to start
 * waits a little (a few ms at most) for the requests that began before it, so that they share
 * its sync rather than each starting a group of its own. Every begin is matched by exactly one
 * end with its token, before the caller's own store_record_granted (a leader must not wait for
 * itself) and on every path that records nothing. Either does nothing on a NULL store. */
unsigned store_grant_expect_begin(ec_store *st);
void store_grant_expect_end(ec_store *st, unsigned token);
/* 0 found, 1 not found. */
int store_cert_get(ec_store *st, const char *serial, store_cert *out, ec_err *err) EC_MUST_USE;
/* Sets or clears revocation; 1 when the serial is unknown. */
int store_cert_set_revoked(ec_store *st, const char *serial, bool revoked, ec_time when, ec_err *err) EC_MUST_USE;
/* Calls fn for every revoked certificate issued by issuer_serial (NULL: any), in serial order.
 * fn returns 0 to go on, non-zero to stop (then that value is returned). */
int store_cert_each_revoked(ec_store *st, const char *issuer_serial,
                            int (*fn)(void *ctx, const store_cert *c), void *ctx, ec_err *err) EC_MUST_USE;
/* Number of issued certificates. */
int store_cert_count(ec_store *st, int64_t *count, ec_err *err) EC_MUST_USE;
void store_cert_free(store_cert *c);

/* ---- enrollment transactions ---- */
/* Records a transaction and sets req->id. On PostgreSQL, where several CA nodes may record the
 * same transaction at once, a live one (not EXPIRED) with the same txid and signer_fp is refused
 * with -1 and "already recorded" (so is such a grant by store_record_granted): one node wins. */
int store_request_insert(ec_store *st, store_request *req, ec_err *err) EC_MUST_USE;
/* The newest transaction with this txid and signer fingerprint (signer_fp NULL: any signer).
 * 0 found, 1 not found. */
int store_request_find(ec_store *st, const char *txid, const char *signer_fp, store_request *out, ec_err *err) EC_MUST_USE;
/* 0 found, 1 not found. */
int store_request_get(ec_store *st, int64_t id, store_request *out, ec_err *err) EC_MUST_USE;
/* Changes state (and fail_info); 1 when id is unknown. */
int store_request_set_state(ec_store *st, int64_t id, int state, int fail_info, ec_err *err) EC_MUST_USE;
/* Calls fn for each request in the given state, oldest first. */
int store_request_each(ec_store *st, int state, int (*fn)(void *ctx, const store_request *r),
                       void *ctx, ec_err *err) EC_MUST_USE;
/* The earliest expiry among the requests in a state: 0 with *at, 1 when there is none. Reads no
 * request (the store keeps them in order of state and expiry), for timers. */
int store_request_next_expiry(ec_store *st, int state, ec_time *at, ec_err *err) EC_MUST_USE;
/* Marks PENDING/APPROVED requests whose expiry is <= now as EXPIRED; returns the count. */
int store_request_expire(ec_store *st, ec_time now, ec_err *err) EC_MUST_USE;
/* Number of requests in a state. */
int store_request_count(ec_store *st, int state, int64_t *count, ec_err *err) EC_MUST_USE;
/* Number of requests in a state that came from one source address. */
int store_request_count_from(ec_store *st, int state, const char *source, int64_t *count, ec_err *err) EC_MUST_USE;
/* Everything kept for one source address that no certificate came of: requests not granted
 * (pending, approved, rejected, expired) and refusal records. */
int store_request_count_kept_from(ec_store *st, const char *source, int64_t *count, ec_err *err) EC_MUST_USE;
/* Forgets what no longer needs answering (keep_for is the enrollment request lifetime): rejected
 * requests past their expiry, expired requests keep_for after their expiry, refusal records
 * keep_for after they were made. One transaction; returns the number of rows deleted. */
int store_purge(ec_store *st, ec_time now, ec_time keep_for, ec_err *err) EC_MUST_USE;

/* ---- refusals ---- */
int store_refusal_record(ec_store *st, const store_refusal *r, ec_err *err) EC_MUST_USE;
int store_refusal_count(ec_store *st, int64_t *count, ec_err *err) EC_MUST_USE;
void store_request_free(store_request *r);

/* ---- CA certificate generations ---- */
int store_ca_put(ec_store *st, const store_ca_cert *ca, ec_err *err) EC_MUST_USE; /* insert or replace by generation */
int store_ca_set_role(ec_store *st, int generation, int role, ec_err *err) EC_MUST_USE;
/* Gives an existing generation its link certificate (made after the generation itself, when
 * a store from before links is opened). */
int store_ca_set_link(ec_store *st, int generation, const uint8_t *der, size_t der_len, ec_err *err) EC_MUST_USE;
int store_ca_delete(ec_store *st, int generation, ec_err *err) EC_MUST_USE;
/* Calls fn for every generation, oldest first. */
int store_ca_each(ec_store *st, int (*fn)(void *ctx, const store_ca_cert *ca), void *ctx, ec_err *err) EC_MUST_USE;
void store_ca_cert_free(store_ca_cert *ca);

/* ---- one-time challenge passwords (kept as SHA-256 hashes) ---- */
int store_otp_add(ec_store *st, const char *password, ec_time expires, ec_err *err) EC_MUST_USE;
/* 0 when the password was valid and is now used up; 1 when unknown, used or expired. */
int store_otp_consume(ec_store *st, const char *password, ec_time now, ec_err *err) EC_MUST_USE;
/* 0 when the password is valid at now (nothing changes); 1 when unknown, used or expired. */
int store_otp_check(ec_store *st, const char *password, ec_time now, ec_err *err) EC_MUST_USE;

/* ---- what CA nodes sharing one store agree through (SPEC: one CA, several nodes) ----
 * PostgreSQL is shared: several CA processes use one database, and these calls are how they
 * share the CA keys, elect the node that runs the timed events and see each other's changes.
 * SQLite has one process per database: the calls work (keys and CRL are kept, for tests) and
 * what they decide between nodes is trivially this process's. */

/* Whether other processes may share the store (PostgreSQL): the CA then keeps its keys and CRL
 * in it and runs its timed events under a lease. */
bool store_shared(ec_store *st);
/* A CA generation's private key as encrypted PKCS#8 DER (the caller encrypts: the store never
 * sees a key in clear). put inserts or replaces; get: 0 found (*der malloc'd), 1 not found. */
int store_ca_key_put(ec_store *st, int generation, const uint8_t *der, size_t len, ec_err *err) EC_MUST_USE;
int store_ca_key_get(ec_store *st, int generation, uint8_t **der, size_t *len, ec_err *err) EC_MUST_USE;
/* Serialises the creation of the first CA generation between nodes starting at once: take
 * true waits until this store holds the lock, false releases it. (PostgreSQL: a session
 * advisory lock, released also when the connection ends.) */
int store_ca_bootstrap_lock(ec_store *st, bool take, ec_err *err) EC_MUST_USE;
/* Takes or renews the lease `name` for holder until now + ttl: *held is true when holder has it
 * (it was free, expired at now, or already holder's), false when another holder's is live.
 * One atomic statement decides between nodes. Times are the caller's clock. */
int store_lease_acquire(ec_store *st, const char *name, const char *holder, ec_time now, ec_time ttl,
                        bool *held, ec_err *err) EC_MUST_USE;
/* Gives the lease up if holder has it (a node that stops), so another takes it at once. */
int store_lease_release(ec_store *st, const char *name, const char *holder, ec_err *err) EC_MUST_USE;

/* The CA's current CRL as every node serves it. */
typedef struct store_crl {
	int64_t number;
	ec_time this_update;
	ec_time next_update;
	uint8_t *der;
	size_t der_len;
} store_crl;

/* Keeps crl unless the store already has one with a number as high (another node was first):
 * 0 stored, 1 kept the other. */
int store_crl_put(ec_store *st, const store_crl *crl, ec_err *err) EC_MUST_USE;
/* 0 found, 1 none yet. */
int store_crl_get(ec_store *st, store_crl *out, ec_err *err) EC_MUST_USE;
void store_crl_free(store_crl *crl);
/* A counter that every change of CA generations (put, role, link, delete) and of the CRL bumps
 * in the same transaction: a node that sees it move reloads them. Always 0 on SQLite, whose
 * one process makes every change itself. */
int store_state_version(ec_store *st, int64_t *version, ec_err *err) EC_MUST_USE;
/* Whether err says the database could not be reached (connection lost, server down): the
 * caller may answer "try again later" rather than fail. */
#define STORE_UNAVAILABLE "database unavailable"
bool store_err_unavailable(const ec_err *err);

/* ---- backup and restore (SQLite: store_sqlite_backup.c) ---- */
/* Writes a consistent copy of the database to path (a new file, mode 0600; one that exists is
 * refused) while the store goes on serving: SQLite's online backup from a read snapshot of its
 * own, so no call waits for it. *last_serial gets the serial counter as copied (the highest
 * serial reserved). Returns 1, with the reason in err, when the database is no file of ours to
 * copy (PostgreSQL: pg_dump backs it up). */
int store_backup(ec_store *st, const char *path, char last_serial[STORE_SERIAL_MAX], ec_err *err) EC_MUST_USE;
/* On a database file restored from a backup, not open elsewhere: moves the serial counter
 * forward by serial_skip and the CRL number by crl_skip, in one transaction, so that nothing
 * issued after the backup (and lost with the original) is numbered again. next_serial gets the
 * next serial the CA will issue. */
int store_restore_counters(const char *path, int64_t serial_skip, int64_t crl_skip,
                           char next_serial[STORE_SERIAL_MAX], ec_err *err) EC_MUST_USE;

/* ---- what the store made the disk do ---- */
/* Counters since store_open, for the metrics and the benchmark; any thread, at any time. */
typedef struct store_stats {
	bool counted;            /* false: the backend counts nothing here (PostgreSQL syncs on its server) */
	uint64_t commits;        /* transactions committed */
	uint64_t fdatasyncs;     /* syncs of the database's files (fdatasync or fsync), whoever asked */
	uint64_t wal_frames;     /* pages written to the write-ahead log */
	uint64_t wal_bytes;      /* bytes written to it, frame headers included */
	uint64_t grants;         /* certificates recorded by store_record_granted */
	uint64_t grant_groups;   /* the group commits that recorded them */
} store_stats;
void store_get_stats(ec_store *st, store_stats *out);

/* ---- metadata (CRL number, CRL times, ...) ---- */
/* 0 found, 1 not found. */
int store_meta_get(ec_store *st, const char *key, char *value, size_t size, ec_err *err) EC_MUST_USE;
int store_meta_set(ec_store *st, const char *key, const char *value, ec_err *err) EC_MUST_USE;

#endif
