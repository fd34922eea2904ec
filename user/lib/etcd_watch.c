// SPDX-License-Identifier: GPL-2.0
/* Watches: one long POST to /v3/watch each, its lines parsed and delivered
 * from ipg_etcd_run(), its end reported once; the owner resumes it. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_int.h"

static void notify(struct ipg_etcd_watch *w,
		   const struct ipg_etcd_watch_status *s)
{
	if (w->dead)
		return;
	w->c->cb_depth++;
	w->on_status(w, s, w->arg);
	w->c->cb_depth--;
}

static void close_stream(struct ipg_etcd_watch *w)
{
	if (w->req) {
		etcd_req_free(w->req);
		w->req = NULL;
	}
}

/* Closes the stream and tells the owner why, once. */
static void terminate(struct ipg_etcd_watch *w, enum ipg_etcd_watch_state st,
		      int err, int64_t compact_revision, const char *msg)
{
	struct ipg_etcd_watch_status s = {
		.state = st,
		.revision = w->last,
		.compact_revision = compact_revision,
		.err = err,
		.message = msg,
		.endpoint = w->ep,
	};

	close_stream(w);
	w->ended = true;
	notify(w, &s);
}

void etcd_watch_fail(struct ipg_etcd_watch *w, int err, const char *msg)
{
	terminate(w, IPG_ETCD_WATCH_ENDED, err, 0, msg);
}

