// SPDX-License-Identifier: GPL-2.0
/* Which entry point judges an interface's frames, by its link type, and
 * the refusal of every link type neither can parse. */
#include <errno.h>
#include <net/if_arp.h>

#include "harness.h"
#include "link.h"

#ifndef ARPHRD_IP6GRE
#define ARPHRD_IP6GRE 823
#endif

TEST(test_ethernet_and_loopback_get_the_ethernet_program)
{
	enum ipg_frame f = IPG_FRAME_IP;

	ASSERT_OK(ipg_link_frame("eth0", ARPHRD_ETHER, &f, NULL));
	ASSERT_EQ(f, IPG_FRAME_ETH);
	f = IPG_FRAME_IP;
	ASSERT_OK(ipg_link_frame("lo", ARPHRD_LOOPBACK, &f, NULL));
	ASSERT_EQ(f, IPG_FRAME_ETH);
}

TEST(test_headerless_devices_get_the_ip_program)
{
	enum ipg_frame f = IPG_FRAME_ETH;

	/* tun in tun mode, WireGuard. */
	ASSERT_OK(ipg_link_frame("wg0", ARPHRD_NONE, &f, NULL));
	ASSERT_EQ(f, IPG_FRAME_IP);
}

TEST(test_every_other_link_type_refused_naming_interface_and_type)
{
	static const struct {
		unsigned type;
		const char *name;
	} odd[] = {
		{ ARPHRD_PPP, "ppp" },
		{ ARPHRD_TUNNEL, "ipip" },
		{ ARPHRD_TUNNEL6, "ip6tnl" },
		{ ARPHRD_SIT, "sit" },
		{ ARPHRD_IPGRE, "gre" },
		{ ARPHRD_IP6GRE, "ip6gre" },
		{ ARPHRD_RAWIP, "rawip" },
		{ ARPHRD_INFINIBAND, "infiniband" },
		{ ARPHRD_IEEE80211_RADIOTAP, "ieee802.11/radiotap" },
		{ ARPHRD_CAN, "can" },
		{ ARPHRD_VOID, "void" },
		{ 4242, "unknown" },
	};

	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		struct ipg_error e = { { 0 } };
		enum ipg_frame f = (enum ipg_frame)77;
		char want[64];

		ASSERT_EQ(ipg_link_frame("tnl0", odd[i].type, &f, &e),
			  -EOPNOTSUPP);
		ASSERT_EQ(f, 77);
		snprintf(want, sizeof(want), "link type is %s (%u)",
			 odd[i].name, odd[i].type);
		if (!strstr(e.msg, want) || !strstr(e.msg, "tnl0"))
			FAIL("message \"%s\" lacks \"%s\" or the interface",
			     e.msg, want);
	}
}

TEST(test_frame_names)
{
	ASSERT_STR(ipg_frame_name(IPG_FRAME_ETH), "ethernet");
	ASSERT_STR(ipg_frame_name(IPG_FRAME_IP), "ip");
}

int main(int argc, char **argv)
{
	return harness_main("unit/link", argc, argv, NULL, NULL);
}
