/* SPDX-License-Identifier: GPL-2.0 */
/* IPv4/IPv6 addresses and CIDR prefixes: strict parsing, canonical form. */
#ifndef IPGATE_PREFIX_H
#define IPGATE_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

/* Room for the longest canonical prefix, "ffff:...:ffff/128", and a NUL. */
#define IPG_PREFIX_STRLEN 48

struct ipg_prefix {
	uint8_t family; /* 4 or 6 */
	uint8_t len; /* prefix length in bits */
	uint8_t addr[16]; /* network order; IPv4 uses the first 4 bytes */
};

/* Parses an entry: 203.0.113.45, 203.0.113.0/24, 2001:db8::1,
 * 2001:db8::/32. IPv4-mapped IPv6 becomes IPv4. Returns 0, or -EINVAL with
 * a message saying what is wrong and what is accepted. */
int ipg_prefix_parse(const char *s, struct ipg_prefix *out,
		     struct ipg_error *e);

/* Parses a single address (no prefix length): a /32 or /128 prefix. */
int ipg_addr_parse(const char *s, struct ipg_prefix *out, struct ipg_error *e);

/* The address of socket address @sa (AF_INET or AF_INET6) as a /32 or
 * /128; an IPv4-mapped IPv6 address becomes IPv4. -EAFNOSUPPORT else. */
struct sockaddr;
int ipg_prefix_from_sockaddr(const struct sockaddr *sa, struct ipg_prefix *p);

/* Writes the canonical form; the length is omitted for /32 and /128. */
void ipg_prefix_format(const struct ipg_prefix *p, char *buf, size_t size);

static inline unsigned ipg_prefix_maxlen(const struct ipg_prefix *p)
{
	return p->family == 4 ? 32 : 128;
}

bool ipg_prefix_equal(const struct ipg_prefix *a, const struct ipg_prefix *b);

/* Whether @outer covers every address of @inner (same family). */
bool ipg_prefix_contains(const struct ipg_prefix *outer,
			 const struct ipg_prefix *inner);

/* Order: family, then address, then length; for sorted output. */
int ipg_prefix_cmp(const struct ipg_prefix *a, const struct ipg_prefix *b);

#endif
