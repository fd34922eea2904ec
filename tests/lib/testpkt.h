/* SPDX-License-Identifier: GPL-2.0 */
/* Packet and policy helpers shared by the BPF, fuzz and bench suites. */
#ifndef IPGATE_TESTPKT_H
#define IPGATE_TESTPKT_H

#include <netinet/in.h>
#include <stdint.h>

#include "packet.h"
#include "policy.h"

struct frame {
	uint8_t b[IPG_PKT_MAX];
	size_t len;
	enum ipg_frame start; /* IPG_FRAME_IP: no Ethernet header */
};

/* TCP or UDP from @src (IPv4 or IPv6 text) to port @dport. */
struct ipg_pkt_spec pkt_spec(const char *src, int proto, uint16_t dport);
struct frame pkt_build(const struct ipg_pkt_spec *s);
struct frame pkt_v4(const char *src, int proto, uint16_t dport);
struct frame pkt_v6(const char *src, int proto, uint16_t dport);

/* The same packet without an Ethernet header, as a tun device has it. */
struct ipg_pkt_spec as_ip_frame(struct ipg_pkt_spec s);
struct frame pkt_ip(const char *src, int proto, uint16_t dport);

/* Adds a VLAN tag (tpid 0x8100 or 0x88a8) outside the existing ones. */
struct ipg_pkt_spec with_vlan(struct ipg_pkt_spec s, uint16_t tpid);
/* Appends an IPv6 extension header to the chain. */
struct ipg_pkt_spec with_ext_hdr(struct ipg_pkt_spec s, uint8_t type);
struct ipg_pkt_spec with_fragment(struct ipg_pkt_spec s, uint16_t off8,
				  int more);

/* The shared test policy: enabled, drop mode, tcp/443 udp/443 tcp/8443
 * protected, and the entries below (rule ids in this order). */
void policy_standard(struct ipg_policy_spec *s);
void policy_allow(struct ipg_policy_spec *s, const char *cidr);

#define OUTSIDER4 "198.18.0.66"
#define OUTSIDER6 "2001:db8:ff::66"
/* Where pkt_spec() frames go: this host, for reject mode. */
#define HOST4 "198.18.0.1"
#define HOST6 "2001:db8:aa::1"

#endif
