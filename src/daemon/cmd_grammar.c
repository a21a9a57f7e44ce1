/* The operator commands' forms and the expansion of abbreviated keywords (cmd_grammar.h). */
#include "daemon/cmd_grammar.h"

#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Every form, one per line of words. The server commands are listed once with SERVER standing
 * for "server NAME" and "crypto pki server NAME". */
static const char *const FORMS[] = {
	"show crypto pki server",
	"show crypto pki certificates",
	"show crypto pki timers",
	"show crypto pki trustpoints status",
	"show crypto key mypubkey rsa",
	"show ip http server status",
	"show clock",
	"show timeline",
	"SERVER info requests",
	"SERVER grant all",
	"SERVER grant ID",
	"SERVER reject all",
	"SERVER reject ID",
	"SERVER revoke SERIAL",
	"SERVER unrevoke SERIAL",
	"SERVER password generate MINUTES",
	"SERVER rollover cancel",
	"SERVER shutdown",
	"SERVER no shutdown",
	"crypto pki authenticate TP",
	"crypto pki enroll TP",
	"crypto pki crl request TP",
	"authenticate TP",
	"enroll TP",
	"clock advance DURATION",
	"clock advance-to TIME",
	"ping",
	"reload",
	"backup DIR",
};

#define FORM_WORDS_MAX 8
#define FORMS_MAX (2 * sizeof(FORMS) / sizeof(FORMS[0]))

typedef struct form {
	const char *w[FORM_WORDS_MAX];
	size_t n;
} form;

/* The forms split into words, SERVER written out both ways. Built once: the keywords put in a
 * command's words point into it for as long as the program runs. */
typedef struct grammar {
	char text[FORMS_MAX][96];
	form f[FORMS_MAX];
	size_t n;
} grammar;

static void add_form(grammar *g, const char *prefix, const char *rest)
{
	form *f = &g->f[g->n];
	char *t = g->text[g->n];
	snprintf(t, sizeof(g->text[0]), "%s%s", prefix, rest);
	f->n = 0;
	for (char *save = NULL, *w = strtok_r(t, " ", &save); w != NULL && f->n < FORM_WORDS_MAX;
	     w = strtok_r(NULL, " ", &save))
		f->w[f->n++] = w;
	g->n++;
}

static grammar the_grammar;
static pthread_once_t the_grammar_once = PTHREAD_ONCE_INIT;

static void grammar_build(void)
{
	grammar *g = &the_grammar;
	g->n = 0;
	for (size_t i = 0; i < sizeof(FORMS) / sizeof(FORMS[0]); i++) {
		if (strncmp(FORMS[i], "SERVER ", 7) == 0) {
			add_form(g, "server NAME ", FORMS[i] + 7);
			add_form(g, "crypto pki server NAME ", FORMS[i] + 7);
		} else {
			add_form(g, "", FORMS[i]);
		}
	}
}

static bool is_argument(const char *form_word)
{
	return isupper((unsigned char)form_word[0]);
}

/* The keyword that word stands for at place i among the live forms, which it narrows to those it
 * fits; NULL when it is an argument there or fits none (no form stays live then). *ambiguous when
 * it abbreviates two keywords and no argument may stand there. */
static const char *match(const grammar *g, bool *live, size_t i, const char *word, bool *ambiguous)
{
	const char *exact = NULL, *prefix = NULL;
	bool argument = false;
	size_t len = strlen(word);
	*ambiguous = false;
	for (size_t k = 0; k < g->n; k++) {
		if (!live[k] || g->f[k].n <= i)
			continue;
		const char *fw = g->f[k].w[i];
		if (is_argument(fw)) {
			argument = true;
		} else if (strcasecmp(fw, word) == 0) {
			exact = fw;
		} else if (len > 0 && strncasecmp(fw, word, len) == 0) {
			*ambiguous = *ambiguous || (prefix != NULL && strcasecmp(prefix, fw) != 0);
			prefix = fw;
		}
	}
	/* A keyword written in full wins; where an argument may stand, the word is one. */
	const char *chosen = exact != NULL ? exact : argument || *ambiguous ? NULL : prefix;
	bool as_argument = exact == NULL && argument;
	if (exact != NULL || as_argument)
		*ambiguous = false;
	for (size_t k = 0; k < g->n; k++) {
		const char *fw = live[k] && g->f[k].n > i ? g->f[k].w[i] : NULL;
		live[k] = fw != NULL && (as_argument ? is_argument(fw) : chosen != NULL && strcasecmp(fw, chosen) == 0);
	}
	return chosen;
}

/* The router's refusal, quoting the line as it was typed (options left out). */
static int ambiguous_line(const char *const *typed, size_t n, ec_err *err)
{
	char line[512] = "";
	for (size_t j = 0; j < n; j++) {
		if (typed[j][0] == '-')
			continue;
		size_t used = strlen(line);
		snprintf(line + used, sizeof(line) - used, "%s%s", used ? " " : "", typed[j]);
	}
	return ec_err_set(err, "%% Ambiguous command: \"%s\"", line);
}

int cmd_expand(const char **words, size_t n, ec_err *err)
{
	bool live[FORMS_MAX];
	const char *typed[FORM_WORDS_MAX * 4];
	if (n > sizeof(typed) / sizeof(typed[0]))
		return 0; /* longer than any command: the handlers judge it */
	memcpy(typed, words, n * sizeof(words[0]));
	pthread_once(&the_grammar_once, grammar_build);
	const grammar *g = &the_grammar;
	for (size_t k = 0; k < g->n; k++)
		live[k] = true;
	size_t place = 0;
	for (size_t i = 0; i < n; i++) {
		if (words[i][0] == '-')
			continue;
		bool ambiguous = false;
		const char *keyword = match(g, live, place++, words[i], &ambiguous);
		if (ambiguous)
			return ambiguous_line(typed, n, err);
		if (keyword != NULL)
			words[i] = keyword;
		bool any = false;
		for (size_t k = 0; k < g->n; k++)
			any = any || live[k];
		if (!any)
			return 0; /* a line the grammar does not know: the handlers judge it */
	}
	return 0;
}
