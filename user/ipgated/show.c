// SPDX-License-Identifier: GPL-2.0
/* What ipgated reports: status, list and test. */
#include "daemon.h"

const char *xdp_mode_name(enum ipg_xdp_mode m)
{
	return m == IPG_XDP_NATIVE  ? "native" :
	       m == IPG_XDP_GENERIC ? "generic" :
				      "auto";
}

void format_duration(uint64_t s, char *out, size_t size)
{
	if (s >= 2 * 86400)
		snprintf(out, size, "%" PRIu64 "d%02" PRIu64 "h", s / 86400,
			 s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(out, size, "%" PRIu64 "h%02" PRIu64 "m", s / 3600,
			 s % 3600 / 60);
	else if (s >= 60)
		snprintf(out, size, "%" PRIu64 "m%02" PRIu64 "s", s / 60,
			 s % 60);
	else
		snprintf(out, size, "%" PRIu64 "s", s);
}

void format_utc(time_t t, char *out, size_t size)
{
	ipg_time_format((int64_t)t, out, size);
}

static uint64_t seconds_to(uint64_t deadline)
{
	uint64_t now = ipg_boot_ns();

	return deadline > now ?
		       (deadline - now + 999999999ull) / 1000000000ull :
		       0;
}

/* Seconds of emergency override left, 0 when none runs. */
uint64_t override_left(struct daemon *d)
{
	uint64_t deadline = 0;

	return ipg_datapath_get_override(d->dp, &deadline) ?
		       0 :
		       seconds_to(deadline);
}

uint64_t list_override_left(struct daemon *d, uint32_t id)
{
	uint64_t deadline = 0;

	return ipg_datapath_get_list_override(d->dp, id, &deadline) ?
		       0 :
		       seconds_to(deadline);
}

static const struct ipg_entry *entry_by_rule(const struct ipg_policy_spec *s,
					     uint32_t id)
{
	for (uint32_t i = 0; i < s->n_entries; i++)
		if (s->entries[i].rule_id == id)
			return &s->entries[i];
	return NULL;
}

/* Ends the output in @p; a call that did not nest is a bug here, said as
 * such instead of sending broken JSON. */
int print_end(struct req *q, struct ipg_print *p)
{
	int r = ipg_print_end(p);

	if (r != -EINVAL)
		return r;
	ipg_buf_free(&q->out);
	return reply_err(q, -EIO,
			 "cannot render the reply (a bug in ipgated; "
			 "please report it)");
}

/* For status: the allowlist's switch, mode, size and protected ports. */
static void print_policy(struct ipg_print *p, const struct ipg_policy_spec *s)
{
	struct ipg_buf ports = { 0 };

	ipg_config_ports(&s->ports, &ports);
	ipg_print_text(p, "%-14s %s", "allowlist",
		       s->kern.enabled ? "enabled" : "DISABLED");
	ipg_print_bool(p, IPG_PR_JSON, "enabled", NULL, s->kern.enabled);
	ipg_print_string(p, IPG_PR_ANY, "mode", " (%s mode)\n",
			 ipg_mode_name(s->kern.mode));
	ipg_print_text(p, "%-14s ", "entries");
	ipg_print_u64(p, IPG_PR_ANY, "entries", "%s", s->n_entries);
	ipg_print_u64(p, IPG_PR_ANY, "max_entries", " of %s\n", s->max_entries);
	ipg_print_text(p, "%-14s ", "protected");
	ipg_print_string(p, IPG_PR_ANY, "protect", "%s\n", ports.s);
	ipg_buf_free(&ports);
}

/* For status: @ifname's link type and the frames ipgate's program there
 * judges (in text, the rest of its line). */
static void iface_link(struct ipg_print *p, const char *ifname)
{
	struct ipg_attachment a;
	int r = ipg_datapath_attachment(ifname, &a);
	const char *link = r ? "unknown" : ipg_link_type_name(a.link_type),
		   *frame = !r && a.attached ? ipg_frame_name(a.frame) : NULL;

	ipg_print_string(p, IPG_PR_JSON, "link", NULL, link);
	ipg_print_string(p, IPG_PR_JSON, "program", NULL, frame);
	ipg_print_bool(p, IPG_PR_JSON, "protected", NULL, !r && a.protecting);
	if (!r && a.foreign_id) {
		/* Another tool's program: ipgate never replaces it. */
		ipg_print_open_object(p, "foreign");
		ipg_print_u64(p, IPG_PR_JSON, "id", NULL, a.foreign_id);
		ipg_print_string(p, IPG_PR_JSON | IPG_PR_SAFE, "name", NULL,
				 a.prog_name);
		ipg_print_close_object(p);
		ipg_print_text(p, " (another XDP program is attached: ");
		ipg_print_string(p, IPG_PR_TEXT | IPG_PR_SAFE, NULL, "%s",
				 a.prog_name);
		ipg_print_text(p,
			       ", id %u; ipgate never replaces it: remove it, "
			       "then 'ipgate attach')",
			       a.foreign_id);
	} else if (frame && !a.protecting)
		ipg_print_text(p,
			       " (link %s; ipgate's program for %s frames "
			       "cannot judge its packets: restart ipgated)",
			       link, frame);
	else if (frame)
		ipg_print_text(p, ", link %s, %s frames", link, frame);
	else if (!r)
		ipg_print_text(p, " (link %s)", link);
}

/* For status: each configured interface and what is attached to it. */
static void print_interfaces(struct ipg_print *p, const struct daemon *d)
{
	const struct ipg_config *c = &d->cfg;

	ipg_print_bool(p, IPG_PR_JSON, "attached", NULL, !d->detached);
	ipg_print_open_array(p, "interfaces");
	for (int i = 0; i < c->n_interfaces; i++) {
		enum ipg_xdp_mode m;
		int r = ipg_datapath_attached(c->interfaces[i], &m);

		ipg_print_open_object(p, NULL);
		ipg_print_text(p, "%-14s ", i ? "" : "interfaces");
		ipg_print_string(p, IPG_PR_ANY, "name", "%s, ",
				 c->interfaces[i]);
		ipg_print_string(p, IPG_PR_JSON, "xdp", NULL,
				 r ? "none" : xdp_mode_name(m));
		ipg_print_text(p, "%s",
			       r == -EMEDIUMTYPE ? "NOT PROTECTED" :
			       r		 ? "NOT ATTACHED" :
						   xdp_mode_name(m));
		iface_link(p, c->interfaces[i]);
		ipg_print_text(p, "\n");
		ipg_print_close_object(p);
	}
	ipg_print_close_array(p);
	if (!c->n_interfaces)
		ipg_print_text(p, "%-14s none\n", "interfaces");
	if (d->detached)
		ipg_print_text(p,
			       "%-14s detached by 'ipgate detach'; "
			       "'ipgate attach' puts it back\n",
			       "");
}

/* For status: override @o (its record, or NULL), with @left seconds to
 * run, under @key and in text after @title. */
static void print_one_override(struct ipg_print *p, const char *key,
			       const char *title, const struct ovr *o,
			       uint64_t left)
{
	char when[64] = "", dur[32] = "";

	if (left) {
		format_utc(time(NULL) + (time_t)left, when, sizeof(when));
		format_duration(left, dur, sizeof(dur));
	}
	ipg_print_text(p, "%-14s ", title);
	ipg_print_open_object(p, key);
	ipg_print_bool(p, IPG_PR_JSON, "active", NULL, left);
	ipg_print_string(p, IPG_PR_ANY, "until", "ACTIVE until %s",
			 left ? when : NULL);
	ipg_print_u64(p, IPG_PR_JSON, "seconds_left", NULL, left);
	if (left && o) {
		ipg_print_string(p, IPG_PR_JSON, "by", NULL, o->user);
		ipg_print_string(p, IPG_PR_JSON | IPG_PR_SAFE, "reason", NULL,
				 o->reason);
	}
	ipg_print_close_object(p);
	if (!left) {
		ipg_print_text(p, "none\n");
		return;
	}
	ipg_print_text(p, " (%s left)\n", dur);
	if (o) {
		ipg_print_text(p, "%-14s by %s: ", "", o->user);
		ipg_print_string(p, IPG_PR_TEXT | IPG_PR_SAFE, NULL, "%s\n",
				 o->reason);
	}
}

/* For status: the host-wide override, and list @name's own. */
static void print_override(struct ipg_print *p, struct daemon *d,
			   const char *name, uint32_t id)
{
	uint64_t left = override_left(d);

	print_one_override(p, "override",
			   d->cfg.n_lists ? "override (all)" : "override",
			   d->ovr.active ? &d->ovr : NULL, left);
	if (!d->cfg.n_lists && !ovr_of(d, name))
		return;
	print_one_override(p, "list_override", "override (list)",
			   ovr_of(d, name), list_override_left(d, id));
}

/* For status: the break-glass port, live grants and knocks counted. */
static void print_breakglass(struct ipg_print *p, struct daemon *d)
{
	struct ipg_prefix *g = d->prefix_buf;
	size_t ng = live_grants(d, g, NULL);
	uint64_t refused = 0;
	enum ipg_knock_verdict v;

	for (v = IPG_KNOCK_MALFORMED; v <= IPG_KNOCK_RATE_LIMITED; v++)
		refused += *kstat_of(d, v);
	ipg_print_text(p, "%-14s ", "break-glass");
	if (d->kport)
		ipg_print_text(p, "udp/%u%s", d->kport, d->http ? " and " : "");
	if (d->http)
		ipg_print_text(p, "the page /breakglass");
	if (d->kport || d->http)
		ipg_print_text(p,
			       "; %zu grant%s live; %" PRIu64
			       " granted, %" PRIu64 " refused since start\n",
			       ng, ng == 1 ? "" : "s", d->kstat.granted,
			       refused);
	else
		ipg_print_text(p, "off\n");
	for (size_t i = 0; i < ng; i++) {
		char a[IPG_PREFIX_STRLEN];

		ipg_prefix_format(&g[i], a, sizeof(a));
		ipg_print_text(p, "%-14s grant: %s\n", "", a);
	}
	ipg_print_open_object(p, "breakglass");
	ipg_print_u64(p, IPG_PR_JSON, "port", NULL, d->kport);
	/* JSON has the keys and grants as `breakglass list` does; text has
	 * only the grants, above. */
	if (p->json)
		bg_render(d, p);
	ipg_print_u64(p, IPG_PR_JSON, "granted", NULL, d->kstat.granted);
	ipg_print_open_object(p, "refused");
	for (v = IPG_KNOCK_MALFORMED; v <= IPG_KNOCK_RATE_LIMITED; v++)
		ipg_print_u64(p, IPG_PR_JSON, ipg_knock_verdict_name(v), NULL,
			      *kstat_of(d, v));
	ipg_print_close_object(p);
	ipg_print_close_object(p);
}

/* For status: the datapath's counters, by name. */
static void print_counters(struct ipg_print *p, const uint64_t st[IPG_STAT_MAX])
{
	ipg_print_text(p, "counters\n");
	ipg_print_open_object(p, "counters");
	for (int s = 0; s < IPG_STAT_MAX; s++) {
		const char *name = ipg_stat_name((enum ipg_stat)s);

		ipg_print_text(p, "  %-20s", name);
		ipg_print_u64(p, IPG_PR_ANY, name, " %12s\n", st[s]);
	}
	ipg_print_close_object(p);
}

/* For status: the list shown, its addresses, and how many lists there
 * are. */
static void print_list_head(struct ipg_print *p, const struct daemon *d,
			    const char *name)
{
	const struct ipg_config_list *l = ipg_config_list_find(&d->cfg, name);
	char a[IPG_PREFIX_STRLEN];

	ipg_print_u64(p, IPG_PR_JSON, "lists", NULL, (uint64_t)d->cfg.n_lists);
	if (!d->cfg.n_lists && !l)
		return; /* one list on this host: nothing to tell apart */
	ipg_print_text(p, "%-14s ", "list");
	ipg_print_string(p, IPG_PR_ANY, "list", "%s", name);
	ipg_print_open_array(p, "addresses");
	for (int i = 0; l && i < l->n_addrs; i++) {
		ipg_prefix_format(&l->addrs[i], a, sizeof(a));
		ipg_print_string(p, IPG_PR_ANY, NULL, i ? " %s" : " (%s", a);
	}
	ipg_print_close_array(p);
	if (l)
		ipg_print_text(p, ")\n");
	else
		ipg_print_text(p,
			       " (every address no other list guards; "
			       "%d named list%s)\n",
			       d->cfg.n_lists, d->cfg.n_lists == 1 ? "" : "s");
}

/* For status: the maps' sizes and the kernel memory they take. */
/* The maps' kernel memory: reading it asks the kernel about every trie
 * (thousands of calls with 1,000 lists, tens of ms in the loop), so a
 * figure at most MEM_TTL_S old is reused. */
#define MEM_TTL_S 10
static uint64_t maps_memory(struct daemon *d)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!d->mem_at || now.tv_sec - d->mem_at >= MEM_TTL_S) {
		if (ipg_datapath_memory(d->dp, &d->mem_bytes))
			return 0;
		d->mem_at = now.tv_sec ? now.tv_sec : 1;
	}
	return d->mem_bytes;
}

