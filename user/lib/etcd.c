// SPDX-License-Identifier: GPL-2.0
/* The etcd client: libcurl's multi socket interface behind one epoll fd
 * (its sockets and a timerfd for its timer), the owner's side of the loop,
 * the operations, and the client's making and unmaking. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "etcd_int.h"
#include "log.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp,
		   void *socketp)
{
	struct ipg_etcd *c = userp;
	struct epoll_event ev = { .data.fd = s };
	int op = socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(c->epfd, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) |
		    (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	/* A socket curl never told us it closed may be back under its
	 * number: take whichever operation works. */
	if (epoll_ctl(c->epfd, op, s, &ev) &&
	    epoll_ctl(c->epfd,
		      op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s,
		      &ev))
		return -1;
	if (!socketp)
		curl_multi_assign(c->multi, s, c);
	return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct ipg_etcd *c = userp;
	struct itimerspec its = { 0 };

	(void)multi;
	if (timeout_ms < 0) {
		c->deadline_ms = -1;
	} else {
		c->deadline_ms = now_ms() + timeout_ms;
		its.it_value.tv_sec = timeout_ms / 1000;
		/* 0 would disarm it: "now" is one nanosecond. */
		its.it_value.tv_nsec = timeout_ms % 1000 * 1000000 + 1;
	}
	return timerfd_settime(c->tfd, 0, &its, NULL) ? -1 : 0;
}

/* Waits up to @timeout ms for a socket or the timer, then moves every
 * transfer and completes what finished. */
static void pump(struct ipg_etcd *c, int timeout)
{
	struct epoll_event evs[32];
	int n, running, left;
	struct etcd_req *r;
	uint64_t ticks;
	CURLMsg *m;
	CURLcode rc;
	char *priv;

	n = epoll_wait(c->epfd, evs, 32, timeout);
	for (int i = 0; i < n; i++) {
		int fd = evs[i].data.fd, what = 0;

		if (fd == c->tfd) {
			if (read(c->tfd, &ticks, sizeof(ticks)) < 0 &&
			    errno != EAGAIN)
				pr_warn("etcd: reading the timer failed: %s\n",
					strerror(errno));
			curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT,
						 0, &running);
			continue;
		}
		if (evs[i].events & EPOLLIN)
			what |= CURL_CSELECT_IN;
		if (evs[i].events & EPOLLOUT)
			what |= CURL_CSELECT_OUT;
		if (evs[i].events & (EPOLLERR | EPOLLHUP))
			what |= CURL_CSELECT_ERR;
		curl_multi_socket_action(c->multi, fd, what, &running);
	}
	/* Watch messages first: they precede any end of their stream. */
	for (struct ipg_etcd_watch *w = c->watches; w; w = w->next)
		etcd_watch_deliver(w);
	while ((m = curl_multi_info_read(c->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		rc = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		r = (struct etcd_req *)priv;
		curl_multi_remove_handle(c->multi, r->easy);
		r->in_multi = false;
		etcd_req_done(r, rc);
	}
	etcd_watch_reap(c);
}

void ipg_etcd_run(struct ipg_etcd *c)
{
	pump(c, 0);
}

int ipg_etcd_wait(struct ipg_etcd *c, int timeout_ms)
{
	long long end = now_ms() + timeout_ms, left;

	while (c->n_pending > 0) {
		left = end - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		pump(c, (int)left);
	}
	return 0;
}

int ipg_etcd_fd(const struct ipg_etcd *c)
{
	return c->epfd;
}

int ipg_etcd_timeout_ms(const struct ipg_etcd *c)
{
	long long left;

	if (c->deadline_ms < 0)
		return -1;
	left = c->deadline_ms - now_ms();
	return left < 0 ? 0 : left > 3600000 ? 3600000 : (int)left;
}

static int submit_op(struct ipg_etcd *c, enum etcd_kind kind,
		     const struct ipg_etcd_op *op, ipg_etcd_cb cb, void *arg)
{
	return etcd_submit(c, kind, etcd_json_op(c->prefix, op), -1, cb, arg);
}

int ipg_etcd_range(struct ipg_etcd *c, const char *key, bool prefix,
		   ipg_etcd_cb cb, void *arg)
{
	struct ipg_etcd_op op = { IPG_ETCD_OP_RANGE, key, prefix };

	return submit_op(c, ETCD_RANGE, &op, cb, arg);
}

int ipg_etcd_put(struct ipg_etcd *c, const char *key, const void *value,
		 size_t len, uint64_t lease, ipg_etcd_cb cb, void *arg)
{
	struct ipg_etcd_op op = {
		IPG_ETCD_OP_PUT, key, false, value, len, lease
	};

	return submit_op(c, ETCD_PUT, &op, cb, arg);
}

int ipg_etcd_delete(struct ipg_etcd *c, const char *key, bool prefix,
		    ipg_etcd_cb cb, void *arg)
{
	struct ipg_etcd_op op = { IPG_ETCD_OP_DELETE, key, prefix };

	return submit_op(c, ETCD_DELETE, &op, cb, arg);
}

int ipg_etcd_txn(struct ipg_etcd *c, const struct ipg_etcd_txn *t,
		 ipg_etcd_cb cb, void *arg)
{
	return etcd_submit(c, ETCD_TXN, etcd_json_txn(c->prefix, t), -1, cb,
			   arg);
}

int ipg_etcd_lease_grant(struct ipg_etcd *c, int64_t ttl_s, ipg_etcd_cb cb,
			 void *arg)
{
	char ttl[24];

	if (ttl_s <= 0)
		return -EINVAL;
	snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_s);
	return etcd_submit(c, ETCD_LEASE_GRANT, json_pack("{s:s}", "TTL", ttl),
			   -1, cb, arg);
}

