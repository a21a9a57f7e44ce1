/*
 * notify.h - tells the service manager that evercertd is ready or stopping (systemd's
 * Type=notify, through libsystemd's sd_notify).
 *
 * libsystemd is loaded (util/dynlib.h) only when a service manager asked for notifications, that
 * is when $NOTIFY_SOCKET is set: a host without systemd, a container or a daemon started by hand
 * never maps it and needs no libsystemd, as a client-only daemon needs no libmicrohttpd. The
 * protocol's details (abstract sockets, credentials, the socket's address forms) stay in
 * systemd's own code.
 *
 * Purity and threads: not pure (a datagram to the service manager); main thread only.
 */
#ifndef EVERCERT_DAEMON_NOTIFY_H
#define EVERCERT_DAEMON_NOTIFY_H

#include <stddef.h>

#define DAEMON_NOTIFY_LIBRARY "libsystemd.so.0"

/* Sends state ("READY=1", "STOPPING=1", "STATUS=...", several separated by newlines) when a
 * service manager waits for it. 0 when sent or when none asked; -1 with the reason in error
 * when one asked and the message could not go (libsystemd missing, the socket gone): the
 * service manager then times the start out, and the log says why. */
int daemon_notify(const char *state, char *error, size_t errsz) __attribute__((warn_unused_result));

#endif
