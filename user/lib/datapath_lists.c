// SPDX-License-Identifier: GPL-2.0
/* Lists in the kernel: sizes, ids and names, opening and closing a list,
 * destinations, per-list overrides, counters and memory (the flip is
 * datapath_flip.c's). See docs/design.md, "Lists in the kernel". */
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

static uint32_t pow2_at_least(uint64_t n, uint32_t least)
{
	uint64_t v = least;

	while (v < n && v < (1u << 30))
		v <<= 1;
	return (uint32_t)v;
}

void ipg_datapath_size(struct ipg_datapath_opts *o, uint32_t lists,
		       uint32_t entries, uint32_t portsets, uint32_t dsts)
{
	o->lists_max = pow2_at_least(2ull * lists, IPG_LISTS_MIN);
	o->rules_max = pow2_at_least(2ull * entries, IPG_RULE_IDS_MIN);
	/* A list's two slots may name two sets at once. */
	o->ports_max = pow2_at_least(2ull * portsets + 2, IPG_PORTSETS_MIN);
	o->dsts_max = pow2_at_least(2ull * dsts, IPG_DSTS_MIN);
}

void ipg_datapath_sizes(const struct ipg_datapath *dp,
			struct ipg_datapath_opts *out)
{
	out->trie_capacity = dp->size.trie_capacity;
	out->lists_max = dp->size.lists_max;
	out->rules_max = dp->size.rules_max;
	out->ports_max = dp->size.ports_max;
	out->dsts_max = dp->size.dsts_max;
}

void ipg_dp_rule_mark(struct ipg_datapath *dp, uint32_t id, bool used)
{
	if (used)
		dp->rule_used[id >> 3] |= (uint8_t)(1u << (id & 7));
	else
		dp->rule_used[id >> 3] &= (uint8_t) ~(1u << (id & 7));
}

int ipg_dp_trie_fd(struct ipg_datapath *dp, int family, uint32_t idx)
{
	int outer = family == 4 ? MAPFD(dp, ipg_v4_tries) :
				  MAPFD(dp, ipg_v6_tries);
	__u32 map_id;
	int fd;

	if (bpf_map_lookup_elem(outer, &idx, &map_id))
		return -errno;
	fd = bpf_map_get_fd_by_id(map_id);
	return fd < 0 ? -errno : fd;
}

int ipg_dp_read_word(struct ipg_datapath *dp, uint32_t id, __u32 *word)
{
	if (bpf_map_lookup_elem(MAPFD(dp, ipg_active), &id, word))
		return -errno;
	return 0;
}

struct ipg_dp_list *ipg_dp_list_at(const struct ipg_datapath *dp, uint32_t id)
{
	if (id >= dp->size.lists_max || !dp->lists[id].name[0])
		return NULL;
	return &dp->lists[id];
}

int ipg_datapath_list_id(const struct ipg_datapath *dp, const char *name,
			 uint32_t *id)
{
	for (uint32_t i = 0; i < dp->size.lists_max; i++)
		if (dp->lists[i].name[0] && !strcmp(dp->lists[i].name, name)) {
			*id = i;
			return 0;
		}
	return -ENOENT;
}

const char *ipg_datapath_list_name(const struct ipg_datapath *dp, uint32_t id)
{
	const struct ipg_dp_list *l = ipg_dp_list_at(dp, id);

	return l ? l->name : NULL;
}

int ipg_datapath_list_ids(const struct ipg_datapath *dp, uint32_t *out, int max)
{
	int n = 0;

	for (uint32_t i = 0; i < dp->size.lists_max && n < max; i++)
		if (dp->lists[i].name[0])
			out[n++] = i;
	return n;
}

int ipg_dp_zero_percpu(struct ipg_datapath *dp, int fd, __u32 key)
{
	memset(dp->percpu, 0, sizeof(uint64_t) * (size_t)dp->ncpus);
	return bpf_map_update_elem(fd, &key, dp->percpu, BPF_ANY) ? -errno : 0;
}

