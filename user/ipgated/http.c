// SPDX-License-Identifier: GPL-2.0
/* The HTTP API's server: libmicrohttpd run from the daemon's own epoll
 * loop (no thread of its own, so a request takes the same single pipeline
 * as a control request), the body limit, the failure gate, and the
 * response helpers the resources use. */
#include "http.h"

#include <netinet/tcp.h>

#define GATE_SLOTS 1024
#define GATE_FREE_FAILURES 5 /* failures before the first wait */
#define GATE_WAIT_FIRST_S 5
#define GATE_WAIT_MAX_S 60
#define GATE_FORGET_S 600
#define CODES_MAX 32
/* TLS 1.2 and 1.3 only (GnuTLS priority string). */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* Failures of one address: after GATE_FREE_FAILURES, a wait of 5 s before
 * the next try is even looked at, doubling with each further failure (up
 * to a minute). */
struct gate_slot {
	struct ipg_prefix addr; /* IPv6: its /64 */
	uint32_t failures;
	time_t last, until;
};

/* A connection, from its start: when its current request began waiting
 * for headers (0: headers in), for the header deadline; its address, for
 * the per-address limit. */
struct conn_slot {
	int fd;
	time_t waiting_since;
	struct ipg_prefix addr; /* IPv6: its /64 */
	bool trusted;
};

struct http {
	struct MHD_Daemon *mhd;
	struct conn_slot conns[HTTP_CONNS_MAX];
	/* Inside MHD_run: a change of the listener waits until it returns
	 * (a server is not stopped from its own callback). */
	bool running, pending;
	int epfd; /* libmicrohttpd's own epoll fd, inside ours */
	struct ipg_http_config cfg; /* what it was started with */
	struct gate_slot gate[GATE_SLOTS];
	struct {
		unsigned code;
		uint64_t n;
	} codes[CODES_MAX];
	/* Requests whose reply waits for the store (suspended). */
	struct upload *waiting;
};

/* One request's upload, between the access handler's calls; and, for a
 * change whose reply waits for the store, what to answer once it comes. */
struct upload {
	struct ipg_buf body;
	bool too_big;
	struct MHD_Connection *c;
	struct upload *next_waiting;
	uint64_t wait_id; /* 0: not waiting */
	bool done;
	int err;
	char message[1024];
	char list[IPG_LIST_NAME_MAX + 1];
	char field[32];
	unsigned ok_status;
	/* A read that waited (the store's trail of a list): its output,
	 * and whether the token sees only that list. */
	bool log, scoped;
	struct ipg_buf out;
};

static void unlink_waiting(struct http *s, struct upload *u)
{
	for (struct upload **p = s ? &s->waiting : NULL; p && *p;
	     p = &(*p)->next_waiting)
		if (*p == u) {
			*p = u->next_waiting;
			break;
		}
	u->next_waiting = NULL;
}

/* req.later for HTTP: the store's answer to a waiting change; resumes the
 * connection, whose handler then answers (on_request). A request of a
 * listener stopped meanwhile is not found, and nothing happens. */
static void http_later(struct daemon *d, void *arg, uint64_t id, int err,
		       const struct ipg_ctl_msg *rep)
{
	struct upload *u = NULL;

	(void)arg;
	for (struct upload *w = d->http ? d->http->waiting : NULL; w && !u;
	     w = w->next_waiting)
		if (w->wait_id == id)
			u = w;
	if (!u)
		return;
	unlink_waiting(d->http, u);
	u->done = true;
	u->err = err;
	/* Made, but not as asked (not run here yet): 202 and the note. */
	if (!err && ipg_ctl_get(rep, "message"))
		u->ok_status = 202;
	snprintf(u->message, sizeof(u->message), "%s",
		 ipg_ctl_get(rep, "message") ?: "");
	if (u->log) {
		size_t n;
		const char *out = ipg_ctl_getn(rep, "out", &n);

		if (out)
			ipg_buf_append(&u->out, out, n);
		if (u->out.oom) {
			u->err = -ENOMEM;
			snprintf(u->message, sizeof(u->message),
				 "out of memory for the store's records");
		}
	}
	MHD_resume_connection(u->c);
}