static void print_maps(struct ipg_print *p, struct daemon *d)
{
	struct ipg_datapath_opts z;
	uint64_t mem = maps_memory(d);

	ipg_datapath_sizes(d->dp, &z);
	ipg_print_text(p, "%-14s ", "maps");
	ipg_print_open_object(p, "maps");
	ipg_print_u64(p, IPG_PR_ANY, "lists_max", "room for %s lists, ",
		      z.lists_max);
	ipg_print_u64(p, IPG_PR_ANY, "rules_max", "%s entries; ", z.rules_max);
	ipg_print_u64(p, IPG_PR_JSON, "memory_bytes", NULL, mem);
	ipg_print_text(p, "%" PRIu64 " KiB of kernel memory\n", mem / 1024);
	ipg_print_close_object(p);
}

/* The program ipgate hands what it passes to (chain PATH). */
static void print_chain(struct ipg_print *p, struct daemon *d)
{
	char name[16];
	uint32_t id;

	if (!*d->cfg.chain && !*d->chain_error)
		return;
	ipg_datapath_chain(d->dp, &id, name);
	ipg_print_open_object(p, "chain");
	ipg_print_string(p, IPG_PR_JSON, "path", NULL, d->cfg.chain);
	ipg_print_u64(p, IPG_PR_JSON, "prog_id", NULL, id);
	ipg_print_string(p, IPG_PR_JSON, "error", NULL,
			 *d->chain_error ? d->chain_error : NULL);
	if (id)
		ipg_print_text(p,
			       "%-14s %s (program %u, %s) gets what ipgate "
			       "passes\n",
			       "chain", d->cfg.chain, id, name);
	else
		ipg_print_text(p, "%-14s NOT CHAINED: %s\n", "chain",
			       *d->chain_error ? d->chain_error :
						 "no program in the map");
	ipg_print_close_object(p);
}

