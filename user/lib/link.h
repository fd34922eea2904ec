/* SPDX-License-Identifier: GPL-2.0 */
/* Link types: which frames an interface hands to XDP, and so which of the
 * program's entry points judges them, or that none can. */
#ifndef IPGATE_LINK_H
#define IPGATE_LINK_H

#include <net/if.h>

#include "ipgate/frame.h"
#include "log.h"

/* The frame start (program variant) for link type @arphrd (ARPHRD_*):
 * Ethernet for ARPHRD_ETHER and ARPHRD_LOOPBACK, IP for ARPHRD_NONE (tun,
 * WireGuard). Returns 0, or -EOPNOTSUPP with a message in @e naming
 * @ifname and the link type for every other type: the program cannot tell
 * where their IP header starts, so attaching would enforce nothing. */
int ipg_link_frame(const char *ifname, unsigned arphrd, enum ipg_frame *out,
		   struct ipg_error *e);

/* A short name for link type @arphrd ("ether", "none", "ppp", "gre"...),
 * or "unknown". */
const char *ipg_link_type_name(unsigned arphrd);

/* "ethernet" or "ip": the frame start a program variant judges. */
const char *ipg_frame_name(enum ipg_frame f);

/* Reads the link type of @ifname in the current network namespace. */
int ipg_link_type(const char *ifname, unsigned *arphrd);

/* The frames a probe (`ipgate test`) uses for interfaces @names: IP when
 * each of the @n that exists takes the IP program, else Ethernet (where a
 * reject-mode reset can be sent). */
enum ipg_frame ipg_link_probe_frame(const char (*names)[IF_NAMESIZE], int n);

#endif
