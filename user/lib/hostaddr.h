/* SPDX-License-Identifier: GPL-2.0 */
/* This host's own addresses (every interface of the current network
 * namespace, both families), and a netlink socket that says when they
 * change. Reject mode answers only SYNs addressed to one of them. */
#ifndef IPGATE_HOSTADDR_H
#define IPGATE_HOSTADDR_H

#include <stddef.h>

#include "prefix.h"

/* Lists the addresses as /32 and /128 prefixes into @out (room for @max);
 * returns how many (at most @max), or a negative errno. */
int ipg_host_addrs(struct ipg_prefix *out, size_t max);

/* Opens a non-blocking netlink socket subscribed to address changes
 * (RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR); returns its fd or a negative
 * errno. */
int ipg_host_addrs_watch(void);

/* Reads everything pending on watch @fd; returns 1 when an address was
 * added or removed (or notices were lost), 0 when not, or a negative
 * errno. Never blocks. */
int ipg_host_addrs_changed(int fd);

#endif