/* The change made with --confirm, while it waits. */
static void print_pending(struct ipg_print *p, struct daemon *d)
{
	char what[160], left[32];

	if (!pending_what(d, what, sizeof(what))) {
		ipg_print_null(p, "pending");
		return;
	}
	format_duration(pending_left(d), left, sizeof(left));
	ipg_print_open_object(p, "pending");
	ipg_print_string(p, IPG_PR_JSON, "change", NULL, what);
	ipg_print_u64(p, IPG_PR_JSON, "seconds_left", NULL, pending_left(d));
	ipg_print_text(p,
		       "%-14s %s, rolled back in %s unless `ipgate confirm`\n",
		       "UNCONFIRMED", what, left);
	ipg_print_close_object(p);
}

/* The HTTP API's listener and tokens. */
static void print_http(struct ipg_print *p, struct daemon *d)
{
	char where[IPG_PREFIX_STRLEN + 16];

	ipg_http_listen_format(&d->cfg.http, where, sizeof(where));
	ipg_print_open_object(p, "http");
	ipg_print_string(p, IPG_PR_JSON, "listen", NULL, where);
	ipg_print_bool(p, IPG_PR_JSON, "serving", NULL, d->http != NULL);
	ipg_print_bool(p, IPG_PR_JSON, "tls", NULL, *d->cfg.http.tls_cert);
	ipg_print_u64(p, IPG_PR_JSON, "tokens", NULL, (uint64_t)d->n_tokens);
	if (!d->cfg.http.addr.family)
		ipg_print_text(p, "%-14s off\n", "http api");
	else
		ipg_print_text(p, "%-14s %s on %s%s, %d token%s\n", "http api",
			       d->http ? "listening" : "NOT listening", where,
			       *d->cfg.http.tls_cert ? " (TLS)" : "",
			       d->n_tokens, d->n_tokens == 1 ? "" : "s");
	ipg_print_close_object(p);
}

