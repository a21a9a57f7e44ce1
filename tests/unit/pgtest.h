/*
 * pgtest.h - a private PostgreSQL server for tests: initdb into a scratch directory under
 * $EVERCERT_TEST_TMP, listening on a Unix socket in that directory only (no TCP), started and
 * restarted with pg_ctl -w (which waits for the server to accept connections), stopped with
 * pg_ctl stop -m immediate and removed at the end.
 *
 * PostgreSQL refuses to run as root: when the tests run as root, initdb and the server run as
 * the system user PGTEST_USER (created with useradd --system if absent) through runuser. The
 * binaries are taken from $EVERCERT_PG_BINDIR, else the newest /usr/lib/postgresql/N/bin
 * (Debian's layout; scripts/deps.sh installs them). Their absence is a failure with a clear
 * reason, never a silent skip.
 *
 * Purity and threads: not pure (processes, files); one thread at a time per pgtest.
 */
#ifndef EVERCERT_PGTEST_H
#define EVERCERT_PGTEST_H

#include <stdbool.h>
#include <stddef.h>

#define PGTEST_USER "evercert-test"

typedef struct pgtest {
	char dir[1024];      /* scratch directory: the socket, the log and data/ */
	char bindir[512];
	char user[64];       /* who runs the server, "" when it is us */
	bool running;
} pgtest;

/* Starts a server: 0, or -1 with the reason in why. */
int pgtest_start(pgtest *pg, char *why, size_t size);
/* Creates database name and writes its libpq URL to url. */
int pgtest_createdb(pgtest *pg, const char *name, char *url, size_t url_size, char *why, size_t size);
/* Restarts the server (pg_ctl restart -m fast -w): open connections are cut. */
int pgtest_restart(pgtest *pg, char *why, size_t size);
/* Stops the server and removes the scratch directory; NULL or a stopped one is ignored. */
void pgtest_stop(pgtest *pg);

/* One server for a group of cmocka tests: pgtest_group_start and pgtest_group_stop are the
 * group's setup and teardown (a start that fails says why on stderr and fails the group);
 * pgtest_group_db makes a fresh database on it for one test. */
int pgtest_group_start(void **state);
int pgtest_group_stop(void **state);
int pgtest_group_db(char *url, size_t url_size, char *why, size_t size);
pgtest *pgtest_group_server(void);

#endif
