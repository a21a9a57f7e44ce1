/* `show timeline` on the command line (see show_timeline.h). */
#include "cli/show_timeline.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/err.h"
#include "util/fsutil.h"

/* Whether word abbreviates keyword, at least min characters (as the daemon reads it). */
static bool abbreviates(const char *word, const char *keyword, size_t min)
{
	size_t n = strlen(word);
	return n >= min && n <= strlen(keyword) && strncasecmp(word, keyword, n) == 0;
}

static bool is_timeline(char **words, int n)
{
	int i = 0;
	while (i < n && strncmp(words[i], "--", 2) == 0)
		i++;
	return i + 1 < n && abbreviates(words[i], "show", 2) && abbreviates(words[i + 1], "timeline", 2);
}

int cli_timeline_words(char **words, int *n, int max, const char **html, char *width_text, size_t width_sz)
{
	*html = NULL;
	if (!is_timeline(words, *n))
		return 0;
	for (int i = 0; i < *n; i++) {
		if (strcmp(words[i], "--html") != 0)
			continue;
		if (i + 1 >= *n) {
			fprintf(stderr, "evercert: --html needs a file name\n");
			return -1;
		}
		*html = words[i + 1];
		words[i] = "html";
		memmove(words + i + 1, words + i + 2, (size_t)(*n - i - 2) * sizeof(*words));
		(*n)--;
		return 0;
	}
	struct winsize ws;
	if (!isatty(STDOUT_FILENO) || *n + 3 > max)
		return 0; /* not a terminal: the daemon's default width, no escape codes */
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
		snprintf(width_text, width_sz, "%u", (unsigned)ws.ws_col);
		words[(*n)++] = "width";
		words[(*n)++] = width_text;
	}
	const char *no_color = getenv("NO_COLOR");
	if (no_color == NULL || no_color[0] == '\0')
		words[(*n)++] = "colour";
	return 0;
}

int cli_timeline_save(const ec_buf *reply, size_t text, const char *file)
{
	ec_err err;
	if (ec_write_atomic(file, reply->data + text, reply->len - text, 0644, &err) != 0) {
		fprintf(stderr, "evercert: %s\n", err.msg);
		return 1;
	}
	printf("Timeline written to %s (open it in a browser)\n", file);
	return 0;
}
