// SPDX-License-Identifier: GPL-2.0
/* Named lists in the XDP program, run with BPF_PROG_TEST_RUN: a packet is
 * judged by the list guarding its destination (the default list when none
 * does), with that list's policy, override, grants and counters, and a
 * change to one list never moves another's verdicts. Each case checks the
 * action, that one counter of the judging list and nothing else moved, the
 * rule hit, and that the reference model agrees. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "datapath.h"
#include "harness.h"
#include "testbpf.h"
#include "testpkt.h"
#include "verdict.h"

/* Destinations: A's, B's, and one no list guards. */
#define A4 "198.18.1.1"
#define A6 "2001:db8:a::1"
#define B4 "198.18.2.1"
#define B6 "2001:db8:b::1"
#define NONE4 "198.18.9.9"
#define NONE6 "2001:db8:99::9"
/* Sources: allowed by A and the default list, by B and the default list,
 * by all three (each with its own entry), by B alone. */
#define SRC_A "203.0.113.5"
#define SRC_B "203.0.113.200"
#define SRC_ALL6 "2001:db8:1::5"
#define SRC_B6 "2001:db8:2::7"

#define NL 3
#define HITS_MAX 64

static struct ipg_datapath *dp;
/* The default list's policy, and the named lists, as the model sees them. */
static struct ipg_policy_spec def;
struct tlist {
	bool open;
	uint32_t id;
	struct ipg_policy_spec pol;
	struct ipg_prefix dsts[8];
	size_t n_dsts;
	bool override;
};
static struct tlist lists[NL];
static struct tlist *const A = &lists[0], *const B = &lists[1],
			   *const C = &lists[2];
static bool host_override, def_override;
static struct ipg_prefix grants[8];
static uint32_t grant_lists[8];
static size_t n_grants;
static struct ipg_prefix local[2];

static const uint64_t HOUR_NS = 3600ull * 1000000000ull;

/* ---- frames ---- */

/* TCP or UDP from @src to @dst (both of one family) port @dport. */
static struct ipg_pkt_spec spec_to(const char *src, const char *dst, int proto,
				   uint16_t dport)
{
	struct ipg_pkt_spec s = pkt_spec(src, proto, dport);

	if (inet_pton(s.family == 4 ? AF_INET : AF_INET6, dst, s.dst) != 1) {
		fprintf(stderr, "spec_to: %s is not an IPv%d address\n", dst,
			s.family);
		abort();
	}
	return s;
}

static struct frame to(const char *src, const char *dst, int proto,
		       uint16_t dport)
{
	struct ipg_pkt_spec s = spec_to(src, dst, proto, dport);

	return pkt_build(&s);
}

/* The same without an Ethernet header. */
static struct frame to_ip(const char *src, const char *dst, int proto,
			  uint16_t dport)
{
	struct ipg_pkt_spec s = as_ip_frame(spec_to(src, dst, proto, dport));

	return pkt_build(&s);
}

/* ---- lists, as the program and the model see them ---- */

static const struct ipg_policy_spec *spec_of(uint32_t id)
{
	if (id == IPG_LIST_DEFAULT)
		return &def;
	for (int i = 0; i < NL; i++)
		if (lists[i].open && lists[i].id == id)
			return &lists[i].pol;
	return NULL;
}

/* Enabled, drop mode, tcp/443 and udp/443 protected, and @cidrs. */
static void policy_of(struct ipg_policy_spec *s, const char *const *cidrs,
		      size_t n)
{
	ipg_policy_init(s);
	s->kern.enabled = 1;
	ipg_policy_set_port(s, IPPROTO_TCP, 443, true);
	ipg_policy_set_port(s, IPPROTO_UDP, 443, true);
	for (size_t i = 0; i < n; i++)
		policy_allow(s, cidrs[i]);
}

static void apply_default(void)
{
	struct ipg_error e = { { 0 } };

	if (ipg_datapath_apply(dp, &def, &e))
		FAIL("apply default: %s", e.msg);
}

static void apply_list(struct tlist *t)
{
	struct ipg_error e = { { 0 } };

	if (ipg_datapath_apply_list(dp, t->id, &t->pol, &e))
		FAIL("apply list %u: %s", t->id, e.msg);
}

/* Opens list @name as @t: empty, disabled, guarding nothing. */
static void open_list(struct tlist *t, const char *name)
{
	struct ipg_error e = { { 0 } };

	if (ipg_datapath_list_open(dp, name, &t->id, &e))
		FAIL("open list %s: %s", name, e.msg);
	t->open = true;
	ipg_policy_init(&t->pol);
	t->n_dsts = 0;
	t->override = false;
}

static void close_list(struct tlist *t)
{
	struct ipg_error e = { { 0 } };

	if (ipg_datapath_list_close(dp, t->id, &e))
		FAIL("close list %u: %s", t->id, e.msg);
	t->open = false;
}

/* Makes @addrs the destinations of @t, in the program and the model
 * (where they leave any other list). */
static void set_dsts(struct tlist *t, const char *const *addrs, size_t n)
{
	struct ipg_error e = { { 0 } };
	struct ipg_prefix p[8];

	if (n > 8)
		FAIL("too many destinations");
	for (size_t i = 0; i < n; i++)
		if (ipg_addr_parse(addrs[i], &p[i], &e))
			FAIL("%s: %s", addrs[i], e.msg);
	if (ipg_datapath_set_dsts(dp, t->id, p, (int)n, &e))
		FAIL("set_dsts list %u: %s", t->id, e.msg);
	for (int l = 0; l < NL; l++) {
		struct tlist *o = &lists[l];
		size_t k = 0;

		for (size_t j = 0; o != t && j < o->n_dsts; j++) {
			bool moved = false;

			for (size_t i = 0; i < n; i++)
				moved |= ipg_prefix_equal(&o->dsts[j], &p[i]);
			if (!moved)
				o->dsts[k++] = o->dsts[j];
		}
		if (o != t)
			o->n_dsts = k;
	}
	memcpy(t->dsts, p, sizeof(p[0]) * n);
	t->n_dsts = n;
}

