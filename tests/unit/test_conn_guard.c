/* The HTTP listener's connection guard: per-address cap, fair shedding, eviction at capacity,
 * deadlines however a request trickles, IPv6 per /64, rate-limited log lines. Connections are
 * socket pairs: a connection the guard shuts down reads as closed at the client's end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_server/conn_guard.h"

#define MAX_CONNS 64

typedef struct test_conn {
	guard_conn *gc;
	int server, client;
} test_conn;

static struct sockaddr_storage addr_of(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, text, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
	} else {
		assert_int_equal(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
		in6->sin6_family = AF_INET6;
	}
	return ss;
}

static conn_guard *guard(unsigned capacity, unsigned per_source, unsigned busy)
{
	conn_guard_limits lim = {capacity, per_source, busy, 10000, 30000, 90000};
	ec_err err;
	conn_guard *g = guard_new(&lim, &err);
	assert_non_null(g);
	return g;
}

static int admit(conn_guard *g, const char *from)
{
	struct sockaddr_storage ss = addr_of(from);
	return guard_admit(g, (struct sockaddr *)&ss, 0);
}

static test_conn open_conn(conn_guard *g, const char *from, int64_t now)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	struct sockaddr_storage ss = addr_of(from);
	test_conn c = {guard_open(g, (struct sockaddr *)&ss, sv[0], now), sv[0], sv[1]};
	assert_non_null(c.gc);
	return c;
}

static void close_conn(conn_guard *g, test_conn *c)
{
	guard_close(g, c->gc);
	close(c->server);
	close(c->client);
	c->gc = NULL;
}

/* Whether the guard shut the server's end down (the client reads the end of the stream). */
static bool shut(const test_conn *c)
{
	char b;
	return recv(c->client, &b, 1, 0) == 0;
}

static conn_guard_stats stats(conn_guard *g)
{
	conn_guard_stats st;
	guard_get_stats(g, &st);
	return st;
}

static void per_address_cap(void **state)
{
	conn_guard *g = guard(64, 4, 48);
	test_conn c[4];
	for (int i = 0; i < 4; i++) {
		assert_int_equal(admit(g, "127.0.0.2"), GUARD_ACCEPT);
		c[i] = open_conn(g, "127.0.0.2", 0);
	}
	assert_int_equal(admit(g, "127.0.0.2"), GUARD_REFUSE_SOURCE);
	assert_int_equal(admit(g, "127.0.0.3"), GUARD_ACCEPT);
	conn_guard_stats st = stats(g);
	assert_int_equal(st.open, 4);
	assert_int_equal(st.addresses, 1);
	assert_int_equal(st.heaviest, 4);
	assert_int_equal(st.refused_source, 1);
	close_conn(g, &c[0]);
	assert_int_equal(admit(g, "127.0.0.2"), GUARD_ACCEPT);
	for (int i = 1; i < 4; i++)
		close_conn(g, &c[i]);
	st = stats(g);
	assert_int_equal(st.open, 0);
	assert_int_equal(st.addresses, 0);
	guard_free(g);
}

