// SPDX-License-Identifier: GPL-2.0
/* ipgate XDP filter: drop packets to protected ports from sources outside
 * the allowlist. The decision order is docs/design.md's ("Per-packet
 * decision"); keep them in step.
 * Two entry points share every map and the decision: ipgate_xdp for frames
 * that start with an Ethernet header, ipgate_xdp_l3 for frames that start
 * at the IP header (tun, WireGuard); userspace picks one per interface by
 * its link type. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "ipgate/blocked.h"
#include "ipgate/dst.h"
#include "ipgate/frame.h"
#include "ipgate/host.h"
#include "ipgate/limits.h"
#include "ipgate/policy.h"
#include "ipgate/proto.h"
#include "ipgate/stats.h"
#include "ipgate/table.h"
#include "parse.h"

char LICENSE[] SEC("license") = "GPL";

/* Random per load; `ipgate test` probes carry it in XDP metadata. */
const volatile __u64 probe_cookie = 0;
/* Slots of one destination table (a power of two), set at load. */
const volatile __u32 dst_slots = IPG_DST_SLOTS_PER_DST * IPG_DSTS_MIN;

/* Map sizes here are the least; userspace sizes the maps from the config
 * before the load (see limits.h). */

/* By list id: bit 0 the list's live slot; ipg_active[0] bit 1 says that
 * named lists claim destinations (IPG_ACTIVE_NAMED), bits 3 to 6 what
 * else a packet may have to read (IPG_ACTIVE_HINTS). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, IPG_LISTS_MIN);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ipg_active SEC(".maps");

/* The blocked-source log: reports, their budget per second (index 0 of
 * ipg_blocked_cfg; 0: off) and each list's window on each CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, IPG_BLOCKED_RING_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ipg_blocked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ipg_blocked_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ipg_blocked_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IPG_LISTS_MIN);
	__type(key, __u32);
	__type(value, struct ipg_blocked_window);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ipg_blocked_budget SEC(".maps");

/* The operator's own XDP program (config: chain PATH), tail-called with
 * every frame ipgate passes, so that a load balancer or a DDoS filter
 * still sees what ipgate lets through and never what it drops. Empty:
 * ipgate passes the frame itself. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ipg_chain SEC(".maps");

/* Boot-time ns until which enforcement is suspended, 0 for none: index 0
 * for every list (the host-wide emergency), 1 + id for list id alone. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 + IPG_LISTS_MIN);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ipg_override SEC(".maps");

/* By 2 * list id + slot. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, IPG_SLOTS *IPG_LISTS_MIN);
	__type(key, __u32);
	__type(value, struct ipg_policy);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ipg_policy SEC(".maps");

/* Protected port sets, shared by the policy slots that name them. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, IPG_PORTSETS_MIN);
	__type(key, __u32);
	__type(value, struct ipg_ports);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ipg_ports SEC(".maps");

/* By 2 * list id + slot: the slot's IPv4 entries as sorted ranges, when
 * its policy has IPG_POLICY_V4_TABLE (ipgate/table.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, IPG_SLOTS *IPG_LISTS_MIN);
	__type(key, __u32);
	__type(value, struct ipg_v4_table);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ipg_v4_table SEC(".maps");

/* Names by list id, for userspace (struct ipg_list_info). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, IPG_LISTS_MIN);
	__type(key, __u32);
	__type(value, struct ipg_list_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ipg_lists SEC(".maps");

/* Destination address -> id of the named list guarding it, as two
 * open-addressing tables of dst_slots slots each (include/ipgate/dst.h);
 * ipg_active[0] bit 2 says which is live. An address in neither is the
 * default list's. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * IPG_DST_SLOTS_PER_DST * IPG_DSTS_MIN);
	__type(key, __u32);
	__type(value, struct ipg_dst_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ipg_dsts SEC(".maps");

#define IPG_TRIE(keytype)                               \
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);            \
	__uint(max_entries, IPG_TRIE_CAPACITY_DEFAULT); \
	__uint(map_flags, BPF_F_NO_PREALLOC);           \
	__type(key, keytype);                           \
	__type(value, struct ipg_rule)

/* Inner-map templates: libbpf refuses a pinning attribute on them. */
struct ipg_trie_v4 {
	IPG_TRIE(struct ipg_lpm_v4);
};
struct ipg_trie_v6 {
	IPG_TRIE(struct ipg_lpm_v6);
};