static int submit_lease(struct ipg_etcd *c, enum etcd_kind kind, uint64_t lease,
			ipg_etcd_cb cb, void *arg)
{
	char id[24];

	if (!lease)
		return -EINVAL;
	snprintf(id, sizeof(id), "%llu", (unsigned long long)lease);
	return etcd_submit(c, kind, json_pack("{s:s}", "ID", id), -1, cb, arg);
}

int ipg_etcd_lease_keepalive(struct ipg_etcd *c, uint64_t lease, ipg_etcd_cb cb,
			     void *arg)
{
	return submit_lease(c, ETCD_LEASE_KEEPALIVE, lease, cb, arg);
}

int ipg_etcd_lease_revoke(struct ipg_etcd *c, uint64_t lease, ipg_etcd_cb cb,
			  void *arg)
{
	return submit_lease(c, ETCD_LEASE_REVOKE, lease, cb, arg);
}

int ipg_etcd_compact(struct ipg_etcd *c, int64_t revision, ipg_etcd_cb cb,
		     void *arg)
{
	char rev[24];

	if (revision <= 0)
		return -EINVAL;
	snprintf(rev, sizeof(rev), "%lld", (long long)revision);
	/* physical: the reply waits until the compaction is done. */
	return etcd_submit(c, ETCD_COMPACT,
			   json_pack("{s:s, s:b}", "revision", rev, "physical",
				     1),
			   -1, cb, arg);
}

int ipg_etcd_status(struct ipg_etcd *c, int endpoint, ipg_etcd_cb cb, void *arg)
{
	if (endpoint < 0 || endpoint >= c->n_endpoints)
		return -EINVAL;
	return etcd_submit(c, ETCD_STATUS, json_object(), endpoint, cb, arg);
}

size_t ipg_etcd_n_endpoints(const struct ipg_etcd *c)
{
	return (size_t)c->n_endpoints;
}

const char *ipg_etcd_endpoint(const struct ipg_etcd *c, int i)
{
	return i >= 0 && i < c->n_endpoints ? c->endpoints[i] : NULL;
}

void ipg_etcd_stats(const struct ipg_etcd *c, struct ipg_etcd_stats *s)
{
	*s = c->stats;
}

