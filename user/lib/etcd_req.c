// SPDX-License-Identifier: GPL-2.0
/* The etcd client's requests: one easy handle each, sent to the next
 * endpoint when one fails (a write only if it never left), queued behind
 * an authentication when the token is missing or etcd forgot it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_int.h"

static const struct {
	const char *path, *name;
	bool idempotent; /* resent after a failure once sent */
	bool noauth; /* answered without a token */
} kinds[ETCD_N_KINDS] = {
	[ETCD_RANGE] = { "/v3/kv/range", "range", true },
	[ETCD_PUT] = { "/v3/kv/put", "put" },
	[ETCD_DELETE] = { "/v3/kv/deleterange", "delete" },
	[ETCD_TXN] = { "/v3/kv/txn", "txn" },
	[ETCD_LEASE_GRANT] = { "/v3/lease/grant", "lease grant" },
	[ETCD_LEASE_KEEPALIVE] = { "/v3/lease/keepalive", "lease keepalive",
				   true },
	[ETCD_LEASE_REVOKE] = { "/v3/lease/revoke", "lease revoke" },
	[ETCD_COMPACT] = { "/v3/kv/compaction", "compaction" },
	[ETCD_STATUS] = { "/v3/maintenance/status", "status", true, true },
	[ETCD_AUTH] = { "/v3/auth/authenticate", "authentication", true, true },
	[ETCD_WATCH] = { "/v3/watch", "watch" },
};

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct etcd_req *r = userp;
	size_t n = size * nmemb, cap;
	char *b;

	if (r->watch)
		return etcd_watch_write(r->watch, data, n);
	if (n > r->c->max_reply - r->resp_len) {
		r->too_big = true;
		return 0;
	}
	if (r->resp_len + n + 1 > r->resp_cap) {
		cap = r->resp_cap ? r->resp_cap : 4096;
		while (cap < r->resp_len + n + 1)
			cap *= 2;
		b = realloc(r->resp, cap);
		if (!b)
			return 0;
		r->resp = b;
		r->resp_cap = cap;
	}
	memcpy(r->resp + r->resp_len, data, n);
	r->resp_len += n;
	return n;
}

struct etcd_req *etcd_req_new(struct ipg_etcd *c, enum etcd_kind kind,
			      json_t *body, ipg_etcd_cb cb, void *arg)
{
	struct etcd_req *r;

	if (!body)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (r) {
		r->body = json_dumps(body, JSON_COMPACT);
		r->easy = curl_easy_init();
	}
	json_decref(body);
	if (!r || !r->body || !r->easy) {
		if (r) {
			free(r->body);
			curl_easy_cleanup(r->easy);
		}
		free(r);
		return NULL;
	}
	r->c = c;
	r->kind = kind;
	r->body_len = strlen(r->body);
	r->cb = cb;
	r->arg = arg;
	r->pinned = -1;
	r->ep = c->good;
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)r->body_len);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	/* The gateway's streams are HTTP/1.1 (no ALPN to h2, which is gRPC
	 * on the same port). */
	curl_easy_setopt(r->easy, CURLOPT_HTTP_VERSION,
			 (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS,
			 c->connect_timeout_ms);
	if (kind == ETCD_WATCH)
		curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	else
		curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	if (c->ca)
		curl_easy_setopt(r->easy, CURLOPT_CAINFO, c->ca);
	if (c->cert)
		curl_easy_setopt(r->easy, CURLOPT_SSLCERT, c->cert);
	if (c->key)
		curl_easy_setopt(r->easy, CURLOPT_SSLKEY, c->key);
	r->next = c->reqs;
	if (c->reqs)
		c->reqs->prev = r;
	c->reqs = r;
	if (kind != ETCD_WATCH)
		c->n_pending++;
	return r;
}