static void set_list_override(uint32_t id, bool on)
{
	int r = ipg_datapath_set_list_override(
		dp, id, on ? ipg_boot_ns() + HOUR_NS : 0);

	if (r)
		FAIL("override of list %u: %s", id, strerror(-r));
	if (id == IPG_LIST_DEFAULT)
		def_override = on;
	for (int i = 0; i < NL; i++)
		if (lists[i].open && lists[i].id == id)
			lists[i].override = on;
}

static void set_host_override(bool on)
{
	int r = ipg_datapath_set_override(dp, on ? ipg_boot_ns() + HOUR_NS : 0);

	if (r)
		FAIL("host override: %s", strerror(-r));
	host_override = on;
}

/* A live grant to @src opening list @list (IPG_LIST_ANY: every list). */
static void grant(const char *src, uint32_t list)
{
	struct ipg_prefix p;
	int r;

	if (ipg_addr_parse(src, &p, NULL) || n_grants == 8)
		FAIL("grant %s", src);
	r = ipg_datapath_grant(dp, &p, list, ipg_boot_ns() + HOUR_NS, "k");
	if (r)
		FAIL("grant %s: %s", src, strerror(-r));
	grants[n_grants] = p;
	grant_lists[n_grants++] = list;
}

/* The model's view of everything but the default policy. */
static struct ipg_verdict_env env_for(const struct frame *f,
				      struct ipg_verdict_list *vl)
{
	size_t n = 0;

	for (int i = 0; i < NL; i++)
		if (lists[i].open)
			vl[n++] = (struct ipg_verdict_list){
				.id = lists[i].id,
				.policy = &lists[i].pol,
				.dsts = lists[i].dsts,
				.n_dsts = lists[i].n_dsts,
				.override_active = lists[i].override,
			};
	return (struct ipg_verdict_env){ .override_active = host_override,
					 .default_override = def_override,
					 .grants = grants,
					 .n_grants = n_grants,
					 .grant_lists = grant_lists,
					 .lists = vl,
					 .n_lists = n,
					 .local = local,
					 .n_local = 2,
					 .frame = f->start };
}

/* Removes every named list, grant and override; the default list back to
 * the standard policy. Runs before and after each case. */
static void reset(void)
{
	struct ipg_error e = { { 0 } };
	uint32_t ids[IPG_LISTS_MIN];
	struct ipg_grant g[16];
	int n;

	n = ipg_datapath_list_ids(dp, ids, IPG_LISTS_MIN);
	for (int i = 0; i < n; i++)
		if (ids[i] != IPG_LIST_DEFAULT &&
		    ipg_datapath_list_close(dp, ids[i], &e))
			FAIL("reset: %s", e.msg);
	for (int i = 0; i < NL; i++)
		lists[i].open = false;
	n = ipg_datapath_grants(dp, g, 16);
	for (int i = 0; i < n; i++) {
		int r = ipg_datapath_ungrant(dp, &g[i].addr, g[i].list_id);

		if (r)
			FAIL("reset: ungrant: %s", strerror(-r));
	}
	n_grants = 0;
	CHECK(set_host_override(false));
	CHECK(set_list_override(IPG_LIST_DEFAULT, false));
	policy_standard(&def);
	CHECK(apply_default());
}

/* Runs reset() after a case, failed or not, keeping its verdict. */
static void after_case(void)
{
	int failed = harness_failed_now;

	harness_failed_now = 0;
	reset();
	harness_failed_now |= failed;
}

/* A case that starts from, and leaves, no named list, grant or override. */
#define LTEST(name)                    \
	static void name##_body(void); \
	TEST(name)                     \
	{                              \
		CHECK(reset());        \
		name##_body();         \
		after_case();          \
	}                              \
	static void name##_body(void)

/* A and B as most cases use them: A allows 203.0.113.0/25, B
 * 203.0.113.128/25, both and the default list 2001:db8:1::/48 (three
 * entries, three rule ids), B 2001:db8:2::/48 too; B protects tcp/22
 * besides. A guards A4 and A6, B B4 and B6. */
static void two_lists(void)
{
	static const char *const a_cidrs[] = { "203.0.113.0/25",
					       "2001:db8:1::/48" };
	static const char *const b_cidrs[] = { "203.0.113.128/25",
					       "2001:db8:1::/48",
					       "2001:db8:2::/48" };
	static const char *const a_dsts[] = { A4, A6 };
	static const char *const b_dsts[] = { B4, B6 };

	CHECK(open_list(A, "alpha"));
	CHECK(open_list(B, "bravo"));
	policy_of(&A->pol, a_cidrs, 2);
	policy_of(&B->pol, b_cidrs, 3);
	ipg_policy_set_port(&B->pol, IPPROTO_TCP, 22, true);
	CHECK(apply_list(A));
	CHECK(apply_list(B));
	CHECK(set_dsts(A, a_dsts, 2));
	CHECK(set_dsts(B, b_dsts, 2));
}

/* ---- checking one frame ---- */

struct snapshot {
	uint64_t stats[IPG_LISTS_MIN][IPG_STAT_MAX];
	uint64_t hits[1 + NL][HITS_MAX];
};

/* The policies a hit may land in: the default list's, then each list's
 * (NULL when closed). */
static const struct ipg_policy_spec *policy_at(int k)
{
	return k == 0 ? &def : lists[k - 1].open ? &lists[k - 1].pol : NULL;
}

static int snap(struct snapshot *s)
{
	struct ipg_datapath_opts sz;

	ipg_datapath_sizes(dp, &sz);
	if (sz.lists_max > IPG_LISTS_MIN)
		return -E2BIG;
	memset(s, 0, sizeof(*s));
	/* Every id's row, in use or not: a count on a stray id fails. */
	for (uint32_t id = 0; id < sz.lists_max; id++)
		if (ipg_datapath_list_stats(dp, id, s->stats[id]))
			return -EIO;
	for (int k = 0; k < 1 + NL; k++) {
		const struct ipg_policy_spec *p = policy_at(k);

		for (uint32_t i = 0; p && i < p->n_entries; i++)
			if (i >= HITS_MAX ||
			    ipg_datapath_rule_hits(dp, p->entries[i].rule_id,
						   &s->hits[k][i]))
				return -EIO;
	}
	return 0;
}

