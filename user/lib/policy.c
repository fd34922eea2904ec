// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>

#include "policy.h"

void ipg_policy_init(struct ipg_policy_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->kern.mode = IPG_MODE_DROP;
	s->max_entries = IPG_ENTRIES_DEFAULT;
}

static uint8_t *port_bits(struct ipg_ports *k, int proto)
{
	if (proto == IPPROTO_TCP)
		return k->tcp;
	if (proto == IPPROTO_UDP)
		return k->udp;
	return NULL;
}

int ipg_policy_set_port(struct ipg_policy_spec *s, int proto, uint16_t port,
			bool protect)
{
	uint8_t *bits = port_bits(&s->ports, proto);

	if (!bits)
		return -EPROTONOSUPPORT;
	if (protect)
		bits[port >> 3] |= (uint8_t)(1u << (port & 7));
	else
		bits[port >> 3] &= (uint8_t) ~(1u << (port & 7));
	return 0;
}

int ipg_policy_ephemeral_overlap(const struct ipg_ports *k, uint16_t lo,
				 uint16_t hi, struct ipg_buf *out)
{
	static const struct {
		int proto;
		const char *name;
	} protos[] = { { IPPROTO_TCP, "tcp" }, { IPPROTO_UDP, "udp" } };
	int n = 0;

	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		for (uint32_t port = lo; port && port <= hi; port++)
			if (ipg_policy_port_protected(k, protos[i].proto,
						      (uint16_t)port))
				ipg_buf_printf(out, "%s%s/%u", n++ ? " " : "",
					       protos[i].name, port);
	return n;
}

bool ipg_policy_port_protected(const struct ipg_ports *k, int proto,
			       uint16_t port)
{
	const uint8_t *bits = port_bits((struct ipg_ports *)k, proto);

	return bits && (bits[port >> 3] & (1u << (port & 7)));
}

int ipg_policy_find(const struct ipg_policy_spec *s, const struct ipg_prefix *p)
{
	for (uint32_t i = 0; i < s->n_entries; i++)
		if (ipg_prefix_equal(&s->entries[i].prefix, p))
			return (int)i;
	return -1;
}

/* Length of the UTF-8 sequence at @s (1 to 4), or 0 when it is not valid
 * UTF-8 (overlong forms, surrogates and code points past U+10FFFF
 * included). *cp gets the code point. */
static size_t utf8_seq(const unsigned char *s, uint32_t *cp)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t n;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;
	if (!n || s[0] >= 0xf8)
		return 0;
	*cp = s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	if (*cp < min[n] || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return n;
}

int ipg_label_check(const char *label, struct ipg_error *e)
{
	const unsigned char *s = (const unsigned char *)label;

	while (*s) {
		uint32_t cp;
		size_t n = utf8_seq(s, &cp);

		if (!n)
			return ipg_fail(
				e, -EINVAL, "not valid UTF-8 (byte %zu)",
				(size_t)(s - (const unsigned char *)label) + 1);
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return ipg_fail(
				e, -EINVAL,
				"contains a control character (U+%04X at "
				"byte %zu); only printable text is accepted",
				cp,
				(size_t)(s - (const unsigned char *)label) + 1);
		s += n;
	}
	return 0;
}

void ipg_buf_text_safe(struct ipg_buf *b, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;

	while (s && *s) {
		uint32_t cp;
		size_t n = utf8_seq(s, &cp);

		if (n && !(cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) &&
		    cp != '\\') {
			ipg_buf_append(b, s, n);
			s += n;
		} else {
			ipg_buf_printf(b, "\\x%02x", *s++);
		}
	}
}

