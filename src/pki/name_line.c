/* Names in the router's one-line display form (name_line.h). */
#include "pki/name_line.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "pki/pki.h"

/* The router's name for an attribute type as pki_name_format writes it. */
static void router_key(const char *key, size_t len, char *out, size_t outsz)
{
	bool upper = true;
	if (len == strlen("unstructuredName") && strncmp(key, "unstructuredName", len) == 0) {
		snprintf(out, outsz, "hostname");
		return;
	}
	if (len == strlen("unstructuredAddress") && strncmp(key, "unstructuredAddress", len) == 0) {
		snprintf(out, outsz, "ipaddress");
		return;
	}
	for (size_t i = 0; i < len; i++)
		upper = upper && !islower((unsigned char)key[i]);
	snprintf(out, outsz, "%.*s", (int)len, key);
	for (char *k = out; upper && *k; k++)
		*k = (char)tolower((unsigned char)*k);
}

/* Writes text's attributes with the router's names: joined by their own separators on one line,
 * or, with indent, one a line after it (the separator dropped). */
static int render(const char *text, const char *indent, char *out, size_t outsz)
{
	size_t used = 0;
	if (outsz == 0)
		return -1;
	for (const char *p = text; *p;) {
		/* One attribute: its type up to '=', then its value up to an unescaped ',' or '+'
		 * (pki_name_format writes '=' in every attribute and escapes separators in values). */
		const char *eq = strchr(p, '=');
		if (eq == NULL)
			eq = p + strlen(p);
		const char *end = *eq ? eq + 1 : eq;
		while (*end && *end != ',' && *end != '+')
			end += end[0] == '\\' && end[1] ? 2 : 1;
		char key[64];
		router_key(p, (size_t)(eq - p), key, sizeof(key));
		int n = indent != NULL ? snprintf(out + used, outsz - used, "%s%s%.*s\n", indent, key, (int)(end - eq), eq)
		                       : snprintf(out + used, outsz - used, "%s%.*s%.1s", key, (int)(end - eq), eq, end);
		if (n < 0 || (size_t)n >= outsz - used) {
			out[0] = '\0';
			return -1;
		}
		used += (size_t)n;
		p = *end ? end + 1 : end;
	}
	out[used] = '\0';
	return 0;
}

int pki_name_line_from_text(const char *text, char *out, size_t outsz)
{
	return render(text, NULL, out, outsz);
}

int pki_name_lines(const X509_NAME *name, const char *indent, char *out, size_t outsz)
{
	char text[4096];
	return pki_name_format(name, text, sizeof(text)) == 0 ? render(text, indent, out, outsz) : -1;
}

int pki_name_line(const X509_NAME *name, char *out, size_t outsz)
{
	char text[4096];
	return pki_name_format(name, text, sizeof(text)) == 0 ? pki_name_line_from_text(text, out, outsz) : -1;
}
