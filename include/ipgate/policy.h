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

enum ipg_action_mode {
	IPG_MODE_DROP = 0,
	/* Answer a blocked TCP SYN with a RST; drop everything else blocked. */
	IPG_MODE_REJECT = 1,
};

#define IPG_PORT_BITMAP_BYTES (65536 / 8)

/* One slot of policy: everything a decision reads besides the tries.
 * Bit p of tcp_ports / udp_ports is (p >> 3, p & 7). */
struct ipg_policy {
	__u8 enabled;
	__u8 mode; /* enum ipg_action_mode */
	__u8 pad[2];
	__u32 generation; /* set by userspace, read back to tell slots apart */
	__u8 tcp_ports[IPG_PORT_BITMAP_BYTES];
	__u8 udp_ports[IPG_PORT_BITMAP_BYTES];
};
_Static_assert(sizeof(struct ipg_policy) == 8 + 2 * 8192, "ipg_policy layout");

/* The pinned meta record; a restart reads it before trusting any pin. */
struct ipg_meta {
	__u32 abi_version;
	__u32 rules_max;
	__u32 trie_capacity;
	__u32 pad;
	__u64 created_boot_ns;
};
_Static_assert(sizeof(struct ipg_meta) == 24, "ipg_meta layout");

/* Break-glass grant trie value. The program reads only expires_ns (boot-time
 * ns), so it stays first; the key id lets a restarted daemon revoke and
 * audit the grant, so the kernel is the one record of it. */
#define IPG_GRANT_KEY_ID_MAX 32
struct ipg_grant_value {
	__u64 expires_ns;
	__u32 list_id; /* 0: every list */
	char key_id[IPG_GRANT_KEY_ID_MAX + 1]; /* NUL-terminated */
	__u8 pad[3];
};
_Static_assert(sizeof(struct ipg_grant_value) == 48, "ipg_grant_value layout");

/* Set in front of a packet (XDP metadata) by `ipgate test` probes run with
 * BPF_PROG_TEST_RUN, so that probes leave the counters alone. */
struct ipg_probe_meta {
	__u64 cookie;
};
_Static_assert(sizeof(struct ipg_probe_meta) == 8, "ipg_probe_meta layout");

#endif
