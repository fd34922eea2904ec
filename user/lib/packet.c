// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

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
	return type == IPPROTO_AH ? 16 : 8;
}

size_t ipg_pkt_build(const struct ipg_pkt_spec *s, uint8_t *buf, size_t cap)
{
	static const uint8_t dmac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	static const uint8_t smac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	size_t l4hdr = s->proto == IPPROTO_TCP ? 20 :
		       s->proto == IPPROTO_UDP ? 8 :
						 0;
	size_t off = 12, l2, l3, l4, iphdr, exts = 0, total;
	static const uint8_t nomac[6];
	uint8_t next;

	if (s->n_vlan > IPG_PKT_VLAN_MAX || s->n_ext > IPG_PKT_EXT_MAX ||
	    s->ip4_optlen % 4 || s->ip4_optlen > 40)
		return 0;
	for (int i = 0; i < s->n_ext; i++)
		exts += ext_len(s->ext[i]);
	if (s->family == 6 && s->fragment)
		exts += 8;
	iphdr = s->family == 4 ? 20 + (size_t)s->ip4_optlen : 40;
	l2 = s->frame == IPG_FRAME_IP ? 0 : 14 + 4 * (size_t)s->n_vlan;
	total = l2 + iphdr + exts + l4hdr + s->payload_len;
	if (total > cap)
		return 0;
	memset(buf, 0, total);

	if (l2) {
		memcpy(buf, memcmp(s->dmac, nomac, 6) ? s->dmac : dmac, 6);
		memcpy(buf + 6, smac, 6);
		for (int i = 0; i < s->n_vlan; i++) {
			put16(buf + off,
			      s->vlan_tpid[i] ? s->vlan_tpid[i] : 0x8100);
			put16(buf + off + 2, (uint16_t)(100 + i));
			off += 4;
		}
		put16(buf + off, s->family == 4 ? 0x0800 : 0x86dd);
	}
	l3 = l2;
	l4 = l3 + iphdr + exts;

	if (s->family == 4) {
		uint16_t frag = s->frag_off & 0x1fff;

		if (s->more_frags)
			frag |= 0x2000;
		buf[l3] = (uint8_t)(0x40 | (iphdr / 4));
		put16(buf + l3 + 2, (uint16_t)(total - l3));
		put16(buf + l3 + 6, frag);
		buf[l3 + 8] = 64;
		buf[l3 + 9] = s->proto;
		memcpy(buf + l3 + 12, s->src, 4);
		memcpy(buf + l3 + 16, s->dst, 4);
		for (int i = 0; i < s->ip4_optlen; i++)
			buf[l3 + 20 + i] = 1; /* NOP options */
		put16(buf + l3 + 10,
		      ipg_csum_fold(ipg_csum_add(buf + l3, iphdr, 0)));
	} else {
		size_t p = l3 + 40;

		put32(buf + l3, 0x60000000);
		put16(buf + l3 + 4, (uint16_t)(total - l3 - 40));
		buf[l3 + 7] = 64;
		memcpy(buf + l3 + 8, s->src, 16);
		memcpy(buf + l3 + 24, s->dst, 16);
		next = s->n_ext	   ? s->ext[0] :
		       s->fragment ? IPPROTO_FRAGMENT :
				     s->proto;
		buf[l3 + 6] = next;
		for (int i = 0; i < s->n_ext; i++) {
			size_t len = ext_len(s->ext[i]);

			buf[p] = i + 1 < s->n_ext ? s->ext[i + 1] :
				 s->fragment	  ? IPPROTO_FRAGMENT :
						    s->proto;
			buf[p + 1] = s->ext[i] == IPPROTO_AH ?
					     (uint8_t)(len / 4 - 2) :
					     (uint8_t)(len / 8 - 1);
			p += len;
		}
		if (s->fragment) {
			buf[p] = s->proto;
			put16(buf + p + 2, (uint16_t)((s->frag_off << 3) |
						      (s->more_frags ? 1 : 0)));
			put32(buf + p + 4, 0x1234);
		}
	}

	if (s->proto == IPPROTO_TCP || s->proto == IPPROTO_UDP) {
		uint32_t sum = 0;
		size_t l4len = total - l4;

		put16(buf + l4, s->sport);
		put16(buf + l4 + 2, s->dport);
		if (s->proto == IPPROTO_TCP) {
			put32(buf + l4 + 4, s->tcp_seq);
			buf[l4 + 12] = 5 << 4;
			buf[l4 + 13] = s->tcp_flags ? s->tcp_flags : 0x02;
			put16(buf + l4 + 14, 64240);
		} else {
			put16(buf + l4 + 4, (uint16_t)l4len);
		}
		for (size_t i = l4 + l4hdr; i < total; i++)
			buf[i] = (uint8_t)i;
		/* The checksum is only right for an unfragmented datagram;
		 * test frames need it only for the stack's sake. */
		if (s->family == 4)
			sum = ipg_csum_add(buf + l3 + 12, 8, 0);
		else
			sum = ipg_csum_add(buf + l3 + 8, 32, 0);
		sum += s->proto + (uint32_t)l4len;
		put16(buf + l4 + (s->proto == IPPROTO_TCP ? 16 : 6),
		      ipg_csum_fold(ipg_csum_add(buf + l4, l4len, sum)));
	}
	return total;
}
