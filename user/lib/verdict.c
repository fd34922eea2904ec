// SPDX-License-Identifier: GPL-2.0
#include <linux/bpf.h>
#include <netinet/in.h>
#include <string.h>

#include "ipgate/proto.h"
#include "verdict.h"

#define EXT_MAX IPG_EXTHDR_MAX

/* Names by counter, from the one list in ipgate/stats.h. */
static const char *const stat_names[IPG_STAT_MAX] = {
#define STAT_NAME_ROW(id, name, what) [IPG_STAT_##id] = name,
	IPG_STATS(STAT_NAME_ROW)
#undef STAT_NAME_ROW
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
	return p == IPG_IPPROTO_HOPOPTS || p == IPG_IPPROTO_ROUTING ||
	       p == IPG_IPPROTO_FRAGMENT || p == IPG_IPPROTO_DSTOPTS ||
	       p == IPG_IPPROTO_AH || p == IPG_IPPROTO_MH;
}

/* Marks @r unparseable; returns -1 to stop the walk. */
static int unparseable(struct parsed *r)
{
	r->unparseable = true;
	return -1;
}

/* Stops the walk at a fragment other than the first. */
static int later_fragment(struct parsed *r)
{
	r->kind = P_LATER_FRAG;
	return -1;
}

/* Returns the ethertype of the network layer, with *off at its start (0
 * when the frame is not IP), or -1 when @r already says what it is. */
static int parse_link(const uint8_t *pkt, size_t len, enum ipg_frame frame,
		      size_t *off, struct parsed *r)
{
	unsigned type, n;

	*off = 0;
	if (frame == IPG_FRAME_IP) {
		/* No link header: the version nibble names the family. */
		return len && pkt[0] >> 4 == 4 ? IPG_ETH_P_IP :
		       len && pkt[0] >> 4 == 6 ? IPG_ETH_P_IPV6 :
						 0;
	}
	if (len < IPG_ETH_HLEN) {
		r->kind = P_NON_IP;
		return -1;
	}
	*off = IPG_ETH_HLEN;
	type = be16(pkt + IPG_ETH_HLEN - 2);
	for (n = 0; type == IPG_ETH_P_8021Q || type == IPG_ETH_P_8021AD; n++) {
		if (n == IPG_VLAN_MAX || *off + IPG_VLAN_HLEN > len)
			return unparseable(r);
		type = be16(pkt + *off + 2);
		*off += IPG_VLAN_HLEN;
	}
	return (int)type;
}

/* Walks the headers from *pos to the upper layer's, @proto naming the
 * first: IPv6 extension headers (@v6), or IPv4 authentication headers.
 * Returns the upper-layer protocol with *pos at its header, or -1 when @r
 * already says what the packet is. */
static int walk_ext(const uint8_t *pkt, uint8_t proto, bool v6, size_t *pos,
		    size_t lim, struct parsed *r)
{
	for (unsigned n = 0; v6 ? is_v6_ext(proto) : proto == IPG_IPPROTO_AH;
	     n++) {
		size_t hl;

		if (n == EXT_MAX || *pos + 8 > lim)
			return unparseable(r);
		if (proto == IPG_IPPROTO_FRAGMENT) {
			if (be16(pkt + *pos + 2) & IPG_IP6_OFFSET)
				return later_fragment(r);
			r->fragment = true;
			hl = IPG_FRAG_HLEN;
		} else if (proto == IPG_IPPROTO_AH) {
			hl = (pkt[*pos + 1] + 2u) * 4;
		} else {
			hl = (pkt[*pos + 1] + 1u) * 8;
		}
		if (*pos + hl > lim)
			return unparseable(r);
		proto = pkt[*pos];
		*pos += hl;
	}
	return proto;
}

/* Walks the IPv4 header at @off and any authentication headers: returns
 * the upper-layer protocol with *pos at its header and *lim at the
 * datagram's end, or -1 when @r already says what the packet is. */
static int parse_v4(const uint8_t *pkt, size_t len, size_t off,
		    struct parsed *r, size_t *pos, size_t *lim)
{
	unsigned ihl, tot, fo;

	if (len - off < IPG_IPV4_HLEN)
		return unparseable(r);
	r->family = 4;
	memcpy(r->src, pkt + off + 12, 4);
	memcpy(r->dst, pkt + off + 16, 4);
	ihl = (pkt[off] & 15) * 4u;
	tot = be16(pkt + off + 2);
	/* A total length of 0 (BIG TCP GRO): the frame ends it. */
	if (pkt[off] >> 4 != 4 || ihl < IPG_IPV4_HLEN ||
	    (tot && (tot < ihl || off + tot > len)))
		return unparseable(r);
	*lim = tot ? off + tot : len;
	fo = be16(pkt + off + 6);
	if (fo & IPG_IP_OFFSET)
		return later_fragment(r);
	r->fragment = fo & IPG_IP_MF;
	*pos = off + ihl;
	return walk_ext(pkt, pkt[off + 9], false, pos, *lim, r);
}

/* The same for the IPv6 header at @off and its extension headers. */
static int parse_v6(const uint8_t *pkt, size_t len, size_t off,
		    struct parsed *r, size_t *pos, size_t *lim)
{
	unsigned plen;

	if (len - off < IPG_IPV6_HLEN)
		return unparseable(r);
	r->family = 6;
	memcpy(r->src, pkt + off + 8, 16);
	memcpy(r->dst, pkt + off + 24, 16);
	plen = be16(pkt + off + 4);
	if (pkt[off] >> 4 != 6 || off + IPG_IPV6_HLEN + plen > len)
		return unparseable(r);
	*lim = plen ? off + IPG_IPV6_HLEN + plen : len;
	*pos = off + IPG_IPV6_HLEN;
	return walk_ext(pkt, pkt[off + 6], true, pos, *lim, r);
}

