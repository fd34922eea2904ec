// SPDX-License-Identifier: GPL-2.0
/* The XDP program's IPv4 fast paths, run with BPF_PROG_TEST_RUN: the range
 * table (ipgate/table.h) answers each source as the reference model does
 * at every edge of every range, expired and expiring entries included; a
 * list too large for one is judged by its trie; and the hints of
 * ipg_active[0], which let a packet skip the override, grant and log
 * lookups, are made true again by a daemon that adopts the maps. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "datapath.h"
#include "harness.h"
#include "prefix.h"
#include "testbpf.h"
#include "testpkt.h"

/* This run's pin directory (by pid: runs may overlap). */
static char pins[64];

static struct ipg_datapath *dp;
static struct ipg_policy_spec pol;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static void add_v4(struct ipg_policy_spec *s, uint32_t host, int len,
		   int64_t expires)
{
	struct ipg_prefix p = { .family = 4, .len = (uint8_t)len };
	uint32_t be;

	if (len < 32)
		host &= len ? ~(uint32_t)((1ull << (32 - len)) - 1) : 0;
	be = htonl(host);
	memcpy(p.addr, &be, 4);
	if (!ipg_policy_add(s, &p, NULL, NULL))
		s->entries[s->n_entries - 1].expires = expires;
}

static void start_policy(struct ipg_policy_spec *s)
{
	ipg_policy_init(s);
	s->kern.enabled = 1;
	s->max_entries = IPG_RULES_MAX;
	ipg_policy_set_port(s, IPPROTO_TCP, 443, true);
}

static void apply(void)
{
	struct ipg_error e = { { 0 } };

	if (ipg_datapath_apply(dp, &pol, &e))
		FAIL("apply: %s", e.msg);
}

/* Runs a frame to tcp/443 from @host (IPv4-mapped in IPv6 when @mapped)
 * and checks its action, and the hit counter of the entry, against the
 * model. */
static void judged_at(const char *file, int line, uint32_t host, int mapped)
{
	struct ipg_prefix a = { .family = 4, .len = 32 };
	uint32_t be = htonl(host);
	uint64_t before = 0, after = 0;
	char src[64], text[INET_ADDRSTRLEN];
	struct frame f;
	int action, want, match;

	memcpy(a.addr, &be, 4);
	inet_ntop(AF_INET, &be, text, sizeof(text));
	snprintf(src, sizeof(src), "%s%s", mapped ? "::ffff:" : "", text);
	f = mapped ? pkt_v6(src, IPPROTO_TCP, 443) :
		     pkt_v4(src, IPPROTO_TCP, 443);
	match = ipg_policy_match(&pol, &a, (int64_t)time(NULL));
	want = match >= 0 ? XDP_PASS : XDP_DROP;
	if (match >= 0 &&
	    ipg_datapath_rule_hits(dp, pol.entries[match].rule_id, &before))
		return harness_fail(file, line, "cannot read the rule hits");
	if (ipg_datapath_run(dp, f.b, f.len, false, &action, NULL, NULL))
		return harness_fail(file, line, "cannot run the program");
	if (action != want)
		return harness_fail(file, line,
				    "source %s: action %d, the model says %d",
				    src, action, want);
	if (match < 0)
		return;
	if (ipg_datapath_rule_hits(dp, pol.entries[match].rule_id, &after))
		return harness_fail(file, line, "cannot read the rule hits");
	if (after != before + 1)
		return harness_fail(file, line,
				    "source %s: entry %d (rule %u) counted "
				    "%llu hits, not 1",
				    src, match, pol.entries[match].rule_id,
				    (unsigned long long)(after - before));
}
#define JUDGED(host, mapped) CHECK(judged_at(__FILE__, __LINE__, host, mapped))

/* Whether the default list's live slot has its range table. */
static int table_in_use(void)
{
	struct ipg_policy live;

	if (ipg_datapath_active(dp, &live))
		return -1;
	return !!(live.flags & IPG_POLICY_V4_TABLE);
}

TEST(test_range_table_agrees_with_the_model_at_every_range_edge)
{
	static const int lens[] = { 0, 8, 16, 20, 24, 24, 28, 31, 32, 32 };
	static struct ipg_v4_table t;
	int64_t now = (int64_t)time(NULL);

	for (int round = 0; round < 40; round++) {
		uint32_t base[3];
		int want = 1 + (int)(next_rand() % 60), n;

		for (int b = 0; b < 3; b++)
			base[b] = next_rand();
		start_policy(&pol);
		/* Nested entries; one in five expired, one in five expiring
		 * in an hour; and IPv6 ones, kept out of the table. */
		while ((int)pol.n_entries < want) {
			unsigned e = next_rand() % 5;

			add_v4(&pol,
			       base[next_rand() % 3] ^
				       (next_rand() >> (next_rand() % 32)),
			       lens[next_rand() % 10],
			       e == 0 ? now - 60 :
			       e == 1 ? now + 3600 :
					0);
		}
		policy_allow(&pol, "2001:db8::/32");
		CHECK(apply());
		ASSERT_EQ(table_in_use(), 1);
		/* The ids apply gave the entries are the table's. */
		n = ipg_v4_table_build(pol.entries, pol.n_entries, &t);
		ASSERT_TRUE(n > 0);
		for (int i = 0; i < n; i++)
			for (int64_t d = -1; d <= 1; d++) {
				int64_t a = (int64_t)t.start[i] + d;

				if (a < 0 || a > UINT32_MAX)
					continue;
				JUDGED((uint32_t)a, 0);
				if (!(next_rand() % 4))
					JUDGED((uint32_t)a, 1);
			}
	}
}

