// SPDX-License-Identifier: GPL-2.0
/* The event loop: signals, inotify, timers, the knock socket and the control
 * connections, and the dispatch of requests to their handlers. */
#include "daemon.h"

int reply_err(struct req *q, int err, const char *msg)
{
	ipg_ctl_set(q->rep, "code", ipg_ctl_code_name(err));
	ipg_ctl_set(q->rep, "message", msg);
	return err;
}

int reply_errf(struct req *q, int err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return reply_err(q, err, msg);
}

static const struct command {
	const char *name;
	int (*fn)(struct req *q);
} commands[] = {
	{ "status", do_status },     { "list", do_list },
	{ "lists", do_lists },	     { "add", do_add },
	{ "remove", do_remove },     { "enable", do_enable },
	{ "disable", do_disable },   { "apply", do_apply },
	{ "test", do_test },	     { "log", do_log },
	{ "detach", do_detach },     { "attach", do_attach },
	{ "override", do_override }, { "breakglass", do_breakglass },
	{ "token", do_token },	     { "save", do_save },
	{ "confirm", do_confirm },   { "blocked", do_blocked },
	{ "fleet", do_fleet },
};

/* The name of @uid from /etc/passwd itself: a local file read, so that a
 * slow name service (LDAP, sssd) never stalls the loop. Users known only
 * to such a service are shown as "uid N"; the audit log has the uid too. */
static void user_name(uid_t uid, char *out, size_t size)
{
	FILE *f = fopen("/etc/passwd", "re");
	struct passwd *pw;

	snprintf(out, size, "uid %u", (unsigned)uid);
	if (!f)
		return;
	while ((pw = fgetpwent(f)))
		if (pw->pw_uid == uid) {
			snprintf(out, size, "%s", pw->pw_name);
			break;
		}
	fclose(f);
}

int serve_req(struct req *q, const char *cmd)
{
	struct ipg_ctl_msg *rep = q->rep;
	int r = -EINVAL;

	for (size_t i = 0; cmd && i < sizeof(commands) / sizeof(commands[0]);
	     i++)
		if (!strcmp(cmd, commands[i].name)) {
			r = commands[i].fn(q);
			if (r == -EINPROGRESS)
				return r; /* the reply comes later */
			goto done;
		}
	reply_errf(q, -EINVAL, "unknown command \"%s\"", cmd ? cmd : "");
done:
	if (!ipg_ctl_get(rep, "code"))
		ipg_ctl_set(rep, "code", ipg_ctl_code_name(r));
	if (q->out.oom)
		r = reply_err(q, -ENOMEM, "out of memory");
	else if (q->out.s)
		ipg_ctl_setn(rep, "out", q->out.s, q->out.len);
	if (r && ipg_ctl_get(rep, "message"))
		pr_info("refused %s from %s (uid %u): %s", cmd ? cmd : "?",
			q->user, (unsigned)q->who.uid,
			ipg_ctl_get(rep, "message"));
	ipg_buf_free(&q->out);
	return r;
}

static void conn_later(struct daemon *d, void *arg, uint64_t id, int err,
		       const struct ipg_ctl_msg *rep);

static int handle(struct daemon *d, struct conn *c, const struct ipg_ctl_msg *m,
		  struct ipg_ctl_msg *rep)
{
	struct req q = { .d = d,
			 .m = m,
			 .rep = rep,
			 .later = conn_later,
			 .later_arg = c,
			 .later_id = c->id };
	int r;
	const char *client;

	user_name(c->uid, q.user, sizeof(q.user));
	client = ipg_ctl_get(m, "client");
	if (client)
		snprintf(q.client, sizeof(q.client), "%s", client);
	q.who = (struct ipg_actor){ .uid = c->uid,
				    .pid = c->pid,
				    .user = q.user,
				    .client = *q.client ? q.client : NULL };
	q.json = ipg_ctl_flag(m, "json");
	q.force = ipg_ctl_flag(m, "force");
	r = serve_req(&q, ipg_ctl_get(m, "cmd"));
	ipg_buf_free(&q.out);
	return r;
}