int ipg_dp_write_info(struct ipg_datapath *dp, uint32_t id, const char *name)
{
	struct ipg_list_info info = { 0 };

	snprintf(info.name, sizeof(info.name), "%s", name);
	return bpf_map_update_elem(MAPFD(dp, ipg_lists), &id, &info, BPF_ANY) ?
		       -errno :
		       0;
}

/* Makes the four tries of each of the @n lists @ids and puts them in the
 * outer maps: one batch update per outer map, so one grace period for all
 * of them, not one per trie. */
static int make_tries(struct ipg_datapath *dp, const uint32_t *ids, int n)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	size_t cnt = (size_t)n * IPG_SLOTS;
	__u32 *keys = calloc(cnt + 1, sizeof(*keys));
	int *fds = calloc(cnt + 1, sizeof(*fds)), r = 0;

	if (!keys || !fds) {
		free(keys);
		free(fds);
		return -ENOMEM;
	}
	for (int f = 4; f <= 6 && !r; f += 2) {
		__u32 done = 0, count;

		for (int k = 0; k < n && !r; k++)
			for (__u32 s = 0; s < IPG_SLOTS; s++) {
				int fd = bpf_map_create(
					BPF_MAP_TYPE_LPM_TRIE, "ipg_list_trie",
					f == 4 ? sizeof(struct ipg_lpm_v4) :
						 sizeof(struct ipg_lpm_v6),
					sizeof(struct ipg_rule),
					dp->size.trie_capacity, &o);

				if (fd < 0) {
					r = -errno;
					break;
				}
				keys[done] = ids[k] * IPG_SLOTS + s;
				fds[done++] = fd;
			}
		count = done;
		if (!r && done &&
		    bpf_map_update_batch(f == 4 ? MAPFD(dp, ipg_v4_tries) :
						  MAPFD(dp, ipg_v6_tries),
					 keys, fds, &count, &bo))
			r = -errno;
		for (__u32 i = 0; i < done; i++)
			close(fds[i]);
	}
	free(keys);
	free(fds);
	return r;
}

/* Deletes every grant scoped to list @id, so that a list made later
 * under the id inherits none. */
static int drop_grants_of(struct ipg_datapath *dp, uint32_t id)
{
	int fd = MAPFD(dp, ipg_grants);
	struct ipg_grant_key k, next;
	void *prev = NULL;
	__u32 zero = 0, count = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		if (k.list_id == id) {
			if (bpf_map_delete_elem(fd, &k) && errno != ENOENT)
				return -errno;
			prev = NULL; /* start over: the walk lost its place */
			count = 0;
			continue;
		}
		count++;
		prev = &k;
	}
	if (bpf_map_update_elem(MAPFD(dp, ipg_bg_count), &zero, &count,
				BPF_ANY))
		return -errno;
	return ipg_dp_set_hint(dp, IPG_ACTIVE_GRANTS, count != 0);
}

/* Clears what an earlier list under @id may have left: counters, override,
 * both policy slots (disabled). */
static int reset_id(struct ipg_datapath *dp, uint32_t id)
{
	struct ipg_policy off = { .ports = 0 };
	__u32 word = 0;
	int r = 0;

	for (__u32 i = 0; i < IPG_STAT_MAX && !r; i++)
		r = ipg_dp_zero_percpu(dp, MAPFD(dp, ipg_stats),
				       id * IPG_STAT_MAX + i);
	for (__u32 s = 0; s < IPG_SLOTS && !r; s++) {
		__u32 idx = id * IPG_SLOTS + s;

		if (bpf_map_update_elem(MAPFD(dp, ipg_policy), &idx, &off,
					BPF_ANY))
			r = -errno;
	}
	if (!r)
		r = ipg_dp_write_override(dp, 1 + id, 0);
	if (!r &&
	    bpf_map_update_elem(MAPFD(dp, ipg_active), &id, &word, BPF_ANY))
		r = -errno;
	/* Grants too: a close cut short (a crash) may have left some. */
	return r ? r : drop_grants_of(dp, id);
}

