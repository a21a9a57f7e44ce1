/* libFuzzer target: the expansion of the operator's abbreviated words (daemon/cmd_grammar.h).
 * The input is split at spaces into words; whatever comes out is a word typed or a keyword in
 * full, and an ambiguity is reported with the line as typed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/cmd_grammar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WORDS_MAX 40

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	const char *w[WORDS_MAX], *typed[WORDS_MAX];
	size_t n = 0;
	for (char *save = NULL, *t = strtok_r(text, " ", &save); t != NULL && n < WORDS_MAX; t = strtok_r(NULL, " ", &save))
		typed[n] = w[n] = t, n++;
	ec_err err;
	if (cmd_expand(w, n, &err) == 0) {
		for (size_t i = 0; i < n; i++) {
			/* A keyword replaces only a prefix of itself, ignoring case. */
			size_t len = strlen(typed[i]);
			if (w[i] != typed[i] && (strlen(w[i]) < len || strncasecmp(w[i], typed[i], len) != 0))
				abort();
		}
	} else if (strncmp(err.msg, "% Ambiguous command: \"", 22) != 0) {
		abort();
	}
	free(text);
	return 0;
}