#define IPG_TRIE_PINNED(name, keytype)               \
	struct {                                     \
		IPG_TRIE(keytype);                   \
		__uint(pinning, LIBBPF_PIN_BY_NAME); \
	} name SEC(".maps")

/* The default list's tries; a named list's are made by userspace and held
 * only by the outer maps below. */
IPG_TRIE_PINNED(ipg_v4_slot0, struct ipg_lpm_v4);
IPG_TRIE_PINNED(ipg_v4_slot1, struct ipg_lpm_v4);
IPG_TRIE_PINNED(ipg_v6_slot0, struct ipg_lpm_v6);
IPG_TRIE_PINNED(ipg_v6_slot1, struct ipg_lpm_v6);

/* Tries by 2 * list id + slot. Besides selecting a trie, an update of
 * these from userspace waits for running programs to finish (a grace
 * period). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, IPG_SLOTS *IPG_LISTS_MIN);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct ipg_trie_v4);
} ipg_v4_tries SEC(".maps") = {
	.values = { (void *)&ipg_v4_slot0, (void *)&ipg_v4_slot1 },
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, IPG_SLOTS *IPG_LISTS_MIN);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct ipg_trie_v6);
} ipg_v6_tries SEC(".maps") = {
	.values = { (void *)&ipg_v6_slot0, (void *)&ipg_v6_slot1 },
};

/* Break-glass grants: a single source address and the list it opens, the
 * boot-time ns until which it may pass (so grants lapse without a daemon)
 * and the key that made it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, IPG_GRANTS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ipg_grant_key);
	__type(value, struct ipg_grant_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ipg_grants SEC(".maps");

/* How many grants ipg_grants holds, kept by userspace with every grant
 * change. The program reads ipg_active[0]'s IPG_ACTIVE_GRANTS instead, so
 * that a flood of denied packets skips the grant lookup while there are
 * none (which is almost always) at no cost of its own. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ipg_bg_count SEC(".maps");

/* By list id * IPG_STAT_MAX + enum ipg_stat. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IPG_STAT_MAX *IPG_LISTS_MIN);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ipg_stats SEC(".maps");

/* By rule id, unique across lists. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IPG_RULE_IDS_MIN);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ipg_rule_hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ipg_meta);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ipg_meta SEC(".maps");

/* This host's addresses, kept by userspace: reject mode answers a SYN only
 * when it is addressed to one of them (the value is unused). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, IPG_LOCAL_ADDRS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ipg_local_addr);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ipg_local SEC(".maps");

/* What parsing learned about a packet: plain values, no packet pointers, so
 * the verifier checks the decision once however the packet was parsed. */
struct pkt {
	__u8 saddr[16]; /* IPv4 sources use the first 4 bytes */
	__u8 daddr[16]; /* the same, and read with the source */
	__u16 l3_off;
	__u16 l4_off;
	__u16 l4len; /* bytes of L4 inside the datagram */
	__u16 dport;
	__u8 family; /* 4 or 6 once the source address is readable */
	__u8 l4proto;
	__u8 unparseable; /* cannot tell whether it reaches a protected port */
	__u8 fragment; /* a first fragment: more of the datagram follows */
};

enum parse_result {
	PARSE_NON_IP,
	PARSE_LATER_FRAG,
	PARSE_L4, /* judge by protocol and port (or unparseable) */
};

/* Adds one to per-CPU counter @idx of @map, unless this is a probe. */
static __always_inline void count(void *map, __u32 idx, int probe)
{
	__u64 *v;

	if (probe)
		return;
	v = bpf_map_lookup_elem(map, &idx);
	if (v)
		*v += 1;
}

#define count_stat(probe, list, stat) \
	count(&ipg_stats, (list)*IPG_STAT_MAX + (stat), probe)
#define count_rule(probe, idx) count(&ipg_rule_hits, idx, probe)

/* Reads the L4 ports at the cursor into @p; marks it unparseable when they
 * are not all inside the datagram. */
static __always_inline void parse_ports(struct cursor *c, void *data,
					struct pkt *p)
{
	__be16 *ports = c->pos;

	p->l4_off = c->pos - data;
	if (p->l4proto != IPPROTO_TCP && p->l4proto != IPPROTO_UDP)
		return;
	if (!cursor_has(c, ports, 4)) {
		p->unparseable = 1;
		return;
	}
	p->dport = bpf_ntohs(ports[1]);
	p->l4len = c->lim - c->pos;
}

