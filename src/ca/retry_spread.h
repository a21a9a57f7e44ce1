/*
 * retry_spread.h - when to tell a client that asked GetNextCACert too early to come back.
 *
 * Before the CA creates its rollover certificate (the shadow generation, at S = E - R) a client
 * that asks for it gets 503 with a Retry-After. Telling every such client "at S" sends a whole
 * fleet back in the same second; instead each is told S + d, with d spread over a window W
 * (a quarter of the auto-rollover period R, at most a day, at least a second: the client still
 * has three quarters of R to obtain its shadow certificate). d is drawn from a hash of the
 * client's address and of the millisecond its request arrived, so that the answer is the same
 * for the same request and differs between the clients of one address (a NAT, a proxy, or
 * loopback) as soon as they ask at different instants. With W = one day, N early clients come
 * back at N / 86 400 per second on average; retry_spread_test checks the peak for N = 100 000.
 *
 * Purity and threads: pure (no clock, no I/O, no state); any thread (HTTP threads call it).
 */
#ifndef EVERCERT_CA_RETRY_SPREAD_H
#define EVERCERT_CA_RETRY_SPREAD_H

#include <stdint.h>

#include "clock/clock.h"

/* The longest window, one day in milliseconds. */
#define RETRY_SPREAD_WINDOW_MAX ((ec_time)86400 * 1000)

/* The window W for an auto-rollover period R (milliseconds): R / 4 within [1 s, 1 day]. */
ec_time retry_spread_window(ec_time rollover_period);

/* The hash key of one request: its source address (NULL or "" allowed) and arrival time. */
uint64_t retry_spread_key(const char *source, ec_time arrival);

/* The Retry-After, in whole seconds (>= 1), for a request at now told to come back after
 * shadow_at within window: ceil((shadow_at + d - now) / 1 s), d = key mod window, at least 1. */
int64_t retry_spread_seconds(ec_time now, ec_time shadow_at, ec_time window, uint64_t key);

#endif
