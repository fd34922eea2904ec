// SPDX-License-Identifier: GPL-2.0
/* One list's flip: rule ids, port sets, the inactive slot's tries, the
 * store of the active word and the grace period after it (off the request
 * path, in a thread); the live slot read back; the mirror of the kernel's
 * lists that lets a change read nothing of the other lists. See
 * docs/design.md, "Lists in the kernel". */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath_int.h"
#include "ipgate/dst.h"

static int trie_clear(int fd)
{
	uint8_t key[sizeof(struct ipg_lpm_v6)];

	/* Deleting the first key until none is left needs no iteration
	 * state that deletions could invalidate. */
	while (bpf_map_get_next_key(fd, NULL, key) == 0)
		if (bpf_map_delete_elem(fd, key) && errno != ENOENT)
			return -errno;
	return errno == ENOENT ? 0 : -errno;
}

static int trie_put(int fd, const struct ipg_entry *ent)
{
	const struct ipg_prefix *p = &ent->prefix;
	struct ipg_lpm_v6 k = { .prefixlen = p->len };
	struct ipg_rule v = { .id = ent->rule_id,
			      .prefixlen = p->len,
			      .expires_ns = ipg_expiry_boot_ns(ent->expires) };

	/* The v4 key is a prefix of the v6 key's layout. */
	memcpy(k.addr, p->addr, p->family == 4 ? 4 : 16);
	return bpf_map_update_elem(fd, &k, &v, BPF_ANY) ? -errno : 0;
}

/* Appends every (prefix, rule id) of trie @fd of @family to @out (room for
 * @max in all); returns the new count. */
static int trie_read(int fd, int family, struct ipg_entry *out, int n, int max)
{
	struct ipg_lpm_v6 k;
	void *prev = NULL;

	while (n < max && bpf_map_get_next_key(fd, prev, &k) == 0) {
		struct ipg_entry *ent = &out[n];

		struct ipg_rule v;

		prev = &k;
		memset(ent, 0, sizeof(*ent));
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue;
		ent->rule_id = v.id;
		ent->expires = ipg_expiry_wall(v.expires_ns);
		ent->prefix.family = (uint8_t)family;
		ent->prefix.len = (uint8_t)k.prefixlen;
		memcpy(ent->prefix.addr, k.addr, family == 4 ? 4 : 16);
		n++;
	}
	return n;
}

/* Reads slot @slot of list @id into @out (room for IPG_RULES_MAX). */
static int read_slot_rules(struct ipg_datapath *dp, uint32_t id, __u32 slot,
			   struct ipg_entry *out)
{
	int n = 0;

	for (int f = 4; f <= 6; f += 2) {
		int fd = ipg_dp_trie_fd(dp, f, id * IPG_SLOTS + slot);

		if (fd < 0)
			return fd;
		n = trie_read(fd, f, out, n, IPG_RULES_MAX);
		close(fd);
	}
	return n;
}

/* A port set equal to @want already written and named by a slot, else
 * one no slot names, written now. */
static int portset_for(struct ipg_datapath *dp, const struct ipg_ports *want,
		       uint32_t *out)
{
	uint32_t n = dp->size.ports_max, free_set = UINT32_MAX;
	bool *named = calloc(n, sizeof(*named));

	if (!named)
		return -ENOMEM;
	named[0] = true; /* the empty set, which fresh slots name */
	for (uint32_t i = 0; i < dp->size.lists_max; i++)
		for (int s = 0; dp->lists[i].name[0] && s < IPG_SLOTS; s++)
			if (dp->lists[i].ports[s] < n)
				named[dp->lists[i].ports[s]] = true;
	for (uint32_t i = 0; i < n; i++) {
		if (named[i] && dp->portset_written[i] &&
		    !memcmp(&dp->portsets[i], want, sizeof(*want))) {
			free(named);
			*out = i;
			return 0;
		}
		if (!named[i] && free_set == UINT32_MAX)
			free_set = i;
	}
	free(named);
	if (free_set == UINT32_MAX)
		return -ENOSPC;
	if (bpf_map_update_elem(MAPFD(dp, ipg_ports), &free_set, want, BPF_ANY))
		return -errno;
	dp->portsets[free_set] = *want;
	dp->portset_written[free_set] = true;
	*out = free_set;
	return 0;
}