static void hexdump(const struct frame *f)
{
	for (size_t i = 0; i < f->len; i++)
		fprintf(stderr, "%02x%s", f->b[i], (i + 1) % 32 ? "" : "\n");
	fputc('\n', stderr);
}

/* Runs @f and checks: the action; that list @list's counter @stat moved by
 * one and no other counter of any list moved; that the entry of @list's
 * policy equal to @cidr (NULL: none) got the one rule hit; and that the
 * model agrees on all of it. */
static void expect_at(const char *file, int line, const struct frame *f,
		      uint32_t list, int action, enum ipg_stat stat,
		      const char *cidr)
{
	static struct snapshot before, after;
	const struct ipg_policy_spec *pol = spec_of(list);
	struct ipg_verdict_list vl[NL];
	struct ipg_verdict_env env = env_for(f, vl);
	struct ipg_verdict v;
	int got, entry = -1, hit_k = -1;
	struct ipg_prefix p;

	if (!pol)
		return harness_fail(file, line, "no list has id %u", list);
	if (cidr) {
		if (ipg_prefix_parse(cidr, &p, NULL) ||
		    (entry = ipg_policy_find(pol, &p)) < 0)
			return harness_fail(file, line,
					    "list %u has no entry %s", list,
					    cidr);
		for (int k = 0; k < 1 + NL; k++)
			if (policy_at(k) == pol)
				hit_k = k;
	}
	if (snap(&before))
		return harness_fail(file, line, "reading counters");
	if (ipg_datapath_run_frame(dp, f->start, f->b, f->len, false, &got,
				   NULL, NULL))
		return harness_fail(file, line, "test run failed");
	if (snap(&after))
		return harness_fail(file, line, "reading counters");
	ipg_verdict_eval(&def, &env, f->b, f->len, &v);

	if (got != action) {
		hexdump(f);
		return harness_fail(file, line, "action: expected %s, got %s",
				    ipg_action_name(action),
				    ipg_action_name(got));
	}
	for (int id = 0; id < IPG_LISTS_MIN; id++)
		for (int i = 0; i < IPG_STAT_MAX; i++) {
			uint64_t d = after.stats[id][i] - before.stats[id][i],
				 want = (uint32_t)id == list && i == (int)stat ?
						1 :
						0;

			if (d != want)
				return harness_fail(
					file, line,
					"list %d's counter %s moved by %llu, "
					"expected list %u's %s to move",
					id, ipg_stat_name(i),
					(unsigned long long)d, list,
					ipg_stat_name(stat));
		}
	for (int k = 0; k < 1 + NL; k++) {
		const struct ipg_policy_spec *q = policy_at(k);

		for (uint32_t i = 0; q && i < q->n_entries; i++) {
			uint64_t d = after.hits[k][i] - before.hits[k][i],
				 want = k == hit_k && (int)i == entry;

			if (d != want)
				return harness_fail(
					file, line,
					"rule %u (entry %u of policy %d) hit "
					"%llu times, expected %llu",
					q->entries[i].rule_id, i, k,
					(unsigned long long)d,
					(unsigned long long)want);
		}
	}
	if (v.action != got || v.stat != stat || v.list != list ||
	    v.entry != entry) {
		hexdump(f);
		return harness_fail(file, line,
				    "model disagrees: %s/%s/list %u/entry %d "
				    "vs %s/%s/list %u/entry %d",
				    ipg_action_name(v.action),
				    ipg_stat_name(v.stat), v.list, v.entry,
				    ipg_action_name(got), ipg_stat_name(stat),
				    list, entry);
	}
}

#define EXPECT(f, list, action, stat, cidr) \
	CHECK(expect_at(__FILE__, __LINE__, &(f), list, action, stat, cidr))
#define ALLOWED(f, list, cidr) \
	EXPECT(f, list, XDP_PASS, IPG_STAT_PASS_ALLOWED, cidr)
#define DENIED(f, list) EXPECT(f, list, XDP_DROP, IPG_STAT_DROP_DENIED, NULL)
#define PASSED(f, list, stat) EXPECT(f, list, XDP_PASS, stat, NULL)

/* ---- selection ---- */

LTEST(test_destination_selects_its_list_for_both_families)
{
	CHECK(two_lists());
	struct frame a4 = to(SRC_A, A4, IPPROTO_TCP, 443);
	struct frame b4 = to(SRC_A, B4, IPPROTO_TCP, 443);
	struct frame h4 = to(SRC_A, HOST4, IPPROTO_TCP, 443);
	struct frame a4b = to(SRC_B, A4, IPPROTO_UDP, 443);
	struct frame b4b = to(SRC_B, B4, IPPROTO_TCP, 443);
	struct frame a6 = to(SRC_B6, A6, IPPROTO_TCP, 443);
	struct frame b6 = to(SRC_B6, B6, IPPROTO_TCP, 443);
	struct frame h6 = to(SRC_B6, HOST6, IPPROTO_TCP, 443);
	struct frame ip_a4 = to_ip(SRC_A, A4, IPPROTO_TCP, 443);
	struct frame ip_b6 = to_ip(SRC_B6, B6, IPPROTO_UDP, 443);
	/* tcp/22: protected by B alone. */
	struct frame a22 = to(OUTSIDER4, A4, IPPROTO_TCP, 22);
	struct frame b22 = to(OUTSIDER4, B4, IPPROTO_TCP, 22);

	ALLOWED(a4, A->id, "203.0.113.0/25");
	DENIED(b4, B->id);
	ALLOWED(h4, IPG_LIST_DEFAULT, "203.0.113.0/24");
	DENIED(a4b, A->id);
	ALLOWED(b4b, B->id, "203.0.113.128/25");
	DENIED(a6, A->id);
	ALLOWED(b6, B->id, "2001:db8:2::/48");
	DENIED(h6, IPG_LIST_DEFAULT);
	ALLOWED(ip_a4, A->id, "203.0.113.0/25");
	ALLOWED(ip_b6, B->id, "2001:db8:2::/48");
	PASSED(a22, A->id, IPG_STAT_PASS_UNPROTECTED);
	DENIED(b22, B->id);
}

