/* SPDX-License-Identifier: GPL-2.0 */
/* A client of etcd's v3 JSON gateway that never blocks: libcurl's multi
 * interface behind one pollable fd, driven by the owner's event loop. */
#ifndef IPGATE_ETCD_H
#define IPGATE_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ipg_etcd;
struct ipg_etcd_watch;
struct ipg_error;

/* What a client connects to. Strings are copied by ipg_etcd_new(). */
struct ipg_etcd_opts {
	const char *const *endpoints; /* "http://host:port", "https://…" */
	size_t n_endpoints;
	const char *prefix; /* every key is under it; NULL: "/ipgate/" */
	const char *ca, *cert, *key; /* PEM files; NULL: system CAs, no cert */
	const char *user, *password; /* NULL user: no authentication */
	int timeout_ms; /* per request and endpoint; 0: 5000 */
	int connect_timeout_ms; /* 0: 1000 */
	size_t max_reply; /* bytes of one reply or watch message; 0: 64 MiB */
};

/* One key-value pair; the key without the client's prefix. */
struct ipg_etcd_kv {
	char *key; /* key_len bytes, then a NUL not counted */
	size_t key_len;
	unsigned char *value; /* value_len bytes, then a NUL not counted */
	size_t value_len;
	int64_t create_revision, mod_revision, version;
	uint64_t lease;
};

enum ipg_etcd_op_type {
	IPG_ETCD_OP_RANGE,
	IPG_ETCD_OP_PUT,
	IPG_ETCD_OP_DELETE,
};

/* One operation inside a transaction. */
struct ipg_etcd_op {
	enum ipg_etcd_op_type type;
	const char *key;
	bool prefix; /* range and delete: every key starting with @key */
	const void *value; /* put */
	size_t value_len;
	uint64_t lease; /* put; 0: none */
};

enum ipg_etcd_target {
	IPG_ETCD_MOD, /* the key's mod_revision */
	IPG_ETCD_CREATE, /* create_revision: 0 for a missing key */
	IPG_ETCD_VERSION, /* version: 0 for a missing key */
	IPG_ETCD_VALUE,
};

enum ipg_etcd_cmp_result {
	IPG_ETCD_EQUAL,
	IPG_ETCD_NOT_EQUAL,
	IPG_ETCD_LESS,
	IPG_ETCD_GREATER,
};

struct ipg_etcd_cmp {
	const char *key;
	enum ipg_etcd_target target;
	enum ipg_etcd_cmp_result result;
	int64_t number; /* MOD, CREATE, VERSION */
	const void *value; /* VALUE */
	size_t value_len;
};

struct ipg_etcd_txn {
	const struct ipg_etcd_cmp *cmp;
	size_t n_cmp;
	const struct ipg_etcd_op *success, *failure;
	size_t n_success, n_failure;
};

/* The reply to one operation of a transaction: the kvs of a range, the
 * count a delete removed; a put has nothing. */
struct ipg_etcd_op_reply {
	enum ipg_etcd_op_type type;
	struct ipg_etcd_kv *kvs;
	size_t n_kvs;
	int64_t count; /* range: keys matching; delete: keys deleted */
};

/* What a request's callback gets; valid only during the callback. */
struct ipg_etcd_result {
	int err; /* 0, or a negative errno (below) */
	/* What failed and where, for the operator; "" on success. */
	const char *message;
	long http_status; /* 0: no reply */
	int code; /* etcd's gRPC code from an error reply, 0 otherwise */
	int endpoint; /* index of the endpoint that answered, or -1 */
	int64_t revision; /* the store's revision (header.revision) */
	uint64_t member_id;
	/* range and delete: as one operation of a transaction */
	struct ipg_etcd_op_reply reply;
	/* txn: which branch ran (a failed compare is not an error) and the
	 * reply to each of its operations */
	bool succeeded;
	struct ipg_etcd_op_reply *replies;
	size_t n_replies;
	/* lease grant and keepalive: the lease and its TTL in seconds */
	uint64_t lease;
	int64_t ttl;
	/* status of one endpoint: a member without a leader (lost quorum)
	 * has leader 0 and says why in status_error */
	const char *version;
	uint64_t leader;
	uint64_t raft_term, raft_index;
	int64_t db_size;
	const char *status_error; /* "" when the member reports none */
};