/* Gives each entry of @s the id its prefix has in @l's live slot, or one
 * no live slot uses and no earlier entry of @s took. */
static int assign_ids(struct ipg_datapath *dp, const struct ipg_dp_list *l,
		      struct ipg_policy_spec *s, bool *fresh)
{
	uint32_t next = 0;

	for (uint32_t i = 0; i < s->n_entries; i++) {
		struct ipg_entry *ent = &s->entries[i];

		fresh[i] = true;
		for (uint32_t j = 0; j < l->n_rules && fresh[i]; j++)
			if (ipg_prefix_equal(&l->rules[j].prefix,
					     &ent->prefix)) {
				ent->rule_id = l->rules[j].rule_id;
				fresh[i] = false;
			}
	}
	for (uint32_t i = 0; i < s->n_entries; i++) {
		bool taken = true;

		if (!fresh[i])
			continue;
		for (; next < dp->size.rules_max && taken; next += taken) {
			taken = ipg_dp_rule_used(dp, next);
			for (uint32_t j = 0; j < s->n_entries && !taken; j++)
				taken = !fresh[j] &&
					s->entries[j].rule_id == next;
		}
		if (taken || next >= dp->size.rules_max)
			return -ENOSPC;
		s->entries[i].rule_id = next++;
	}
	return 0;
}

/* Writes the range table of slot @idx from @s; *@used says whether the
 * slot's IPv4 entries fit in it (if not, the program asks the trie). */
static int fill_table(struct ipg_datapath *dp, uint32_t idx,
		      const struct ipg_policy_spec *s, bool *used,
		      struct ipg_error *e)
{
	struct ipg_v4_table t;
	int n = ipg_v4_table_build(s->entries, s->n_entries, &t);

	*used = n > 0;
	if (n == -E2BIG || n == -ERANGE)
		return 0;
	if (n < 0)
		return ipg_fail(e, n, "cannot build the range table: %s",
				strerror(-n));
	if (bpf_map_update_elem(MAPFD(dp, ipg_v4_table), &idx, &t, BPF_ANY))
		return ipg_fail(e, -errno,
				"cannot write the range table of slot %u: %s",
				idx, strerror(errno));
	return 0;
}

/* Fills the tries and the range table at index @idx with @s, zeroing the
 * counters of fresh rule ids; *@table says whether the range table holds
 * the IPv4 entries. */
static int fill_slot(struct ipg_datapath *dp, uint32_t idx,
		     const struct ipg_policy_spec *s, const bool *fresh,
		     bool *table, struct ipg_error *e)
{
	int fd[2], r = 0;

	fd[0] = ipg_dp_trie_fd(dp, 4, idx);
	fd[1] = ipg_dp_trie_fd(dp, 6, idx);
	if (fd[0] < 0 || fd[1] < 0) {
		r = fd[0] < 0 ? fd[0] : fd[1];
		ipg_fail(e, r, "cannot open the tries of slot %u: %s", idx,
			 strerror(-r));
		goto out;
	}
	for (int f = 0; f < 2 && !r; f++)
		if ((r = trie_clear(fd[f])))
			ipg_fail(e, r, "cannot clear slot %u: %s", idx,
				 strerror(-r));
	for (uint32_t i = 0; i < s->n_entries && !r; i++) {
		const struct ipg_entry *ent = &s->entries[i];
		char buf[IPG_PREFIX_STRLEN];

		if (fresh[i] &&
		    (r = ipg_dp_zero_percpu(dp, MAPFD(dp, ipg_rule_hits),
					    ent->rule_id))) {
			ipg_fail(e, r, "cannot reset hit counter %u: %s",
				 ent->rule_id, strerror(-r));
			break;
		}
		r = trie_put(fd[ent->prefix.family == 4 ? 0 : 1], ent);
		if (r) {
			ipg_prefix_format(&ent->prefix, buf, sizeof(buf));
			ipg_fail(e, r, "cannot insert %s: %s", buf,
				 strerror(-r));
		}
	}
	if (!r)
		r = fill_table(dp, idx, s, table, e);
out:
	for (int f = 0; f < 2; f++)
		if (fd[f] >= 0)
			close(fd[f]);
	return r;
}

/* Waits until no running program can still read outer index @idx:
 * updating a map-in-map entry returns only after a grace period. */