/* Returns an enum parse_result and fills @p; @frame (enum ipg_frame) says
 * where the frame starts. A global function: the verifier checks it once,
 * apart from the decision that follows. */
__attribute__((noinline)) int parse_packet(struct xdp_md *ctx, struct pkt *p,
					   int frame)
{
	void *data = (void *)(long)ctx->data;
	struct cursor c = {
		.pos = data,
		.end = (void *)(long)ctx->data_end,
		.lim = (void *)(long)ctx->data_end,
		.ctx = ctx,
	};
	int first_frag = 0, proto, r;
	__u8 l4proto;

	if (!p)
		return PARSE_NON_IP;
	if (frame == IPG_FRAME_IP) {
		proto = parse_ip_version(&c);
		if (proto < 0)
			return PARSE_NON_IP;
	} else {
		if (!cursor_has(&c, c.pos, sizeof(struct ethhdr)))
			return PARSE_NON_IP;
		proto = parse_ethhdr(&c);
		if (proto < 0) {
			p->unparseable = 1;
			return PARSE_L4;
		}
	}
	p->l3_off = c.pos - data;

	if (proto == IPG_ETH_P_IP) {
		struct iphdr *ip = parse_iphdr_fixed(&c);

		if (!ip) {
			p->unparseable = 1;
			return PARSE_L4;
		}
		p->family = 4;
		__builtin_memcpy(p->saddr, &ip->saddr, 4);
		__builtin_memcpy(p->daddr, &ip->daddr, 4);
		if (parse_iphdr_rest(&c, ip) < 0) {
			p->unparseable = 1;
			return PARSE_L4;
		}
		if (bpf_ntohs(ip->frag_off) & IPG_IP_OFFSET)
			return PARSE_LATER_FRAG;
		p->fragment = !!(ip->frag_off & bpf_htons(IPG_IP_MF));
		l4proto = ip->protocol;
		r = parse_exthdrs(&c, &l4proto, 0, &first_frag);
	} else if (proto == IPG_ETH_P_IPV6) {
		struct ipv6hdr *ip6 = parse_ipv6hdr_fixed(&c);

		if (!ip6) {
			p->unparseable = 1;
			return PARSE_L4;
		}
		p->family = 6;
		__builtin_memcpy(p->saddr, &ip6->saddr, 16);
		__builtin_memcpy(p->daddr, &ip6->daddr, 16);
		if (parse_ipv6hdr_rest(&c, ip6) < 0) {
			p->unparseable = 1;
			return PARSE_L4;
		}
		l4proto = ip6->nexthdr;
		r = parse_exthdrs(&c, &l4proto, 1, &first_frag);
		p->fragment = first_frag;
	} else {
		return PARSE_NON_IP;
	}

	if (r == EXTHDR_LATER_FRAG)
		return PARSE_LATER_FRAG;
	if (r == EXTHDR_BAD) {
		p->unparseable = 1;
		return PARSE_L4;
	}
	p->l4proto = l4proto;
	parse_ports(&c, data, p);
	return PARSE_L4;
}

static __always_inline int port_protected(const struct ipg_policy *pol,
					  const struct pkt *p)
{
	const struct ipg_ports *ports;
	__u32 set = pol->ports;
	const __u8 *bits;

	ports = bpf_map_lookup_elem(&ipg_ports, &set);
	if (!ports)
		return 1; /* cannot happen; judged as protected */
	if (p->l4proto == IPPROTO_TCP)
		bits = ports->tcp;
	else if (p->l4proto == IPPROTO_UDP)
		bits = ports->udp;
	else
		return 0;
	return bits[p->dport >> 3] & (1 << (p->dport & 7));
}

/* Whether the address at @a (an IPv6 address) is IPv4-mapped. */
static __always_inline int v4_mapped(const __u8 *a)
{
	const __u32 *w = (const __u32 *)a;

	return w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0xffff);
}

/* The id of the named list guarding @p's destination, or the default
 * list's; an IPv4-mapped IPv6 destination is looked up as IPv4. Only
 * called while ipg_active[0] (@word) says named lists claim destinations.
 * At most IPG_DST_PROBES array reads of table @word & IPG_ACTIVE_DSTS. */
