// SPDX-License-Identifier: GPL-2.0
/* The config's lists in the kernel: which lists a change touches, and
 * flipping only those (docs/design.md, "Lists in the kernel"); the map
 * sizes a config needs; the kernel's lists as a config, for the start's
 * audit. */
#include "daemon.h"

/* Whether @a and @b put the same thing in the kernel: settings, ports and
 * the set of prefixes with their expiries (labels and order aside). */
static bool same_in_kernel(const struct ipg_policy_spec *a,
			   const struct ipg_policy_spec *b)
{
	if (a->kern.enabled != b->kern.enabled ||
	    a->kern.mode != b->kern.mode || a->n_entries != b->n_entries ||
	    memcmp(&a->ports, &b->ports, sizeof(a->ports)))
		return false;
	for (uint32_t i = 0; i < a->n_entries; i++) {
		int j = ipg_policy_find(b, &a->entries[i].prefix);

		if (j < 0 || b->entries[j].expires != a->entries[i].expires)
			return false;
	}
	return true;
}

static bool same_dsts(const struct ipg_config_list *a,
		      const struct ipg_config_list *b)
{
	if (a->n_addrs != b->n_addrs)
		return false;
	for (int i = 0; i < a->n_addrs; i++) {
		bool found = false;

		for (int j = 0; j < b->n_addrs && !found; j++)
			found = ipg_prefix_equal(&a->addrs[i], &b->addrs[j]);
		if (!found)
			return false;
	}
	return true;
}

/* Makes list @id run @s unless @prev (the same list as the kernel has it,
 * or NULL) already puts the same there; then only the rule ids are taken
 * over. */
static int sync_policy(struct daemon *d, uint32_t id,
		       const struct ipg_policy_spec *prev,
		       struct ipg_policy_spec *s, struct ipg_error *e)
{
	if (prev && same_in_kernel(prev, s)) {
		ipg_policy_keep_ids(s, prev->entries, prev->n_entries);
		return 0;
	}
	return ipg_datapath_apply_list(d->dp, id, s, e);
}

/* List @name of @c, looked for at index @i first (where it is when @c is
 * a copy of the config it is compared with), else by name. */
static const struct ipg_config_list *list_in(const struct ipg_config *c, int i,
					     const char *name)
{
	if (i < c->n_lists && !strcmp(c->lists[i]->name, name))
		return c->lists[i];
	return ipg_config_list_find(c, name);
}

/* Named lists the kernel has and @next does not: dropped (at start, when
 * the kernel may hold anything). */
static int drop_all_gone(struct daemon *d, const struct ipg_config *next,
			 struct ipg_error *e)
{
	uint32_t ids[IPG_LISTS_MAX + 1];
	int n = ipg_datapath_list_ids(d->dp, ids, IPG_LISTS_MAX + 1), r = 0;

	for (int i = 0; i < n && !r; i++) {
		const char *name = ipg_datapath_list_name(d->dp, ids[i]);

		if (ids[i] == IPG_LIST_DEFAULT || !name ||
		    ipg_config_list_find(next, name))
			continue;
		grants_end_list(d, ids[i], "list removed");
		r = ipg_datapath_list_close(d->dp, ids[i], e);
	}
	return r;
}

/* Named lists the kernel has and @next does not: dropped, their grants
 * ended. With @prev, only its lists are looked at (the kernel runs
 * @prev); without, every list in the kernel. */
static int drop_gone(struct daemon *d, const struct ipg_config *prev,
		     const struct ipg_config *next, struct ipg_error *e)
{
	int r = 0;

	for (int i = 0; prev && i < prev->n_lists && !r; i++) {
		const struct ipg_config_list *l = prev->lists[i];
		uint32_t id;

		if (list_in(next, i, l->name) ||
		    ipg_datapath_list_id(d->dp, l->name, &id))
			continue;
		grants_end_list(d, id, "list removed");
		r = ipg_datapath_list_close(d->dp, id, e);
	}
	return prev ? r : drop_all_gone(d, next, e);
}

/* The lists of @next the kernel lacks, opened at once (their tries reach
 * the kernel in one batch: one grace period for all). */
static int open_new(struct daemon *d, const struct ipg_config *prev,
		    const struct ipg_config *next, struct ipg_error *e)
{
	const char **names = calloc((size_t)next->n_lists + 1, sizeof(*names));
	uint32_t *ids = calloc((size_t)next->n_lists + 1, sizeof(*ids)), id;
	int n = 0, r = 0;

	if (!names || !ids)
		r = ipg_fail(e, -ENOMEM, "out of memory");
	for (int i = 0; i < next->n_lists && !r; i++) {
		const struct ipg_config_list *l = next->lists[i];

		if (prev && list_in(prev, i, l->name) == l)
			continue;
		if (ipg_datapath_list_id(d->dp, l->name, &id))
			names[n++] = l->name;
	}
	if (!r && n)
		r = ipg_datapath_lists_open(d->dp, names, n, ids, e);
	free(names);
	free(ids);
	return r;
}

