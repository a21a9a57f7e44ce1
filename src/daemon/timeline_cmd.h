/*
 * timeline_cmd.h - `show timeline [html] [width N] [colour] [from TIME] [to TIME]`: the daemon's
 * certificate servers and trustpoints as lanes on one time axis (picture/lanes.h), as text rows
 * (width columns, ANSI colours only with `colour`: the CLI asks for them on a terminal) or as a
 * self-contained HTML page, which the CLI writes to the file the operator named.
 *
 * Purity and threads: the main thread, in an operator connection's task.
 */
#ifndef EVERCERT_DAEMON_TIMELINE_CMD_H
#define EVERCERT_DAEMON_TIMELINE_CMD_H

#include "daemon/daemon.h"

/* words: what follows `show timeline`. The picture, or the reason it cannot be drawn, into out;
 * 0 or -1. */
int timeline_command(daemon_ctx *d, ec_time now, char *const *words, int n, ec_buf *out);

#endif