/* Errors in ipg_etcd_result.err:
 *   -ECONNREFUSED  no endpoint took the connection
 *   -ETIMEDOUT     no reply in time (a write may still have been applied)
 *   -ECONNRESET    the connection broke (idem)
 *   -EACCES        authentication failed, permission denied, or TLS
 *   -ENOENT        lease not found (expired or revoked)
 *   -ERANGE        revision compacted or in the future
 *   -EINVAL        etcd refused the request as malformed
 *   -EAGAIN        etcd unavailable (no leader, too many requests)
 *   -EPROTO        a reply that is not what the gateway sends
 *   -EMSGSIZE      a reply larger than max_reply
 *   -EIO           any other etcd error (code and message say which)
 *   -ECANCELED     the client was freed first */

typedef void (*ipg_etcd_cb)(struct ipg_etcd *c, const struct ipg_etcd_result *r,
			    void *arg);

/* Makes a client; connects lazily, on the first request. Returns NULL with
 * a message in @e on bad options or when out of resources. */
struct ipg_etcd *ipg_etcd_new(const struct ipg_etcd_opts *o,
			      struct ipg_error *e);
/* Ends every transfer; outstanding requests get -ECANCELED, watches end
 * without a callback. Not from inside a callback. */
void ipg_etcd_free(struct ipg_etcd *c);

/* The owner's event loop: poll this fd for EPOLLIN and call ipg_etcd_run()
 * when it is readable. Timers are inside it too, so the timeout is only a
 * convenience: -1 for none, else milliseconds until curl's next timer. */
int ipg_etcd_fd(const struct ipg_etcd *c);
int ipg_etcd_timeout_ms(const struct ipg_etcd *c);
/* Moves every transfer as far as it goes without blocking; completes
 * requests and delivers watch messages through their callbacks, which may
 * send requests and start, resume or free watches (not free the client). */
void ipg_etcd_run(struct ipg_etcd *c);
/* Runs the client until every request (not watches) is done: for tests and
 * one-shot tools. Returns 0, or -ETIMEDOUT after @timeout_ms. */
int ipg_etcd_wait(struct ipg_etcd *c, int timeout_ms);

/* Requests. Each copies what it needs, returns 0 and calls @cb exactly once
 * later (from ipg_etcd_run or ipg_etcd_free), or returns a negative errno
 * (-EINVAL: a bad key or argument; -ENOMEM; -ESHUTDOWN while freeing) and
 * never calls it. Keys are relative to the prefix. A request that cannot
 * connect goes to the next endpoint, each endpoint once, from the one that
 * answered last; a read (range, keepalive) goes on after a timeout, a
 * broken connection or a 5xx too, but a write is not sent twice: it may
 * have been applied (a txn sent again would lose its own race). An
 * expired token is renewed once per request, without a word. */
int ipg_etcd_range(struct ipg_etcd *c, const char *key, bool prefix,
		   ipg_etcd_cb cb, void *arg);
int ipg_etcd_put(struct ipg_etcd *c, const char *key, const void *value,
		 size_t len, uint64_t lease, ipg_etcd_cb cb, void *arg);
int ipg_etcd_delete(struct ipg_etcd *c, const char *key, bool prefix,
		    ipg_etcd_cb cb, void *arg);
int ipg_etcd_txn(struct ipg_etcd *c, const struct ipg_etcd_txn *t,
		 ipg_etcd_cb cb, void *arg);
int ipg_etcd_lease_grant(struct ipg_etcd *c, int64_t ttl_s, ipg_etcd_cb cb,
			 void *arg);
/* Renews @lease once; r->ttl is its new TTL, or -ENOENT when it is gone. */
int ipg_etcd_lease_keepalive(struct ipg_etcd *c, uint64_t lease, ipg_etcd_cb cb,
			     void *arg);
int ipg_etcd_lease_revoke(struct ipg_etcd *c, uint64_t lease, ipg_etcd_cb cb,
			  void *arg);
