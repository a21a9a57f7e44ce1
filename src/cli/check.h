/*
 * check.h - `evercert check`, the offline timer-dependency check (SPEC §8): a readable timeline
 * and verdict, or with --json one document (docs/JSON.md).
 *
 * Purity and threads: reads the configuration file and writes to standard output; single-threaded.
 */
#ifndef EVERCERT_CLI_CHECK_H
#define EVERCERT_CLI_CHECK_H

#include <stdbool.h>

/* argv[0] is "check"; json: `evercert --json check` (--json among argv does the same). Returns
 * the process exit status. */
int cli_check(int argc, char **argv, bool json);

#endif