/* Every named list's destinations of @c at once (one flip of the table),
 * unless each list of @c has the addresses it has in @prev. */
static int publish_dsts(struct daemon *d, const struct ipg_config *prev,
			const struct ipg_config *c, struct ipg_error *e)
{
	bool changed = !prev || prev->n_lists != c->n_lists;
	struct ipg_prefix *addrs;
	int n = 0, total = 0, r = 0;
	uint32_t *ids;

	for (int i = 0; i < c->n_lists; i++) {
		const struct ipg_config_list *l = c->lists[i], *pl;

		total += l->n_addrs;
		if (changed || (pl = list_in(prev, i, l->name)) == l)
			continue;
		changed = !pl || !same_dsts(pl, l);
	}
	if (!changed)
		return 0;
	ids = calloc((size_t)total + 1, sizeof(*ids));
	addrs = calloc((size_t)total + 1, sizeof(*addrs));
	if (!ids || !addrs)
		r = ipg_fail(e, -ENOMEM, "out of memory");
	for (int i = 0; i < c->n_lists && !r; i++) {
		const struct ipg_config_list *l = c->lists[i];
		uint32_t id;

		if (ipg_datapath_list_id(d->dp, l->name, &id)) {
			r = ipg_fail(e, -ENOENT, "list %s is not in the kernel",
				     l->name);
			break;
		}
		for (int k = 0; k < l->n_addrs; k++) {
			ids[n] = id;
			addrs[n++] = l->addrs[k];
		}
	}
	if (!r)
		r = ipg_datapath_set_all_dsts(d->dp, ids, addrs, n, e);
	free(ids);
	free(addrs);
	return r;
}

/* The chained program: set at start and whenever the path changes. A
 * change naming one that cannot be chained is refused; a start runs
 * without it, saying why (ipgate passes the traffic itself). */
static int sync_chain(struct daemon *d, const struct ipg_config *prev,
		      const struct ipg_config *next, struct ipg_error *e)
{
	bool starting = d->epfd < 0;
	int r;

	if (!starting && prev && !strcmp(prev->chain, next->chain))
		return 0;
	r = ipg_datapath_set_chain(d->dp, next->chain, e);
	if (!r) {
		d->chain_error[0] = '\0';
		return 0;
	}
	if (!starting)
		return r;
	snprintf(d->chain_error, sizeof(d->chain_error), "%s", e->msg);
	pr_warn("%s; ipgate passes the traffic itself", e->msg);
	ipg_datapath_set_chain(d->dp, NULL, NULL);
	return 0;
}

int apply_config(struct daemon *d, const struct ipg_config *prev,
		 struct ipg_config *next, bool undo, struct ipg_error *e)
{
	int r = sync_chain(d, prev, next, e);

	if (!r)
		r = sync_policy(d, IPG_LIST_DEFAULT,
				prev ? &prev->policy : NULL, &next->policy, e);

	/* New lists first, then each list flipped to its policy, and only
	 * then the destinations, all at once: an address moving between
	 * lists, or a list renamed, goes from one list to the other in one
	 * flip, never by way of the default list. */
	if (!r)
		r = open_new(d, prev, next, e);
	for (int i = 0; i < next->n_lists && !r; i++) {
		struct ipg_config_list *l = next->lists[i];
		const struct ipg_config_list *pl =
			prev ? list_in(prev, i, l->name) : NULL;
		uint32_t id;

		if (pl == l)
			continue; /* shared by both: the kernel has it */
		r = ipg_datapath_list_open(d->dp, l->name, &id, e);
		if (!r)
			r = sync_policy(d, id, pl ? &pl->policy : NULL,
					&l->policy, e);
	}
	if (!r)
		r = publish_dsts(d, prev, next, e);
	/* Putting back a failed change: the lists it opened go again. A
	 * change that went through closes its gone lists only once it is
	 * audited (close_gone()), so a rollback never loses a list's
	 * override or grants. */
	if (!r && undo)
		r = drop_gone(d, prev, next, e);
	return r;
}

int close_gone(struct daemon *d, const struct ipg_config *prev,
	       const struct ipg_config *next, struct ipg_error *e)
{
	return drop_gone(d, prev, next, e);
}

