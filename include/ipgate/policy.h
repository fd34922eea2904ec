/* SPDX-License-Identifier: GPL-2.0 */
/* Policy maps: LPM keys, the per-slot policy record, and the meta record. */
#ifndef IPGATE_POLICY_H
#define IPGATE_POLICY_H

#include <linux/types.h>
#include "limits.h"

/* LPM trie keys: prefixlen counts bits of addr, network byte order. */
struct ipg_lpm_v4 {
	__u32 prefixlen;
	__u8 addr[4];
};
_Static_assert(sizeof(struct ipg_lpm_v4) == 8, "ipg_lpm_v4 layout");

struct ipg_lpm_v6 {
	__u32 prefixlen;
	__u8 addr[16];
};
_Static_assert(sizeof(struct ipg_lpm_v6) == 20, "ipg_lpm_v6 layout");

/* Trie value: the rule id of the entry, which indexes rule_hits. */
typedef __u32 ipg_rule_id;

/* What a trie holds for one entry: its rule id, its prefix length (a
 * lookup that finds an expired entry looks again below it) and the
 * boot-time ns from which it no longer matches (0: never expires). */
struct ipg_rule {
	ipg_rule_id id;
	__u32 prefixlen;
	__u64 expires_ns;
};
_Static_assert(sizeof(struct ipg_rule) == 16, "ipg_rule layout");

enum ipg_action_mode {
	IPG_MODE_DROP = 0,
	/* Answer a blocked TCP SYN with a RST; drop everything else blocked. */
	IPG_MODE_REJECT = 1,
	/* Pass everything; count what drop mode would have dropped. */
	IPG_MODE_SHADOW = 2,
};

#define IPG_PORT_BITMAP_BYTES (65536 / 8)

/* A set of protected ports (ipg_ports). Bit p of tcp / udp is
 * (p >> 3, p & 7). Lists share a set when theirs are equal; userspace
 * writes a set only while no policy slot refers to it. */
struct ipg_ports {
	__u8 tcp[IPG_PORT_BITMAP_BYTES];
	__u8 udp[IPG_PORT_BITMAP_BYTES];
};
_Static_assert(sizeof(struct ipg_ports) == 2 * 8192, "ipg_ports layout");

/* ipg_policy flags: the slot's IPv4 entries are in its ipg_v4_table
 * (ipgate/table.h) too; without it the program asks the trie. Userspace
 * sets it with the slot. */
#define IPG_POLICY_V4_TABLE 1u

/* One slot of one list's policy: everything a decision reads besides the
 * tries and the range table. */
struct ipg_policy {
	__u8 enabled;
	__u8 mode; /* enum ipg_action_mode */
	__u8 flags; /* IPG_POLICY_*, set by userspace with the slot */
	__u8 pad;
	__u32 generation; /* set by userspace, read back to tell slots apart */
	__u32 ports; /* index in ipg_ports */
	__u32 pad2;
};
_Static_assert(sizeof(struct ipg_policy) == 16, "ipg_policy layout");

/* A list's record in ipg_lists, for userspace only: the kernel is the one
 * record of which id a name has, so a restart keeps each list's counters. */
struct ipg_list_info {
	char name[IPG_LIST_NAME_MAX + 1]; /* empty: the id is free */
	__u8 pad[7];
};
_Static_assert(sizeof(struct ipg_list_info) == 40, "ipg_list_info layout");

/* The pinned meta record; a restart reads it before trusting any pin. The
 * sizes are the maps' (see limits.h); pinned maps are adopted only when
 * they are at least what the config needs. */
struct ipg_meta {
	__u32 abi_version;
	__u32 rules_max; /* rule ids: ipg_rule_hits */
	__u32 trie_capacity; /* prefixes per trie */
	__u32 lists_max; /* ipg_active, ipg_lists; ipg_policy holds twice */
	__u32 ports_max; /* ipg_ports */
	__u32 dsts_max; /* destinations; ipg_dsts: 2 tables of 8 slots each */
	__u64 created_boot_ns;
};
_Static_assert(sizeof(struct ipg_meta) == 32, "ipg_meta layout");

/* Break-glass grants (ipg_grants, a hash): one source address and the list
 * it opens (IPG_LIST_ANY: every list). IPv4 fills addr[0..3]. */
struct ipg_grant_key {
	__u32 list_id;
	__u8 family; /* 4 or 6 */
	__u8 pad[3];
	__u8 addr[16];
};
_Static_assert(sizeof(struct ipg_grant_key) == 24, "ipg_grant_key layout");

/* The program reads only expires_ns (boot-time ns), so it stays first; the
 * key id lets a restarted daemon revoke and audit the grant, so the kernel
 * is the one record of it. */
#define IPG_GRANT_KEY_ID_MAX 32
struct ipg_grant_value {
	__u64 expires_ns;
	char key_id[IPG_GRANT_KEY_ID_MAX + 1]; /* NUL-terminated */
	__u8 pad[7];
};
_Static_assert(sizeof(struct ipg_grant_value) == 48, "ipg_grant_value layout");

/* Set in front of a packet (XDP metadata) by `ipgate test` probes run with
 * BPF_PROG_TEST_RUN, so that probes leave the counters alone. */
struct ipg_probe_meta {
	__u64 cookie;
};
_Static_assert(sizeof(struct ipg_probe_meta) == 8, "ipg_probe_meta layout");

#endif