LTEST(test_ipv4_mapped_destination_selects_the_list_of_its_ipv4_address)
{
	CHECK(two_lists());
	struct frame a = to(SRC_ALL6, "::ffff:" A4, IPPROTO_TCP, 443);
	struct frame b = to("::ffff:" SRC_A, "::ffff:" B4, IPPROTO_TCP, 443);
	struct frame ip = to_ip(OUTSIDER6, "::ffff:" A4, IPPROTO_TCP, 443);
	struct frame n = to(SRC_ALL6, "::ffff:" NONE4, IPPROTO_TCP, 443);
	struct ipg_prefix m;

	ALLOWED(a, A->id, "2001:db8:1::/48");
	/* A mapped source is judged as IPv4 too: B does not allow it. */
	DENIED(b, B->id);
	DENIED(ip, A->id);
	ALLOWED(n, IPG_LIST_DEFAULT, "2001:db8:1::/48");
	/* A destination given in its mapped form guards the IPv4 one. */
	static const char *const mapped[] = { "::ffff:198.18.3.1" };
	struct frame c = to(OUTSIDER4, "198.18.3.1", IPPROTO_TCP, 443);

	CHECK(set_dsts(A, mapped, 1));
	ASSERT_OK(ipg_addr_parse("198.18.3.1", &m, NULL));
	ASSERT_EQ(ipg_datapath_dst_list(dp, &m), A->id);
	DENIED(c, A->id);
	/* A mapped destination handed over as IPv6 (not through the
	 * parser, which makes it IPv4) guards the IPv4 address too. */
	struct ipg_prefix two[2] = { { 0 } };
	struct ipg_error e = { { 0 } };

	ASSERT_OK(ipg_addr_parse("198.18.3.1", &two[0], NULL));
	two[1].family = 6;
	two[1].len = 128;
	ASSERT_TRUE(inet_pton(AF_INET6, "::ffff:198.18.3.2", two[1].addr) == 1);
	if (ipg_datapath_set_dsts(dp, A->id, two, 2, &e))
		FAIL("set_dsts: %s", e.msg);
	memcpy(A->dsts, two, sizeof(two));
	A->n_dsts = 2;
	struct frame d4 = to(OUTSIDER4, "198.18.3.2", IPPROTO_TCP, 443);
	struct frame d6 = to(OUTSIDER6, "::ffff:198.18.3.2", IPPROTO_TCP, 443);

	ASSERT_OK(ipg_addr_parse("198.18.3.2", &m, NULL));
	ASSERT_EQ(ipg_datapath_dst_list(dp, &m), A->id);
	DENIED(d4, A->id);
	DENIED(d6, A->id);
	DENIED(c, A->id);
}

LTEST(test_destination_of_no_list_is_judged_by_the_default_list)
{
	CHECK(two_lists());
	struct frame n4 = to(SRC_B, NONE4, IPPROTO_TCP, 443);
	struct frame n6 = to(SRC_B6, NONE6, IPPROTO_TCP, 443);
	struct frame o4 = to(OUTSIDER4, NONE4, IPPROTO_UDP, 443);
	struct frame ip = to_ip("198.51.100.7", NONE4, IPPROTO_TCP, 8443);
	/* A neighbour of a list's destination is not that destination. */
	struct frame nb = to(SRC_B, "198.18.1.2", IPPROTO_TCP, 443);
	struct ipg_prefix a4;

	ALLOWED(n4, IPG_LIST_DEFAULT, "203.0.113.0/24");
	DENIED(n6, IPG_LIST_DEFAULT);
	DENIED(o4, IPG_LIST_DEFAULT);
	ALLOWED(ip, IPG_LIST_DEFAULT, "198.51.100.7");
	ALLOWED(nb, IPG_LIST_DEFAULT, "203.0.113.0/24");
	ASSERT_OK(ipg_addr_parse(A4, &a4, NULL));
	ASSERT_EQ(ipg_datapath_dst_list(dp, &a4), A->id);
	ASSERT_OK(ipg_addr_parse(NONE4, &a4, NULL));
	ASSERT_EQ(ipg_datapath_dst_list(dp, &a4), IPG_LIST_DEFAULT);
}

LTEST(test_non_ip_is_counted_on_the_default_list)
{
	CHECK(two_lists());
	struct frame arp = to(OUTSIDER4, A4, IPPROTO_TCP, 443);

	arp.b[12] = 0x08;
	arp.b[13] = 0x06;
	PASSED(arp, IPG_LIST_DEFAULT, IPG_STAT_PASS_NON_IP);
}

/* ---- each list's own settings ---- */

LTEST(test_disabled_list_passes_while_the_others_enforce)
{
	CHECK(two_lists());
	A->pol.kern.enabled = 0;
	CHECK(apply_list(A));
	struct frame a = to(OUTSIDER4, A4, IPPROTO_TCP, 443);
	struct frame a6 = to(OUTSIDER6, A6, IPPROTO_UDP, 443);
	struct frame b = to(OUTSIDER4, B4, IPPROTO_TCP, 443);
	struct frame h = to(OUTSIDER6, HOST6, IPPROTO_TCP, 443);

	PASSED(a, A->id, IPG_STAT_PASS_DISABLED);
	PASSED(a6, A->id, IPG_STAT_PASS_DISABLED);
	DENIED(b, B->id);
	DENIED(h, IPG_LIST_DEFAULT);
	/* And the default list disabled leaves A (enabled again) and B. */
	A->pol.kern.enabled = 1;
	CHECK(apply_list(A));
	def.kern.enabled = 0;
	CHECK(apply_default());
	DENIED(a, A->id);
	DENIED(b, B->id);
	PASSED(h, IPG_LIST_DEFAULT, IPG_STAT_PASS_DISABLED);
}

