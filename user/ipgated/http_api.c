// SPDX-License-Identifier: GPL-2.0
/* The HTTP API: who asks (tokens, scope, role), control requests run as
 * the token, the routes, override and confirm. Every change runs as a
 * control request (serve_req: validate, guards, persist, flip, audit) with
 * the token's id as the actor; reads render the daemon's state with
 * jansson. */
#include "http.h"

/* ---- who asks ---- */

/* The caller's token: false with 401 or 429 answered. */
bool hauthed(struct hreq *h)
{
	const char *a = hheader(h, MHD_HTTP_HEADER_AUTHORIZATION);

	if (hgate_blocked(h))
		return false;
	if (!a || strncasecmp(a, "Bearer ", 7)) {
		hproblem(h, 401, NULL,
			 "send the token as Authorization: Bearer TOKEN "
			 "(ipgate token create makes one)");
		return false;
	}
	h->tok = token_check(h->d, a + 7);
	if (!h->tok) {
		hgate_failed(h);
		hproblem(h, 401, NULL,
			 "the token is not valid: mistyped or "
			 "revoked");
		return false;
	}
	snprintf(h->actor, sizeof(h->actor), "token:%s", h->tok->id);
	return true;
}

/* Whether the token sees list @name: a scoped token sees only its own;
 * others answer 404, so that names do not leak. */
bool hsees(struct hreq *h, const char *name)
{
	return !*h->tok->list || !strcmp(h->tok->list, name);
}

bool hadmin(struct hreq *h)
{
	if (h->tok->role == TOKEN_ADMIN)
		return true;
	hproblem(h, 403, NULL,
		 "token %s is a viewer token: it can read, "
		 "not change",
		 h->tok->id);
	return false;
}

/* The list @name when the token sees it; else false with 404 answered. */
bool hlist_visible(struct hreq *h, const char *name)
{
	if (hsees(h, name) && (!strcmp(name, "default") ||
			       ipg_config_list_find(&h->d->cfg, name)))
		return true;
	hproblem(h, 404, NULL, "no list named \"%s\"", name);
	return false;
}

/* ---- running a control request as the token ---- */

/* HTTP status for a control reply's error. */
unsigned hstatus_of(int r)
{
	switch (r) {
	case 0:
		return 200;
	case -EINVAL:
	case -ENOSPC:
	case -E2BIG:
		return 422;
	case -ENOENT:
		return 404;
	case -EPERM:
	case -EEXIST:
	case -EROFS:
	case -EBUSY:
		return 409;
	case -ESTALE: /* the store's list changed since the change's base */
		return 412;
	case -EAGAIN: /* the store is unreachable */
		return 503;
	case -ETIMEDOUT: /* the store's answer did not come */
		return 504;
	default:
		return 500;
	}
}

/* Runs @m (its "cmd" set) as the token's holder. On failure answers the
 * reply's message as a problem (naming @field) and returns its error. */
int hrun(struct hreq *h, struct ipg_ctl_msg *m, struct ipg_ctl_msg *rep,
	 const char *field)
{
	struct req q = { .d = h->d, .m = m, .rep = rep };
	int r;

	snprintf(q.user, sizeof(q.user), "%s", h->actor);
	snprintf(q.client, sizeof(q.client), "%s", h->client_text);
	q.who = (struct ipg_actor){
		.uid = 0, .pid = 0, .user = q.user, .client = q.client
	};
	q.json = ipg_ctl_flag(m, "json");
	/* ?confirm=DURATION on a change: undone unless confirmed. While it
	 * waits every list's changes wait, so only a token of every list
	 * may ask for it. */
	if (harg(h, "confirm") && strcmp(ipg_ctl_get(m, "cmd"), "test") &&
	    strcmp(ipg_ctl_get(m, "cmd"), "log")) {
		if (*h->tok->list)
			return hproblem(h, 403, "confirm",
					"token %s is scoped to list %s; "
					"?confirm holds every list's changes "
					"while it waits and needs an admin "
					"token of every list",
					h->tok->id, h->tok->list);
		ipg_ctl_set(m, "confirm", harg(h, "confirm"));
	}
	/* A tenant is not told who else changes what. */
	if (*h->tok->list)
		ipg_ctl_set(m, "scoped", "1");
	/* The lockout guard: the connection's two ends are known. */
	ipg_ctl_set(m, "server", h->local_text);
	ipg_ctl_set(m, "server-only", "1");
	ipg_ctl_set(m, "client-source", "the HTTP connection");
	hwait(h, &q);
	r = serve_req(&q, ipg_ctl_get(m, "cmd"));
	if (r == -EINPROGRESS) {
		hwaiting(h, &q, field);
		ipg_buf_free(&q.out);
		return r;
	}
	if (r) {
		const char *msg = ipg_ctl_get(rep, "message");

		hproblem(h, hstatus_of(r), field, "%s",
			 msg ? msg : strerror(-r));
	}
	return r;
}

