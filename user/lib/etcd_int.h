/* SPDX-License-Identifier: GPL-2.0 */
/* Inside the etcd client: the gateway's JSON (etcd_json.c, replies in
 * etcd_reply.c), the watch stream's lines (etcd_lines.c), and the state
 * that the loop (etcd.c), the requests (etcd_req.c) and the watches
 * (etcd_watch.c) share. The unit tests reach the parsers through it. */
#ifndef IPGATE_ETCD_INT_H
#define IPGATE_ETCD_INT_H

#include <curl/curl.h>
#include <jansson.h>

#include "etcd.h"

#define ETCD_MAX_REPLY (64u << 20)
#define ETCD_MSG_SIZE 512

/* Formats a message into @buf, cut to @size. */
void etcd_msgf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Base64 as the gateway writes it (standard alphabet, padded). Encode
 * returns a NUL-ended string to free, or NULL. Decode returns 0 with
 * @len bytes (and a NUL) in *@out to free, -EINVAL for anything that is
 * not canonical base64, or -ENOMEM. */
char *etcd_b64_encode(const void *data, size_t len);
int etcd_b64_decode(const char *s, unsigned char **out, size_t *len);

/* The gateway's numbers: int64 and uint64 are JSON strings, a field at its
 * default is absent (0, false). A JSON integer is taken too. Returns 0, or
 * -EPROTO for a wrong type, junk or a value out of range. */
int etcd_json_i64(const json_t *obj, const char *name, int64_t *out);
int etcd_json_u64(const json_t *obj, const char *name, uint64_t *out);
int etcd_json_bool(const json_t *obj, const char *name, bool *out);

/* Whether @root is an error reply: {"error": "…", "code": N, "message":
 * "…"} from a unary call, or {"error": {"grpc_code": N, "message": "…"}}
 * inside a stream. Sets *@code and *@msg (pointing into @root). */
bool etcd_json_error(const json_t *root, int *code, const char **msg);
/* A gRPC status code as a negative errno (see etcd.h). */
int etcd_code_errno(int code);
/* Whether an error reply asks for a new token: the one sent expired, or
 * none was sent to an etcd that turned authentication on. */
bool etcd_auth_expired(int code, const char *msg);

/* Request bodies; each returns a new JSON object, or NULL on bad input or
 * out of memory. Keys are relative to @prefix. */
json_t *etcd_json_op(const char *prefix, const struct ipg_etcd_op *op);
json_t *etcd_json_txn(const char *prefix, const struct ipg_etcd_txn *t);
json_t *etcd_json_watch(const char *prefix, const char *key, bool is_prefix,
			int64_t start_revision, bool progress_notify);

/* What a reply parser fills: the result the callback sees and the text
 * its strings point to. */
struct etcd_reply {
	struct ipg_etcd_result r;
	char message[ETCD_MSG_SIZE];
	char version[32];
	char status_error[256];
	char *token; /* authenticate */
};

enum etcd_kind {
	ETCD_RANGE,
	ETCD_PUT,
	ETCD_DELETE,
	ETCD_TXN,
	ETCD_LEASE_GRANT,
	ETCD_LEASE_KEEPALIVE,
	ETCD_LEASE_REVOKE,
	ETCD_COMPACT,
	ETCD_STATUS,
	ETCD_AUTH,
	ETCD_WATCH,
	ETCD_N_KINDS,
};

/* Parses the @len bytes of a successful (HTTP 200) reply to a @kind
 * request, or an error reply, into @out (which starts zeroed). Returns 0
 * with out->r.err set from an error reply, or -EPROTO with a message in
 * out->message for a reply the gateway does not send. */
int etcd_parse_reply(enum etcd_kind kind, const char *prefix, const char *body,
		     size_t len, struct etcd_reply *out);
void etcd_reply_free(struct etcd_reply *rep);
int etcd_parse_kv(const json_t *o, const char *prefix, struct ipg_etcd_kv *kv,
		  char *msg, size_t size);
void etcd_kvs_free(struct ipg_etcd_kv *kvs, size_t n);

/* The watch stream: bytes arrive in chunks cut anywhere; each line is one
 * JSON object, and the last may end without a newline. */
struct etcd_lines {
	char *buf;
	size_t len, cap, start; /* undelivered bytes are buf[start..len) */
	size_t line_len; /* bytes of the line being received */
	size_t max; /* longest line taken */
};
/* Appends @n bytes. Returns 0, -EMSGSIZE when a line outgrows max, or
 * -ENOMEM. */
int etcd_lines_feed(struct etcd_lines *l, const void *data, size_t n);
/* The next complete line (without its newline): 1 with @line and @len
 * set, valid until the next call; 0 when none is complete. */
int etcd_lines_next(struct etcd_lines *l, const char **line, size_t *len);
/* At the end of the stream: the bytes left after the last newline,
 * 1 if there are any that are not blank, else 0. */
int etcd_lines_rest(struct etcd_lines *l, const char **line, size_t *len);
void etcd_lines_reset(struct etcd_lines *l);
void etcd_lines_free(struct etcd_lines *l);

enum etcd_msg_kind {
	ETCD_MSG_CREATED,
	ETCD_MSG_EVENTS,
	ETCD_MSG_PROGRESS,
	ETCD_MSG_COMPACTED,
	ETCD_MSG_CANCELED,
	ETCD_MSG_ERROR,
};