LTEST(test_list_override_opens_only_its_list_host_override_opens_all)
{
	CHECK(two_lists());
	struct frame a = to(OUTSIDER4, A4, IPPROTO_TCP, 443);
	struct frame b = to(OUTSIDER6, B6, IPPROTO_TCP, 443);
	struct frame h = to(OUTSIDER4, HOST4, IPPROTO_TCP, 443);
	uint64_t dl = 1;

	CHECK(set_list_override(A->id, true));
	PASSED(a, A->id, IPG_STAT_PASS_OVERRIDE);
	DENIED(b, B->id);
	DENIED(h, IPG_LIST_DEFAULT);
	/* An entry still matches first in the other lists. */
	CHECK(set_list_override(A->id, false));
	ASSERT_OK(ipg_datapath_get_list_override(dp, A->id, &dl));
	ASSERT_EQ(dl, 0);
	DENIED(a, A->id);
	/* The default list's own override: the default list alone. */
	CHECK(set_list_override(IPG_LIST_DEFAULT, true));
	DENIED(a, A->id);
	DENIED(b, B->id);
	PASSED(h, IPG_LIST_DEFAULT, IPG_STAT_PASS_OVERRIDE);
	CHECK(set_list_override(IPG_LIST_DEFAULT, false));
	/* The host-wide one: every list, each counting its own. */
	CHECK(set_host_override(true));
	PASSED(a, A->id, IPG_STAT_PASS_OVERRIDE);
	PASSED(b, B->id, IPG_STAT_PASS_OVERRIDE);
	PASSED(h, IPG_LIST_DEFAULT, IPG_STAT_PASS_OVERRIDE);
	CHECK(set_host_override(false));
	DENIED(a, A->id);
	DENIED(b, B->id);
	DENIED(h, IPG_LIST_DEFAULT);
	/* A list's override whose deadline passed opens nothing. */
	ASSERT_OK(ipg_datapath_set_list_override(dp, B->id, ipg_boot_ns() - 1));
	DENIED(b, B->id);
	ASSERT_OK(ipg_datapath_set_list_override(dp, B->id, 0));
}

LTEST(test_grant_scoped_to_a_list_opens_only_it_any_grant_opens_all)
{
	CHECK(two_lists());
	struct frame a4 = to(OUTSIDER4, A4, IPPROTO_TCP, 443);
	struct frame b4 = to(OUTSIDER4, B4, IPPROTO_TCP, 443);
	struct frame h4 = to(OUTSIDER4, HOST4, IPPROTO_TCP, 443);
	struct frame m4 =
		to("::ffff:" OUTSIDER4, "::ffff:" A4, IPPROTO_TCP, 443);
	struct frame a6 = to(OUTSIDER6, A6, IPPROTO_TCP, 443);
	struct frame b6 = to(OUTSIDER6, B6, IPPROTO_UDP, 443);
	struct frame h6 = to(OUTSIDER6, HOST6, IPPROTO_TCP, 443);
	struct frame d4 = to("198.18.0.70", HOST4, IPPROTO_TCP, 443);
	struct frame da = to("198.18.0.70", A4, IPPROTO_TCP, 443);

	CHECK(grant(OUTSIDER4, A->id));
	CHECK(grant(OUTSIDER6, IPG_LIST_ANY));
	CHECK(grant("198.18.0.70", IPG_LIST_DEFAULT));
	PASSED(a4, A->id, IPG_STAT_PASS_BREAKGLASS);
	PASSED(m4, A->id, IPG_STAT_PASS_BREAKGLASS);
	DENIED(b4, B->id);
	DENIED(h4, IPG_LIST_DEFAULT);
	PASSED(a6, A->id, IPG_STAT_PASS_BREAKGLASS);
	PASSED(b6, B->id, IPG_STAT_PASS_BREAKGLASS);
	PASSED(h6, IPG_LIST_DEFAULT, IPG_STAT_PASS_BREAKGLASS);
	/* Scoped to the default list: its destinations alone. */
	PASSED(d4, IPG_LIST_DEFAULT, IPG_STAT_PASS_BREAKGLASS);
	DENIED(da, A->id);
	/* Revoking the scoped grant closes A again; the ANY one stays. */
	struct ipg_prefix p;

	ASSERT_OK(ipg_addr_parse(OUTSIDER4, &p, NULL));
	ASSERT_EQ(ipg_datapath_ungrant(dp, &p, B->id), -ENOENT);
	ASSERT_OK(ipg_datapath_ungrant(dp, &p, A->id));
	grants[0] = grants[--n_grants];
	grant_lists[0] = grant_lists[n_grants];
	DENIED(a4, A->id);
	PASSED(a6, A->id, IPG_STAT_PASS_BREAKGLASS);
}

/* ---- counters ---- */

LTEST(test_per_list_counters_move_only_for_the_judging_list)
{
	uint64_t a0[IPG_STAT_MAX], a1[IPG_STAT_MAX], b0[IPG_STAT_MAX],
		b1[IPG_STAT_MAX], d0[IPG_STAT_MAX], d1[IPG_STAT_MAX],
		t0[IPG_STAT_MAX], t1[IPG_STAT_MAX];
	int action;

	CHECK(two_lists());
	struct frame a = to(OUTSIDER4, A4, IPPROTO_TCP, 443);
	struct frame b = to(SRC_B, B4, IPPROTO_TCP, 443);

	ASSERT_OK(ipg_datapath_list_stats(dp, A->id, a0));
	ASSERT_OK(ipg_datapath_list_stats(dp, B->id, b0));
	ASSERT_OK(ipg_datapath_list_stats(dp, IPG_LIST_DEFAULT, d0));
	ASSERT_OK(ipg_datapath_stats(dp, t0));
	for (int i = 0; i < 5; i++) {
		ASSERT_OK(ipg_datapath_run(dp, a.b, a.len, false, &action, NULL,
					   NULL));
		ASSERT_EQ(action, XDP_DROP);
	}
	for (int i = 0; i < 3; i++) {
		ASSERT_OK(ipg_datapath_run(dp, b.b, b.len, false, &action, NULL,
					   NULL));
		ASSERT_EQ(action, XDP_PASS);
	}
	/* A probe counts nowhere, on any list. */
	ASSERT_OK(ipg_datapath_run(dp, a.b, a.len, true, &action, NULL, NULL));
	ASSERT_OK(ipg_datapath_list_stats(dp, A->id, a1));
	ASSERT_OK(ipg_datapath_list_stats(dp, B->id, b1));
	ASSERT_OK(ipg_datapath_list_stats(dp, IPG_LIST_DEFAULT, d1));
	ASSERT_OK(ipg_datapath_stats(dp, t1));
	for (int s = 0; s < IPG_STAT_MAX; s++) {
		ASSERT_EQ(a1[s] - a0[s], s == IPG_STAT_DROP_DENIED ? 5 : 0);
		ASSERT_EQ(b1[s] - b0[s], s == IPG_STAT_PASS_ALLOWED ? 3 : 0);
		ASSERT_EQ(d1[s] - d0[s], 0);
		/* The host's total is the lists' sum. */
		ASSERT_EQ(t1[s] - t0[s], (a1[s] - a0[s]) + (b1[s] - b0[s]));
	}
}

