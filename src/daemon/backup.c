/*
 * backup.c - `backup DIR`: a consistent copy of the running daemon's state into a new directory.
 *
 * Layout of DIR (0700, every file 0600):
 *   MANIFEST              written last: every file's size and SHA-256, and what was backed up
 *   state/                the state directory: trustpoints (records, keys, key password), the
 *                         simulated clock, and each CA directory as state/NAME (a `database url`
 *                         directory too), its database copied by the store
 *   config/evercert.conf  the configuration the daemon runs
 * The operator socket, the lock and the log are not state and are not copied.
 *
 * Consistency: the command waits until no server's or trustpoint's timers run and no other
 * command works on a trustpoint, then copies in one go without giving the loop a turn, so no
 * key, generation or trustpoint record changes under it. Requests keep arriving on the HTTP threads meanwhile; each database is copied as of
 * one instant by the store, and a certificate file written after that instant may be in the
 * copy without its row, never the reverse of a row without its key.
 */
#include "daemon/daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/manifest.h"
#include "util/task.h"

#define BACKUP_CONFIG_MAX (4 * 1024 * 1024)
#define BACKUP_RECHECK_MS 50

/* What the state copy leaves out: the daemon's own runtime files, an atomic write under way,
 * and the CA directories, which ca_backup copies with their databases. */
static bool skip_state(void *ctx, const char *rel, bool is_dir)
{
	const daemon_ctx *d = ctx;
	if (strstr(rel, ".tmp.") != NULL)
		return true;
	if (strchr(rel, '/') != NULL)
		return false;
	if (!is_dir)
		return strcmp(rel, EVERCERTD_LOCK_NAME) == 0 || strncmp(rel, EVERCERTD_LOG_NAME, strlen(EVERCERTD_LOG_NAME)) == 0;
	for (size_t i = 0; i < d->n_cas; i++)
		if (strcmp(rel, ca_name(d->cas[i])) == 0)
			return true;
	return false;
}

