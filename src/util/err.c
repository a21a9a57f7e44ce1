#include "util/err.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void err_vset(ec_err *err, const char *fmt, va_list ap) EC_PRINTF(2, 0);
static void err_vset(ec_err *err, const char *fmt, va_list ap)
{
	if (err != NULL)
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int ec_err_set(ec_err *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_vset(err, fmt, ap);
	va_end(ap);
	return -1;
}

int ec_err_ssl(ec_err *err, const char *fmt, ...)
{
	unsigned long code = ERR_peek_last_error();
	char sslmsg[256] = "";
	if (code != 0)
		ERR_error_string_n(code, sslmsg, sizeof(sslmsg));
	ERR_clear_error();
	va_list ap;
	va_start(ap, fmt);
	err_vset(err, fmt, ap);
	va_end(ap);
	if (err != NULL && sslmsg[0] != '\0') {
		size_t used = strlen(err->msg);
		snprintf(err->msg + used, sizeof(err->msg) - used, " (%s)", sslmsg);
	}
	return -1;
}

int ec_err_wrap(ec_err *err, const char *fmt, ...)
{
	if (err == NULL)
		return -1;
	char old[EC_ERR_MSG_MAX];
	memcpy(old, err->msg, sizeof(old));
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(err->msg) - 2)
		return -1;
	size_t used = (size_t)n;
	size_t room = sizeof(err->msg) - used;
	size_t oldlen = strnlen(old, sizeof(old) - 1);
	err->msg[used++] = ':';
	err->msg[used++] = ' ';
	room -= 2;
	if (oldlen >= room)
		oldlen = room - 1;
	memcpy(err->msg + used, old, oldlen);
	err->msg[used + oldlen] = '\0';
	return -1;
}

void ec_err_clear(ec_err *err)
{
	if (err != NULL)
		err->msg[0] = '\0';
}
