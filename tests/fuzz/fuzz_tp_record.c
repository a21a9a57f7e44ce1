/* libFuzzer target: the trustpoint state file parser, and a format/parse round trip. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "client/tp_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tp_record r;
	ec_err err;
	if (tp_record_parse(data, size, &r, &err) != 0)
		return 0;
	ec_buf b;
	ec_buf_init(&b, TP_RECORD_MAX * 2);
	if (tp_record_format(&r, &b) == 0) {
		tp_record again;
		if (tp_record_parse(b.data, b.len, &again, &err) != 0)
			abort(); /* what we write we must read */
		tp_record_free(&again);
	}
	ec_buf_free(&b);
	tp_record_free(&r);
	return 0;
}