static __always_inline __u32 list_of(const struct pkt *p, __u32 word)
{
	const __u32 *d = (const __u32 *)p->daddr;
	__u32 w[4] = {}, base, h;
	__u8 family;

	if (p->family == 6 && !v4_mapped(p->daddr)) {
		family = 6;
		w[0] = d[0];
		w[1] = d[1];
		w[2] = d[2];
		w[3] = d[3];
	} else if (p->family) {
		family = 4;
		w[0] = p->family == 6 ? d[3] : d[0];
	} else {
		return IPG_LIST_DEFAULT; /* no readable destination */
	}
	h = ipg_dst_hash(w, family);
	base = word & IPG_ACTIVE_DSTS ? dst_slots : 0;
	for (__u32 i = 0; i < IPG_DST_PROBES; i++) {
		__u32 idx = base + ((h + i) & (dst_slots - 1));
		const struct ipg_dst_entry *e;
		const __u32 *a;

		e = bpf_map_lookup_elem(&ipg_dsts, &idx);
		if (!e || !e->family)
			break;
		a = (const __u32 *)e->addr;
		if (e->family != family || a[0] != w[0])
			continue;
		/* IPv4 entries hold zeros past the address. */
		if (family == 4 ||
		    (a[1] == w[1] && a[2] == w[2] && a[3] == w[3]))
			return e->list;
	}
	return IPG_LIST_DEFAULT;
}

/* Whether an emergency override runs for every list or for list @list.
 * Asked only while ipg_active[0] says that a deadline is set. */
static __always_inline int overridden(__u32 list)
{
	__u32 host = 0, own = 1 + list;
	__u64 *a = bpf_map_lookup_elem(&ipg_override, &host);
	__u64 *b = bpf_map_lookup_elem(&ipg_override, &own);
	__u64 now;

	if (!(a && *a) && !(b && *b))
		return 0;
	now = bpf_ktime_get_boot_ns();
	return (a && now < *a) || (b && now < *b);
}

/* Whether @p's source holds a live grant for every list or for @list.
 * Asked only while ipg_active[0] says that grants exist. */
static __always_inline int granted(const struct pkt *p, __u32 list)
{
	struct ipg_grant_key k = { .list_id = IPG_LIST_ANY };
	struct ipg_grant_value *g;

	if (!p->family)
		return 0;
	if (p->family == 6 && !v4_mapped(p->saddr)) {
		k.family = 6;
		__builtin_memcpy(k.addr, p->saddr, 16);
	} else {
		k.family = 4;
		__builtin_memcpy(k.addr,
				 p->family == 6 ? &p->saddr[12] : &p->saddr[0],
				 4);
	}
	g = bpf_map_lookup_elem(&ipg_grants, &k);
	if (g && bpf_ktime_get_boot_ns() < g->expires_ns)
		return 1;
	k.list_id = list;
	g = bpf_map_lookup_elem(&ipg_grants, &k);
	return g && bpf_ktime_get_boot_ns() < g->expires_ns;
}

/* The entry of @trie matching @key longest that has not expired. An expired
 * one matches no more: the lookup goes on below its prefix length, so at
 * most once per length. @key's prefixlen is its first field; @max is the
 * family's longest prefix. Expiry costs a packet nothing until a matching
 * entry has a deadline, and one clock read then. */
static __always_inline struct ipg_rule *live_rule(void *trie, void *key,
						  const __u32 max)
{
	struct ipg_rule *r = bpf_map_lookup_elem(trie, key);
	__u32 *prefixlen = key;
	__u64 now;

	if (!r || !r->expires_ns)
		return r;
	now = bpf_ktime_get_boot_ns();
	for (__u32 i = 0; i <= max; i++) {
		if (!r || !r->expires_ns || now < r->expires_ns)
			return r;
		if (!r->prefixlen || r->prefixlen > *prefixlen)
			return NULL; /* nothing shorter; or a bad value */
		*prefixlen = r->prefixlen - 1;
		r = bpf_map_lookup_elem(trie, key);
	}
	return NULL;
}

/* The rule of range table @t's range holding @addr (network order), or
 * IPG_V4_RANGE_NONE. A binary search without branches: each step's load
 * waits on no guess, however the sources of a flood vary. */
static __always_inline __u32 range_rule(const struct ipg_v4_table *t,
					__be32 addr)
{
	__u64 x = bpf_ntohl(addr);
	__u32 i = 0;

#pragma unroll
	for (int k = IPG_V4_TABLE_STEPS - 1; k >= 0; k--) {
		/* Bit 63 of start - x - 1: whether the range starts at or
		 * below x (both below 2^32). */
		__u64 below = (t->start[i + (1u << k)] - x - 1) >> 63;

		i += (__u32)(below << k);
	}
	return t->rule[i];
}