LTEST(test_overlapping_entries_of_different_lists_count_under_distinct_rules)
{
	uint32_t seen[3 * HITS_MAX];
	size_t n = 0;

	CHECK(two_lists());
	/* Every entry of every list has its own rule id. */
	for (int k = 0; k < 1 + NL; k++) {
		const struct ipg_policy_spec *p = policy_at(k);

		for (uint32_t i = 0; p && i < p->n_entries; i++) {
			for (size_t j = 0; j < n; j++)
				if (seen[j] == p->entries[i].rule_id)
					FAIL("rule id %u is used twice",
					     seen[j]);
			seen[n++] = p->entries[i].rule_id;
		}
	}
	ASSERT_EQ(n, def.n_entries + 2 + 3);
	/* 2001:db8:1::/48 is in all three: each hit lands on the judging
	 * list's own entry (expect() checks no other rule moved). */
	struct frame a = to(SRC_ALL6, A6, IPPROTO_TCP, 443);
	struct frame b = to(SRC_ALL6, B6, IPPROTO_TCP, 443);
	struct frame h = to(SRC_ALL6, HOST6, IPPROTO_TCP, 443);

	ALLOWED(a, A->id, "2001:db8:1::/48");
	ALLOWED(b, B->id, "2001:db8:1::/48");
	ALLOWED(b, B->id, "2001:db8:1::/48");
	ALLOWED(h, IPG_LIST_DEFAULT, "2001:db8:1::/48");
	/* Re-applying B keeps its ids, and so its counts. */
	struct ipg_prefix p;
	uint32_t id;
	uint64_t hits;
	int e;

	ASSERT_OK(ipg_prefix_parse("2001:db8:1::/48", &p, NULL));
	e = ipg_policy_find(&B->pol, &p);
	id = B->pol.entries[e].rule_id;
	CHECK(apply_list(B));
	ASSERT_EQ(B->pol.entries[e].rule_id, id);
	ASSERT_OK(ipg_datapath_rule_hits(dp, id, &hits));
	ASSERT_EQ(hits, 2);
}

LTEST(test_later_fragment_to_a_named_list_is_counted_on_that_list)
{
	CHECK(two_lists());
	struct ipg_pkt_spec s4 =
		with_fragment(spec_to(OUTSIDER4, A4, IPPROTO_UDP, 443), 3, 0);
	struct ipg_pkt_spec s6 =
		with_fragment(spec_to(OUTSIDER6, B6, IPPROTO_TCP, 443), 7, 0);
	struct ipg_pkt_spec m6 = with_fragment(
		spec_to(OUTSIDER6, "::ffff:" A4, IPPROTO_TCP, 443), 7, 1);
	struct ipg_pkt_spec h4 = with_fragment(
		spec_to(OUTSIDER4, HOST4, IPPROTO_UDP, 443), 3, 1);
	struct frame f4 = pkt_build(&s4), f6 = pkt_build(&s6),
		     fm = pkt_build(&m6), fh = pkt_build(&h4);
	struct ipg_pkt_spec i4 = as_ip_frame(s4);
	struct frame fi = pkt_build(&i4);

	PASSED(f4, A->id, IPG_STAT_PASS_FRAGMENT);
	PASSED(f6, B->id, IPG_STAT_PASS_FRAGMENT);
	PASSED(fm, A->id, IPG_STAT_PASS_FRAGMENT);
	PASSED(fh, IPG_LIST_DEFAULT, IPG_STAT_PASS_FRAGMENT);
	PASSED(fi, A->id, IPG_STAT_PASS_FRAGMENT);
}

/* ---- changing lists ---- */

LTEST(test_set_dsts_moves_an_address_from_one_list_to_another)
{
	static const char *const b_takes[] = { B4, B6, A4 };
	static const char *const b_gives[] = { B4 };
	struct ipg_prefix p;

	CHECK(two_lists());
	struct frame x = to(SRC_A, A4, IPPROTO_TCP, 443);
	struct frame x6 = to(SRC_B6, A6, IPPROTO_TCP, 443);
	struct frame y6 = to(SRC_B6, B6, IPPROTO_TCP, 443);

	ALLOWED(x, A->id, "203.0.113.0/25");
	CHECK(set_dsts(B, b_takes, 3));
	ASSERT_OK(ipg_addr_parse(A4, &p, NULL));
	ASSERT_EQ(ipg_datapath_dst_list(dp, &p), B->id);
	DENIED(x, B->id);
	/* A keeps what B did not take. */
	DENIED(x6, A->id);
	/* What B lets go goes back to the default list, not to A. */
	CHECK(set_dsts(B, b_gives, 1));
	ASSERT_EQ(ipg_datapath_dst_list(dp, &p), IPG_LIST_DEFAULT);
	ALLOWED(x, IPG_LIST_DEFAULT, "203.0.113.0/24");
	DENIED(y6, IPG_LIST_DEFAULT);
	/* With no destination left anywhere, lists judge nothing. */
	CHECK(set_dsts(A, NULL, 0));
	CHECK(set_dsts(B, NULL, 0));
	DENIED(x6, IPG_LIST_DEFAULT);
	struct frame b = to(SRC_B, B4, IPPROTO_TCP, 443);

	ALLOWED(b, IPG_LIST_DEFAULT, "203.0.113.0/24");
}

