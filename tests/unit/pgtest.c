/*
 * pgtest.c - a private PostgreSQL server for tests (pgtest.h).
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "pgtest.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PGTEST_PORT "5432"   /* names the socket file in our own directory: no TCP port used */

static int fail(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return -1;
}

/* $EVERCERT_PG_BINDIR, else the newest /usr/lib/postgresql/N/bin that has initdb. */
static int find_bindir(pgtest *pg, char *why, size_t size)
{
	const char *env = getenv("EVERCERT_PG_BINDIR");
	glob_t g;
	if (env != NULL && env[0] != '\0') {
		snprintf(pg->bindir, sizeof(pg->bindir), "%s", env);
	} else if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) == 0) {
		/* Versions sort as text: good enough for one major version, and 15 < 16 < 9 only
		 * matters on machines with versions below 10 beside newer ones. */
		snprintf(pg->bindir, sizeof(pg->bindir), "%.*s", (int)(strlen(g.gl_pathv[g.gl_pathc - 1]) - 7),
		         g.gl_pathv[g.gl_pathc - 1]);
		globfree(&g);
	}
	char initdb[600];
	snprintf(initdb, sizeof(initdb), "%s/initdb", pg->bindir);
	if (pg->bindir[0] == '\0' || access(initdb, X_OK) != 0)
		return fail(why, size, "PostgreSQL server binaries not found (no initdb in $EVERCERT_PG_BINDIR or "
		            "/usr/lib/postgresql/*/bin): run scripts/deps.sh (packages postgresql, libpq-dev)");
	return 0;
}

/* As root, the user the server runs as (created if absent); otherwise we run it ourselves. */
static int choose_user(pgtest *pg, char *why, size_t size)
{
	pg->user[0] = '\0';
	if (geteuid() != 0)
		return 0;
	if (getpwnam(PGTEST_USER) == NULL) {
		pid_t pid = fork();
		if (pid == 0) {
			int fd = open("/dev/null", O_WRONLY);
			dup2(fd, 1);
			dup2(fd, 2);
			execl("/usr/sbin/useradd", "useradd", "--system", "--no-create-home", "--shell",
			      "/usr/sbin/nologin", PGTEST_USER, (char *)NULL);
			_exit(127);
		}
		int st = 0;
		waitpid(pid, &st, 0);
		/* Another test may have created it meanwhile: what counts is that it exists now. */
		if (getpwnam(PGTEST_USER) == NULL)
			return fail(why, size, "cannot create the system user %s to run PostgreSQL", PGTEST_USER);
	}
	snprintf(pg->user, sizeof(pg->user), "%s", PGTEST_USER);
	return 0;
}

/* Runs bindir/prog with args (NULL-terminated) as the server's user, output to dir/cmd.log;
 * 0 when it exits 0, else -1 with the reason and the end of its output. */
static int run(pgtest *pg, char *why, size_t size, const char *prog, const char *const *args)
{
	char bin[600], log[1100];
	const char *argv[32];
	int n = 0;
	snprintf(bin, sizeof(bin), "%s/%s", pg->bindir, prog);
	snprintf(log, sizeof(log), "%s/cmd.log", pg->dir);
	if (pg->user[0] != '\0') {
		argv[n++] = "runuser";
		argv[n++] = "-u";
		argv[n++] = pg->user;
		argv[n++] = "--";
	}
	argv[n++] = bin;
	for (int i = 0; args[i] != NULL && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid_t pid = fork();
	if (pid < 0)
		return fail(why, size, "fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(pg->user[0] != '\0' ? "/usr/sbin/runuser" : bin, (char *const *)argv);
		_exit(127);
	}
	int st = 0;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		char out[300] = "";
		FILE *f = fopen(log, "r");
		if (f != NULL) {
			size_t got = fread(out, 1, sizeof(out) - 1, f);
			out[got] = '\0';
			fclose(f);
		}
		return fail(why, size, "%s failed (status %d): %s", prog, WIFEXITED(st) ? WEXITSTATUS(st) : -1, out);
	}
	return 0;
}

/* The scratch directory, owned by the server's user, under a base it can pass through. */
static int make_dir(pgtest *pg, char *why, size_t size)
{
	const char *base = getenv("EVERCERT_TEST_TMP");
	struct stat sb;
	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	mkdir(base, 0700);
	/* Others may pass through (not list) the base, so that the server's user reaches its own
	 * directory inside it. */
	if (stat(base, &sb) == 0 && (sb.st_mode & S_IXOTH) == 0)
		chmod(base, (sb.st_mode & 07777) | S_IXOTH);
	snprintf(pg->dir, sizeof(pg->dir), "%s/pg.XXXXXX", base);
	if (mkdtemp(pg->dir) == NULL)
		return fail(why, size, "mkdtemp %s: %s", pg->dir, strerror(errno));
	struct passwd *pw = pg->user[0] != '\0' ? getpwnam(pg->user) : NULL;
	if (pw != NULL && chown(pg->dir, pw->pw_uid, pw->pw_gid) != 0)
		return fail(why, size, "chown %s: %s", pg->dir, strerror(errno));
	return 0;
}

