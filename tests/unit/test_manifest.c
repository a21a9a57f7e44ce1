/* Backups: a tree copied with its MANIFEST, and every way a backup that differs from its MANIFEST
 * is refused (a changed byte, a file added or missing, a path that leaves the directory); the
 * store's online copy of an SQLite database and the counters of a restored one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "testutil.h"
#include "util/manifest.h"

typedef struct fixture {
	char *dir;
	ec_dir src, dst;
} fixture;

static void put(const char *dir, const char *name, const char *text)
{
	char path[EC_PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void open_dir(fixture *f, ec_dir *d, const char *name)
{
	char path[EC_PATH_MAX];
	bool others = false;
	ec_err err = {""};
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	assert_int_equal(ec_dir_open(d, path, 0700, &others, &err), 0);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	char path[EC_PATH_MAX];
	f->dir = tu_tmpdir("manifest");
	open_dir(f, &f->src, "src");
	open_dir(f, &f->dst, "dst");
	snprintf(path, sizeof(path), "%s/src/sub", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	put(f->src.path, "a.key", "key bytes\n");
	put(f->src.path, "sub/b.state", "state\n");
	put(f->src.path, "lock", "4242\n");
	snprintf(path, sizeof(path), "%s/src/link", f->dir);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	char cmd[EC_PATH_MAX + 32];
	ec_dir_close(&f->src);
	ec_dir_close(&f->dst);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f->dir);
	free(f);
	return 0;
}

static bool skip_lock(void *ctx, const char *rel, bool is_dir)
{
	(void)ctx;
	return !is_dir && strcmp(rel, "lock") == 0;
}

/* Copies src into dst/state with a MANIFEST; the copy verifies. */
static void backup(fixture *f)
{
	ec_manifest m;
	ec_dir state;
	ec_err err = {""};
	ec_manifest_init(&m);
	assert_int_equal(ec_manifest_header(&m, "ca %s sqlite 20 state/%s", "ROOTCA", "ROOTCA"), 0);
	assert_int_equal(ec_dir_open_sub(&state, &f->dst, "state", 0700, &err), 0);
	assert_int_equal(ec_manifest_copy_tree(&m, &f->src, &state, "state", skip_lock, NULL, &err), 0);
	assert_int_equal(m.n_files, 2); /* a.key, sub/b.state: not the lock, not the link */
	assert_int_equal(ec_manifest_write(&m, &f->dst, &err), 0);
	ec_manifest_free(&m);
	ec_dir_close(&state);
}

static void expect_refused(fixture *f, const char *why)
{
	ec_manifest m;
	ec_err err = {""};
	assert_int_not_equal(ec_manifest_verify(&m, &f->dst, &err), 0);
	if (strstr(err.msg, why) == NULL)
		fail_msg("expected '%s', got '%s'", why, err.msg);
	ec_manifest_free(&m);
}

