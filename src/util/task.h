/*
 * task.h - cooperative tasks: work written as straight-line calls which, where it would wait for
 * a descriptor or for time to pass, hands control back to the loop that runs it.
 *
 * The daemon's work that waits on the network (a trustpoint's exchanges with its CA, an operator
 * command) runs as tasks. The main loop polls the descriptor each suspended task waits for beside
 * its own and resumes the task when that descriptor is ready or its deadline has passed, so that
 * one CA that never answers delays nothing else. This is certmonger's cm_iterate model ("wait for
 * this descriptor", "come back at time T") with the continuation kept on a stack rather than
 * in an explicit state variable: the SCEP exchanges of an enrollment stay one readable function.
 *
 * Each task runs on a thread of its own, but only while it holds the turn: the loop hands the
 * turn over on start and resume and gets it back when the task waits or ends. Exactly one of
 * the loop and its tasks runs at any instant, so tasks share the daemon's state with the loop
 * without locks (the hand-over is the happens-before edge). The one exception is
 * ec_task_detach/ec_task_attach: a stretch of pure computation (generating a key pair) that
 * touches nothing shared runs beside the loop, which resumes the task once it is done.
 *
 * Outside a task, ec_wait_fd and ec_wait_ms block (poll, nanosleep) and detach/attach do nothing:
 * the same code serves the command-line program and the tests.
 *
 * A task thread starts with every signal blocked: signals reach the loop's thread.
 *
 * Purity and threads: not pure (threads, descriptors). ec_task_start, _resume, _cancel, _free
 * and the accessors are called by the loop (whoever holds the turn); ec_wait_*, ec_task_detach
 * and ec_task_attach by the code the task runs.
 */
#ifndef EVERCERT_UTIL_TASK_H
#define EVERCERT_UTIL_TASK_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

typedef struct ec_task ec_task;
typedef void (*ec_task_fn)(void *arg);

/* Starts fn(arg) as a task and runs it until it first waits or ends. -1 (err says why) when no
 * thread could be made; fn has not run then. */
int ec_task_start(ec_task_fn fn, void *arg, ec_task **out, ec_err *err) EC_MUST_USE;

/* True once fn has returned. */
bool ec_task_finished(const ec_task *t);

/* What a suspended task waits for: *p gets the descriptor and events (fd -1: none), *deadline the
 * ec_elapsed_ms() instant after which it is resumed anyway (INT64_MAX: none). */
void ec_task_waiting_for(const ec_task *t, struct pollfd *p, int64_t *deadline);

/* Runs a suspended task until it next waits or ends; revents: what poll said of its descriptor
 * (0 when resumed for its deadline). */
void ec_task_resume(ec_task *t, short revents);

/* From now on every wait of the task returns at once as cancelled, so that it winds up without
 * waiting for the network; then resumes it. The loop calls it when the daemon stops. */
void ec_task_cancel(ec_task *t);

/* Waits for the thread of a finished task and frees it. */
void ec_task_free(ec_task *t);

/* True in code a task runs. */
bool ec_task_running_here(void);

/* Waits until fd has one of events or timeout_ms has passed: in a task by handing the turn back,
 * otherwise with poll(). Returns what poll reports (revents), 0 when the time ran out, -1 when
 * the task was cancelled (errno ECANCELED) or poll failed (errno). */
int ec_wait_fd(int fd, short events, int64_t timeout_ms);

/* Waits for ms milliseconds (in a task: lets the loop run meanwhile). -1 (errno ECANCELED) when
 * the task was cancelled. */
int ec_wait_ms(int64_t ms);

/* Around work that reads nothing the loop may change and writes nothing it reads, holding no
 * lock the loop may take: the loop runs meanwhile; attach waits for the turn again. Computation
 * (EC_DETACH_COMPUTE: a key pair) runs detached on all cores but one at most (a task past that
 * waits in the loop first), so that many at once do not starve the loop; waiting on the disk
 * (EC_DETACH_DISK: fsync) is not limited. Outside a task both do nothing. */
typedef enum ec_detach_kind { EC_DETACH_COMPUTE, EC_DETACH_DISK } ec_detach_kind;
void ec_task_detach(ec_detach_kind kind);
void ec_task_attach(void);

#endif
