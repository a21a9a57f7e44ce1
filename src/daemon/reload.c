/*
 * The reload (SIGHUP, `evercert reload`): the configuration file read again and compared with the
 * running one (config/config_diff.h, pure), then either applied as a whole or not at all.
 *
 * Order: the log file is reopened first, whatever follows (logrotate's postrotate needs that
 * alone). Then the file is parsed; an error names its line and changes nothing. A change that
 * cannot apply live refuses the whole reload, each such change logged. Otherwise the new log
 * destinations are opened (one that cannot be changes nothing either), then, while no trustpoint
 * or server task runs and no command holds a trustpoint (d->reloading keeps new ones from
 * starting), the servers take their new settings, the listener its new limits, removed and
 * changed trustpoints are closed and added and changed ones opened, and the new model replaces
 * the running one.
 */
#include "daemon/daemon.h"

#include <stdlib.h>
#include <string.h>

#include "config/config_diff.h"
#include "util/task.h"

/* How often the reload looks again for commands holding trustpoints. */
#define RELOAD_RECHECK_MS 20

static void say(daemon_ctx *d, ec_buf *out, int level, const char *text)
{
	dlog_at(d, level, "reload: %s", text);
	(void)!ec_buf_printf(out, "%s\n", text);
}

static bool any_claimed(const daemon_ctx *d)
{
	for (size_t i = 0; i < d->n_tps; i++)
		if (d->tp_claimed[i])
			return true;
	return false;
}

/* Waits until no task works on a server or trustpoint and no command holds a trustpoint; from
 * then on none starts until d->reloading is cleared. The exchanges of the trustpoints about to be
 * closed are cancelled rather than waited for (a CA that does not answer would hold the reload
 * for the exchange's whole time-out); the others end their work. -1 when the daemon stops, or
 * outside a task when something is busy (there is no waiting there without stopping the loop). */
static int quiesce(daemon_ctx *d, const cfg_diff *diff)
{
	for (size_t k = 0; k < diff->n_tp_removed; k++)
		daemon_cancel_trustpoint(d, diff->tp_removed[k]);
	for (;;) {
		if (daemon_wait_trustpoints_idle(d) != 0)
			return -1;
		if (!any_claimed(d))
			return 0;
		if (!ec_task_running_here() || ec_wait_ms(RELOAD_RECHECK_MS) != 0)
			return -1;
	}
}

/* One reload at a time (SIGHUP and `evercert reload` may cross): a second one waits, and then
 * compares the file with what the first left in force, not with what the first was replacing.
 * Sets d->reloading, which daemon_reload clears at its end. */
static int one_at_a_time(daemon_ctx *d, ec_buf *out)
{
	while (d->reloading)
		if (!ec_task_running_here() || ec_wait_ms(RELOAD_RECHECK_MS) != 0) {
			say(d, out, EC_LOG_ERROR, "another reload is under way: nothing applied; try again");
			return -1;
		}
	d->reloading = true;
	return 0;
}

/* Takes trustpoint i out of the list (under tps_lock, which HTTP threads take to read it) and
 * closes it. No task or claim is on any trustpoint (quiesce). */
static void remove_trustpoint(daemon_ctx *d, size_t i)
{
	tp_runtime *tp = d->tps[i];
	pthread_mutex_lock(&d->tps_lock);
	memmove(&d->tps[i], &d->tps[i + 1], (d->n_tps - i - 1) * sizeof(d->tps[0]));
	d->n_tps--;
	d->tps[d->n_tps] = NULL;
	pthread_mutex_unlock(&d->tps_lock);
	client_close(tp);
}

static void apply_trustpoints(daemon_ctx *d, const cfg_config *next, const cfg_diff *diff, ec_buf *out)
{
	/* From the last: the indices of the running configuration are those of d->tps. */
	for (size_t k = diff->n_tp_removed; k-- > 0;)
		remove_trustpoint(d, diff->tp_removed[k]);
	for (size_t k = 0; k < diff->n_tp_added; k++) {
		const cfg_trustpoint *t = &next->trustpoints[diff->tp_added[k]];
		tp_runtime *tp = NULL;
		ec_err err;
		if (daemon_open_trustpoint(d, next, diff->tp_added[k], &tp, &err) != 0) {
			char text[EC_ERR_MSG_MAX + CFG_NAME_MAX + 128];
			snprintf(text, sizeof(text), "trustpoint %s cannot be opened: %s; it does not run until the "
			         "next reload or start", t->name, err.msg);
			say(d, out, EC_LOG_ERROR, text);
			continue;
		}
		pthread_mutex_lock(&d->tps_lock);
		d->tps[d->n_tps++] = tp;
		pthread_mutex_unlock(&d->tps_lock);
	}
}