void hwait(struct hreq *h, struct req *q)
{
	q->later = http_later;
	q->later_arg = h->u;
	/* One counter for the daemon's life: a listener restarted meanwhile
	 * never hands a waiting request another's answer. */
	q->later_id = h->u ? ++h->d->conn_ids : 0;
}

void hwaiting(struct hreq *h, const struct req *q, const char *field)
{
	struct upload *u = h->u;
	const char *cmd = ipg_ctl_get(q->m, "cmd"),
		   *list = ipg_ctl_get(q->m, "list");

	u->wait_id = q->later_id;
	u->ok_status = cmd && !strcmp(cmd, "add") ? 201 : 200;
	u->log = cmd && !strcmp(cmd, "log");
	u->scoped = h->tok && *h->tok->list;
	snprintf(u->list, sizeof(u->list), "%s", list ? list : "default");
	snprintf(u->field, sizeof(u->field), "%s", field ? field : "");
	u->next_waiting = h->d->http->waiting;
	h->d->http->waiting = u;
}

const char *harg(struct hreq *h, const char *key)
{
	return MHD_lookup_connection_value(h->c, MHD_GET_ARGUMENT_KIND, key);
}

const char *hheader(struct hreq *h, const char *key)
{
	return MHD_lookup_connection_value(h->c, MHD_HEADER_KIND, key);
}

int hjson(struct hreq *h, unsigned status, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	ipg_buf_free(&h->out);
	if (!s) {
		h->status = 500;
		h->ctype = "application/problem+json";
		ipg_buf_printf(&h->out, "{\"title\":\"Internal Server Error\","
					"\"status\":500,\"detail\":\"out of "
					"memory\"}\n");
		return -ENOMEM;
	}
	h->status = status;
	h->ctype = "application/json";
	ipg_buf_printf(&h->out, "%s\n", s);
	free(s);
	return 0;
}

int hproblem(struct hreq *h, unsigned status, const char *field,
	     const char *fmt, ...)
{
	const char *title = MHD_get_reason_phrase_for(status);
	char detail[1024];
	json_t *j;
	va_list ap;

	struct ipg_buf safe = { 0 }, sfield = { 0 };

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	/* Request bytes may be in it: invalid UTF-8 (or a character cut by
	 * the buffer) as \xNN, which JSON can carry. */
	ipg_buf_text_safe(&safe, detail);
	if (field)
		ipg_buf_text_safe(&sfield, field);
	j = json_pack("{s:s, s:s, s:i, s:s}", "type", "about:blank", "title",
		      title && *title ? title : "Error", "status", (int)status,
		      "detail", safe.s ? safe.s : "");
	if (j && field)
		json_object_set_new(j, "field",
				    json_string(sfield.s ? sfield.s : ""));
	ipg_buf_free(&safe);
	ipg_buf_free(&sfield);
	hjson(h, status, j);
	h->ctype = "application/problem+json";
	return -(int)status;
}

/* How deep @s nests arrays and objects (strings skipped); a cheap bound
 * before the parser recurses. */
static int json_depth(const char *s, size_t len)
{
	int depth = 0, max = 0;
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = false;
		} else if (ch == '"') {
			in_str = true;
		} else if (ch == '{' || ch == '[') {
			if (++depth > max)
				max = depth;
		} else if (ch == '}' || ch == ']') {
			depth--;
		}
	}
	return max;
}

