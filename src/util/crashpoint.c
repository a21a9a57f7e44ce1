#include "util/crashpoint.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void ec_crash_point(const char *point)
{
	/* Read on every call: tests set it per process, and the lookup is rare (installs, switches). */
	const char *target = getenv("EVERCERT_CRASH_AT");
	if (target == NULL || strcmp(target, point) != 0)
		return;
	kill(getpid(), SIGKILL);
	pause(); /* SIGKILL is delivered before this returns */
}
