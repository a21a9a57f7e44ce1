/*
 * crashpoint.h - named instants at which the crash-safety tests cut the power.
 *
 * When the environment variable EVERCERT_CRASH_AT names a point, the process kills itself with
 * SIGKILL on reaching it: no handler, no flush, exactly what a power cut or the OOM killer does
 * at that instant. The tests use it to prove that every such instant leaves the old state or
 * the new one, never half. Unset, a crash point costs one comparison.
 *
 * Purity and threads: reads the environment and may kill the process; any thread.
 */
#ifndef EVERCERT_UTIL_CRASHPOINT_H
#define EVERCERT_UTIL_CRASHPOINT_H

void ec_crash_point(const char *point);

#endif
