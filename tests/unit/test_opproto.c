/* The operator protocol's framing: what the daemon writes the client reads, and back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "util/opproto.h"

static void put(ec_buf *b, const char *text)
{
	ec_buf_reset(b);
	assert_int_equal(ec_buf_append(b, text, strlen(text)), 0);
}

static void request_words(void **state)
{
	(void)state;
	ec_buf b;
	ec_buf_init(&b, 4096);
	char *argv[3];
	put(&b, "server\nROOTCA\n");
	assert_false(opproto_request_complete(&b));
	put(&b, "server\nROOTCA\ngrant\n\n");
	assert_true(opproto_request_complete(&b));
	assert_int_equal(opproto_split_request(&b, argv, 3), 3);
	assert_string_equal(argv[0], "server");
	assert_string_equal(argv[2], "grant");
	put(&b, "a\nb\nc\nd\n\n");
	assert_int_equal(opproto_split_request(&b, argv, 3), -1); /* too many words */
	put(&b, "a\nb");
	assert_int_equal(opproto_split_request(&b, argv, 3), -1); /* not ended */
	ec_buf_free(&b);
}

static void reply_status_and_confirm(void **state)
{
	(void)state;
	ec_buf b;
	ec_buf_init(&b, 4096);
	size_t text = 0;
	put(&b, opproto_status_line(OPPROTO_OK));
	assert_int_equal(ec_buf_append(&b, "done\n", 5), 0);
	assert_int_equal(opproto_reply_status(&b, &text), OPPROTO_OK);
	assert_memory_equal(b.data + text, "done\n", 5);
	assert_null(opproto_take_confirm(&b));

	put(&b, opproto_status_line(OPPROTO_ERROR));
	assert_int_equal(opproto_reply_status(&b, &text), OPPROTO_ERROR);
	put(&b, "");
	assert_int_equal(opproto_reply_status(&b, &text), OPPROTO_NO_ANSWER);

	put(&b, opproto_status_line(OPPROTO_OK));
	assert_int_equal(ec_buf_append(&b, "would remove X\n", 15), 0);
	assert_int_equal(opproto_ask_confirm(&b, "Delete it?"), 0);
	char *question = opproto_take_confirm(&b);
	assert_non_null(question);
	assert_string_equal(question, "Delete it?");
	assert_int_equal(opproto_reply_status(&b, &text), OPPROTO_OK);
	assert_int_equal(b.len - text, 15); /* the question is cut from the text */
	ec_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(request_words), cmocka_unit_test(reply_status_and_confirm)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
