/*
 * Admission and deadlines of the HTTP listener's connections (contract in conn_guard.h).
 *
 * Addresses live in a hash table seeded at random (the keys come from the network); each keeps a
 * list of its live connections, oldest first, from which an eviction picks. Live connections are
 * also on one list that the deadline pass walks: at most a few thousand, a few times a second.
 * A connection shut down (expired or evicted) leaves both lists and the counts at once, so what
 * the counts say is what still holds a place; its record waits for guard_close.
 */
#include "http_server/conn_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

enum phase { PHASE_HEADERS, PHASE_REQUEST, PHASE_IDLE, PHASE_DEAD };
enum event { EV_REFUSE_SOURCE, EV_REFUSE_SHED, EV_REFUSE_FULL, EV_EVICTED, EV_EXPIRE_HEADERS, EV_EXPIRE_REQUEST };

#define RECENT_MAX 64    /* (address, event) pairs remembered for the quiet period */
#define PENDING_MAX 32   /* log lines waiting for guard_take_log */
/* Over all addresses: a burst of LOG_BURST lines, then one every LOG_EVERY_MS. */
#define LOG_BURST 20
#define LOG_EVERY_MS 3000

/* An IPv4 address, or the /64 of an IPv6 one (b[0] is 4 or 6; 0 for anything else). */
typedef struct addr_key {
	uint8_t b[9];
} addr_key;

typedef struct guard_addr {
	struct guard_addr *next;      /* hash chain */
	addr_key key;
	unsigned count;               /* live connections */
	unsigned refs;                /* connection records, live or shut down */
	guard_conn *head, *tail;      /* live connections, oldest first */
} guard_addr;

struct guard_conn {
	guard_conn *prev, *next;      /* all live connections */
	guard_conn *aprev, *anext;    /* its address's live connections */
	guard_addr *addr;
	int fd;
	int phase;
	int64_t deadline_ms;
};

typedef struct recent_event {
	addr_key key;
	int event;
	int64_t at;
	bool used;
} recent_event;

struct conn_guard {
	pthread_mutex_t lock;
	conn_guard_limits lim;
	guard_addr **buckets;
	size_t mask;                  /* buckets - 1, a power of two minus one */
	uint64_t seed;
	guard_conn *head, *tail;
	unsigned open, active;        /* live connections; addresses holding one */
	conn_guard_stats st;
	recent_event recent[RECENT_MAX];
	char pending[PENDING_MAX][GUARD_LOG_LINE_MAX];
	size_t n_pending;
	unsigned log_tokens;
	int64_t log_refill_at;
	uint64_t log_dropped;
};

static void key_of(const struct sockaddr *sa, addr_key *k)
{
	memset(k, 0, sizeof(*k));
	if (sa != NULL && sa->sa_family == AF_INET) {
		k->b[0] = 4;
		memcpy(k->b + 1, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			k->b[0] = 4;
			memcpy(k->b + 1, a->s6_addr + 12, 4);
		} else {
			k->b[0] = 6;
			memcpy(k->b + 1, a->s6_addr, 8);
		}
	}
}

static void key_text(const addr_key *k, char *out, size_t sz)
{
	uint8_t a[16] = {0};
	char text[INET6_ADDRSTRLEN] = "?";
	if (k->b[0] == 4) {
		inet_ntop(AF_INET, k->b + 1, out, (socklen_t)sz);
		return;
	}
	if (k->b[0] != 6) {
		snprintf(out, sz, "(not an IP address)");
		return;
	}
	memcpy(a, k->b + 1, 8);
	inet_ntop(AF_INET6, a, text, sizeof(text));
	snprintf(out, sz, "%s/64", text);
}

static size_t bucket_of(const conn_guard *g, const addr_key *k)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ g->seed;
	for (size_t i = 0; i < sizeof(k->b); i++)
		h = (h ^ k->b[i]) * 0x100000001b3ULL;
	h ^= h >> 29;
	return (size_t)h & g->mask;
}

static guard_addr *find(conn_guard *g, const addr_key *k, bool create)
{
	size_t i = bucket_of(g, k);
	for (guard_addr *a = g->buckets[i]; a != NULL; a = a->next)
		if (memcmp(a->key.b, k->b, sizeof(k->b)) == 0)
			return a;
	if (!create)
		return NULL;
	guard_addr *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	a->key = *k;
	a->next = g->buckets[i];
	g->buckets[i] = a;
	return a;
}

