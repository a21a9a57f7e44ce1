/*
 * tp_record.h - a trustpoint's persisted state: the machine's timers and phase, the transaction
 * in flight, the installed certificates and which key slot is active.
 *
 * Stored as one small text file (`key value` lines, certificates as base64 DER on one line),
 * written atomically, so that after a crash the trustpoint is either entirely as before an
 * install or entirely after it, never half. Parsing is strict and bounded: an unknown key, a
 * malformed number or an oversized line is an error with its line number.
 */
#ifndef EVERCERT_CLIENT_TP_RECORD_H
#define EVERCERT_CLIENT_TP_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "client/tp_machine.h"
#include "util/buf.h"
#include "util/err.h"

#define TP_RECORD_MAX (1024 * 1024)
#define TP_TXID_MAX 128
#define TP_TEXT_MAX 512

/* The certificates a trustpoint holds, as DER. */
enum tp_blob {
	TP_BLOB_CA = 0,             /* active CA certificate */
	TP_BLOB_CERT,               /* active identity certificate */
	TP_BLOB_SIGNER,             /* the certificate that signed the request in flight */
	TP_BLOB_ROLLOVER_CA,        /* rollover CA certificate (SHADOW) */
	TP_BLOB_ROLLOVER_CERT,      /* identity certificate issued by the rollover CA */
	TP_BLOB_COUNT
};

typedef struct tp_record {
	tp_state m;
	char txid[TP_TXID_MAX + 1];     /* transaction in flight ("" when none) */
	char request_subject[TP_TEXT_MAX]; /* subject of the request in flight (for CertPoll) */
	char key_slot;                  /* 'a' or 'b': which key file is the active key pair */
	int request_key_shadow;         /* 1 when the request in flight carries the shadow key */
	unsigned caps;                  /* SCEP capabilities seen at the last GetCACaps (bit set) */
	char last_result[TP_TEXT_MAX];  /* the last outcome, for show */
	uint8_t *blob[TP_BLOB_COUNT];
	size_t blob_len[TP_BLOB_COUNT];
} tp_record;

void tp_record_init(tp_record *r);
void tp_record_free(tp_record *r);

/* Replaces a blob with a copy of der (NULL clears it). */
int tp_record_set_blob(tp_record *r, int which, const uint8_t *der, size_t len) EC_MUST_USE;

/* Moves blob `from` into `to` (replacing it) and leaves `from` empty. */
void tp_record_move_blob(tp_record *r, int from, int to);

/* Text form, appended to out. */
int tp_record_format(const tp_record *r, ec_buf *out) EC_MUST_USE;

/* Parses the text form into r (initialised by the call). */
int tp_record_parse(const uint8_t *text, size_t len, tp_record *r, ec_err *err) EC_MUST_USE;

#endif