void etcd_req_free(struct etcd_req *r)
{
	struct ipg_etcd *c = r->c;

	if (r->in_multi)
		curl_multi_remove_handle(c->multi, r->easy);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->hdrs);
	free(r->body);
	free(r->resp);
	if (r->prev)
		r->prev->next = r->next;
	else
		c->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	if (r->kind != ETCD_WATCH)
		c->n_pending--;
	if (c->auth_req == r)
		c->auth_req = NULL;
	free(r);
}

static int auth_start(struct ipg_etcd *c);
static void auth_done(struct etcd_req *a, struct etcd_reply *rep);
static void note_failure(struct etcd_req *r, const char *why);

int etcd_req_send(struct etcd_req *r)
{
	struct ipg_etcd *c = r->c;
	struct curl_slist *h = NULL;
	char url[1024], *auth;
	int err;

	if (c->user && !c->auth_off && !kinds[r->kind].noauth && !c->token) {
		err = auth_start(c);
		if (!err)
			r->wait_auth = true;
		return err;
	}
	curl_slist_free_all(r->hdrs);
	h = curl_slist_append(NULL, "Content-Type: application/json");
	if (h)
		h = curl_slist_append(h, "Expect:");
	if (h && c->token && !kinds[r->kind].noauth) {
		/* The raw token: no "Bearer". */
		if (asprintf(&auth, "Authorization: %s", c->token) < 0) {
			curl_slist_free_all(h);
			return -ENOMEM;
		}
		h = curl_slist_append(h, auth);
		free(auth);
	}
	r->hdrs = h;
	if (!h)
		return -ENOMEM;
	r->token_gen = c->token_gen;
	snprintf(url, sizeof(url), "%s%s", c->endpoints[r->ep],
		 kinds[r->kind].path);
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);
	r->resp_len = 0;
	r->too_big = false;
	r->errbuf[0] = '\0';
	if (curl_multi_add_handle(c->multi, r->easy) != CURLM_OK)
		return -EIO;
	r->in_multi = true;
	return 0;
}

/* etcd_req_send() from ipg_etcd_run(), where a failure completes @r. */
static void etcd_req_start(struct etcd_req *r)
{
	struct etcd_reply rep = { 0 };
	int err = etcd_req_send(r);

	if (!err)
		return;
	/* Only reached from ipg_etcd_run: the callback may run now. */
	rep.r.err = err;
	rep.r.endpoint = -1;
	rep.r.message = rep.message;
	etcd_msgf(rep.message, sizeof(rep.message), "%s: cannot start: %s",
		  kinds[r->kind].name, strerror(-err));
	if (r->watch) {
		etcd_watch_fail(r->watch, err, rep.message);
		return;
	}
	if (r->kind == ETCD_AUTH) {
		auth_done(r, &rep);
		return;
	}
	r->c->stats.requests++;
	if (r->cb) {
		r->c->cb_depth++;
		r->cb(r->c, &rep.r, r->arg);
		r->c->cb_depth--;
	}
	etcd_req_free(r);
}

bool etcd_req_retry(struct etcd_req *r, const char *why)
{
	struct ipg_etcd *c = r->c;

	note_failure(r, why);
	if (r->pinned >= 0 || ++r->tries >= c->n_endpoints)
		return false;
	r->ep = (r->ep + 1) % c->n_endpoints;
	c->stats.failovers++;
	etcd_req_start(r);
	return true;
}

bool etcd_req_not_sent(const struct etcd_req *r, CURLcode rc)
{
	curl_off_t connect = 0;

	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
		return true;
	case CURLE_OPERATION_TIMEDOUT:
		curl_easy_getinfo(r->easy, CURLINFO_CONNECT_TIME_T, &connect);
		return connect == 0;
	default:
		return false;
	}
}

int etcd_req_transport_err(const struct etcd_req *r, CURLcode rc, char *msg,
			   size_t size)
{
	int err;

	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
		err = -ECONNREFUSED;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		err = -ETIMEDOUT;
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		err = -EACCES;
		break;
	case CURLE_WRITE_ERROR:
		if (r->too_big) {
			etcd_msgf(msg, size, "%s: the reply passed %zu bytes",
				  r->c->endpoints[r->ep], r->c->max_reply);
			return -EMSGSIZE;
		}
		/* fall through */
	default:
		err = -ECONNRESET;
	}
	etcd_msgf(msg, size, "%s: %s", r->c->endpoints[r->ep],
		  r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
	return err;
}

