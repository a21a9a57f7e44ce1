/*
 * store_pg_conn.c - the PostgreSQL backend's connection and the shell every call runs its
 * statements in: the lock, reconnection, binary parameters and columns, errors, transactions and
 * the paged walk of the _each calls.
 *
 * Statements go by PQexecParams (the unnamed statement), never by named prepared statements:
 * after PQreset nothing has to be prepared again, and no statement outlives a connection.
 */
#include "store/store_pg_internal.h"

#include "util/dynlib.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Type OIDs of the parameters we send (pg_type.h is server-side, not in libpq-dev). */
#define PG_OID_BYTEA 17
#define PG_OID_INT8 20
#define PG_OID_TEXT 25
/* SQLSTATE unique_violation. */
#define PG_UNIQUE_VIOLATION "23505"

pg_library pq;
static pthread_once_t pq_once = PTHREAD_ONCE_INIT;
static char pq_error[256]; /* empty once loaded */

/* Kept loaded for the life of the process: stores may be opened again. */
static void load_pq(void)
{
#define PG_SYMBOL(name) {#name, (void **)&pq.name},
	static const ec_dynsym syms[] = {PG_FUNCTIONS(PG_SYMBOL)};
#undef PG_SYMBOL
	(void)ec_dynlib_load(PG_LIBRARY, "libpq5", syms, sizeof(syms) / sizeof(syms[0]), pq_error, sizeof(pq_error));
}

int pg_load(ec_err *err)
{
	pthread_once(&pq_once, load_pq);
	return pq_error[0] == '\0' ? 0 : ec_err_set(err, "%s", pq_error);
}

void pg_lock(store_backend *b)
{
	pthread_mutex_lock(&b->lock);
}

void pg_unlock(store_backend *b)
{
	pthread_mutex_unlock(&b->lock);
}

/* libpq's message for the connection on one line: its lines joined by "; ", runs of blanks
 * made one space (it is logged). */
static void conn_reason(store_backend *b, char *dst, size_t size)
{
	const char *src = b->conn != NULL ? pq.PQerrorMessage(b->conn) : "no connection";
	size_t n = 0;
	for (; *src != '\0' && n + 3 < size; src++) {
		bool blank = *src == ' ' || *src == '\t' || *src == '\n';
		if (!blank) {
			dst[n++] = *src;
			continue;
		}
		if (n == 0 || dst[n - 1] == ' ')
			continue;
		if (*src == '\n' && src[1] != '\0')
			dst[n++] = ';';
		dst[n++] = ' ';
	}
	while (n > 0 && dst[n - 1] == ' ')
		n--;
	dst[n] = '\0';
}

static int unavailable(store_backend *b, ec_err *err)
{
	char why[EC_ERR_MSG_MAX];
	conn_reason(b, why, sizeof(why));
	return ec_err_set(err, "database unavailable: %s", why);
}

int pg_ready(store_backend *b, ec_err *err)
{
	if (b->conn != NULL && pq.PQstatus(b->conn) == CONNECTION_OK)
		return 0;
	/* Lost by an earlier call (PostgreSQL restarted, network cut): one new try. */
	if (b->conn != NULL)
		pq.PQreset(b->conn);
	if (b->conn == NULL || pq.PQstatus(b->conn) != CONNECTION_OK)
		return unavailable(b, err);
	return 0;
}

/* ---- parameters ---- */

/* Fills the next parameter slot (binary format) and returns its index; past PG_PARAMS_MAX it
 * fills nothing and returns -1 (n counts on, and pg_exec refuses). */
static int param_put(pg_params *p, Oid type, const char *value, int length)
{
	if (p->n++ >= PG_PARAMS_MAX)
		return -1;
	int i = p->n - 1;
	p->types[i] = type;
	p->values[i] = value;
	p->lengths[i] = length;
	p->formats[i] = 1;
	return i;
}

void pg_param_int(pg_params *p, int64_t v)
{
	int i = param_put(p, PG_OID_INT8, NULL, 8);
	if (i < 0)
		return;
	p->ints[i] = htobe64((uint64_t)v);
	p->values[i] = (const char *)&p->ints[i];
}

void pg_param_text(pg_params *p, const char *text, size_t cap)
{
	param_put(p, PG_OID_TEXT, text, text != NULL ? (int)strnlen(text, cap) : 0);
}

void pg_param_blob(pg_params *p, const uint8_t *data, size_t len)
{
	param_put(p, PG_OID_BYTEA, data != NULL ? (const char *)data : NULL, (int)len);
}

/* ---- running statements ---- */

