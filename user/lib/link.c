// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "link.h"

#ifndef ARPHRD_IP6GRE
#define ARPHRD_IP6GRE 823
#endif

static const struct {
	unsigned type;
	const char *name;
} link_types[] = {
	{ ARPHRD_ETHER, "ether" },
	{ ARPHRD_LOOPBACK, "loopback" },
	{ ARPHRD_NONE, "none" },
	{ ARPHRD_PPP, "ppp" },
	{ ARPHRD_TUNNEL, "ipip" },
	{ ARPHRD_TUNNEL6, "ip6tnl" },
	{ ARPHRD_SIT, "sit" },
	{ ARPHRD_IPGRE, "gre" },
	{ ARPHRD_IP6GRE, "ip6gre" },
	{ ARPHRD_RAWIP, "rawip" },
	{ ARPHRD_INFINIBAND, "infiniband" },
	{ ARPHRD_IEEE80211, "ieee802.11" },
	{ ARPHRD_IEEE80211_RADIOTAP, "ieee802.11/radiotap" },
	{ ARPHRD_IEEE802154, "ieee802.15.4" },
	{ ARPHRD_CAN, "can" },
	{ ARPHRD_VOID, "void" },
};

const char *ipg_link_type_name(unsigned arphrd)
{
	for (size_t i = 0; i < sizeof(link_types) / sizeof(link_types[0]); i++)
		if (link_types[i].type == arphrd)
			return link_types[i].name;
	return "unknown";
}

const char *ipg_frame_name(enum ipg_frame f)
{
	return f == IPG_FRAME_IP ? "ip" : "ethernet";
}

int ipg_link_frame(const char *ifname, unsigned arphrd, enum ipg_frame *out,
		   struct ipg_error *e)
{
	switch (arphrd) {
	case ARPHRD_ETHER:
	case ARPHRD_LOOPBACK:
		*out = IPG_FRAME_ETH;
		return 0;
	case ARPHRD_NONE:
		/* Generic XDP hands over the skb from its MAC header, which
		 * a header-less device sets at the IP header. */
		*out = IPG_FRAME_IP;
		return 0;
	default:
		/* Tunnels such as ipip, sit and gre set the MAC header at
		 * the outer IP header, others carry a header of their own:
		 * either way the program would judge the wrong bytes. */
		return ipg_fail(
			e, -EOPNOTSUPP,
			"cannot attach to %s: its link type is %s (%u), whose "
			"frames ipgate cannot parse; ipgate attaches to "
			"Ethernet and loopback devices and to IP devices "
			"without a link header (tun, WireGuard); remove %s "
			"from the config (traffic decapsulated on it is not "
			"filtered: see the README on tunnels)",
			ifname, ipg_link_type_name(arphrd), arphrd, ifname);
	}
}

int ipg_link_type(const char *ifname, unsigned *arphrd)
{
	struct ifreq ifr = { 0 };
	int fd, r = 0;

	if (strlen(ifname) >= sizeof(ifr.ifr_name))
		return -ENODEV;
	strcpy(ifr.ifr_name, ifname);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		r = -errno;
	else
		*arphrd = ifr.ifr_hwaddr.sa_family;
	close(fd);
	return r;
}

enum ipg_frame ipg_link_probe_frame(const char (*names)[IF_NAMESIZE], int n)
{
	int seen = 0;

	for (int i = 0; i < n; i++) {
		enum ipg_frame f;
		unsigned type;

		if (ipg_link_type(names[i], &type) ||
		    ipg_link_frame(names[i], type, &f, NULL))
			continue;
		if (f == IPG_FRAME_ETH)
			return IPG_FRAME_ETH;
		seen = 1;
	}
	return seen ? IPG_FRAME_IP : IPG_FRAME_ETH;
}
