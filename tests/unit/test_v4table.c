// SPDX-License-Identifier: GPL-2.0
/* The IPv4 range table (ipgate/table.h) built from a list's entries must
 * answer every address as the trie does: the rule of the longest entry
 * covering it, marked when that entry expires. No root needed. */
#include <errno.h>

#include "datapath.h"
#include "harness.h"
#include "prefix.h"
#include "testpkt.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static struct ipg_prefix v4(uint32_t host, int len)
{
	struct ipg_prefix p = { .family = 4, .len = (uint8_t)len };

	if (len < 32)
		host &= len ? ~(uint32_t)((1ull << (32 - len)) - 1) : 0;
	p.addr[0] = (uint8_t)(host >> 24);
	p.addr[1] = (uint8_t)(host >> 16);
	p.addr[2] = (uint8_t)(host >> 8);
	p.addr[3] = (uint8_t)host;
	return p;
}

/* The rule the trie answers for @host (expiry aside), as the table marks
 * it: the longest covering entry's id, with IPG_V4_RANGE_TRIE when it
 * expires. */
static uint32_t longest(const struct ipg_policy_spec *s, uint32_t host)
{
	struct ipg_prefix a = v4(host, 32);
	int best = -1;

	for (uint32_t i = 0; i < s->n_entries; i++)
		if (ipg_prefix_contains(&s->entries[i].prefix, &a) &&
		    (best < 0 ||
		     s->entries[i].prefix.len > s->entries[best].prefix.len))
			best = (int)i;
	if (best < 0)
		return IPG_V4_RANGE_NONE;
	return s->entries[best].rule_id |
	       (s->entries[best].expires ? IPG_V4_RANGE_TRIE : 0);
}

/* The rule of the range holding @host, found by walking the table. */
static uint32_t range_of(const struct ipg_v4_table *t, uint32_t host)
{
	uint32_t i = 0;

	while (i + 1 < IPG_V4_TABLE_MAX && t->start[i + 1] <= host)
		i++;
	return t->rule[i];
}

/* Checks every range edge of @t, and the addresses next to it, against
 * longest(). */
static void agrees_at(const char *file, int line,
		      const struct ipg_policy_spec *s,
		      const struct ipg_v4_table *t, int n)
{
	if (t->start[0] != 0)
		return harness_fail(file, line, "the first range starts at %u",
				    t->start[0]);
	for (int i = 0; i < (int)IPG_V4_TABLE_MAX; i++) {
		if (i && t->start[i] < t->start[i - 1])
			return harness_fail(file, line,
					    "range %d starts below range %d", i,
					    i - 1);
		if (i >= n && (t->start[i] != t->start[n - 1] ||
			       t->rule[i] != t->rule[n - 1]))
			return harness_fail(file, line,
					    "entry %d past the last range %d "
					    "does not repeat it",
					    i, n - 1);
	}
	for (int i = 0; i < n; i++)
		for (int64_t d = -1; d <= 1; d++) {
			int64_t a = (int64_t)t->start[i] + d;

			if (a < 0 || a > UINT32_MAX)
				continue;
			if (range_of(t, (uint32_t)a) != longest(s, (uint32_t)a))
				return harness_fail(
					file, line,
					"address %#x: table says %#x, the "
					"longest entry %#x",
					(unsigned)a, range_of(t, (uint32_t)a),
					longest(s, (uint32_t)a));
		}
	for (int k = 0; k < 2000; k++) {
		uint32_t a = next_rand();

		if (range_of(t, a) != longest(s, a))
			return harness_fail(file, line,
					    "address %#x: table says %#x, the "
					    "longest entry %#x",
					    a, range_of(t, a), longest(s, a));
	}
}
#define AGREES(s, t, n) CHECK(agrees_at(__FILE__, __LINE__, s, t, n))

static void add(struct ipg_policy_spec *s, struct ipg_prefix p, int64_t expires)
{
	if (ipg_policy_add(s, &p, NULL, NULL))
		return; /* already there */
	s->entries[s->n_entries - 1].expires = expires;
}

