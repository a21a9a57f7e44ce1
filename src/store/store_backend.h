/*
 * store_backend.h - what a store backend implements: the operations of store.h on its own
 * connection state (store_backend, defined by each backend for itself), gathered in a table
 * (store_ops). store.c opens a backend by the form of store_config.url and dispatches each
 * store_* call to its table, so a new backend (PostgreSQL...) is a new set of files and one line
 * in store.c's list of backends, with nothing to change in the store's callers.
 *
 * Each operation has the contract of the store.h call of the same name (the _free functions
 * are not operations: rows are plain structures). Every operation is required. The otp_
 * operations are handed the password's hash (store_otp_hash), never an empty password: store.c
 * hashes it, so that what a password is and how it is kept is decided in one place. Likewise
 * store.c checks the arguments and names the object in the errors of some: cert_get and
 * cert_set_revoked are handed a canonical serial; ca_set_role (a role >= 0) and ca_set_link
 * return 1 when there is no such generation; the errors of these, of ca_delete and of
 * request_insert are only the backend's reason, wrapped by store.c.
 *
 * Purity and threads: as store.h.
 */
#ifndef EVERCERT_STORE_STORE_BACKEND_H
#define EVERCERT_STORE_STORE_BACKEND_H

#include "store/store.h"

typedef struct store_backend store_backend;

typedef struct store_ops {
	const char *name;
	void (*close)(store_backend *b);
	/* Optional (NULL where commits are not grouped): store_grant_expect_begin and _end. */
	unsigned (*grant_expect_begin)(store_backend *b);
	void (*grant_expect_end)(store_backend *b, unsigned token);
	int (*reserve_serial)(store_backend *b, char serial[STORE_SERIAL_MAX], ec_err *err);
	int (*last_serial)(store_backend *b, char serial[STORE_SERIAL_MAX], ec_err *err);
	int (*record_issued)(store_backend *b, const store_cert *cert, int64_t request_id, const uint8_t *cert_der,
	                     size_t cert_der_len, ec_err *err);
	int (*record_granted)(store_backend *b, store_request *req, const store_cert *cert, const char *otp,
	                      ec_err *err);
	int (*cert_get)(store_backend *b, const char *serial, store_cert *out, ec_err *err);
	int (*cert_set_revoked)(store_backend *b, const char *serial, bool revoked, ec_time when, ec_err *err);
	int (*cert_each_revoked)(store_backend *b, const char *issuer_serial,
	                         int (*fn)(void *ctx, const store_cert *c), void *ctx, ec_err *err);
	int (*cert_count)(store_backend *b, int64_t *count, ec_err *err);
	int (*request_insert)(store_backend *b, store_request *req, ec_err *err);
	int (*request_find)(store_backend *b, const char *txid, const char *signer_fp, store_request *out,
	                    ec_err *err);
	int (*request_get)(store_backend *b, int64_t id, store_request *out, ec_err *err);
	int (*request_set_state)(store_backend *b, int64_t id, int state, int fail_info, ec_err *err);
	int (*request_each)(store_backend *b, int state, int (*fn)(void *ctx, const store_request *r), void *ctx,
	                    ec_err *err);
	int (*request_expire)(store_backend *b, ec_time now, ec_err *err);
	int (*request_next_expiry)(store_backend *b, int state, ec_time *at, ec_err *err);
	int (*request_count)(store_backend *b, int state, int64_t *count, ec_err *err);
	int (*request_count_from)(store_backend *b, int state, const char *source, int64_t *count, ec_err *err);
	int (*request_count_kept_from)(store_backend *b, const char *source, int64_t *count, ec_err *err);
	int (*purge)(store_backend *b, ec_time now, ec_time keep_for, ec_err *err);
	int (*refusal_record)(store_backend *b, const store_refusal *r, ec_err *err);
	int (*refusal_count)(store_backend *b, int64_t *count, ec_err *err);
	int (*ca_put)(store_backend *b, const store_ca_cert *ca, ec_err *err);
	int (*ca_set_role)(store_backend *b, int generation, int role, ec_err *err);
	int (*ca_set_link)(store_backend *b, int generation, const uint8_t *der, size_t der_len, ec_err *err);
	int (*ca_delete)(store_backend *b, int generation, ec_err *err);
	int (*ca_each)(store_backend *b, int (*fn)(void *ctx, const store_ca_cert *ca), void *ctx, ec_err *err);
	int (*otp_add)(store_backend *b, const char *hash, ec_time expires, ec_err *err);
	int (*otp_consume)(store_backend *b, const char *hash, ec_time now, ec_err *err);
	int (*otp_check)(store_backend *b, const char *hash, ec_time now, ec_err *err);
	int (*meta_get)(store_backend *b, const char *key, char *value, size_t size, ec_err *err);
	int (*meta_set)(store_backend *b, const char *key, const char *value, ec_err *err);
	bool shared;
	int (*ca_key_put)(store_backend *b, int generation, const uint8_t *der, size_t len, ec_err *err);
	int (*ca_key_get)(store_backend *b, int generation, uint8_t **der, size_t *len, ec_err *err);
	int (*ca_bootstrap_lock)(store_backend *b, bool take, ec_err *err);
	int (*lease_acquire)(store_backend *b, const char *name, const char *holder, ec_time now, ec_time ttl,
	                     bool *held, ec_err *err);
	int (*lease_release)(store_backend *b, const char *name, const char *holder, ec_err *err);
	int (*crl_put)(store_backend *b, const store_crl *crl, ec_err *err);
	int (*crl_get)(store_backend *b, store_crl *out, ec_err *err);
	int (*state_version)(store_backend *b, int64_t *version, ec_err *err);
} store_ops;

