// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <netinet/in.h>
#include <string.h>

#include "verdict.h"

#define EXT_MAX IPG_EXTHDR_MAX

static const char *const stat_names[IPG_STAT_MAX] = {
	[IPG_STAT_PASS_NON_IP] = "passed_non_ip",
	[IPG_STAT_PASS_UNPROTECTED] = "passed_unprotected",
	[IPG_STAT_PASS_FRAGMENT] = "passed_fragment",
	[IPG_STAT_PASS_ALLOWED] = "passed_allowed",
	[IPG_STAT_PASS_DISABLED] = "passed_disabled",
	[IPG_STAT_PASS_OVERRIDE] = "passed_override",
	[IPG_STAT_PASS_BREAKGLASS] = "passed_breakglass",
	[IPG_STAT_DROP_DENIED] = "dropped",
	[IPG_STAT_DROP_MALFORMED] = "dropped_malformed",
	[IPG_STAT_TX_RESET] = "rejected_reset",
};

const char *ipg_stat_name(enum ipg_stat stat)
{
	return stat < IPG_STAT_MAX ? stat_names[stat] : "?";
}

const char *ipg_action_name(int action)
{
	switch (action) {
	case XDP_PASS:
		return "pass";
	case XDP_DROP:
		return "drop";
	case XDP_TX:
		return "tx";
	case XDP_ABORTED:
		return "aborted";
	default:
		return "?";
	}
}

static unsigned be16(const uint8_t *p)
{
	return (unsigned)(p[0] << 8 | p[1]);
}

/* Everything parsing a frame can tell. */
struct parsed {
	enum { P_NON_IP, P_LATER_FRAG, P_L4 } kind;
	bool unparseable;
	bool fragment;
	int family; /* 0 when the source address is unknown */
	uint8_t src[16];
	uint8_t dst[16];
	uint8_t proto;
	unsigned dport;
	size_t l4, l4len;
};

static bool is_v6_ext(uint8_t p)
{
	return p == IPPROTO_HOPOPTS || p == IPPROTO_ROUTING ||
	       p == IPPROTO_FRAGMENT || p == IPPROTO_DSTOPTS ||
	       p == IPPROTO_AH || p == 135;
}

static void parse(const uint8_t *pkt, size_t len, enum ipg_frame frame,
		  struct parsed *r)
{
	size_t off = 14, pos, lim;
	unsigned type, n;
	uint8_t proto;

	memset(r, 0, sizeof(*r));
	r->kind = P_L4;
	if (frame == IPG_FRAME_IP) {
		/* No link header: the version nibble names the family. */
		off = 0;
		type = len && pkt[0] >> 4 == 4 ? 0x0800 :
		       len && pkt[0] >> 4 == 6 ? 0x86dd :
						 0;
	} else if (len < 14) {
		r->kind = P_NON_IP;
		return;
	} else {
		type = be16(pkt + 12);
	}
	for (n = 0;
	     frame == IPG_FRAME_ETH && (type == 0x8100 || type == 0x88a8);
	     n++) {
		if (n == IPG_VLAN_MAX || off + 4 > len) {
			r->unparseable = true;
			return;
		}
		type = be16(pkt + off + 2);
		off += 4;
	}

	if (type == 0x0800) {
		unsigned ihl, tot, fo;

		if (len - off < 20) {
			r->unparseable = true;
			return;
		}
		r->family = 4;
		memcpy(r->src, pkt + off + 12, 4);
		memcpy(r->dst, pkt + off + 16, 4);
		ihl = (pkt[off] & 15) * 4u;
		tot = be16(pkt + off + 2);
		/* A total length of 0 (BIG TCP GRO): the frame ends it. */
		if (pkt[off] >> 4 != 4 || ihl < 20 ||
		    (tot && (tot < ihl || off + tot > len))) {
			r->unparseable = true;
			return;
		}
		lim = tot ? off + tot : len;
		fo = be16(pkt + off + 6);
		if (fo & 0x1fff) {
			r->kind = P_LATER_FRAG;
			return;
		}
		r->fragment = fo & 0x2000;
		proto = pkt[off + 9];
		pos = off + ihl;
		for (n = 0; proto == IPPROTO_AH; n++) {
			size_t hl;

			if (n == EXT_MAX || pos + 8 > lim) {
				r->unparseable = true;
				return;
			}
			hl = (pkt[pos + 1] + 2u) * 4;
			if (pos + hl > lim) {
				r->unparseable = true;
				return;
			}
			proto = pkt[pos];
			pos += hl;
		}
	} else if (type == 0x86dd) {
		unsigned plen;

		if (len - off < 40) {
			r->unparseable = true;
			return;
		}
		r->family = 6;
		memcpy(r->src, pkt + off + 8, 16);
		memcpy(r->dst, pkt + off + 24, 16);
		plen = be16(pkt + off + 4);
		if (pkt[off] >> 4 != 6 || off + 40 + plen > len) {
			r->unparseable = true;
			return;
		}
		lim = plen ? off + 40 + plen : len;
		proto = pkt[off + 6];
		pos = off + 40;
		for (n = 0; is_v6_ext(proto); n++) {
			size_t hl;

			if (n == EXT_MAX || pos + 8 > lim) {
				r->unparseable = true;
				return;
			}
			if (proto == IPPROTO_FRAGMENT) {
				if (be16(pkt + pos + 2) & 0xfff8) {
					r->kind = P_LATER_FRAG;
					return;
				}
				r->fragment = true;
				hl = 8;
			} else if (proto == IPPROTO_AH) {
				hl = (pkt[pos + 1] + 2u) * 4;
			} else {
				hl = (pkt[pos + 1] + 1u) * 8;
			}
			if (pos + hl > lim) {
				r->unparseable = true;
				return;
			}
			proto = pkt[pos];
			pos += hl;
		}
	} else {
		r->kind = P_NON_IP;
		return;
	}