TEST(test_v4_table_answers_every_address_as_the_longest_entry)
{
	static struct ipg_policy_spec s;
	static const int lens[] = { 0, 8, 12, 16, 20, 24, 24, 28, 31, 32, 32 };
	static struct ipg_v4_table t;

	for (int round = 0; round < 300; round++) {
		/* Few bases, so that entries nest; a few IPv6 ones, which
		 * the table leaves out. */
		uint32_t base[4];
		int want = 1 + (int)(next_rand() % 60);

		for (int b = 0; b < 4; b++)
			base[b] = next_rand();
		ipg_policy_init(&s);
		s.max_entries = IPG_RULES_MAX;
		while ((int)s.n_entries < want) {
			uint32_t a = base[next_rand() % 4] ^
				     (next_rand() >> (next_rand() % 32));
			int len = lens[next_rand() %
				       (sizeof(lens) / sizeof(lens[0]))];

			add(&s, v4(a, len), next_rand() % 5 ? 0 : 1000);
		}
		policy_allow(&s, "2001:db8::/32");
		int n = ipg_v4_table_build(s.entries, s.n_entries, &t);

		if (n < 0)
			FAIL("round %d: %u entries: %s", round, s.n_entries,
			     strerror(-n));
		ASSERT_TRUE(n <= 2 * want + 1);
		AGREES(&s, &t, n);
	}
}

TEST(test_v4_table_without_entries_matches_nothing)
{
	static struct ipg_policy_spec s;
	static struct ipg_v4_table t;

	ipg_policy_init(&s);
	policy_allow(&s, "2001:db8::/32");
	ASSERT_EQ(ipg_v4_table_build(s.entries, s.n_entries, &t), 1);
	ASSERT_EQ(t.rule[0], IPG_V4_RANGE_NONE);
	AGREES(&s, &t, 1);
	/* 0.0.0.0/0 alone: one range, everything. */
	policy_allow(&s, "0.0.0.0/0");
	ASSERT_EQ(ipg_v4_table_build(s.entries, s.n_entries, &t), 1);
	ASSERT_EQ(t.rule[0], s.entries[1].rule_id);
	AGREES(&s, &t, 1);
}

TEST(test_v4_table_edges_of_the_address_space)
{
	static struct ipg_policy_spec s;
	static struct ipg_v4_table t;
	int n;

	ipg_policy_init(&s);
	policy_allow(&s, "0.0.0.0");
	policy_allow(&s, "255.255.255.255");
	policy_allow(&s, "255.255.255.0/24");
	n = ipg_v4_table_build(s.entries, s.n_entries, &t);
	ASSERT_EQ(n, 4);
	AGREES(&s, &t, n);
	ASSERT_EQ(range_of(&t, 0), s.entries[0].rule_id);
	ASSERT_EQ(range_of(&t, UINT32_MAX), s.entries[1].rule_id);
	ASSERT_EQ(range_of(&t, UINT32_MAX - 1), s.entries[2].rule_id);
}

TEST(test_v4_table_marks_an_expiring_entry_for_the_trie)
{
	static struct ipg_policy_spec s;
	static struct ipg_v4_table t;
	struct ipg_prefix p;
	int n;

	ipg_policy_init(&s);
	policy_allow(&s, "192.0.2.0/24");
	ASSERT_OK(ipg_prefix_parse("192.0.2.7", &p, NULL));
	add(&s, p, 1000);
	n = ipg_v4_table_build(s.entries, s.n_entries, &t);
	AGREES(&s, &t, n);
	ASSERT_EQ(range_of(&t, 0xc0000207),
		  s.entries[1].rule_id | IPG_V4_RANGE_TRIE);
	ASSERT_EQ(range_of(&t, 0xc0000208), s.entries[0].rule_id);
}

TEST(test_v4_table_too_many_ranges_refused)
{
	static struct ipg_policy_spec s;
	static struct ipg_v4_table t;

	/* 63 apart entries make 127 ranges: they fit; 64 make 129. */
	ipg_policy_init(&s);
	s.max_entries = IPG_RULES_MAX;
	for (uint32_t i = 0; i < 63; i++)
		add(&s, v4(0xc6120000 + 2 * i + 1, 32), 0);
	ASSERT_EQ(ipg_v4_table_build(s.entries, s.n_entries, &t), 127);
	AGREES(&s, &t, 127);
	add(&s, v4(0xc6120000 + 2 * 63 + 1, 32), 0);
	ASSERT_EQ(ipg_v4_table_build(s.entries, s.n_entries, &t), -E2BIG);
}

int main(int argc, char **argv)
{
	return harness_main("unit/v4table", argc, argv, NULL, NULL);
}
