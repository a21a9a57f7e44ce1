/*
 * A trustpoint's post-install command, run without waiting for it: started here, reaped and
 * signalled past its timeout by the daemon's main loop (client_post_install_service), so that a
 * command that hangs holds up neither the operator socket nor the timers of anything else.
 */
#include "client/client_internal.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "clock/clock.h"
#include "util/spawn.h"

static int64_t timeout_ms(const tp_runtime *tp)
{
	return (int64_t)tp->cfg.post_install_timeout_seconds * EC_MS_PER_SECOND;
}

static void start(tp_runtime *tp)
{
	char *argv[] = {"sh", "-c", tp->cfg.post_install, NULL};
	/* Its own process group: a timeout signals the shell and whatever it started. */
	const ec_spawn_opts opts = {.stdin_fd = -1, .stdout_fd = -1, .own_group = true};
	ec_err err;
	pid_t pid;
	if (ec_spawn("/bin/sh", argv, &opts, &pid, &err) != 0) {
		client_log(tp, "post-install command not run: %s", err.msg);
		return;
	}
	tp->post_install_pid = pid;
	post_install_started(&tp->post_install, ec_elapsed_ms());
	client_log(tp, "post-install command started (pid %d)", (int)pid);
}

void client_run_post_install(tp_runtime *tp)
{
	if (tp->cfg.post_install[0] == '\0')
		return;
	switch (post_install_request(&tp->post_install)) {
	case POST_INSTALL_START:
		start(tp);
		break;
	case POST_INSTALL_QUEUED:
		client_log(tp, "post-install command still running (pid %d): it runs once more when it ends",
		           (int)tp->post_install_pid);
		break;
	case POST_INSTALL_ALREADY_QUEUED:
		client_log(tp, "post-install command still running (pid %d): its next run is already due",
		           (int)tp->post_install_pid);
		break;
	}
}

static void send_signal(tp_runtime *tp, int sig, const char *why)
{
	/* The group first (the shell and what it started), the shell alone if the group is gone. */
	if (kill(-tp->post_install_pid, sig) != 0 && kill(tp->post_install_pid, sig) != 0) {
		client_log(tp, "post-install command (pid %d): %s: %s", (int)tp->post_install_pid,
		           sig == SIGKILL ? "SIGKILL" : "SIGTERM", strerror(errno));
		return;
	}
	client_log(tp, "post-install command (pid %d) %s: %s sent", (int)tp->post_install_pid, why,
	           sig == SIGKILL ? "SIGKILL" : "SIGTERM");
}

/* 1 when the running command ended (logged), 0 when it runs. */
static int reap(tp_runtime *tp)
{
	int status = 0;
	int r = ec_spawn_reap(tp->post_install_pid, &status);
	if (r == 0)
		return 0;
	pid_t pid = tp->post_install_pid;
	tp->post_install_pid = 0;
	if (r < 0) {
		client_log(tp, "post-install command (pid %d) lost: %s", (int)pid, strerror(errno));
		return 1;
	}
	char how[64];
	ec_spawn_status_text(status, how, sizeof(how));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		client_log(tp, "post-install command succeeded (pid %d, %s)", (int)pid, how);
	else
		client_log(tp, "post-install command failed (pid %d, %s)", (int)pid, how);
	return 1;
}

void client_post_install_service(tp_runtime *tp)
{
	if (tp->post_install.stage == POST_INSTALL_IDLE)
		return;
	if (reap(tp)) {
		if (post_install_ended(&tp->post_install)) {
			client_log(tp, "post-install command runs again for what was installed while it ran");
			start(tp);
		}
		return;
	}
	char why[64];
	switch (post_install_due(&tp->post_install, ec_elapsed_ms(), timeout_ms(tp))) {
	case POST_INSTALL_WAIT:
		break;
	case POST_INSTALL_SEND_TERM:
		snprintf(why, sizeof(why), "still running after %d s", tp->cfg.post_install_timeout_seconds);
		send_signal(tp, SIGTERM, why);
		break;
	case POST_INSTALL_SEND_KILL:
		snprintf(why, sizeof(why), "still running %d s after SIGTERM", POST_INSTALL_KILL_GRACE_MS / 1000);
		send_signal(tp, SIGKILL, why);
		break;
	}
}

ec_time client_post_install_wake(const tp_runtime *tp)
{
	if (tp->post_install.stage == POST_INSTALL_IDLE)
		return POST_INSTALL_NEVER;
	ec_time reap_at = ec_elapsed_ms() + POST_INSTALL_REAP_INTERVAL_MS;
	ec_time deadline = post_install_deadline(&tp->post_install, timeout_ms(tp));
	return deadline < reap_at ? deadline : reap_at;
}

void client_post_install_stop(tp_runtime *tp)
{
	post_install_forget(&tp->post_install);
	if (tp->post_install.stage == POST_INSTALL_IDLE || reap(tp))
		return;
	send_signal(tp, SIGTERM, "the daemon stops");
}