int do_status(struct req *q)
{
	struct daemon *d = q->d;
	const char *err = *d->file_error ? d->file_error : NULL, *name;
	bool one = ipg_ctl_get(q->m, "list") != NULL;
	uint64_t st[IPG_STAT_MAX] = { 0 };
	struct ipg_policy live;
	struct ipg_print p;
	uint32_t id;

	if (req_list(q, &name, &id))
		return -ENOENT;
	/* Counters: the list's when one was asked for, else every list's. */
	if (one)
		ipg_datapath_list_stats(d->dp, id, st);
	else
		ipg_datapath_stats(d->dp, st);
	if (ipg_datapath_list_active(d->dp, id, &live))
		memset(&live, 0, sizeof(live));
	ipg_print_init(&p, &q->out, q->json);
	ipg_print_open_object(&p, NULL);
	print_list_head(&p, d, name);
	print_policy(&p, ipg_config_policy(&d->cfg, name));
	print_interfaces(&p, d);
	print_override(&p, d, name, id);
	/* JSON has the generation and the file's state before break-glass,
	 * text after it. */
	ipg_print_u64(&p, IPG_PR_JSON, "generation", NULL, live.generation);
	ipg_print_string(&p, IPG_PR_JSON, "config_error", NULL, err);
	print_breakglass(&p, d);
	ipg_print_text(&p, "%-14s generation %u\n", "policy", live.generation);
	print_maps(&p, d);
	print_chain(&p, d);
	print_pending(&p, d);
	print_http(&p, d);
	store_render(d, &p);
	if (err)
		ipg_print_text(&p, "%-14s %s (running the last good config)\n",
			       "config file", err);
	if (d->cfg.n_lists)
		ipg_print_text(&p, "%s",
			       one ? "" : "(counters of every list)\n");
	print_counters(&p, st);
	ipg_print_close_object(&p);
	return print_end(q, &p);
}