/* A rule id no entry has: what source_rule() answers when none matches
 * (a range table's uncovered range says the same). */
#define NO_RULE IPG_V4_RANGE_NONE

/* The rule id of the live entry of slot @idx (policy @pol) matching @p's
 * source, or NO_RULE. An IPv4 source (also one IPv4-mapped in
 * IPv6) is searched in the slot's range table when it has one, and in its
 * trie when not, or when the range's entry expires; an IPv6 source in the
 * IPv6 trie. Only the family's trie is looked up. */
static __always_inline __u32 source_rule(const struct pkt *p,
					 const struct ipg_policy *pol,
					 __u32 idx)
{
	const __u32 *w = (const __u32 *)p->saddr;
	struct ipg_lpm_v4 key4 = { .prefixlen = 32 };
	const struct ipg_v4_table *t;
	struct ipg_rule *r = NULL;
	__u32 rule;
	void *trie;

	if (p->family == 6 && !v4_mapped(p->saddr)) {
		struct ipg_lpm_v6 key = { .prefixlen = 128 };

		__builtin_memcpy(key.addr, p->saddr, 16);
		trie = bpf_map_lookup_elem(&ipg_v6_tries, &idx);
		if (trie)
			r = live_rule(trie, &key, 128);
		return r ? r->id : NO_RULE;
	}
	if (!p->family)
		return NO_RULE; /* source unknown */
	__builtin_memcpy(key4.addr, p->family == 6 ? &w[3] : &w[0], 4);
	if (pol->flags & IPG_POLICY_V4_TABLE) {
		t = bpf_map_lookup_elem(&ipg_v4_table, &idx);
		rule = t ? range_rule(t, *(__be32 *)key4.addr) :
			   IPG_V4_RANGE_NONE;
		if (rule == IPG_V4_RANGE_NONE || !(rule & IPG_V4_RANGE_TRIE))
			return rule;
	}
	trie = bpf_map_lookup_elem(&ipg_v4_tries, &idx);
	if (trie)
		r = live_rule(trie, &key4, 32);
	return r ? r->id : NO_RULE;
}

static __always_inline __u16 csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

/* Sums @words 16-bit words at @p as stored (byte-order independent). */
static __always_inline __u64 csum_words(const void *p, int words)
{
	const __u16 *w = p;
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < words; i++)
		sum += w[i];
	return sum;
}

_Static_assert(sizeof(struct tcphdr) == IPG_TCP_HLEN, "tcphdr");

struct rst_v4 {
	struct iphdr ip;
	struct tcphdr tcp;
};

struct rst_v6 {
	struct ipv6hdr ip6;
	struct tcphdr tcp;
};

/* Fills the RST|ACK answering @syn (which carried @datalen bytes of data)
 * with ports swapped and the TCP checksum over @pseudo_sum. */
static __always_inline void fill_rst(struct tcphdr *th,
				     const struct tcphdr *syn, __u32 datalen,
				     __u64 pseudo_sum)
{
	__builtin_memset(th, 0, sizeof(*th));
	th->source = syn->dest;
	th->dest = syn->source;
	/* A SYN occupies one sequence number, plus any data it carries. */
	th->ack_seq = bpf_htonl(bpf_ntohl(syn->seq) + 1 + datalen);
	th->doff = sizeof(*th) / 4;
	((__u8 *)th)[IPG_TCP_FLAGS_OFF] = IPG_TCP_RST | IPG_TCP_ACK;
	pseudo_sum += bpf_htons(IPPROTO_TCP) + bpf_htons(sizeof(*th));
	th->check = csum_fold(pseudo_sum + csum_words(th, sizeof(*th) / 2));
}

/* Whether @addr (network order, 4 or 16 bytes) is one of this host's. */
static __always_inline int local_v4(const __be32 *addr)
{
	struct ipg_local_addr k = { .family = 4 };

	__builtin_memcpy(k.addr, addr, 4);
	return bpf_map_lookup_elem(&ipg_local, &k) != NULL;
}

static __always_inline int local_v6(const struct in6_addr *addr)
{
	struct ipg_local_addr k = { .family = 6 };

	__builtin_memcpy(k.addr, addr, 16);
	return bpf_map_lookup_elem(&ipg_local, &k) != NULL;
}

/* Whether a reset may be sent to source @a: not unspecified (0.0.0.0/8),
 * multicast (224.0.0.0/4) or reserved and broadcast (240.0.0.0/4). */
