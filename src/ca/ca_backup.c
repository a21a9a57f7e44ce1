/*
 * ca_backup.c - a copy of what one certificate server keeps: the files of its CA directory (keys,
 * key password, archives, certificates, CRL) and its database, copied by the store while
 * requests go on (store_backup).
 */
#include <stdio.h>
#include <string.h>

#include "ca/ca_internal.h"
#include "util/manifest.h"

typedef struct skip_ctx {
	const char *name;
} skip_ctx;

/* The database files are copied by the store, never byte by byte (a copy of a live WAL database
 * and its -wal taken one after the other is no consistent state); a temporary file is an
 * atomic write under way, not state. */
static bool skip_db(void *ctx, const char *rel, bool is_dir)
{
	const skip_ctx *s = ctx;
	char db[CFG_TEXT_MAX + 16];
	size_t n = (size_t)snprintf(db, sizeof(db), "%s.db", s->name);
	if (strstr(rel, ".tmp.") != NULL)
		return true;
	return !is_dir && strncmp(rel, db, n) == 0 &&
	       (rel[n] == '\0' || strcmp(rel + n, "-wal") == 0 || strcmp(rel + n, "-shm") == 0 ||
	        strcmp(rel + n, "-journal") == 0);
}

int ca_backup(ca_engine *ca, const ec_dir *dst, const char *prefix, ec_manifest *m, ec_buf *out, ec_err *err)
{
	const char *name = ca->cfg.name;
	char rel[EC_PATH_MAX], db_name[CFG_TEXT_MAX + 8], db_path[EC_PATH_MAX], db_rel[EC_PATH_MAX];
	char last[STORE_SERIAL_MAX] = "";
	ec_dir sub = {.fd = -1};
	skip_ctx skip = {name};
	if (snprintf(rel, sizeof(rel), "%s/%s", prefix, name) >= (int)sizeof(rel) ||
	    snprintf(db_name, sizeof(db_name), "%s.db", name) >= (int)sizeof(db_name) ||
	    snprintf(db_rel, sizeof(db_rel), "%s/%s", rel, db_name) >= (int)sizeof(db_rel))
		return ec_err_set(err, "backup path too long");
	int rc = ec_dir_open_sub(&sub, dst, name, 0700, err) != 0 ||
	                 ec_path_join(db_path, sizeof(db_path), sub.path, db_name) != 0 ||
	                 ec_manifest_copy_tree(m, &ca->dir, &sub, rel, skip_db, &skip, err) != 0
	             ? -1
	             : 0;
	int copied = rc == 0 ? store_backup(ca->store, db_path, last, err) : -1;
	if (copied == 0)
		rc = ec_manifest_add(m, &sub, db_name, db_rel, err);
	else if (copied == 1 && ec_buf_printf(out, "%s: %s; only the CA's files were copied\n", name, err->msg) != 0)
		rc = ec_err_set(err, "reply too long");
	else if (copied < 0)
		rc = ec_err_wrap(err, "%s: database", name);
	/* ca NAME STORE HIGHEST-SERIAL DIRECTORY: what restore needs to find and renumber. */
	if (rc == 0 && ec_manifest_header(m, "ca %s %s %s %s", name, copied == 0 ? "sqlite" : "external",
	                                  copied == 0 ? last : "-", rel) != 0)
		rc = ec_err_set(err, "manifest header too long");
	if (rc == 0 && ca->cfg.database_path[0] != '\0' &&
	    ec_manifest_header(m, "ca-directory %s %s", name, ca->dir.path) != 0)
		rc = ec_err_set(err, "manifest header too long");
	if (rc == 0 && copied == 0)
		rc = ec_buf_printf(out, "%s: database copied (highest serial %s), keys and files\n", name, last);
	ec_dir_close(&sub);
	return rc;
}