static void test_copy_and_verify(void **state)
{
	fixture *f = *state;
	ec_manifest m;
	ec_err err = {""};
	char value[256];
	struct stat st;
	backup(f);
	assert_int_equal(ec_manifest_verify(&m, &f->dst, &err), 0);
	assert_int_equal(m.n_files, 2);
	assert_int_equal(ec_manifest_get(&m, "ca", 0, value, sizeof(value)), 0);
	assert_string_equal(value, "ROOTCA sqlite 20 state/ROOTCA");
	assert_int_equal(ec_manifest_get(&m, "ca", 1, value, sizeof(value)), 1);
	ec_manifest_free(&m);
	assert_int_equal(fstatat(f->dst.fd, "state/sub/b.state", &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(fstatat(f->dst.fd, "state/sub", &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(ec_dir_is_empty(&f->dst), 0);
	/* A second copy into the same place is refused: nothing is overwritten. */
	ec_manifest_init(&m);
	ec_dir again;
	assert_int_equal(ec_dir_open_sub(&again, &f->dst, "state", 0700, &err), 0);
	assert_int_not_equal(ec_manifest_copy_tree(&m, &f->src, &again, "state", skip_lock, NULL, &err), 0);
	ec_manifest_free(&m);
	ec_dir_close(&again);
}

static void test_changed_byte(void **state)
{
	fixture *f = *state;
	backup(f);
	put(f->dst.path, "state/a.key", "kez bytes\n");
	expect_refused(f, "state/a.key does not match the MANIFEST (SHA-256 differs)");
	put(f->dst.path, "state/a.key", "key bytes and more\n");
	expect_refused(f, "state/a.key does not match the MANIFEST (size differs)");
}

static void test_added_and_missing(void **state)
{
	fixture *f = *state;
	char path[EC_PATH_MAX + 64];
	backup(f);
	put(f->dst.path, "state/sub/extra", "x");
	expect_refused(f, "state/sub/extra is in the backup but not in its MANIFEST");
	snprintf(path, sizeof(path), "%s/state/sub/extra", f->dst.path);
	unlink(path);
	snprintf(path, sizeof(path), "%s/state/sub/b.state", f->dst.path);
	unlink(path);
	expect_refused(f, "state/sub/b.state is in the MANIFEST but missing from the backup");
	snprintf(path, sizeof(path), "%s/MANIFEST", f->dst.path);
	unlink(path);
	expect_refused(f, "has no MANIFEST");
}

static void test_bad_manifest(void **state)
{
	fixture *f = *state;
	const char *sha = "0000000000000000000000000000000000000000000000000000000000000000";
	char text[512];
	snprintf(text, sizeof(text), "evercert-backup 1\nfile 1 %s ../outside\n", sha);
	put(f->dst.path, "MANIFEST", text);
	expect_refused(f, "bad size, SHA-256 or path");
	snprintf(text, sizeof(text), "evercert-backup 1\nfile 1 %s /etc/passwd\n", sha);
	put(f->dst.path, "MANIFEST", text);
	expect_refused(f, "bad size, SHA-256 or path");
	put(f->dst.path, "MANIFEST", "something else\n");
	expect_refused(f, "not an evercert backup");
	snprintf(text, sizeof(text), "evercert-backup 1\nfile 1 %s a\nfile 1 %s a\n", sha, sha);
	put(f->dst.path, "MANIFEST", text);
	expect_refused(f, "lists a twice");
}

static void test_store_backup_and_counters(void **state)
{
	fixture *f = *state;
	char db[EC_PATH_MAX + 64], copy[EC_PATH_MAX + 64], serial[STORE_SERIAL_MAX], last[STORE_SERIAL_MAX];
	ec_store *st = NULL;
	ec_err err = {""};
	snprintf(db, sizeof(db), "%s/ca.db", f->src.path);
	snprintf(copy, sizeof(copy), "%s/copy.db", f->dst.path);
	store_config cfg = {.url = db};
	assert_int_equal(store_open(&cfg, &st, &err), 0);
	assert_int_equal(store_reserve_serial(st, serial, &err), 0);
	assert_int_equal(store_meta_set(st, "crl_number", "7", &err), 0);
	assert_int_equal(store_backup(st, copy, last, &err), 0);
	assert_string_equal(last, "20"); /* the first block of STORE_SERIAL_BLOCK serials */
	assert_int_not_equal(store_backup(st, copy, last, &err), 0); /* never over a file */
	store_close(st);
	struct stat sb;
	assert_int_equal(stat(copy, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	char next[STORE_SERIAL_MAX], value[32];
	assert_int_equal(store_restore_counters(copy, (int64_t)1 << 44, (int64_t)1 << 32, next, &err), 0);
	assert_string_equal(next, "100000000021");
	cfg.url = copy;
	assert_int_equal(store_open(&cfg, &st, &err), 0);
	assert_int_equal(store_reserve_serial(st, serial, &err), 0);
	assert_string_equal(serial, "100000000021");
	assert_int_equal(store_meta_get(st, "crl_number", value, sizeof(value), &err), 0);
	assert_string_equal(value, "4294967303");
	store_close(st);

	cfg.url = ":memory:";
	assert_int_equal(store_open(&cfg, &st, &err), 0);
	snprintf(copy, sizeof(copy), "%s/memory.db", f->dst.path);
	assert_int_not_equal(store_backup(st, copy, last, &err), 0);
	assert_non_null(strstr(err.msg, "in memory"));
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_copy_and_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_added_and_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_manifest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_backup_and_counters, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