/* One message of a watch stream. */
struct etcd_watch_msg {
	enum etcd_msg_kind kind;
	int64_t revision; /* header.revision */
	int64_t compact_revision;
	struct ipg_etcd_event *events;
	size_t n_events;
	int code; /* ERROR: the gRPC code */
	char message[ETCD_MSG_SIZE]; /* CANCELED, ERROR; or why parsing failed */
};
/* Parses one line. Returns 0, or -EPROTO with the reason in m->message;
 * on failure nothing is left allocated. */
int etcd_watch_parse(const char *prefix, const char *line, size_t len,
		     struct etcd_watch_msg *m);
void etcd_watch_msg_free(struct etcd_watch_msg *m);

/* The client's state, shared by etcd.c and etcd_watch.c. */

struct etcd_req;

struct ipg_etcd {
	CURLM *multi;
	int epfd, tfd; /* curl's sockets and its timer, in one fd */
	long long deadline_ms; /* curl's timer, CLOCK_MONOTONIC; -1: none */
	char **endpoints;
	int n_endpoints;
	int good; /* the endpoint that answered last */
	char *prefix;
	char *ca, *cert, *key, *user, *password;
	long timeout_ms, connect_timeout_ms;
	size_t max_reply;
	char *token; /* NULL: not authenticated (yet) */
	bool auth_off; /* etcd said authentication is not enabled */
	unsigned token_gen;
	struct etcd_req *auth_req; /* the authentication under way */
	struct etcd_req *reqs; /* every live request */
	struct ipg_etcd_watch *watches;
	int n_pending; /* requests that are not watch streams */
	int cb_depth; /* > 0 inside an owner's callback */
	bool closing;
	struct ipg_etcd_stats stats;
};

typedef void (*etcd_req_done_fn)(struct etcd_req *r, CURLcode rc);

struct etcd_req {
	struct ipg_etcd *c;
	struct etcd_req *prev, *next;
	enum etcd_kind kind;
	CURL *easy;
	struct curl_slist *hdrs;
	char *body;
	size_t body_len;
	char *resp;
	size_t resp_len, resp_cap;
	bool too_big; /* the reply passed max_reply: the transfer aborted */
	bool in_multi, wait_auth, reauthed;
	unsigned token_gen; /* the token it was sent with */
	int ep, tries;
	int pinned; /* -1, or the only endpoint it may use */
	char errbuf[CURL_ERROR_SIZE];
	char failures[ETCD_MSG_SIZE]; /* the endpoints tried, and why not */
	ipg_etcd_cb cb;
	void *arg;
	struct ipg_etcd_watch *watch; /* a watch's stream */
};

struct ipg_etcd_watch {
	struct ipg_etcd *c;
	struct ipg_etcd_watch *next;
	char *key; /* relative */
	bool prefix, progress_notify;
	int idle_timeout_s;
	ipg_etcd_events_cb on_events;
	ipg_etcd_watch_cb on_status;
	void *arg;
	int64_t start_revision; /* of the stream running */
	int64_t last; /* every event up to it delivered */
	struct etcd_req *req; /* NULL when not running */
	struct etcd_lines lines;
	int ep; /* the endpoint that served it last */
	bool created, dead, reauthed;
	int feed_err; /* why the stream's bytes were refused */
	bool ended; /* a terminal status was given */
};

/* etcd_req.c, for etcd.c and etcd_watch.c */
/* Makes a request of @kind with @body (taken) and sends it, to endpoint
 * @pinned only if it is not -1. Returns 0 or a negative errno (-EINVAL
 * for a NULL body: the arguments made none). */
int etcd_submit(struct ipg_etcd *c, enum etcd_kind kind, json_t *body,
		int pinned, ipg_etcd_cb cb, void *arg);
/* Transfer @r ended with @rc: completes, retries or reauthenticates it. */
void etcd_req_done(struct etcd_req *r, CURLcode rc);
/* Completes @r with -ECANCELED (or just frees an internal one). */
void etcd_req_cancel(struct etcd_req *r);
struct etcd_req *etcd_req_new(struct ipg_etcd *c, enum etcd_kind kind,
			      json_t *body, ipg_etcd_cb cb, void *arg);
/* Sends @r to its endpoint, or queues it behind an authentication.
 * Returns 0 or a negative errno (@r is left as it was). */
int etcd_req_send(struct etcd_req *r);
/* Notes @why the endpoint failed, then sends @r to the next one: false
 * when @r is pinned or tried every endpoint. */
bool etcd_req_retry(struct etcd_req *r, const char *why);
void etcd_req_free(struct etcd_req *r);
/* Whether a transfer that ended with @rc never reached etcd (refused,
 * unresolved, TLS handshake, connect timeout): safe to send elsewhere. */
bool etcd_req_not_sent(const struct etcd_req *r, CURLcode rc);
/* A transport failure as an errno and a message naming the endpoint. */
int etcd_req_transport_err(const struct etcd_req *r, CURLcode rc, char *msg,
			   size_t size);
/* Forgets the token @r was sent with (or that none was needed), so that
 * the next start authenticates again. */
void etcd_reauth(struct etcd_req *r);

/* etcd_watch.c, for etcd.c */
size_t etcd_watch_write(struct ipg_etcd_watch *w, const char *data, size_t n);
void etcd_watch_deliver(struct ipg_etcd_watch *w);
void etcd_watch_done(struct ipg_etcd_watch *w, CURLcode rc);
/* Ends @w's stream, which could not start, with @err and @msg. */
void etcd_watch_fail(struct ipg_etcd_watch *w, int err, const char *msg);
void etcd_watch_reap(struct ipg_etcd *c);

#endif
