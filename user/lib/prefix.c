// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "prefix.h"

#define ACCEPTED \
	"accepted: 203.0.113.45, 203.0.113.0/24, 2001:db8::1, 2001:db8::/32"

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* Parses a dotted quad strictly: four decimal octets, no zero padding.
 * Returns 0, -EINVAL, or -ERANGE for a zero-padded octet (fixed up in
 * @fixed so the message can suggest it). */
static int parse_v4(const char *s, size_t n, uint8_t out[4], char *fixed,
		    size_t fixed_size)
{
	int padded = 0, octets = 0;
	size_t i = 0, f = 0;

	while (octets < 4) {
		unsigned v = 0, digits = 0;
		size_t start = i;

		while (i < n && isdigit((unsigned char)s[i]) && digits < 4) {
			v = v * 10 + (unsigned)(s[i] - '0');
			digits++;
			i++;
		}
		if (digits == 0 || digits > 3 || v > 255)
			return -EINVAL;
		if (digits > 1 && s[start] == '0')
			padded = 1;
		out[octets++] = (uint8_t)v;
		f += (size_t)snprintf(fixed + f, fixed_size - f, "%s%u",
				      octets > 1 ? "." : "", v);
		if (f >= fixed_size)
			return -EINVAL;
		if (octets < 4) {
			if (i >= n || s[i] != '.')
				return -EINVAL;
			i++;
		}
	}
	if (i != n)
		return -EINVAL;
	return padded ? -ERANGE : 0;
}

static void mask_host_bits(struct ipg_prefix *p)
{
	unsigned bytes = ipg_prefix_maxlen(p) / 8;

	for (unsigned i = 0; i < bytes; i++) {
		unsigned lo = i * 8;

		if (p->len <= lo)
			p->addr[i] = 0;
		else if (p->len < lo + 8)
			p->addr[i] &= (uint8_t)(0xff << (lo + 8 - p->len));
	}
}

