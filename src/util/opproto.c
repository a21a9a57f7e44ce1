/* The operator protocol's framing (see opproto.h). */
#include "util/opproto.h"

#include <string.h>

#include "util/fsutil.h"

static const char status_ok[] = "OK\n";
static const char status_error[] = "ERROR\n";
static const char confirm_tag[] = "?confirm ";

int opproto_send_request(int fd, int argc, char *const *argv)
{
	int rc = 0;
	for (int i = 0; i < argc && rc == 0; i++)
		if (ec_write_all(fd, argv[i], strlen(argv[i])) != 0 || ec_write_all(fd, "\n", 1) != 0)
			rc = -1;
	if (ec_write_all(fd, "\n", 1) != 0)
		rc = -1;
	return rc;
}

bool opproto_request_complete(const ec_buf *in)
{
	return in->len >= 1 && in->data[in->len - 1] == '\n' && (in->len == 1 || in->data[in->len - 2] == '\n');
}

int opproto_split_request(ec_buf *in, char **argv, int max)
{
	int argc = 0;
	char *p = (char *)in->data;
	char *end = p + in->len;
	while (p < end && *p != '\n') {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL || argc == max)
			return -1;
		*nl = '\0';
		argv[argc++] = p;
		p = nl + 1;
	}
	return p < end ? argc : -1;
}

const char *opproto_status_line(opproto_status status)
{
	return status == OPPROTO_OK ? status_ok : status_error;
}

int opproto_ask_confirm(ec_buf *out, const char *question)
{
	return ec_buf_printf(out, "%s%s\n", confirm_tag, question);
}

opproto_status opproto_reply_status(const ec_buf *reply, size_t *text)
{
	static const struct {
		const char *line;
		size_t len;
		opproto_status status;
	} lines[] = {{status_ok, sizeof(status_ok) - 1, OPPROTO_OK},
	             {status_error, sizeof(status_error) - 1, OPPROTO_ERROR}};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		if (reply->len >= lines[i].len && memcmp(reply->data, lines[i].line, lines[i].len) == 0) {
			*text = lines[i].len;
			return lines[i].status;
		}
	*text = 0;
	return OPPROTO_NO_ANSWER;
}

char *opproto_take_confirm(ec_buf *reply)
{
	const size_t tag = sizeof(confirm_tag) - 1;
	if (reply->len < 2)
		return NULL;
	char *text = (char *)reply->data;
	size_t end = reply->len;
	if (text[end - 1] == '\n')
		end--;
	size_t start = end;
	while (start > 0 && text[start - 1] != '\n')
		start--;
	if (end - start <= tag || strncmp(text + start, confirm_tag, tag) != 0)
		return NULL;
	text[end] = '\0';
	reply->len = start;
	return text + start + tag;
}
