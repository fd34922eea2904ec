// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testpkt.h"

static const char *const standard_entries[] = {
	"203.0.113.0/24", "198.51.100.7",      "192.0.2.0/24",
	"192.0.2.128/25", "192.0.2.200",       "2001:db8:1::/48",
	"2001:db8:2::1",  "2001:db8:3:4::/64",
};

struct ipg_pkt_spec pkt_spec(const char *src, int proto, uint16_t dport)
{
	struct ipg_pkt_spec s = { 0 };

	if (strchr(src, ':')) {
		s.family = 6;
		inet_pton(AF_INET6, src, s.src);
		inet_pton(AF_INET6, HOST6, s.dst);
	} else {
		s.family = 4;
		inet_pton(AF_INET, src, s.src);
		inet_pton(AF_INET, HOST4, s.dst);
	}
	s.proto = (uint8_t)proto;
	s.sport = 40000;
	s.dport = dport;
	s.tcp_seq = 1000;
	s.payload_len = 8;
	return s;
}

struct frame pkt_build(const struct ipg_pkt_spec *s)
{
	struct frame f;

	f.len = ipg_pkt_build(s, f.b, sizeof(f.b));
	f.start = s->frame;
	if (!f.len) {
		fprintf(stderr, "pkt_build: spec does not fit\n");
		abort();
	}
	return f;
}

struct frame pkt_v4(const char *src, int proto, uint16_t dport)
{
	struct ipg_pkt_spec s = pkt_spec(src, proto, dport);

	return pkt_build(&s);
}

struct frame pkt_v6(const char *src, int proto, uint16_t dport)
{
	return pkt_v4(src, proto, dport);
}

struct ipg_pkt_spec as_ip_frame(struct ipg_pkt_spec s)
{
	s.frame = IPG_FRAME_IP;
	s.n_vlan = 0;
	return s;
}

struct frame pkt_ip(const char *src, int proto, uint16_t dport)
{
	struct ipg_pkt_spec s = as_ip_frame(pkt_spec(src, proto, dport));

	return pkt_build(&s);
}

struct ipg_pkt_spec with_vlan(struct ipg_pkt_spec s, uint16_t tpid)
{
	if (s.n_vlan < IPG_PKT_VLAN_MAX) {
		memmove(s.vlan_tpid + 1, s.vlan_tpid,
			sizeof(s.vlan_tpid[0]) * (size_t)s.n_vlan);
		s.vlan_tpid[0] = tpid;
		s.n_vlan++;
	}
	return s;
}

struct ipg_pkt_spec with_ext_hdr(struct ipg_pkt_spec s, uint8_t type)
{
	if (s.n_ext < IPG_PKT_EXT_MAX)
		s.ext[s.n_ext++] = type;
	return s;
}

struct ipg_pkt_spec with_fragment(struct ipg_pkt_spec s, uint16_t off8,
				  int more)
{
	s.fragment = 1;
	s.frag_off = off8;
	s.more_frags = more;
	return s;
}

void policy_allow(struct ipg_policy_spec *s, const char *cidr)
{
	struct ipg_error e;
	struct ipg_prefix p;

	if (ipg_prefix_parse(cidr, &p, &e) || ipg_policy_add(s, &p, cidr, &e)) {
		fprintf(stderr, "policy_allow(%s): %s\n", cidr, e.msg);
		abort();
	}
}

void policy_standard(struct ipg_policy_spec *s)
{
	ipg_policy_init(s);
	s->kern.enabled = 1;
	ipg_policy_set_port(s, IPPROTO_TCP, 443, true);
	ipg_policy_set_port(s, IPPROTO_UDP, 443, true);
	ipg_policy_set_port(s, IPPROTO_TCP, 8443, true);
	for (size_t i = 0;
	     i < sizeof(standard_entries) / sizeof(standard_entries[0]); i++)
		policy_allow(s, standard_entries[i]);
}
