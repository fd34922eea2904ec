/* SPDX-License-Identifier: GPL-2.0 */
/* Limits and versions shared by the XDP program and userspace. */
#ifndef IPGATE_LIMITS_H
#define IPGATE_LIMITS_H

/* Bump whenever a map's layout or meaning changes: a daemon never adopts
 * pinned maps of another ABI. */
#define IPG_ABI_VERSION 11

/* The most entries one list may hold (max-entries); rule ids, which index
 * the per-rule hit counters, are unique across all lists. */
#define IPG_RULES_MAX 1024
#define IPG_ENTRIES_DEFAULT 50

/* Default number of prefixes a trie can hold. Tries do not preallocate, so
 * only entries in use cost memory; benchmarks raise it at load time. */
#define IPG_TRIE_CAPACITY_DEFAULT IPG_RULES_MAX

/* Break-glass grants alive at once (single addresses, apart from the
 * allowlist and its max-entries). */
#define IPG_GRANTS_MAX 256

/* Two policy slots per list: one live, one being built. */
#define IPG_SLOTS 2

/* Lists. Id 0 is the top-level ("default") list; named lists get ids from
 * 1. A list's slots are ipg_policy (and trie) indices 2 * id + slot. */
#define IPG_LIST_DEFAULT 0
#define IPG_LIST_NAME_MAX 32
/* ipg_active[0] bit 1: some destination belongs to a named list, so the
 * program looks destinations up. Bit 0 of every ipg_active value: the
 * list's live slot. */
#define IPG_ACTIVE_SLOT 1u
#define IPG_ACTIVE_NAMED 2u
/* ipg_active[0] bit 2: which of the two destination tables is live. */
#define IPG_ACTIVE_DSTS 4u
/* ipg_active[0], bits 3 to 6: what else a packet may have to read, so
 * that it reads nothing more while they are clear (the usual case). Kept
 * by userspace, set after and cleared before what they announce, apart
 * from the flip's own bits. */
#define IPG_ACTIVE_OVERRIDE 8u /* an ipg_override deadline is not 0 */
#define IPG_ACTIVE_GRANTS 16u /* ipg_grants holds a grant */
#define IPG_ACTIVE_BLOCKED 32u /* the blocked-source log is on */
#define IPG_ACTIVE_CHAIN 64u /* ipg_chain holds a program */
#define IPG_ACTIVE_HINTS                                                \
	(IPG_ACTIVE_OVERRIDE | IPG_ACTIVE_GRANTS | IPG_ACTIVE_BLOCKED | \
	 IPG_ACTIVE_CHAIN)
/* A grant's list id when it opens every list. */
#define IPG_LIST_ANY 0xffffffffu

/* Least map sizes; ipgated sizes the maps from the config (at least
 * twice what it asks for) and adopts pinned maps only when they fit. */
#define IPG_LISTS_MIN 64
#define IPG_PORTSETS_MIN 8
#define IPG_DSTS_MIN 256
#define IPG_RULE_IDS_MIN 2048

/* VLAN tags and IPv6 extension headers the parser walks before it gives up
 * and judges the packet as possibly protected. The tag bound is well past
 * any stacking in use (802.1ad Q-in-Q is two), so that a tagged frame whose
 * inner type is not IP is seen to be so and passes. */
#define IPG_VLAN_MAX 8
#define IPG_EXTHDR_MAX 8

#endif
