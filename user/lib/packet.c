// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "ipgate/proto.h"
#include "packet.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

uint32_t ipg_csum_add(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	return sum;
}

uint16_t ipg_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Length of one extension header as this builder writes it. */
static size_t ext_len(uint8_t type)
{
	return type == IPG_IPPROTO_AH ? 16 : 8;
}

/* The Ethernet header and its VLAN tags (@s->n_vlan, outermost first). */
static void put_l2(const struct ipg_pkt_spec *s, uint8_t *buf)
{
	static const uint8_t dmac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const uint8_t smac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const uint8_t nomac[6];
	size_t off = 12;

	memcpy(buf, memcmp(s->dmac, nomac, 6) ? s->dmac : dmac, 6);
	memcpy(buf + 6, smac, 6);
	for (int i = 0; i < s->n_vlan; i++) {
		put16(buf + off,
		      s->vlan_tpid[i] ? s->vlan_tpid[i] : IPG_ETH_P_8021Q);
		put16(buf + off + 2, (uint16_t)(100 + i));
		off += IPG_VLAN_HLEN;
	}
	put16(buf + off, s->family == 4 ? IPG_ETH_P_IP : IPG_ETH_P_IPV6);
}

/* The IPv4 header of @hlen bytes (options included) at @ip, for a
 * datagram of @len bytes. */
static void put_v4(const struct ipg_pkt_spec *s, uint8_t *ip, size_t hlen,
		   size_t len)
{
	uint16_t frag = s->frag_off & IPG_IP_OFFSET;

	if (s->more_frags)
		frag |= IPG_IP_MF;
	ip[0] = (uint8_t)(0x40 | (hlen / 4));
	put16(ip + 2, (uint16_t)len);
	put16(ip + 6, frag);
	ip[8] = 64;
	ip[9] = s->proto;
	memcpy(ip + 12, s->src, 4);
	memcpy(ip + 16, s->dst, 4);
	for (size_t i = IPG_IPV4_HLEN; i < hlen; i++)
		ip[i] = 1; /* NOP options */
	put16(ip + 10, ipg_csum_fold(ipg_csum_add(ip, hlen, 0)));
}

/* The IPv6 header at @ip, its extension headers and any fragment header,
 * for a datagram of @len bytes. */
static void put_v6(const struct ipg_pkt_spec *s, uint8_t *ip, size_t len)
{
	size_t p = IPG_IPV6_HLEN;

	put32(ip, 0x60000000);
	put16(ip + 4, (uint16_t)(len - IPG_IPV6_HLEN));
	ip[7] = 64;
	memcpy(ip + 8, s->src, 16);
	memcpy(ip + 24, s->dst, 16);
	ip[6] = s->n_ext    ? s->ext[0] :
		s->fragment ? IPG_IPPROTO_FRAGMENT :
			      s->proto;
	for (int i = 0; i < s->n_ext; i++) {
		size_t n = ext_len(s->ext[i]);

		ip[p] = i + 1 < s->n_ext ? s->ext[i + 1] :
			s->fragment	 ? IPG_IPPROTO_FRAGMENT :
					   s->proto;
		ip[p + 1] = s->ext[i] == IPG_IPPROTO_AH ? (uint8_t)(n / 4 - 2) :
							  (uint8_t)(n / 8 - 1);
		p += n;
	}
	if (s->fragment) {
		ip[p] = s->proto;
		put16(ip + p + 2, (uint16_t)((s->frag_off << 3) |
					     (s->more_frags ? IPG_IP6_MF : 0)));
		put32(ip + p + 4, 0x1234);
	}
}

/* The TCP or UDP header at @l4, whose segment (payload in place) is @len
 * bytes, and its checksum over the pseudo-header of the IP header at @ip.
 * The checksum is only right for an unfragmented datagram; test
 * frames need it only for the stack's sake. */
static void put_l4(const struct ipg_pkt_spec *s, const uint8_t *ip, uint8_t *l4,
		   size_t len)
{
	uint32_t sum;

	put16(l4, s->sport);
	put16(l4 + 2, s->dport);
	if (s->proto == IPPROTO_TCP) {
		put32(l4 + 4, s->tcp_seq);
		l4[12] = (IPG_TCP_HLEN / 4) << 4;
		l4[IPG_TCP_FLAGS_OFF] = s->tcp_flags ? s->tcp_flags :
						       IPG_TCP_SYN;
		put16(l4 + 14, 64240);
	} else {
		put16(l4 + 4, (uint16_t)len);
	}
	if (s->family == 4)
		sum = ipg_csum_add(ip + 12, 8, 0);
	else
		sum = ipg_csum_add(ip + 8, 32, 0);
	sum += s->proto + (uint32_t)len;
	put16(l4 + (s->proto == IPPROTO_TCP ? 16 : 6),
	      ipg_csum_fold(ipg_csum_add(l4, len, sum)));
}

size_t ipg_pkt_build(const struct ipg_pkt_spec *s, uint8_t *buf, size_t cap)
{
	size_t l4hdr = s->proto == IPPROTO_TCP ? IPG_TCP_HLEN :
		       s->proto == IPPROTO_UDP ? IPG_UDP_HLEN :
						 0;
	size_t l2, iphdr, exts = 0, l4, total;

	if (s->n_vlan > IPG_PKT_VLAN_MAX || s->n_ext > IPG_PKT_EXT_MAX ||
	    s->ip4_optlen % 4 || s->ip4_optlen > 40)
		return 0;
	for (int i = 0; i < s->n_ext; i++)
		exts += ext_len(s->ext[i]);
	if (s->family == 6 && s->fragment)
		exts += IPG_FRAG_HLEN;
	iphdr = s->family == 4 ? IPG_IPV4_HLEN + (size_t)s->ip4_optlen :
				 IPG_IPV6_HLEN;
	l2 = s->frame == IPG_FRAME_IP ?
		     0 :
		     IPG_ETH_HLEN + IPG_VLAN_HLEN * (size_t)s->n_vlan;
	total = l2 + iphdr + exts + l4hdr + s->payload_len;
	if (total > cap)
		return 0;
	memset(buf, 0, total);

	if (l2)
		put_l2(s, buf);
	if (s->family == 4)
		put_v4(s, buf + l2, iphdr, total - l2);
	else
		put_v6(s, buf + l2, total - l2);
	l4 = l2 + iphdr + exts;
	if (s->proto == IPPROTO_TCP || s->proto == IPPROTO_UDP) {
		for (size_t i = l4 + l4hdr; i < total; i++)
			buf[i] = (uint8_t)i;
		put_l4(s, buf + l2, buf + l4, total - l4);
	}
	return total;
}
