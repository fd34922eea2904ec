// SPDX-License-Identifier: GPL-2.0
/* What ipgated tells the service manager (user/lib/notify.c): READY=1 once
 * it enforces and serves, RELOADING=1 and READY=1 around a reload, STATUS=
 * after each change, STOPPING=1, and the watchdog's pings. Nothing is sent
 * when $NOTIFY_SOCKET is unset. */
#include "daemon.h"
#include "journal.h"

#define USEC_PER_SEC 1000000ULL
/* The tick's period: a watchdog interval under twice it gets a timer. */
#define TICK_USEC USEC_PER_SEC

static uint64_t mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

static void send_buf(struct daemon *d, struct ipg_buf *b, const char *what)
{
	int r = ipg_notify_send(&d->notify, b);

	if (r)
		pr_warn("cannot tell the service manager %s: %s", what,
			strerror(-r));
	ipg_buf_free(b);
}

/* The one-line summary: policy generation, entries of every list, named
 * lists, interfaces protected, and what is amiss. */
static void status_line(struct daemon *d, char *out, size_t size)
{
	const struct ipg_config *c = &d->cfg;
	uint32_t entries = c->policy.n_entries;
	struct ipg_policy live;
	enum ipg_xdp_mode m;
	int prot = 0;

	for (int i = 0; i < c->n_lists; i++)
		entries += c->lists[i]->policy.n_entries;
	for (int i = 0; i < c->n_interfaces && !d->detached; i++)
		prot += !ipg_datapath_attached(c->interfaces[i], &m);
	if (ipg_datapath_active(d->dp, &live))
		live.generation = 0;
	snprintf(out, size,
		 "generation %u, %u entr%s, %d named list%s, %d of %d "
		 "interface%s protected%s%s",
		 live.generation, entries, entries == 1 ? "y" : "ies",
		 c->n_lists, c->n_lists == 1 ? "" : "s", prot, c->n_interfaces,
		 c->n_interfaces == 1 ? "" : "s",
		 d->detached ? "; detached by 'ipgate detach'" : "",
		 *d->file_error ? "; the config file has an error, the last "
				  "good one runs" :
				  "");
}

void notify_open(struct daemon *d)
{
	int r = ipg_notify_open(&d->notify);

	d->wd_fd = -1;
	if (r)
		pr_warn("NOTIFY_SOCKET=\"%s\": %s; the service manager will "
			"not hear from ipgated",
			getenv("NOTIFY_SOCKET"), strerror(-r));
}

void notify_ready(struct daemon *d, int forked)
{
	struct ipg_buf b = { 0 };

	if (d->notify.fd < 0)
		return;
	status_line(d, d->notify_status, sizeof(d->notify_status));
	ipg_notify_field(&b, "READY", "1");
	if (forked)
		ipg_notify_field(&b, "MAINPID", "%d", (int)getpid());
	ipg_notify_field(&b, "STATUS", "%s", d->notify_status);
	d->wd_last = mono_usec();
	send_buf(d, &b, "it is ready");
}

void notify_failed(struct daemon *d, int err)
{
	struct ipg_buf b = { 0 };

	ipg_notify_field(&b, "STATUS", "not started: %s", strerror(-err));
	ipg_notify_field(&b, "ERRNO", "%d", -err);
	send_buf(d, &b, "the start failed");
}

void notify_reloading(struct daemon *d)
{
	struct ipg_buf b = { 0 };

	if (d->notify.fd < 0)
		return;
	ipg_notify_field(&b, "RELOADING", "1");
	ipg_notify_field(&b, "MONOTONIC_USEC", "%" PRIu64, mono_usec());
	send_buf(d, &b, "it reloads");
}

void notify_reloaded(struct daemon *d)
{
	notify_ready(d, 0);
}

void notify_status(struct daemon *d)
{
	struct ipg_buf b = { 0 };
	char now[sizeof(d->notify_status)];

	if (d->notify.fd < 0)
		return;
	status_line(d, now, sizeof(now));
	if (!strcmp(now, d->notify_status))
		return;
	memcpy(d->notify_status, now, sizeof(now));
	ipg_notify_field(&b, "STATUS", "%s", now);
	send_buf(d, &b, "its status");
}

void notify_stopping(struct daemon *d)
{
	struct ipg_buf b = { 0 };

	if (d->notify.fd < 0)
		return;
	ipg_notify_field(&b, "STOPPING", "1");
	ipg_notify_field(&b, "STATUS",
			 "stopping; the filter stays attached "
			 "and enforcing");
	send_buf(d, &b, "it stops");
}

static void ping(struct daemon *d, uint64_t now)
{
	struct ipg_buf b = { 0 };

	ipg_notify_field(&b, "WATCHDOG", "1");
	d->wd_last = now;
	send_buf(d, &b, "it is alive (watchdog)");
}

int notify_watchdog_setup(struct daemon *d)
{
	uint64_t half = d->notify.watchdog_usec / 2;
	struct itimerspec its = {
		.it_interval = { .tv_sec = (time_t)(half / USEC_PER_SEC),
				 .tv_nsec =
					 (long)(half % USEC_PER_SEC) * 1000 },
	};

	if (d->notify.fd < 0 || !half ||
	    d->notify.watchdog_usec >= 2 * TICK_USEC)
		return 0;
	/* Under 2 s the 1 s tick is too slow: a timer of half the interval. */
	its.it_value = its.it_interval;
	d->wd_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (d->wd_fd < 0 || timerfd_settime(d->wd_fd, 0, &its, NULL) ||
	    epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->wd_fd,
		      &(struct epoll_event){ .events = EPOLLIN,
					     .data.fd = d->wd_fd }))
		return -errno;
	return 0;
}

void notify_tick(struct daemon *d)
{
	uint64_t now = mono_usec();

	/* Ping unless the next tick still comes within half the interval. */
	if (d->notify.fd >= 0 && d->notify.watchdog_usec && d->wd_fd < 0 &&
	    now - d->wd_last + TICK_USEC >= d->notify.watchdog_usec / 2)
		ping(d, now);
}

void notify_timer(struct daemon *d)
{
	uint64_t x;

	if (read(d->wd_fd, &x, sizeof(x)) > 0)
		ping(d, mono_usec());
}

void journal_open(struct daemon *d)
{
	(void)d;
	/* Under systemd, stderr is the journal's stream: then records go to
	 * the journal itself, with their fields. */
	if (ipg_journal_stderr())
		ipg_log_to_journal(true, NULL);
}

void log_event(struct daemon *d, enum ipg_log_level level, const char *action,
	       const char *const *lists, int n, const char *fmt, ...)
{
	char msg[1024], seq[24], gen[16] = "", names[256] = "";
	struct ipg_policy live = { 0 };
	size_t off = 0;
	uint32_t id;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (int i = 0; i < n && off < sizeof(names); i++)
		off += (size_t)snprintf(names + off, sizeof(names) - off,
					"%s%s", i ? "," : "", lists[i]);
	/* The generation of the (first) list the event is about. */
	if (n && !ipg_datapath_list_id(d->dp, lists[0], &id) &&
	    !ipg_datapath_list_active(d->dp, id, &live))
		snprintf(gen, sizeof(gen), "%u", live.generation);
	snprintf(seq, sizeof(seq), "%" PRIu64, d->audit.seq);
	ipg_log_fields(level,
		       (const struct ipg_jfield[]){
			       { "IPGATE_ACTION", action },
			       { "IPGATE_LIST", n ? names : NULL },
			       { "IPGATE_GENERATION", *gen ? gen : NULL },
			       { "IPGATE_AUDIT_SEQ", seq } },
		       4, "%s", msg);
}