static void forget(conn_guard *g, guard_addr *a)
{
	guard_addr **p = &g->buckets[bucket_of(g, &a->key)];
	while (*p != a)
		p = &(*p)->next;
	*p = a->next;
	free(a);
}

static guard_addr *heaviest(const conn_guard *g)
{
	guard_addr *best = NULL;
	for (size_t i = 0; i <= g->mask; i++)
		for (guard_addr *a = g->buckets[i]; a != NULL; a = a->next)
			if (best == NULL || a->count > best->count)
				best = a;
	return best != NULL && best->count > 0 ? best : NULL;
}

static unsigned share(const conn_guard *g, unsigned addresses)
{
	unsigned s = g->lim.capacity / (addresses ? addresses : 1);
	return s < GUARD_SHARE_MIN ? GUARD_SHARE_MIN : s;
}

static void push_line(conn_guard *g, const char *line)
{
	if (g->n_pending == PENDING_MAX) {
		g->log_dropped++;
		return;
	}
	snprintf(g->pending[g->n_pending++], GUARD_LOG_LINE_MAX, "%s", line);
}

/* Whether the overall log budget allows a line now. */
static bool log_budget(conn_guard *g, int64_t now)
{
	if (now - g->log_refill_at >= LOG_EVERY_MS) {
		int64_t more = (now - g->log_refill_at) / LOG_EVERY_MS;
		g->log_tokens = more >= LOG_BURST || g->log_tokens + more >= LOG_BURST ? LOG_BURST
		                : g->log_tokens + (unsigned)more;
		g->log_refill_at = now;
	}
	if (g->log_tokens == 0) {
		g->log_dropped++;
		return false;
	}
	g->log_tokens--;
	if (g->log_dropped > 0 && g->log_tokens > 0) {
		char line[GUARD_LOG_LINE_MAX];
		snprintf(line, sizeof(line), "http: %llu more refusals and closes were not logged",
		         (unsigned long long)g->log_dropped);
		g->log_dropped = 0;
		g->log_tokens--;
		push_line(g, line);
	}
	return true;
}

/* Whether (k, event) was logged within the quiet period; records it when not. */
static bool quiet(conn_guard *g, const addr_key *k, int event, int64_t now)
{
	recent_event *slot = &g->recent[0];
	for (size_t i = 0; i < RECENT_MAX; i++) {
		recent_event *r = &g->recent[i];
		if (r->used && r->event == event && memcmp(r->key.b, k->b, sizeof(k->b)) == 0) {
			if (now - r->at < GUARD_LOG_QUIET_MS)
				return true;
			slot = r;
			break;
		}
		if (!r->used || r->at < slot->at)
			slot = r;
	}
	*slot = (recent_event){.key = *k, .event = event, .at = now, .used = true};
	return false;
}

