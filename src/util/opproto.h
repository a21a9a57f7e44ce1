/*
 * opproto.h - the operator protocol between evercert and evercertd: its framing, in one place.
 *
 * Request: the words one a line, then an empty line. Reply: a status line, "OK" or "ERROR", then
 * the command's text. A reply text whose last line is "?confirm QUESTION" asks the operator
 * before the daemon acts; the command is sent again with --yes to confirm.
 *
 * Pure but for opproto_send_request, which writes to the descriptor it is given; any thread. No
 * clock. Parsing works inside the caller's buffer and never reads past its length.
 */
#ifndef EVERCERT_UTIL_OPPROTO_H
#define EVERCERT_UTIL_OPPROTO_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

/* The most words in one request. */
#define OPPROTO_ARGS_MAX 64

typedef enum opproto_status {
	OPPROTO_NO_ANSWER = -1,   /* not a reply of this protocol (the daemon went away) */
	OPPROTO_OK = 0,
	OPPROTO_ERROR = 1,
} opproto_status;

/* Client: sends the words and the empty line that ends the request; -1 when not all went out
 * (the empty line is still tried, so the daemon answers a refusal it may have). */
int opproto_send_request(int fd, int argc, char *const *argv) EC_MUST_USE;

/* Daemon: whether in holds a whole request (it ends with an empty line). */
bool opproto_request_complete(const ec_buf *in);
/* Daemon: cuts a whole request into its words, in place (argv points into in); the count, or -1
 * for more than max words or a request not ended by an empty line. */
int opproto_split_request(ec_buf *in, char **argv, int max) EC_MUST_USE;
/* Daemon: the status line that starts a reply ("OK\n" or "ERROR\n"). */
const char *opproto_status_line(opproto_status status);
/* Daemon: appends the question the operator must confirm before the command acts. */
int opproto_ask_confirm(ec_buf *out, const char *question) EC_MUST_USE;

/* Client: the reply's status; *text is where the command's text starts in reply->data. */
opproto_status opproto_reply_status(const ec_buf *reply, size_t *text);
/* Client: the question of a reply that asks for confirmation, cut from the reply (the returned
 * text lives in the reply buffer), or NULL when the reply asks none. */
char *opproto_take_confirm(ec_buf *reply);

#endif
