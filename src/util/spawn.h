/*
 * spawn.h - the one way the daemon starts another program (the HTTP client program, a
 * trustpoint's post-install command) and learns how it ended, without waiting for it.
 *
 * The program gets the daemon's environment and working directory, standard error, an empty
 * signal mask and the default action for the signals the daemon ignores or handles; no other
 * descriptor of the daemon.
 *
 * Purity and threads: not pure (processes); any thread may call it, each for its own children:
 * it waits only for the process it is given, never for any child.
 */
#ifndef EVERCERT_UTIL_SPAWN_H
#define EVERCERT_UTIL_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

typedef struct ec_spawn_opts {
	int stdin_fd;    /* becomes its standard input; -1: the daemon's */
	int stdout_fd;   /* becomes its standard output; -1: the daemon's */
	bool own_group;  /* a process group of its own, so that a signal reaches all it starts */
} ec_spawn_opts;

/* Starts path with argv; -1 with err set when it could not be started. */
int ec_spawn(const char *path, char *const argv[], const ec_spawn_opts *opts, pid_t *pid, ec_err *err) EC_MUST_USE;

/* Whether pid ended, without waiting: 1 (then *status is its wait status), 0 still running, -1
 * no such child (errno set). */
int ec_spawn_reap(pid_t pid, int *status) EC_MUST_USE;

/* A wait status in words: "exit status 3", "signal 15 (SIGTERM)". */
void ec_spawn_status_text(int status, char *out, size_t sz);

#endif
