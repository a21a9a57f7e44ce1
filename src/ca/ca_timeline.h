/*
 * ca_timeline.h - what a certificate server knows of its years, as facts for the timeline
 * (picture/lanes.h): its CA generations (made when, valid when), every certificate it issued
 * through a granted request (to whom, when, valid when, first enrollment or renewal), and the
 * early GetNextCACert requests it answered 503 (the last CA_EARLY_RING of them, kept in memory
 * since the start).
 *
 * Purity and threads: reads the engine under its lock and the store; the main thread (an
 * operator command), while HTTP threads serve.
 */
#ifndef EVERCERT_CA_CA_TIMELINE_H
#define EVERCERT_CA_CA_TIMELINE_H

#include "ca/ca.h"
#include "picture/lanes.h"

/* Adds the server's facts to f. */
int ca_timeline_facts(ca_engine *ca, lanes_facts *f, ec_err *err) EC_MUST_USE;

#endif