static void parse(const uint8_t *pkt, size_t len, enum ipg_frame frame,
		  struct parsed *r)
{
	size_t off, pos = 0, lim = 0;
	int type, proto;

	memset(r, 0, sizeof(*r));
	r->kind = P_L4;
	type = parse_link(pkt, len, frame, &off, r);
	if (type == IPG_ETH_P_IP) {
		proto = parse_v4(pkt, len, off, r, &pos, &lim);
	} else if (type == IPG_ETH_P_IPV6) {
		proto = parse_v6(pkt, len, off, r, &pos, &lim);
	} else {
		if (type >= 0)
			r->kind = P_NON_IP;
		return;
	}
	if (proto < 0)
		return;
	r->proto = (uint8_t)proto;
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
	if (r->fragment || r->l4len < IPG_TCP_HLEN)
		return false;
	flags = th[IPG_TCP_FLAGS_OFF];
	if (!(flags & IPG_TCP_SYN) || (flags & IPG_TCP_ACK) ||
	    (flags & IPG_TCP_RST))
		return false;
	doff = (th[12] >> 4) * 4u;
	if (doff < IPG_TCP_HLEN || doff > r->l4len)
		return false;
	return unicast_source(r->family, r->src) &&
	       is_local(env, r->family, r->dst);
}

static void set(struct ipg_verdict *v, int action, enum ipg_stat stat)
{
	v->action = action;
	v->stat = stat;
}

static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

/* @a (of @family) as a full-length prefix, IPv4-mapped IPv6 as IPv4. */
static void as_prefix(int family, const uint8_t *a, struct ipg_prefix *p)
{
	memset(p, 0, sizeof(*p));
	p->family = (uint8_t)family;
	if (family == 6 && !memcmp(a, mapped, 12)) {
		p->family = 4;
		memcpy(p->addr, a + 12, 4);
	} else {
		memcpy(p->addr, a, family == 4 ? 4 : 16);
	}
	p->len = (uint8_t)ipg_prefix_maxlen(p);
}

const struct ipg_verdict_list *
ipg_verdict_list_for(const struct ipg_verdict_env *env, int family,
		     const uint8_t *dst)
{
	struct ipg_prefix d, x;

	if (!env || (family != 4 && family != 6))
		return NULL;
	as_prefix(family, dst, &d);
	for (size_t i = 0; i < env->n_lists; i++)
		for (size_t j = 0; j < env->lists[i].n_dsts; j++) {
			const struct ipg_prefix *a = &env->lists[i].dsts[j];

			as_prefix(a->family, a->addr, &x);
			if (ipg_prefix_equal(&x, &d))
				return &env->lists[i];
		}
	return NULL;
}

/* Whether a live grant lets source @src into list @list. */
static bool granted(const struct ipg_verdict_env *env,
		    const struct ipg_prefix *src, uint32_t list)
{
	for (size_t i = 0; env && i < env->n_grants; i++) {
		uint32_t scope = env->grant_lists ? env->grant_lists[i] :
						    IPG_LIST_ANY;

		if ((scope == IPG_LIST_ANY || scope == list) &&
		    ipg_prefix_equal(&env->grants[i], src))
			return true;
	}
	return false;
}

void ipg_verdict_eval(const struct ipg_policy_spec *s,
		      const struct ipg_verdict_env *env, const uint8_t *pkt,
		      size_t len, struct ipg_verdict *v)
{
	const struct ipg_verdict_list *l;
	bool own_override;
	struct parsed r;

	v->entry = -1;
	v->list = IPG_LIST_DEFAULT;
	parse(pkt, len, env ? env->frame : IPG_FRAME_ETH, &r);
	if (r.kind == P_NON_IP)
		return set(v, XDP_PASS, IPG_STAT_PASS_NON_IP);
	/* The list: by destination, when it could be read. */
	l = ipg_verdict_list_for(env, r.family, r.dst);
	own_override = env && env->default_override;
	if (l) {
		v->list = l->id;
		s = l->policy;
		own_override = l->override_active;
	}
	if (r.kind == P_LATER_FRAG)
		return set(v, XDP_PASS, IPG_STAT_PASS_FRAGMENT);
	if (!r.unparseable &&
	    !ipg_policy_port_protected(&s->ports, r.proto, (uint16_t)r.dport))
		return set(v, XDP_PASS, IPG_STAT_PASS_UNPROTECTED);
	if (!s->kern.enabled)
		return set(v, XDP_PASS, IPG_STAT_PASS_DISABLED);
	if ((env && env->override_active) || own_override)
		return set(v, XDP_PASS, IPG_STAT_PASS_OVERRIDE);

	if (r.family) {
		struct ipg_prefix src;

		as_prefix(r.family, r.src, &src);
		v->entry = ipg_policy_match(s, &src, env ? env->now : 0);
		if (v->entry >= 0)
			return set(v, XDP_PASS, IPG_STAT_PASS_ALLOWED);
		if (granted(env, &src, v->list))
			return set(v, XDP_PASS, IPG_STAT_PASS_BREAKGLASS);
	}
	if (s->kern.mode == IPG_MODE_SHADOW)
		return set(v, XDP_PASS, IPG_STAT_PASS_SHADOW);
	if (r.unparseable)
		return set(v, XDP_DROP, IPG_STAT_DROP_MALFORMED);
	if (s->kern.mode == IPG_MODE_REJECT && r.proto == IPPROTO_TCP &&
	    answers_with_reset(&r, pkt, env))
		return set(v, XDP_TX, IPG_STAT_TX_RESET);
	set(v, XDP_DROP, IPG_STAT_DROP_DENIED);
}