static __always_inline int unicast_v4(__be32 a)
{
	__u8 first = bpf_ntohl(a) >> 24;

	return first != 0 && first < 224;
}

/* The same for IPv6: not unspecified (::) and not multicast (ff00::/8). */
static __always_inline int unicast_v6(const struct in6_addr *a)
{
	const __u32 *w = (const __u32 *)a;

	return a->in6_u.u6_addr8[0] != 0xff && (w[0] | w[1] | w[2] | w[3]);
}

/* Turns a blocked TCP SYN into a RST|ACK back to its sender, in place:
 * MACs, addresses and ports swapped, VLAN tags kept, IP options and
 * extension headers dropped. The reply is built on the stack and copied in.
 * Only a unicast SYN (by MAC and by source address) to one of this host's
 * addresses is answered: a reset for anything else would answer for other
 * hosts or to many at once.
 * Returns XDP_TX, or XDP_DROP when the SYN cannot or may not be answered. */
static __always_inline int tx_reset(struct xdp_md *ctx, const struct pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	/* Masks bound the offsets for the verifier; frames are far shorter. */
	__u32 l3_off = p->l3_off & 0xff, hdr_len, datalen, newlen;
	struct tcphdr *in = data + (p->l4_off & 0x3fff);
	struct ethhdr *eth = data;
	struct tcphdr syn;
	__u8 mac[ETH_ALEN], flags;

	if (p->fragment || p->l4len < sizeof(syn) || (void *)(in + 1) > end)
		return XDP_DROP;
	/* To or (invalid, but the reset would go there) from a group MAC. */
	if ((void *)(eth + 1) > end ||
	    ((eth->h_dest[0] | eth->h_source[0]) & 1))
		return XDP_DROP;
	__builtin_memcpy(&syn, in, sizeof(syn));
	flags = ((const __u8 *)&syn)[IPG_TCP_FLAGS_OFF];
	if (!(flags & IPG_TCP_SYN) || (flags & (IPG_TCP_ACK | IPG_TCP_RST)))
		return XDP_DROP;
	hdr_len = syn.doff * 4;
	if (hdr_len < sizeof(syn) || hdr_len > p->l4len)
		return XDP_DROP;
	datalen = p->l4len - hdr_len;

	if (p->family == 4) {
		struct rst_v4 r = {};
		struct iphdr *ip = data + l3_off;

		if ((void *)ip + sizeof(r) > end)
			return XDP_DROP;
		if (!unicast_v4(ip->saddr) || !local_v4(&ip->daddr))
			return XDP_DROP;
		r.ip.version = 4;
		r.ip.ihl = 5;
		r.ip.tot_len = bpf_htons(sizeof(r));
		r.ip.frag_off = bpf_htons(IPG_IP_DF);
		r.ip.ttl = 64;
		r.ip.protocol = IPPROTO_TCP;
		r.ip.saddr = ip->daddr;
		r.ip.daddr = ip->saddr;
		r.ip.check = csum_fold(csum_words(&r.ip, sizeof(r.ip) / 2));
		fill_rst(&r.tcp, &syn, datalen, csum_words(&r.ip.saddr, 4));
		__builtin_memcpy(ip, &r, sizeof(r));
		newlen = l3_off + sizeof(r);
	} else {
		struct rst_v6 r = {};
		struct ipv6hdr *ip6 = data + l3_off;

		if ((void *)ip6 + sizeof(r) > end)
			return XDP_DROP;
		if (!unicast_v6(&ip6->saddr) || !local_v6(&ip6->daddr))
			return XDP_DROP;
		r.ip6.version = 6;
		r.ip6.payload_len = bpf_htons(sizeof(r.tcp));
		r.ip6.nexthdr = IPPROTO_TCP;
		r.ip6.hop_limit = 64;
		r.ip6.saddr = ip6->daddr;
		r.ip6.daddr = ip6->saddr;
		fill_rst(&r.tcp, &syn, datalen, csum_words(&r.ip6.saddr, 16));
		__builtin_memcpy(ip6, &r, sizeof(r));
		newlen = l3_off + sizeof(r);
	}

	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);

	if (bpf_xdp_adjust_tail(ctx, (int)newlen - (int)(end - data)))
		return XDP_DROP;
	return XDP_TX;
}

