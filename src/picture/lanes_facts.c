/* The facts collector of lanes.h: copies of the structures and of their strings. */
#include "picture/lanes.h"

#include <stdlib.h>
#include <string.h>

/* A copy of text kept until lanes_facts_free; NULL stays NULL. */
static int keep(lanes_facts *f, const char **text)
{
	if (*text == NULL)
		return 0;
	char **s = realloc(f->strings, (f->n_strings + 1) * sizeof(*s));
	if (s == NULL)
		return -1;
	f->strings = s;
	char *copy = strdup(*text);
	if (copy == NULL)
		return -1;
	f->strings[f->n_strings++] = copy;
	*text = copy;
	return 0;
}

/* Appends one item of size bytes to *items (n of them). */
static void *push(void **items, size_t *n, size_t size, const void *item)
{
	char *grown = realloc(*items, (*n + 1) * size);
	if (grown == NULL)
		return NULL;
	*items = grown;
	memcpy(grown + *n * size, item, size);
	return grown + (*n)++ * size;
}

int lanes_facts_add_generation(lanes_facts *f, const lanes_generation *g)
{
	lanes_generation *copy = push((void **)&f->gens, &f->n_gens, sizeof(*g), g);
	return copy != NULL && keep(f, &copy->server) == 0 && keep(f, &copy->serial) == 0 ? 0 : -1;
}

int lanes_facts_add_cert(lanes_facts *f, const lanes_cert *c)
{
	lanes_cert *copy = push((void **)&f->certs, &f->n_certs, sizeof(*c), c);
	return copy != NULL && keep(f, &copy->holder) == 0 && keep(f, &copy->serial) == 0 ? 0 : -1;
}

int lanes_facts_add_event(lanes_facts *f, const lanes_event *e)
{
	lanes_event *copy = push((void **)&f->events, &f->n_events, sizeof(*e), e);
	return copy != NULL && keep(f, &copy->lane) == 0 ? 0 : -1;
}

void lanes_facts_free(lanes_facts *f)
{
	for (size_t i = 0; i < f->n_strings; i++)
		free(f->strings[i]);
	free(f->strings);
	free(f->gens);
	free(f->certs);
	free(f->events);
	memset(f, 0, sizeof(*f));
}

lanes_input lanes_facts_input(const lanes_facts *f, ec_time from, ec_time to, ec_time now)
{
	return (lanes_input){f->gens, f->n_gens, f->certs, f->n_certs, f->events, f->n_events, from, to, now};
}