int ipg_policy_add(struct ipg_policy_spec *s, const struct ipg_prefix *p,
		   const char *label, struct ipg_error *e)
{
	char buf[IPG_PREFIX_STRLEN];
	uint8_t used[IPG_RULES_MAX] = { 0 };
	struct ipg_error le;
	struct ipg_entry *ent;
	uint32_t id;

	ipg_prefix_format(p, buf, sizeof(buf));
	if (ipg_policy_find(s, p) >= 0)
		return ipg_fail(e, -EEXIST, "%s is already in the list", buf);
	if (s->n_entries >= s->max_entries || s->n_entries >= IPG_RULES_MAX)
		return ipg_fail(e, -ENOSPC,
				"cannot add %s: the list is full (%u of %u "
				"entries; max-entries sets the limit)",
				buf, s->n_entries, s->max_entries);
	if (label && strlen(label) >= IPG_LABEL_MAX)
		return ipg_fail(e, -EINVAL,
				"label of %s is longer than %d characters", buf,
				IPG_LABEL_MAX - 1);
	if (label && ipg_label_check(label, &le))
		return ipg_fail(e, -EINVAL, "label of %s: %s", buf, le.msg);
	for (uint32_t i = 0; i < s->n_entries; i++)
		if (s->entries[i].rule_id < IPG_RULES_MAX)
			used[s->entries[i].rule_id] = 1;
	for (id = 0; id < IPG_RULES_MAX && used[id]; id++)
		;
	ent = &s->entries[s->n_entries++];
	memset(ent, 0, sizeof(*ent));
	ent->prefix = *p;
	ent->rule_id = id;
	if (label)
		strcpy(ent->label, label);
	return 0;
}

bool ipg_entry_same(const struct ipg_entry *a, const struct ipg_entry *b)
{
	return !strcmp(a->label, b->label) && a->expires == b->expires;
}

bool ipg_entry_expired(const struct ipg_entry *ent, int64_t now)
{
	return ent->expires && ent->expires <= now;
}

int ipg_policy_match(const struct ipg_policy_spec *s,
		     const struct ipg_prefix *addr, int64_t now)
{
	int best = -1;

	for (uint32_t i = 0; i < s->n_entries; i++) {
		const struct ipg_prefix *p = &s->entries[i].prefix;

		if (!ipg_prefix_contains(p, addr) ||
		    ipg_entry_expired(&s->entries[i], now))
			continue;
		if (best < 0 || p->len > s->entries[best].prefix.len)
			best = (int)i;
	}
	return best;
}

void ipg_policy_keep_ids(struct ipg_policy_spec *s,
			 const struct ipg_entry *live, uint32_t n_live)
{
	uint8_t used[IPG_RULES_MAX] = { 0 };
	uint32_t next = 0;

	for (uint32_t i = 0; i < s->n_entries; i++) {
		struct ipg_entry *ent = &s->entries[i];

		ent->rule_id = IPG_RULES_MAX;
		for (uint32_t j = 0; j < n_live; j++) {
			if (live[j].rule_id < IPG_RULES_MAX &&
			    !used[live[j].rule_id] &&
			    ipg_prefix_equal(&live[j].prefix, &ent->prefix)) {
				ent->rule_id = live[j].rule_id;
				used[ent->rule_id] = 1;
				break;
			}
		}
	}
	for (uint32_t i = 0; i < s->n_entries; i++) {
		struct ipg_entry *ent = &s->entries[i];

		if (ent->rule_id < IPG_RULES_MAX)
			continue;
		while (next < IPG_RULES_MAX && used[next])
			next++;
		ent->rule_id = next;
		used[next] = 1;
	}
}

int ipg_port_parse(const char *s, int *proto, uint16_t *port)
{
	unsigned long v;
	char *end;

	if (!strncmp(s, "tcp/", 4))
		*proto = IPPROTO_TCP;
	else if (!strncmp(s, "udp/", 4))
		*proto = IPPROTO_UDP;
	else
		return -EPROTONOSUPPORT;
	errno = 0;
	v = strtoul(s + 4, &end, 10);
	if (s[4] < '1' || s[4] > '9' || *end || errno || v > 65535)
		return -ERANGE;
	*port = (uint16_t)v;
	return 0;
}

const char *ipg_mode_name(uint8_t mode)
{
	return mode == IPG_MODE_REJECT ? "reject" :
	       mode == IPG_MODE_SHADOW ? "shadow" :
					 "drop";
}