LTEST(test_list_close_returns_its_destinations_and_its_id_is_reused_clean)
{
	static const char *const c_dsts[] = { A4, A6 };
	static struct ipg_entry live[IPG_RULES_MAX];
	uint64_t st[IPG_STAT_MAX], dl = 1, hits;
	uint32_t old, a_ids[2];
	int reused = 0;
	struct ipg_prefix p;

	CHECK(two_lists());
	struct frame a = to(OUTSIDER4, A4, IPPROTO_TCP, 443);
	struct frame ok = to(SRC_A, A4, IPPROTO_TCP, 443);
	struct frame a6 = to(SRC_ALL6, A6, IPPROTO_TCP, 443);

	/* A counts, hits rules, and has an override set. */
	DENIED(a, A->id);
	ALLOWED(ok, A->id, "203.0.113.0/25");
	ALLOWED(a6, A->id, "2001:db8:1::/48");
	ASSERT_OK(ipg_datapath_set_list_override(dp, A->id,
						 ipg_boot_ns() + HOUR_NS));
	old = A->id;
	for (uint32_t i = 0; i < A->pol.n_entries; i++)
		a_ids[i] = A->pol.entries[i].rule_id;
	CHECK(close_list(A));
	ASSERT_TRUE(ipg_datapath_list_name(dp, old) == NULL);
	ASSERT_OK(ipg_addr_parse(A4, &p, NULL));
	ASSERT_EQ(ipg_datapath_dst_list(dp, &p), IPG_LIST_DEFAULT);
	/* Its destinations are the default list's again. */
	DENIED(a, IPG_LIST_DEFAULT);
	ALLOWED(ok, IPG_LIST_DEFAULT, "203.0.113.0/24");
	/* A new list takes the freed id with nothing of A's. */
	CHECK(open_list(C, "charlie"));
	ASSERT_EQ(C->id, old);
	ASSERT_STR(ipg_datapath_list_name(dp, C->id), "charlie");
	ASSERT_OK(ipg_datapath_list_stats(dp, C->id, st));
	for (int s = 0; s < IPG_STAT_MAX; s++)
		ASSERT_EQ(st[s], 0);
	ASSERT_OK(ipg_datapath_get_list_override(dp, C->id, &dl));
	ASSERT_EQ(dl, 0);
	/* A's prefixes again, under fresh counts. */
	static const char *const c_cidrs[] = { "203.0.113.0/25",
					       "2001:db8:1::/48" };

	policy_of(&C->pol, c_cidrs, 2);
	CHECK(apply_list(C));
	for (uint32_t i = 0; i < C->pol.n_entries; i++) {
		ASSERT_OK(ipg_datapath_rule_hits(dp, C->pol.entries[i].rule_id,
						 &hits));
		ASSERT_EQ(hits, 0);
		reused += C->pol.entries[i].rule_id == a_ids[0] ||
			  C->pol.entries[i].rule_id == a_ids[1];
	}
	/* (Only if C took A's counted ids does this say anything.) */
	ASSERT_EQ(reused, 2);
	ASSERT_EQ(ipg_datapath_list_rules(dp, C->id, live), 2);
	/* Not under A's override: C enforces. */
	CHECK(set_dsts(C, c_dsts, 2));
	DENIED(a, C->id);
	ALLOWED(ok, C->id, "203.0.113.0/25");
	ALLOWED(a6, C->id, "2001:db8:1::/48");
	/* Closing the default list is refused. */
	struct ipg_error e = { { 0 } };

	ASSERT_EQ(ipg_datapath_list_close(dp, IPG_LIST_DEFAULT, &e), -EINVAL);
}

LTEST(test_grant_scoped_to_a_closed_list_never_opens_the_list_reusing_its_id)
{
	static const char *const c_dsts[] = { A4 };
	uint32_t old;

	CHECK(two_lists());
	struct frame a = to(OUTSIDER4, A4, IPPROTO_TCP, 443);

	CHECK(grant(OUTSIDER4, A->id));
	PASSED(a, A->id, IPG_STAT_PASS_BREAKGLASS);
	old = A->id;
	CHECK(close_list(A));
	/* The grant opened A, which is gone. */
	n_grants = 0;
	DENIED(a, IPG_LIST_DEFAULT);
	CHECK(open_list(C, "charlie"));
	ASSERT_EQ(C->id, old);
	policy_of(&C->pol, NULL, 0);
	CHECK(apply_list(C));
	CHECK(set_dsts(C, c_dsts, 1));
	DENIED(a, C->id);
}

LTEST(test_new_list_protects_nothing_until_its_policy_is_applied)
{
	static const char *const n_dsts[] = { "198.18.4.1" };

	/* The default list goes through port sets so that none of the
	 * sets it started with is left as it was. */
	def.kern.enabled = 1;
	ipg_policy_set_port(&def, IPPROTO_TCP, 22, true);
	CHECK(apply_default());
	CHECK(apply_default());
	ipg_policy_set_port(&def, IPPROTO_UDP, 53, true);
	CHECK(apply_default());
	CHECK(apply_default());
	ipg_policy_set_port(&def, IPPROTO_TCP, 25, true);
	CHECK(apply_default());
	CHECK(open_list(C, "charlie"));
	CHECK(set_dsts(C, n_dsts, 1));
	struct frame c = to(OUTSIDER4, "198.18.4.1", IPPROTO_TCP, 443);

	PASSED(c, C->id, IPG_STAT_PASS_UNPROTECTED);
}

/* ---- one list's change never reaches another ---- */

LTEST(test_apply_to_one_list_never_changes_another_lists_verdicts)
{
	static const char *const everyone[] = { "0.0.0.0/0", "::/0" };

	CHECK(two_lists());
	struct frame in = to(SRC_B, B4, IPPROTO_TCP, 443);
	struct frame out = to(OUTSIDER4, B4, IPPROTO_TCP, 443);
	struct frame in6 = to(SRC_B6, B6, IPPROTO_TCP, 443);
	struct frame open = to(OUTSIDER4, B4, IPPROTO_TCP, 80);

	for (int round = 0; round < 5; round++) {
		ALLOWED(in, B->id, "203.0.113.128/25");
		DENIED(out, B->id);
		ALLOWED(in6, B->id, "2001:db8:2::/48");
		PASSED(open, B->id, IPG_STAT_PASS_UNPROTECTED);
		if (round == 4)
			break;
		/* A: everyone, then nobody on more ports, then disabled,
		 * then reject mode. */
		policy_of(&A->pol, round == 0 ? everyone : NULL,
			  round == 0 ? 2 : 0);
		ipg_policy_set_port(&A->pol, IPPROTO_TCP, 80, round == 1);
		A->pol.kern.enabled = round != 2;
		A->pol.kern.mode = round == 3 ? IPG_MODE_REJECT : IPG_MODE_DROP;
		CHECK(apply_list(A));
	}
}

