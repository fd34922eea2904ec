/* SPDX-License-Identifier: GPL-2.0 */
/* Destinations of named lists (ipg_dsts): an open-addressing table the XDP
 * program probes with plain array reads, which cost a few ns where a hash
 * map lookup costs about twenty. Userspace builds each table whole and
 * flips between two (ipg_active[0], IPG_ACTIVE_DSTS), as it does a list's
 * slots, so a packet reads one consistent table. */
#ifndef IPGATE_DST_H
#define IPGATE_DST_H

#include <linux/types.h>

/* One slot of a table; family 0: empty (ends a probe). IPv4 fills
 * addr[0..3], the rest is zero; IPv4-mapped IPv6 is stored as IPv4. */
struct ipg_dst_entry {
	__u8 family;
	__u8 pad[3];
	__u32 list;
	__u8 addr[16];
};
_Static_assert(sizeof(struct ipg_dst_entry) == 24, "ipg_dst_entry layout");

/* Slots a lookup probes at most, from the address's hash on. Tables have
 * eight slots per destination the maps are sized for, and userspace
 * refuses a set whose probe sequence would run longer. */
#define IPG_DST_PROBES 8
#define IPG_DST_SLOTS_PER_DST 8

/* The hash of an address of @family: @w its four 32-bit words as stored
 * (IPv4: w[0] alone). Userspace and the program compute it alike. */
static inline __u32 ipg_dst_hash(const __u32 *w, int family)
{
	__u32 h = w[0];

	if (family == 6)
		h ^= (w[1] * 0x85ebca6bu) ^ (w[2] * 0xc2b2ae35u) ^
		     (w[3] * 0x27d4eb2fu);
	h *= 0x9e3779b1u;
	return h ^ (h >> 16);
}

#endif