void config_sizes(const struct ipg_config *c, struct ipg_datapath_opts *o)
{
	uint32_t entries = c->policy.max_entries, dsts = 0, sets = 1;

	for (int i = 0; i < c->n_lists; i++) {
		const struct ipg_config_list *l = c->lists[i];

		entries += l->policy.max_entries;
		dsts += (uint32_t)l->n_addrs;
		if (l->set & IPG_LIST_SET_PROTECT)
			sets++;
	}
	ipg_datapath_size(o, (uint32_t)c->n_lists + 1, entries, sets, dsts);
}

/* The kernel's live rules of list @id into @s, with the labels @file (the
 * same list in the file, or NULL) gives them. */
static int kernel_rules(struct daemon *d, uint32_t id,
			const struct ipg_policy_spec *file,
			struct ipg_policy_spec *s)
{
	struct ipg_entry *live = calloc(IPG_RULES_MAX, sizeof(*live));
	int n;

	if (!live)
		return -ENOMEM;
	n = ipg_datapath_list_rules(d->dp, id, live);
	if (n >= 0)
		ipg_datapath_list_active(d->dp, id, &s->kern);
	for (int i = 0; i < n; i++) {
		int j = file ? ipg_policy_find(file, &live[i].prefix) : -1;

		s->entries[i] = live[i];
		if (j >= 0)
			strcpy(s->entries[i].label, file->entries[j].label);
	}
	s->n_entries = n > 0 ? (uint32_t)n : 0;
	free(live);
	return n < 0 ? n : 0;
}

/* Named list @id as the kernel has it; settings the kernel does not hold
 * come from the file's list of that name, when there is one. */
static struct ipg_config_list *kernel_list(struct daemon *d, uint32_t id)
{
	const char *name = ipg_datapath_list_name(d->dp, id);
	const struct ipg_config_list *f = ipg_config_list_find(&d->cfg, name);
	struct ipg_config_list *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	snprintf(l->name, sizeof(l->name), "%s", name);
	ipg_policy_init(&l->policy);
	if (f) {
		l->set = f->set;
		l->override_max_s = f->override_max_s;
		l->policy.max_entries = f->policy.max_entries;
	}
	kernel_rules(d, id, f ? &f->policy : NULL, &l->policy);
	ipg_datapath_list_ports(d->dp, id, &l->policy.ports);
	l->n_addrs =
		ipg_datapath_list_dsts(d->dp, id, l->addrs, IPG_LIST_ADDRS_MAX);
	if (f && l->n_addrs == f->n_addrs && same_dsts(l, f))
		memcpy(l->addrs, f->addrs, sizeof(l->addrs)); /* file order */
	l->file = -1;
	return l;
}

int kernel_config(struct daemon *d, struct ipg_config *k)
{
	uint32_t ids[IPG_LISTS_MAX + 1];
	int n;

	memset(k, 0, sizeof(*k));
	ipg_policy_init(&k->policy);
	k->n_interfaces = d->cfg.n_interfaces;
	memcpy(k->interfaces, d->cfg.interfaces, sizeof(k->interfaces));
	k->override_max_s = d->cfg.override_max_s;
	k->breakglass_port = d->cfg.breakglass_port;
	/* Every host setting, which the kernel does not hold (one left out
	 * would be audited as changed at every start). */
	k->http = d->cfg.http;
	k->store = d->cfg.store;
	memcpy(k->chain, d->cfg.chain, sizeof(k->chain));
	k->blocked_budget = d->cfg.blocked_budget;
	k->policy.max_entries = d->cfg.policy.max_entries;
	if (!ipg_datapath_adopted(d->dp))
		return 0;
	if (kernel_rules(d, IPG_LIST_DEFAULT, &d->cfg.policy, &k->policy))
		return -ENOMEM;
	ipg_datapath_list_ports(d->dp, IPG_LIST_DEFAULT, &k->policy.ports);
	n = ipg_datapath_list_ids(d->dp, ids, IPG_LISTS_MAX + 1);
	k->lists = calloc((size_t)n + 1, sizeof(*k->lists));
	if (!k->lists)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		if (ids[i] == IPG_LIST_DEFAULT)
			continue;
		k->lists[k->n_lists] = kernel_list(d, ids[i]);
		if (!k->lists[k->n_lists])
			return -ENOMEM;
		k->n_lists++;
	}
	return 0;
}

/* The list a request names ("list", default "default"), or -ENOENT with
 * the reply set. @id gets its kernel id. */