json_t *hbody_object(struct hreq *h)
{
	const char *ct = hheader(h, MHD_HTTP_HEADER_CONTENT_TYPE);
	json_error_t err;
	json_t *j;

	/* application/json only: a browser sends that cross-site only after
	 * a preflight, which gets no CORS answer (the break-glass page has no
	 * token to keep other sites out). */
	if (!ct || strncasecmp(ct, "application/json", 16) ||
	    (ct[16] && ct[16] != ';' && ct[16] != ' ')) {
		hproblem(h, 415, NULL,
			 "the body must be sent as Content-Type: "
			 "application/json (got %s)",
			 ct ? ct : "none");
		return NULL;
	}
	if (!h->body_len) {
		hproblem(h, 400, NULL, "the request needs a JSON object body");
		return NULL;
	}
	if (json_depth(h->body, h->body_len) > HTTP_JSON_DEPTH_MAX) {
		hproblem(h, 400, NULL,
			 "the JSON body nests deeper than %d levels",
			 HTTP_JSON_DEPTH_MAX);
		return NULL;
	}
	j = json_loadb(h->body, h->body_len, JSON_REJECT_DUPLICATES, &err);
	if (!j) {
		hproblem(h, 400, NULL,
			 "the body is not JSON: %s (line %d, "
			 "column %d)",
			 err.text, err.line, err.column);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		hproblem(h, 400, NULL, "the body must be a JSON object");
		return NULL;
	}
	return j;
}

static bool trusted_addr(struct daemon *d, const struct ipg_prefix *a)
{
	const struct ipg_http_config *hc = &d->cfg.http;

	for (int i = 0; i < hc->n_proxies; i++)
		if (hc->proxies[i].family == a->family &&
		    ipg_prefix_contains(&hc->proxies[i], a))
			return true;
	return false;
}

bool hpeer_trusted(struct hreq *h)
{
	return trusted_addr(h->d, &h->peer);
}

/* ---- the failure gate ---- */

/* @a as the gate and the connection limit count it: IPv6 by its /64
 * (one host's usual share). */
static struct ipg_prefix gate_key(const struct ipg_prefix *a)
{
	struct ipg_prefix k = *a;

	if (k.family == 6) {
		memset(k.addr + 8, 0, 8);
		k.len = 64;
	}
	return k;
}

static struct gate_slot *gate_find(struct http *s, const struct ipg_prefix *a,
				   bool make)
{
	struct ipg_prefix k = gate_key(a);
	struct gate_slot *oldest = NULL;
	time_t now = time(NULL);

	for (int i = 0; i < GATE_SLOTS; i++) {
		struct gate_slot *g = &s->gate[i];

		if (g->addr.family && ipg_prefix_equal(&g->addr, &k)) {
			if (now - g->last > GATE_FORGET_S)
				g->failures = 0;
			return g;
		}
		/* A slot still making its address wait is never reused:
		 * failing from many addresses does not free one. */
		if (g->until > now)
			continue;
		if (!oldest || g->last < oldest->last)
			oldest = g;
	}
	if (!make || !oldest)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	oldest->addr = k;
	return oldest;
}

bool hgate_blocked(struct hreq *h)
{
	struct gate_slot *g = gate_find(h->d->http, &h->client, false);
	time_t now = time(NULL);

	if (!g || now >= g->until)
		return false;
	h->retry_after = (unsigned)(g->until - now);
	hproblem(h, 429, NULL,
		 "too many failed attempts from %s; try again in %u s",
		 h->client_text, h->retry_after);
	return true;
}

void hgate_failed(struct hreq *h)
{
	struct gate_slot *g = gate_find(h->d->http, &h->client, true);
	time_t now = time(NULL);

	if (!g)
		return; /* every slot is making an address wait */
	g->failures++;
	g->last = now;
	if (g->failures >= GATE_FREE_FAILURES) {
		unsigned n = g->failures - GATE_FREE_FAILURES;
		unsigned wait = n >= 4 ? GATE_WAIT_MAX_S :
					 GATE_WAIT_FIRST_S << n;

		g->until =
			now + (wait > GATE_WAIT_MAX_S ? GATE_WAIT_MAX_S : wait);
	}
}

/* ---- the server ---- */

static void count_code(struct http *s, unsigned code)
{
	for (int i = 0; i < CODES_MAX; i++) {
		if (s->codes[i].code == code || !s->codes[i].code) {
			s->codes[i].code = code;
			s->codes[i].n++;
			return;
		}
	}
}

void http_codes(struct daemon *d,
		void (*fn)(void *ctx, unsigned code, uint64_t n), void *ctx)
{
	for (int i = 0; d->http && i < CODES_MAX && d->http->codes[i].code; i++)
		fn(ctx, d->http->codes[i].code, d->http->codes[i].n);
}

