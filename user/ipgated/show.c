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
	if (s >= 3600)
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
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Seconds of emergency override left, 0 when none runs. */
uint64_t override_left(struct daemon *d)
{
	uint64_t deadline = 0, now = ipg_boot_ns();

	if (ipg_datapath_get_override(d->dp, &deadline) || deadline <= now)
		return 0;
	return (deadline - now + 999999999ull) / 1000000000ull;
}

static const struct ipg_entry *entry_by_rule(const struct ipg_config *c,
					     uint32_t id)
{
	for (uint32_t i = 0; i < c->policy.n_entries; i++)
		if (c->policy.entries[i].rule_id == id)
			return &c->policy.entries[i];
	return NULL;
}

static void json_counters(struct ipg_buf *b, const uint64_t st[IPG_STAT_MAX])
{
	ipg_buf_printf(b, "{");
	for (int s = 0; s < IPG_STAT_MAX; s++)
		ipg_buf_printf(b, "%s\"%s\":%" PRIu64, s ? "," : "",
			       ipg_stat_name((enum ipg_stat)s), st[s]);
	ipg_buf_printf(b, "}");
}

/* For status: @ifname's link type and the frames ipgate's program there
 * judges, as JSON keys (after "xdp") or as the rest of its text line. */
static void iface_link(struct ipg_buf *b, const char *ifname, int json)
{
	struct ipg_attachment a;
	int r = ipg_datapath_attachment(ifname, &a);
	const char *link = r ? "unknown" : ipg_link_type_name(a.link_type);

	if (json) {
		ipg_buf_printf(b, ",\"link\":\"%s\",\"program\":", link);
		if (!r && a.attached)
			ipg_buf_printf(b, "\"%s\"", ipg_frame_name(a.frame));
		else
			ipg_buf_printf(b, "null");
		ipg_buf_printf(b, ",\"protected\":%s",
			       !r && a.protecting ? "true" : "false");
	} else if (!r && a.attached && !a.protecting) {
		ipg_buf_printf(b,
			       " (link %s; ipgate's program for %s frames "
			       "cannot judge its packets: restart ipgated)",
			       link, ipg_frame_name(a.frame));
	} else if (!r && a.attached) {
		ipg_buf_printf(b, ", link %s, %s frames", link,
			       ipg_frame_name(a.frame));
	} else if (!r) {
		ipg_buf_printf(b, " (link %s)", link);
	}
}