int ipg_datapath_lists_open(struct ipg_datapath *dp, const char *const *names,
			    int n, uint32_t *ids, struct ipg_error *e)
{
	uint32_t *made = calloc((size_t)n + 1, sizeof(*made)), next = 1;
	int n_made = 0, r = 0;

	if (!made)
		return ipg_fail(e, -ENOMEM, "out of memory");
	/* Ids first, and all refusals, before anything is written. */
	for (int k = 0; k < n && !r; k++) {
		if (!ipg_datapath_list_id(dp, names[k], &ids[k]))
			continue;
		if (!names[k][0] || strlen(names[k]) > IPG_LIST_NAME_MAX) {
			r = ipg_fail(e, -EINVAL,
				     "list name \"%s\" is not valid", names[k]);
			break;
		}
		while (next < dp->size.lists_max &&
		       (dp->lists[next].name[0] ||
			(n_made && made[n_made - 1] >= next)))
			next++;
		if (next >= dp->size.lists_max) {
			r = ipg_fail(e, -ENOSPC,
				     "list %s: the kernel maps hold %u lists "
				     "and all are in use; restart ipgated to "
				     "size them for the config",
				     names[k], dp->size.lists_max);
			break;
		}
		ids[k] = made[n_made++] = next++;
	}
	if (r) {
		free(made);
		return r; /* refused: nothing written */
	}
	for (int k = 0; k < n_made && !r; k++)
		r = reset_id(dp, made[k]);
	if (!r && n_made)
		r = make_tries(dp, made, n_made);
	for (int k = 0, m = 0; k < n && !r; k++) {
		struct ipg_dp_list *l = &dp->lists[ids[k]];

		if (m >= n_made || ids[k] != made[m])
			continue;
		m++;
		r = ipg_dp_write_info(dp, ids[k], names[k]);
		if (r)
			break;
		snprintf(l->name, sizeof(l->name), "%s", names[k]);
		l->ports[0] = l->ports[1] = IPG_DP_NO_PORTS;
		l->n_rules = 0;
		l->flip_seq = 0;
		l->fresh = true;
	}
	free(made);
	if (r)
		ipg_fail(e, r, "cannot set up the maps of new lists: %s",
			 strerror(-r));
	return r;
}

int ipg_datapath_list_open(struct ipg_datapath *dp, const char *name,
			   uint32_t *id, struct ipg_error *e)
{
	return ipg_datapath_lists_open(dp, &name, 1, id, e);
}

/* @a as a table key: family and four words, IPv4-mapped IPv6 as IPv4. */
static void dst_norm(const struct ipg_prefix *a, struct ipg_dst_entry *k)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	memset(k, 0, sizeof(*k));
	if (a->family == 4 || !memcmp(a->addr, mapped, 12)) {
		k->family = 4;
		memcpy(k->addr, a->family == 4 ? a->addr : a->addr + 12, 4);
	} else {
		k->family = 6;
		memcpy(k->addr, a->addr, 16);
	}
}

static int dst_find_in(const struct ipg_dp_dst *v, uint32_t n,
		       const struct ipg_prefix *a)
{
	struct ipg_dst_entry k1, k2;

	dst_norm(a, &k1);
	for (uint32_t i = 0; i < n; i++) {
		dst_norm(&v[i].addr, &k2);
		if (k1.family == k2.family && !memcmp(k1.addr, k2.addr, 16))
			return (int)i;
	}
	return -1;
}

uint32_t ipg_datapath_dst_list(const struct ipg_datapath *dp,
			       const struct ipg_prefix *addr)
{
	int i = dst_find_in(dp->dsts, dp->n_dsts, addr);

	return i < 0 ? IPG_LIST_DEFAULT : dp->dsts[i].id;
}