static int wait_for_readers(struct ipg_datapath *dp, uint32_t idx)
{
	int fd = ipg_dp_trie_fd(dp, 4, idx), r = 0;

	if (fd < 0)
		return fd;
	if (bpf_map_update_elem(MAPFD(dp, ipg_v4_tries), &idx, &fd, BPF_ANY))
		r = -errno;
	close(fd);
	return r;
}

static void *grace_main(void *arg)
{
	struct ipg_datapath *dp = arg;
	struct ipg_grace *g = &dp->grace;

	pthread_mutex_lock(&g->mu);
	for (;;) {
		uint64_t target;
		int r;

		while (!g->stop && g->completed == g->requested)
			pthread_cond_wait(&g->cv, &g->mu);
		if (g->stop)
			break;
		target = g->requested;
		pthread_mutex_unlock(&g->mu);
		/* Any outer entry rewritten unchanged will do: the default
		 * list's, which always exists and only this thread writes. */
		r = wait_for_readers(dp, 0);
		pthread_mutex_lock(&g->mu);
		g->err = r;
		if (!r)
			g->completed = target;
		pthread_cond_broadcast(&g->cv);
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

/* Asks for a grace period after a flip; returns its sequence number, or
 * 0 when it was waited for here already (no thread). */
uint64_t ipg_dp_grace_request(struct ipg_datapath *dp)
{
	struct ipg_grace *g = &dp->grace;
	uint64_t seq;

	if (!g->started) {
		sigset_t all, old;

		pthread_mutex_init(&g->mu, NULL);
		pthread_cond_init(&g->cv, NULL);
		/* The thread takes no signal: they are the daemon's, read from
		 * a signalfd by its loop (a SIGHUP here would kill it). */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		g->started = !pthread_create(&g->thread, NULL, grace_main, dp);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (!g->started) {
			pthread_cond_destroy(&g->cv);
			pthread_mutex_destroy(&g->mu);
			wait_for_readers(dp, 0);
			return 0;
		}
	}
	pthread_mutex_lock(&g->mu);
	seq = ++g->requested;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	return seq;
}

/* Returns once grace period @seq has ended (0: at once). */
int ipg_dp_grace_wait(struct ipg_datapath *dp, uint64_t seq)
{
	struct ipg_grace *g = &dp->grace;
	int r = 0;

	if (!seq || !g->started)
		return 0;
	pthread_mutex_lock(&g->mu);
	while (g->completed < seq && !g->err)
		pthread_cond_wait(&g->cv, &g->mu);
	if (g->completed < seq)
		r = g->err;
	pthread_mutex_unlock(&g->mu);
	/* The thread failed: wait here instead. */
	return r ? wait_for_readers(dp, 0) : 0;
}

void ipg_dp_grace_stop(struct ipg_datapath *dp)
{
	struct ipg_grace *g = &dp->grace;

	if (!g->started)
		return;
	pthread_mutex_lock(&g->mu);
	g->stop = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	pthread_join(g->thread, NULL);
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	g->started = false;
}

/* After a flip: the mirror takes @s's rules for list @id. */
static int adopt_rules(struct ipg_datapath *dp, struct ipg_dp_list *l,
		       const struct ipg_policy_spec *s)
{
	struct ipg_entry *rules = NULL;

	if (s->n_entries) {
		rules = calloc(s->n_entries, sizeof(*rules));
		if (!rules)
			return -ENOMEM;
	}
	for (uint32_t j = 0; j < l->n_rules; j++)
		ipg_dp_rule_mark(dp, l->rules[j].rule_id, false);
	for (uint32_t i = 0; i < s->n_entries; i++) {
		rules[i].prefix = s->entries[i].prefix;
		rules[i].rule_id = s->entries[i].rule_id;
		ipg_dp_rule_mark(dp, rules[i].rule_id, true);
	}
	free(l->rules);
	l->rules = rules;
	l->n_rules = s->n_entries;
	return 0;
}

/* Flips list @id, whose active word is @cur, to its other slot, whose
 * IPv4 entries are in its range table when @table. */
static int flip(struct ipg_datapath *dp, uint32_t id, __u32 cur,
		const struct ipg_policy_spec *s, uint32_t set, bool table,
		struct ipg_error *e)
{
	__u32 old = cur & IPG_ACTIVE_SLOT, slot = old ^ 1;
	__u32 idx = id * IPG_SLOTS + slot, word;
	struct ipg_policy live = { 0 }, next;
	__u32 live_idx = id * IPG_SLOTS + old;

	if (bpf_map_lookup_elem(MAPFD(dp, ipg_policy), &live_idx, &live))
		return ipg_fail(e, -errno, "cannot read the live policy: %s",
				strerror(errno));
	next = s->kern;
	next.generation = live.generation + 1;
	next.ports = set;
	next.flags = table ? IPG_POLICY_V4_TABLE : 0;
	if (bpf_map_update_elem(MAPFD(dp, ipg_policy), &idx, &next, BPF_ANY))
		return ipg_fail(e, -errno, "cannot write slot %u: %s", idx,
				strerror(errno));
	dp->lists[id].ports[slot] = set;
	/* The flip: one store, and packets see the new policy. The
	 * default's word holds more, kept as it is now. */
	if (id == IPG_LIST_DEFAULT) {
		int r = ipg_dp_read_word(dp, id, &cur);

		if (r)
			return ipg_fail(e, r, "cannot read ipg_active: %s",
					strerror(-r));
	}
	word = slot | (id == IPG_LIST_DEFAULT ? cur & ~IPG_ACTIVE_SLOT : 0);
	if (bpf_map_update_elem(MAPFD(dp, ipg_active), &id, &word, BPF_ANY))
		return ipg_fail(e, -errno, "cannot flip to slot %u: %s", idx,
				strerror(errno));
	return 0;
}

int ipg_datapath_apply_list(struct ipg_datapath *dp, uint32_t id,
			    struct ipg_policy_spec *s, struct ipg_error *e)
{
	struct ipg_dp_list *l = ipg_dp_list_at(dp, id);
	__u32 word, old;
	uint32_t set = 0;
	bool *fresh, table = false;
	int r;

	if (!l)
		return ipg_fail(e, -ENOENT, "no list has id %u", id);
	if (s->n_entries > IPG_RULES_MAX)
		return ipg_fail(e, -E2BIG, "list %s: %u entries, more than %u",
				l->name, s->n_entries, IPG_RULES_MAX);
	r = ipg_dp_read_word(dp, id, &word);
	if (r)
		return ipg_fail(e, r, "cannot read the live slot: %s",
				strerror(-r));
	old = word & IPG_ACTIVE_SLOT;
	/* The slot about to be written was live until the last flip. */
	r = ipg_dp_grace_wait(dp, l->flip_seq);
	if (r)
		return ipg_fail(e, r, "cannot wait for readers of list %s: %s",
				l->name, strerror(-r));
	fresh = calloc(s->n_entries + 1, sizeof(*fresh));
	if (!fresh)
		return ipg_fail(e, -ENOMEM, "out of memory");
	r = assign_ids(dp, l, s, fresh);
	if (r) {
		free(fresh);
		return ipg_fail(e, r,
				"list %s: no free rule id (the maps hold %u); "
				"restart ipgated to size them for the config",
				l->name, dp->size.rules_max);
	}
	r = fill_slot(dp, id * IPG_SLOTS + (old ^ 1), s, fresh, &table, e);
	free(fresh);
	if (r)
		return r;
	r = portset_for(dp, &s->ports, &set);
	if (r)
		return ipg_fail(e, r,
				"list %s: no room for its protected ports (%s; "
				"the maps hold %u distinct sets); restart "
				"ipgated to size them for the config",
				l->name, strerror(-r), dp->size.ports_max);
	r = flip(dp, id, word, s, set, table, e);
	if (r)
		return r;
	r = adopt_rules(dp, l, s);
	if (r)
		return ipg_fail(e, r, "out of memory");
	/* A list no destination ever led to has no readers to wait for. */
	l->flip_seq = l->fresh ? 0 : ipg_dp_grace_request(dp);
	return 0;
}

int ipg_datapath_apply(struct ipg_datapath *dp, struct ipg_policy_spec *s,
		       struct ipg_error *e)
{
	return ipg_datapath_apply_list(dp, IPG_LIST_DEFAULT, s, e);
}

int ipg_datapath_list_active(struct ipg_datapath *dp, uint32_t id,
			     struct ipg_policy *out)
{
	__u32 word, idx;
	int r = ipg_dp_read_word(dp, id, &word);

	if (r)
		return r;
	idx = id * IPG_SLOTS + (word & IPG_ACTIVE_SLOT);
	return bpf_map_lookup_elem(MAPFD(dp, ipg_policy), &idx, out) ? -errno :
								       0;
}

int ipg_datapath_active(struct ipg_datapath *dp, struct ipg_policy *out)
{
	return ipg_datapath_list_active(dp, IPG_LIST_DEFAULT, out);
}

int ipg_datapath_list_rules(struct ipg_datapath *dp, uint32_t id,
			    struct ipg_entry *out)
{
	__u32 word;
	int r = ipg_dp_read_word(dp, id, &word);

	return r ? r : read_slot_rules(dp, id, word & IPG_ACTIVE_SLOT, out);
}

int ipg_datapath_rules(struct ipg_datapath *dp, struct ipg_entry *out)
{
	return ipg_datapath_list_rules(dp, IPG_LIST_DEFAULT, out);
}

int ipg_datapath_list_lookup(struct ipg_datapath *dp, uint32_t id,
			     const struct ipg_prefix *addr, uint32_t *rule_id)
{
	struct ipg_lpm_v6 k = { .prefixlen = addr->len };
	struct ipg_rule v;
	__u32 word;
	int fd, r = ipg_dp_read_word(dp, id, &word);

	if (r)
		return r;
	fd = ipg_dp_trie_fd(dp, addr->family,
			    id * IPG_SLOTS + (word & IPG_ACTIVE_SLOT));
	if (fd < 0)
		return fd;
	memcpy(k.addr, addr->addr, addr->family == 4 ? 4 : 16);
	r = bpf_map_lookup_elem(fd, &k, &v) ? -errno : 0;
	/* As the program does: an expired entry matches no more, and the
	 * lookup goes on below its length. */
	while (!r && v.expires_ns && v.expires_ns <= ipg_boot_ns()) {
		if (!v.prefixlen || v.prefixlen > k.prefixlen) {
			r = -ENOENT;
			break;
		}
		k.prefixlen = v.prefixlen - 1;
		r = bpf_map_lookup_elem(fd, &k, &v) ? -errno : 0;
	}
	close(fd);
	if (!r)
		*rule_id = v.id;
	return r;
}

int ipg_datapath_lookup(struct ipg_datapath *dp, const struct ipg_prefix *addr,
			uint32_t *rule_id)
{
	return ipg_datapath_list_lookup(dp, IPG_LIST_DEFAULT, addr, rule_id);
}

/* Reads list @id's live rules, slots' port sets and their contents. */
static int mirror_list(struct ipg_datapath *dp, uint32_t id,
		       struct ipg_entry *scratch)
{
	struct ipg_dp_list *l = &dp->lists[id];
	__u32 word;
	int n, r = ipg_dp_read_word(dp, id, &word);

	if (r)
		return r;
	n = read_slot_rules(dp, id, word & IPG_ACTIVE_SLOT, scratch);
	if (n < 0)
		return n;
	l->rules = n ? calloc((size_t)n, sizeof(*l->rules)) : NULL;
	if (n && !l->rules)
		return -ENOMEM;
	if (n)
		memcpy(l->rules, scratch, sizeof(*scratch) * (size_t)n);
	l->n_rules = (uint32_t)n;
	for (int i = 0; i < n; i++)
		if (l->rules[i].rule_id < dp->size.rules_max)
			ipg_dp_rule_mark(dp, l->rules[i].rule_id, true);
	for (__u32 s = 0; s < IPG_SLOTS; s++) {
		__u32 idx = id * IPG_SLOTS + s;
		struct ipg_policy pol;
		uint32_t set;

		if (bpf_map_lookup_elem(MAPFD(dp, ipg_policy), &idx, &pol))
			return -errno;
		set = pol.ports;
		l->ports[s] = set < dp->size.ports_max ? set : IPG_DP_NO_PORTS;
		if (set >= dp->size.ports_max || dp->portset_written[set])
			continue;
		if (bpf_map_lookup_elem(MAPFD(dp, ipg_ports), &set,
					&dp->portsets[set]))
			return -errno;
		dp->portset_written[set] = true;
	}
	return 0;
}

/* Reads the live destination table (when named lists claim any). */
static int mirror_dsts(struct ipg_datapath *dp)
{
	__u32 word, base;
	int r = ipg_dp_read_word(dp, 0, &word);

	if (r || !(word & IPG_ACTIVE_NAMED))
		return r;
	base = word & IPG_ACTIVE_DSTS ? dp->dst_slots : 0;
	for (__u32 i = 0; i < dp->dst_slots; i++) {
		__u32 k = base + i;
		struct ipg_dst_entry t;
		struct ipg_dp_dst *d = &dp->dsts[dp->n_dsts];

		if (bpf_map_lookup_elem(MAPFD(dp, ipg_dsts), &k, &t))
			return -errno;
		if (t.family != 4 && t.family != 6)
			continue;
		if (dp->n_dsts >= dp->size.dsts_max)
			return -E2BIG;
		memset(d, 0, sizeof(*d));
		d->addr.family = t.family;
		d->addr.len = t.family == 4 ? 32 : 128;
		memcpy(d->addr.addr, t.addr, t.family == 4 ? 4 : 16);
		d->id = t.list;
		dp->n_dsts++;
	}
	return 0;
}

static int mirror_read(struct ipg_datapath *dp)
{
	struct ipg_entry *scratch = calloc(IPG_RULES_MAX, sizeof(*scratch));
	int r = scratch ? 0 : -ENOMEM;

	for (uint32_t i = 0; i < dp->size.lists_max && !r; i++) {
		struct ipg_list_info info;

		if (bpf_map_lookup_elem(MAPFD(dp, ipg_lists), &i, &info)) {
			r = -errno;
			break;
		}
		info.name[IPG_LIST_NAME_MAX] = '\0';
		if (i == IPG_LIST_DEFAULT)
			snprintf(info.name, sizeof(info.name), "default");
		if (!info.name[0])
			continue;
		memcpy(dp->lists[i].name, info.name, sizeof(info.name));
		r = mirror_list(dp, i, scratch);
	}
	free(scratch);
	return r ? r : mirror_dsts(dp);
}

int ipg_dp_mirror_init(struct ipg_datapath *dp, struct ipg_error *e)
{
	uint32_t nl = dp->size.lists_max, np = dp->size.ports_max;
	int r;

	dp->lists = calloc(nl, sizeof(*dp->lists));
	dp->rule_used = calloc(dp->size.rules_max / 8 + 1, 1);
	dp->portsets = calloc(np, sizeof(*dp->portsets));
	dp->portset_written = calloc(np, sizeof(*dp->portset_written));
	dp->dsts = calloc((size_t)dp->size.dsts_max + 1, sizeof(*dp->dsts));
	if (!dp->lists || !dp->rule_used || !dp->portsets ||
	    !dp->portset_written || !dp->dsts)
		return ipg_fail(e, -ENOMEM, "out of memory");
	if (dp->adopted) {
		r = mirror_read(dp);
		if (r)
			return ipg_fail(e, r,
					"cannot read the pinned lists: %s",
					strerror(-r));
		return 0;
	}
	/* Fresh maps: the default list, both slots naming the empty port
	 * set 0. */
	r = ipg_dp_write_info(dp, IPG_LIST_DEFAULT, "default");
	if (r)
		return ipg_fail(e, r, "cannot write ipg_lists: %s",
				strerror(-r));
	snprintf(dp->lists[0].name, sizeof(dp->lists[0].name), "default");
	dp->portset_written[0] = true;
	return 0;
}

void ipg_dp_mirror_free(struct ipg_datapath *dp)
{
	for (uint32_t i = 0; dp->lists && i < dp->size.lists_max; i++)
		free(dp->lists[i].rules);
	free(dp->lists);
	free(dp->rule_used);
	free(dp->portsets);
	free(dp->portset_written);
	free(dp->dsts);
}

int ipg_datapath_list_ports(struct ipg_datapath *dp, uint32_t id,
			    struct ipg_ports *out)
{
	const struct ipg_dp_list *l = ipg_dp_list_at(dp, id);
	__u32 word;
	uint32_t set;
	int r;

	if (!l)
		return -ENOENT;
	r = ipg_dp_read_word(dp, id, &word);
	if (r)
		return r;
	set = l->ports[word & IPG_ACTIVE_SLOT];
	if (set >= dp->size.ports_max || !dp->portset_written[set])
		return -ENOENT;
	*out = dp->portsets[set];
	return 0;
}
