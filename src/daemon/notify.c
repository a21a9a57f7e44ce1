/* Readiness and stop notifications to the service manager (notify.h). */
#include "daemon/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/dynlib.h"

typedef int (*sd_notify_fn)(int unset_environment, const char *state);

int daemon_notify(const char *state, char *error, size_t errsz)
{
	const char *where = getenv("NOTIFY_SOCKET");
	if (where == NULL || where[0] == '\0')
		return 0;
	/* Loaded at the first message and kept: the main thread is the only caller. */
	static sd_notify_fn notify;
	if (notify == NULL) {
		const ec_dynsym syms[] = {{"sd_notify", (void **)&notify}};
		if (ec_dynlib_load(DAEMON_NOTIFY_LIBRARY, "libsystemd0", syms, 1, error, errsz) != 0) {
			notify = NULL;
			return -1;
		}
	}
	/* The environment is kept: STOPPING=1 at the end goes to the same socket, and the children
	 * (evercert-http, post-install commands) are not the main process, whose messages alone
	 * systemd accepts by default (NotifyAccess=main). */
	int rc = notify(0, state);
	if (rc < 0) {
		snprintf(error, errsz, "cannot notify the service manager at %s: %s", where, strerror(-rc));
		return -1;
	}
	return 0;
}
