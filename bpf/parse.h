/* SPDX-License-Identifier: GPL-2.0 */
/* Packet-parsing helpers for the XDP program: a cursor and one parser per
 * header. Every parser checks bounds against the cursor's end. */
#ifndef IPGATE_BPF_PARSE_H
#define IPGATE_BPF_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "ipgate/limits.h"
#include "ipgate/proto.h"

/* The kernel's structs and ipgate/proto.h describe the same headers. */
_Static_assert(sizeof(struct ethhdr) == IPG_ETH_HLEN, "ethhdr");
_Static_assert(sizeof(struct iphdr) == IPG_IPV4_HLEN, "iphdr");
_Static_assert(sizeof(struct ipv6hdr) == IPG_IPV6_HLEN, "ipv6hdr");

/* end is the end of the frame's first buffer (the bound the verifier
 * knows; the whole frame unless it is multi-buffer); lim is the end of the
 * IP datagram once its length is known, which lies past end when the
 * datagram goes on in further buffers (a jumbo frame). */
struct cursor {
	void *pos;
	void *end;
	void *lim;
	struct xdp_md *ctx;
};

/* Bytes of the frame past its first buffer (multi-buffer frames). Asked
 * only when a length runs past the first buffer, so a frame that fits in
 * one pays nothing for it. */
static __always_inline __u32 frame_rest(struct xdp_md *ctx)
{
	__u64 all = bpf_xdp_get_buff_len(ctx);
	__u32 first = ctx->data_end - ctx->data;

	return all > first ? (__u32)(all - first) : 0;
}

/* Whether @len bytes from @p fit in the frame: in its first buffer, or
 * with the buffers after it. */
static __always_inline int frame_holds(struct cursor *c, void *p, __u32 len)
{
	__u32 room = c->end - p;

	return len <= room || len <= room + frame_rest(c->ctx);
}

/* Returns whether n bytes from p lie inside both the frame and datagram. */
static __always_inline int cursor_has(struct cursor *c, void *p, __u32 n)
{
	return p + n <= c->end && p + n <= c->lim;
}

struct vlan_tag {
	__be16 tci;
	__be16 proto;
};
_Static_assert(sizeof(struct vlan_tag) == IPG_VLAN_HLEN, "vlan_tag");

/* Returns the ethertype (host order) after at most IPG_VLAN_MAX tags, or -1
 * when the frame is truncated or still tagged; advances the cursor. */
static __always_inline int parse_ethhdr(struct cursor *c)
{
	struct ethhdr *eth = c->pos;
	__u16 proto;

	if (!cursor_has(c, eth, sizeof(*eth)))
		return -1;
	c->pos = eth + 1;
	proto = bpf_ntohs(eth->h_proto);

#pragma unroll
	for (int i = 0; i < IPG_VLAN_MAX; i++) {
		struct vlan_tag *tag = c->pos;

		if (proto != IPG_ETH_P_8021Q && proto != IPG_ETH_P_8021AD)
			break;
		if (!cursor_has(c, tag, sizeof(*tag)))
			return -1;
		c->pos = tag + 1;
		proto = bpf_ntohs(tag->proto);
	}
	if (proto == IPG_ETH_P_8021Q || proto == IPG_ETH_P_8021AD)
		return -1;
	return proto;
}

/* For a frame that starts at the IP header: returns the ethertype (host
 * order) of the IP version in the first nibble, or -1 when it is neither 4
 * nor 6 (not IP: the stack drops it); does not advance the cursor. */
static __always_inline int parse_ip_version(struct cursor *c)
{
	__u8 *v = c->pos;

	if (!cursor_has(c, v, 1))
		return -1;
	if (*v >> 4 == 4)
		return IPG_ETH_P_IP;
	if (*v >> 4 == 6)
		return IPG_ETH_P_IPV6;
	return -1;
}

/* Returns the fixed IPv4 header, or NULL when fewer than 20 bytes remain;
 * does not advance the cursor. */
static __always_inline struct iphdr *parse_iphdr_fixed(struct cursor *c)
{
	struct iphdr *ip = c->pos;

	if (!cursor_has(c, ip, sizeof(*ip)))
		return NULL;
	return ip;
}

