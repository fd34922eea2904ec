/* SPDX-License-Identifier: GPL-2.0 */
/* What the HTTP API's files share (http.c: the server; http_api.c: the
 * /v1 resources; http_page.c: the settings and break-glass pages;
 * metrics.c: /metrics). Not used outside them. */
#ifndef IPGATED_HTTP_H
#define IPGATED_HTTP_H

#include <jansson.h>
#include <microhttpd.h>

#include "daemon.h"

/* Request bodies, JSON nesting, connections and their time. */
#define HTTP_BODY_MAX (1u << 20)
#define HTTP_JSON_DEPTH_MAX 8
#define HTTP_CONNS_MAX 256
/* Per address (IPv6: per /64); trusted proxies are not limited. */
#define HTTP_CONNS_PER_IP 8
#define HTTP_CONN_TIMEOUT_S 15
/* A request's headers must all arrive within this of the connection's
 * start or of the previous request's end (slow senders are cut off). */
#define HTTP_HEADER_DEADLINE_S 10

/* One request being answered. */
struct hreq {
	struct daemon *d;
	struct MHD_Connection *c;
	const char *method, *url;
	const char *body; /* NUL-ended */
	size_t body_len;
	const struct token *tok; /* the caller's token, once checked */
	struct ipg_prefix peer, local; /* the TCP connection's two ends */
	char peer_text[IPG_PREFIX_STRLEN], local_text[IPG_PREFIX_STRLEN];
	/* Who asks: the peer, or behind a trusted proxy its X-Real-IP (the
	 * failure gate's key and the audit's client). */
	struct ipg_prefix client;
	char client_text[IPG_PREFIX_STRLEN];
	char actor[TOKEN_ID_MAX + 16];
	/* The response, as the handler left it. */
	unsigned status;
	struct ipg_buf out;
	const char *ctype;
	char etag[64];
	unsigned retry_after; /* s; 0: no Retry-After */
	bool page; /* a page: the strict Content-Security-Policy */
	struct upload *u; /* the request's upload (http.c) */
};

/* A change whose reply waits for the store: hwait() readies @q for it
 * before serve_req(); when that returns -EINPROGRESS, hwaiting() parks
 * the request (the answer names @field on failure, else is the list). */
void hwait(struct hreq *h, struct req *q);
void hwaiting(struct hreq *h, const struct req *q, const char *field);
/* The audit resource's answer: records @out (one a line, oldest first) of
 * list @name, newest first; @scoped: a token of that list alone reads only
 * its part of each record. */
int list_audit_reply(struct hreq *h, const char *name, const char *out,
		     size_t len, bool scoped);
/* The HTTP status of a change's error. */
unsigned hstatus_of(int err);

/* A JSON response: @j is taken over (NULL: out of memory, a 500). */
int hjson(struct hreq *h, unsigned status, json_t *j);
/* An application/problem+json response: @field names the request's field
 * at fault (NULL: none); the detail says what is wrong. */
int hproblem(struct hreq *h, unsigned status, const char *field,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The request's JSON body as an object, or NULL with the 400 or 415 set. */
json_t *hbody_object(struct hreq *h);
/* A query argument, or NULL. */
const char *harg(struct hreq *h, const char *key);
const char *hheader(struct hreq *h, const char *key);

/* Whether the peer is an http-trusted-proxy (whose X-Real-IP /v1/check
 * believes, and which is never the locked-out admin of /breakglass). */
bool hpeer_trusted(struct hreq *h);

/* The failure gate of the token and the break-glass URL: an address that
 * failed too often is answered 429 for a while. */
bool hgate_blocked(struct hreq *h);
void hgate_failed(struct hreq *h);

/* http_api.c: who asks, running a control request as the token, the
 * routes. */
/* Answers @h when it is one of the API's; returns false when no route
 * matches (then the server answers 404). */
bool api_route(struct hreq *h);
/* The caller's token: false with 401 or 429 answered. */
bool hauthed(struct hreq *h);
/* Whether the token sees list @name (a scoped token: its own only). */
bool hsees(struct hreq *h, const char *name);
/* An admin token: false with 403 answered. */
bool hadmin(struct hreq *h);
/* The list exists and the token sees it: false with 404 answered. */
bool hlist_visible(struct hreq *h, const char *name);
/* Runs control request @m (its "cmd" set) as the token's holder; on
 * failure answers the reply's message as a problem naming @field. */
int hrun(struct hreq *h, struct ipg_ctl_msg *m, struct ipg_ctl_msg *rep,
	 const char *field);
/* The output of a --json request as JSON, or NULL with a 500 answered. */
json_t *hrun_json(struct hreq *h, struct ipg_ctl_msg *rep);

/* http_lists.c: the list resource; each answers @h. */
int lists_get(struct hreq *h);
int list_get(struct hreq *h, const char *name, unsigned status);
int list_put(struct hreq *h, const char *name);
/* A change with no body but the list (and @cidr): enable, disable,
 * remove. */
int list_change(struct hreq *h, const char *name, const char *cmd,
		const char *cidr);
int list_add_entry(struct hreq *h, const char *name);
int list_test(struct hreq *h, const char *name);
int list_audit(struct hreq *h, const char *name);

/* http_check.c */
/* GET /v1/check. */
int api_check(struct hreq *h);
/* The verdict on @a for list @name from the live maps (list slot,
 * overrides, trie, grants), why in @why, the allowing entry in @ent. */
bool hjudge(struct daemon *d, const char *name, const struct ipg_prefix *a,
	    const char **why, const struct ipg_entry **ent);

/* http_page.c: the pages' files; routes POST /v1/breakglass too. */
bool page_route(struct hreq *h);

/* http_breakglass.c: POST /v1/breakglass, the break-glass page's grant. */
int http_breakglass(struct hreq *h);

/* metrics.c: GET /metrics in the text exposition format. */
int metrics_render(struct daemon *d, struct ipg_buf *out);

#endif