/* Builds the table of the @n destinations @v into @t (dp->dst_slots
 * slots); -ENOSPC when one would lie past IPG_DST_PROBES of its hash. */
static int dst_build(const struct ipg_datapath *dp, const struct ipg_dp_dst *v,
		     uint32_t n, struct ipg_dst_entry *t)
{
	uint32_t mask = dp->dst_slots - 1;

	memset(t, 0, sizeof(*t) * dp->dst_slots);
	for (uint32_t i = 0; i < n; i++) {
		struct ipg_dst_entry k;
		uint32_t w[4], h, p;

		dst_norm(&v[i].addr, &k);
		k.list = v[i].id;
		memcpy(w, k.addr, sizeof(w));
		h = ipg_dst_hash(w, k.family);
		for (p = 0; p < IPG_DST_PROBES && t[(h + p) & mask].family; p++)
			;
		if (p == IPG_DST_PROBES)
			return -ENOSPC;
		t[(h + p) & mask] = k;
	}
	return 0;
}

/* Makes the @n destinations @v the program's: builds the inactive table,
 * writes it whole, and flips ipg_active[0] to it (with the named bit). */
static int dst_publish(struct ipg_datapath *dp, const struct ipg_dp_dst *v,
		       uint32_t n, struct ipg_error *e)
{
	struct ipg_dst_entry *t = calloc(dp->dst_slots, sizeof(*t));
	__u32 *keys = calloc(dp->dst_slots, sizeof(*keys));
	__u32 zero = 0, word, base, count = dp->dst_slots;
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	int r;

	if (!t || !keys) {
		r = ipg_fail(e, -ENOMEM, "out of memory");
		goto out;
	}
	r = dst_build(dp, v, n, t);
	if (r) {
		ipg_fail(e, r,
			 "the destinations do not fit the table the maps "
			 "hold (%u slots); restart ipgated to size it for the "
			 "config",
			 dp->dst_slots);
		goto out;
	}
	/* The table about to be written was live until the last flip. */
	r = ipg_dp_grace_wait(dp, dp->dsts_flip_seq);
	if (!r)
		r = ipg_dp_read_word(dp, 0, &word);
	if (r) {
		ipg_fail(e, r, "cannot read ipg_active: %s", strerror(-r));
		goto out;
	}
	base = word & IPG_ACTIVE_DSTS ? 0 : dp->dst_slots;
	for (__u32 i = 0; i < dp->dst_slots; i++)
		keys[i] = base + i;
	if (bpf_map_update_batch(MAPFD(dp, ipg_dsts), keys, t, &count, &bo)) {
		r = ipg_fail(e, -errno, "cannot write the destinations: %s",
			     strerror(errno));
		goto out;
	}
	word = (word & ~(IPG_ACTIVE_NAMED | IPG_ACTIVE_DSTS)) |
	       (n ? IPG_ACTIVE_NAMED : 0) |
	       (word & IPG_ACTIVE_DSTS ? 0 : IPG_ACTIVE_DSTS);
	if (bpf_map_update_elem(MAPFD(dp, ipg_active), &zero, &word, BPF_ANY)) {
		r = ipg_fail(e, -errno, "cannot flip the destinations: %s",
			     strerror(errno));
		goto out;
	}
	dp->dsts_flip_seq = ipg_dp_grace_request(dp);
out:
	free(t);
	free(keys);
	return r;
}

/* Whether @v (@n) holds the same destinations, for the same lists, as
 * the mirror. */
static bool dsts_same(const struct ipg_datapath *dp, const struct ipg_dp_dst *v,
		      uint32_t n)
{
	if (n != dp->n_dsts)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		int j = dst_find_in(dp->dsts, dp->n_dsts, &v[i].addr);

		if (j < 0 || dp->dsts[j].id != v[i].id)
			return false;
	}
	return true;
}

int ipg_datapath_set_all_dsts(struct ipg_datapath *dp, const uint32_t *ids,
			      const struct ipg_prefix *addrs, int n,
			      struct ipg_error *e)
{
	struct ipg_dp_dst *v = calloc((size_t)n + 1, sizeof(*v));
	uint32_t nv = 0;
	int r;