/* Adds why endpoint @r->ep failed to what @r will say in the end. */
static void note_failure(struct etcd_req *r, const char *why)
{
	size_t used = strlen(r->failures);

	if (used < sizeof(r->failures))
		etcd_msgf(r->failures + used, sizeof(r->failures) - used,
			  "%s%s", used ? "; " : "", why);
}

void etcd_reauth(struct etcd_req *r)
{
	struct ipg_etcd *c = r->c;

	c->auth_off = false;
	/* Another request may have renewed it meanwhile. */
	if (r->token_gen == c->token_gen) {
		free(c->token);
		c->token = NULL;
	}
}

/* Calls @r's callback with @rep, then frees both. */
static void req_complete(struct etcd_req *r, struct etcd_reply *rep)
{
	struct ipg_etcd *c = r->c;

	c->stats.requests++;
	if (r->cb) {
		c->cb_depth++;
		r->cb(c, &rep->r, r->arg);
		c->cb_depth--;
	}
	etcd_reply_free(rep);
	etcd_req_free(r);
}

__attribute__((format(printf, 3, 4))) static void
req_fail(struct etcd_req *r, int err, const char *fmt, ...)
{
	struct etcd_reply rep = { 0 };
	va_list ap;

	rep.r.err = err;
	rep.r.endpoint = -1;
	rep.r.message = rep.message;
	rep.r.version = rep.version;
	rep.r.status_error = rep.status_error;
	va_start(ap, fmt);
	vsnprintf(rep.message, sizeof(rep.message), fmt, ap);
	va_end(ap);
	req_complete(r, &rep);
}

static struct etcd_req *first_waiting(struct ipg_etcd *c)
{
	for (struct etcd_req *r = c->reqs; r; r = r->next)
		if (r->wait_auth)
			return r;
	return NULL;
}

/* The authentication ended: sends what waited for it, or fails it. */
static void auth_done(struct etcd_req *a, struct etcd_reply *rep)
{
	struct ipg_etcd *c = a->c;
	int err = rep->r.err;
	char msg[ETCD_MSG_SIZE + 64];
	struct etcd_req *r;

	if (!err) {
		free(c->token);
		c->token = rep->token;
		rep->token = NULL;
		c->token_gen++;
		c->stats.auths++;
		c->good = a->ep;
	} else if (strstr(rep->r.message, "authentication is not enabled")) {
		/* As etcd's own client: go on without a token, until etcd
		 * asks for one. */
		c->auth_off = true;
		err = 0;
	} else {
		etcd_msgf(msg, sizeof(msg), "authentication as %s: %s", c->user,
			  rep->r.message);
		if (rep->r.code)
			err = -EACCES;
	}
	etcd_reply_free(rep);
	etcd_req_free(a);
	/* Requests that start waiting from here on wait for a new one. */
	while ((r = first_waiting(c))) {
		r->wait_auth = false;
		if (!err)
			etcd_req_start(r);
		else if (r->watch)
			etcd_watch_fail(r->watch, err, msg);
		else
			req_fail(r, err, "%s", msg);
	}
}

static int auth_start(struct ipg_etcd *c)
{
	json_t *body;
	int err;

	if (c->auth_req)
		return 0;
	body = json_pack("{s:s, s:s}", "name", c->user, "password",
			 c->password);
	c->auth_req = etcd_req_new(c, ETCD_AUTH, body, NULL, NULL);
	if (!c->auth_req)
		return -ENOMEM;
	err = etcd_req_send(c->auth_req);
	if (err)
		etcd_req_free(c->auth_req);
	return err;
}

/* The reply to @r arrived (HTTP @http): parses it, retries it elsewhere
 * or after a new token, or completes it. */
