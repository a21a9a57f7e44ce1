/*
 * json.h - appending JSON text to an ec_buf, for the `--json` forms of show commands.
 * Only writing: evercert never parses JSON.
 *
 * Purity and threads: pure; any thread.
 */
#ifndef EVERCERT_UTIL_JSON_H
#define EVERCERT_UTIL_JSON_H

#include <stdbool.h>

#include "util/buf.h"

/* Appends s as a quoted JSON string, escaping quotes, backslashes and control characters. */
int ec_json_string(ec_buf *b, const char *s) EC_MUST_USE;

/* Appends "key": "value" (with a leading comma unless first). */
int ec_json_kv_str(ec_buf *b, bool first, const char *key, const char *value) EC_MUST_USE;
/* Appends "key": number. */
int ec_json_kv_int(ec_buf *b, bool first, const char *key, long long value) EC_MUST_USE;
/* Appends "key": true|false. */
int ec_json_kv_bool(ec_buf *b, bool first, const char *key, bool value) EC_MUST_USE;

#endif
