/* SPDX-License-Identifier: GPL-2.0 */
/* This host's own addresses, as the XDP program reads them: reject mode
 * answers only a SYN addressed to one of them. Userspace keeps the map. */
#ifndef IPGATE_HOST_H
#define IPGATE_HOST_H

#include <linux/types.h>

/* Key of ipg_local; an IPv4 address fills addr[0..3], the rest is zero. */
struct ipg_local_addr {
	__u8 family; /* 4 or 6 */
	__u8 pad[3];
	__u8 addr[16];
};
_Static_assert(sizeof(struct ipg_local_addr) == 20, "ipg_local_addr layout");

/* Addresses ipg_local holds; a host with more answers SYNs to the rest
 * with a silent drop. */
#define IPG_LOCAL_ADDRS_MAX 4096

#endif
