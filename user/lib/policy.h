/* SPDX-License-Identifier: GPL-2.0 */
/* A whole policy as userspace holds it: settings, protected ports, entries. */
#ifndef IPGATE_POLICY_SPEC_H
#define IPGATE_POLICY_SPEC_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>

#include "ipgate/policy.h"
#include "buf.h"
#include "log.h"
#include "prefix.h"

#define IPG_LABEL_MAX 64

struct ipg_entry {
	struct ipg_prefix prefix;
	uint32_t rule_id; /* indexes the per-rule hit counters */
	char label[IPG_LABEL_MAX];
	/* Unix time (s) from which the entry no longer matches; 0: never. */
	int64_t expires;
};

struct ipg_policy_spec {
	struct ipg_policy kern; /* enabled, mode: as the kernel reads them */
	struct ipg_ports ports; /* protected ports */
	uint32_t max_entries;
	uint32_t n_entries;
	struct ipg_entry entries[IPG_RULES_MAX];
};

/* An empty, disabled policy with max-entries at its default. */
void ipg_policy_init(struct ipg_policy_spec *s);

/* Protects (or unprotects) @port of @proto (IPPROTO_TCP or IPPROTO_UDP). */
int ipg_policy_set_port(struct ipg_policy_spec *s, int proto, uint16_t port,
			bool protect);
/* Appends to @out the protected ports that lie in the host's ephemeral
 * range [@lo, @hi] (net.ipv4.ip_local_port_range) and returns how many:
 * replies to the host's own outgoing connections arrive on those ports and
 * would be judged as if they were inbound requests. */
int ipg_policy_ephemeral_overlap(const struct ipg_ports *k, uint16_t lo,
				 uint16_t hi, struct ipg_buf *out);
bool ipg_policy_port_protected(const struct ipg_ports *k, int proto,
			       uint16_t port);

/* Parses "tcp/443" or "udp/53". Returns 0, -EPROTONOSUPPORT when the
 * protocol is not tcp or udp, -ERANGE when the number is not 1 to 65535. */
int ipg_port_parse(const char *s, int *proto, uint16_t *port);

/* "drop" or "reject", as the config writes enum ipg_action_mode. */
const char *ipg_mode_name(uint8_t mode);

/* Whether @label is printable UTF-8: no C0 or C1 control characters, no
 * DEL, no invalid sequences (they would reach a terminal through `list`).
 * Returns 0 or -EINVAL with the reason. */
int ipg_label_check(const char *label, struct ipg_error *e);
/* Appends @text with every control character, invalid UTF-8 byte and
 * backslash written as \xNN, for output to a terminal. */
void ipg_buf_text_safe(struct ipg_buf *b, const char *text);

/* Adds an entry under the lowest free rule id. Refuses a duplicate, an entry
 * beyond max-entries, and a label that is too long or not printable. */
int ipg_policy_add(struct ipg_policy_spec *s, const struct ipg_prefix *p,
		   const char *label, struct ipg_error *e);

/* Returns the index of the entry equal to @p, or -1. */
int ipg_policy_find(const struct ipg_policy_spec *s,
		    const struct ipg_prefix *p);

/* Gives each entry of @s the rule id its prefix has in @live (so its hit
 * count carries over), and new prefixes the lowest ids left free. */
void ipg_policy_keep_ids(struct ipg_policy_spec *s,
			 const struct ipg_entry *live, uint32_t n_live);

/* Returns the index of the longest entry covering address @addr (a /32 or
 * /128) that has not expired at Unix time @now, or -1: the allowlist
 * decision for a source. */
int ipg_policy_match(const struct ipg_policy_spec *s,
		     const struct ipg_prefix *addr, int64_t now);

/* Whether two entries of one prefix say the same: label and expiry. */
bool ipg_entry_same(const struct ipg_entry *a, const struct ipg_entry *b);
/* Whether @ent has expired at Unix time @now (it has a deadline, and the
 * deadline is not after @now). */
bool ipg_entry_expired(const struct ipg_entry *ent, int64_t now);

#endif
