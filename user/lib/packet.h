/* SPDX-License-Identifier: GPL-2.0 */
/* Builds frames for probes and tests: Ethernet with VLAN tags, or bare IP
 * packets; IPv4 options, IPv6 extension headers, fragments, TCP or UDP. */
#ifndef IPGATE_PACKET_H
#define IPGATE_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "ipgate/frame.h"

#define IPG_PKT_MAX 2048
#define IPG_PKT_VLAN_MAX 12
#define IPG_PKT_EXT_MAX 16

struct ipg_pkt_spec {
	int family; /* 4 or 6 */
	uint8_t src[16], dst[16];
	uint8_t proto; /* IPPROTO_TCP, IPPROTO_UDP or any other */
	uint16_t sport, dport;
	uint8_t tcp_flags; /* IPG_TCP_* flags; 0 means SYN */
	uint32_t tcp_seq;
	int n_vlan;
	uint16_t vlan_tpid[IPG_PKT_VLAN_MAX]; /* 0 means IPG_ETH_P_8021Q */
	int ip4_optlen; /* bytes of IPv4 options, a multiple of 4 */
	/* Fragments: offset in 8-byte units; IPv6 gets a fragment header. */
	int fragment;
	uint16_t frag_off;
	int more_frags;
	/* IPv6 extension headers, outermost first, before any fragment
	 * header: IPG_IPPROTO_HOPOPTS, _ROUTING, _DSTOPTS, _AH, _MH
	 * (ipgate/proto.h). */
	int n_ext;
	uint8_t ext[IPG_PKT_EXT_MAX];
	uint16_t payload_len; /* bytes after the L4 header */
	/* IPG_FRAME_IP: the frame starts at the IP header (no Ethernet
	 * header, no tags), as on a tun device. */
	enum ipg_frame frame;
	uint8_t dmac[6]; /* all zero: 02:00:00:00:00:02 */
};

/* The Internet checksum: add 16-bit big-endian words of @p to @sum, then
 * fold and invert. A header whose checksum is right folds to 0. */
uint32_t ipg_csum_add(const uint8_t *p, size_t n, uint32_t sum);
uint16_t ipg_csum_fold(uint32_t sum);

/* Writes the frame into @buf; returns its length, or 0 if it does not fit. */
size_t ipg_pkt_build(const struct ipg_pkt_spec *s, uint8_t *buf, size_t cap);

#endif