static void conn_addrs(struct hreq *h)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		h->c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (ci && ci->client_addr &&
	    !ipg_prefix_from_sockaddr(ci->client_addr, &h->peer))
		ipg_prefix_format(&h->peer, h->peer_text, sizeof(h->peer_text));
	ci = MHD_get_connection_info(h->c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci && !getsockname(ci->connect_fd, (struct sockaddr *)&ss, &sl) &&
	    !ipg_prefix_from_sockaddr((struct sockaddr *)&ss, &h->local))
		ipg_prefix_format(&h->local, h->local_text,
				  sizeof(h->local_text));
	/* Behind a trusted proxy, the client it names. */
	h->client = h->peer;
	if (hpeer_trusted(h)) {
		const char *real = hheader(h, "X-Real-IP");
		struct ipg_prefix a;

		if (real && !ipg_addr_parse(real, &a, NULL))
			h->client = a;
	}
	ipg_prefix_format(&h->client, h->client_text, sizeof(h->client_text));
}

/* The connection's slot (conn_slot), or NULL. */
static struct conn_slot *slot_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

static enum MHD_Result respond(struct hreq *h)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
		h->out.len, h->out.s, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;
	char ra[16];

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				h->ctype ? h->ctype : "text/plain");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	if (h->page)
		MHD_add_response_header(
			r, "Content-Security-Policy",
			"default-src 'none'; script-src 'self'; style-src "
			"'self'; img-src 'self'; connect-src 'self'; "
			"base-uri 'none'; form-action 'none'; "
			"frame-ancestors 'none'");
	if (*h->etag)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, h->etag);
	if (h->retry_after) {
		snprintf(ra, sizeof(ra), "%u", h->retry_after);
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	if (h->status == 401)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"ipgate\"");
	ret = MHD_queue_response(h->c, h->status, r);
	MHD_destroy_response(r);
	count_code(h->d->http, h->status);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *data,
				  size_t *size, void **ctx)
{
	struct daemon *d = cls;
	struct upload *u = *ctx;
	struct hreq h = { .d = d, .c = c, .method = method, .url = url };
	enum MHD_Result ret;

	(void)version;
	if (!u) {
		const char *cl = MHD_lookup_connection_value(
			c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		struct conn_slot *s = slot_of(c);

		if (s) /* the headers are in */
			s->waiting_since = 0;
		u = calloc(1, sizeof(*u));
		if (!u)
			return MHD_NO;
		*ctx = u;
		/* Refused before a byte of the body is read. */
		if (cl && strtoull(cl, NULL, 10) > HTTP_BODY_MAX) {
			hproblem(&h, 413, NULL,
				 "the body is larger than %u bytes",
				 HTTP_BODY_MAX);
			ret = respond(&h);
			ipg_buf_free(&h.out);
			return ret;
		}
		return MHD_YES;
	}
	if (*size) {
		/* Chunked bodies have no Content-Length: counted here. */
		if (!u->too_big && u->body.len + *size > HTTP_BODY_MAX) {
			u->too_big = true;
			ipg_buf_free(&u->body);
		}
		if (!u->too_big)
			ipg_buf_append(&u->body, data, *size);
		*size = 0;
		return MHD_YES;
	}
	conn_addrs(&h);
	h.u = u;
	u->c = c;
	if (u->wait_id && !u->done) {
		/* Resumed before its answer (cannot happen): wait on. */
		MHD_suspend_connection(c);
		return MHD_YES;
	}
	if (u->done) {
		/* The store answered a waiting change (or read). */
		if (u->err)
			hproblem(&h, hstatus_of(u->err),
				 *u->field ? u->field : NULL, "%s", u->message);
		else if (u->log)
			list_audit_reply(&h, u->list, u->out.s, u->out.len,
					 u->scoped);
		else
			list_get(&h, u->list, u->ok_status);
	} else if (u->too_big) {
		hproblem(&h, 413, NULL, "the body is larger than %u bytes",
			 HTTP_BODY_MAX);
	} else if (u->body.oom) {
		hproblem(&h, 500, NULL, "out of memory for the body");
	} else {
		h.body = u->body.s ? u->body.s : "";
		h.body_len = u->body.len;
		if (memchr(h.body, '\0', h.body_len))
			hproblem(&h, 400, NULL, "the body holds a NUL byte");
		else if (!page_route(&h) && !api_route(&h))
			hproblem(&h, 404, NULL, "no resource %s %s", method,
				 url);
	}
	if (u->wait_id && !u->done) {
		/* http_later() resumes it with the store's answer. */
		ipg_buf_free(&h.out);
		MHD_suspend_connection(c);
		return MHD_YES;
	}
	ret = respond(&h);
	ipg_buf_free(&h.out);
	notify_status(d);
	return ret;
}

/* At most HTTP_CONNS_PER_IP connections per address (IPv6: per /64),
 * trusted proxies excepted: their clients share their address. */
static enum MHD_Result on_accept_policy(void *cls, const struct sockaddr *sa,
					socklen_t len)
{
	struct daemon *d = cls;
	struct ipg_prefix a, k;
	int n = 0;

	(void)len;
	if (!d->http || ipg_prefix_from_sockaddr(sa, &a))
		return MHD_YES;
	if (trusted_addr(d, &a))
		return MHD_YES;
	k = gate_key(&a);
	for (int i = 0; i < HTTP_CONNS_MAX; i++)
		if (d->http->conns[i].fd >= 0 &&
		    ipg_prefix_equal(&d->http->conns[i].addr, &k))
			n++;
	return n < HTTP_CONNS_PER_IP ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **sctx,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct daemon *d = cls;
	struct conn_slot *s = *sctx;
	const union MHD_ConnectionInfo *ci;
	struct ipg_prefix a = { 0 };

	if (!d->http)
		return;
	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (s)
			s->fd = -1;
		*sctx = NULL;
		return;
	}
	for (int i = 0; i < HTTP_CONNS_MAX && !s; i++)
		if (d->http->conns[i].fd < 0)
			s = &d->http->conns[i];
	if (!s)
		return;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	s->fd = ci ? ci->connect_fd : -1;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr)
		ipg_prefix_from_sockaddr(ci->client_addr, &a);
	s->addr = gate_key(&a);
	s->trusted = trusted_addr(d, &a);
	s->waiting_since = time(NULL);
	*sctx = s;
}