/* Loopback only: no TCP listener, the socket in our directory; no fsync (a test server). */
static int configure(pgtest *pg, char *why, size_t size)
{
	char conf[1200];
	snprintf(conf, sizeof(conf), "%s/data/postgresql.conf", pg->dir);
	FILE *f = fopen(conf, "a");
	if (f == NULL)
		return fail(why, size, "cannot open %s: %s", conf, strerror(errno));
	fprintf(f, "\nlisten_addresses = ''\nunix_socket_directories = '%s'\nport = %s\nfsync = off\n"
	        "max_connections = 40\nshared_buffers = 16MB\n", pg->dir, PGTEST_PORT);
	return fclose(f) == 0 ? 0 : fail(why, size, "writing %s: %s", conf, strerror(errno));
}

int pgtest_start(pgtest *pg, char *why, size_t size)
{
	char data[1100], log[1100];
	memset(pg, 0, sizeof(*pg));
	if (find_bindir(pg, why, size) != 0 || choose_user(pg, why, size) != 0 || make_dir(pg, why, size) != 0)
		return -1;
	snprintf(data, sizeof(data), "%s/data", pg->dir);
	snprintf(log, sizeof(log), "%s/server.log", pg->dir);
	const char *initdb[] = {"-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C",
	                        "--no-sync", NULL};
	const char *start[] = {"-D", data, "-l", log, "-w", "-t", "120", "start", NULL};
	if (run(pg, why, size, "initdb", initdb) != 0 || configure(pg, why, size) != 0 ||
	    run(pg, why, size, "pg_ctl", start) != 0)
		return -1;
	pg->running = true;
	return 0;
}

int pgtest_createdb(pgtest *pg, const char *name, char *url, size_t url_size, char *why, size_t size)
{
	char admin[1200], sql[256];
	snprintf(admin, sizeof(admin), "postgresql://postgres@/postgres?host=%s&port=%s", pg->dir, PGTEST_PORT);
	PGconn *c = PQconnectdb(admin);
	int rc = 0;
	if (PQstatus(c) != CONNECTION_OK) {
		rc = fail(why, size, "connecting to the test server: %s", PQerrorMessage(c));
		goto out;
	}
	snprintf(sql, sizeof(sql), "CREATE DATABASE \"%s\"", name);
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = fail(why, size, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	snprintf(url, url_size, "postgresql://postgres@/%s?host=%s&port=%s", name, pg->dir, PGTEST_PORT);
out:
	PQfinish(c);
	return rc;
}

int pgtest_restart(pgtest *pg, char *why, size_t size)
{
	char data[1100], log[1100];
	snprintf(data, sizeof(data), "%s/data", pg->dir);
	snprintf(log, sizeof(log), "%s/server.log", pg->dir);
	const char *restart[] = {"-D", data, "-l", log, "-w", "-t", "120", "-m", "fast", "restart", NULL};
	return run(pg, why, size, "pg_ctl", restart);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void pgtest_stop(pgtest *pg)
{
	char why[512], data[1100];
	if (pg == NULL || pg->dir[0] == '\0')
		return;
	if (pg->running) {
		snprintf(data, sizeof(data), "%s/data", pg->dir);
		const char *stop[] = {"-D", data, "-w", "-m", "immediate", "stop", NULL};
		(void)run(pg, why, sizeof(why), "pg_ctl", stop);
		pg->running = false;
	}
	nftw(pg->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	pg->dir[0] = '\0';
}

/* ---- one server for a group of tests ---- */

static pgtest group_server;
static int group_databases;

int pgtest_group_start(void **state)
{
	char why[512];
	(void)state;
	if (pgtest_start(&group_server, why, sizeof(why)) == 0)
		return 0;
	fprintf(stderr, "cannot start PostgreSQL for the store tests: %s\n", why);
	return -1;
}

int pgtest_group_stop(void **state)
{
	(void)state;
	pgtest_stop(&group_server);
	return 0;
}

int pgtest_group_db(char *url, size_t url_size, char *why, size_t size)
{
	char name[32];
	snprintf(name, sizeof(name), "test_%d", ++group_databases);
	return pgtest_createdb(&group_server, name, url, url_size, why, size);
}

pgtest *pgtest_group_server(void)
{
	return &group_server;
}
