/* SPDX-License-Identifier: GPL-2.0 */
/* Protocol numbers and header fields the XDP program and the reference
 * model both read, named once, so that neither spells them by hand. Each
 * side still parses on its own: only the numbers are shared. */
#ifndef IPGATE_PROTO_H
#define IPGATE_PROTO_H

/* Ethertypes (host order). */
#define IPG_ETH_P_IP 0x0800
#define IPG_ETH_P_IPV6 0x86DD
#define IPG_ETH_P_8021Q 0x8100 /* a VLAN tag */
#define IPG_ETH_P_8021AD 0x88A8 /* an 802.1ad (Q-in-Q) service tag */

/* Header lengths in bytes; the IPv4 one is without options. */
#define IPG_ETH_HLEN 14
#define IPG_VLAN_HLEN 4
#define IPG_IPV4_HLEN 20
#define IPG_IPV6_HLEN 40
#define IPG_FRAG_HLEN 8 /* the IPv6 fragment header */
#define IPG_TCP_HLEN 20 /* without options */
#define IPG_UDP_HLEN 8

/* IPv6 extension headers (next-header values) the parsers walk; IPv4
 * walks authentication headers only. libc and the kernel's UAPI headers
 * name most of them, but in different headers and not mobility. */
#define IPG_IPPROTO_HOPOPTS 0
#define IPG_IPPROTO_ROUTING 43
#define IPG_IPPROTO_FRAGMENT 44
#define IPG_IPPROTO_AH 51
#define IPG_IPPROTO_DSTOPTS 60
#define IPG_IPPROTO_MH 135 /* mobility */

/* IPv4 frag_off (host order): flags and the offset in 8-byte units. */
#define IPG_IP_DF 0x4000
#define IPG_IP_MF 0x2000
#define IPG_IP_OFFSET 0x1fff
/* The IPv6 fragment header's 16 bits at byte 2 (host order): the offset
 * in 8-byte units in the top 13 bits, more-fragments in the lowest. */
#define IPG_IP6_OFFSET 0xfff8
#define IPG_IP6_MF 0x0001

/* TCP flags: the byte at IPG_TCP_FLAGS_OFF of the TCP header. */
#define IPG_TCP_FLAGS_OFF 13
#define IPG_TCP_FIN 0x01
#define IPG_TCP_SYN 0x02
#define IPG_TCP_RST 0x04
#define IPG_TCP_PSH 0x08
#define IPG_TCP_ACK 0x10

#endif