int ipg_etcd_compact(struct ipg_etcd *c, int64_t revision, ipg_etcd_cb cb,
		     void *arg);
/* Asks endpoint @endpoint only (no failover) how it is. */
int ipg_etcd_status(struct ipg_etcd *c, int endpoint, ipg_etcd_cb cb,
		    void *arg);

size_t ipg_etcd_n_endpoints(const struct ipg_etcd *c);
const char *ipg_etcd_endpoint(const struct ipg_etcd *c, int i);

struct ipg_etcd_stats {
	unsigned long requests; /* requests completed */
	unsigned long failovers; /* retries on another endpoint */
	unsigned long auths; /* authentications done (first and renewals) */
};
void ipg_etcd_stats(const struct ipg_etcd *c, struct ipg_etcd_stats *s);

/* Watches. */

struct ipg_etcd_event {
	bool deleted; /* DELETE; otherwise PUT */
	struct ipg_etcd_kv kv; /* a delete has only key and mod_revision */
};

enum ipg_etcd_watch_state {
	IPG_ETCD_WATCH_CREATED, /* etcd accepted the watch */
	IPG_ETCD_WATCH_PROGRESS, /* every event up to revision delivered */
	/* The rest end the watch (its transfer is closed); resume or free it. */
	IPG_ETCD_WATCH_COMPACTED, /* start revision compacted: re-read all */
	IPG_ETCD_WATCH_CANCELED, /* etcd canceled it (reason in message) */
	IPG_ETCD_WATCH_ENDED, /* the stream ended: err and message say why */
};

struct ipg_etcd_watch_status {
	enum ipg_etcd_watch_state state;
	int64_t revision; /* CREATED, PROGRESS: header revision */
	int64_t compact_revision; /* COMPACTED */
	int err; /* ENDED: -ECONNRESET, -ECONNREFUSED, -ETIMEDOUT, -EPROTO… */
	const char *message; /* CANCELED, ENDED */
	int endpoint; /* the endpoint that served it */
};

/* @events (all of one or more revisions, in order) are valid only during
 * the call; @revision is the watch's last revision afterwards. */
typedef void (*ipg_etcd_events_cb)(struct ipg_etcd_watch *w,
				   const struct ipg_etcd_event *events,
				   size_t n, void *arg);
typedef void (*ipg_etcd_watch_cb)(struct ipg_etcd_watch *w,
				  const struct ipg_etcd_watch_status *s,
				  void *arg);

struct ipg_etcd_watch_opts {
	const char *key; /* relative to the client's prefix; "" for all */
	bool prefix;
	int64_t start_revision; /* 0: from now */
	bool progress_notify; /* PROGRESS when idle (etcd's interval) */
	/* End the stream with -ETIMEDOUT when no byte came for this long
	 * (use with progress_notify and a shorter etcd interval); 0: never */
	int idle_timeout_s;
	ipg_etcd_events_cb on_events;
	ipg_etcd_watch_cb on_status;
	void *arg;
};

/* Starts a watch. Endpoints that refuse the connection are skipped, each
 * once. An invalid token is renewed without a word. Returns 0 and the
 * watch in @out, or a negative errno. */
int ipg_etcd_watch(struct ipg_etcd *c, const struct ipg_etcd_watch_opts *o,
		   struct ipg_etcd_watch **out);
/* After COMPACTED, CANCELED or ENDED: starts it again from the revision
 * after the last one delivered (or its start revision if none was),
 * trying the endpoint after the one that served it first. -EBUSY while it
 * runs. */
int ipg_etcd_watch_resume(struct ipg_etcd_watch *w);
/* Starts it again from @revision (after a re-read). -EBUSY while it runs. */
int ipg_etcd_watch_restart(struct ipg_etcd_watch *w, int64_t revision);
/* The last revision whose events were all delivered; 0 if none yet. */
int64_t ipg_etcd_watch_revision(const struct ipg_etcd_watch *w);
bool ipg_etcd_watch_running(const struct ipg_etcd_watch *w);
/* Closes its transfer and frees it; may be called from its callbacks. */
void ipg_etcd_watch_free(struct ipg_etcd_watch *w);

#endif