static void conn_close(struct daemon *d, struct conn *c)
{
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	ipg_buf_free(&c->in);
	ipg_buf_free(&c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Sends what the client's socket takes of the pending reply without
 * blocking the loop; closes the connection once all of it is sent, or when
 * the client has gone. Otherwise waits for EPOLLOUT. */
static void conn_flush(struct daemon *d, struct conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.s + c->out_off,
				 c->out.len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			c->deadline = time(NULL) + CONN_SEND_IDLE_S;
			epoll_ctl(d->epfd, EPOLL_CTL_MOD, c->fd,
				  &(struct epoll_event){ .events = EPOLLOUT,
							 .data.ptr = c });
			return;
		}
		if (n <= 0) {
			pr_warn("pid %d went away after %zu of %zu reply bytes",
				(int)c->pid, c->out_off, c->out.len);
			break;
		}
		c->out_off += (size_t)n;
	}
	conn_close(d, c);
}

/* Encodes @rep as the connection's pending reply and starts sending it. */
static void send_reply(struct daemon *d, struct conn *c,
		       const struct ipg_ctl_msg *rep)
{
	ipg_buf_free(&c->out);
	c->out_off = 0;
	if (ipg_ctl_encode(rep, &c->out)) {
		struct ipg_ctl_msg oom = { 0 };

		pr_warn("out of memory encoding a reply to pid %d",
			(int)c->pid);
		ipg_buf_free(&c->out);
		ipg_ctl_set(&oom, "code", "EIO");
		ipg_ctl_set(&oom, "message",
			    "ipgated ran out of memory for the reply");
		ipg_ctl_encode(&oom, &c->out);
		ipg_ctl_free(&oom);
	}
	conn_flush(d, c);
}

/* The reply of a request that waited (for the store): sent, unless its
 * client has gone and the slot serves another. */
static void conn_later(struct daemon *d, void *arg, uint64_t id, int err,
		       const struct ipg_ctl_msg *rep)
{
	struct conn *c = arg;

	(void)err; /* the reply's code says it */
	if (c->fd < 0 || c->id != id || !c->waiting)
		return;
	c->waiting = false;
	send_reply(d, c, rep);
	notify_status(d);
}

/* Whether the peer may use the socket: root, or a member of the group by
 * its primary gid or by the supplementary groups the kernel recorded for
 * the socket (SO_PEERGROUPS), so no name service is asked in the loop. */
static int authorized(struct daemon *d, int fd, uid_t uid, gid_t gid)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);

	if (uid == 0)
		return 1;
	if (!d->have_group)
		return 0;
	if (gid == d->group_gid)
		return 1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len))
		return 0; /* ERANGE: over 256 groups; refuse, never guess */
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == d->group_gid)
			return 1;
	return 0;
}

/* Refuses a connection with a reply saying why, sent without waiting. */
static void refuse_conn(int fd, const char *code, const char *msg)
{
	struct ipg_ctl_msg rep = { 0 };
	struct ipg_buf out = { 0 };

	ipg_ctl_set(&rep, "code", code);
	ipg_ctl_set(&rep, "message", msg);
	if (!ipg_ctl_encode(&rep, &out))
		(void)!send(fd, out.s, out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	ipg_buf_free(&out);
	ipg_ctl_free(&rep);
	close(fd);
}

static void on_accept(struct daemon *d)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	struct conn *c = NULL;
	char msg[160];
	int fd, held = 0;

	fd = accept4(d->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl)) {
		close(fd);
		return;
	}
	if (!authorized(d, fd, cred.uid, cred.gid)) {
		pr_warn("refused a control connection from uid %u gid %u pid %d: "
			"only root and the %s group may use ipgated",
			(unsigned)cred.uid, (unsigned)cred.gid, (int)cred.pid,
			d->o.group);
		snprintf(msg, sizeof(msg),
			 "permission denied: only root and the %s group may "
			 "use ipgated",
			 d->o.group);
		refuse_conn(fd, "EACCES", msg);
		return;
	}
	for (int i = 0; i < CONNS_MAX; i++) {
		if (d->conns[i].fd < 0 && !c)
			c = &d->conns[i];
		else if (d->conns[i].fd >= 0 && d->conns[i].uid == cred.uid)
			held++;
	}
	if (!c || (cred.uid != 0 && held >= CONNS_PER_UID)) {
		pr_warn("too many control connections%s; refusing uid %u pid %d",
			c ? " from this uid" : "", (unsigned)cred.uid,
			(int)cred.pid);
		snprintf(msg, sizeof(msg),
			 "busy: uid %u already holds %d control connections; "
			 "try again when they are done",
			 (unsigned)cred.uid, held);
		refuse_conn(fd, "EBUSY",
			    c ? msg :
				"busy: every control connection is in "
				"use; try again");
		return;
	}
	c->fd = fd;
	c->id = ++d->conn_ids;
	c->uid = cred.uid;
	c->gid = cred.gid;
	c->pid = cred.pid;
	c->deadline = time(NULL) + CONN_TIMEOUT_S;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd,
		  &(struct epoll_event){ .events = EPOLLIN, .data.ptr = c });
}