/* Validates version, IHL and total length of @ip; returns 0 and moves the
 * cursor to the L4 header and its end to the datagram's end, or -1.
 * A total length of 0 (BIG TCP's GRO packets, seen in generic XDP) leaves
 * the frame's end in place: judged by its ports, such a packet is never
 * passed where a packet with a true length would not be. */
static __always_inline int parse_iphdr_rest(struct cursor *c, struct iphdr *ip)
{
	__u32 hlen = ip->ihl * 4;
	__u32 tot = bpf_ntohs(ip->tot_len);

	if (ip->version != 4 || hlen < sizeof(*ip))
		return -1;
	if (tot) {
		if (tot < hlen || !frame_holds(c, ip, tot))
			return -1;
		c->lim = (void *)ip + tot;
	}
	c->pos = (void *)ip + hlen;
	return 0;
}

/* Returns the fixed IPv6 header, or NULL when fewer than 40 bytes remain;
 * does not advance the cursor. */
static __always_inline struct ipv6hdr *parse_ipv6hdr_fixed(struct cursor *c)
{
	struct ipv6hdr *ip6 = c->pos;

	if (!cursor_has(c, ip6, sizeof(*ip6)))
		return NULL;
	return ip6;
}

/* Validates version and payload length of @ip6; returns 0 and moves the
 * cursor past the fixed header, its end to the datagram's end, or -1.
 * A zero payload length (jumbogram) leaves the frame's end in place. */
static __always_inline int parse_ipv6hdr_rest(struct cursor *c,
					      struct ipv6hdr *ip6)
{
	__u32 plen = bpf_ntohs(ip6->payload_len);

	if (ip6->version != 6)
		return -1;
	c->pos = ip6 + 1;
	if (plen) {
		if (!frame_holds(c, c->pos, plen))
			return -1;
		c->lim = c->pos + plen;
	}
	return 0;
}

enum exthdr_result {
	EXTHDR_L4 = 0, /* *proto holds the upper-layer protocol */
	EXTHDR_LATER_FRAG, /* a fragment at a non-zero offset */
	EXTHDR_BAD, /* truncated, or longer than IPG_EXTHDR_MAX */
};

static __always_inline int is_ipv6_exthdr(__u8 proto)
{
	return proto == IPG_IPPROTO_HOPOPTS || proto == IPG_IPPROTO_ROUTING ||
	       proto == IPG_IPPROTO_FRAGMENT || proto == IPG_IPPROTO_DSTOPTS ||
	       proto == IPG_IPPROTO_AH || proto == IPG_IPPROTO_MH;
}

/* Walks the headers between the IP header and the upper layer: the IPv6
 * extension headers, or (for IPv4, v6 == 0) authentication headers only.
 * Returns an enum exthdr_result; advances the cursor; sets *first_frag when
 * a fragment header at offset 0 was passed. */
static __always_inline int parse_exthdrs(struct cursor *c, __u8 *proto, int v6,
					 int *first_frag)
{
#pragma unroll
	for (int i = 0; i < IPG_EXTHDR_MAX; i++) {
		__u8 *h = c->pos;
		__u32 len;

		if (v6 ? !is_ipv6_exthdr(*proto) : *proto != IPG_IPPROTO_AH)
			return EXTHDR_L4;
		if (!cursor_has(c, h, 8))
			return EXTHDR_BAD;
		switch (*proto) {
		case IPG_IPPROTO_FRAGMENT:
			if (bpf_ntohs(*(__be16 *)(h + 2)) & IPG_IP6_OFFSET)
				return EXTHDR_LATER_FRAG;
			*first_frag = 1;
			len = IPG_FRAG_HLEN;
			break;
		case IPG_IPPROTO_AH:
			len = ((__u32)h[1] + 2) * 4;
			break;
		default:
			len = ((__u32)h[1] + 1) * 8;
			break;
		}
		if (!cursor_has(c, h, len))
			return EXTHDR_BAD;
		*proto = h[0];
		c->pos += len;
	}
	if (v6 ? is_ipv6_exthdr(*proto) : *proto == IPG_IPPROTO_AH)
		return EXTHDR_BAD;
	return EXTHDR_L4;
}

#endif
