/* SPDX-License-Identifier: GPL-2.0 */
/* The IPv4 range table (ipg_v4_table): one list slot's IPv4 entries
 * flattened into sorted, disjoint address ranges, each holding the rule of
 * its longest match. The XDP program binary-searches it instead of walking
 * the slot's IPv4 trie, which costs several times more; userspace builds it
 * with the trie, and a slot whose ranges do not fit keeps to the trie. */
#ifndef IPGATE_TABLE_H
#define IPGATE_TABLE_H

#include <linux/types.h>

/* Ranges a table holds: a power of two, the search taking
 * IPG_V4_TABLE_STEPS steps. n entries make at most 2n + 1 ranges, so any
 * list of up to 63 IPv4 entries fits. */
#define IPG_V4_TABLE_STEPS 7
#define IPG_V4_TABLE_MAX (1u << IPG_V4_TABLE_STEPS)

/* rule[] of a range that no entry covers. */
#define IPG_V4_RANGE_NONE 0xffffffffu
/* Set in rule[] when the entry expires: the program looks the source up
 * in the trie, which walks past an expired entry (rule ids stay below). */
#define IPG_V4_RANGE_TRIE 0x80000000u

/* Range i is [start[i], start[i + 1]) (the last one to 255.255.255.255),
 * addresses in host order; start[0] is 0. Past the last range, entries
 * repeat it, so the search may stop on any of them. */
struct ipg_v4_table {
	__u32 start[IPG_V4_TABLE_MAX];
	__u32 rule[IPG_V4_TABLE_MAX]; /* rule id, or IPG_V4_RANGE_NONE */
};
_Static_assert(sizeof(struct ipg_v4_table) == 8 * IPG_V4_TABLE_MAX,
	       "ipg_v4_table layout");

#endif