static void on_conn(struct daemon *d, struct conn *c)
{
	struct ipg_ctl_msg m, rep = { 0 };
	struct ipg_error e = { { 0 } };
	char chunk[65536];
	size_t used;
	ssize_t n;
	int r;

	if (c->out.s) {
		conn_flush(d, c); /* EPOLLOUT: more of the reply */
		return;
	}
	n = recv(c->fd, chunk, sizeof(chunk), 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(d, c);
		return;
	}
	ipg_buf_append(&c->in, chunk, (size_t)n);
	if (c->in.oom) {
		conn_close(d, c);
		return;
	}
	r = ipg_ctl_decode(c->in.s, c->in.len, &ipg_ctl_request_limits, &m,
			   &used, &e);
	if (r == -EAGAIN)
		return;
	if (r) {
		ipg_ctl_set(&rep, "code", "EBADMSG");
		ipg_ctl_setf(&rep, "message", "bad request: %s", e.msg);
		pr_warn("bad request from pid %d: %s", (int)c->pid, e.msg);
	} else {
		r = handle(d, c, &m, &rep);
		ipg_ctl_free(&m);
	}
	/* Nothing more is read from this client: it gets one answer. */
	epoll_ctl(d->epfd, EPOLL_CTL_MOD, c->fd,
		  &(struct epoll_event){ .events = 0, .data.ptr = c });
	if (r == -EINPROGRESS) {
		/* conn_later() answers; the store's writes end in time. */
		c->waiting = true;
		c->deadline = time(NULL) + CONN_WAIT_S;
		ipg_ctl_free(&rep);
		return;
	}
	send_reply(d, c, &rep);
	ipg_ctl_free(&rep);
	notify_status(d);
}

static void arm(int tfd, long ms)
{
	struct itimerspec its = { .it_value = { .tv_sec = ms / 1000,
						.tv_nsec = (ms % 1000) *
							   1000000 } };

	timerfd_settime(tfd, 0, &its, NULL);
}

#define WATCH_MASK                                                  \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | \
	 IN_DELETE | IN_ATTRIB)

void watch_includes(struct daemon *d)
{
	for (int i = 0; i < d->cfg.n_includes; i++) {
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s", d->cfg.includes[i]);
		dirname(dir);
		if (strpbrk(dir, "*?[")) {
			pr_warn("include %s: a pattern in the directory part "
				"cannot be watched; reload with SIGHUP after "
				"editing those files",
				d->cfg.includes[i]);
			continue;
		}
		/* Watching a directory twice is one watch. */
		if (inotify_add_watch(d->inofd, dir, WATCH_MASK) < 0 &&
		    errno != ENOENT)
			pr_warn("cannot watch %s: %s; reload with SIGHUP", dir,
				strerror(errno));
	}
}

static void on_inotify(struct daemon *d)
{
	char buf[4096]
		__attribute__((aligned(__alignof__(struct inotify_event))));

	while (read(d->inofd, buf, sizeof(buf)) > 0)
		;
	/* Editors write in several steps; settle first, then compare. */
	arm(d->debounce_fd, RELOAD_DEBOUNCE_MS);
}

/* Reject mode answers only SYNs to this host's addresses: keeps the
 * datapath's copy in step when netlink says they changed. */
static void local_addrs_check(struct daemon *d)
{
	struct ipg_error e = { { 0 } };

	if (ipg_datapath_local_addrs_poll(d->dp, &e) < 0)
		pr_warn("%s", e.msg);
}

static void on_tick(struct daemon *d)
{
	time_t now = time(NULL);
	uint64_t x;

	if (read(d->tick_fd, &x, sizeof(x)) < 0)
		return;
	for (int i = 0; i < CONNS_MAX; i++)
		if (d->conns[i].fd >= 0 && d->conns[i].deadline < now)
			conn_close(d, &d->conns[i]);
	ovr_check(d);
	pending_check(d);
	store_tick(d);
	expire_check(d);
	http_tick(d);
	ipg_datapath_blocked_tick(d->dp);
	grants_check(d);
	local_addrs_check(d);
	notify_tick(d);
}

