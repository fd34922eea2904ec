/* SPDX-License-Identifier: GPL-2.0 */
/* Limits and versions shared by the XDP program and userspace. */
#ifndef IPGATE_LIMITS_H
#define IPGATE_LIMITS_H

/* Bump whenever a map's layout or meaning changes: a daemon never adopts
 * pinned maps of another ABI. */
#define IPG_ABI_VERSION 4

/* Rule ids index the per-rule hit counters; max-entries may not exceed it. */
#define IPG_RULES_MAX 1024
#define IPG_ENTRIES_DEFAULT 50

/* Default number of prefixes a trie can hold. Tries do not preallocate, so
 * only entries in use cost memory; benchmarks raise it at load time. */
#define IPG_TRIE_CAPACITY_DEFAULT IPG_RULES_MAX

/* Break-glass grants alive at once (single addresses, apart from the
 * allowlist and its max-entries). */
#define IPG_GRANTS_MAX 256

/* Two policy slots: one live, one being built. */
#define IPG_SLOTS 2

/* VLAN tags and IPv6 extension headers the parser walks before it gives up
 * and judges the packet as possibly protected. The tag bound is well past
 * any stacking in use (802.1ad Q-in-Q is two), so that a tagged frame whose
 * inner type is not IP is seen to be so and passes. */
#define IPG_VLAN_MAX 8
#define IPG_EXTHDR_MAX 8

#endif
