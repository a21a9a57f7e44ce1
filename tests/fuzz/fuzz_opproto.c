/* libFuzzer target: the operator protocol's request and reply framing (util/opproto.h). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/opproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ec_buf b;
	ec_buf_init(&b, 1 << 20);
	if (ec_buf_append(&b, data, size) != 0) {
		ec_buf_free(&b);
		return 0;
	}
	char *argv[OPPROTO_ARGS_MAX];
	if (opproto_request_complete(&b)) {
		int argc = opproto_split_request(&b, argv, OPPROTO_ARGS_MAX);
		for (int i = 0; i < argc; i++)
			if (strchr(argv[i], '\n') != NULL)
				abort(); /* a word never holds a line break */
	}
	ec_buf_reset(&b);
	if (ec_buf_append(&b, data, size) == 0) {
		size_t text = 0;
		(void)opproto_reply_status(&b, &text);
		if (text > b.len)
			abort();
		(void)opproto_take_confirm(&b);
	}
	ec_buf_free(&b);
	return 0;
}