static void on_signal(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			/* An explicit reload reads the file even if unchanged
			 * text was seen before. */
			free(d->cfg_text);
			d->cfg_text = NULL;
			reload(d, "SIGHUP");
			if (!d->cfg_text)
				d->cfg_text = ipg_config_render_saved(&d->cfg);
			http_reload_tls(d);
		} else {
			pr_info("signal %d: stopping; the filter stays attached "
				"and enforcing",
				si.ssi_signo);
			notify_stopping(d);
			d->stop = 1;
		}
	}
}

int setup_loop(struct daemon *d)
{
	char dir[PATH_MAX];
	struct ipg_error e = { { 0 } };
	sigset_t ss;
	int r;
	struct itimerspec tick = { .it_interval = { .tv_sec = 1 },
				   .it_value = { .tv_sec = 1 } };

	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	sigemptyset(&ss);
	sigaddset(&ss, SIGHUP);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
	d->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	d->debounce_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	d->tick_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->epfd < 0 || d->sigfd < 0 || d->inofd < 0 || d->debounce_fd < 0 ||
	    d->tick_fd < 0)
		return -errno;
	snprintf(dir, sizeof(dir), "%s", d->o.config);
	/* The directory, not the file: editors rename over it, and config
	 * maps swap a symlink. */
	if (inotify_add_watch(d->inofd, dirname(dir), WATCH_MASK) < 0)
		pr_warn("cannot watch %s: %s; reload with SIGHUP", dir,
			strerror(errno));
	watch_includes(d);
	timerfd_settime(d->tick_fd, 0, &tick, NULL);
	/* The host's address changes (netlink), for reject mode's ipg_local;
	 * the tick polls it too, in case a notice was lost. */
	int fds[] = { d->sigfd,	  d->inofd, d->debounce_fd,
		      d->tick_fd, d->lfd,   ipg_datapath_local_addrs_fd(d->dp) };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0 &&
		    epoll_ctl(d->epfd, EPOLL_CTL_ADD, fds[i],
			      &(struct epoll_event){ .events = EPOLLIN,
						     .data.fd = fds[i] }))
			return -errno;
	r = blocked_open(d);
	if (r)
		pr_warn("the blocked-source log cannot run: %s", strerror(-r));
	else if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, blocked_fd(d),
			   &(struct epoll_event){ .events = EPOLLIN,
						  .data.fd = blocked_fd(d) }))
		pr_warn("the blocked-source log cannot be watched: %s",
			strerror(errno));
	r = notify_watchdog_setup(d) ?: knock_listen(d);
	if (!r) {
		r = http_apply(d, &e);
		if (r)
			pr_warn("%s", e.msg);
	}
	if (!r)
		r = store_open(d);
	return r;
}

static int in_conns(struct daemon *d, void *p)
{
	return (char *)p >= (char *)d->conns &&
	       (char *)p < (char *)(d->conns + CONNS_MAX);
}

/* The wait: the HTTP server's and the store client's timers. */
static int loop_timeout(struct daemon *d)
{
	int h = http_timeout(d), s = store_timeout(d);

	return s < 0 ? h : h < 0 || s < h ? s : h;
}

void run(struct daemon *d)
{
	struct epoll_event ev[16];

	while (!d->stop) {
		int n = epoll_wait(d->epfd, ev, 16, loop_timeout(d));

		for (int i = 0; i < n; i++) {
			void *p = ev[i].data.ptr;
			int fd = ev[i].data.fd;

			if (in_conns(d, p))
				on_conn(d, p);
			else if (fd == d->lfd)
				on_accept(d);
			else if (fd == d->sigfd)
				on_signal(d);
			else if (fd == d->inofd)
				on_inotify(d);
			else if (fd == d->tick_fd)
				on_tick(d);
			else if (fd == d->kfd)
				on_knock(d);
			else if (fd == d->wd_fd)
				notify_timer(d);
			else if (fd == blocked_fd(d))
				blocked_read(d);
			else if (http_owns(d, fd))
				; /* served below, after every wake-up */
			else if (store_owns(d, fd))
				; /* run by store_owns() */
			else if (fd == ipg_datapath_local_addrs_fd(d->dp))
				local_addrs_check(d);
			else if (fd == d->debounce_fd) {
				uint64_t x;

				if (read(fd, &x, sizeof(x)) > 0)
					reload(d, "file changed");
			}
		}
		http_run(d);
	}
}