static int stream_start(struct ipg_etcd_watch *w, int64_t rev, int ep)
{
	struct ipg_etcd *c = w->c;
	struct etcd_req *r;
	int err;

	r = etcd_req_new(c, ETCD_WATCH,
			 etcd_json_watch(c->prefix, w->key, w->prefix, rev,
					 w->progress_notify),
			 NULL, NULL);
	if (!r)
		return -ENOMEM;
	r->watch = w;
	r->ep = ep;
	if (w->idle_timeout_s > 0) {
		/* Under one byte a second for that long ends the transfer. */
		curl_easy_setopt(r->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(r->easy, CURLOPT_LOW_SPEED_TIME,
				 (long)w->idle_timeout_s);
	}
	err = etcd_req_send(r);
	if (err) {
		etcd_req_free(r);
		return err;
	}
	w->req = r;
	w->ep = ep;
	w->start_revision = rev;
	w->created = w->ended = false;
	w->feed_err = 0;
	etcd_lines_reset(&w->lines);
	return 0;
}

/* Where a stream that ended picks up: after the last revision delivered. */
static int64_t resume_revision(const struct ipg_etcd_watch *w)
{
	return w->last > 0 ? w->last + 1 : w->start_revision;
}

/* etcd forgot the token: one new token and the same stream again. */
static bool auth_retry(struct ipg_etcd_watch *w, const struct etcd_watch_msg *m)
{
	char msg[ETCD_MSG_SIZE + 64];
	int err;

	if (!w->c->user || w->reauthed ||
	    !etcd_auth_expired(m->code, m->message))
		return false;
	w->reauthed = true;
	etcd_reauth(w->req);
	close_stream(w);
	err = stream_start(w, resume_revision(w), w->ep);
	if (err) {
		etcd_msgf(msg, sizeof(msg), "watch at %s: cannot restart: %s",
			  w->c->endpoints[w->ep], strerror(-err));
		terminate(w, IPG_ETCD_WATCH_ENDED, err, 0, msg);
	}
	return true;
}

static void handle_msg(struct ipg_etcd_watch *w, struct etcd_watch_msg *m)
{
	struct ipg_etcd_watch_status s = { .endpoint = w->ep };
	const char *ep = w->c->endpoints[w->ep];
	char msg[ETCD_MSG_SIZE + 128];

	switch (m->kind) {
	case ETCD_MSG_CREATED:
		w->created = true;
		/* From now: nothing before the header's revision will come. */
		if (w->start_revision <= 0 && m->revision > w->last)
			w->last = m->revision;
		s.state = IPG_ETCD_WATCH_CREATED;
		s.revision = m->revision;
		notify(w, &s);
		break;
	case ETCD_MSG_EVENTS:
		for (size_t i = 0; i < m->n_events; i++)
			if (m->events[i].kv.mod_revision > w->last)
				w->last = m->events[i].kv.mod_revision;
		w->c->cb_depth++;
		w->on_events(w, m->events, m->n_events, w->arg);
		w->c->cb_depth--;
		break;
	case ETCD_MSG_PROGRESS:
		/* Sent only to a watch that has caught up. */
		if (m->revision > w->last)
			w->last = m->revision;
		s.state = IPG_ETCD_WATCH_PROGRESS;
		s.revision = m->revision;
		notify(w, &s);
		break;
	case ETCD_MSG_COMPACTED:
		etcd_msgf(msg, sizeof(msg),
			  "watch at %s from revision %" PRId64
			  ": compacted at revision %" PRId64
			  "; read everything again",
			  ep, w->start_revision, m->compact_revision);
		terminate(w, IPG_ETCD_WATCH_COMPACTED, -ERANGE,
			  m->compact_revision, msg);
		break;
	case ETCD_MSG_CANCELED:
	case ETCD_MSG_ERROR:
		if (auth_retry(w, m))
			break;
		etcd_msgf(msg, sizeof(msg), "watch at %s: %s", ep, m->message);
		if (m->kind == ETCD_MSG_CANCELED)
			terminate(w, IPG_ETCD_WATCH_CANCELED, -ECANCELED, 0,
				  msg);
		else
			terminate(w, IPG_ETCD_WATCH_ENDED,
				  m->code ? etcd_code_errno(m->code) : -EIO, 0,
				  msg);
		break;
	}
}

static void handle_line(struct ipg_etcd_watch *w, const char *line, size_t len)
{
	struct etcd_watch_msg m;
	char msg[ETCD_MSG_SIZE + 64];
	int err = etcd_watch_parse(w->c->prefix, line, len, &m);

	if (err) {
		/* Nothing of a bad message is delivered. */
		etcd_msgf(msg, sizeof(msg), "watch at %s: %s",
			  w->c->endpoints[w->ep], m.message);
		terminate(w, IPG_ETCD_WATCH_ENDED, err, 0, msg);
		return;
	}
	handle_msg(w, &m);
	etcd_watch_msg_free(&m);
}

size_t etcd_watch_write(struct ipg_etcd_watch *w, const char *data, size_t n)
{
	int err = etcd_lines_feed(&w->lines, data, n);

	if (!err)
		return n;
	w->feed_err = err;
	return 0;
}

static bool live(const struct ipg_etcd_watch *w, const struct etcd_req *stream)
{
	return !w->dead && !w->ended && w->req == stream;
}

void etcd_watch_deliver(struct ipg_etcd_watch *w)
{
	struct etcd_req *stream = w->req;
	const char *line;
	size_t len;

	while (stream && live(w, stream) &&
	       etcd_lines_next(&w->lines, &line, &len))
		handle_line(w, line, len);
}

void etcd_watch_done(struct ipg_etcd_watch *w, CURLcode rc)
{
	struct etcd_req *r = w->req;
	const char *ep = w->c->endpoints[r->ep], *line;
	char why[ETCD_MSG_SIZE], msg[2 * ETCD_MSG_SIZE];
	long http = 0;
	size_t len;
	int err;

	etcd_watch_deliver(w);
	if (!live(w, r))
		return;
	/* A stopping member's last word comes without a newline. */
	if (!w->feed_err && etcd_lines_rest(&w->lines, &line, &len)) {
		struct etcd_watch_msg m;

		if (!etcd_watch_parse(w->c->prefix, line, len, &m)) {
			handle_msg(w, &m);
			etcd_watch_msg_free(&m);
			if (!live(w, r))
				return;
		} else if (rc == CURLE_OK) {
			rc = CURLE_PARTIAL_FILE;
		}
	}
	if (w->feed_err) {
		etcd_msgf(msg, sizeof(msg), "watch at %s: %s", ep,
			  w->feed_err == -EMSGSIZE ?
				  "a message passed the size limit" :
				  strerror(-w->feed_err));
		terminate(w, IPG_ETCD_WATCH_ENDED, w->feed_err, 0, msg);
		return;
	}
	if (rc != CURLE_OK) {
		err = etcd_req_transport_err(r, rc, why, sizeof(why));
		/* Not connected yet: the next endpoint, each once. */
		if (!w->created && etcd_req_not_sent(r, rc)) {
			if (etcd_req_retry(r, why)) {
				if (live(w, r))
					w->ep = r->ep;
				return;
			}
			etcd_msgf(msg, sizeof(msg), "watch: %s", r->failures);
		} else {
			etcd_msgf(msg, sizeof(msg),
				  "watch at %s: the stream broke: %s", ep, why);
		}
		terminate(w, IPG_ETCD_WATCH_ENDED, err, 0, msg);
		return;
	}
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &http);
	etcd_msgf(msg, sizeof(msg), "watch at %s: %s%ld", ep,
		  http == 200 ? "etcd closed the stream, HTTP " : "HTTP ",
		  http);
	terminate(w, IPG_ETCD_WATCH_ENDED, http == 200 ? -ECONNRESET : -EPROTO,
		  0, msg);
}