/* The error of a failed statement: lost connection, a UNIQUE constraint, or PostgreSQL's reason. */
static void exec_fail(store_backend *b, const PGresult *r, ec_err *err, const char *what)
{
	if (pq.PQstatus(b->conn) != CONNECTION_OK) {
		unavailable(b, err);
		ec_err_wrap(err, "%s", what);
		return;
	}
	const char *state = r != NULL ? pq.PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = r != NULL ? pq.PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (state != NULL && strcmp(state, PG_UNIQUE_VIOLATION) == 0) {
		const char *constraint = pq.PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
		ec_err_set(err, "%s: already recorded (UNIQUE constraint %s)", what,
		           constraint != NULL ? constraint : "?");
		return;
	}
	if (primary != NULL) {
		ec_err_set(err, "%s: %s", what, primary);
		return;
	}
	char why[EC_ERR_MSG_MAX];
	conn_reason(b, why, sizeof(why));
	ec_err_set(err, "%s: %s", what, why);
}

/* The rows a command changed (or a query returned). */
static int64_t rows_changed(const PGresult *r)
{
	const char *text = pq.PQcmdTuples((PGresult *)r);
	if (text == NULL || text[0] == '\0')
		return pq.PQntuples(r);
	errno = 0;
	long long n = strtoll(text, NULL, 10);
	return errno == 0 ? (int64_t)n : 0;
}

PGresult *pg_exec(store_backend *b, const char *sql, const pg_params *p, int64_t *changes, ec_err *err,
                  const char *what)
{
	int n = p != NULL ? p->n : 0;
	if (n > PG_PARAMS_MAX) {
		ec_err_set(err, "%s: %d parameters, at most %d", what, n, PG_PARAMS_MAX);
		return NULL;
	}
	if (pg_ready(b, err) != 0) {
		ec_err_wrap(err, "%s", what);
		return NULL;
	}
	PGresult *r = pq.PQexecParams(b->conn, sql, n, p != NULL ? p->types : NULL, p != NULL ? p->values : NULL,
	                           p != NULL ? p->lengths : NULL, p != NULL ? p->formats : NULL, 1);
	ExecStatusType status = r != NULL ? pq.PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
		exec_fail(b, r, err, what);
		pq.PQclear(r);
		return NULL;
	}
	if (changes != NULL)
		*changes = rows_changed(r);
	return r;
}

int pg_script(store_backend *b, const char *sql, ec_err *err, const char *what)
{
	if (pg_ready(b, err) != 0)
		return ec_err_wrap(err, "%s", what);
	PGresult *r = pq.PQexec(b->conn, sql);
	int rc = 0;
	if (r == NULL || pq.PQresultStatus(r) != PGRES_COMMAND_OK) {
		exec_fail(b, r, err, what);
		rc = -1;
	}
	pq.PQclear(r);
	return rc;
}

int pg_run(store_backend *b, const char *sql, const pg_params *p, int64_t *changes, ec_err *err, const char *what)
{
	PGresult *r = pg_exec(b, sql, p, changes, err, what);
	if (r == NULL)
		return -1;
	pq.PQclear(r);
	return 0;
}

int pg_count(store_backend *b, const char *sql, const pg_params *p, int64_t *count, ec_err *err)
{
	*count = 0;
	pg_lock(b);
	PGresult *r = pg_exec(b, sql, p, NULL, err, "counting");
	int rc = r == NULL ? -1 : 0;
	if (rc == 0 && pq.PQntuples(r) != 1)
		rc = ec_err_set(err, "counting: no result");
	if (rc == 0)
		*count = pg_col_int(r, 0, 0);
	pq.PQclear(r);
	pg_unlock(b);
	return rc;
}

/* ---- columns ---- */

int64_t pg_col_int(const PGresult *r, int row, int col)
{
	if (pq.PQgetisnull(r, row, col))
		return 0;
	const char *v = pq.PQgetvalue(r, row, col);
	uint64_t u64;
	uint32_t u32;
	uint16_t u16;
	switch (pq.PQgetlength(r, row, col)) {
	case 8:
		memcpy(&u64, v, 8);
		return (int64_t)be64toh(u64);
	case 4:
		memcpy(&u32, v, 4);
		return (int32_t)be32toh(u32);
	case 2:
		memcpy(&u16, v, 2);
		return (int16_t)be16toh(u16);
	default:
		return 0;
	}
}

void pg_col_text(const PGresult *r, int row, int col, char *dst, size_t size)
{
	/* PQgetvalue ends binary values with a NUL too; NULL reads as "". */
	const char *v = pq.PQgetisnull(r, row, col) ? "" : pq.PQgetvalue(r, row, col);
	snprintf(dst, size, "%s", v);
}