int do_status(struct req *q)
{
	struct daemon *d = q->d;
	const struct ipg_config *c = &d->cfg;
	struct ipg_buf ports = { 0 }, *b = &q->out;
	uint64_t st[IPG_STAT_MAX] = { 0 }, left = override_left(d),
		 deadline = 0;
	struct ipg_policy live;
	char when[64] = "", dur[32];

	ipg_datapath_stats(d->dp, st);
	ipg_datapath_get_override(d->dp, &deadline);
	if (ipg_datapath_active(d->dp, &live))
		memset(&live, 0, sizeof(live));
	ipg_config_ports(&c->policy.kern, &ports);
	if (left)
		format_utc(time(NULL) + (time_t)left, when, sizeof(when));
	if (q->json) {
		ipg_buf_printf(b,
			       "{\"enabled\":%s,\"mode\":\"%s\",\"entries\":%u,"
			       "\"max_entries\":%u,\"protect\":\"%s\","
			       "\"attached\":%s,\"interfaces\":[",
			       c->policy.kern.enabled ? "true" : "false",
			       ipg_mode_name(c->policy.kern.mode),
			       c->policy.n_entries, c->policy.max_entries,
			       ports.s, d->detached ? "false" : "true");
		for (int i = 0; i < c->n_interfaces; i++) {
			enum ipg_xdp_mode m;
			int r = ipg_datapath_attached(c->interfaces[i], &m);

			ipg_buf_printf(b, "%s{\"name\":", i ? "," : "");
			ipg_buf_json_str(b, c->interfaces[i]);
			ipg_buf_printf(b, ",\"xdp\":\"%s\"",
				       r ? "none" : xdp_mode_name(m));
			iface_link(b, c->interfaces[i], 1);
			ipg_buf_printf(b, "}");
		}
		ipg_buf_printf(b, "],\"override\":{\"active\":%s,\"until\":",
			       left ? "true" : "false");
		if (left)
			ipg_buf_printf(b, "\"%s\"", when);
		else
			ipg_buf_printf(b, "null");
		ipg_buf_printf(b,
			       ",\"seconds_left\":%" PRIu64 "},"
			       "\"generation\":%u,\"config_error\":",
			       left, live.generation);
		if (*d->file_error)
			ipg_buf_json_str(b, d->file_error);
		else
			ipg_buf_printf(b, "null");
		ipg_buf_printf(b, ",\"breakglass\":{\"port\":%u,", d->kport);
		bg_render(d, b, 1);
		ipg_buf_printf(
			b,
			",\"granted\":%" PRIu64 ",\"refused\":{"
			"\"malformed\":%" PRIu64 ",\"unknown_key\":%" PRIu64
			",\"bad_mac\":%" PRIu64 ",\"stale\":%" PRIu64
			",\"replayed\":%" PRIu64 ",\"wrong_source\":%" PRIu64
			",\"rate_limited\":%" PRIu64 "}}",
			d->kstat.granted, d->kstat.malformed,
			d->kstat.unknown_key, d->kstat.bad_mac, d->kstat.stale,
			d->kstat.replayed, d->kstat.wrong_source,
			d->kstat.rate_limited);
		ipg_buf_printf(b, ",\"counters\":");
		json_counters(b, st);
		ipg_buf_printf(b, "}\n");
		ipg_buf_free(&ports);
		return 0;
	}
	ipg_buf_printf(b, "%-14s %s (%s mode)\n", "allowlist",
		       c->policy.kern.enabled ? "enabled" : "DISABLED",
		       ipg_mode_name(c->policy.kern.mode));
	ipg_buf_printf(b, "%-14s %u of %u\n", "entries", c->policy.n_entries,
		       c->policy.max_entries);
	ipg_buf_printf(b, "%-14s %s\n", "protected", ports.s);
	for (int i = 0; i < c->n_interfaces; i++) {
		enum ipg_xdp_mode m;
		int r = ipg_datapath_attached(c->interfaces[i], &m);

		ipg_buf_printf(b, "%-14s %s, %s", i ? "" : "interfaces",
			       c->interfaces[i],
			       r == -EMEDIUMTYPE ? "NOT PROTECTED" :
			       r		 ? "NOT ATTACHED" :
						   xdp_mode_name(m));
		iface_link(b, c->interfaces[i], 0);
		ipg_buf_printf(b, "\n");
	}
	if (!c->n_interfaces)
		ipg_buf_printf(b, "%-14s none\n", "interfaces");
	if (d->detached)
		ipg_buf_printf(b,
			       "%-14s detached by 'ipgate detach'; "
			       "'ipgate attach' puts it back\n",
			       "");
	if (left) {
		format_duration(left, dur, sizeof(dur));
		ipg_buf_printf(b, "%-14s ACTIVE until %s (%s left)\n",
			       "override", when, dur);
	} else {
		ipg_buf_printf(b, "%-14s none\n", "override");
	}
	if (d->ovr.active && left)
		ipg_buf_printf(b, "%-14s by %s: %s\n", "", d->ovr.user,
			       d->ovr.reason);
	{
		struct ipg_prefix *g = d->prefix_buf;
		size_t ng = live_grants(d, g);
		uint64_t refused = d->kstat.malformed + d->kstat.unknown_key +
				   d->kstat.bad_mac + d->kstat.stale +
				   d->kstat.replayed + d->kstat.wrong_source +
				   d->kstat.rate_limited;

		if (d->kport)
			ipg_buf_printf(
				b,
				"%-14s udp/%u; %zu grant%s live; %" PRIu64
				" granted, %" PRIu64 " refused "
				"since start\n",
				"break-glass", d->kport, ng, ng == 1 ? "" : "s",
				d->kstat.granted, refused);
		else
			ipg_buf_printf(b, "%-14s off\n", "break-glass");
		for (size_t i = 0; i < ng; i++) {
			char a[IPG_PREFIX_STRLEN];

			ipg_prefix_format(&g[i], a, sizeof(a));
			ipg_buf_printf(b, "%-14s grant: %s\n", "", a);
		}
	}
	ipg_buf_printf(b, "%-14s generation %u\n", "policy", live.generation);
	if (*d->file_error)
		ipg_buf_printf(b, "%-14s %s (running the last good config)\n",
			       "config file", d->file_error);
	ipg_buf_printf(b, "counters\n");
	for (int s = 0; s < IPG_STAT_MAX; s++)
		ipg_buf_printf(b, "  %-20s %12" PRIu64 "\n",
			       ipg_stat_name((enum ipg_stat)s), st[s]);
	ipg_buf_free(&ports);
	return 0;
}

