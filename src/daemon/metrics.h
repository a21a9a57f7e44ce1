/*
 * metrics.h - evercertd's Prometheus endpoint: `ip http metrics ADDRESS PORT` serves
 * GET /metrics in the text exposition format (version 0.0.4); docs/OPERATIONS.md lists the
 * metrics and the alert rules to set on them.
 *
 * A listener of its own, never a path of the SCEP port: the SCEP port faces every client that
 * may enroll, often the Internet, while the metrics tell who asks, what waits for the operator
 * and which trustpoints fail; they belong on loopback or a management network. A daemon that
 * only runs trustpoints has no SCEP listener at all and still has metrics.
 *
 * Who reads what: a certificate server locks its own state, so the metrics listener's threads
 * read each one (ca_metrics_read) at the request. A trustpoint's state belongs to the daemon's
 * loop and its tasks: the loop publishes a copy of what the metrics need at every turn
 * (daemon_metrics_publish), under this module's mutex, and the listener's threads read only
 * that copy. The SCEP request latency histogram is kept in atomics by the SCEP listener's
 * threads (daemon_metrics_scep_handle wraps the SCEP router).
 *
 * Purity and threads: not pure (a listener). daemon_metrics_open, _close and _publish run on the
 * main thread; daemon_metrics_scep_handle on the SCEP listener's threads; the page is rendered
 * on the metrics listener's threads.
 */
#ifndef EVERCERT_DAEMON_METRICS_H
#define EVERCERT_DAEMON_METRICS_H

#include "daemon/daemon.h"

typedef struct daemon_metrics daemon_metrics;

/* After the servers and trustpoints are open, before the SCEP listener starts: makes
 * d->metrics and, with an `ip http metrics` line, starts its listener. */
int daemon_metrics_open(daemon_ctx *d, ec_err *err) EC_MUST_USE;
/* After the SCEP listener stopped. */
void daemon_metrics_close(daemon_ctx *d);
/* The loop, between turns (no task runs): copies what the metrics show of each trustpoint. */
void daemon_metrics_publish(daemon_ctx *d);
/* The SCEP listener's handler (ctx: the daemon_ctx): the SCEP router, timed. */
void daemon_metrics_scep_handle(void *ctx, const http_request *req, http_response *resp);

#endif
