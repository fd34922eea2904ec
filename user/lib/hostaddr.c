// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hostaddr.h"

int ipg_host_addrs(struct ipg_prefix *out, size_t max)
{
	struct ifaddrs *all, *a;
	size_t n = 0;

	if (getifaddrs(&all) < 0)
		return -errno;
	for (a = all; a && n < max; a = a->ifa_next)
		if (a->ifa_addr &&
		    !ipg_prefix_from_sockaddr(a->ifa_addr, &out[n]))
			n++;
	freeifaddrs(all);
	return (int)n;
}

int ipg_host_addrs_watch(void)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
	};
	int fd, r;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int ipg_host_addrs_changed(int fd)
{
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	int changed = 0;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return changed;
			if (errno == EINTR)
				continue;
			/* ENOBUFS: notices were lost, so anything may have
			 * changed. */
			if (errno == ENOBUFS) {
				changed = 1;
				continue;
			}
			return -errno;
		}
		if (n == 0)
			return changed;
		for (int len = (int)n; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len))
			if (h->nlmsg_type == RTM_NEWADDR ||
			    h->nlmsg_type == RTM_DELADDR)
				changed = 1;
	}
}