/* For list: one entry, the packets it let in and, when @expiries (some
 * entry of the list expires), the time it has left. */
static void print_entry(struct ipg_print *p, struct daemon *d,
			const struct ipg_entry *ent, bool expiries)
{
	int64_t now = (int64_t)time(NULL);
	char cidr[IPG_PREFIX_STRLEN], t[IPG_TIME_STRLEN], left[40];
	uint64_t hits = 0;

	ipg_datapath_rule_hits(d->dp, ent->rule_id, &hits);
	ipg_prefix_format(&ent->prefix, cidr, sizeof(cidr));
	ipg_print_open_object(p, NULL);
	ipg_print_string(p, IPG_PR_ANY, "cidr", "%-43s", cidr);
	ipg_print_u64(p, IPG_PR_TEXT, NULL, " %12s  ", hits);
	if (ent->expires) {
		ipg_time_format(ent->expires, t, sizeof(t));
		ipg_print_string(p, IPG_PR_JSON, "expires", NULL, t);
		ipg_print_u64(p, IPG_PR_JSON, "expires_in", NULL,
			      ent->expires > now ?
				      (uint64_t)(ent->expires - now) :
				      0);
		if (ent->expires > now) {
			format_duration((uint64_t)(ent->expires - now), left,
					sizeof(left));
			strcat(left, " left");
		} else {
			snprintf(left, sizeof(left), "expired");
		}
		ipg_print_string(p, IPG_PR_TEXT, NULL, "%-12s  ", left);
	} else if (expiries) {
		ipg_print_string(p, IPG_PR_TEXT, NULL, "%-12s  ", "-");
	}
	/* Labels are checked on the way in; escape anyway, since text goes
	 * to a terminal. */
	ipg_print_string(p, IPG_PR_ANY | IPG_PR_SAFE, "label", "%s\n",
			 ent->label);
	ipg_print_u64(p, IPG_PR_JSON, "rule_id", NULL, ent->rule_id);
	ipg_print_u64(p, IPG_PR_JSON, "hits", NULL, hits);
	ipg_print_close_object(p);
}

int do_list(struct req *q)
{
	const struct ipg_policy_spec *s;
	struct ipg_print p;
	bool expiries = false;
	const char *name;
	uint32_t id;

	if (req_list(q, &name, &id))
		return -ENOENT;
	s = ipg_config_policy(&q->d->cfg, name);
	ipg_print_init(&p, &q->out, q->json);
	ipg_print_open_object(&p, NULL);
	ipg_print_string(&p, IPG_PR_JSON, "list", NULL, name);
	/* JSON counts the entries before them, text after them. */
	ipg_print_u64(&p, IPG_PR_JSON, "count", NULL, s->n_entries);
	ipg_print_u64(&p, IPG_PR_JSON, "max_entries", NULL, s->max_entries);
	for (uint32_t i = 0; i < s->n_entries; i++)
		expiries |= s->entries[i].expires != 0;
	if (s->n_entries && expiries)
		ipg_print_text(&p, "%-43s %12s  %-12s  %s\n", "ENTRY", "HITS",
			       "EXPIRES", "LABEL");
	else if (s->n_entries)
		ipg_print_text(&p, "%-43s %12s  %s\n", "ENTRY", "HITS",
			       "LABEL");
	ipg_print_open_array(&p, "entries");
	for (uint32_t i = 0; i < s->n_entries; i++)
		print_entry(&p, q->d, &s->entries[i], expiries);
	ipg_print_close_array(&p);
	ipg_print_text(&p, "%u of %u entries\n", s->n_entries, s->max_entries);
	ipg_print_open_object(&p, "breakglass");
	bg_render(q->d, &p);
	ipg_print_close_object(&p);
	ipg_print_close_object(&p);
	return print_end(q, &p);
}