static void apply_servers(daemon_ctx *d, const cfg_config *next, const cfg_diff *diff, ec_buf *out)
{
	for (size_t i = 0; i < d->n_cas; i++) {
		if (!diff->server_changed[i])
			continue;
		ec_err err;
		const cfg_server *s = cfg_find_server(next, ca_name(d->cas[i]));
		if (s != NULL && ca_reconfigure(d->cas[i], s, ec_clock_now(d->clock), &err) != 0) {
			char text[EC_ERR_MSG_MAX + 64];
			snprintf(text, sizeof(text), "certificate server %s: %s", ca_name(d->cas[i]), err.msg);
			say(d, out, EC_LOG_ERROR, text);
		}
	}
}

/* Everything was checked: applies it, and the new model replaces the running one. */
static void apply(daemon_ctx *d, cfg_config *next, const cfg_diff *diff, ec_buf *out)
{
	ec_err err;
	apply_servers(d, next, diff, out);
	if (diff->http_limits_changed && daemon_http_limits(d, next, &err) != 0)
		say(d, out, EC_LOG_ERROR, err.msg);
	apply_trustpoints(d, next, diff, out);
	cfg_config *old = d->cfg;
	d->cfg = next;
	cfg_config_free(old);
}

/* Lists the changes: the refused ones only when there are any (they are what to fix). */
static void report_changes(daemon_ctx *d, const cfg_diff *diff, ec_buf *out)
{
	for (size_t i = 0; i < diff->n_changes; i++) {
		const cfg_change *c = &diff->changes[i];
		if (diff->n_refused == 0)
			say(d, out, EC_LOG_NOTICE, c->text);
		else if (c->refused)
			say(d, out, EC_LOG_WARNING, c->text);
	}
}

int daemon_reload(daemon_ctx *d, const char *why, ec_buf *out)
{
	char text[EC_ERR_MSG_MAX + 160];
	cfg_config *next = NULL;
	cfg_diff *diff = NULL;
	ec_err err;
	int rc = -1;
	if (one_at_a_time(d, out) != 0)
		return -1;
	/* The reopening first: every line of this reload goes to the new file. */
	dlog_reopen(d);
	dlog_at(d, EC_LOG_NOTICE, "reload (%s): reading %s", why, d->config_path);
	if (cfg_load_file(d->config_path, &next, &err) != 0) {
		snprintf(text, sizeof(text), "configuration not applied, the running one stays: %s", err.msg);
		say(d, out, EC_LOG_ERROR, text);
		goto out;
	}
	if ((diff = calloc(1, sizeof(*diff))) == NULL) {
		say(d, out, EC_LOG_ERROR, "out of memory; the running configuration stays");
		goto out;
	}
	cfg_diff_compute(d->cfg, next, diff);
	report_changes(d, diff, out);
	if (diff->n_refused > 0) {
		snprintf(text, sizeof(text), "%zu change(s) cannot apply while the daemon runs: nothing applied, the "
		         "running configuration stays (restart evercertd to apply them)", diff->n_refused);
		say(d, out, EC_LOG_WARNING, text);
		goto out;
	}
	if (diff->http_limits_changed && daemon_http_limits_check(d, next, &err) != 0) {
		snprintf(text, sizeof(text), "%s: nothing applied, the running configuration stays", err.msg);
		say(d, out, EC_LOG_WARNING, text);
		goto out;
	}
	if (quiesce(d, diff) != 0) {
		say(d, out, EC_LOG_ERROR, "the daemon is stopping or busy: nothing applied");
		goto out;
	}
	/* The new log destinations before the rest: one that cannot be opened changes nothing. */
	if (diff->logging_changed && dlog_configure(d, &next->logging, &err) != 0) {
		snprintf(text, sizeof(text), "%s: nothing applied, the running configuration stays", err.msg);
		say(d, out, EC_LOG_ERROR, text);
		goto out;
	}
	apply(d, next, diff, out);
	next = NULL;
	snprintf(text, sizeof(text), "configuration %s in force (%zu change(s))", d->config_path, diff->n_changes);
	say(d, out, EC_LOG_NOTICE, text);
	rc = 0;
out:
	d->reloading = false;
	cfg_config_free(next);
	free(diff);
	return rc;
}