/* Parses "/N" strictly: decimal, no sign, no zero padding, at most @max. */
static int parse_len(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* Refuses the forms that are never an entry (wildcards, ranges, zone
 * indices, white space), each with what was meant. */
static int refuse_forms(const char *s, struct ipg_error *e)
{
	if (!s || !*s)
		return ipg_fail(e, -EINVAL, "empty entry (%s)", ACCEPTED);
	if (strchr(s, '*'))
		return ipg_fail(e, -EINVAL,
				"\"%s\" is a wildcard; wildcards are refused, "
				"write a CIDR range instead (%s)",
				s, ACCEPTED);
	if (strchr(s, '-'))
		return ipg_fail(e, -EINVAL,
				"\"%s\" looks like an address range; write it "
				"as CIDR blocks instead (%s)",
				s, ACCEPTED);
	if (strchr(s, '%'))
		return ipg_fail(e, -EINVAL,
				"\"%s\" has a zone index; zone indices are "
				"refused (%s)",
				s, ACCEPTED);
	for (const char *c = s; *c; c++)
		if (isspace((unsigned char)*c))
			return ipg_fail(e, -EINVAL,
					"\"%s\" contains white space (%s)", s,
					ACCEPTED);
	return 0;
}

/* The address part of @s (before any '/') into @p: family and bytes. */
static int parse_addr_part(const char *s, const char *slash,
			   struct ipg_prefix *p, struct ipg_error *e)
{
	char addr[IPG_PREFIX_STRLEN], fixed[IPG_PREFIX_STRLEN];
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	int r;

	if (alen == 0 || alen >= sizeof(addr))
		return ipg_fail(e, -EINVAL,
				"\"%s\" is not an IPv4 or IPv6 address or CIDR "
				"(%s)",
				s, ACCEPTED);
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (strchr(addr, ':')) {
		if (inet_pton(AF_INET6, addr, p->addr) != 1)
			return ipg_fail(e, -EINVAL,
					"\"%s\" is not a valid IPv6 address "
					"(%s)",
					s, ACCEPTED);
		p->family = 6;
		return 0;
	}
	r = parse_v4(addr, alen, p->addr, fixed, sizeof(fixed));
	if (r == -ERANGE)
		return ipg_fail(e, -EINVAL,
				"\"%s\" has a zero-padded octet; did you mean "
				"%s%s?",
				s, fixed, slash ? slash : "");
	if (r < 0)
		return ipg_fail(e, -EINVAL,
				"\"%s\" is not an IPv4 or IPv6 address or CIDR "
				"(%s)",
				s, ACCEPTED);
	p->family = 4;
	return 0;
}

int ipg_prefix_parse(const char *s, struct ipg_prefix *out, struct ipg_error *e)
{
	char fixed[IPG_PREFIX_STRLEN];
	struct ipg_prefix p = { 0 }, masked;
	const char *slash;
	unsigned len;
	int r;

	r = refuse_forms(s, e);
	if (r)
		return r;
	slash = strchr(s, '/');
	r = parse_addr_part(s, slash, &p, e);
	if (r)
		return r;
	p.len = (uint8_t)ipg_prefix_maxlen(&p);
	if (slash) {
		r = parse_len(slash + 1, ipg_prefix_maxlen(&p), &len);
		if (r == -ERANGE)
			return ipg_fail(e, -EINVAL,
					"\"%s\": prefix length must be 0 to %u "
					"for IPv%u",
					s, ipg_prefix_maxlen(&p), p.family);
		if (r < 0)
			return ipg_fail(e, -EINVAL,
					"\"%s\": \"%s\" is not a prefix length "
					"(0 to %u for IPv%u)",
					s, slash + 1, ipg_prefix_maxlen(&p),
					p.family);
		p.len = (uint8_t)len;
	}

	/* IPv4-mapped IPv6 (::ffff:a.b.c.d) is the IPv4 address it maps. */
	if (p.family == 6 && p.len >= 96 && !memcmp(p.addr, v4mapped, 12)) {
		memmove(p.addr, p.addr + 12, 4);
		memset(p.addr + 4, 0, 12);
		p.family = 4;
		p.len -= 96;
	}

	masked = p;
	mask_host_bits(&masked);
	if (!ipg_prefix_equal(&masked, &p)) {
		ipg_prefix_format(&masked, fixed, sizeof(fixed));
		return ipg_fail(e, -EINVAL,
				"\"%s\" has host bits set; did you mean %s?", s,
				fixed);
	}
	*out = p;
	return 0;
}

int ipg_addr_parse(const char *s, struct ipg_prefix *out, struct ipg_error *e)
{
	if (s && strchr(s, '/'))
		return ipg_fail(e, -EINVAL,
				"\"%s\" is a CIDR range; give a single address "
				"such as 203.0.113.45 or 2001:db8::1",
				s);
	return ipg_prefix_parse(s, out, e);
}

void ipg_prefix_format(const struct ipg_prefix *p, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, a, sizeof(a));
	if (p->len == ipg_prefix_maxlen(p))
		snprintf(buf, size, "%s", a);
	else
		snprintf(buf, size, "%s/%u", a, p->len);
}

bool ipg_prefix_equal(const struct ipg_prefix *a, const struct ipg_prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       !memcmp(a->addr, b->addr, ipg_prefix_maxlen(a) / 8);
}

bool ipg_prefix_contains(const struct ipg_prefix *outer,
			 const struct ipg_prefix *inner)
{
	unsigned full, rest;

	if (outer->family != inner->family || outer->len > inner->len)
		return false;
	full = outer->len / 8;
	rest = outer->len % 8;
	if (memcmp(outer->addr, inner->addr, full))
		return false;
	if (rest) {
		uint8_t m = (uint8_t)(0xff << (8 - rest));

		if ((outer->addr[full] & m) != (inner->addr[full] & m))
			return false;
	}
	return true;
}

int ipg_prefix_cmp(const struct ipg_prefix *a, const struct ipg_prefix *b)
{
	int r;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	r = memcmp(a->addr, b->addr, ipg_prefix_maxlen(a) / 8);
	if (r)
		return r;
	return (int)a->len - (int)b->len;
}

int ipg_prefix_from_sockaddr(const struct sockaddr *sa, struct ipg_prefix *p)
{
	const uint8_t *a;

	memset(p, 0, sizeof(*p));
	if (sa->sa_family == AF_INET) {
		p->family = 4;
		memcpy(p->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		p->family = memcmp(a, v4mapped, 12) ? 6 : 4;
		memcpy(p->addr, p->family == 4 ? a + 12 : a,
		       p->family == 4 ? 4 : 16);
	} else {
		return -EAFNOSUPPORT;
	}
	p->len = (uint8_t)ipg_prefix_maxlen(p);
	return 0;
}