/* The port `test` probes when none is given: the first protected one. */
static void default_port(const struct ipg_ports *k, int *proto, uint16_t *port)
{
	for (int pr = 0; pr < 2; pr++)
		for (uint32_t p = 1; p <= 65535; p++)
			if (ipg_policy_port_protected(
				    k, pr ? IPPROTO_UDP : IPPROTO_TCP,
				    (uint16_t)p)) {
				*proto = pr ? IPPROTO_UDP : IPPROTO_TCP;
				*port = (uint16_t)p;
				return;
			}
	*proto = IPPROTO_TCP;
	*port = 443;
}

/* What a probe found: the program's action, the model's verdict, the
 * list that judged it and the entry that allowed it (if one did). */
struct probe {
	int action;
	struct ipg_verdict model;
	const char *list;
	const struct ipg_entry *ent;
	char dst[IPG_PREFIX_STRLEN];
};

/* Loopback, or IPv6 link-local: a probe's last choice of destination. */
static bool is_loopback(const struct ipg_prefix *a)
{
	static const uint8_t one[16] = { [15] = 1 };

	if (a->family == 4)
		return a->addr[0] == 127;
	return !memcmp(a->addr, one, 16) ||
	       (a->addr[0] == 0xfe && (a->addr[1] & 0xc0) == 0x80);
}

/* Whether @a is guarded by a named list of @c. */
static bool claimed(const struct ipg_config *c, const struct ipg_prefix *a)
{
	return ipg_config_list_for(c, a) != NULL;
}

/* Where a probe from @src goes: to @to when given, to list @l's first
 * address of @src's family, or (the default list) to one of this host's
 * addresses no named list guards. Returns 0, or the refusal in the reply. */
static int probe_dst(struct req *q, const struct ipg_prefix *src,
		     const struct ipg_prefix *to,
		     const struct ipg_config_list *l, uint8_t dst[16])
{
	struct daemon *d = q->d;
	struct ipg_prefix *local = calloc(IPG_LOCAL_ADDRS_MAX, sizeof(*local)),
			  fb = { .family = src->family };
	int n;

	if (!local)
		return reply_err(q, -ENOMEM, "out of memory");
	if (to || l) {
		for (int i = 0; !to && i < l->n_addrs; i++)
			if (l->addrs[i].family == src->family)
				to = &l->addrs[i];
		free(local);
		if (!to)
			return reply_errf(q, -EINVAL,
					  "list %s guards no IPv%d address, so "
					  "an IPv%d source cannot reach it",
					  l->name, src->family, src->family);
		if (to->family != src->family)
			return reply_err(q, -EINVAL,
					 "the source and --to are of different "
					 "address families");
		memcpy(dst, to->addr, 16);
		return 0;
	}
	if (src->family == 4)
		memcpy(fb.addr, (uint8_t[]){ 198, 18, 0, 1 }, 4);
	else
		memcpy(fb.addr, (uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8, [15] = 1 },
		       16);
	fb.len = src->family == 4 ? 32 : 128;
	memcpy(dst, fb.addr, 16);
	/* The first such address; loopback only when there is no other. */
	n = ipg_datapath_local_addrs(d->dp, local, IPG_LOCAL_ADDRS_MAX);
	for (int pass = 1; pass >= 0; pass--)
		for (int i = n - 1; i >= 0; i--)
			if (local[i].family == src->family &&
			    !claimed(&d->cfg, &local[i]) &&
			    (pass || !is_loopback(&local[i])))
				memcpy(dst, local[i].addr, 16);
	free(local);
	return 0;
}

/* The reference model's view of the named lists, into @v (room for
 * cfg.n_lists). */
static size_t model_lists(struct daemon *d, struct ipg_verdict_list *v)
{
	size_t n = 0;

	for (int i = 0; i < d->cfg.n_lists; i++) {
		const struct ipg_config_list *l = d->cfg.lists[i];
		uint32_t id;

		if (ipg_datapath_list_id(d->dp, l->name, &id))
			continue;
		v[n++] = (struct ipg_verdict_list){
			.id = id,
			.policy = &l->policy,
			.dsts = l->addrs,
			.n_dsts = (size_t)l->n_addrs,
			.override_active = list_override_left(d, id) > 0,
		};
	}
	return n;
}

/* Runs the live program on a SYN (a datagram for udp) from @addr to
 * @proto/@port at @dst, as the interfaces see it, marked as a probe so the
 * counters stay still, and cross-checks it with the reference model. */