static void req_reply(struct etcd_req *r, long http)
{
	struct ipg_etcd *c = r->c;
	struct etcd_reply rep = { 0 };
	const char *ep = c->endpoints[r->ep], *what = kinds[r->kind].name;
	char why[ETCD_MSG_SIZE + 64];
	int err;

	err = etcd_parse_reply(r->kind, c->prefix, r->resp, r->resp_len, &rep);
	rep.r.http_status = http;
	rep.r.endpoint = r->ep;
	if (!err && http != 200 && !rep.r.err) {
		err = -EPROTO;
		snprintf(rep.message, sizeof(rep.message),
			 "an unexpected reply");
	}
	/* A 5xx, or a stream that failed before a byte (a keepalive
	 * whose member lost its leader): another member may do. */
	if ((http >= 500 || !r->resp_len) && kinds[r->kind].idempotent) {
		etcd_msgf(why, sizeof(why), "%s: HTTP %ld %s", ep, http,
			  rep.message);
		if (etcd_req_retry(r, why)) {
			etcd_reply_free(&rep);
			return;
		}
	}
	if (c->user && !kinds[r->kind].noauth && !r->reauthed && !err &&
	    rep.r.err && etcd_auth_expired(rep.r.code, rep.message)) {
		etcd_reply_free(&rep);
		r->reauthed = true;
		etcd_reauth(r);
		etcd_req_start(r);
		return;
	}
	if (r->kind == ETCD_AUTH) {
		if (err)
			rep.r.err = err;
		auth_done(r, &rep);
		return;
	}
	if (err) {
		rep.r.err = err;
		etcd_msgf(why, sizeof(why), "%s", rep.message);
		etcd_msgf(rep.message, sizeof(rep.message),
			  "%s at %s: HTTP %ld, %s", what, ep, http, why);
	} else if (rep.r.err) {
		etcd_msgf(why, sizeof(why), "%s", rep.message);
		if (strstr(why, "user name is empty")) {
			rep.r.err = -EACCES;
			snprintf(
				why, sizeof(why),
				"etcd has authentication on: set a user and password");
		}
		etcd_msgf(rep.message, sizeof(rep.message), "%s at %s: %s",
			  what, ep, why);
	} else {
		c->good = r->ep;
	}
	req_complete(r, &rep);
}

void etcd_req_done(struct etcd_req *r, CURLcode rc)
{
	char why[ETCD_MSG_SIZE];
	long http = 0;
	int err;

	if (r->watch) {
		etcd_watch_done(r->watch, rc);
		return;
	}
	if (rc == CURLE_OK) {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &http);
		req_reply(r, http);
		return;
	}
	err = etcd_req_transport_err(r, rc, why, sizeof(why));
	if (err != -EMSGSIZE &&
	    (etcd_req_not_sent(r, rc) || kinds[r->kind].idempotent)) {
		if (etcd_req_retry(r, why))
			return;
	} else {
		note_failure(r, why);
	}
	if (r->kind == ETCD_AUTH) {
		struct etcd_reply rep = { .r.err = err };

		rep.r.message = r->failures;
		auth_done(r, &rep);
		return;
	}
	req_fail(r, err, "%s: %s", kinds[r->kind].name, r->failures);
}

int etcd_submit(struct ipg_etcd *c, enum etcd_kind kind, json_t *body,
		int pinned, ipg_etcd_cb cb, void *arg)
{
	struct etcd_req *r;
	int err;

	if (c->closing) {
		json_decref(body);
		return -ESHUTDOWN;
	}
	if (!body)
		return -EINVAL;
	r = etcd_req_new(c, kind, body, cb, arg);
	if (!r)
		return -ENOMEM;
	if (pinned >= 0)
		r->pinned = r->ep = pinned;
	err = etcd_req_send(r);
	if (err)
		etcd_req_free(r);
	return err;
}

void etcd_req_cancel(struct etcd_req *r)
{
	if (r->cb)
		req_fail(r, -ECANCELED, "%s: the etcd client closed",
			 kinds[r->kind].name);
	else
		etcd_req_free(r);
}