	if (!v)
		return ipg_fail(e, -ENOMEM, "out of memory");
	for (int k = 0; k < n; k++) {
		if (!ipg_dp_list_at(dp, ids[k]) || ids[k] == IPG_LIST_DEFAULT) {
			free(v);
			return ipg_fail(e, -EINVAL, "no named list has id %u",
					ids[k]);
		}
		if (dst_find_in(v, nv, &addrs[k]) >= 0) {
			free(v);
			return ipg_fail(e, -EINVAL,
					"a destination is claimed twice");
		}
		v[nv].addr = addrs[k];
		v[nv++].id = ids[k];
	}
	if (nv > dp->size.dsts_max) {
		free(v);
		return ipg_fail(e, -ENOSPC,
				"%u destinations in all, more than the maps "
				"hold (%u); restart ipgated to size them for "
				"the config",
				nv, dp->size.dsts_max);
	}
	if (dsts_same(dp, v, nv)) {
		free(v);
		return 0;
	}
	r = dst_publish(dp, v, nv, e);
	if (r) {
		free(v);
		return r;
	}
	for (uint32_t i = 0; i < nv; i++)
		dp->lists[v[i].id].fresh = false;
	free(dp->dsts);
	dp->dsts = v;
	dp->n_dsts = nv;
	return 0;
}

int ipg_datapath_set_dsts(struct ipg_datapath *dp, uint32_t id,
			  const struct ipg_prefix *addrs, int n,
			  struct ipg_error *e)
{
	struct ipg_prefix *all;
	uint32_t *ids;
	int nv = 0, r;

	if (!ipg_dp_list_at(dp, id) || id == IPG_LIST_DEFAULT)
		return ipg_fail(e, -EINVAL, "no named list has id %u", id);
	all = calloc(dp->n_dsts + (uint32_t)n + 1, sizeof(*all));
	ids = calloc(dp->n_dsts + (uint32_t)n + 1, sizeof(*ids));
	if (!all || !ids) {
		free(all);
		free(ids);
		return ipg_fail(e, -ENOMEM, "out of memory");
	}
	/* Other lists' destinations, less those @id takes now; then
	 * @addrs. */
	for (uint32_t i = 0; i < dp->n_dsts; i++) {
		bool taken = dp->dsts[i].id == id;

		for (int k = 0; k < n && !taken; k++)
			taken = dst_find_in(&dp->dsts[i], 1, &addrs[k]) == 0;
		if (!taken) {
			all[nv] = dp->dsts[i].addr;
			ids[nv++] = dp->dsts[i].id;
		}
	}
	for (int k = 0; k < n; k++) {
		all[nv] = addrs[k];
		ids[nv++] = id;
	}
	r = ipg_datapath_set_all_dsts(dp, ids, all, nv, e);
	free(all);
	free(ids);
	return r;
}

int ipg_datapath_list_close(struct ipg_datapath *dp, uint32_t id,
			    struct ipg_error *e)
{
	struct ipg_dp_list *l = ipg_dp_list_at(dp, id);
	int r;

	if (!l || id == IPG_LIST_DEFAULT)
		return ipg_fail(e, -EINVAL, "no named list has id %u", id);
	r = ipg_datapath_set_dsts(dp, id, NULL, 0, e);
	if (r)
		return r;
	/* Deleting outer entries waits for a grace period each: no packet
	 * still judges by the list when its id is cleared. */
	for (__u32 s = 0; s < IPG_SLOTS; s++) {
		__u32 idx = id * IPG_SLOTS + s;

		if ((bpf_map_delete_elem(MAPFD(dp, ipg_v4_tries), &idx) &&
		     errno != ENOENT) ||
		    (bpf_map_delete_elem(MAPFD(dp, ipg_v6_tries), &idx) &&
		     errno != ENOENT))
			return ipg_fail(e, -errno,
					"list %s: cannot drop its tries: %s",
					l->name, strerror(errno));
	}
	/* The name last: until it is cleared, a restart still finds the
	 * list and closes it again. */
	r = reset_id(dp, id);
	if (!r)
		r = ipg_dp_write_info(dp, id, "");
	if (r)
		return ipg_fail(e, r, "list %s: cannot clear its id: %s",
				l->name, strerror(-r));
	for (uint32_t j = 0; j < l->n_rules; j++)
		ipg_dp_rule_mark(dp, l->rules[j].rule_id, false);
	free(l->rules);
	memset(l, 0, sizeof(*l));
	return 0;
}