static int dup_opt(char **dst, const char *src)
{
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

static int check_endpoint(const char *ep, struct ipg_error *e)
{
	size_t n = strlen(ep);

	if (strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8))
		return ipg_fail(
			e, -EINVAL,
			"etcd endpoint \"%s\": not http:// or https://; "
			"write it as http://HOST:PORT",
			ep);
	if (n > 512)
		return ipg_fail(e, -EINVAL,
				"etcd endpoint \"%.40s…\": too long", ep);
	return 0;
}

static int setup(struct ipg_etcd *c, const struct ipg_etcd_opts *o,
		 struct ipg_error *e)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int err = 0;

	if (!o->n_endpoints)
		return ipg_fail(e, -EINVAL, "etcd: no endpoint given");
	if (o->user && !o->password)
		return ipg_fail(e, -EINVAL,
				"etcd user %s: no password given; put it in "
				"the password file",
				o->user);
	c->endpoints = calloc(o->n_endpoints, sizeof(*c->endpoints));
	if (!c->endpoints)
		return -ENOMEM;
	for (size_t i = 0; i < o->n_endpoints; i++) {
		err = check_endpoint(o->endpoints[i], e);
		if (err)
			return err;
		err = dup_opt(&c->endpoints[i], o->endpoints[i]);
		if (err)
			return err;
		c->n_endpoints++;
		/* "…:2379/" and "…:2379" are one endpoint. */
		for (size_t n = strlen(c->endpoints[i]);
		     n && c->endpoints[i][n - 1] == '/'; n--)
			c->endpoints[i][n - 1] = '\0';
	}
	err = dup_opt(&c->prefix, o->prefix ? o->prefix : "/ipgate/");
	err = err ?: dup_opt(&c->ca, o->ca);
	err = err ?: dup_opt(&c->cert, o->cert);
	err = err ?: dup_opt(&c->key, o->key);
	err = err ?: dup_opt(&c->user, o->user);
	err = err ?: dup_opt(&c->password, o->password);
	if (err)
		return err;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
	c->connect_timeout_ms =
		o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 1000;
	c->max_reply = o->max_reply ? o->max_reply : ETCD_MAX_REPLY;
	c->deadline_ms = -1;
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	c->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->epfd < 0 || c->tfd < 0)
		return ipg_fail(e, -errno, "etcd: cannot make its epoll fd: %s",
				strerror(errno));
	ev.data.fd = c->tfd;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->tfd, &ev))
		return ipg_fail(e, -errno, "etcd: epoll_ctl: %s",
				strerror(errno));
	c->multi = curl_multi_init();
	if (!c->multi)
		return ipg_fail(e, -ENOMEM, "etcd: curl_multi_init failed");
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	return 0;
}

struct ipg_etcd *ipg_etcd_new(const struct ipg_etcd_opts *o,
			      struct ipg_error *e)
{
	struct ipg_etcd *c = calloc(1, sizeof(*c));
	int err;

	if (!c) {
		ipg_fail(e, -ENOMEM, "etcd: out of memory");
		return NULL;
	}
	c->epfd = c->tfd = -1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		free(c);
		ipg_fail(e, -EIO, "etcd: curl_global_init failed");
		return NULL;
	}
	err = setup(c, o, e);
	if (err) {
		if (err == -ENOMEM)
			ipg_fail(e, err, "etcd: out of memory");
		ipg_etcd_free(c);
		return NULL;
	}
	return c;
}

void ipg_etcd_free(struct ipg_etcd *c)
{
	if (!c)
		return;
	c->closing = true;
	while (c->watches)
		ipg_etcd_watch_free(c->watches);
	while (c->reqs)
		etcd_req_cancel(c->reqs);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	if (c->tfd >= 0)
		close(c->tfd);
	if (c->epfd >= 0)
		close(c->epfd);
	for (int i = 0; i < c->n_endpoints; i++)
		free(c->endpoints[i]);
	free(c->endpoints);
	free(c->prefix);
	free(c->ca);
	free(c->cert);
	free(c->key);
	free(c->user);
	if (c->password)
		explicit_bzero(c->password, strlen(c->password));
	free(c->password);
	free(c->token);
	free(c);
	curl_global_cleanup();
}