static void header_and_request_deadlines(void **state)
{
	conn_guard *g = guard(64, 16, 48);
	/* Headers: 10 s from the start, whatever arrives meanwhile (the request line included). */
	test_conn slow = open_conn(g, "127.0.0.2", 0);
	guard_request_line(g, slow.gc, 9000);
	assert_int_equal(guard_expire(g, 9999), 0);
	assert_false(shut(&slow));
	assert_int_equal(guard_expire(g, 10000), 1);
	assert_true(shut(&slow));
	assert_int_equal(stats(g).open, 0);
	assert_int_equal(stats(g).expired_headers, 1);
	assert_int_equal(guard_expire(g, 20000), 0); /* once */
	close_conn(g, &slow);

	/* Body, handling and response: 30 s from the end of the headers. */
	test_conn body = open_conn(g, "127.0.0.2", 0);
	guard_headers_done(g, body.gc, 5000);
	assert_int_equal(guard_expire(g, 34999), 0);
	assert_int_equal(guard_expire(g, 35000), 1);
	assert_true(shut(&body));
	assert_int_equal(stats(g).expired_request, 1);
	close_conn(g, &body);

	/* Kept alive: 90 s for the next request line, then 10 s for its headers. */
	test_conn kept = open_conn(g, "127.0.0.2", 0);
	guard_headers_done(g, kept.gc, 100);
	guard_request_done(g, kept.gc, 1000);
	assert_int_equal(guard_expire(g, 90999), 0);
	guard_request_line(g, kept.gc, 50000);
	assert_int_equal(guard_expire(g, 59999), 0);
	assert_int_equal(guard_expire(g, 60000), 1);
	assert_true(shut(&kept));
	close_conn(g, &kept);

	test_conn idle = open_conn(g, "127.0.0.2", 0);
	guard_headers_done(g, idle.gc, 100);
	guard_request_done(g, idle.gc, 1000);
	assert_int_equal(guard_expire(g, 91000), 1);
	assert_int_equal(stats(g).expired_idle, 1);
	close_conn(g, &idle);
	guard_free(g);
}

static void fair_shedding(void **state)
{
	conn_guard *g = guard(16, 12, 12);
	test_conn a[10], b[2];
	for (int i = 0; i < 10; i++)
		a[i] = open_conn(g, "127.0.0.2", 0);
	for (int i = 0; i < 2; i++)
		b[i] = open_conn(g, "127.0.0.3", 0);
	/* 12 open (busy) from 2 addresses: a share is 8. The heavy address is shed, the other served. */
	assert_true(guard_busy(g));
	assert_true(guard_should_shed(g, a[0].gc));
	assert_false(guard_should_shed(g, b[0].gc));
	assert_int_equal(admit(g, "127.0.0.2"), GUARD_REFUSE_SHED);
	assert_int_equal(admit(g, "127.0.0.3"), GUARD_ACCEPT);
	assert_int_equal(admit(g, "127.0.0.4"), GUARD_ACCEPT);
	assert_int_equal(stats(g).refused_shed, 1);
	assert_int_equal(stats(g).shed_requests, 1);
	/* Below the busy mark nobody is shed. */
	close_conn(g, &a[9]);
	assert_false(guard_busy(g));
	assert_false(guard_should_shed(g, a[0].gc));
	assert_int_equal(admit(g, "127.0.0.2"), GUARD_ACCEPT);
	for (int i = 0; i < 9; i++)
		close_conn(g, &a[i]);
	for (int i = 0; i < 2; i++)
		close_conn(g, &b[i]);
	guard_free(g);
}

static void eviction_at_capacity(void **state)
{
	conn_guard *g = guard(16, 16, 12);
	test_conn a[14], b[2];
	for (int i = 0; i < 14; i++)
		a[i] = open_conn(g, "127.0.0.2", i);
	for (int i = 0; i < 2; i++)
		b[i] = open_conn(g, "127.0.0.3", 0);
	guard_headers_done(g, a[0].gc, 20); /* in the middle of a request: spared */
	/* Full: a newcomer takes the place of the heaviest address's oldest idle connection. */
	assert_int_equal(admit(g, "127.0.0.4"), GUARD_ACCEPT);
	assert_false(shut(&a[0]));
	assert_true(shut(&a[1]));
	assert_int_equal(stats(g).evicted, 1);
	assert_int_equal(stats(g).open, 15);
	assert_int_equal(stats(g).heaviest, 13);
	/* The heavy address itself gets nothing more. */
	assert_int_equal(admit(g, "127.0.0.2"), GUARD_REFUSE_SHED);
	for (int i = 0; i < 14; i++)
		close_conn(g, &a[i]);
	for (int i = 0; i < 2; i++)
		close_conn(g, &b[i]);
	assert_int_equal(stats(g).open, 0);
	guard_free(g);

	/* Full of addresses holding one each: nobody to take a place from. */
	g = guard(16, 16, 12);
	test_conn one[16];
	char ip[32];
	for (int i = 0; i < 16; i++) {
		snprintf(ip, sizeof(ip), "10.0.0.%d", i + 1);
		one[i] = open_conn(g, ip, 0);
	}
	assert_int_equal(admit(g, "10.0.1.1"), GUARD_REFUSE_FULL);
	assert_int_equal(stats(g).refused_full, 1);
	for (int i = 0; i < 16; i++)
		close_conn(g, &one[i]);
	guard_free(g);
}