int pg_col_blob(const PGresult *r, int row, int col, uint8_t **out, size_t *len)
{
	int n = pq.PQgetisnull(r, row, col) ? 0 : pq.PQgetlength(r, row, col);
	*out = NULL;
	*len = 0;
	if (n <= 0)
		return 0;
	if ((*out = malloc((size_t)n)) == NULL)
		return -1;
	memcpy(*out, pq.PQgetvalue(r, row, col), (size_t)n);
	*len = (size_t)n;
	return 0;
}

static int64_t cols_int(const store_cols *c, int col)
{
	return pg_col_int(c->res, c->row, col);
}

static void cols_text(const store_cols *c, int col, char *dst, size_t size)
{
	pg_col_text(c->res, c->row, col, dst, size);
}

static int cols_blob(const store_cols *c, int col, uint8_t **out, size_t *len)
{
	return pg_col_blob(c->res, c->row, col, out, len);
}

store_cols pg_cols(const PGresult *r, int row)
{
	return (store_cols){cols_int, cols_text, cols_blob, r, row};
}

static void writer_int(store_params *p, int64_t v)
{
	pg_param_int(p->dst, v);
}

static void writer_text(store_params *p, const char *text, size_t cap)
{
	pg_param_text(p->dst, text, cap);
}

static void writer_blob(store_params *p, const uint8_t *data, size_t len)
{
	pg_param_blob(p->dst, data, len);
}

store_params pg_writer(pg_params *p)
{
	return (store_params){writer_int, writer_text, writer_blob, p, 1};
}

/* ---- transactions ---- */

int pg_begin(store_backend *b, ec_err *err)
{
	return pg_run(b, "BEGIN", NULL, NULL, err, "starting a transaction");
}

int pg_commit(store_backend *b, ec_err *err)
{
	return pg_run(b, "COMMIT", NULL, NULL, err, "committing");
}

void pg_rollback(store_backend *b)
{
	if (b->conn == NULL || pq.PQstatus(b->conn) != CONNECTION_OK ||
	    pq.PQtransactionStatus(b->conn) == PQTRANS_IDLE)
		return;
	pq.PQclear(pq.PQexec(b->conn, "ROLLBACK"));
}

int pg_fetch_row(store_backend *b, const char *sql, const pg_params *p, const store_row_type *type, void *out,
                 ec_err *err, const char *what)
{
	pg_lock(b);
	PGresult *r = pg_exec(b, sql, p, NULL, err, what);
	int rc = r == NULL ? -1 : pq.PQntuples(r) == 0 ? 1 : 0;
	store_cols c = pg_cols(r, 0);
	if (rc == 0)
		rc = type->read(&c, out, err);
	pq.PQclear(r);
	pg_unlock(b);
	return rc;
}

/* ---- paged walks ---- */

/* Reads the page after *after into rows and moves *after to its last row. *n is the number of
 * rows read, also on failure (they are to be freed). */
/* The query of a walk: its SQL and how many parameters it takes. */
typedef struct pg_query {
	const char *sql;
	int nparams;
} pg_query;

static int page_read(void *conn, const void *query, const store_walk *w, int64_t *after, char *rows, size_t *n,
                     ec_err *err)
{
	store_backend *b = conn;
	const pg_query *q = query;
	pg_params p = {0};
	*n = 0;
	pg_param_int(&p, *after);
	pg_param_int(&p, PG_PAGE);
	if (q->nparams >= 3)
		pg_param_int(&p, w->filter_int);
	if (q->nparams >= 4)
		pg_param_text(&p, w->filter_text, SIZE_MAX);
	pg_lock(b);
	PGresult *r = pg_exec(b, q->sql, &p, NULL, err, w->what);
	int rc = r == NULL ? -1 : 0;
	int count = r != NULL ? pq.PQntuples(r) : 0;
	for (int i = 0; rc == 0 && i < count && *n < PG_PAGE; i++) {
		store_cols c = pg_cols(r, i);
		if ((rc = w->type->read(&c, rows + *n * w->type->size, err)) != 0)
			break;
		*after = pg_col_int(r, i, w->type->key_col);
		++*n;
	}
	pq.PQclear(r);
	pg_unlock(b);
	return rc;
}

int pg_each(store_backend *b, const char *sql, int nparams, const store_walk *w, ec_err *err)
{
	const pg_query q = {sql, nparams};
	return store_walk_pages(w, PG_PAGE, page_read, b, &q, err);
}