static bool inside(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* DIR itself: created 0700 if missing, refused when it holds anything or lies in the state. */
static int open_target(const char *path, const ec_dir *state, ec_dir *dst, ec_err *err)
{
	bool others_enter = false;
	if (path[0] != '/')
		return ec_err_set(err, "backup: give the directory as an absolute path, not '%s'", path);
	/* Checked before the directory is made (as given) and after (resolved). */
	const char *where = path;
	if (!inside(path, state->path)) {
		if (ec_dir_open(dst, path, 0700, &others_enter, err) != 0)
			return ec_err_wrap(err, "backup");
		where = dst->path;
	}
	if (inside(where, state->path))
		return ec_err_set(err, "backup: %s is inside the state directory %s, which the next backup would copy "
		                  "again: choose a directory outside it", where, state->path);
	int empty = ec_dir_is_empty(dst);
	if (empty != 1)
		return ec_err_set(err, "backup: %s %s; give a new or empty directory", dst->path,
		                  empty < 0 ? "cannot be read" : "is not empty");
	if (fchmod(dst->fd, 0700) != 0)
		return ec_err_set(err, "backup: cannot make %s private: %s", dst->path, strerror(errno));
	return 0;
}

static int copy_config(daemon_ctx *d, const ec_dir *dst, ec_manifest *m, ec_err *err)
{
	uint8_t *text = NULL;
	size_t len = 0;
	ec_dir conf = {.fd = -1};
	if (ec_read_file(d->config_path, BACKUP_CONFIG_MAX, &text, &len, err) != 0)
		return ec_err_wrap(err, "backup: configuration");
	int rc = ec_dir_open_sub(&conf, dst, "config", 0700, err) != 0 ||
	                 ec_write_atomic_at(&conf, "evercert.conf", text, len, 0600, err) != 0 ||
	                 ec_manifest_add(m, &conf, "evercert.conf", "config/evercert.conf", err) != 0 ||
	                 ec_manifest_header(m, "config %s", d->config_path) != 0
	             ? -1
	             : 0;
	free(text);
	ec_dir_close(&conf);
	return rc;
}

static int header(daemon_ctx *d, ec_manifest *m, ec_time now)
{
	char iso[EC_TIME_TEXT_MAX];
	ec_time_format_iso(now, iso);
	int rc = ec_manifest_header(m, "version %s", EVERCERT_VERSION) || ec_manifest_header(m, "created %s", iso) ||
	         ec_manifest_header(m, "clock %s", ec_clock_is_simulated(d->clock) ? "simulated" : "system") ||
	         ec_manifest_header(m, "state-dir %s", d->state.path);
	for (size_t i = 0; rc == 0 && i < d->n_tps; i++)
		rc = ec_manifest_header(m, "trustpoint %s", client_name(d->tps[i]));
	return rc;
}

/* Everything after the target is open: the state, each CA, the configuration, the manifest. */
static int copy_all(daemon_ctx *d, const ec_dir *dst, ec_manifest *m, ec_buf *out, ec_err *err)
{
	ec_dir state = {.fd = -1};
	ec_time now = ec_clock_now(d->clock);
	int rc = header(d, m, now) != 0 ? ec_err_set(err, "backup: manifest header too long") : 0;
	if (rc == 0 && (ec_dir_open_sub(&state, dst, "state", 0700, err) != 0 ||
	                ec_manifest_copy_tree(m, &d->state, &state, "state", skip_state, d, err) != 0))
		rc = ec_err_wrap(err, "backup: state directory");
	for (size_t i = 0; rc == 0 && i < d->n_cas; i++)
		if (ca_backup(d->cas[i], &state, "state", m, out, err) != 0)
			rc = ec_err_wrap(err, "backup");
	if (rc == 0)
		rc = copy_config(d, dst, m, err);
	if (rc == 0 && ec_manifest_write(m, dst, err) != 0)
		rc = ec_err_wrap(err, "backup");
	ec_dir_close(&state);
	return rc;
}

/* Until no server's or trustpoint's timers run and no other operator command works on a
 * trustpoint (an enrollment between its new key and its record), re-checked after each wait:
 * what runs when this returns is this command alone, as it never gives up its turn. */
static int wait_quiet(daemon_ctx *d)
{
	for (;;) {
		if (daemon_wait_trustpoints_idle(d) != 0)
			return -1;
		bool claimed = false;
		for (size_t i = 0; i < d->n_tps; i++)
			claimed = claimed || d->tp_claimed[i];
		if (!claimed)
			return 0;
		if (ec_wait_ms(BACKUP_RECHECK_MS) != 0)
			return -1;
	}
}

int daemon_backup(daemon_ctx *d, const char *path, ec_buf *out, ec_err *err)
{
	ec_dir dst = {.fd = -1};
	if (open_target(path, &d->state, &dst, err) != 0) {
		ec_dir_close(&dst);
		return -1;
	}
	if (wait_quiet(d) != 0) {
		ec_dir_close(&dst);
		return ec_err_set(err, "backup: the daemon is stopping");
	}
	/* A simulated clock's time goes with the state it produced (main.c resumes from it). */
	daemon_clock_save(d);
	ec_manifest m;
	ec_manifest_init(&m);
	int rc = copy_all(d, &dst, &m, out, err);
	if (rc == 0)
		rc = ec_buf_printf(out, "backup written to %s: %zu files and their checksums in %s/%s\n", dst.path,
		                   m.n_files, dst.path, EC_MANIFEST_NAME);
	else {
		char why[EC_ERR_MSG_MAX];
		snprintf(why, sizeof(why), "%s", err->msg);
		ec_err_set(err, "%s (%s has no %s and cannot be restored: remove it)", why, dst.path, EC_MANIFEST_NAME);
	}
	ec_manifest_free(&m);
	ec_dir_close(&dst);
	return rc;
}
