/* SPDX-License-Identifier: GPL-2.0 */
/* The blocked-source log: the XDP program reports a packet it drops (or,
 * in shadow mode, would drop) through the ring buffer ipg_blocked, at most
 * a budget of reports per second per list on each CPU, so that a flood
 * costs a counter test and never fills the buffer. */
#ifndef IPGATE_BLOCKED_H
#define IPGATE_BLOCKED_H

#include <linux/types.h>

#define IPG_BLOCKED_RING_BYTES (256 * 1024)
#define IPG_BLOCKED_BUDGET_DEFAULT 50 /* reports a second, list, CPU */

/* One report (ring buffer record). */
struct ipg_blocked_event {
	__u8 addr[16]; /* the source; IPv4 in the first 4 bytes */
	__u32 list;
	__u16 dport;
	__u8 family; /* 4 or 6 */
	__u8 proto;
	__u8 shadow; /* 1: passed in shadow mode, would have been dropped */
	__u8 pad[7];
};
_Static_assert(sizeof(struct ipg_blocked_event) == 32, "blocked event");

/* ipg_blocked_cfg[0]: the budget, and the second it is for: ipgated
 * counts epoch up once a second, so the program reads no clock. */
struct ipg_blocked_cfg {
	__u32 budget; /* reports a second per list and CPU; 0: off */
	__u32 epoch;
};
_Static_assert(sizeof(struct ipg_blocked_cfg) == 8, "blocked cfg");

/* ipg_blocked_budget: per CPU and list, the reports of epoch @epoch. */
struct ipg_blocked_window {
	__u32 epoch;
	__u32 used;
};
_Static_assert(sizeof(struct ipg_blocked_window) == 8, "blocked window");

#endif
