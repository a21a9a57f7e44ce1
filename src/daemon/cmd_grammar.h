/*
 * cmd_grammar.h - the operator's words as the router takes them: every keyword of a command may
 * be abbreviated to any prefix that no other keyword at that place shares (`sh cr pk ser`,
 * `show crypto k my rsa`), and an ambiguous one is refused as the router refuses it
 * (`% Ambiguous command: "show crypto pki t"`).
 *
 * The grammar lists every command form; an upper-case word in a form (NAME, TP, ID, ...) stands
 * for an argument, which is never expanded. A line the grammar does not know is left as it is,
 * for the command handlers to judge.
 *
 * Purity and threads: pure but for the table of forms, built once (pthread_once) and kept for the
 * life of the program; any thread may call it.
 */
#ifndef EVERCERT_DAEMON_CMD_GRAMMAR_H
#define EVERCERT_DAEMON_CMD_GRAMMAR_H

#include <stddef.h>

#include "util/err.h"

/* Replaces each abbreviated keyword of words[0..n) (options, starting with '-', are skipped) by the
 * keyword in full (a pointer to static text). 0, or -1 with err set to the router's message when
 * a word abbreviates two keywords at its place. */
int cmd_expand(const char **words, size_t n, ec_err *err) EC_MUST_USE;

#endif