/* Every operation but close, by name. A backend names its functions <prefix>_<operation>, declares
 * them with STORE_OP_DECLARE and fills its table with STORE_OP_ENTRY: the compiler then checks
 * each one against its member's type, and a table cannot leave one out. */
#define STORE_OPERATIONS(X) X(reserve_serial) X(last_serial) X(record_issued) X(record_granted) X(cert_get) \
	X(cert_set_revoked) X(cert_each_revoked) X(cert_count) X(request_insert) X(request_find) X(request_get) \
	X(request_set_state) X(request_each) X(request_expire) X(request_next_expiry) X(request_count) \
	X(request_count_from) X(request_count_kept_from) X(purge) X(refusal_record) X(refusal_count) X(ca_put) \
	X(ca_set_role) X(ca_set_link) X(ca_delete) X(ca_each) X(otp_add) X(otp_consume) X(otp_check) X(meta_get) \
	X(meta_set) X(ca_key_put) X(ca_key_get) X(ca_bootstrap_lock) X(lease_acquire) X(lease_release) X(crl_put) \
	X(crl_get) X(state_version)
#define STORE_OP_DECLARE(fn, op) __typeof__(*((store_ops *)0)->op) fn;
#define STORE_OP_ENTRY(fn, op) .op = fn,

/* ---- shared by the backends (defined with the SQLite backend) ---- */
#define STORE_OTP_HASH_MAX 65    /* SHA-256 hex + NUL */
/* Serial text: upper-case hex without leading zeros; store_serial_canon parses text of at most cap
 * bytes into its number and canonical text, -1 when it cannot be one of our serials. */
void store_serial_format(int64_t num, char out[STORE_SERIAL_MAX]);
int store_serial_canon(const char *text, size_t cap, char canon[STORE_SERIAL_MAX], int64_t *num);
/* The SHA-256 of password as lower-case hex: what the store keeps of a one-time password. */
int store_otp_hash(const char *password, char hex[STORE_OTP_HASH_MAX], ec_err *err);

/* The kinds of rows the _each calls hand to their callbacks, and the callbacks. */
enum store_row_kind { STORE_ROW_CERT, STORE_ROW_REQUEST, STORE_ROW_CA };

typedef union store_row_fn {
	int (*cert)(void *ctx, const store_cert *c);
	int (*request)(void *ctx, const store_request *r);
	int (*ca)(void *ctx, const store_ca_cert *ca);
} store_row_fn;

/* Calls fn with a row of its kind, then frees the row; when rc != 0 (a callback stopped the
 * walk) fn is not called and rc is returned. Defined in store.c. */
int store_row_visit(enum store_row_kind kind, store_row_fn fn, void *ctx, void *row, int rc);

/* ---- the SQLite backend (store_sqlite*.c) ---- */
/* Its target: a file path, or STORE_SQLITE_MEMORY for a database in memory, gone at close
 * (for tests: one connection, nothing durable). */
#define STORE_SQLITE_MEMORY ":memory:"
int store_sqlite_open(const char *target, store_backend **out, ec_err *err) EC_MUST_USE;
extern const store_ops store_sqlite_ops;
/* The SQLite backend's store_backup (store_sqlite_backup.c). */
int store_sqlite_backup(store_backend *b, const char *path, char last_serial[STORE_SERIAL_MAX], ec_err *err);

/* The SQLite backend's store_get_stats. */
void store_sqlite_stats(store_backend *b, store_stats *out);

/* ---- the PostgreSQL backend (store_pg*.c) ---- */
/* Its target: the whole libpq connection URI ("postgresql://..." or "postgres://..."), given to
 * PQconnectdb as it is (password by PGPASSFILE or passfile=, TLS by sslmode=...). */
int store_pg_open(const char *uri, store_backend **out, ec_err *err) EC_MUST_USE;
extern const store_ops store_pg_ops;

#endif