/* The common frame, parsed inline: untagged IPv4 without options or
 * fragmentation, carrying TCP or UDP whose ports lie inside the datagram.
 * Fills @p exactly as parse_packet() would and returns 0; returns -1 for
 * anything else, which parse_packet() then handles. It saves the call and
 * the general walk on most packets (see the benchmark report). @frame is a
 * constant, so each entry point gets its own straight-line copy. */
static __always_inline int parse_common(struct xdp_md *ctx, struct pkt *p,
					const int frame)
{
	void *data = (void *)(long)ctx->data,
	     *end = (void *)(long)ctx->data_end;
	const __u32 l2 = frame == IPG_FRAME_IP ? 0 : sizeof(struct ethhdr);
	struct ethhdr *eth = data;
	struct iphdr *ip = data + l2;
	__be16 *ports = (void *)(ip + 1);
	__u32 tot;

	if ((void *)(ports + 2) > end ||
	    (frame != IPG_FRAME_IP &&
	     eth->h_proto != bpf_htons(IPG_ETH_P_IP)) ||
	    *(__u8 *)ip != (4 << 4 | IPG_IPV4_HLEN / 4) ||
	    (ip->frag_off & bpf_htons(IPG_IP_MF | IPG_IP_OFFSET)) ||
	    (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP))
		return -1;
	tot = bpf_ntohs(ip->tot_len);
	/* Past the first buffer (a jumbo frame): the full parser's job. */
	if (tot < sizeof(*ip) + 4 || (void *)ip + tot > end)
		return -1;
	p->family = 4;
	__builtin_memcpy(p->saddr, &ip->saddr, 4);
	__builtin_memcpy(p->daddr, &ip->daddr, 4);
	p->l3_off = l2;
	p->l4_off = l2 + sizeof(*ip);
	p->l4proto = ip->protocol;
	p->dport = bpf_ntohs(ports[1]);
	p->l4len = tot - sizeof(*ip);
	return 0;
}

static __always_inline int is_probe(struct xdp_md *ctx)
{
	struct ipg_probe_meta *m = (void *)(long)ctx->data_meta;

	if ((void *)(m + 1) > (void *)(long)ctx->data)
		return 0;
	return probe_cookie && m->cookie == probe_cookie;
}

/* Reports @p's source as blocked (or shadow-passed) by list @list, within
 * the budget: past it, a flood costs this one window test. Called only
 * while ipg_active[0] says that the log is on. */
static __always_inline void report(int probe, __u32 list, const struct pkt *p,
				   __u8 shadow)
{
	struct ipg_blocked_window *w;
	struct ipg_blocked_cfg *cfg;
	struct ipg_blocked_event ev;
	__u32 zero = 0;

	if (probe || !p->family)
		return;
	cfg = bpf_map_lookup_elem(&ipg_blocked_cfg, &zero);
	if (!cfg || !cfg->budget)
		return;
	w = bpf_map_lookup_elem(&ipg_blocked_budget, &list);
	if (!w)
		return;
	/* A new second (ipgated's tick): a new budget. No clock is read, so
	 * a flood past the budget costs two array reads and a compare. */
	if (w->epoch != cfg->epoch) {
		w->epoch = cfg->epoch;
		w->used = 0;
	}
	if (w->used >= cfg->budget)
		return;
	w->used++;
	__builtin_memset(&ev, 0, sizeof(ev));
	__builtin_memcpy(ev.addr, p->saddr, 16);
	ev.list = list;
	ev.dport = p->dport;
	ev.family = p->family;
	ev.proto = p->l4proto;
	ev.shadow = shadow;
	bpf_ringbuf_output(&ipg_blocked, &ev, sizeof(ev), 0);
}

/* The decision, for a frame that starts where the constant @frame says;
 * @probe: a test run of `ipgate test` (counted nowhere, reported never).
 * Sets *@hints to ipg_active[0]'s IPG_ACTIVE_HINTS once it has read them. */