	r->proto = proto;
	r->l4 = pos;
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return;
	if (pos + 4 > lim) {
		r->unparseable = true;
		return;
	}
	r->dport = be16(pkt + pos + 2);
	r->l4len = lim - pos;
}

/* Whether @a is one of the host's addresses in @env. */
static bool is_local(const struct ipg_verdict_env *env, int family,
		     const uint8_t *a)
{
	for (size_t i = 0; env && i < env->n_local; i++)
		if (env->local[i].family == family &&
		    !memcmp(env->local[i].addr, a, family == 4 ? 4 : 16))
			return true;
	return false;
}

/* Whether a reset may go to source @a: a unicast address, not
 * unspecified, multicast or (IPv4) broadcast and reserved. */
static bool unicast_source(int family, const uint8_t *a)
{
	static const uint8_t zero[16];

	if (family == 4)
		return a[0] != 0 && a[0] < 224;
	return a[0] != 0xff && memcmp(a, zero, 16);
}

/* Whether the program answers this blocked TCP packet with a RST: a
 * well-formed SYN in an Ethernet frame to a unicast MAC, from a unicast
 * source, to one of this host's addresses. */
static bool answers_with_reset(const struct parsed *r, const uint8_t *pkt,
			       const struct ipg_verdict_env *env)
{
	const uint8_t *th = pkt + r->l4;
	uint8_t flags;
	size_t doff;

	/* Group (broadcast, multicast) MACs, either way. */
	if ((env && env->frame != IPG_FRAME_ETH) || ((pkt[0] | pkt[6]) & 1))
		return false;
	if (r->fragment || r->l4len < 20)
		return false;
	flags = th[13];
	if (!(flags & 0x02) || (flags & 0x10) || (flags & 0x04))
		return false;
	doff = (th[12] >> 4) * 4u;
	if (doff < 20 || doff > r->l4len)
		return false;
	return unicast_source(r->family, r->src) &&
	       is_local(env, r->family, r->dst);
}

static void set(struct ipg_verdict *v, int action, enum ipg_stat stat)
{
	v->action = action;
	v->stat = stat;
}

void ipg_verdict_eval(const struct ipg_policy_spec *s,
		      const struct ipg_verdict_env *env, const uint8_t *pkt,
		      size_t len, struct ipg_verdict *v)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0,    0,
					    0, 0, 0, 0, 0xff, 0xff };
	struct parsed r;

	v->entry = -1;
	parse(pkt, len, env ? env->frame : IPG_FRAME_ETH, &r);
	if (r.kind == P_NON_IP)
		return set(v, XDP_PASS, IPG_STAT_PASS_NON_IP);
	if (r.kind == P_LATER_FRAG)
		return set(v, XDP_PASS, IPG_STAT_PASS_FRAGMENT);
	if (!r.unparseable &&
	    !ipg_policy_port_protected(&s->kern, r.proto, (uint16_t)r.dport))
		return set(v, XDP_PASS, IPG_STAT_PASS_UNPROTECTED);
	if (!s->kern.enabled)
		return set(v, XDP_PASS, IPG_STAT_PASS_DISABLED);
	if (env && env->override_active)
		return set(v, XDP_PASS, IPG_STAT_PASS_OVERRIDE);

	if (r.family) {
		struct ipg_prefix src = { .family = (uint8_t)r.family };

		if (r.family == 6 && !memcmp(r.src, mapped, 12)) {
			src.family = 4;
			memcpy(src.addr, r.src + 12, 4);
		} else {
			memcpy(src.addr, r.src, 16);
		}
		src.len = (uint8_t)ipg_prefix_maxlen(&src);
		v->entry = ipg_policy_match(s, &src);
		if (v->entry >= 0)
			return set(v, XDP_PASS, IPG_STAT_PASS_ALLOWED);
		for (size_t i = 0; env && i < env->n_grants; i++)
			if (ipg_prefix_equal(&env->grants[i], &src))
				return set(v, XDP_PASS,
					   IPG_STAT_PASS_BREAKGLASS);
	}
	if (r.unparseable)
		return set(v, XDP_DROP, IPG_STAT_DROP_MALFORMED);
	if (s->kern.mode == IPG_MODE_REJECT && r.proto == IPPROTO_TCP &&
	    answers_with_reset(&r, pkt, env))
		return set(v, XDP_TX, IPG_STAT_TX_RESET);
	set(v, XDP_DROP, IPG_STAT_DROP_DENIED);
}