static void ipv6_per_64(void **state)
{
	conn_guard *g = guard(64, 2, 48);
	test_conn c1 = open_conn(g, "2001:db8:0:1::1", 0);
	test_conn c2 = open_conn(g, "2001:db8:0:1:ffff::2", 0);
	assert_int_equal(admit(g, "2001:db8:0:1::3"), GUARD_REFUSE_SOURCE);
	assert_int_equal(admit(g, "2001:db8:0:2::1"), GUARD_ACCEPT);
	test_conn c3 = open_conn(g, "127.0.0.2", 0);
	test_conn c4 = open_conn(g, "::ffff:127.0.0.2", 0);
	assert_int_equal(admit(g, "127.0.0.2"), GUARD_REFUSE_SOURCE);
	assert_int_equal(stats(g).addresses, 2);
	char lines[4][GUARD_LOG_LINE_MAX];
	size_t n = guard_take_log(g, lines, 4);
	assert_int_equal(n, 2);
	assert_non_null(strstr(lines[0], "2001:db8:0:1::/64"));
	assert_non_null(strstr(lines[1], "http: 127.0.0.2: refused a connection: it holds 2"));
	close_conn(g, &c1);
	close_conn(g, &c2);
	close_conn(g, &c3);
	close_conn(g, &c4);
	guard_free(g);
}

static void log_rate_limited(void **state)
{
	conn_guard *g = guard(64, 1, 48);
	char lines[64][GUARD_LOG_LINE_MAX];
	test_conn c = open_conn(g, "127.0.0.2", 0);
	struct sockaddr_storage ss = addr_of("127.0.0.2");
	for (int i = 0; i < 10; i++)
		assert_int_equal(guard_admit(g, (struct sockaddr *)&ss, 1000 + i), GUARD_REFUSE_SOURCE);
	assert_int_equal(guard_take_log(g, lines, 64), 1);
	assert_int_equal(guard_admit(g, (struct sockaddr *)&ss, GUARD_LOG_QUIET_MS + 2000), GUARD_REFUSE_SOURCE);
	assert_int_equal(guard_take_log(g, lines, 64), 1);
	close_conn(g, &c);
	guard_free(g);

	/* Many addresses at once: a bounded burst, then a line saying how many were not logged. */
	g = guard(1024, 1, 768);
	test_conn many[MAX_CONNS];
	char ip[32];
	for (int i = 0; i < MAX_CONNS; i++) {
		snprintf(ip, sizeof(ip), "10.0.0.%d", i + 1);
		many[i] = open_conn(g, ip, 0);
		ss = addr_of(ip);
		assert_int_equal(guard_admit(g, (struct sockaddr *)&ss, 0), GUARD_REFUSE_SOURCE);
	}
	size_t n = guard_take_log(g, lines, 64);
	assert_true(n > 0 && n <= 20);
	guard_expire(g, 60000); /* every connection past its headers' deadline: logged within the budget */
	n = guard_take_log(g, lines, 64);
	assert_true(n > 0 && n <= 21);
	assert_non_null(strstr(lines[0], "more refusals and closes were not logged"));
	for (int i = 0; i < MAX_CONNS; i++)
		close_conn(g, &many[i]);
	guard_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(per_address_cap),      cmocka_unit_test(header_and_request_deadlines),
		cmocka_unit_test(fair_shedding),        cmocka_unit_test(eviction_at_capacity),
		cmocka_unit_test(ipv6_per_64),          cmocka_unit_test(log_rate_limited),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
