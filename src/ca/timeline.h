/*
 * timeline.h - the timer-dependency rule of SPEC §8, pure.
 *
 * A client whose identity certificate was installed at T and ends with its CA at E fires SHADOW
 * at T + P x (E - T). The CA creates its rollover certificate at E - R. The SHADOW must not come
 * first: (1 - P) x (E - T) <= R for every client, and since E - T <= L (the certificate
 * lifetime), a deployment is safe for every client when (1 - P) x L <= R.
 *
 * Purity and threads: pure; any thread (the daemon's main thread calls it).
 */
#ifndef EVERCERT_CA_TIMELINE_H
#define EVERCERT_CA_TIMELINE_H

#include <stdbool.h>

#include "clock/clock.h"
#include "util/buf.h"

typedef struct timeline_input {
	ec_time ca_lifetime;          /* C: lifetime ca-certificate */
	ec_time cert_lifetime;        /* L: lifetime certificate */
	bool auto_rollover;
	ec_time rollover_period;      /* R */
	int percent;                  /* P: the clients' auto-enroll percentage */
	const char *server;           /* names, for the report */
	const char *client;
} timeline_input;

typedef struct timeline_result {
	bool safe;
	ec_time earliest_shadow;      /* before E: E - (1 - P) x min(L, C) */
	ec_time shadow_generation;    /* before E: R */
	ec_time unsafe_window;        /* clients installed within this long before E - L' ask early */
} timeline_result;

/* Evaluates the rule and appends a readable timeline (times relative to the CA's expiry E) and
 * the verdict to out. */
timeline_result timeline_check(const timeline_input *in, ec_buf *out);

#endif