#define FLIPS 300
#define FLIP_CAP_S 300

static struct ipg_policy_spec flip_open, flip_shut;

/* A flips between passing everyone (reject mode) and passing no one on
 * more ports; B's frames would change verdict under either, so any B
 * frame judged by A's slots, or by a mix, shows. */
LTEST(test_flips_of_one_list_racing_traffic_to_another_never_change_it)
{
	static const char *const everyone[] = { "0.0.0.0/0", "::/0" };
	struct {
		struct frame f;
		int action;
	} cases[6];
	struct test_flipper fl = { .dp = dp,
				   .pol = { &flip_open, &flip_shut },
				   .max = FLIPS };
	long runs = 0, wrong = 0, flips;
	double start;
	int capped = 0;

	CHECK(two_lists());
	cases[0].f = to(SRC_B, B4, IPPROTO_TCP, 443);
	cases[0].action = XDP_PASS;
	cases[1].f = to(OUTSIDER4, B4, IPPROTO_TCP, 443);
	cases[1].action = XDP_DROP;
	cases[2].f = to(SRC_B6, B6, IPPROTO_UDP, 443);
	cases[2].action = XDP_PASS;
	cases[3].f = to(OUTSIDER6, B6, IPPROTO_TCP, 443);
	cases[3].action = XDP_DROP;
	cases[4].f = to(OUTSIDER4, B4, IPPROTO_TCP, 80);
	cases[4].action = XDP_PASS;
	cases[5].f = to_ip(OUTSIDER6, "::ffff:" B4, IPPROTO_TCP, 443);
	cases[5].action = XDP_DROP;
	/* The model says the same of each before the race. */
	for (int i = 0; i < 6; i++) {
		struct ipg_verdict_list vl[NL];
		struct ipg_verdict_env env = env_for(&cases[i].f, vl);
		struct ipg_verdict v;

		ipg_verdict_eval(&def, &env, cases[i].f.b, cases[i].f.len, &v);
		ASSERT_EQ(v.list, B->id);
		ASSERT_EQ(v.action, cases[i].action);
	}
	policy_of(&flip_open, everyone, 2);
	flip_open.kern.mode = IPG_MODE_REJECT;
	policy_of(&flip_shut, NULL, 0);
	ipg_policy_set_port(&flip_shut, IPPROTO_TCP, 80, true);
	fl.id = A->id;
	start = test_now_s();
	ASSERT_OK(test_flipper_start(&fl));
	while (test_flipper_running(&fl)) {
		const struct frame *f = &cases[runs % 6].f;
		int action;

		if (ipg_datapath_run_frame(dp, f->start, f->b, f->len, true,
					   &action, NULL, NULL))
			break;
		wrong += action != cases[runs % 6].action;
		runs++;
		test_flipper_packet(&fl);
		if (!(runs & 255) && test_now_s() - start > FLIP_CAP_S) {
			capped = 1;
			break;
		}
	}
	flips = test_flipper_stop(&fl);
	printf("# %ld flips of A in %.1f s%s, %ld packets to B, %ld judged "
	       "otherwise\n",
	       flips, test_now_s() - start, capped ? " (time cap)" : "", runs,
	       wrong);
	ASSERT_EQ(wrong, 0);
	ASSERT_TRUE(runs > 0);
	ASSERT_TRUE(flips > 0);
	/* The flipper's last policy is A's now. */
	A->pol = flips % 2 ? flip_open : flip_shut;
	struct frame a = to(OUTSIDER4, A4, IPPROTO_TCP, 80);

	if (flips % 2)
		PASSED(a, A->id, IPG_STAT_PASS_UNPROTECTED);
	else
		DENIED(a, A->id);
}

/* ---- sizes ---- */

TEST(test_list_past_the_maps_size_refused_naming_it)
{
	struct ipg_datapath_opts o = { .lists_max = 64 }, sz;
	struct ipg_error e = { { 0 } };
	struct ipg_datapath *d = NULL;
	uint32_t id, ids[64];
	char name[32];
	int r = 0;

	ASSERT_OK(ipg_datapath_open(&d, &o, &e));
	ipg_datapath_sizes(d, &sz);
	if (sz.lists_max != 64) {
		ipg_datapath_close(d);
		FAIL("lists_max %u, expected 64", sz.lists_max);
	}
	/* The default list and 63 named ones fill 64 ids. */
	for (int i = 1; i < 64 && !r; i++) {
		snprintf(name, sizeof(name), "customer-%d", i);
		r = ipg_datapath_list_open(d, name, &id, &e);
	}
	if (r) {
		ipg_datapath_close(d);
		FAIL("opening list %s: %s", name, e.msg);
	}
	e.msg[0] = '\0';
	r = ipg_datapath_list_open(d, "one-too-many", &id, &e);
	int n = ipg_datapath_list_ids(d, ids, 64);
	/* An existing name still answers with its id. */
	int r2 = ipg_datapath_list_open(d, "customer-7", &id, NULL);

	ipg_datapath_close(d);
	ASSERT_EQ(r, -ENOSPC);
	if (!strstr(e.msg, "one-too-many"))
		FAIL("the message does not name the list: %s", e.msg);
	ASSERT_EQ(n, 64);
	ASSERT_OK(r2);
	ASSERT_EQ(id, 7);
}

/* ---- setup ---- */

static int setup(void)
{
	if (test_datapath_open(&dp, "test_lists"))
		return -1;
	if (ipg_addr_parse(HOST4, &local[0], NULL) ||
	    ipg_addr_parse(HOST6, &local[1], NULL) ||
	    ipg_datapath_set_local_addrs(dp, local, 2)) {
		fprintf(stderr, "test_lists: cannot set local addresses\n");
		return -1;
	}
	return 0;
}

static void teardown(void)
{
	ipg_datapath_close(dp);
}

int main(int argc, char **argv)
{
	return harness_main("bpf/lists", argc, argv, setup, teardown);
}