int ipg_etcd_watch(struct ipg_etcd *c, const struct ipg_etcd_watch_opts *o,
		   struct ipg_etcd_watch **out)
{
	struct ipg_etcd_watch *w;
	int err;

	if (!o->key || !o->on_events || !o->on_status || o->start_revision < 0)
		return -EINVAL;
	if (c->closing)
		return -ESHUTDOWN;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->key = strdup(o->key);
	if (!w->key) {
		free(w);
		return -ENOMEM;
	}
	w->c = c;
	w->prefix = o->prefix;
	w->progress_notify = o->progress_notify;
	w->idle_timeout_s = o->idle_timeout_s;
	w->on_events = o->on_events;
	w->on_status = o->on_status;
	w->arg = o->arg;
	w->lines.max = c->max_reply;
	w->last = o->start_revision > 0 ? o->start_revision - 1 : 0;
	w->next = c->watches;
	c->watches = w;
	err = stream_start(w, o->start_revision, c->good);
	if (err) {
		w->dead = true;
		if (!c->cb_depth)
			etcd_watch_reap(c);
		return err;
	}
	*out = w;
	return 0;
}

int ipg_etcd_watch_resume(struct ipg_etcd_watch *w)
{
	if (w->req)
		return -EBUSY;
	if (w->dead)
		return -EINVAL;
	w->reauthed = false;
	return stream_start(w, resume_revision(w),
			    (w->ep + 1) % w->c->n_endpoints);
}

int ipg_etcd_watch_restart(struct ipg_etcd_watch *w, int64_t revision)
{
	if (w->req)
		return -EBUSY;
	if (w->dead || revision < 0)
		return -EINVAL;
	w->reauthed = false;
	w->last = revision > 0 ? revision - 1 : 0;
	return stream_start(w, revision, w->ep);
}

int64_t ipg_etcd_watch_revision(const struct ipg_etcd_watch *w)
{
	return w->last;
}

bool ipg_etcd_watch_running(const struct ipg_etcd_watch *w)
{
	return w->req != NULL;
}

void ipg_etcd_watch_free(struct ipg_etcd_watch *w)
{
	if (!w)
		return;
	close_stream(w);
	w->dead = true;
	/* Inside a callback the run loop may still hold it: later. */
	if (!w->c->cb_depth)
		etcd_watch_reap(w->c);
}

void etcd_watch_reap(struct ipg_etcd *c)
{
	struct ipg_etcd_watch **pp = &c->watches, *w;

	if (c->cb_depth)
		return;
	while ((w = *pp)) {
		if (!w->dead) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		etcd_lines_free(&w->lines);
		free(w->key);
		free(w);
	}
}