static __always_inline int judge(struct xdp_md *ctx, const int frame, int probe,
				 __u32 *hints)
{
	const struct ipg_policy *pol;
	__u32 zero = 0, list = IPG_LIST_DEFAULT, word, idx, rule;
	struct pkt p = {};
	__u32 *active;
	int r;

	r = parse_common(ctx, &p, frame) ? parse_packet(ctx, &p, frame) :
					   PARSE_L4;
	if (r == PARSE_NON_IP) {
		count_stat(probe, IPG_LIST_DEFAULT, IPG_STAT_PASS_NON_IP);
		return XDP_PASS;
	}

	/* The list: the default one unless named lists claim destinations
	 * and one claims this packet's. */
	active = bpf_map_lookup_elem(&ipg_active, &zero);
	if (!active)
		return XDP_PASS;
	word = *active;
	*hints = word & IPG_ACTIVE_HINTS;
	if (word & IPG_ACTIVE_NAMED) {
		list = list_of(&p, word);
		if (list != IPG_LIST_DEFAULT) {
			active = bpf_map_lookup_elem(&ipg_active, &list);
			if (active) {
				word = *active;
			} else { /* cannot happen: judged by the default */
				list = IPG_LIST_DEFAULT;
			}
		}
	}
	if (r == PARSE_LATER_FRAG) {
		count_stat(probe, list, IPG_STAT_PASS_FRAGMENT);
		return XDP_PASS;
	}
	idx = list * IPG_SLOTS + (word & IPG_ACTIVE_SLOT);
	pol = bpf_map_lookup_elem(&ipg_policy, &idx);
	if (!pol)
		return XDP_PASS;

	if (!p.unparseable && !port_protected(pol, &p)) {
		count_stat(probe, list, IPG_STAT_PASS_UNPROTECTED);
		return XDP_PASS;
	}
	if (!pol->enabled) {
		count_stat(probe, list, IPG_STAT_PASS_DISABLED);
		return XDP_PASS;
	}
	if ((*hints & IPG_ACTIVE_OVERRIDE) && overridden(list)) {
		count_stat(probe, list, IPG_STAT_PASS_OVERRIDE);
		return XDP_PASS;
	}

	rule = source_rule(&p, pol, idx);
	if (rule != NO_RULE) {
		count_stat(probe, list, IPG_STAT_PASS_ALLOWED);
		count_rule(probe, rule);
		return XDP_PASS;
	}
	if ((*hints & IPG_ACTIVE_GRANTS) && granted(&p, list)) {
		count_stat(probe, list, IPG_STAT_PASS_BREAKGLASS);
		return XDP_PASS;
	}
	/* Shadow mode: what would be dropped passes, counted. */
	if (pol->mode == IPG_MODE_SHADOW) {
		count_stat(probe, list, IPG_STAT_PASS_SHADOW);
		if (*hints & IPG_ACTIVE_BLOCKED)
			report(probe, list, &p, 1);
		return XDP_PASS;
	}
	if (*hints & IPG_ACTIVE_BLOCKED)
		report(probe, list, &p, 0);
	if (p.unparseable) {
		count_stat(probe, list, IPG_STAT_DROP_MALFORMED);
		return XDP_DROP;
	}
	/* A frame without an Ethernet header cannot be turned around: reject
	 * mode drops there. */
	if (frame == IPG_FRAME_ETH && pol->mode == IPG_MODE_REJECT &&
	    p.l4proto == IPPROTO_TCP) {
		r = tx_reset(ctx, &p);
		if (r == XDP_TX) {
			count_stat(probe, list, IPG_STAT_TX_RESET);
			return XDP_TX;
		}
	}
	count_stat(probe, list, IPG_STAT_DROP_DENIED);
	return XDP_DROP;
}

/* Both entry points declare multi-buffer support (xdp.frags), so that they
 * attach natively to devices whose MTU exceeds a page (jumbo frames). The
 * headers they read are in the first buffer; a frame whose headers are
 * not is judged as unparseable, as a truncated one is. */
/* Judges the frame; one it passes goes on to the chained program, if any
 * (a probe's never: its verdict is ipgate's own). Whether it is a probe is
 * read once, here. A frame judged before ipg_active was read (non-IP)
 * tries the chain whatever its bit says. */
static __always_inline int judge_and_pass_on(struct xdp_md *ctx,
					     const int frame)
{
	__u32 zero = 0, hints = IPG_ACTIVE_CHAIN;
	int probe = is_probe(ctx), verdict = judge(ctx, frame, probe, &hints);

	if (verdict == XDP_PASS && !probe && (hints & IPG_ACTIVE_CHAIN))
		bpf_tail_call(ctx, &ipg_chain, zero);
	return verdict;
}

SEC("xdp.frags")
int ipgate_xdp(struct xdp_md *ctx)
{
	return judge_and_pass_on(ctx, IPG_FRAME_ETH);
}

SEC("xdp.frags")
int ipgate_xdp_l3(struct xdp_md *ctx)
{
	return judge_and_pass_on(ctx, IPG_FRAME_IP);
}
