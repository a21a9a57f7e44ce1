/* A trustpoint's post-install command: when to start, signal and start it again (pure). */
#include "client/post_install.h"

enum post_install_request post_install_request(post_install_slot *s)
{
	if (s->stage == POST_INSTALL_IDLE)
		return POST_INSTALL_START;
	if (s->again)
		return POST_INSTALL_ALREADY_QUEUED;
	s->again = true;
	return POST_INSTALL_QUEUED;
}

void post_install_started(post_install_slot *s, int64_t now_ms)
{
	s->stage = POST_INSTALL_RUNNING;
	s->started_ms = now_ms;
	s->term_sent_ms = 0;
}

int64_t post_install_deadline(const post_install_slot *s, int64_t timeout_ms)
{
	switch (s->stage) {
	case POST_INSTALL_RUNNING:
		return s->started_ms > POST_INSTALL_NEVER - timeout_ms ? POST_INSTALL_NEVER : s->started_ms + timeout_ms;
	case POST_INSTALL_TERM_SENT:
		return s->term_sent_ms + POST_INSTALL_KILL_GRACE_MS;
	case POST_INSTALL_IDLE:
	case POST_INSTALL_KILL_SENT:
		break;
	}
	return POST_INSTALL_NEVER;
}

enum post_install_action post_install_due(post_install_slot *s, int64_t now_ms, int64_t timeout_ms)
{
	if (now_ms < post_install_deadline(s, timeout_ms))
		return POST_INSTALL_WAIT;
	if (s->stage == POST_INSTALL_RUNNING) {
		s->stage = POST_INSTALL_TERM_SENT;
		s->term_sent_ms = now_ms;
		return POST_INSTALL_SEND_TERM;
	}
	s->stage = POST_INSTALL_KILL_SENT;
	return POST_INSTALL_SEND_KILL;
}

bool post_install_ended(post_install_slot *s)
{
	bool again = s->stage != POST_INSTALL_IDLE && s->again;
	s->stage = POST_INSTALL_IDLE;
	s->again = false;
	return again;
}

void post_install_forget(post_install_slot *s)
{
	s->again = false;
}
