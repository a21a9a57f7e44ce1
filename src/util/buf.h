/*
 * buf.h - a growable byte buffer that refuses to grow past a cap given at creation.
 *
 * Every buffer filled from outside input (HTTP bodies, files, replies) is an ec_buf with a named
 * cap, so an oversized input is an error, never unbounded memory. The buffer owns its bytes;
 * ec_buf_take hands them to the caller. Contents are always NUL-terminated one byte past len, so
 * text can be read as a C string. ec_array_room grows arrays of fixed-size items the same way,
 * by doubling.
 *
 * Purity and threads: pure (memory only); any thread, one buffer per thread at a time.
 */
#ifndef EVERCERT_UTIL_BUF_H
#define EVERCERT_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct ec_buf {
	uint8_t *data;
	size_t len;
	size_t alloc;
	size_t cap;
} ec_buf;

/* Starts an empty buffer that will hold at most cap bytes. */
void ec_buf_init(ec_buf *b, size_t cap);

/* Appends len bytes; -1 when the cap would be passed or memory is short (buffer unchanged). */
int ec_buf_append(ec_buf *b, const void *data, size_t len) EC_MUST_USE;

/* Appends printf-style text (without its NUL); -1 past the cap. */
int ec_buf_printf(ec_buf *b, const char *fmt, ...) EC_PRINTF(2, 3) EC_MUST_USE;

/* Hands the bytes to the caller (free() them) and resets the buffer to empty. */
uint8_t *ec_buf_take(ec_buf *b, size_t *len);

/* Empties the buffer, keeping its cap. */
void ec_buf_reset(ec_buf *b);

/* Frees the bytes. */
void ec_buf_free(ec_buf *b);

/* The array items (n items of size bytes, allocated for *cap) with room for one more: items
 * itself, or items reallocated to twice *cap (first when *cap is 0) with *cap updated. NULL, with
 * items and *cap left as they were, when memory is short or the size would overflow. */
void *ec_array_room(void *items, size_t n, size_t *cap, size_t size, size_t first);

#endif
