#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ec_buf_init(ec_buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
}

static int buf_reserve(ec_buf *b, size_t extra)
{
	if (extra > b->cap || b->len > b->cap - extra)
		return -1;
	size_t need = b->len + extra + 1; /* room for the trailing NUL */
	if (need <= b->alloc)
		return 0;
	size_t grow = b->alloc ? b->alloc : 256;
	while (grow < need)
		grow = grow > SIZE_MAX / 2 ? need : grow * 2;
	if (grow > b->cap + 1)
		grow = b->cap + 1;
	uint8_t *p = realloc(b->data, grow);
	if (p == NULL)
		return -1;
	b->data = p;
	b->alloc = grow;
	return 0;
}

int ec_buf_append(ec_buf *b, const void *data, size_t len)
{
	if (buf_reserve(b, len) != 0)
		return -1;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int ec_buf_printf(ec_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n) != 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

uint8_t *ec_buf_take(ec_buf *b, size_t *len)
{
	uint8_t *p = b->data;
	if (len != NULL)
		*len = b->len;
	if (p == NULL)
		p = calloc(1, 1);
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	return p;
}

void ec_buf_reset(ec_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void ec_buf_free(ec_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
}

void *ec_array_room(void *items, size_t n, size_t *cap, size_t size, size_t first)
{
	if (n < *cap)
		return items;
	size_t want = *cap == 0 ? first : *cap <= SIZE_MAX / 2 ? *cap * 2 : 0;
	if (want == 0 || size == 0 || want > SIZE_MAX / size)
		return NULL;
	void *p = realloc(items, want * size);
	if (p != NULL)
		*cap = want;
	return p;
}
