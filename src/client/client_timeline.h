/*
 * client_timeline.h - what a trustpoint holds, as facts for the timeline (picture/lanes.h): its
 * CA certificates (active and rollover) as CA lanes, its identity certificates (active and the
 * shadow one obtained ahead of the switch) and its armed renewal on the trustpoint's lane. A
 * trustpoint keeps its current certificates, not the ones before: the history of a fleet is the
 * CA's (ca_timeline.h).
 *
 * Purity and threads: reads the trustpoint's runtime; the main thread, between the trustpoint's
 * own steps (an operator command).
 */
#ifndef EVERCERT_CLIENT_CLIENT_TIMELINE_H
#define EVERCERT_CLIENT_CLIENT_TIMELINE_H

#include "client/client.h"
#include "picture/lanes.h"

int client_timeline_facts(tp_runtime *tp, ec_time now, lanes_facts *f, ec_err *err) EC_MUST_USE;

#endif
