#include "util/json.h"

int ec_json_string(ec_buf *b, const char *s)
{
	if (ec_buf_append(b, "\"", 1) != 0)
		return -1;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		int rc;
		if (*p == '"' || *p == '\\')
			rc = ec_buf_printf(b, "\\%c", *p);
		else if (*p == '\n')
			rc = ec_buf_append(b, "\\n", 2);
		else if (*p < 0x20)
			rc = ec_buf_printf(b, "\\u%04x", *p);
		else
			rc = ec_buf_append(b, p, 1);
		if (rc != 0)
			return -1;
	}
	return ec_buf_append(b, "\"", 1);
}

static int key(ec_buf *b, bool first, const char *k)
{
	if (!first && ec_buf_append(b, ",", 1) != 0)
		return -1;
	if (ec_json_string(b, k) != 0)
		return -1;
	return ec_buf_append(b, ":", 1);
}

int ec_json_kv_str(ec_buf *b, bool first, const char *k, const char *value)
{
	if (key(b, first, k) != 0)
		return -1;
	return ec_json_string(b, value);
}

int ec_json_kv_int(ec_buf *b, bool first, const char *k, long long value)
{
	if (key(b, first, k) != 0)
		return -1;
	return ec_buf_printf(b, "%lld", value);
}

int ec_json_kv_bool(ec_buf *b, bool first, const char *k, bool value)
{
	if (key(b, first, k) != 0)
		return -1;
	return ec_buf_printf(b, "%s", value ? "true" : "false");
}
