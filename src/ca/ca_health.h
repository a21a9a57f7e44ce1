/*
 * ca_health.h - whether a certificate server can serve right now, for a load balancer's health
 * check (the router answers GET /health with it).
 *
 * A server can serve when its store answers (one cheap read: on PostgreSQL that is a round trip
 * to the database, reconnecting if the connection was lost) and its active CA generation has its
 * key loaded. A server the operator disabled (`shutdown`) still counts as able to serve: every
 * node of a cluster refuses alike, so taking this node out of rotation would change nothing.
 *
 * Purity and threads: not pure (reads the store); any thread, HTTP worker threads included. The
 * engine's read lock is held only while the keys are looked at, never across the store call, so
 * a database that hangs delays the check (up to libpq's connect_timeout) and nothing else.
 */
#ifndef EVERCERT_CA_CA_HEALTH_H
#define EVERCERT_CA_CA_HEALTH_H

#include "ca/ca.h"

/* 0 when ca can serve; -1 with the reason in err ("database unavailable: ...", "no CA key ..."). */
int ca_health(ca_engine *ca, ec_err *err) EC_MUST_USE;

#endif