int ipg_datapath_set_list_override(struct ipg_datapath *dp, uint32_t id,
				   uint64_t deadline_ns)
{
	if (!ipg_dp_list_at(dp, id))
		return -ENOENT;
	return ipg_dp_write_override(dp, 1 + id, deadline_ns);
}

int ipg_datapath_get_list_override(struct ipg_datapath *dp, uint32_t id,
				   uint64_t *deadline_ns)
{
	__u32 k = 1 + id;

	return bpf_map_lookup_elem(MAPFD(dp, ipg_override), &k, deadline_ns) ?
		       -errno :
		       0;
}

static int sum_row(struct ipg_datapath *dp, uint32_t id,
		   uint64_t out[IPG_STAT_MAX])
{
	for (__u32 i = 0; i < IPG_STAT_MAX; i++) {
		__u32 key = id * IPG_STAT_MAX + i;

		if (bpf_map_lookup_elem(MAPFD(dp, ipg_stats), &key, dp->percpu))
			return -errno;
		for (int c = 0; c < dp->ncpus; c++)
			out[i] += dp->percpu[c];
	}
	return 0;
}

int ipg_datapath_list_stats(struct ipg_datapath *dp, uint32_t id,
			    uint64_t out[IPG_STAT_MAX])
{
	memset(out, 0, sizeof(uint64_t) * IPG_STAT_MAX);
	return sum_row(dp, id, out);
}

int ipg_datapath_stats(struct ipg_datapath *dp, uint64_t out[IPG_STAT_MAX])
{
	int r = 0;

	memset(out, 0, sizeof(uint64_t) * IPG_STAT_MAX);
	for (uint32_t i = 0; i < dp->size.lists_max && !r; i++)
		if (dp->lists[i].name[0])
			r = sum_row(dp, i, out);
	return r;
}

/* Adds the "memlock:" of map @fd (from /proc/self/fdinfo) to @sum. */
static void add_memlock(int fd, uint64_t *sum)
{
	char path[64], line[128];
	unsigned long long v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			*sum += v;
	fclose(f);
}

int ipg_datapath_memory(struct ipg_datapath *dp, uint64_t *bytes)
{
	struct bpf_map *map;

	*bytes = 0;
	bpf_object__for_each_map(map, dp->skel->obj) {
		if (bpf_map__fd(map) >= 0)
			add_memlock(bpf_map__fd(map), bytes);
	}
	/* Named lists' tries are held by the outer maps only. */
	for (uint32_t i = 1; i < dp->size.lists_max; i++)
		for (__u32 s = 0; dp->lists[i].name[0] && s < IPG_SLOTS; s++)
			for (int f = 4; f <= 6; f += 2) {
				int fd = ipg_dp_trie_fd(dp, f,
							i * IPG_SLOTS + s);

				if (fd >= 0) {
					add_memlock(fd, bytes);
					close(fd);
				}
			}
	return 0;
}

int ipg_datapath_list_dsts(const struct ipg_datapath *dp, uint32_t id,
			   struct ipg_prefix *out, int max)
{
	int n = 0;

	for (uint32_t i = 0; i < dp->n_dsts && n < max; i++)
		if (dp->dsts[i].id == id)
			out[n++] = dp->dsts[i].addr;
	return n;
}
