/* `evercert restore`: a backup checked, copied into a new state directory, its counters moved. */
#include "cli/restore.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "util/manifest.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: evercert restore BACKUP --state-dir NEW [--check]\n"
	           "\n"
	           "Checks every file of BACKUP (made by `evercert backup`) against its MANIFEST, then\n"
	           "copies the state into NEW, which must be new or empty, and moves each CA's serial\n"
	           "counter forward by 2^44 and its CRL number by 2^32: what the lost CA issued after\n"
	           "the backup is never numbered again. Then start evercertd on NEW. With --check, only\n"
	           "checks the backup. Exit 0 when done, 1 when refused, 2 on a usage error.\n");
}

int cli_absolute_path(const char *path, char *out, size_t outsz)
{
	char cwd[EC_PATH_MAX];
	if (path[0] == '/')
		return snprintf(out, outsz, "%s", path) < (int)outsz ? 0 : -1;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return -1;
	int n = snprintf(out, outsz, "%s/%s", cwd, path);
	return n >= 0 && (size_t)n < outsz ? 0 : -1;
}

/* The files copied into the target, compared with what was verified: a backup changed between
 * the check and the copy is caught too. */
static int by_path(const void *a, const void *b)
{
	return strcmp(((const ec_manifest_file *)a)->path, ((const ec_manifest_file *)b)->path);
}

static int same_files(const ec_manifest *verified, const ec_manifest *copied, ec_err *err)
{
	size_t in_state = 0;
	for (size_t i = 0; i < verified->n_files; i++)
		in_state += strncmp(verified->files[i].path, "state/", 6) == 0;
	if (copied->n_files != in_state)
		return ec_err_set(err, "the backup changed while it was restored (%zu files instead of %zu)",
		                  copied->n_files, in_state);
	for (size_t i = 0; i < copied->n_files; i++) {
		const ec_manifest_file *c = &copied->files[i];
		/* ec_manifest_verify left the verified list in path order. */
		const ec_manifest_file *v = bsearch(c, verified->files, verified->n_files, sizeof(*c), by_path);
		if (v == NULL || v->size != c->size || strcmp(v->sha256, c->sha256) != 0)
			return ec_err_set(err, "%s changed while it was restored", c->path);
	}
	return 0;
}

/* For each `ca NAME STORE SERIAL DIR` line: the counters of a database in the backup move on;
 * one kept elsewhere is the operator's to move, told how. */