void http_tick(struct daemon *d)
{
	time_t now = time(NULL);

	for (int i = 0; d->http && i < HTTP_CONNS_MAX; i++) {
		struct conn_slot *s = &d->http->conns[i];

		/* Headers too slow: cut off (libmicrohttpd closes it). */
		if (s->fd >= 0 && s->waiting_since &&
		    now - s->waiting_since > HTTP_HEADER_DEADLINE_S) {
			shutdown(s->fd, SHUT_RDWR);
			s->waiting_since = 0;
		}
	}
}

static void on_completed(void *cls, struct MHD_Connection *c, void **ctx,
			 enum MHD_RequestTerminationCode why)
{
	struct upload *u = *ctx;
	struct conn_slot *s = slot_of(c);
	struct daemon *d = cls;

	(void)why;
	/* The next request's headers are on the clock from now. */
	if (s)
		s->waiting_since = time(NULL);
	if (u) {
		unlink_waiting(d ? d->http : NULL, u);
		ipg_buf_free(&u->body);
		ipg_buf_free(&u->out);
		free(u);
		*ctx = NULL;
	}
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	pr_debug("http: %s", msg);
}

/* The listening socket, made here so that a failure says what and where. */
static int listen_on(const struct ipg_http_config *hc, const char *where,
		     struct ipg_error *e)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	int fd, one = 1;

	if (hc->addr.family == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(hc->port);
		memcpy(&s4->sin_addr, hc->addr.addr, 4);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(hc->port);
		memcpy(&s6->sin6_addr, hc->addr.addr, 16);
		sl = sizeof(*s6);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return ipg_fail(e, -errno, "http: cannot make a socket: %s",
				strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 128)) {
		int err = errno;

		close(fd);
		return ipg_fail(e, -err,
				"http: cannot listen on %s: %s; choose "
				"another http-listen",
				where, strerror(err));
	}
	return fd;
}