static int probe_run(struct req *q, const struct ipg_prefix *addr,
		     const uint8_t dst[16], int proto, uint16_t port,
		     struct probe *out)
{
	struct daemon *d = q->d;
	struct ipg_pkt_spec spec = { .family = addr->family,
				     .proto = (uint8_t)proto,
				     .sport = 40000,
				     .dport = port };
	struct ipg_prefix *local = calloc(IPG_LOCAL_ADDRS_MAX, sizeof(*local));
	struct ipg_verdict_list *lists =
		calloc((size_t)d->cfg.n_lists + 1, sizeof(*lists));
	struct ipg_verdict_env env = { .grants = d->prefix_buf,
				       .grant_lists = d->grant_lists_buf,
				       .now = (int64_t)time(NULL) };
	const struct ipg_policy_spec *s;
	uint8_t pkt[256];
	uint32_t rule = 0;
	int n_local, r;
	size_t len;

	if (!local || !lists) {
		free(local);
		free(lists);
		return reply_err(q, -ENOMEM, "out of memory");
	}
	memcpy(spec.src, addr->addr, 16);
	memcpy(spec.dst, dst, 16);
	n_local = ipg_datapath_local_addrs(d->dp, local, IPG_LOCAL_ADDRS_MAX);
	spec.frame =
		ipg_link_probe_frame(d->cfg.interfaces, d->cfg.n_interfaces);
	len = ipg_pkt_build(&spec, pkt, sizeof(pkt));
	r = ipg_datapath_run_frame(d->dp, spec.frame, pkt, len, true,
				   &out->action, NULL, NULL);
	if (r) {
		free(local);
		free(lists);
		return reply_errf(q, r, "cannot run the datapath: %s",
				  strerror(-r));
	}
	env.override_active = override_left(d) > 0;
	env.default_override = list_override_left(d, IPG_LIST_DEFAULT) > 0;
	env.local = local;
	env.n_local = n_local > 0 ? (size_t)n_local : 0;
	env.frame = spec.frame;
	env.n_grants = live_grants(d, d->prefix_buf, d->grant_lists_buf);
	env.lists = lists;
	env.n_lists = model_lists(d, lists);
	ipg_verdict_eval(&d->cfg.policy, &env, pkt, len, &out->model);
	/* The allowing entry, as the live trie of the judging list answers
	 * it. */
	out->list = ipg_datapath_list_name(d->dp, out->model.list);
	if (!out->list)
		out->list = "default";
	s = ipg_config_policy(&d->cfg, out->list);
	out->ent = !s || ipg_datapath_list_lookup(d->dp, out->model.list, addr,
						  &rule) ?
			   NULL :
			   entry_by_rule(s, rule);
	free(local);
	free(lists);
	return 0;
}

/* Why a probe got its verdict, in words. */
static void probe_reason(const struct probe *p, const char *pname, char *why,
			 size_t size)
{
	char cidr[IPG_PREFIX_STRLEN];

	switch (p->model.stat) {
	case IPG_STAT_PASS_ALLOWED:
		ipg_prefix_format(&p->ent->prefix, cidr, sizeof(cidr));
		if (*p->ent->label) {
			struct ipg_buf label = { 0 };

			/* To a terminal: escaped, as list prints it. */
			ipg_buf_text_safe(&label, p->ent->label);
			snprintf(why, size, "%s \"%s\"", cidr,
				 label.s ? label.s : "");
			ipg_buf_free(&label);
		} else
			snprintf(why, size, "%s", cidr);
		break;
	case IPG_STAT_PASS_UNPROTECTED:
		snprintf(why, size, "%s is not protected", pname);
		break;
	case IPG_STAT_PASS_DISABLED:
		snprintf(why, size, "the allowlist is disabled");
		break;
	case IPG_STAT_PASS_OVERRIDE:
		snprintf(why, size, "emergency override running");
		break;
	case IPG_STAT_PASS_BREAKGLASS:
		snprintf(why, size, "break-glass grant");
		break;
	case IPG_STAT_TX_RESET:
		snprintf(why, size,
			 "no entry matches; answered with a TCP reset");
		break;
	default:
		snprintf(why, size, "no entry matches");
	}
}