int do_list(struct req *q)
{
	const struct ipg_policy_spec *p = &q->d->cfg.policy;
	struct ipg_buf *b = &q->out;

	if (q->json)
		ipg_buf_printf(b,
			       "{\"count\":%u,\"max_entries\":%u,\"entries\":[",
			       p->n_entries, p->max_entries);
	else if (p->n_entries)
		ipg_buf_printf(b, "%-43s %12s  %s\n", "ENTRY", "HITS", "LABEL");
	for (uint32_t i = 0; i < p->n_entries; i++) {
		const struct ipg_entry *ent = &p->entries[i];
		char cidr[IPG_PREFIX_STRLEN];
		uint64_t hits = 0;

		ipg_datapath_rule_hits(q->d->dp, ent->rule_id, &hits);
		ipg_prefix_format(&ent->prefix, cidr, sizeof(cidr));
		if (q->json) {
			ipg_buf_printf(b, "%s{\"cidr\":\"%s\",\"label\":",
				       i ? "," : "", cidr);
			ipg_buf_json_str(b, ent->label);
			ipg_buf_printf(b,
				       ",\"rule_id\":%u,\"hits\":%" PRIu64 "}",
				       ent->rule_id, hits);
		} else {
			/* Labels are checked on the way in; escape anyway,
			 * since this goes to a terminal. */
			ipg_buf_printf(b, "%-43s %12" PRIu64 "  ", cidr, hits);
			ipg_buf_text_safe(b, ent->label);
			ipg_buf_printf(b, "\n");
		}
	}
	if (q->json) {
		ipg_buf_printf(b, "],\"breakglass\":{");
		bg_render(q->d, b, 1);
		ipg_buf_printf(b, "}}\n");
	} else {
		ipg_buf_printf(b, "%u of %u entries\n", p->n_entries,
			       p->max_entries);
		bg_render(q->d, b, 0);
	}
	return 0;
}

/* The port `test` probes when none is given: the first protected one. */
static void default_port(const struct ipg_policy *k, int *proto, uint16_t *port)
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

/* What a probe found: the program's action, the model's verdict, and the
 * entry that allowed it (if one did). */
struct probe {
	int action;
	struct ipg_verdict model;
	const struct ipg_entry *ent;
};

/* Runs the live program on a SYN (a datagram for udp) from @addr to
 * @proto/@port of this host, as the interfaces see it, marked as a probe so
 * the counters stay still, and cross-checks it with the reference model. */