/* The output of a --json request as JSON, or NULL with a 500 answered. */
json_t *hrun_json(struct hreq *h, struct ipg_ctl_msg *rep)
{
	size_t len;
	const char *out = ipg_ctl_getn(rep, "out", &len);
	json_t *j = out ? json_loadb(out, len, 0, NULL) : NULL;

	if (!j)
		hproblem(h, 500, NULL, "ipgated produced no JSON");
	return j;
}

/* 200 with {"message": the first line of what the CLI would print}. */
static int reply_message(struct hreq *h, const struct ipg_ctl_msg *rep)
{
	size_t len;
	const char *out = ipg_ctl_getn(rep, "out", &len);
	char *msg = strndup(out ? out : "", out ? len : 0);
	int r;

	if (msg)
		msg[strcspn(msg, "\n")] = '\0';
	r = hjson(h, 200, json_pack("{s:s}", "message", msg ? msg : ""));
	free(msg);
	return r;
}

/* POST /v1/override {"duration", "reason"} and DELETE /v1/override, of
 * every list or (?list=NAME) of one; admin tokens of every list only. */
static int override(struct hreq *h)
{
	struct ipg_ctl_msg m = { 0 }, rep = { 0 };
	const char *list = harg(h, "list"), *dur = NULL, *reason = NULL;
	json_t *j = NULL;
	int r;

	if (!hadmin(h))
		return -1;
	if (*h->tok->list)
		return hproblem(h, 403, NULL,
				"token %s is scoped to list %s; an override "
				"needs an admin token of every list",
				h->tok->id, h->tok->list);
	if (list && !hlist_visible(h, list))
		return -1;
	if (!strcmp(h->method, "POST")) {
		j = hbody_object(h);
		if (!j)
			return -1;
		dur = json_string_value(json_object_get(j, "duration"));
		reason = json_string_value(json_object_get(j, "reason"));
		if (!dur) {
			json_decref(j);
			return hproblem(h, 422, "duration",
					"missing the duration, e.g. \"30m\"");
		}
	}
	ipg_ctl_set(&m, "cmd", "override");
	if (list && strcmp(list, "default"))
		ipg_ctl_set(&m, "list", list);
	if (dur) {
		ipg_ctl_set(&m, "for", dur);
		if (reason)
			ipg_ctl_set(&m, "reason", reason);
	} else {
		ipg_ctl_set(&m, "cancel", "1");
	}
	r = hrun(h, &m, &rep, dur ? "duration" : NULL);
	if (!r)
		r = reply_message(h, &rep);
	json_decref(j);
	ipg_ctl_free(&m);
	ipg_ctl_free(&rep);
	return r;
}

/* ---- routing ---- */

/* POST /v1/confirm: keeps the change made with ?confirm=. A token of one
 * list confirms only a change of that list. */
static int confirm(struct hreq *h)
{
	struct ipg_ctl_msg m = { 0 }, rep = { 0 };
	int r;

	if (!hadmin(h))
		return -1;
	ipg_ctl_set(&m, "cmd", "confirm");
	if (*h->tok->list)
		ipg_ctl_set(&m, "list", h->tok->list);
	r = hrun(h, &m, &rep, NULL);
	if (!r)
		r = reply_message(h, &rep);
	ipg_ctl_free(&m);
	ipg_ctl_free(&rep);
	return r;
}