/* For test: the verdict on @ip at @pname and why (@why in words). */
static int print_probe(struct req *q, const char *ip, const char *pname,
		       const struct probe *pr, const char *why)
{
	char cidr[IPG_PREFIX_STRLEN];
	struct ipg_print p;

	ipg_print_init(&p, &q->out, q->json);
	ipg_print_open_object(&p, NULL);
	ipg_print_string(&p, IPG_PR_JSON, "ip", NULL, ip);
	ipg_print_string(&p, IPG_PR_JSON, "port", NULL, pname);
	ipg_print_string(&p, IPG_PR_JSON, "list", NULL, pr->list);
	ipg_print_string(&p, IPG_PR_JSON, "to", NULL, pr->dst);
	ipg_print_string(&p, IPG_PR_ANY, "verdict", "%s",
			 pr->action == XDP_PASS ? "allowed" : "blocked");
	ipg_print_string(&p, IPG_PR_JSON, "reason", NULL,
			 ipg_stat_name(pr->model.stat));
	ipg_print_text(&p, " (%s)", why);
	if (q->d->cfg.n_lists)
		ipg_print_text(&p, " by list %s, to %s", pr->list, pr->dst);
	ipg_print_text(&p, "\n");
	if (pr->model.stat == IPG_STAT_PASS_ALLOWED) {
		ipg_prefix_format(&pr->ent->prefix, cidr, sizeof(cidr));
		ipg_print_open_object(&p, "entry");
		ipg_print_string(&p, IPG_PR_JSON, "cidr", NULL, cidr);
		ipg_print_string(&p, IPG_PR_JSON, "label", NULL,
				 pr->ent->label);
		ipg_print_close_object(&p);
	} else {
		ipg_print_null(&p, "entry");
	}
	ipg_print_string(&p, IPG_PR_JSON, "action", NULL,
			 ipg_action_name(pr->action));
	ipg_print_close_object(&p);
	return print_end(q, &p);
}

/* The destination a test names (--to, or the list's), into @to; sets
 * *@l to the named list it asks for. Returns 0, 1 when there is no --to,
 * or the refusal in the reply. */
static int test_target(struct req *q, struct ipg_prefix *to,
		       const struct ipg_config_list **l)
{
	const char *ts = ipg_ctl_get(q->m, "to"), *name;
	struct ipg_error e;
	uint32_t id;

	*l = NULL;
	if (ts) {
		if (ipg_addr_parse(ts, to, &e))
			return reply_errf(q, -EINVAL, "--to: %s", e.msg);
		return 0;
	}
	if (req_list(q, &name, &id))
		return -ENOENT;
	*l = ipg_config_list_find(&q->d->cfg, name);
	return 1;
}

int do_test(struct req *q)
{
	struct daemon *d = q->d;
	const char *ip = ipg_ctl_get(q->m, "ip"),
		   *ps = ipg_ctl_get(q->m, "port");
	const struct ipg_config_list *l;
	const struct ipg_policy_spec *s;
	struct ipg_prefix addr, to, dst;
	char why[256], pname[16];
	struct ipg_error e;
	struct probe p;
	uint16_t port;
	int proto, allowed, r;

	if (!ip)
		return reply_err(q, -EINVAL, "missing the address to test");
	if (ipg_addr_parse(ip, &addr, &e))
		return reply_err(q, -EINVAL, e.msg);
	r = test_target(q, &to, &l);
	if (r < 0)
		return r;
	r = probe_dst(q, &addr, r ? NULL : &to, l, dst.addr);
	if (r)
		return r;
	dst.family = addr.family;
	dst.len = addr.family == 4 ? 32 : 128;
	s = ipg_config_policy(&d->cfg, l ? l->name : "default");
	if (!r && !l && !ipg_ctl_get(q->m, "list")) {
		const struct ipg_config_list *by =
			ipg_config_list_for(&d->cfg, &dst);

		s = by ? &by->policy : &d->cfg.policy;
	}
	if (!ps)
		default_port(&s->ports, &proto, &port);
	else if (ipg_port_parse(ps, &proto, &port))
		return reply_errf(q, -EINVAL,
				  "\"%s\" is not a port; expected tcp/PORT or "
				  "udp/PORT, e.g. tcp/443",
				  ps);
	r = probe_run(q, &addr, dst.addr, proto, port, &p);
	if (r)
		return r;
	ipg_prefix_format(&dst, p.dst, sizeof(p.dst));
	s = ipg_config_policy(&d->cfg, p.list);
	if (p.model.action != p.action ||
	    (p.model.stat == IPG_STAT_PASS_ALLOWED &&
	     (!p.ent || !s || p.ent != &s->entries[p.model.entry])))
		return reply_errf(
			q, -EIO,
			"the datapath (%s) and the reference "
			"model (%s, %s) disagree on %s; please report "
			"this",
			ipg_action_name(p.action),
			ipg_action_name(p.model.action),
			ipg_stat_name(p.model.stat), ip);
	allowed = p.action == XDP_PASS;
	snprintf(pname, sizeof(pname), "%s/%u",
		 proto == IPPROTO_TCP ? "tcp" : "udp", port);
	probe_reason(&p, pname, why, sizeof(why));
	ipg_ctl_set(q->rep, "verdict", allowed ? "allowed" : "blocked");
	return print_probe(q, ip, pname, &p, why);
}
