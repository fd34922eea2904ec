// SPDX-License-Identifier: GPL-2.0
/* What changed between two configs, as text for people and as JSON for
 * the audit log; and the protected ports as the config writes them. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "config.h"

/* Appends the protected ports of @proto as "tcp/443 tcp/8000-8080". */
static void format_ports(struct ipg_buf *b, const struct ipg_policy *k,
			 int proto, const char *name, bool *first)
{
	for (uint32_t p = 1; p <= 65535; p++) {
		uint32_t q = p;

		if (!ipg_policy_port_protected(k, proto, (uint16_t)p))
			continue;
		while (q < 65535 &&
		       ipg_policy_port_protected(k, proto, (uint16_t)(q + 1)))
			q++;
		ipg_buf_printf(b, "%s%s/%u", *first ? "" : " ", name, p);
		if (q > p)
			ipg_buf_printf(b, "-%u", q);
		*first = false;
		p = q;
	}
}

void ipg_config_ports(const struct ipg_policy *k, struct ipg_buf *b)
{
	bool first = true;

	format_ports(b, k, IPPROTO_TCP, "tcp", &first);
	format_ports(b, k, IPPROTO_UDP, "udp", &first);
	if (first)
		ipg_buf_printf(b, "none");
}

static void format_ifaces(const struct ipg_config *c, struct ipg_buf *b)
{
	for (int i = 0; i < c->n_interfaces; i++)
		ipg_buf_printf(b, "%s%s", i ? " " : "", c->interfaces[i]);
	if (!c->n_interfaces)
		ipg_buf_printf(b, "none");
}

static void json_entry(struct ipg_buf *b, const struct ipg_entry *ent,
		       bool *first)
{
	char cidr[IPG_PREFIX_STRLEN];

	ipg_prefix_format(&ent->prefix, cidr, sizeof(cidr));
	ipg_buf_printf(b, "%s{\"cidr\":\"%s\",\"label\":", *first ? "" : ",",
		       cidr);
	ipg_buf_json_str(b, ent->label);
	ipg_buf_printf(b, "}");
	*first = false;
}

static void text_entry(struct ipg_buf *b, char sign,
		       const struct ipg_entry *ent)
{
	char cidr[IPG_PREFIX_STRLEN];

	ipg_prefix_format(&ent->prefix, cidr, sizeof(cidr));
	if (*ent->label) {
		ipg_buf_printf(b, "%c allow %-20s ", sign, cidr);
		ipg_buf_json_str(b, ent->label);
	} else {
		ipg_buf_printf(b, "%c allow %s", sign, cidr);
	}
	ipg_buf_printf(b, "\n");
}

/* One changed setting: a text line and a key in both JSON objects. */
static void setting(struct ipg_config_diff *d, const char *key, const char *old,
		    const char *new, bool quote)
{
	if (!strcmp(old, new))
		return;
	d->changes++;
	ipg_buf_printf(&d->text, "~ %s: %s -> %s\n", key, old, new);
	ipg_buf_printf(&d->before, "\"%s\":", key);
	ipg_buf_printf(&d->after, "\"%s\":", key);
	if (quote) {
		ipg_buf_json_str(&d->before, old);
		ipg_buf_json_str(&d->after, new);
	} else {
		ipg_buf_printf(&d->before, "%s", old);
		ipg_buf_printf(&d->after, "%s", new);
	}
	ipg_buf_printf(&d->before, ",");
	ipg_buf_printf(&d->after, ",");
}

/* Lists the entries of @from that @to lacks (or labels differently). */
static void diff_entries(struct ipg_config_diff *d,
			 const struct ipg_policy_spec *from,
			 const struct ipg_policy_spec *to, char sign,
			 struct ipg_buf *json)
{
	bool first = true;

	ipg_buf_printf(json, "\"entries\":[");
	for (uint32_t i = 0; i < from->n_entries; i++) {
		int j = ipg_policy_find(to, &from->entries[i].prefix);

		if (j >= 0 &&
		    !strcmp(from->entries[i].label, to->entries[j].label))
			continue;
		d->changes++;
		d->entries_changed++;
		json_entry(json, &from->entries[i], &first);
		text_entry(&d->text, sign, &from->entries[i]);
	}
}

int ipg_config_diff(const struct ipg_config *a, const struct ipg_config *b,
		    struct ipg_config_diff *d)
{
	const struct ipg_policy_spec *pa = &a->policy, *pb = &b->policy;
	struct ipg_buf x = { 0 }, y = { 0 };
	char s1[32], s2[32];

	memset(d, 0, sizeof(*d));
	ipg_buf_printf(&d->before, "{");
	ipg_buf_printf(&d->after, "{");
	setting(d, "enabled", pa->kern.enabled ? "true" : "false",
		pb->kern.enabled ? "true" : "false", false);
	setting(d, "mode", ipg_mode_name(pa->kern.mode),
		ipg_mode_name(pb->kern.mode), true);
	snprintf(s1, sizeof(s1), "%u", pa->max_entries);
	snprintf(s2, sizeof(s2), "%u", pb->max_entries);
	setting(d, "max-entries", s1, s2, false);
	snprintf(s1, sizeof(s1), "%u", a->override_max_s);
	snprintf(s2, sizeof(s2), "%u", b->override_max_s);
	setting(d, "override-max", s1, s2, false);
	snprintf(s1, sizeof(s1), "%u", a->breakglass_port);
	snprintf(s2, sizeof(s2), "%u", b->breakglass_port);
	setting(d, "breakglass-port", s1, s2, false);
	ipg_config_ports(&pa->kern, &x);
	ipg_config_ports(&pb->kern, &y);
	setting(d, "protect", x.s ? x.s : "", y.s ? y.s : "", true);
	ipg_buf_free(&x);
	ipg_buf_free(&y);
	format_ifaces(a, &x);
	format_ifaces(b, &y);
	setting(d, "interface", x.s ? x.s : "", y.s ? y.s : "", true);
	ipg_buf_free(&x);
	ipg_buf_free(&y);

	/* Entries: removed ones go in "before", added ones in "after"; a
	 * changed label counts as both. */
	diff_entries(d, pa, pb, '-', &d->before);
	diff_entries(d, pb, pa, '+', &d->after);
	ipg_buf_printf(&d->before, "],\"count\":%u}", pa->n_entries);
	ipg_buf_printf(&d->after, "],\"count\":%u}", pb->n_entries);
	if (d->text.oom || d->before.oom || d->after.oom) {
		ipg_config_diff_free(d);
		return -ENOMEM;
	}
	if (!d->text.s)
		ipg_buf_printf(&d->text, "%s", "");
	return d->text.oom ? -ENOMEM : 0;
}

void ipg_config_diff_free(struct ipg_config_diff *d)
{
	ipg_buf_free(&d->text);
	ipg_buf_free(&d->before);
	ipg_buf_free(&d->after);
}