static int whoami(struct hreq *h)
{
	return hjson(h, 200,
		     json_pack("{s:s, s:s, s:o}", "id", h->tok->id, "role",
			       token_role_name(h->tok->role), "list",
			       *h->tok->list ? json_string(h->tok->list) :
					       json_null()));
}

static int metrics(struct hreq *h)
{
	if (!h->d->cfg.http.metrics_public) {
		if (!hauthed(h))
			return -1;
		if (*h->tok->list)
			return hproblem(h, 403, NULL,
					"token %s is scoped to list %s; "
					"/metrics needs a token of every list",
					h->tok->id, h->tok->list);
	}
	ipg_buf_free(&h->out);
	if (metrics_render(h->d, &h->out) || h->out.oom)
		return hproblem(h, 500, NULL, "cannot render the metrics");
	h->status = 200;
	h->ctype = "text/plain; version=0.0.4; charset=utf-8";
	return 0;
}

static bool is(struct hreq *h, const char *method)
{
	return !strcmp(h->method, method);
}

/* Answers 405 naming what @path allows. */
static void wrong_method(struct hreq *h, const char *allowed)
{
	hproblem(h, 405, NULL, "%s is not allowed here; use %s", h->method,
		 allowed);
}

/* /v1/lists/NAME[/SUB[/REST]] */
static void route_list(struct hreq *h, const char *rest)
{
	char name[IPG_LIST_NAME_MAX + 2];
	const char *sub = strchr(rest, '/');
	size_t n = sub ? (size_t)(sub - rest) : strlen(rest);

	if (!n || n > IPG_LIST_NAME_MAX) {
		hproblem(h, 404, NULL, "no list named \"%.*s\"", (int)n, rest);
		return;
	}
	memcpy(name, rest, n);
	name[n] = '\0';
	if (!hlist_visible(h, name))
		return;
	if (!sub || !sub[1]) {
		if (is(h, "GET"))
			list_get(h, name, 200);
		else if (is(h, "PUT"))
			list_put(h, name);
		else
			wrong_method(h, "GET or PUT");
	} else if (!strcmp(sub, "/entries")) {
		if (is(h, "POST"))
			list_add_entry(h, name);
		else
			wrong_method(h, "POST");
	} else if (!strncmp(sub, "/entries/", 9) && sub[9]) {
		if (is(h, "DELETE"))
			list_change(h, name, "remove", sub + 9);
		else
			wrong_method(h, "DELETE");
	} else if (!strcmp(sub, "/enable") || !strcmp(sub, "/disable")) {
		if (is(h, "POST"))
			list_change(h, name, sub + 1, NULL);
		else
			wrong_method(h, "POST");
	} else if (!strcmp(sub, "/test")) {
		if (is(h, "POST"))
			list_test(h, name);
		else
			wrong_method(h, "POST");
	} else if (!strcmp(sub, "/audit")) {
		if (is(h, "GET"))
			list_audit(h, name);
		else
			wrong_method(h, "GET");
	} else {
		hproblem(h, 404, NULL, "no resource %s", h->url);
	}
}

bool api_route(struct hreq *h)
{
	const char *u = h->url;

	if (!strcmp(u, "/v1/check")) {
		api_check(h);
		return true;
	}
	if (!strcmp(u, "/metrics")) {
		if (is(h, "GET"))
			metrics(h);
		else
			wrong_method(h, "GET");
		return true;
	}
	if (strncmp(u, "/v1/", 4))
		return false;
	if (!hauthed(h))
		return true;
	if (!strcmp(u, "/v1/whoami"))
		whoami(h);
	else if (!strcmp(u, "/v1/lists"))
		is(h, "GET") ? lists_get(h) : (wrong_method(h, "GET"), 0);
	else if (!strncmp(u, "/v1/lists/", 10))
		route_list(h, u + 10);
	else if (!strcmp(u, "/v1/confirm"))
		is(h, "POST") ? confirm(h) : (wrong_method(h, "POST"), 0);
	else if (!strcmp(u, "/v1/override")) {
		if (is(h, "POST") || is(h, "DELETE"))
			override(h);
		else
			wrong_method(h, "POST or DELETE");
	} else
		hproblem(h, 404, NULL, "no resource %s", u);
	return true;
}
