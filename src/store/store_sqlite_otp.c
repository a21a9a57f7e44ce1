/*
 * store_sqlite_otp.c - the SQLite backend's one-time challenge passwords, kept as SHA-256 hashes.
 */
#include "store/store_sqlite_internal.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

/* ---- one-time passwords ---- */

/* The SHA-256 of password as lower-case hex. */

/* Uses up a one-time password inside the open transaction: 0 done, 1 no longer valid. */
int sq_otp_use_in_tx(store_backend *st, const char *hash, ec_time now, ec_err *err)
{
	binder b = sq_bind(st, ST_OTP_CONSUME);
	int64_t changed = 0;
	sq_bind_text(&b, 1, hash, STORE_OTP_HASH_MAX);
	sq_bind_int(&b, 2, now);
	if (sq_exec(st, &b, &changed, err, "using up the one-time password") != 0)
		return -1;
	if (changed == 1)
		return 0;
	ec_err_set(err, "the one-time password is no longer valid");
	return 1;
}
int store_otp_hash(const char *password, char hex[STORE_OTP_HASH_MAX], ec_err *err)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (EVP_Digest(password, strlen(password), md, &len, EVP_sha256(), NULL) != 1 || len != 32)
		return ec_err_ssl(err, "hashing a one-time password");
	for (unsigned int i = 0; i < len; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0x0f];
	}
	hex[2 * len] = '\0';
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

/* Runs an OTP statement under the lock: ?1 the hash, ?2 a time; 0 when it changed one row, 1 when
 * none, -1 on failure. */
static int otp_run(store_backend *st, enum stmt_id id, const char *hash, ec_time t, ec_err *err)
{
	int64_t changed = 0;
	sq_lock(st);
	binder b = sq_bind(st, id);
	sq_bind_text(&b, 1, hash, STORE_OTP_HASH_MAX);
	sq_bind_int(&b, 2, t);
	int rc = sq_exec(st, &b, &changed, err, "updating the password table");
	sq_unlock(st);
	return rc != 0 ? -1 : changed == 1 ? 0 : 1;
}

int sq_otp_check(store_backend *st, const char *hash, ec_time now, ec_err *err)
{
	int64_t count = 0;
	if (sq_count(st, ST_OTP_VALID, &now, hash, &count, err) != 0)
		return -1;
	return count == 1 ? 0 : 1;
}

/* Adding a password that is already known makes it usable again with the new expiry. */
int sq_otp_add(store_backend *st, const char *hash, ec_time expires, ec_err *err)
{
	return otp_run(st, ST_OTP_ADD, hash, expires, err) < 0 ? -1 : 0;
}

int sq_otp_consume(store_backend *st, const char *hash, ec_time now, ec_err *err)
{
	return otp_run(st, ST_OTP_CONSUME, hash, now, err);
}