static void http_free(struct http *s, struct daemon *d)
{
	if (!s)
		return;
	if (s->mhd) {
		if (d && s->epfd >= 0)
			epoll_ctl(d->epfd, EPOLL_CTL_DEL, s->epfd, NULL);
		/* A server stops with no connection suspended: those waiting
		 * for the store get no answer (their clients see the close). */
		while (s->waiting) {
			struct upload *u = s->waiting;

			s->waiting = u->next_waiting;
			u->next_waiting = NULL;
			MHD_resume_connection(u->c);
		}
		MHD_stop_daemon(s->mhd);
	}
	free(s);
}

void http_stop(struct daemon *d)
{
	http_free(d->http, d);
	d->http = NULL;
}

static bool same_http(const struct ipg_http_config *a,
		      const struct ipg_http_config *b)
{
	return ipg_prefix_equal(&a->addr, &b->addr) && a->port == b->port &&
	       !strcmp(a->tls_cert, b->tls_cert) &&
	       !strcmp(a->tls_key, b->tls_key);
}

/* Whether libmicrohttpd takes @cert and @key (a server that never
 * listens, started and stopped). */
static bool tls_usable(const char *cert, const char *key)
{
	struct MHD_Daemon *t = MHD_start_daemon(
		MHD_USE_NO_LISTEN_SOCKET | MHD_USE_EPOLL | MHD_USE_TLS, 0, NULL,
		NULL, on_request, NULL, MHD_OPTION_HTTPS_PRIORITIES,
		TLS_PRIORITIES, MHD_OPTION_HTTPS_MEM_CERT, cert,
		MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_END);

	if (!t)
		return false;
	MHD_stop_daemon(t);
	return true;
}

/* Serves the API as @hc says, in place of the running server. */
static int http_start(struct daemon *d, const struct ipg_http_config *hc,
		      struct ipg_error *e)
{
	struct ipg_buf cert = { 0 }, key = { 0 };
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
			 MHD_ALLOW_SUSPEND_RESUME;
	char where[IPG_PREFIX_STRLEN + 16];
	struct http *s;
	const union MHD_DaemonInfo *di;
	int fd, r = 0;

