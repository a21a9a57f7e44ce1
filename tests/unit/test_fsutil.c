/* Trusted directories and files opened relative to them: which paths are refused and why, and
 * that a symbolic link where a file is read, opened or replaced is never followed. The cases
 * that need another user's files (chown, lchown) run as root only and are skipped otherwise. */
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

#include "testutil.h"
#include "util/fsutil.h"

#define OTHER_UID 65534 /* nobody */

typedef struct fixture {
	char *dir;   /* under the test temporary directory, ours, 0700 */
	char path[4][EC_PATH_MAX];
	int next;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	f->dir = tu_tmpdir("fsutil");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	char cmd[EC_PATH_MAX + 32];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* f->dir/name, in one of a few rotating buffers (a call may take two of them). */
static const char *at(fixture *f, const char *name)
{
	char *p = f->path[f->next++ % 4];
	snprintf(p, EC_PATH_MAX, "%s/%s", f->dir, name);
	return p;
}

static void write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void assert_file_text(const char *path, const char *text)
{
	char buf[256] = "";
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	assert_string_equal(buf, text);
}

static void skip_unless_root(void)
{
	if (geteuid() != 0)
		skip();
}

/* A plain path resolves to itself; missing directories are created; a relative path is taken
 * from the working directory; "." and ".." are resolved. */
static void resolves_and_creates(void **state)
{
	fixture *f = *state;
	char out[EC_PATH_MAX], expect[EC_PATH_MAX];
	ec_err err;
	assert_int_equal(ec_path_resolve_trusted(f->dir, geteuid(), 0, out, sizeof(out), &err), 0);
	assert_non_null(realpath(f->dir, expect));
	assert_string_equal(out, expect);

	assert_int_equal(ec_path_resolve_trusted(at(f, "a/b/c"), geteuid(), 0, out, sizeof(out), &err), -1);
	assert_non_null(strstr(err.msg, "cannot reach"));
	assert_int_equal(ec_path_resolve_trusted(at(f, "a/b/c"), geteuid(), 0700, out, sizeof(out), &err), 0);
	struct stat st;
	assert_int_equal(stat(at(f, "a/b/c"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0077, 0);

	assert_int_equal(ec_path_resolve_trusted(at(f, "a/./b/../b/c/"), geteuid(), 0, out, sizeof(out), &err), 0);
	snprintf(expect, sizeof(expect), "%s/a/b/c", f->dir);
	char real[EC_PATH_MAX];
	assert_non_null(realpath(expect, real));
	assert_string_equal(out, real);

	char cwd[EC_PATH_MAX];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(at(f, "a")), 0);
	assert_int_equal(ec_path_resolve_trusted("b/c", geteuid(), 0, out, sizeof(out), &err), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_string_equal(out, real);
}

/* Links of root or of the daemon's user are followed, relative and absolute, and the result
 * has none left; a loop is refused. */
static void follows_trusted_links(void **state)
{
	fixture *f = *state;
	char out[EC_PATH_MAX], real[EC_PATH_MAX];
	ec_err err;
	assert_int_equal(mkdir(at(f, "real"), 0700), 0);
	assert_non_null(realpath(at(f, "real"), real));
	assert_int_equal(symlink("real", at(f, "rel")), 0);
	assert_int_equal(symlink(real, at(f, "abs")), 0);
	assert_int_equal(symlink("abs", at(f, "chain")), 0);
	assert_int_equal(ec_path_resolve_trusted(at(f, "rel"), geteuid(), 0, out, sizeof(out), &err), 0);
	assert_string_equal(out, real);
	assert_int_equal(ec_path_resolve_trusted(at(f, "chain"), geteuid(), 0, out, sizeof(out), &err), 0);
	assert_string_equal(out, real);
	assert_int_equal(ec_path_resolve_trusted(at(f, "abs/../real"), geteuid(), 0, out, sizeof(out), &err), 0);
	assert_string_equal(out, real);

	assert_int_equal(symlink("loop2", at(f, "loop1")), 0);
	assert_int_equal(symlink("loop1", at(f, "loop2")), 0);
	assert_int_equal(ec_path_resolve_trusted(at(f, "loop1"), geteuid(), 0, out, sizeof(out), &err), -1);
	assert_non_null(strstr(err.msg, "too many symbolic links"));
}

/* A link owned by another user (who could point it elsewhere at any time, even in a sticky
 * directory such as /tmp) is refused, named, with the fix; the same link is accepted when that
 * user is the daemon's. */
static void refuses_foreign_link(void **state)
{
	skip_unless_root();
	fixture *f = *state;
	char out[EC_PATH_MAX];
	ec_err err;
	assert_int_equal(mkdir(at(f, "real"), 0700), 0);
	assert_int_equal(symlink("real", at(f, "theirs")), 0);
	assert_int_equal(lchown(at(f, "theirs"), OTHER_UID, OTHER_UID), 0);
	assert_int_equal(ec_path_resolve_trusted(at(f, "theirs"), geteuid(), 0, out, sizeof(out), &err), -1);
	assert_non_null(strstr(err.msg, "symbolic link"));
	assert_non_null(strstr(err.msg, at(f, "theirs")));
	assert_non_null(strstr(err.msg, "owned by uid 65534"));
	assert_non_null(strstr(err.msg, "neither root nor the daemon's user"));
	/* Below it too: the link is a component of a longer path. */
	assert_int_equal(mkdir(at(f, "real/sub"), 0700), 0);
	assert_int_equal(ec_path_resolve_trusted(at(f, "theirs/sub"), geteuid(), 0, out, sizeof(out), &err), -1);
	assert_non_null(strstr(err.msg, "owned by uid 65534"));
	/* A daemon running as that user may use its own link. */
	assert_int_equal(ec_path_resolve_trusted(at(f, "theirs"), OTHER_UID, 0, out, sizeof(out), &err), 0);
}

/* A directory on the way owned by another user, or writable by group or others without the
 * sticky bit, is refused with its name and the command that fixes it; the sticky bit (as on
 * /tmp) makes a world-writable directory acceptable. */
static void refuses_open_or_foreign_components(void **state)
{
	fixture *f = *state;
	char out[EC_PATH_MAX];
	ec_err err;
	assert_int_equal(mkdir(at(f, "open"), 0700), 0);
	assert_int_equal(mkdir(at(f, "open/state"), 0700), 0);
	assert_int_equal(chmod(at(f, "open"), 0777), 0);
	assert_int_equal(ec_path_resolve_trusted(at(f, "open/state"), geteuid(), 0, out, sizeof(out), &err), -1);
	assert_non_null(strstr(err.msg, at(f, "open")));
	assert_non_null(strstr(err.msg, "writable by other users (mode 0777) without the sticky bit"));
	assert_non_null(strstr(err.msg, "chmod go-w"));
	assert_int_equal(chmod(at(f, "open"), 0775), 0);
	assert_int_equal(ec_path_resolve_trusted(at(f, "open/state"), geteuid(), 0, out, sizeof(out), &err), -1);
	assert_non_null(strstr(err.msg, "(mode 0775)"));
	assert_int_equal(chmod(at(f, "open"), 01777), 0);
	assert_int_equal(ec_path_resolve_trusted(at(f, "open/state"), geteuid(), 0, out, sizeof(out), &err), 0);
	/* Through a link whose target lies under an open directory. */
	assert_int_equal(chmod(at(f, "open"), 0777), 0);
	assert_int_equal(symlink("open/state", at(f, "via")), 0);
	assert_int_equal(ec_path_resolve_trusted(at(f, "via"), geteuid(), 0, out, sizeof(out), &err), -1);
	assert_non_null(strstr(err.msg, "without the sticky bit"));
	assert_int_equal(chmod(at(f, "open"), 0700), 0);

	if (geteuid() != 0)
		return;
	assert_int_equal(mkdir(at(f, "theirs"), 0755), 0);
	assert_int_equal(mkdir(at(f, "theirs/state"), 0700), 0);
	assert_int_equal(chown(at(f, "theirs"), OTHER_UID, OTHER_UID), 0);
	assert_int_equal(ec_path_resolve_trusted(at(f, "theirs/state"), geteuid(), 0, out, sizeof(out), &err), -1);
	assert_non_null(strstr(err.msg, "directory"));
	assert_non_null(strstr(err.msg, "owned by uid 65534"));
	assert_int_equal(ec_path_resolve_trusted(at(f, "theirs/state"), OTHER_UID, 0, out, sizeof(out), &err), 0);
}

/* ec_dir_open wants the directory itself private, as before (the existing message), and opens
 * a sub-directory only if it is a real directory. */
static void dir_open_rules(void **state)
{
	fixture *f = *state;
	ec_dir d, sub;
	bool others_enter = true;
	ec_err err;
	assert_int_equal(ec_dir_open(&d, at(f, "state"), 0700, &others_enter, &err), 0);
	assert_false(others_enter);
	assert_true(d.fd >= 0);
	assert_int_equal(ec_dir_open_sub(&sub, &d, "ca", 0700, &err), 0);
	assert_true(ec_file_exists(at(f, "state/ca")));
	ec_dir_close(&sub);
	assert_int_equal(symlink("/tmp", at(f, "state/link")), 0);
	assert_int_equal(ec_dir_open_sub(&sub, &d, "link", 0700, &err), -1);
	assert_non_null(strstr(err.msg, "symbolic link is not followed"));
	ec_dir_close(&d);
	assert_int_equal(d.fd, -1);

	assert_int_equal(chmod(at(f, "state"), 0770), 0);
	assert_int_equal(ec_dir_open(&d, at(f, "state"), 0700, &others_enter, &err), -1);
	assert_non_null(strstr(err.msg, "writable by other users (mode 770); run chmod 700"));
	assert_int_equal(chmod(at(f, "state"), 0755), 0);
	assert_int_equal(ec_dir_open(&d, at(f, "state"), 0700, &others_enter, &err), 0);
	assert_true(others_enter);
	ec_dir_close(&d);
}

/* In an opened directory: a link at a name that is replaced is replaced itself (its target keeps
 * its bytes), a link at a name that is read or opened is refused, a link removed is the link. */
static void links_in_dir_not_followed(void **state)
{
	fixture *f = *state;
	ec_dir d;
	bool others_enter;
	ec_err err;
	write_text(at(f, "victim"), "precious\n");
	assert_int_equal(ec_dir_open(&d, at(f, "state"), 0700, &others_enter, &err), 0);
	assert_int_equal(symlink(at(f, "victim"), at(f, "state/ROOTCA.crl")), 0);
	assert_int_equal(symlink(at(f, "victim"), at(f, "state/evercertd.lock")), 0);
	assert_int_equal(symlink(at(f, "victim"), at(f, "state/x.keypass")), 0);

	assert_int_equal(ec_write_atomic_at(&d, "ROOTCA.crl", "new", 3, 0644, &err), 0);
	struct stat st;
	assert_int_equal(lstat(at(f, "state/ROOTCA.crl"), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_file_text(at(f, "victim"), "precious\n");
	assert_file_text(at(f, "state/ROOTCA.crl"), "new");

	assert_int_equal(ec_open_at(&d, "evercertd.lock", O_RDWR | O_CREAT, 0600, &err), -1);
	assert_non_null(strstr(err.msg, "is a symbolic link: refusing to follow it"));
	assert_file_text(at(f, "victim"), "precious\n");

	uint8_t *data = NULL;
	size_t len = 0;
	assert_true(ec_file_exists_at(&d, "x.keypass"));
	assert_int_equal(ec_read_file_at(&d, "x.keypass", 100, &data, &len, &err), -1);
	assert_non_null(strstr(err.msg, "symbolic link"));
	assert_int_equal(ec_read_private_at(&d, "x.keypass", 100, &data, &len, &err), -1);

	assert_int_equal(ec_unlink_at(&d, "x.keypass"), 0);
	assert_false(ec_file_exists_at(&d, "x.keypass"));
	assert_file_text(at(f, "victim"), "precious\n");
	assert_int_equal(ec_unlink_at(&d, "x.keypass"), 0); /* already gone: not an error */

	/* A name outside any opened directory (an operator's output file): the same rules. */
	assert_int_equal(symlink(at(f, "victim"), at(f, "out.pem")), 0);
	assert_int_equal(ec_read_file_at(NULL, at(f, "out.pem"), 100, &data, &len, &err), -1);
	assert_int_equal(ec_write_atomic(at(f, "out.pem"), "cert", 4, 0644, &err), 0);
	assert_int_equal(lstat(at(f, "out.pem"), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_file_text(at(f, "victim"), "precious\n");
	ec_dir_close(&d);
}

/* Secrets: read only when private; temp files of atomic writes never stay behind. */
static void private_reads_and_clean_writes(void **state)
{
	fixture *f = *state;
	ec_dir d;
	bool others_enter;
	ec_err err;
	uint8_t *data = NULL;
	size_t len = 0;
	assert_int_equal(ec_dir_open(&d, at(f, "state"), 0700, &others_enter, &err), 0);
	assert_int_equal(ec_write_atomic_at(&d, "k.keypass", "secret", 6, 0600, &err), 0);
	assert_int_equal(ec_read_private_at(&d, "k.keypass", 100, &data, &len, &err), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(data, "secret", 6);
	free(data);
	assert_int_equal(chmod(at(f, "state/k.keypass"), 0644), 0);
	assert_int_equal(ec_read_private_at(&d, "k.keypass", 100, &data, &len, &err), -1);
	assert_non_null(strstr(err.msg, "run chmod 600"));
	assert_int_equal(ec_read_file_at(&d, "k.keypass", 3, &data, &len, &err), -1);
	assert_non_null(strstr(err.msg, "larger than 3 bytes"));
	int entries = 0;
	char cmd[EC_PATH_MAX + 64];
	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", at(f, "state"));
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &entries), 1);
	pclose(p);
	assert_int_equal(entries, 1);
	ec_dir_close(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(resolves_and_creates, setup, teardown),
		cmocka_unit_test_setup_teardown(follows_trusted_links, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_foreign_link, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_open_or_foreign_components, setup, teardown),
		cmocka_unit_test_setup_teardown(dir_open_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(links_in_dir_not_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(private_reads_and_clean_writes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
