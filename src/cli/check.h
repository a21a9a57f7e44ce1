/* check.h - `evercert check`, the offline timer-dependency check (SPEC §8). */
#ifndef EVERCERT_CLI_CHECK_H
#define EVERCERT_CLI_CHECK_H

/* argv[0] is "check"; returns the process exit status. */
int cli_check(int argc, char **argv);

#endif
