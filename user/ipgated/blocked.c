// SPDX-License-Identifier: GPL-2.0
/* Who is being blocked: the XDP program's reports (ring buffer, a budget
 * a second per list and CPU) read from the event loop and kept per source
 * and list: reports, first and last seen, port; `ipgate blocked` shows the
 * top sources. Only reports are counted here (a flood past the budget is
 * not); the program's counters (status, /metrics) have every packet. */
#include "daemon.h"

#include <bpf/libbpf.h>

#include "ipgate/blocked.h"

#define BLOCKED_SOURCES_MAX 4096

struct blocked_src {
	struct ipg_prefix addr;
	uint32_t list;
	uint64_t reports;
	time_t first, last;
	uint16_t port;
	uint8_t proto;
	bool shadow;
};

struct blocked {
	struct ring_buffer *rb;
	struct blocked_src src[BLOCKED_SOURCES_MAX];
	int n;
	uint64_t reports;
};

/* One report: its source's row, made (replacing the least recently seen
 * when full) or counted. */
static int on_event(void *ctx, void *data, size_t len)
{
	struct daemon *d = ctx;
	struct blocked *b = d->blocked;
	const struct ipg_blocked_event *ev = data;
	struct blocked_src *s = NULL, *oldest = NULL;
	struct ipg_prefix a = { .family = 4 };
	time_t now = time(NULL);

	if (len < sizeof(*ev) || (ev->family != 4 && ev->family != 6))
		return 0;
	a.family = ev->family;
	a.len = ev->family == 4 ? 32 : 128;
	memcpy(a.addr, ev->addr, ev->family == 4 ? 4 : 16);
	b->reports++;
	for (int i = 0; i < b->n && !s; i++) {
		if (b->src[i].list == ev->list &&
		    ipg_prefix_equal(&b->src[i].addr, &a))
			s = &b->src[i];
		else if (!oldest || b->src[i].last < oldest->last)
			oldest = &b->src[i];
	}
	if (!s) {
		s = b->n < BLOCKED_SOURCES_MAX ? &b->src[b->n++] : oldest;
		memset(s, 0, sizeof(*s));
		s->addr = a;
		s->list = ev->list;
		s->first = now;
	}
	s->reports++;
	s->last = now;
	s->port = ev->dport;
	s->proto = ev->proto;
	s->shadow = ev->shadow;
	return 0;
}

int blocked_open(struct daemon *d)
{
	d->blocked = calloc(1, sizeof(*d->blocked));
	if (!d->blocked)
		return -ENOMEM;
	d->blocked->rb = ring_buffer__new(ipg_datapath_blocked_fd(d->dp),
					  on_event, d, NULL);
	if (!d->blocked->rb) {
		int r = -errno;

		free(d->blocked);
		d->blocked = NULL;
		return r;
	}
	return ipg_datapath_set_blocked_budget(d->dp, d->cfg.blocked_budget);
}

int blocked_fd(struct daemon *d)
{
	return d->blocked ? ring_buffer__epoll_fd(d->blocked->rb) : -1;
}

void blocked_read(struct daemon *d)
{
	if (d->blocked)
		ring_buffer__consume(d->blocked->rb);
}

void blocked_close(struct daemon *d)
{
	if (!d->blocked)
		return;
	ring_buffer__free(d->blocked->rb);
	free(d->blocked);
	d->blocked = NULL;
}

uint64_t blocked_reports(struct daemon *d, uint64_t *sources)
{
	*sources = d->blocked ? (uint64_t)d->blocked->n : 0;
	return d->blocked ? d->blocked->reports : 0;
}

static int by_reports(const void *a, const void *b)
{
	const struct blocked_src *x = *(const struct blocked_src *const *)a,
				 *y = *(const struct blocked_src *const *)b;

	if (x->reports != y->reports)
		return x->reports < y->reports ? 1 : -1;
	return x->last < y->last ? 1 : x->last > y->last ? -1 : 0;
}