static int renumber(const ec_manifest *m, const ec_dir *target, ec_err *err)
{
	char line[2048], name[256], kind[32], serial[STORE_SERIAL_MAX + 8], db[EC_PATH_MAX], next[STORE_SERIAL_MAX];
	for (size_t i = 0; ec_manifest_get(m, "ca", i, line, sizeof(line)) == 0; i++) {
		if (sscanf(line, "%255s %31s %51s", name, kind, serial) != 3 || strchr(name, '/') != NULL ||
		    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			return ec_err_set(err, "MANIFEST: bad line 'ca %s'", line);
		if (strcmp(kind, "sqlite") != 0) {
			printf("%s: its database was not in the backup (PostgreSQL): restore it with pg_restore, then move\n"
			       "  its counters past what was issued since the dump, in one transaction:\n"
			       "  UPDATE serial_counter SET last = last + %lld WHERE id = 1;\n"
			       "  UPDATE meta SET value = (value::bigint + %lld)::text WHERE key = 'crl_number';\n",
			       name, (long long)RESTORE_SERIAL_SKIP, (long long)RESTORE_CRL_SKIP);
			continue;
		}
		int n = snprintf(db, sizeof(db), "%s/%s/%s.db", target->path, name, name);
		if (n < 0 || (size_t)n >= sizeof(db))
			return ec_err_set(err, "path too long for %s's database", name);
		if (store_restore_counters(db, RESTORE_SERIAL_SKIP, RESTORE_CRL_SKIP, next, err) != 0)
			return ec_err_wrap(err, "%s", name);
		printf("%s: highest serial reserved at the backup %s; serials move on by 2^44: the next one is %s\n", name, serial,
		       next);
	}
	for (size_t i = 0; ec_manifest_get(m, "ca-directory", i, line, sizeof(line)) == 0; i++)
		printf("%s: the CA directory was a `database url` (%s); its files are now in %s/%.*s:\n"
		       "  point `database url` there, or remove the line\n",
		       line, strchr(line, ' ') ? strchr(line, ' ') + 1 : "", target->path, (int)strcspn(line, " "), line);
	return 0;
}

/* Copies BACKUP/state into target (empty, checked) and moves the counters. */
static int restore_into(const ec_manifest *m, const ec_dir *backup, const ec_dir *target, ec_err *err)
{
	ec_dir state = {.fd = -1};
	ec_manifest copied;
	ec_manifest_init(&copied);
	int rc = ec_dir_open_sub(&state, backup, "state", 0700, err) != 0 ||
	                 ec_manifest_copy_tree(&copied, &state, target, "state", NULL, NULL, err) != 0 ||
	                 same_files(m, &copied, err) != 0 || renumber(m, target, err) != 0
	             ? -1
	             : 0;
	ec_manifest_free(&copied);
	ec_dir_close(&state);
	return rc;
}

/* The target: created 0700 if missing, refused when it holds anything. */
static int open_target(const char *path, ec_dir *target, ec_err *err)
{
	bool others_enter = false;
	if (ec_dir_open(target, path, 0700, &others_enter, err) != 0)
		return -1;
	int empty = ec_dir_is_empty(target);
	if (empty != 1)
		return ec_err_set(err, "%s %s: restore only into a new or empty state directory", target->path,
		                  empty < 0 ? "cannot be read" : "is not empty");
	return fchmod(target->fd, 0700) == 0 ? 0 : ec_err_set(err, "cannot make %s private: %s", target->path, strerror(errno));
}

static int run(const char *from, const char *to, bool check_only)
{
	ec_err err = {""};
	ec_dir backup = {.fd = -1}, target = {.fd = -1};
	ec_manifest m = {0};
	bool others_enter = false;
	char created[128] = "?", version[64] = "?";
	int rc = ec_dir_open(&backup, from, 0, &others_enter, &err) != 0 || ec_manifest_verify(&m, &backup, &err) != 0;
	if (rc == 0) {
		(void)ec_manifest_get(&m, "created", 0, created, sizeof(created));
		(void)ec_manifest_get(&m, "version", 0, version, sizeof(version));
		printf("backup %s: made %s by evercert %s; %zu files match the MANIFEST\n", backup.path, created, version,
		       m.n_files);
	}
	if (rc == 0 && !check_only)
		rc = open_target(to, &target, &err) != 0 || restore_into(&m, &backup, &target, &err) != 0;
	if (rc == 0 && !check_only)
		printf("restored into %s; the configuration it ran is %s/config/evercert.conf.\n"
		       "Start it: evercertd --config FILE --state-dir %s\n", target.path, backup.path, target.path);
	if (rc != 0)
		fprintf(stderr, "evercert restore: %s\n", err.msg);
	ec_manifest_free(&m);
	ec_dir_close(&backup);
	ec_dir_close(&target);
	return rc == 0 ? 0 : 1;
}

int cli_restore(int argc, char **argv, const char *state_dir)
{
	static const struct option opts[] = {{"state-dir", required_argument, NULL, 's'},
	                                     {"check", no_argument, NULL, 'c'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	bool check_only = false;
	int c;
	optind = 0; /* 0: glibc starts over, with this option string (main's stopped at the command) */
	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': state_dir = optarg; break;
		case 'c': check_only = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc || (!check_only && state_dir == NULL)) {
		usage(stderr);
		return 2;
	}
	return run(argv[optind], state_dir, check_only);
}
