/* Starting another program with posix_spawn, and reaping it without waiting. */
#define _GNU_SOURCE /* posix_spawn_file_actions_addclosefrom_np, sigabbrev_np */

#include "util/spawn.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int spawn_actions(posix_spawn_file_actions_t *fa, const ec_spawn_opts *opts)
{
	int rc = 0;
	if (opts->stdin_fd >= 0)
		rc = posix_spawn_file_actions_adddup2(fa, opts->stdin_fd, STDIN_FILENO);
	if (rc == 0 && opts->stdout_fd >= 0)
		rc = posix_spawn_file_actions_adddup2(fa, opts->stdout_fd, STDOUT_FILENO);
	if (rc == 0)
		rc = posix_spawn_file_actions_addclosefrom_np(fa, STDERR_FILENO + 1);
	return rc;
}

static int spawn_attributes(posix_spawnattr_t *attr, const ec_spawn_opts *opts)
{
	/* Ignored dispositions survive exec: a program run with SIGPIPE ignored, or SIGTERM
	 * ignored, would not behave as it does anywhere else. */
	static const int daemon_signals[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGQUIT};
	sigset_t none, defaults;
	sigemptyset(&none);
	sigemptyset(&defaults);
	for (size_t i = 0; i < sizeof(daemon_signals) / sizeof(daemon_signals[0]); i++)
		sigaddset(&defaults, daemon_signals[i]);
	short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
	if (opts->own_group)
		flags |= POSIX_SPAWN_SETPGROUP;
	int rc = posix_spawnattr_setflags(attr, flags);
	if (rc == 0)
		rc = posix_spawnattr_setsigmask(attr, &none);
	if (rc == 0)
		rc = posix_spawnattr_setsigdefault(attr, &defaults);
	if (rc == 0 && opts->own_group)
		rc = posix_spawnattr_setpgroup(attr, 0);
	return rc;
}

int ec_spawn(const char *path, char *const argv[], const ec_spawn_opts *opts, pid_t *pid, ec_err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	if (posix_spawn_file_actions_init(&fa) != 0)
		return ec_err_set(err, "out of memory");
	if (posix_spawnattr_init(&attr) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return ec_err_set(err, "out of memory");
	}
	int rc = spawn_actions(&fa, opts);
	if (rc == 0)
		rc = spawn_attributes(&attr, opts);
	if (rc == 0)
		rc = posix_spawn(pid, path, &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return ec_err_set(err, "cannot start %s: %s", path, strerror(rc));
	return 0;
}

int ec_spawn_reap(pid_t pid, int *status)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

void ec_spawn_status_text(int status, char *out, size_t sz)
{
	if (WIFEXITED(status)) {
		snprintf(out, sz, "exit status %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		const char *name = sigabbrev_np(WTERMSIG(status));
		snprintf(out, sz, "signal %d (SIG%s)", WTERMSIG(status), name != NULL ? name : "?");
	} else {
		snprintf(out, sz, "wait status %d", status);
	}
}