	ipg_http_listen_format(hc, where, sizeof(where));
	if (*hc->tls_cert) {
		r = ipg_read_file(hc->tls_cert, 1u << 20, &cert);
		if (r)
			return ipg_fail(e, r, "http: cannot read %s: %s",
					hc->tls_cert, strerror(-r));
		r = ipg_read_file(hc->tls_key, 1u << 20, &key);
		if (r) {
			ipg_buf_free(&cert);
			return ipg_fail(e, r, "http: cannot read %s: %s",
					hc->tls_key, strerror(-r));
		}
		flags |= MHD_USE_TLS;
		/* Tried before the running server stops: a bad pair
		 * changes nothing. */
		if (!tls_usable(cert.s, key.s)) {
			r = ipg_fail(e, -EINVAL,
				     "http: %s and %s are not a PEM "
				     "certificate and its key",
				     hc->tls_cert, hc->tls_key);
			goto out;
		}
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		r = ipg_fail(e, -ENOMEM, "out of memory");
		goto out;
	}
	s->epfd = -1;
	s->cfg = *hc;
	/* The old listener goes first: the new one may take its port. */
	if (d->http) {
		memcpy(s->gate, d->http->gate, sizeof(s->gate));
		memcpy(s->codes, d->http->codes, sizeof(s->codes));
	}
	http_stop(d);
	fd = listen_on(hc, where, e);
	if (fd < 0) {
		r = fd;
		free(s);
		goto out;
	}
	if (hc->addr.family == 6)
		flags |= MHD_USE_IPv6;
	for (int i = 0; i < HTTP_CONNS_MAX; i++)
		s->conns[i].fd = -1;
	s->mhd = MHD_start_daemon(
		flags, 0, on_accept_policy, d, on_request, d,
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED,
		on_completed, d, MHD_OPTION_NOTIFY_CONNECTION, on_connection, d,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNS_MAX,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CONN_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, d,
		*hc->tls_cert ? MHD_OPTION_HTTPS_PRIORITIES : MHD_OPTION_END,
		TLS_PRIORITIES, MHD_OPTION_HTTPS_MEM_CERT, cert.s,
		MHD_OPTION_HTTPS_MEM_KEY, key.s, MHD_OPTION_END);
	if (!s->mhd) {
		close(fd);
		free(s);
		r = ipg_fail(e, -EINVAL,
			     "http: cannot start the server on %s%s", where,
			     *hc->tls_cert ? "; check that http-tls-cert and "
					     "http-tls-key are a PEM "
					     "certificate and its key" :
					     "");
		goto out;
	}
	di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	s->epfd = di ? di->epoll_fd : -1;
	if (s->epfd < 0 ||
	    epoll_ctl(d->epfd, EPOLL_CTL_ADD, s->epfd,
		      &(struct epoll_event){ .events = EPOLLIN,
					     .data.fd = s->epfd })) {
		r = ipg_fail(e, -errno, "http: cannot watch the server: %s",
			     strerror(errno));
		s->epfd = -1;
		http_free(s, d);
		goto out;
	}
	d->http = s;
	pr_info("http: listening on %s%s", where,
		*hc->tls_cert ? " (TLS)" : "");
out:
	if (key.s)
		explicit_bzero(key.s, key.len);
	ipg_buf_free(&cert);
	ipg_buf_free(&key);
	return r;
}

/* http_apply(); with @again, a server on the same settings starts afresh
 * too (reading the certificate and key again). */
static int apply(struct daemon *d, bool again, struct ipg_error *e)
{
	const struct ipg_http_config *hc = &d->cfg.http;
	struct ipg_http_config prev;
	struct ipg_error pe;
	int r;

	if (!again && d->http && hc->addr.family &&
	    same_http(&d->http->cfg, hc)) {
		d->http->cfg = *hc; /* proxies, metrics-public */
		return 0;
	}
	if (d->http && d->http->running) {
		d->http->pending = true;
		return 0;
	}
	if (!hc->addr.family) {
		if (d->http)
			pr_info("http: stopped listening");
		http_stop(d);
		return 0;
	}
	if (!d->http)
		return http_start(d, hc, e);
	prev = d->http->cfg;
	r = http_start(d, hc, e);
	/* The new server failed after the old one stopped: the old one
	 * again, so that the API is not lost to a bad certificate. */
	if (r && !d->http && prev.port && !http_start(d, &prev, &pe))
		pr_warn("http: still serving on the previous settings");
	return r;
}

int http_apply(struct daemon *d, struct ipg_error *e)
{
	return apply(d, false, e);
}

bool http_owns(struct daemon *d, int fd)
{
	return d->http && fd == d->http->epfd;
}

void http_run(struct daemon *d)
{
	struct ipg_error e;

	if (!d->http)
		return;
	d->http->running = true;
	MHD_run(d->http->mhd);
	d->http->running = false;
	if (d->http->pending) {
		d->http->pending = false;
		if (http_apply(d, &e))
			pr_warn("%s; the API stays as it was", e.msg);
	}
}

void http_reload_tls(struct daemon *d)
{
	struct ipg_error e;

	if (!d->http || !*d->http->cfg.tls_cert)
		return;
	if (d->http->running) {
		d->http->pending = true;
		return;
	}
	if (apply(d, true, &e))
		pr_warn("%s; the API stays as it was", e.msg);
	else
		pr_info("http: certificate and key read again");
}

int http_timeout(struct daemon *d)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (!d->http)
		return -1;
	/* Capped: once the connection limit is reached, the listening
	 * socket is armed again only by a later MHD_run. */
	if (MHD_get_timeout(d->http->mhd, &ms) != MHD_YES || ms > 500)
		return 500;
	return (int)ms;
}