/* One log line about an address, unless one of the same kind was logged for it lately. */
static void note(conn_guard *g, const addr_key *k, int event, int64_t now, const char *fmt, ...) EC_PRINTF(5, 6);
static void note(conn_guard *g, const addr_key *k, int event, int64_t now, const char *fmt, ...)
{
	if (quiet(g, k, event, now) || !log_budget(g, now))
		return;
	char who[INET6_ADDRSTRLEN + 8], what[160], line[GUARD_LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	key_text(k, who, sizeof(who));
	snprintf(line, sizeof(line), "http: %s: %s (the like from this address is not logged again for %d minutes)",
	         who, what, GUARD_LOG_QUIET_MS / 60000);
	push_line(g, line);
}

static void unlink_live(conn_guard *g, guard_conn *c)
{
	guard_addr *a = c->addr;
	if (c->prev) c->prev->next = c->next; else g->head = c->next;
	if (c->next) c->next->prev = c->prev; else g->tail = c->prev;
	if (c->aprev) c->aprev->anext = c->anext; else a->head = c->anext;
	if (c->anext) c->anext->aprev = c->aprev; else a->tail = c->aprev;
	c->prev = c->next = c->aprev = c->anext = NULL;
	if (--a->count == 0)
		g->active--;
	g->open--;
}

/* Shuts the connection's socket down: libmicrohttpd reads the end and closes it. */
static void kill_conn(conn_guard *g, guard_conn *c)
{
	unlink_live(g, c);
	c->phase = PHASE_DEAD;
	shutdown(c->fd, SHUT_RDWR);
}

static void evict_one(conn_guard *g, guard_addr *h, unsigned newcomer_holds, int64_t now)
{
	guard_conn *victim = h->head;
	for (guard_conn *c = h->head; c != NULL; c = c->anext)
		if (c->phase != PHASE_REQUEST) {
			victim = c;
			break;
		}
	note(g, &h->key, EV_EVICTED, now, "closed one of its %u connections for one from an address holding %u: "
	     "all %u connections were in use", h->count, newcomer_holds, g->lim.capacity);
	kill_conn(g, victim);
	g->st.evicted++;
}

conn_guard *guard_new(const conn_guard_limits *lim, ec_err *err)
{
	if (lim->capacity == 0 || lim->per_source == 0)
		return ec_err_set(err, "connection limits must not be 0"), NULL;
	conn_guard *g = calloc(1, sizeof(*g));
	size_t n = 16;
	while (n < lim->capacity)
		n <<= 1;
	if (g == NULL || (g->buckets = calloc(n, sizeof(*g->buckets))) == NULL) {
		free(g);
		return ec_err_set(err, "out of memory"), NULL;
	}
	g->mask = n - 1;
	g->lim = *lim;
	/* The hash seed keeps an attacker from choosing addresses that share a bucket; without
	 * entropy the table's address is all there is. */
	if (getrandom(&g->seed, sizeof(g->seed), GRND_NONBLOCK) != (ssize_t)sizeof(g->seed))
		g->seed = (uint64_t)(uintptr_t)g * 0x9E3779B97F4A7C15ULL;
	g->log_tokens = LOG_BURST;
	pthread_mutex_init(&g->lock, NULL);
	return g;
}

void guard_free(conn_guard *g)
{
	if (g == NULL)
		return;
	for (size_t i = 0; i <= g->mask; i++)
		while (g->buckets[i] != NULL) {
			guard_addr *a = g->buckets[i];
			g->buckets[i] = a->next;
			free(a);
		}
	free(g->buckets);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

int guard_admit(conn_guard *g, const struct sockaddr *sa, int64_t now)
{
	addr_key k;
	key_of(sa, &k);
	pthread_mutex_lock(&g->lock);
	guard_addr *a = find(g, &k, false);
	unsigned holds = a ? a->count : 0, addresses = g->active + (holds == 0), v = GUARD_ACCEPT;
	if (holds >= g->lim.per_source) {
		v = GUARD_REFUSE_SOURCE;
		g->st.refused_source++;
		note(g, &k, EV_REFUSE_SOURCE, now, "refused a connection: it holds %u, the most one address may", holds);
	} else if (g->open >= g->lim.busy && holds + 1 > share(g, addresses)) {
		v = GUARD_REFUSE_SHED;
		g->st.refused_shed++;
		note(g, &k, EV_REFUSE_SHED, now, "refused a connection: %u of %u connections are open and it holds %u, "
		     "its share being %u", g->open, g->lim.capacity, holds, share(g, addresses));
	} else if (g->open >= g->lim.capacity) {
		guard_addr *h = heaviest(g);
		if (h != NULL && h->count >= holds + 2) {
			evict_one(g, h, holds, now);
		} else {
			v = GUARD_REFUSE_FULL;
			g->st.refused_full++;
			note(g, &k, EV_REFUSE_FULL, now, "refused a connection: all %u connections are in use",
			     g->lim.capacity);
		}
	}
	pthread_mutex_unlock(&g->lock);
	return (int)v;
}

guard_conn *guard_open(conn_guard *g, const struct sockaddr *sa, int fd, int64_t now)
{
	addr_key k;
	key_of(sa, &k);
	guard_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	pthread_mutex_lock(&g->lock);
	guard_addr *a = find(g, &k, true);
	if (a == NULL) {
		pthread_mutex_unlock(&g->lock);
		free(c);
		return NULL;
	}
	c->addr = a;
	c->fd = fd;
	c->phase = PHASE_HEADERS;
	c->deadline_ms = now + g->lim.header_ms;
	a->refs++;
	if (a->count++ == 0)
		g->active++;
	g->open++;
	c->prev = g->tail;
	if (g->tail) g->tail->next = c; else g->head = c;
	g->tail = c;
	c->aprev = a->tail;
	if (a->tail) a->tail->anext = c; else a->head = c;
	a->tail = c;
	pthread_mutex_unlock(&g->lock);
	return c;
}

void guard_close(conn_guard *g, guard_conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	if (c->phase != PHASE_DEAD)
		unlink_live(g, c);
	if (--c->addr->refs == 0)
		forget(g, c->addr);
	pthread_mutex_unlock(&g->lock);
	free(c);
}

/* Moves c to phase p with a deadline ms from now, unless it is shut down already or (from >= 0)
 * is in another phase than from. */
static void set_phase(conn_guard *g, guard_conn *c, int from, int p, unsigned ms, int64_t now)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	if (c->phase != PHASE_DEAD && (from < 0 || c->phase == from)) {
		c->phase = p;
		c->deadline_ms = now + ms;
	}
	pthread_mutex_unlock(&g->lock);
}

void guard_request_line(conn_guard *g, guard_conn *c, int64_t now)
{
	/* On a fresh connection the headers' time runs from its start: the request line gets none
	 * of its own. */
	set_phase(g, c, PHASE_IDLE, PHASE_HEADERS, g->lim.header_ms, now);
}

void guard_headers_done(conn_guard *g, guard_conn *c, int64_t now)
{
	set_phase(g, c, -1, PHASE_REQUEST, g->lim.request_ms, now);
}

void guard_request_done(conn_guard *g, guard_conn *c, int64_t now)
{
	set_phase(g, c, -1, PHASE_IDLE, g->lim.idle_ms, now);
}

bool guard_should_shed(conn_guard *g, const guard_conn *c)
{
	if (c == NULL)
		return false;
	pthread_mutex_lock(&g->lock);
	bool shed = c->phase == PHASE_DEAD ||
	            (g->open >= g->lim.busy && c->addr->count > share(g, g->active));
	if (shed)
		g->st.shed_requests++;
	pthread_mutex_unlock(&g->lock);
	return shed;
}

bool guard_busy(conn_guard *g)
{
	pthread_mutex_lock(&g->lock);
	bool busy = g->open >= g->lim.busy;
	pthread_mutex_unlock(&g->lock);
	return busy;
}

unsigned guard_expire(conn_guard *g, int64_t now)
{
	unsigned n = 0;
	pthread_mutex_lock(&g->lock);
	for (guard_conn *c = g->head, *next; c != NULL; c = next) {
		next = c->next;
		if (c->deadline_ms > now)
			continue;
		if (c->phase == PHASE_HEADERS) {
			g->st.expired_headers++;
			note(g, &c->addr->key, EV_EXPIRE_HEADERS, now, "closed a connection whose request headers were "
			     "not complete within %u s", g->lim.header_ms / 1000);
		} else if (c->phase == PHASE_REQUEST) {
			g->st.expired_request++;
			note(g, &c->addr->key, EV_EXPIRE_REQUEST, now, "closed a connection whose request was not "
			     "complete and answered within %u s of its headers", g->lim.request_ms / 1000);
		} else {
			g->st.expired_idle++;
		}
		kill_conn(g, c);
		n++;
	}
	pthread_mutex_unlock(&g->lock);
	return n;
}

size_t guard_take_log(conn_guard *g, char (*lines)[GUARD_LOG_LINE_MAX], size_t max)
{
	pthread_mutex_lock(&g->lock);
	size_t n = g->n_pending < max ? g->n_pending : max;
	memcpy(lines, g->pending, n * sizeof(g->pending[0]));
	memmove(g->pending, g->pending + n, (g->n_pending - n) * sizeof(g->pending[0]));
	g->n_pending -= n;
	pthread_mutex_unlock(&g->lock);
	return n;
}

void guard_get_stats(conn_guard *g, conn_guard_stats *out)
{
	pthread_mutex_lock(&g->lock);
	*out = g->st;
	out->open = g->open;
	out->addresses = g->active;
	guard_addr *h = heaviest(g);
	out->heaviest = h ? h->count : 0;
	pthread_mutex_unlock(&g->lock);
}

void guard_set_limits(conn_guard *g, unsigned capacity, unsigned per_source, unsigned busy)
{
	pthread_mutex_lock(&g->lock);
	g->lim.capacity = capacity;
	g->lim.per_source = per_source;
	g->lim.busy = busy;
	pthread_mutex_unlock(&g->lock);
}
