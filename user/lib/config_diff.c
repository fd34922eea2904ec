// SPDX-License-Identifier: GPL-2.0
/* What changed between two configs, as text for people and as JSON for
 * the audit log; and the protected ports as the config writes them. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"

/* Appends the protected ports of @proto as "tcp/443 tcp/8000-8080". */
static void format_ports(struct ipg_buf *b, const struct ipg_ports *k,
			 int proto, const char *name, bool *first)
{
	const uint8_t *bits = proto == IPPROTO_TCP ? k->tcp : k->udp;

	for (uint32_t p = 1; p <= 65535; p++) {
		uint32_t q = p;

		/* Most of the bitmap is empty: a byte at a time. */
		if (!(p & 7) && !bits[p >> 3]) {
			p += 7;
			continue;
		}
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

void ipg_config_ports(const struct ipg_ports *k, struct ipg_buf *b)
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
	if (ent->expires) {
		char t[IPG_TIME_STRLEN];

		ipg_time_format(ent->expires, t, sizeof(t));
		ipg_buf_printf(b, ",\"expires\":\"%s\"", t);
	}
	ipg_buf_printf(b, "}");
	*first = false;
}

/* @who is "" for the top level, "list NAME: " for a named list. */
static void text_entry(struct ipg_buf *b, char sign, const char *who,
		       const struct ipg_entry *ent)
{
	char cidr[IPG_PREFIX_STRLEN];

	ipg_prefix_format(&ent->prefix, cidr, sizeof(cidr));
	if (*ent->label) {
		ipg_buf_printf(b, "%c %sallow %-20s ", sign, who, cidr);
		ipg_buf_json_str(b, ent->label);
	} else {
		ipg_buf_printf(b, "%c %sallow %s", sign, who, cidr);
	}
	if (ent->expires) {
		char t[IPG_TIME_STRLEN];

		ipg_time_format(ent->expires, t, sizeof(t));
		ipg_buf_printf(b, " expires %s", t);
	}
	ipg_buf_printf(b, "\n");
}

/* Where one list's differences go: text lines starting with @who, and
 * the keys of its two JSON objects. */
struct out {
	struct ipg_config_diff *d;
	const char *who;
	struct ipg_buf *before, *after;
};

/* One changed setting: a text line and a key in both JSON objects. */
static void setting(struct out *o, const char *key, const char *old,
		    const char *new, bool quote)
{
	if (!strcmp(old, new))
		return;
	o->d->changes++;
	ipg_buf_printf(&o->d->text, "~ %s%s: %s -> %s\n", o->who, key, old,
		       new);
	ipg_buf_printf(o->before, "\"%s\":", key);
	ipg_buf_printf(o->after, "\"%s\":", key);
	if (quote) {
		ipg_buf_json_str(o->before, old);
		ipg_buf_json_str(o->after, new);
	} else {
		ipg_buf_printf(o->before, "%s", old);
		ipg_buf_printf(o->after, "%s", new);
	}
	ipg_buf_printf(o->before, ",");
	ipg_buf_printf(o->after, ",");
}

/* Lists the entries of @from that @to lacks (or labels or expires
 * differently). */
static void diff_entries(struct out *o, const struct ipg_policy_spec *from,
			 const struct ipg_policy_spec *to, char sign,
			 struct ipg_buf *json)
{
	bool first = true;

	ipg_buf_printf(json, "\"entries\":[");
	for (uint32_t i = 0; i < from->n_entries; i++) {
		int j = ipg_policy_find(to, &from->entries[i].prefix);

		if (j >= 0 &&
		    ipg_entry_same(&from->entries[i], &to->entries[j]))
			continue;
		o->d->changes++;
		o->d->entries_changed++;
		json_entry(json, &from->entries[i], &first);
		text_entry(&o->d->text, sign, o->who, &from->entries[i]);
	}
}

/* The settings both levels have, as the diff names them: enabled, mode,
 * max-entries; override-max is passed in, since the top level keeps it
 * outside its policy. When @set is not NULL (named lists), a setting the
 * list inherits on both sides is left out: the top level's line says it. */
static void policy_settings(struct out *o, const struct ipg_policy_spec *pa,
			    const struct ipg_policy_spec *pb, uint32_t oa,
			    uint32_t ob, const unsigned *set)
{
	char s1[32], s2[32];

#define OWN(bit) (!set || ((set[0] | set[1]) & (bit)))
	setting(o, "enabled", pa->kern.enabled ? "true" : "false",
		pb->kern.enabled ? "true" : "false", false);
	if (OWN(IPG_LIST_SET_MODE))
		setting(o, "mode", ipg_mode_name(pa->kern.mode),
			ipg_mode_name(pb->kern.mode), true);
	snprintf(s1, sizeof(s1), "%u", pa->max_entries);
	snprintf(s2, sizeof(s2), "%u", pb->max_entries);
	if (OWN(IPG_LIST_SET_MAX_ENTRIES))
		setting(o, "max-entries", s1, s2, false);
	snprintf(s1, sizeof(s1), "%u", oa);
	snprintf(s2, sizeof(s2), "%u", ob);
	if (OWN(IPG_LIST_SET_OVERRIDE_MAX))
		setting(o, "override-max", s1, s2, false);
#undef OWN
}

static void ports_setting(struct out *o, const struct ipg_policy_spec *pa,
			  const struct ipg_policy_spec *pb)
{
	struct ipg_buf x = { 0 }, y = { 0 };

	if (!memcmp(&pa->ports, &pb->ports, sizeof(pa->ports)))
		return;
	ipg_config_ports(&pa->ports, &x);
	ipg_config_ports(&pb->ports, &y);
	setting(o, "protect", x.s ? x.s : "", y.s ? y.s : "", true);
	ipg_buf_free(&x);
	ipg_buf_free(&y);
}

/* The addresses of @l, sorted, separated by spaces. */
static void format_addrs(const struct ipg_config_list *l, struct ipg_buf *b,
			 bool json)
{
	struct ipg_prefix v[IPG_LIST_ADDRS_MAX];
	char a[IPG_PREFIX_STRLEN];
	int n = l->n_addrs;

	if (l->shared)
		ipg_buf_printf(b, json ? "\"shared\"" : "shared");
	memcpy(v, l->addrs, sizeof(v[0]) * (size_t)n);
	for (int i = 1; i < n; i++) /* a few: insertion sort */
		for (int j = i; j > 0 && ipg_prefix_cmp(&v[j - 1], &v[j]) > 0;
		     j--) {
			struct ipg_prefix t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	for (int i = 0; i < n; i++) {
		ipg_prefix_format(&v[i], a, sizeof(a));
		ipg_buf_printf(b, json ? "%s\"%s\"" : "%s%s",
			       !i   ? "" :
			       json ? "," :
				      " ",
			       a);
	}
}

/* Whether lists @a and @b (of one name) are the same, the quick way that
 * holds when a copy was edited elsewhere: entries in the same order. */
static bool same_list(const struct ipg_config_list *a,
		      const struct ipg_config_list *b)
{
	const struct ipg_policy_spec *x = &a->policy, *y = &b->policy;

	if (a == b) /* shared by both configs (ipg_config_cow()) */
		return true;
	if (a->n_addrs != b->n_addrs || x->n_entries != y->n_entries ||
	    x->max_entries != y->max_entries || a->set != b->set ||
	    a->override_max_s != b->override_max_s ||
	    memcmp(a->addrs, b->addrs,
		   sizeof(a->addrs[0]) * (size_t)a->n_addrs) ||
	    x->kern.enabled != y->kern.enabled ||
	    x->kern.mode != y->kern.mode ||
	    memcmp(x->ports.tcp, y->ports.tcp, sizeof(x->ports.tcp)) ||
	    memcmp(x->ports.udp, y->ports.udp, sizeof(x->ports.udp)))
		return false;
	for (uint32_t i = 0; i < x->n_entries; i++)
		if (!ipg_prefix_equal(&x->entries[i].prefix,
				      &y->entries[i].prefix) ||
		    !ipg_entry_same(&x->entries[i], &y->entries[i]))
			return false;
	return true;
}

/* A list that one side has and the other lacks: all of it on the side
 * that has it (@sign '-': before, '+': after). */
static void whole_list(struct ipg_config_diff *d,
		       const struct ipg_config_list *l, char sign,
		       struct ipg_buf *has, struct ipg_buf *lacks)
{
	const struct ipg_policy_spec *s = &l->policy;
	struct ipg_buf ports = { 0 };
	char who[IPG_LIST_NAME_MAX + 16];
	bool first = true;

	snprintf(who, sizeof(who), "list %s: ", l->name);
	d->changes++;
	ipg_buf_printf(&d->text, "%c list %s: address ", sign, l->name);
	format_addrs(l, &d->text, false);
	ipg_buf_printf(&d->text, "; enabled %s; %u entr%s\n",
		       s->kern.enabled ? "yes" : "no", s->n_entries,
		       s->n_entries == 1 ? "y" : "ies");
	ipg_config_ports(&s->ports, &ports);
	ipg_buf_printf(has, "\"address\":[");
	format_addrs(l, has, true);
	ipg_buf_printf(has,
		       "],\"enabled\":%s,\"mode\":\"%s\",\"max-entries\":%u,"
		       "\"override-max\":%u,\"protect\":",
		       s->kern.enabled ? "true" : "false",
		       ipg_mode_name(s->kern.mode), s->max_entries,
		       l->override_max_s);
	ipg_buf_json_str(has, ports.s ? ports.s : "");
	ipg_buf_printf(has, ",\"entries\":[");
	ipg_buf_free(&ports);
	for (uint32_t i = 0; i < s->n_entries; i++) {
		d->changes++;
		d->entries_changed++;
		json_entry(has, &s->entries[i], &first);
		text_entry(&d->text, sign, who, &s->entries[i]);
	}
	ipg_buf_printf(has, "],\"count\":%u}", s->n_entries);
	ipg_buf_printf(lacks, "\"exists\":false}");
}

/* Lists @a and @b, of one name: what changed, if anything. */
static void changed_list(struct ipg_config_diff *d,
			 const struct ipg_config_list *a,
			 const struct ipg_config_list *b, struct ipg_buf *jb,
			 struct ipg_buf *ja)
{
	const unsigned set[2] = { a->set, b->set };
	struct ipg_buf x = { 0 }, y = { 0 };
	char who[IPG_LIST_NAME_MAX + 16];
	struct out o = { d, who, jb, ja };

	snprintf(who, sizeof(who), "list %s: ", a->name);
	format_addrs(a, &x, false);
	format_addrs(b, &y, false);
	if (strcmp(x.s, y.s)) {
		d->changes++;
		ipg_buf_printf(&d->text, "~ %saddress: %s -> %s\n", who, x.s,
			       y.s);
		ipg_buf_printf(jb, "\"address\":[");
		format_addrs(a, jb, true);
		ipg_buf_printf(ja, "\"address\":[");
		format_addrs(b, ja, true);
		ipg_buf_printf(jb, "],");
		ipg_buf_printf(ja, "],");
	}
	ipg_buf_free(&x);
	ipg_buf_free(&y);
	policy_settings(&o, &a->policy, &b->policy, a->override_max_s,
			b->override_max_s, set);
	if ((a->set | b->set) & IPG_LIST_SET_PROTECT)
		ports_setting(&o, &a->policy, &b->policy);
	diff_entries(&o, &a->policy, &b->policy, '-', jb);
	diff_entries(&o, &b->policy, &a->policy, '+', ja);
	ipg_buf_printf(jb, "],\"count\":%u}", a->policy.n_entries);
	ipg_buf_printf(ja, "],\"count\":%u}", b->policy.n_entries);
}

static int by_name(const void *x, const void *y)
{
	return strcmp((*(const struct ipg_config_list *const *)x)->name,
		      (*(const struct ipg_config_list *const *)y)->name);
}

/* @c's lists sorted by name (caller frees), or NULL. */
static const struct ipg_config_list **sorted(const struct ipg_config *c)
{
	const struct ipg_config_list **v =
		calloc((size_t)c->n_lists + 1, sizeof(*v));

	if (!v)
		return NULL;
	for (int i = 0; i < c->n_lists; i++)
		v[i] = c->lists[i];
	qsort(v, (size_t)c->n_lists, sizeof(*v), by_name);
	return v;
}

/* One JSON object per list that changed, under "lists", in name order. */
static int diff_lists(const struct ipg_config *a, const struct ipg_config *b,
		      struct ipg_config_diff *d)
{
	const struct ipg_config_list **va = sorted(a), **vb = sorted(b);
	int i = 0, j = 0, shown = 0;

	if (!va || !vb) {
		free(va);
		free(vb);
		return -ENOMEM;
	}
	while (i < a->n_lists || j < b->n_lists) {
		int cmp = i == a->n_lists ? 1 :
			  j == b->n_lists ? -1 :
					    strcmp(va[i]->name, vb[j]->name);
		const struct ipg_config_list *l = cmp <= 0 ? va[i] : vb[j];
		struct ipg_buf jb = { 0 }, ja = { 0 };
		int changes = d->changes;

		if (cmp == 0 && same_list(va[i], vb[j])) {
			i++, j++;
			continue;
		}
		ipg_buf_printf(&jb, "{\"list\":");
		ipg_buf_json_str(&jb, l->name);
		ipg_buf_printf(&jb, ",");
		ipg_buf_printf(&ja, "%s", jb.s);
		if (cmp < 0)
			whole_list(d, va[i++], '-', &jb, &ja);
		else if (cmp > 0)
			whole_list(d, vb[j++], '+', &ja, &jb);
		else
			changed_list(d, va[i++], vb[j++], &jb, &ja);
		/* A list that only inherits a changed setting changed too,
		 * but the top level's line tells it. */
		d->lists_changed++;
		d->lists[d->n_lists++] = l->name;
		if (d->changes > changes) {
			ipg_buf_printf(&d->before, "%s%s",
				       shown ? "," : ",\"lists\":[", jb.s);
			ipg_buf_printf(&d->after, "%s%s",
				       shown++ ? "," : ",\"lists\":[", ja.s);
		}
		ipg_buf_free(&jb);
		ipg_buf_free(&ja);
	}
	if (shown) {
		ipg_buf_printf(&d->before, "]");
		ipg_buf_printf(&d->after, "]");
	}
	free(va);
	free(vb);
	return 0;
}

/* The HTTP API's settings, each a host setting of its own. */
static void http_settings(struct out *o, const struct ipg_http_config *a,
			  const struct ipg_http_config *b)
{
	char s1[IPG_HTTP_PATH_MAX + 8], s2[IPG_HTTP_PATH_MAX + 8];
	struct ipg_buf x = { 0 }, y = { 0 };

	ipg_http_listen_format(a, s1, sizeof(s1));
	ipg_http_listen_format(b, s2, sizeof(s2));
	setting(o, "http-listen", s1, s2, true);
	setting(o, "http-tls-cert", a->tls_cert, b->tls_cert, true);
	setting(o, "http-tls-key", a->tls_key, b->tls_key, true);
	setting(o, "http-public-url", a->public_url, b->public_url, true);
	for (int i = 0; i < a->n_proxies || i < b->n_proxies; i++) {
		if (i < a->n_proxies) {
			ipg_prefix_format(&a->proxies[i], s1, sizeof(s1));
			ipg_buf_printf(&x, "%s%s", i ? " " : "", s1);
		}
		if (i < b->n_proxies) {
			ipg_prefix_format(&b->proxies[i], s2, sizeof(s2));
			ipg_buf_printf(&y, "%s%s", i ? " " : "", s2);
		}
	}
	setting(o, "http-trusted-proxy", x.s ? x.s : "", y.s ? y.s : "", true);
	ipg_buf_free(&x);
	ipg_buf_free(&y);
	setting(o, "metrics-public", a->metrics_public ? "true" : "false",
		b->metrics_public ? "true" : "false", false);
}

/* The fleet store's settings (the password itself is in its file). */
static void store_settings(struct out *o, const struct ipg_store_config *a,
			   const struct ipg_store_config *b)
{
	struct ipg_buf x = { 0 }, y = { 0 };

	for (int i = 0; i < a->n_endpoints; i++)
		ipg_buf_printf(&x, "%s%s", i ? "," : "etcd ", a->endpoints[i]);
	for (int i = 0; i < b->n_endpoints; i++)
		ipg_buf_printf(&y, "%s%s", i ? "," : "etcd ", b->endpoints[i]);
	setting(o, "store", x.s ? x.s : "off", y.s ? y.s : "off", true);
	ipg_buf_free(&x);
	ipg_buf_free(&y);
	setting(o, "store-prefix", a->prefix, b->prefix, true);
	setting(o, "store-ca", a->ca, b->ca, true);
	setting(o, "store-cert", a->cert, b->cert, true);
	setting(o, "store-key", a->key, b->key, true);
	setting(o, "store-user", a->user, b->user, true);
	setting(o, "store-password-file", a->password_file, b->password_file,
		true);
	setting(o, "store-host", a->host, b->host, true);
}

int ipg_config_diff(const struct ipg_config *a, const struct ipg_config *b,
		    struct ipg_config_diff *d)
{
	const struct ipg_policy_spec *pa = &a->policy, *pb = &b->policy;
	struct out o = { d, "", &d->before, &d->after };
	struct ipg_buf x = { 0 }, y = { 0 };
	char s1[32], s2[32];
	int r, c, host;

	memset(d, 0, sizeof(*d));
	d->lists = calloc((size_t)a->n_lists + (size_t)b->n_lists + 2,
			  sizeof(*d->lists));
	if (!d->lists)
		return -ENOMEM;
	ipg_buf_printf(&d->before, "{");
	ipg_buf_printf(&d->after, "{");
	policy_settings(&o, pa, pb, a->override_max_s, b->override_max_s, NULL);
	/* The host's own settings are no list's: counted apart. */
	c = d->changes;
	snprintf(s1, sizeof(s1), "%u", a->breakglass_port);
	snprintf(s2, sizeof(s2), "%u", b->breakglass_port);
	setting(&o, "breakglass-port", s1, s2, false);
	http_settings(&o, &a->http, &b->http);
	store_settings(&o, &a->store, &b->store);
	setting(&o, "chain", *a->chain ? a->chain : "off",
		*b->chain ? b->chain : "off", true);
	snprintf(s1, sizeof(s1), "%u", a->blocked_budget);
	snprintf(s2, sizeof(s2), "%u", b->blocked_budget);
	setting(&o, "blocked-log", s1, s2, false);
	host = d->changes - c;
	ports_setting(&o, pa, pb);
	format_ifaces(a, &x);
	format_ifaces(b, &y);
	c = d->changes;
	setting(&o, "interface", x.s ? x.s : "", y.s ? y.s : "", true);
	host += d->changes - c;
	ipg_buf_free(&x);
	ipg_buf_free(&y);

	/* Entries: removed ones go in "before", added ones in "after"; a
	 * changed label or expiry counts as both. */
	diff_entries(&o, pa, pb, '-', &d->before);
	diff_entries(&o, pb, pa, '+', &d->after);
	ipg_buf_printf(&d->before, "],\"count\":%u", pa->n_entries);
	ipg_buf_printf(&d->after, "],\"count\":%u", pb->n_entries);
	/* The default list changed when anything but the host's own
	 * settings (interfaces, break-glass port) did at the top level. */
	if (d->changes > host)
		d->lists[d->n_lists++] = "default";
	r = diff_lists(a, b, d);
	ipg_buf_printf(&d->before, "}");
	ipg_buf_printf(&d->after, "}");
	if (r || d->text.oom || d->before.oom || d->after.oom) {
		ipg_config_diff_free(d);
		return -ENOMEM;
	}
	if (!d->text.s)
		ipg_buf_printf(&d->text, "%s", "");
	return d->text.oom ? -ENOMEM : 0;
}

void ipg_config_diff_free(struct ipg_config_diff *d)
{
	free(d->lists);
	d->lists = NULL;
	d->n_lists = 0;
	ipg_buf_free(&d->text);
	ipg_buf_free(&d->before);
	ipg_buf_free(&d->after);
}