/* blocked [--list NAME] [-n N] [since UNIX]: the top sources. */
int do_blocked(struct req *q)
{
	struct daemon *d = q->d;
	const char *ls = ipg_ctl_get(q->m, "lines"),
		   *since_s = ipg_ctl_get(q->m, "since"), *name = NULL;
	struct blocked *b = d->blocked;
	const struct blocked_src **v;
	unsigned long max = ls ? strtoul(ls, NULL, 10) : 20;
	time_t since = since_s ? (time_t)strtoll(since_s, NULL, 10) : 0;
	struct ipg_print p;
	uint32_t id = 0;
	int n = 0;

	if (ipg_ctl_get(q->m, "list") && req_list(q, &name, &id))
		return -ENOENT;
	if (!b)
		return reply_err(q, -ENODATA,
				 "the blocked-source log is not running");
	blocked_read(d);
	v = calloc((size_t)b->n + 1, sizeof(*v));
	if (!v)
		return reply_err(q, -ENOMEM, "out of memory");
	for (int i = 0; i < b->n; i++)
		if ((!name || b->src[i].list == id) && b->src[i].last >= since)
			v[n++] = &b->src[i];
	qsort(v, (size_t)n, sizeof(*v), by_reports);
	if (max && (unsigned long)n > max)
		n = (int)max;
	ipg_ctl_setf(q->rep, "now", "%lld", (long long)time(NULL));
	ipg_print_init(&p, &q->out, q->json);
	ipg_print_open_object(&p, NULL);
	ipg_print_u64(&p, IPG_PR_JSON, "budget", NULL, d->cfg.blocked_budget);
	ipg_print_u64(&p, IPG_PR_JSON, "now", NULL, (uint64_t)time(NULL));
	if (n && !since_s)
		ipg_print_text(&p, "%-40s %-16s %-10s %8s  %-20s %s\n",
			       "SOURCE", "LIST", "PORT", "REPORTS", "LAST SEEN",
			       "FIRST SEEN");
	ipg_print_open_array(&p, "sources");
	for (int i = 0; i < n; i++) {
		const struct blocked_src *s = v[i];
		const char *list = ipg_datapath_list_name(d->dp, s->list);
		char a[IPG_PREFIX_STRLEN], port[16], first[40], last[40];

		ipg_prefix_format(&s->addr, a, sizeof(a));
		snprintf(port, sizeof(port), "%s/%u",
			 s->proto == IPPROTO_UDP ? "udp" :
			 s->proto == IPPROTO_TCP ? "tcp" :
						   "ip",
			 s->port);
		format_utc(s->first, first, sizeof(first));
		format_utc(s->last, last, sizeof(last));
		ipg_print_open_object(&p, NULL);
		ipg_print_string(&p, IPG_PR_ANY, "source", "%-40s ", a);
		ipg_print_string(&p, IPG_PR_ANY, "list", "%-16s ",
				 list ? list : "default");
		ipg_print_string(&p, IPG_PR_ANY, "port", "%-10s ", port);
		ipg_print_u64(&p, IPG_PR_ANY, "reports", "%8s  ", s->reports);
		ipg_print_string(&p, IPG_PR_ANY, "last", "%-20s ", last);
		ipg_print_string(&p, IPG_PR_ANY, "first", "%s", first);
		ipg_print_bool(&p, IPG_PR_JSON, "shadow", NULL, s->shadow);
		ipg_print_text(&p, "%s\n", s->shadow ? "  (shadow)" : "");
		ipg_print_close_object(&p);
	}
	ipg_print_close_array(&p);
	if (!n && !since_s)
		ipg_print_text(&p, "no blocked source reported%s\n",
			       d->cfg.blocked_budget ?
				       "" :
				       " (blocked-log is off in the config)");
	ipg_print_close_object(&p);
	free(v);
	return print_end(q, &p);
}