static int probe_run(struct req *q, const struct ipg_prefix *addr, int proto,
		     uint16_t port, struct probe *out)
{
	struct daemon *d = q->d;
	struct ipg_pkt_spec spec = { .family = addr->family,
				     .proto = (uint8_t)proto,
				     .sport = 40000,
				     .dport = port };
	struct ipg_prefix *local = calloc(IPG_LOCAL_ADDRS_MAX, sizeof(*local));
	struct ipg_verdict_env env = { .grants = d->prefix_buf };
	uint8_t pkt[256];
	uint32_t rule = 0;
	int n_local, r;
	size_t len;

	if (!local)
		return reply_err(q, -ENOMEM, "out of memory");
	memcpy(spec.src, addr->addr, 16);
	if (addr->family == 4)
		memcpy(spec.dst, (uint8_t[]){ 198, 18, 0, 1 }, 4);
	else
		memcpy(spec.dst,
		       (uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8, [15] = 1 }, 16);
	/* To one of this host's own addresses, in the interfaces' frames. */
	n_local = ipg_datapath_local_addrs(d->dp, local, IPG_LOCAL_ADDRS_MAX);
	for (int i = n_local - 1; i >= 0; i--)
		if (local[i].family == addr->family)
			memcpy(spec.dst, local[i].addr, 16);
	spec.frame =
		ipg_link_probe_frame(d->cfg.interfaces, d->cfg.n_interfaces);
	len = ipg_pkt_build(&spec, pkt, sizeof(pkt));
	r = ipg_datapath_run_frame(d->dp, spec.frame, pkt, len, true,
				   &out->action, NULL, NULL);
	if (r) {
		free(local);
		return reply_errf(q, r, "cannot run the datapath: %s",
				  strerror(-r));
	}
	/* The allowing entry, as the live trie answers it. */
	out->ent = ipg_datapath_lookup(d->dp, addr, &rule) ?
			   NULL :
			   entry_by_rule(&d->cfg, rule);
	env.override_active = override_left(d) > 0;
	env.local = local;
	env.n_local = n_local > 0 ? (size_t)n_local : 0;
	env.frame = spec.frame;
	env.n_grants = live_grants(d, d->prefix_buf);
	ipg_verdict_eval(&d->cfg.policy, &env, pkt, len, &out->model);
	free(local);
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
		if (*p->ent->label)
			snprintf(why, size, "%s \"%s\"", cidr, p->ent->label);
		else
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

int do_test(struct req *q)
{
	struct daemon *d = q->d;
	const char *ip = ipg_ctl_get(q->m, "ip"),
		   *ps = ipg_ctl_get(q->m, "port");
	char why[256], cidr[IPG_PREFIX_STRLEN], pname[16];
	struct ipg_prefix addr;
	struct ipg_error e;
	struct probe p;
	uint16_t port;
	int proto, allowed, r;

	if (!ip)
		return reply_err(q, -EINVAL, "missing the address to test");
	if (ipg_addr_parse(ip, &addr, &e))
		return reply_err(q, -EINVAL, e.msg);
	if (!ps)
		default_port(&d->cfg.policy.kern, &proto, &port);
	else if (ipg_port_parse(ps, &proto, &port))
		return reply_errf(q, -EINVAL,
				  "\"%s\" is not a port; expected tcp/PORT or "
				  "udp/PORT, e.g. tcp/443",
				  ps);
	r = probe_run(q, &addr, proto, port, &p);
	if (r)
		return r;
	if (p.model.action != p.action ||
	    (p.model.stat == IPG_STAT_PASS_ALLOWED &&
	     (!p.ent || p.ent != &d->cfg.policy.entries[p.model.entry])))
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
	if (!q->json) {
		ipg_buf_printf(&q->out, "%s (%s)\n",
			       allowed ? "allowed" : "blocked", why);
		return 0;
	}
	ipg_buf_printf(&q->out,
		       "{\"ip\":\"%s\",\"port\":\"%s\",\"verdict\":\"%s\","
		       "\"reason\":\"%s\",\"entry\":",
		       ip, pname, allowed ? "allowed" : "blocked",
		       ipg_stat_name(p.model.stat));
	if (p.model.stat == IPG_STAT_PASS_ALLOWED) {
		ipg_prefix_format(&p.ent->prefix, cidr, sizeof(cidr));
		ipg_buf_printf(&q->out, "{\"cidr\":\"%s\",\"label\":", cidr);
		ipg_buf_json_str(&q->out, p.ent->label);
		ipg_buf_printf(&q->out, "}");
	} else {
		ipg_buf_printf(&q->out, "null");
	}
	ipg_buf_printf(&q->out, ",\"action\":\"%s\"}\n",
		       ipg_action_name(p.action));
	return 0;
}
