/* A trustpoint's facts for the timeline (see client_timeline.h). */
#include "client/client_timeline.h"

#include <stdio.h>

#include "client/client_internal.h"
#include "pki/pki.h"

/* A CA certificate held, on a lane named by the trustpoint and the serial. */
static int add_ca(tp_runtime *tp, X509 *cert, lanes_facts *f)
{
	char serial[PKI_SERIAL_MAX], server[LANES_NAME_MAX];
	if (cert == NULL)
		return 0;
	if (pki_cert_serial_hex(cert, serial) != 0)
		return -1;
	snprintf(server, sizeof(server), "%.40s's CA", tp->cfg.name);
	lanes_generation g = {server, -1, serial, -1, pki_cert_not_before(cert), pki_cert_not_after(cert)};
	return lanes_facts_add_generation(f, &g);
}

/* An identity certificate; the shadow one was ready by now, ahead of its start. */
static int add_cert(tp_runtime *tp, X509 *cert, bool shadow, ec_time now, lanes_facts *f)
{
	char serial[PKI_SERIAL_MAX];
	if (cert == NULL)
		return 0;
	if (pki_cert_serial_hex(cert, serial) != 0)
		return -1;
	ec_time nb = pki_cert_not_before(cert);
	lanes_cert c = {tp->cfg.name, serial, shadow && now < nb ? now : -1, nb, pki_cert_not_after(cert), shadow};
	return lanes_facts_add_cert(f, &c);
}

int client_timeline_facts(tp_runtime *tp, ec_time now, lanes_facts *f, ec_err *err)
{
	if (add_ca(tp, tp->ca, f) != 0 || add_ca(tp, tp->rollover_ca, f) != 0 ||
	    add_cert(tp, tp->cert, false, now, f) != 0 || add_cert(tp, tp->rollover_cert, true, now, f) != 0)
		return ec_err_set(err, "trustpoint %s: a certificate that cannot be read, or out of memory", tp->cfg.name);
	const tp_state *m = &tp->rec.m;
	if (m->renew_at != TP_NEVER && m->renew_at > 0) {
		lanes_event e = {tp->cfg.name, LANES_MARK_ARMED, m->renew_at};
		if (lanes_facts_add_event(f, &e) != 0)
			return ec_err_set(err, "out of memory");
	}
	return 0;
}