int req_list(struct req *q, const char **name, uint32_t *id)
{
	const char *n = ipg_ctl_get(q->m, "list");

	if (!n || !*n)
		n = "default";
	if (strcmp(n, "default") && !ipg_config_list_find(&q->d->cfg, n))
		return reply_errf(q, -ENOENT,
				  "no list named \"%s\"; `ipgate lists` shows "
				  "them, and a list is made by adding a "
				  "\"list %s { ... }\" block to the config",
				  n, n);
	if (ipg_datapath_list_id(q->d->dp, n, id))
		return reply_errf(q, -ENOENT,
				  "list %s is in the config but not in the "
				  "kernel; see `ipgate status`",
				  n);
	*name = n;
	return 0;
}

/* For lists: one list's row. @l is NULL for the default list. */
static void print_list_row(struct ipg_print *p, struct daemon *d,
			   const struct ipg_config_list *l)
{
	const char *name = l ? l->name : "default";
	const struct ipg_policy_spec *s = l ? &l->policy : &d->cfg.policy;
	uint64_t st[IPG_STAT_MAX] = { 0 }, left = 0, blocked;
	struct ipg_buf addrs = { 0 };
	char a[IPG_PREFIX_STRLEN], ovr[32] = "-";
	uint32_t id;

	if (!ipg_datapath_list_id(d->dp, name, &id)) {
		ipg_datapath_list_stats(d->dp, id, st);
		left = list_override_left(d, id);
	}
	if (left)
		format_duration(left, ovr, sizeof(ovr));
	blocked = st[IPG_STAT_DROP_DENIED] + st[IPG_STAT_DROP_MALFORMED] +
		  st[IPG_STAT_TX_RESET];
	for (int i = 0; l && i < l->n_addrs; i++) {
		ipg_prefix_format(&l->addrs[i], a, sizeof(a));
		ipg_buf_printf(&addrs, "%s%s", i ? "," : "", a);
	}
	ipg_print_open_object(p, NULL);
	ipg_print_string(p, IPG_PR_ANY, "name", "%-20s", name);
	ipg_print_text(p, " %-32s",
		       addrs.s	      ? addrs.s :
		       l && l->shared ? "(shared: HTTP check)" :
					"(the rest)");
	ipg_print_bool(p, IPG_PR_JSON, "shared", NULL, l && l->shared);
	ipg_print_open_array(p, "addresses");
	for (int i = 0; l && i < l->n_addrs; i++) {
		ipg_prefix_format(&l->addrs[i], a, sizeof(a));
		ipg_print_string(p, IPG_PR_JSON, NULL, NULL, a);
	}
	ipg_print_close_array(p);
	ipg_print_bool(p, IPG_PR_JSON, "enabled", NULL, s->kern.enabled);
	ipg_print_string(p, IPG_PR_JSON, "mode", NULL,
			 ipg_mode_name(s->kern.mode));
	ipg_print_text(p, " %-8s",
		       !s->kern.enabled		       ? "NO" :
		       s->kern.mode == IPG_MODE_SHADOW ? "shadow" :
							 "yes");
	ipg_print_u64(p, IPG_PR_JSON, "entries", NULL, s->n_entries);
	ipg_print_u64(p, IPG_PR_JSON, "max_entries", NULL, s->max_entries);
	ipg_print_text(p, " %4u/%-4u", s->n_entries, s->max_entries);
	ipg_print_u64(p, IPG_PR_JSON, "override_seconds_left", NULL, left);
	ipg_print_text(p, " %-9s", ovr);
	ipg_print_u64(p, IPG_PR_ANY, "passed_allowed", " %12s",
		      st[IPG_STAT_PASS_ALLOWED]);
	ipg_print_u64(p, IPG_PR_ANY, "blocked", " %12s\n", blocked);
	ipg_print_u64(p, IPG_PR_JSON, "would_drop", NULL,
		      st[IPG_STAT_PASS_SHADOW]);
	ipg_print_close_object(p);
	ipg_buf_free(&addrs);
}

int do_lists(struct req *q)
{
	struct daemon *d = q->d;
	struct ipg_print p;

	ipg_print_init(&p, &q->out, q->json);
	ipg_print_open_object(&p, NULL);
	ipg_print_text(&p, "%-20s %-32s %-8s %9s %-9s %12s %12s\n", "LIST",
		       "ADDRESSES", "ENABLED", "ENTRIES", "OVERRIDE", "HITS",
		       "BLOCKED");
	ipg_print_open_array(&p, "lists");
	print_list_row(&p, d, NULL);
	for (int i = 0; i < d->cfg.n_lists; i++)
		print_list_row(&p, d, d->cfg.lists[i]);
	ipg_print_close_array(&p);
	if (override_left(d))
		ipg_print_text(&p, "an override of every list is running; "
				   "see 'ipgate status'\n");
	ipg_print_close_object(&p);
	return print_end(q, &p);
}
