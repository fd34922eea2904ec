// SPDX-License-Identifier: GPL-2.0
/* The IPv4 range table of a list slot (ipgate/table.h): its IPv4 entries
 * flattened into sorted, disjoint ranges, each with the rule of its
 * longest match, as the trie would answer. See docs/design.md,
 * "Per-packet decision". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "datapath.h"

/* One entry as the address range it covers (host order). */
struct span {
	uint32_t lo, hi;
	uint32_t rule; /* rule id, with IPG_V4_RANGE_TRIE when it expires */
	uint8_t len;
	uint32_t at; /* its place in the spec: a later equal prefix wins */
};

/* By first address, then outer (shorter) before inner. */
static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->at < y->at ? -1 : x->at > y->at;
}

/* Appends the range from @from with @rule to @t's @n, or extends the last
 * one when it has the same rule. */
static int range_add(struct ipg_v4_table *t, uint32_t *n, uint64_t from,
		     uint32_t rule)
{
	if (*n && t->rule[*n - 1] == rule)
		return 0;
	if (*n == IPG_V4_TABLE_MAX)
		return -E2BIG;
	t->start[*n] = (uint32_t)from;
	t->rule[*n] = rule;
	(*n)++;
	return 0;
}

/* Sweeps @v (@nv spans, sorted) into @t. Prefixes nest or are disjoint,
 * so the spans open at any address form a stack, innermost on top; @cur
 * is the first address not yet in a range. */
static int sweep(const struct span *v, uint32_t nv, struct ipg_v4_table *t,
		 uint32_t *n)
{
	const struct span *open[2 * 33];
	uint64_t cur = 0;
	int depth = 0, r = 0;

	for (uint32_t i = 0; i <= nv && !r; i++) {
		uint64_t lo = i < nv ? v[i].lo : 1ull << 32;

		/* Spans that end before @lo: the rest of each is its own. */
		while (depth && open[depth - 1]->hi < lo && !r) {
			const struct span *s = open[--depth];

			if (cur <= s->hi) {
				r = range_add(t, n, cur, s->rule);
				cur = (uint64_t)s->hi + 1;
			}
		}
		if (!r && cur < lo) {
			r = range_add(t, n, cur,
				      depth ? open[depth - 1]->rule :
					      IPG_V4_RANGE_NONE);
			cur = lo;
		}
		if (i < nv && !r) {
			if (depth == (int)(sizeof(open) / sizeof(open[0])))
				return -E2BIG;
			open[depth++] = &v[i];
		}
	}
	return r;
}

int ipg_v4_table_build(const struct ipg_entry *entries, uint32_t n_entries,
		       struct ipg_v4_table *t)
{
	struct span *v = calloc(n_entries + 1, sizeof(*v));
	uint32_t nv = 0, n = 0;
	int r;

	if (!v)
		return -ENOMEM;
	for (uint32_t i = 0; i < n_entries; i++) {
		const struct ipg_entry *e = &entries[i];
		const uint8_t *a = e->prefix.addr;
		uint32_t len = e->prefix.len, host;

		if (e->prefix.family != 4)
			continue;
		if (len > 32 || e->rule_id >= IPG_V4_RANGE_TRIE) {
			free(v);
			return -ERANGE;
		}
		host = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
		       (uint32_t)a[2] << 8 | a[3];
		v[nv].lo = len ? host & ~(uint32_t)((1ull << (32 - len)) - 1) :
				 0;
		v[nv].hi = v[nv].lo | (uint32_t)((1ull << (32 - len)) - 1);
		v[nv].rule = e->rule_id | (e->expires ? IPG_V4_RANGE_TRIE : 0);
		v[nv].len = (uint8_t)len;
		v[nv].at = i;
		nv++;
	}
	qsort(v, nv, sizeof(*v), span_cmp);
	memset(t, 0, sizeof(*t));
	r = sweep(v, nv, t, &n);
	free(v);
	if (r)
		return r;
	for (uint32_t i = n; i < IPG_V4_TABLE_MAX; i++) {
		t->start[i] = t->start[n - 1];
		t->rule[i] = t->rule[n - 1];
	}
	return (int)n;
}
