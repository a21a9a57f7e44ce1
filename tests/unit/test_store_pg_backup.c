/* store_backup on a PostgreSQL store: nothing is copied, and the reason names pg_dump, which the
 * operator's backup command passes on (the CA's local files are still copied). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <unistd.h>

#include "pgtest.h"
#include "store/store.h"

static void test_pg_is_left_to_pg_dump(void **state)
{
	(void)state;
	char url[1024], why[512], last[STORE_SERIAL_MAX], path[1200];
	ec_store *st = NULL;
	ec_err err = {""};
	if (pgtest_group_db(url, sizeof(url), why, sizeof(why)) != 0)
		fail_msg("%s", why);
	store_config cfg = {.url = url};
	assert_int_equal(store_open(&cfg, &st, &err), 0);
	snprintf(path, sizeof(path), "%s/copy.db", pgtest_group_server()->dir);
	assert_int_equal(store_backup(st, path, last, &err), 1);
	assert_non_null(strstr(err.msg, "pg_dump"));
	assert_string_equal(last, "");
	assert_int_not_equal(access(path, F_OK), 0);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pg_is_left_to_pg_dump),
	};
	return cmocka_run_group_tests_name("postgresql backup", tests, pgtest_group_start, pgtest_group_stop);
}