TEST(test_list_too_large_for_a_range_table_is_judged_by_its_trie)
{
	int64_t now = (int64_t)time(NULL);

	/* 100 entries apart need 201 ranges. */
	start_policy(&pol);
	for (uint32_t i = 0; i < 100; i++)
		add_v4(&pol, 0xc6120000 + 4 * i, 31, i % 7 ? 0 : now - 60);
	CHECK(apply());
	ASSERT_EQ(table_in_use(), 0);
	for (uint32_t a = 0xc6120000 - 2; a < 0xc6120000 + 4 * 100 + 2; a++)
		JUDGED(a, 0);
	/* Back under the bound, the table is used again. */
	pol.n_entries = 40;
	CHECK(apply());
	ASSERT_EQ(table_in_use(), 1);
	for (uint32_t a = 0xc6120000 - 2; a < 0xc6120000 + 4 * 40 + 2; a++)
		JUDGED(a, 0);
}

/* Opens the datapath pinned at pins; NULL after a failure. */
static struct ipg_datapath *open_pinned(const char *file, int line)
{
	struct ipg_datapath_opts o = { .pin_dir = pins };
	struct ipg_error e = { { 0 } };
	struct ipg_datapath *p = NULL;

	if (ipg_datapath_open(&p, &o, &e))
		harness_fail(file, line, "open %s: %s", pins, e.msg);
	return p;
}

/* ipg_active[0] of @p without @bits, as a daemon stopped between a map
 * write and its hint leaves it. */
static int drop_hints(struct ipg_datapath *p, __u32 bits)
{
	int fd = ipg_datapath_map_fd(p, "ipg_active");
	__u32 zero = 0, word;

	if (bpf_map_lookup_elem(fd, &zero, &word))
		return -errno;
	word &= ~bits;
	return bpf_map_update_elem(fd, &zero, &word, BPF_ANY) ? -errno : 0;
}

static int rm_pins(void)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", pins);
	return system(cmd);
}

static int run_action(struct ipg_datapath *p, const char *src)
{
	struct frame f = strchr(src, ':') ? pkt_v6(src, IPPROTO_TCP, 443) :
					    pkt_v4(src, IPPROTO_TCP, 443);
	int action = -1;

	if (ipg_datapath_run(p, f.b, f.len, false, &action, NULL, NULL))
		return -1;
	return action;
}

TEST(test_adopting_the_maps_makes_their_hints_true_again)
{
	struct ipg_datapath *p = NULL;
	struct ipg_error e = { { 0 } };
	struct ipg_prefix a;
	uint64_t later = ipg_boot_ns() + 3600ull * 1000000000ull;

	if (rm_pins())
		FAIL("cannot clear %s", pins);
	p = open_pinned(__FILE__, __LINE__);
	if (!p)
		return;
	start_policy(&pol);
	policy_allow(&pol, "192.0.2.0/24");
	if (ipg_datapath_apply(p, &pol, &e)) {
		harness_fail(__FILE__, __LINE__, "apply: %s", e.msg);
		goto out;
	}
	/* A grant for one source, then the override for every list. */
	if (ipg_addr_parse("198.51.100.7", &a, NULL) ||
	    ipg_datapath_grant(p, &a, IPG_LIST_ANY, later, "k1")) {
		harness_fail(__FILE__, __LINE__, "cannot grant");
		goto out;
	}
	if (run_action(p, "198.51.100.7") != XDP_PASS ||
	    run_action(p, "198.51.100.8") != XDP_DROP) {
		harness_fail(__FILE__, __LINE__, "the grant is not in force");
		goto out;
	}
	if (ipg_datapath_set_override(p, later) ||
	    run_action(p, "198.51.100.8") != XDP_PASS) {
		harness_fail(__FILE__, __LINE__,
			     "the override is not in force");
		goto out;
	}
	/* Hints lost: neither is looked at. */
	if (drop_hints(p, IPG_ACTIVE_OVERRIDE | IPG_ACTIVE_GRANTS) ||
	    run_action(p, "198.51.100.7") != XDP_DROP) {
		harness_fail(__FILE__, __LINE__,
			     "a packet looked past the hints");
		goto out;
	}
	ipg_datapath_close(p);
	/* The next daemon adopts the maps and reads them again. */
	p = open_pinned(__FILE__, __LINE__);
	if (!p)
		goto out;
	if (!ipg_datapath_adopted(p)) {
		harness_fail(__FILE__, __LINE__, "the maps were not adopted");
		goto out;
	}
	if (run_action(p, "198.51.100.8") != XDP_PASS) {
		harness_fail(__FILE__, __LINE__,
			     "after adoption the override is not in force");
		goto out;
	}
	if (ipg_datapath_set_override(p, 0) ||
	    run_action(p, "198.51.100.8") != XDP_DROP ||
	    run_action(p, "198.51.100.7") != XDP_PASS)
		harness_fail(__FILE__, __LINE__,
			     "after adoption the grant is not in force");
out:
	if (p) {
		ipg_datapath_unpin(p);
		ipg_datapath_close(p);
	}
	if (rm_pins())
		harness_fail(__FILE__, __LINE__, "cannot clear %s", pins);
}

static int setup(void)
{
	snprintf(pins, sizeof(pins), "/sys/fs/bpf/ipgate-test-ranges-%d",
		 (int)getpid());
	return test_datapath_open(&dp, "bpf/ranges");
}

static void teardown(void)
{
	ipg_datapath_close(dp);
}

int main(int argc, char **argv)
{
	return harness_main("bpf/ranges", argc, argv, setup, teardown);
}
