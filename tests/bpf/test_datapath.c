// SPDX-License-Identifier: GPL-2.0
/* The XDP program, run with BPF_PROG_TEST_RUN: each case builds a frame,
 * runs it, and checks the action, the one counter that moved, the rule hit,
 * and that the reference model agrees. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "datapath.h"
#include "harness.h"
#include "ipgate/blocked.h"
#include "testbpf.h"
#include "testpkt.h"
#include "verdict.h"

static struct ipg_datapath *dp;
static struct ipg_policy_spec pol;
static int override_on;
/* Live break-glass grants, as the model sees them. */
static struct ipg_prefix grants[4];
static size_t n_grants;
/* This host's addresses, in the program's map and the model's view. */
static struct ipg_prefix local[4];
static size_t n_local;

static void set_local(const char *const *addrs, size_t n)
{
	n_local = 0;
	for (size_t i = 0; i < n; i++)
		if (ipg_addr_parse(addrs[i], &local[n_local++], NULL))
			FAIL("bad address %s", addrs[i]);
	ASSERT_OK(ipg_datapath_set_local_addrs(dp, local, n_local));
}

static void local_standard(void)
{
	static const char *const host[] = { HOST4, HOST6 };

	CHECK(set_local(host, 2));
}

/* What the model needs besides the policy to judge @f. */
static struct ipg_verdict_env env_for(const struct frame *f)
{
	return (struct ipg_verdict_env){ .override_active = override_on,
					 .grants = grants,
					 .n_grants = n_grants,
					 .local = local,
					 .n_local = n_local,
					 .frame = f->start,
					 .now = (int64_t)time(NULL) };
}

static void apply(void)
{
	struct ipg_error e = { { 0 } };

	if (ipg_datapath_apply(dp, &pol, &e))
		FAIL("apply: %s", e.msg);
	if (ipg_datapath_set_override(
		    dp,
		    override_on ? ipg_boot_ns() + 3600ull * 1000000000ull : 0))
		FAIL("set override");
}

static void local_standard(void);

static void standard(void)
{
	override_on = 0;
	policy_standard(&pol);
	CHECK(apply());
	CHECK(local_standard());
}

static int entry_of(const char *cidr)
{
	struct ipg_prefix p;

	if (ipg_prefix_parse(cidr, &p, NULL))
		return -2;
	return ipg_policy_find(&pol, &p);
}

static void hexdump(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%02x%s", b[i], (i + 1) % 32 ? "" : "\n");
	fputc('\n', stderr);
}

/* Runs @f and checks: the action, that counter @stat and nothing else moved
 * by one, that entry @entry (-1: none) got the hit, and the model agrees. */
static void expect_at(const char *file, int line, const struct frame *f,
		      int action, enum ipg_stat stat, int entry)
{
	uint64_t before[IPG_STAT_MAX], after[IPG_STAT_MAX], hb = 0, ha = 0;
	struct ipg_verdict_env env = env_for(f);
	struct ipg_verdict v;
	int got;

	if (ipg_datapath_stats(dp, before))
		return harness_fail(file, line, "reading stats");
	if (entry >= 0)
		ipg_datapath_rule_hits(dp, pol.entries[entry].rule_id, &hb);
	if (ipg_datapath_run_frame(dp, f->start, f->b, f->len, false, &got,
				   NULL, NULL))
		return harness_fail(file, line, "test run failed");
	ipg_datapath_stats(dp, after);
	if (entry >= 0)
		ipg_datapath_rule_hits(dp, pol.entries[entry].rule_id, &ha);
	ipg_verdict_eval(&pol, &env, f->b, f->len, &v);

	if (got != action) {
		hexdump(f->b, f->len);
		return harness_fail(file, line, "action: expected %s, got %s",
				    ipg_action_name(action),
				    ipg_action_name(got));
	}
	for (int i = 0; i < IPG_STAT_MAX; i++) {
		uint64_t want = i == (int)stat ? 1 : 0;

		if (after[i] - before[i] != want)
			return harness_fail(
				file, line,
				"counter %s moved by %llu, expected "
				"%llu (expected %s to move)",
				ipg_stat_name(i),
				(unsigned long long)(after[i] - before[i]),
				(unsigned long long)want, ipg_stat_name(stat));
	}
	if (entry >= 0 && ha - hb != 1)
		return harness_fail(file, line,
				    "rule hit of entry %d moved by %llu", entry,
				    (unsigned long long)(ha - hb));
	if (v.action != got || v.stat != stat || v.entry != entry) {
		hexdump(f->b, f->len);
		return harness_fail(
			file, line,
			"model disagrees: %s/%s/entry %d vs %s/%s/entry %d",
			ipg_action_name(v.action), ipg_stat_name(v.stat),
			v.entry, ipg_action_name(got), ipg_stat_name(stat),
			entry);
	}
}

#define EXPECT(f, action, stat, entry) \
	CHECK(expect_at(__FILE__, __LINE__, &(f), action, stat, entry))
#define EXPECT_DROP(f) EXPECT(f, XDP_DROP, IPG_STAT_DROP_DENIED, -1)
#define EXPECT_MALFORMED(f) EXPECT(f, XDP_DROP, IPG_STAT_DROP_MALFORMED, -1)
#define EXPECT_ALLOW(f, cidr) \
	EXPECT(f, XDP_PASS, IPG_STAT_PASS_ALLOWED, entry_of(cidr))
#define EXPECT_UNPROTECTED(f) EXPECT(f, XDP_PASS, IPG_STAT_PASS_UNPROTECTED, -1)
#define EXPECT_FRAGMENT(f) EXPECT(f, XDP_PASS, IPG_STAT_PASS_FRAGMENT, -1)

/* ---- the basic matrix ---- */

struct matrix_case {
	const char *src;
	const char *entry; /* allowing entry, or NULL */
};

static const struct matrix_case matrix[] = {
	{ "203.0.113.45", "203.0.113.0/24" },
	{ "203.0.113.0", "203.0.113.0/24" },
	{ "203.0.113.255", "203.0.113.0/24" },
	{ "203.0.112.255", NULL },
	{ "198.51.100.7", "198.51.100.7" },
	{ "198.51.100.8", NULL },
	{ "192.0.2.5", "192.0.2.0/24" },
	{ "192.0.2.201", "192.0.2.128/25" },
	{ "192.0.2.200", "192.0.2.200" },
	{ OUTSIDER4, NULL },
	{ "2001:db8:1::5", "2001:db8:1::/48" },
	{ "2001:db8:1:ffff:ffff:ffff:ffff:ffff", "2001:db8:1::/48" },
	{ "2001:db8:0:ffff::1", NULL },
	{ "2001:db8:2::1", "2001:db8:2::1" },
	{ "2001:db8:2::2", NULL },
	{ "2001:db8:3:4::99", "2001:db8:3:4::/64" },
	{ "2001:db8:3:5::99", NULL },
	{ OUTSIDER6, NULL },
};

TEST(test_matrix_sources_protocols_ports)
{
	static const int protos[] = { IPPROTO_TCP, IPPROTO_UDP };

	CHECK(standard());
	for (size_t i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++) {
		for (int p = 0; p < 2; p++) {
			struct frame prot =
				pkt_v4(matrix[i].src, protos[p], 443);
			struct frame open =
				pkt_v4(matrix[i].src, protos[p], 80);

			if (matrix[i].entry)
				EXPECT_ALLOW(prot, matrix[i].entry);
			else
				EXPECT_DROP(prot);
			EXPECT_UNPROTECTED(open);
		}
		/* tcp/8443 is protected, udp/8443 is not. */
		struct frame t = pkt_v4(matrix[i].src, IPPROTO_TCP, 8443);
		struct frame u = pkt_v4(matrix[i].src, IPPROTO_UDP, 8443);

		if (matrix[i].entry)
			EXPECT_ALLOW(t, matrix[i].entry);
		else
			EXPECT_DROP(t);
		EXPECT_UNPROTECTED(u);
	}
}

TEST(test_zero_length_prefixes_allow_everyone_of_their_family)
{
	policy_standard(&pol);
	policy_allow(&pol, "0.0.0.0/0");
	CHECK(apply());
	struct frame a = pkt_v4(OUTSIDER4, IPPROTO_TCP, 443);
	struct frame b = pkt_v6(OUTSIDER6, IPPROTO_TCP, 443);
	struct frame c = pkt_v4("203.0.113.9", IPPROTO_TCP, 443);

	EXPECT_ALLOW(a, "0.0.0.0/0");
	EXPECT_DROP(b);
	EXPECT_ALLOW(c, "203.0.113.0/24");
	policy_allow(&pol, "::/0");
	CHECK(apply());
	EXPECT_ALLOW(b, "::/0");
}

TEST(test_non_ip_and_other_protocols_pass)
{
	CHECK(standard());
	struct frame arp = pkt_v4(OUTSIDER4, IPPROTO_TCP, 443);
	struct frame icmp = pkt_v4(OUTSIDER4, IPPROTO_ICMP, 0);
	struct frame icmp6 = pkt_v6(OUTSIDER6, IPPROTO_ICMPV6, 0);

	/* Frames under 14 bytes never reach XDP: the kernel refuses them. */
	arp.b[12] = 0x08;
	arp.b[13] = 0x06;
	EXPECT(arp, XDP_PASS, IPG_STAT_PASS_NON_IP, -1);
	EXPECT_UNPROTECTED(icmp);
	EXPECT_UNPROTECTED(icmp6);
}

/* ---- VLAN ---- */

TEST(test_vlan_single_tag_each_type)
{
	static const uint16_t tpids[] = { 0x8100, 0x88a8 };

	CHECK(standard());
	for (int i = 0; i < 2; i++) {
		struct ipg_pkt_spec o = with_vlan(
			pkt_spec(OUTSIDER4, IPPROTO_TCP, 443), tpids[i]);
		struct ipg_pkt_spec a = with_vlan(
			pkt_spec("203.0.113.45", IPPROTO_TCP, 443), tpids[i]);
		struct ipg_pkt_spec u = with_vlan(
			pkt_spec(OUTSIDER6, IPPROTO_UDP, 53), tpids[i]);
		struct frame fo = pkt_build(&o), fa = pkt_build(&a),
			     fu = pkt_build(&u);

		EXPECT_DROP(fo);
		EXPECT_ALLOW(fa, "203.0.113.0/24");
		EXPECT_UNPROTECTED(fu);
	}
}

TEST(test_vlan_qinq_outsider_dropped_member_allowed)
{
	static const uint16_t outer[] = { 0x88a8, 0x8100 };

	CHECK(standard());
	for (int i = 0; i < 2; i++) {
		struct ipg_pkt_spec o = with_vlan(
			with_vlan(pkt_spec(OUTSIDER4, IPPROTO_TCP, 443),
				  0x8100),
			outer[i]);
		struct ipg_pkt_spec o6 = with_vlan(
			with_vlan(pkt_spec(OUTSIDER6, IPPROTO_TCP, 8443),
				  0x8100),
			outer[i]);
		struct ipg_pkt_spec a6 = with_vlan(
			with_vlan(pkt_spec("2001:db8:1::7", IPPROTO_UDP, 443),
				  0x8100),
			outer[i]);
		struct frame fo = pkt_build(&o), fo6 = pkt_build(&o6),
			     fa6 = pkt_build(&a6);

		EXPECT_DROP(fo);
		EXPECT_DROP(fo6);
		EXPECT_ALLOW(fa6, "2001:db8:1::/48");
	}
}

/* @s with @n tags, alternating 802.1ad and 802.1Q, 802.1Q innermost. */
static struct ipg_pkt_spec tagged(struct ipg_pkt_spec s, int n)
{
	for (int i = 0; i < n; i++)
		s = with_vlan(s, i % 2 ? 0x88a8 : 0x8100);
	return s;
}

TEST(test_vlan_stacked_tags_judged_by_ports_up_to_the_bound)
{
	CHECK(standard());
	for (int n = 3; n <= IPG_VLAN_MAX; n++) {
		struct ipg_pkt_spec u =
			tagged(pkt_spec(OUTSIDER4, IPPROTO_UDP, 53), n);
		struct ipg_pkt_spec o =
			tagged(pkt_spec(OUTSIDER6, IPPROTO_TCP, 443), n);
		struct ipg_pkt_spec a =
			tagged(pkt_spec("203.0.113.45", IPPROTO_TCP, 443), n);
		struct frame fu = pkt_build(&u), fo = pkt_build(&o),
			     fa = pkt_build(&a);

		EXPECT_UNPROTECTED(fu);
		EXPECT_DROP(fo);
		EXPECT_ALLOW(fa, "203.0.113.0/24");
	}
}

TEST(test_vlan_tagged_arp_passes_at_every_depth)
{
	CHECK(standard());
	for (int n = 0; n <= IPG_VLAN_MAX; n++) {
		struct ipg_pkt_spec s =
			tagged(pkt_spec(OUTSIDER4, IPPROTO_TCP, 443), n);
		struct frame f = pkt_build(&s);

		/* The innermost type is ARP: it cannot reach a port. */
		f.b[12 + 4 * n] = 0x08;
		f.b[13 + 4 * n] = 0x06;
		EXPECT(f, XDP_PASS, IPG_STAT_PASS_NON_IP, -1);
	}
}

TEST(test_vlan_beyond_the_bound_unparseable_dropped)
{
	CHECK(standard());
	struct ipg_pkt_spec s = tagged(
		pkt_spec("203.0.113.45", IPPROTO_UDP, 53), IPG_VLAN_MAX + 1);
	struct frame f = pkt_build(&s);

	/* Even an unprotected port from an allowed source: the parser
	 * cannot see past the tags, so nothing is known. */
	EXPECT_MALFORMED(f);
	pol.kern.enabled = 0;
	CHECK(apply());
	EXPECT(f, XDP_PASS, IPG_STAT_PASS_DISABLED, -1);
}

TEST(test_vlan_tag_truncated_dropped)
{
	CHECK(standard());
	struct ipg_pkt_spec s =
		with_vlan(pkt_spec(OUTSIDER4, IPPROTO_TCP, 443), 0x8100);
	struct frame f = pkt_build(&s);

	f.len = 16;
	EXPECT_MALFORMED(f);
}

/* A frame the parser could not read up to its source address has no
 * source: no entry allows it, not even 0.0.0.0/0 or ::/0 (either alone
 * or both), through either entry point. */
TEST(test_zero_length_prefixes_never_pass_a_frame_without_a_source)
{
	for (int z = 0; z < 3; z++) {
		/* z: 0.0.0.0/0 only, ::/0 only, both */
		override_on = 0;
		policy_standard(&pol);
		if (z != 1)
			policy_allow(&pol, "0.0.0.0/0");
		if (z != 0)
			policy_allow(&pol, "::/0");
		CHECK(apply());
		CHECK(local_standard());
		for (int fam = 4; fam <= 6; fam += 2) {
			const char *out = fam == 4 ? OUTSIDER4 : OUTSIDER6;
			const char *all = fam == 4 ? "0.0.0.0/0" : "::/0";
			size_t iplen = fam == 4 ? 20 : 40;
			struct ipg_pkt_spec deep =
				tagged(pkt_spec(out, IPPROTO_TCP, 443),
				       IPG_VLAN_MAX + 1);
			struct ipg_pkt_spec one = with_vlan(
				pkt_spec(out, IPPROTO_UDP, 53), 0x8100);
			struct frame fd = pkt_build(&deep),
				     ft = pkt_build(&one),
				     fe = pkt_v4(out, IPPROTO_TCP, 443),
				     fi = pkt_ip(out, IPPROTO_TCP, 443);
			struct frame full = fe;

			/* More tags than the bound. */
			EXPECT_MALFORMED(fd);
			/* Cut inside a tag. */
			ft.len = 16;
			EXPECT_MALFORMED(ft);
			/* Cut one byte short of the fixed IP header, after an
			 * Ethernet header and without one. */
			fe.len = 14 + iplen - 1;
			EXPECT_MALFORMED(fe);
			fi.len = iplen - 1;
			EXPECT_MALFORMED(fi);
			/* Whole, the same outsider is judged by its source. */
			if ((fam == 4 && z != 1) || (fam == 6 && z != 0))
				EXPECT_ALLOW(full, all);
			else
				EXPECT_DROP(full);
		}
		/* A bad header length after the source was read: the source
		 * judges it, as for any unparseable frame. */
		struct frame ihl = pkt_v4(OUTSIDER4, IPPROTO_TCP, 443);

		ihl.b[14] = 0x44;
		if (z != 1)
			EXPECT_ALLOW(ihl, "0.0.0.0/0");
		else
			EXPECT_MALFORMED(ihl);
	}
}

/* ---- IPv4 header ---- */

TEST(test_ipv4_options_ihl6_and_ihl15)
{
	static const int optlen[] = { 4, 40 };

	CHECK(standard());
	for (int i = 0; i < 2; i++) {
		struct ipg_pkt_spec o = pkt_spec(OUTSIDER4, IPPROTO_TCP, 443);
		struct ipg_pkt_spec a =
			pkt_spec("198.51.100.7", IPPROTO_UDP, 443);
		struct ipg_pkt_spec u = pkt_spec(OUTSIDER4, IPPROTO_TCP, 22);

		o.ip4_optlen = a.ip4_optlen = u.ip4_optlen = optlen[i];
		struct frame fo = pkt_build(&o), fa = pkt_build(&a),
			     fu = pkt_build(&u);

		EXPECT_DROP(fo);
		EXPECT_ALLOW(fa, "198.51.100.7");
		EXPECT_UNPROTECTED(fu);
	}
}

TEST(test_ipv4_ihl4_unparseable)
{
	CHECK(standard());
	struct frame o = pkt_v4(OUTSIDER4, IPPROTO_TCP, 80);
	struct frame a = pkt_v4("198.51.100.7", IPPROTO_TCP, 80);

	o.b[14] = 0x44;
	a.b[14] = 0x44;
	EXPECT_MALFORMED(o);
	/* Judged as possibly protected: only an allowlisted source passes. */
	EXPECT_ALLOW(a, "198.51.100.7");
}

TEST(test_ipv4_version_mismatch_unparseable)
{
	CHECK(standard());
	struct frame o = pkt_v4(OUTSIDER4, IPPROTO_TCP, 80);

	o.b[14] = 0x65;
	EXPECT_MALFORMED(o);
}

TEST(test_ipv4_total_length_lies)
{
	CHECK(standard());
	struct frame f = pkt_v4(OUTSIDER4, IPPROTO_UDP, 53);

	/* Longer than the frame. */
	f.b[16] = 0x05;
	f.b[17] = 0xdc;
	EXPECT_MALFORMED(f);
	/* Shorter than the header. */
	f.b[16] = 0;
	f.b[17] = 19;
	EXPECT_MALFORMED(f);
	/* Ends before the ports: the bytes after it are not the datagram. */
	f.b[17] = 22;
	EXPECT_MALFORMED(f);
	/* Shorter than the frame (Ethernet padding): judged by its ports. */
	f = pkt_v4(OUTSIDER4, IPPROTO_UDP, 53);
	f.b[17] -= 4;
	EXPECT_UNPROTECTED(f);
	f = pkt_v4(OUTSIDER4, IPPROTO_UDP, 443);
	f.b[17] -= 4;
	EXPECT_DROP(f);
}

/* BIG TCP's GRO hands generic XDP IPv4 packets with a total length of 0:
 * the frame's end is the datagram's end, and the ports judge it. */
TEST(test_ipv4_total_length_zero_judged_by_ports)
{
	CHECK(standard());
	struct ipg_pkt_spec tagged =
		with_vlan(pkt_spec(OUTSIDER4, IPPROTO_UDP, 53), 0x8100);
	struct ipg_pkt_spec opts = pkt_spec("198.51.100.7", IPPROTO_TCP, 443);
	struct frame u = pkt_v4(OUTSIDER4, IPPROTO_TCP, 80);
	struct frame o = pkt_v4(OUTSIDER4, IPPROTO_TCP, 443);
	struct frame a = pkt_v4("203.0.113.45", IPPROTO_UDP, 443);
	struct frame ut, ao, ip = pkt_ip(OUTSIDER4, IPPROTO_TCP, 22);
	struct frame ipo = pkt_ip(OUTSIDER4, IPPROTO_TCP, 443);

	opts.ip4_optlen = 12;
	ut = pkt_build(&tagged);
	ao = pkt_build(&opts);
	u.b[16] = u.b[17] = 0;
	o.b[16] = o.b[17] = 0;
	a.b[16] = a.b[17] = 0;
	ut.b[20] = ut.b[21] = 0;
	ao.b[16] = ao.b[17] = 0;
	ip.b[2] = ip.b[3] = 0;
	ipo.b[2] = ipo.b[3] = 0;
	EXPECT_UNPROTECTED(u);
	EXPECT_UNPROTECTED(ut);
	EXPECT_UNPROTECTED(ip);
	/* Never a way past the filter: a protected port still needs an
	 * allowlisted source. */
	EXPECT_DROP(o);
	EXPECT_DROP(ipo);
	EXPECT_ALLOW(a, "203.0.113.0/24");
	EXPECT_ALLOW(ao, "198.51.100.7");
	/* The frame ends before the ports: unparseable, as ever. */
	u.len = 14 + 20 + 2;
	EXPECT_MALFORMED(u);
	/* A bad header length is still bad. */
	o = pkt_v4(OUTSIDER4, IPPROTO_TCP, 80);
	o.b[14] = 0x44;
	o.b[16] = o.b[17] = 0;
	EXPECT_MALFORMED(o);
}

/* Cutting a frame anywhere gives the verdict of the model, and every cut
 * inside the headers of a frame to a protected port is dropped. */
static void truncate_all(struct frame full, size_t headers)
{
	for (size_t n = 14; n <= full.len; n++) {
		struct frame f = full;
		struct ipg_verdict v;

		struct ipg_verdict_env env = env_for(&f);

		f.len = n;
		ipg_verdict_eval(&pol, &env, f.b, f.len, &v);
		if (n < headers) {
			EXPECT_MALFORMED(f);
		} else {
			EXPECT(f, v.action, v.stat, v.entry);
		}
	}
}

TEST(test_truncated_at_every_header_boundary)
{
	CHECK(standard());
	struct ipg_pkt_spec s4 =
		with_vlan(pkt_spec(OUTSIDER4, IPPROTO_TCP, 443), 0x8100);
	struct ipg_pkt_spec s6 = with_ext_hdr(
		pkt_spec(OUTSIDER6, IPPROTO_UDP, 443), IPPROTO_DSTOPTS);

	s4.ip4_optlen = 8;
	/* Ports end at 18 + 28 + 4; for IPv6 at 14 + 40 + 8 + 4. */
	CHECK(truncate_all(pkt_build(&s4), 18 + 28 + 4));
	CHECK(truncate_all(pkt_build(&s6), 14 + 40 + 8 + 4));
}

/* ---- IPv6 extension headers ---- */

TEST(test_ipv6_one_three_and_bound_extension_headers)
{
	static const uint8_t chain[] = { IPPROTO_HOPOPTS,
					 IPPROTO_DSTOPTS,
					 IPPROTO_ROUTING,
					 IPPROTO_AH,
					 135,
					 IPPROTO_DSTOPTS,
					 IPPROTO_AH,
					 IPPROTO_DSTOPTS,
					 IPPROTO_DSTOPTS };

	CHECK(standard());
	for (int n = 1; n <= IPG_EXTHDR_MAX + 1; n++) {
		struct ipg_pkt_spec o = pkt_spec(OUTSIDER6, IPPROTO_TCP, 443);
		struct ipg_pkt_spec a =
			pkt_spec("2001:db8:2::1", IPPROTO_TCP, 443);
		struct ipg_pkt_spec u = pkt_spec(OUTSIDER6, IPPROTO_TCP, 80);

		for (int i = 0; i < n; i++) {
			o = with_ext_hdr(o, chain[i]);
			a = with_ext_hdr(a, chain[i]);
			u = with_ext_hdr(u, chain[i]);
		}
		struct frame fo = pkt_build(&o), fa = pkt_build(&a),
			     fu = pkt_build(&u);

		if (n <= IPG_EXTHDR_MAX) {
			EXPECT_DROP(fo);
			EXPECT_UNPROTECTED(fu);
		} else {
			/* Longer than the bound: possibly protected. */
			EXPECT_MALFORMED(fo);
			EXPECT_MALFORMED(fu);
		}
		EXPECT_ALLOW(fa, "2001:db8:2::1");
	}
}

TEST(test_ipv6_fragment_header_first_routing_and_ah)
{
	CHECK(standard());
	struct ipg_pkt_spec fr =
		with_fragment(pkt_spec(OUTSIDER6, IPPROTO_UDP, 443), 0, 1);
	struct ipg_pkt_spec rt = with_ext_hdr(
		pkt_spec(OUTSIDER6, IPPROTO_TCP, 8443), IPPROTO_ROUTING);
	struct ipg_pkt_spec ah =
		with_ext_hdr(pkt_spec(OUTSIDER6, IPPROTO_TCP, 443), IPPROTO_AH);
	struct ipg_pkt_spec ahu =
		with_ext_hdr(pkt_spec(OUTSIDER6, IPPROTO_TCP, 444), IPPROTO_AH);
	struct frame f1 = pkt_build(&fr), f2 = pkt_build(&rt),
		     f3 = pkt_build(&ah), f4 = pkt_build(&ahu);

	EXPECT_DROP(f1);
	EXPECT_DROP(f2);
	EXPECT_DROP(f3);
	EXPECT_UNPROTECTED(f4);
}

TEST(test_ipv6_chain_truncated_mid_header)
{
	CHECK(standard());
	struct ipg_pkt_spec s =
		with_ext_hdr(with_ext_hdr(pkt_spec(OUTSIDER6, IPPROTO_UDP, 53),
					  IPPROTO_HOPOPTS),
			     IPPROTO_AH);
	struct frame f = pkt_build(&s);

	/* Inside the AH header (at 14 + 40 + 8 .. + 16). */
	f.len = 14 + 40 + 8 + 10;
	f.b[18] = 0;
	f.b[19] = 8 + 10;
	EXPECT_MALFORMED(f);
	/* A header whose length runs past the payload length. */
	f = pkt_build(&s);
	f.b[14 + 40 + 1] = 200;
	EXPECT_MALFORMED(f);
}

TEST(test_ipv4_ah_walked)
{
	CHECK(standard());
	struct frame f = pkt_v4(OUTSIDER4, IPPROTO_AH, 0);

	/* Hand-made AH (4 words) in front of a TCP header to 443. */
	struct ipg_pkt_spec s = pkt_spec(OUTSIDER4, IPPROTO_TCP, 443);

	s.payload_len = 0;
	struct frame t = pkt_build(&s);
	size_t l4 = 14 + 20;

	memcpy(f.b, t.b, l4);
	f.b[14 + 9] = IPPROTO_AH;
	memset(f.b + l4, 0, 16);
	f.b[l4] = IPPROTO_TCP;
	f.b[l4 + 1] = 2;
	memcpy(f.b + l4 + 16, t.b + l4, 20);
	f.len = l4 + 36;
	f.b[16] = 0;
	f.b[17] = 56;
	EXPECT_DROP(f);
	f.b[l4 + 16 + 3] = 80;
	EXPECT_UNPROTECTED(f);
}

/* ---- fragments ---- */

TEST(test_fragments_first_judged_by_ports_later_pass)
{
	CHECK(standard());
	for (int fam = 4; fam <= 6; fam += 2) {
		const char *out = fam == 4 ? OUTSIDER4 : OUTSIDER6;
		const char *in = fam == 4 ? "203.0.113.77" : "2001:db8:1::77";
		const char *entry = fam == 4 ? "203.0.113.0/24" :
					       "2001:db8:1::/48";
		struct ipg_pkt_spec first = pkt_spec(out, IPPROTO_UDP, 443);
		struct ipg_pkt_spec firstu = pkt_spec(out, IPPROTO_UDP, 53);
		struct ipg_pkt_spec firsta = pkt_spec(in, IPPROTO_UDP, 443);
		struct ipg_pkt_spec later = pkt_spec(out, IPPROTO_UDP, 443);

		first.fragment = firstu.fragment = firsta.fragment =
			later.fragment = 1;
		first.more_frags = firstu.more_frags = firsta.more_frags = 1;
		later.frag_off = 2; /* payload here "looks like" port 443 */
		struct frame f1 = pkt_build(&first), f2 = pkt_build(&firstu);
		struct frame f3 = pkt_build(&firsta), f4 = pkt_build(&later);

		EXPECT_DROP(f1);
		EXPECT_UNPROTECTED(f2);
		EXPECT_ALLOW(f3, entry);
		EXPECT_FRAGMENT(f4);
	}
}

TEST(test_first_fragment_cut_before_ports_unparseable)
{
	CHECK(standard());
	struct ipg_pkt_spec s4 = pkt_spec(OUTSIDER4, IPPROTO_TCP, 80);
	struct ipg_pkt_spec s6 =
		with_fragment(pkt_spec(OUTSIDER6, IPPROTO_TCP, 80), 0, 1);

	s4.more_frags = 1;
	s4.payload_len = 0;
	s6.payload_len = 0;
	struct frame f4 = pkt_build(&s4), f6 = pkt_build(&s6);

	/* The datagram ends two bytes into the TCP header. */
	f4.len = 14 + 20 + 2;
	f4.b[17] = 22;
	EXPECT_MALFORMED(f4);
	f6.len = 14 + 40 + 8 + 2;
	f6.b[18] = 0;
	f6.b[19] = 10;
	EXPECT_MALFORMED(f6);
}

/* ---- policy states ---- */

TEST(test_ipv4_mapped_ipv6_source_uses_ipv4_entries)
{
	CHECK(standard());
	struct frame a = pkt_v6("::ffff:203.0.113.45", IPPROTO_TCP, 443);
	struct frame o = pkt_v6("::ffff:198.18.0.66", IPPROTO_TCP, 443);

	EXPECT_ALLOW(a, "203.0.113.0/24");
	EXPECT_DROP(o);
}

TEST(test_disabled_list_passes_protected_traffic)
{
	CHECK(standard());
	pol.kern.enabled = 0;
	CHECK(apply());
	struct frame o = pkt_v4(OUTSIDER4, IPPROTO_TCP, 443);
	struct frame u = pkt_v4(OUTSIDER4, IPPROTO_TCP, 80);

	EXPECT(o, XDP_PASS, IPG_STAT_PASS_DISABLED, -1);
	EXPECT_UNPROTECTED(u);
}

TEST(test_shadow_mode_passes_what_it_would_drop_and_counts_it)
{
	CHECK(standard());
	pol.kern.mode = IPG_MODE_SHADOW;
	CHECK(apply());
	struct frame o = pkt_v4(OUTSIDER4, IPPROTO_TCP, 443);
	struct frame o6 = pkt_v6(OUTSIDER6, IPPROTO_UDP, 443);
	struct frame a = pkt_v4("203.0.113.1", IPPROTO_TCP, 443);
	struct frame u = pkt_v4(OUTSIDER4, IPPROTO_TCP, 80);

	EXPECT(o, XDP_PASS, IPG_STAT_PASS_SHADOW, -1);
	EXPECT(o6, XDP_PASS, IPG_STAT_PASS_SHADOW, -1);
	/* An allowed source is counted as allowed, not as shadow. */
	EXPECT_ALLOW(a, "203.0.113.0/24");
	EXPECT_UNPROTECTED(u);
	/* Back to drop: the same packet is dropped. */
	pol.kern.mode = IPG_MODE_DROP;
	CHECK(apply());
	EXPECT_DROP(o);
}

/* A jumbo frame (a UDP datagram of @payload bytes) run through the
 * program: the action, and the counter that moved (or -1). The frame is
 * larger than a page, so the test run hands it over in several buffers,
 * as a driver does at MTU 9000. */
static int run_jumbo(const char *src, uint16_t dport, uint16_t payload,
		     int *action)
{
	static uint8_t buf[9216];
	struct ipg_pkt_spec spec = pkt_spec(src, IPPROTO_UDP, dport);
	uint64_t before[IPG_STAT_MAX], after[IPG_STAT_MAX];
	size_t len;
	int moved = -1;

	spec.payload_len = payload;
	len = ipg_pkt_build(&spec, buf, sizeof(buf));
	if (!len || ipg_datapath_stats(dp, before) ||
	    ipg_datapath_run_frame(dp, IPG_FRAME_ETH, buf, len, false, action,
				   NULL, NULL) ||
	    ipg_datapath_stats(dp, after))
		return -2;
	for (int i = 0; i < IPG_STAT_MAX; i++)
		if (after[i] != before[i])
			moved = moved == -1 ? i : -3;
	return moved;
}

TEST(test_jumbo_frames_in_several_buffers_are_judged_by_their_headers)
{
	int action;

	CHECK(standard());
	ipg_policy_set_port(&pol, IPPROTO_UDP, 443, true);
	CHECK(apply());
	ASSERT_EQ(run_jumbo(OUTSIDER4, 443, 8000, &action),
		  IPG_STAT_DROP_DENIED);
	ASSERT_EQ(action, XDP_DROP);
	ASSERT_EQ(run_jumbo(OUTSIDER4, 80, 8000, &action),
		  IPG_STAT_PASS_UNPROTECTED);
	ASSERT_EQ(action, XDP_PASS);
	ASSERT_EQ(run_jumbo("203.0.113.1", 443, 8000, &action),
		  IPG_STAT_PASS_ALLOWED);
	ASSERT_EQ(action, XDP_PASS);
	/* IPv6 too. */
	ASSERT_EQ(run_jumbo(OUTSIDER6, 443, 8000, &action),
		  IPG_STAT_DROP_DENIED);
	ASSERT_EQ(run_jumbo(OUTSIDER6, 80, 8000, &action),
		  IPG_STAT_PASS_UNPROTECTED);
}

/* The blocked-source reports waiting in the ring buffer. */
struct reports {
	int n, shadow;
	struct ipg_blocked_event last;
};

static int on_report(void *ctx, void *data, size_t len)
{
	struct reports *r = ctx;

	if (len == sizeof(r->last)) {
		memcpy(&r->last, data, len);
		r->n++;
		r->shadow += r->last.shadow;
	}
	return 0;
}

static struct reports drain(void)
{
	struct reports r = { 0 };
	struct ring_buffer *rb = ring_buffer__new(ipg_datapath_blocked_fd(dp),
						  on_report, &r, NULL);

	if (rb) {
		ring_buffer__consume(rb);
		ring_buffer__free(rb);
	}
	return r;
}

TEST(test_blocked_sources_are_reported_within_the_budget)
{
	struct frame o = pkt_v4(OUTSIDER4, IPPROTO_TCP, 443);
	struct frame a = pkt_v4("203.0.113.1", IPPROTO_TCP, 443);
	struct reports r;
	int action;

	CHECK(standard());
	CHECK(apply());
	drain();
	ASSERT_OK(ipg_datapath_set_blocked_budget(dp, 0));
	EXPECT_DROP(o);
	ASSERT_EQ(drain().n, 0); /* off */
	ASSERT_OK(ipg_datapath_set_blocked_budget(dp, 3));
	EXPECT_DROP(o);
	EXPECT_ALLOW(a, "203.0.113.0/24");
	r = drain();
	ASSERT_EQ(r.n, 1);
	ASSERT_EQ(r.last.family, 4);
	ASSERT_EQ(r.last.dport, 443);
	ASSERT_EQ(r.last.proto, IPPROTO_TCP);
	ASSERT_EQ(r.last.list, IPG_LIST_DEFAULT);
	ASSERT_EQ(r.last.shadow, 0);
	/* A probe is never reported. */
	ASSERT_OK(ipg_datapath_run(dp, o.b, o.len, true, &action, NULL, NULL));
	ASSERT_EQ(action, XDP_DROP);
	ASSERT_EQ(drain().n, 0);
	/* A flood: at most the budget a second (3, of which 1 is spent). */
	for (int i = 0; i < 200; i++)
		ipg_datapath_run(dp, o.b, o.len, false, &action, NULL, NULL);
	ASSERT_EQ(drain().n, 2);
	/* The next second (ipgated's tick): 3 more. */
	ASSERT_OK(ipg_datapath_blocked_tick(dp));
	for (int i = 0; i < 200; i++)
		ipg_datapath_run(dp, o.b, o.len, false, &action, NULL, NULL);
	ASSERT_EQ(drain().n, 3);
	/* Shadow mode: reported, marked. */
	pol.kern.mode = IPG_MODE_SHADOW;
	CHECK(apply());
	ASSERT_OK(ipg_datapath_blocked_tick(dp)); /* a new second */
	EXPECT(o, XDP_PASS, IPG_STAT_PASS_SHADOW, -1);
	r = drain();
	ASSERT_EQ(r.n, 1);
	ASSERT_EQ(r.shadow, 1);
	ASSERT_OK(ipg_datapath_set_blocked_budget(dp, 0));
}

/* Sleeps until boot time @ns has passed. */
static void wait_past(uint64_t ns)
{
	while (ipg_boot_ns() <= ns)
		usleep(10000);
}

TEST(test_override_active_passes_expired_enforces)
{
	CHECK(standard());
	struct frame o = pkt_v6(OUTSIDER6, IPPROTO_TCP, 443);

	override_on = 1;
	CHECK(apply());
	EXPECT(o, XDP_PASS, IPG_STAT_PASS_OVERRIDE, -1);
	override_on = 0;
	/* A deadline in the past: enforcement is back without any change. */
	ASSERT_OK(ipg_datapath_set_override(dp, ipg_boot_ns() - 1));
	EXPECT_DROP(o);
	/* A deadline that passes while it is set: enforcement is back by
	 * itself (waiting for the clock, not for a guessed time). */
	uint64_t soon = ipg_boot_ns() + 100000000ull;

	ASSERT_OK(ipg_datapath_set_override(dp, soon));
	wait_past(soon);
	EXPECT_DROP(o);
	ASSERT_OK(ipg_datapath_set_override(dp, 0));
}

/* Adds @cidr to the policy expiring at Unix time @expires. */
static void allow_until(const char *cidr, int64_t expires)
{
	struct ipg_prefix p;

	ASSERT_OK(ipg_prefix_parse(cidr, &p, NULL));
	ASSERT_OK(ipg_policy_add(&pol, &p, NULL, NULL));
	pol.entries[pol.n_entries - 1].expires = expires;
}

TEST(test_expired_entries_match_nothing_and_shorter_entries_take_over)
{
	int64_t past = (int64_t)time(NULL) - 10, later = past + 7200;

	CHECK(standard());
	/* Nested: a live /24 around an expired /28 around an expired /32. */
	CHECK(allow_until("198.18.5.0/24", 0));
	CHECK(allow_until("198.18.5.0/28", past));
	CHECK(allow_until("198.18.5.1", past));
	/* Every length expired: nothing left to match. */
	CHECK(allow_until("198.18.7.0/24", past));
	CHECK(allow_until("198.18.7.0/25", past));
	/* Not yet expired. */
	CHECK(allow_until("198.18.6.0/24", later));
	CHECK(allow_until("198.18.6.9", later));
	CHECK(allow_until("2001:db8:9::/48", 0));
	CHECK(allow_until("2001:db8:9::/64", past));
	CHECK(allow_until("2001:db8:9::1", past));
	CHECK(allow_until("2001:db8:a::/48", past));
	CHECK(apply());

	struct frame a = pkt_v4("198.18.5.1", IPPROTO_TCP, 443);
	struct frame b = pkt_v4("198.18.5.7", IPPROTO_TCP, 443);
	struct frame c = pkt_v4("198.18.7.1", IPPROTO_TCP, 443);
	struct frame d = pkt_v4("198.18.6.9", IPPROTO_TCP, 443);
	struct frame e = pkt_v4("198.18.6.10", IPPROTO_TCP, 443);
	struct frame f = pkt_v6("2001:db8:9::1", IPPROTO_TCP, 443);
	struct frame g = pkt_v6("2001:db8:a::1", IPPROTO_TCP, 443);
	struct frame h = pkt_v6("::ffff:198.18.5.1", IPPROTO_TCP, 443);

	EXPECT_ALLOW(a, "198.18.5.0/24");
	EXPECT_ALLOW(b, "198.18.5.0/24");
	EXPECT_DROP(c);
	EXPECT_ALLOW(d, "198.18.6.9");
	EXPECT_ALLOW(e, "198.18.6.0/24");
	EXPECT_ALLOW(f, "2001:db8:9::/48");
	EXPECT_DROP(g);
	EXPECT_ALLOW(h, "198.18.5.0/24");
}

TEST(test_entry_stops_matching_at_its_deadline_without_any_change)
{
	int64_t soon = (int64_t)time(NULL) + 2;

	CHECK(standard());
	CHECK(allow_until("198.18.8.8", soon));
	CHECK(allow_until("2001:db8:8::8", soon));
	CHECK(apply());

	struct frame a = pkt_v4("198.18.8.8", IPPROTO_TCP, 443);
	struct frame b = pkt_v6("2001:db8:8::8", IPPROTO_TCP, 443);

	EXPECT_ALLOW(a, "198.18.8.8");
	EXPECT_ALLOW(b, "2001:db8:8::8");
	/* Waiting for the clock, not a guessed time: past the deadline by
	 * a second, the program drops on its own. */
	while ((int64_t)time(NULL) <= soon)
		usleep(50000);
	EXPECT_DROP(a);
	EXPECT_DROP(b);
}

TEST(test_breakglass_grant_passes_its_source_until_expiry)
{
	struct ipg_prefix g4, g6, other;

	CHECK(standard());
	ASSERT_OK(ipg_addr_parse(OUTSIDER4, &g4, NULL));
	ASSERT_OK(ipg_addr_parse(OUTSIDER6, &g6, NULL));
	ASSERT_OK(ipg_addr_parse("198.18.0.67", &other, NULL));
	struct frame o4 = pkt_v4(OUTSIDER4, IPPROTO_TCP, 443);
	struct frame o6 = pkt_v6(OUTSIDER6, IPPROTO_UDP, 443);
	struct frame m6 = pkt_v6("::ffff:198.18.0.66", IPPROTO_TCP, 443);
	struct frame n4 = pkt_v4("198.18.0.67", IPPROTO_TCP, 443);

	ASSERT_OK(ipg_datapath_grant(dp, &g4, IPG_LIST_ANY,
				     ipg_boot_ns() + 3600000000000ull,
				     "alice"));
	ASSERT_OK(ipg_datapath_grant(dp, &g6, IPG_LIST_ANY,
				     ipg_boot_ns() + 3600000000000ull, "bob"));
	grants[0] = g4;
	grants[1] = g6;
	n_grants = 2;
	EXPECT(o4, XDP_PASS, IPG_STAT_PASS_BREAKGLASS, -1);
	EXPECT(o6, XDP_PASS, IPG_STAT_PASS_BREAKGLASS, -1);
	/* The IPv4-mapped form of a granted IPv4 source is that source. */
	EXPECT(m6, XDP_PASS, IPG_STAT_PASS_BREAKGLASS, -1);
	/* Only the granted address: its neighbour stays out. */
	EXPECT_DROP(n4);
	/* The kernel ends a grant at its deadline, with nobody deleting it
	 * (waiting for the clock, not for a guessed time). */
	uint64_t soon = ipg_boot_ns() + 100000000ull;

	ASSERT_OK(ipg_datapath_grant(dp, &g4, IPG_LIST_ANY, soon, "alice"));
	ASSERT_OK(ipg_datapath_grant(dp, &g6, IPG_LIST_ANY, soon, "bob"));
	wait_past(soon);
	n_grants = 0;
	EXPECT_DROP(o4);
	EXPECT_DROP(o6);
	struct ipg_grant g[4];

	ASSERT_EQ(ipg_datapath_grants(dp, g, 4), 2);
	/* The map keeps which key made each grant, and for which lists (a
	 * hash: in no particular order). */
	for (int i = 0; i < 2; i++) {
		ASSERT_TRUE(ipg_prefix_equal(
			&g[i].addr, g[i].addr.family == 4 ? &g4 : &g6));
		ASSERT_STR(g[i].key_id,
			   g[i].addr.family == 4 ? "alice" : "bob");
		ASSERT_EQ(g[i].list_id, IPG_LIST_ANY);
	}
	ASSERT_TRUE(g[0].addr.family != g[1].addr.family);
	ASSERT_OK(ipg_datapath_ungrant(dp, &g4, IPG_LIST_ANY));
	ASSERT_OK(ipg_datapath_ungrant(dp, &g6, IPG_LIST_ANY));
	ASSERT_EQ(ipg_datapath_grants(dp, g, 4), 0);
	(void)other;
}

TEST(test_empty_allowlist_drops_every_protected_packet)
{
	ipg_policy_init(&pol);
	pol.kern.enabled = 1;
	ipg_policy_set_port(&pol, IPPROTO_TCP, 443, true);
	override_on = 0;
	CHECK(apply());
	struct frame a = pkt_v4("203.0.113.45", IPPROTO_TCP, 443);
	struct frame u = pkt_v4("203.0.113.45", IPPROTO_TCP, 80);

	EXPECT_DROP(a);
	EXPECT_UNPROTECTED(u);
}

TEST(test_list_at_limit_every_entry_hits_its_rule)
{
	char buf[64];

	ipg_policy_init(&pol);
	pol.kern.enabled = 1;
	ipg_policy_set_port(&pol, IPPROTO_UDP, 443, true);
	pol.max_entries = IPG_RULES_MAX;
	for (int i = 0; i < IPG_RULES_MAX; i++) {
		if (i % 2)
			snprintf(buf, sizeof(buf), "2001:db8:%x::/48", i);
		else
			snprintf(buf, sizeof(buf), "198.18.%d.%d", i / 256,
				 i % 256);
		policy_allow(&pol, buf);
	}
	override_on = 0;
	CHECK(apply());
	for (int i = 0; i < IPG_RULES_MAX; i += 37) {
		if (i % 2)
			snprintf(buf, sizeof(buf), "2001:db8:%x::9", i);
		else
			snprintf(buf, sizeof(buf), "198.18.%d.%d", i / 256,
				 i % 256);
		struct frame f = pkt_v4(buf, IPPROTO_UDP, 443);

		EXPECT(f, XDP_PASS, IPG_STAT_PASS_ALLOWED, i);
	}
	struct frame o = pkt_v4("198.19.0.1", IPPROTO_UDP, 443);

	EXPECT_DROP(o);
	struct ipg_prefix p;

	ASSERT_OK(ipg_prefix_parse("198.19.0.1", &p, NULL));
	ASSERT_EQ(ipg_policy_add(&pol, &p, NULL, NULL), -ENOSPC);
}

TEST(test_rule_hits_restart_when_an_id_changes_entry)
{
	uint64_t hits = 0;
	uint32_t id;

	/* From no live entries, so that the ids below are predictable. */
	ipg_policy_init(&pol);
	override_on = 0;
	CHECK(apply());
	CHECK(standard());
	struct frame f = pkt_v4("198.51.100.7", IPPROTO_TCP, 443);

	EXPECT_ALLOW(f, "198.51.100.7");
	id = pol.entries[1].rule_id;
	ASSERT_OK(ipg_datapath_rule_hits(dp, id, &hits));
	ASSERT_EQ(hits, 1);
	/* Same entry, same id, new apply: the count stays. */
	CHECK(apply());
	ASSERT_EQ(pol.entries[1].rule_id, id);
	ASSERT_OK(ipg_datapath_rule_hits(dp, id, &hits));
	ASSERT_EQ(hits, 1);
	/* Another prefix: while the old one is live it gets another id,
	 * counting from 0. */
	pol.entries[1].prefix.addr[3] = 8;
	CHECK(apply());
	ASSERT_TRUE(pol.entries[1].rule_id != id);
	ASSERT_OK(ipg_datapath_rule_hits(dp, pol.entries[1].rule_id, &hits));
	ASSERT_EQ(hits, 0);
	/* Once no slot uses the old id, a new prefix takes it (the lowest
	 * free one), and its count starts over. */
	pol.entries[1].prefix.addr[3] = 9;
	CHECK(apply());
	ASSERT_EQ(pol.entries[1].rule_id, id);
	ASSERT_OK(ipg_datapath_rule_hits(dp, id, &hits));
	ASSERT_EQ(hits, 0);
}

/* ---- reject mode ---- */

/* Checks that @out answers SYN @in: a RST|ACK with addresses, ports and
 * MACs swapped, tags kept, and checksums that verify. */
static void check_reset(const struct frame *in, const uint8_t *out,
			size_t out_len, int family, size_t l2, size_t in_l4)
{
	size_t l3 = l2, iplen = family == 4 ? 20 : 40, l4 = l3 + iplen;
	uint32_t sum;

	ASSERT_EQ(out_len, l4 + 20);
	ASSERT_TRUE(!memcmp(out, in->b + 6, 6) && !memcmp(out + 6, in->b, 6));
	ASSERT_TRUE(!memcmp(out + 12, in->b + 12, l2 - 12));
	if (family == 4) {
		ASSERT_EQ(out[l3], 0x45);
		ASSERT_EQ(out[l3 + 9], IPPROTO_TCP);
		ASSERT_TRUE(!memcmp(out + l3 + 12, in->b + l3 + 16, 4));
		ASSERT_TRUE(!memcmp(out + l3 + 16, in->b + l3 + 12, 4));
		ASSERT_EQ(ipg_csum_fold(ipg_csum_add(out + l3, 20, 0)), 0);
		sum = ipg_csum_add(out + l3 + 12, 8, IPPROTO_TCP + 20);
	} else {
		ASSERT_EQ(out[l3] >> 4, 6);
		ASSERT_EQ(out[l3 + 6], IPPROTO_TCP);
		ASSERT_TRUE(!memcmp(out + l3 + 8, in->b + l3 + 24, 16));
		ASSERT_TRUE(!memcmp(out + l3 + 24, in->b + l3 + 8, 16));
		sum = ipg_csum_add(out + l3 + 8, 32, IPPROTO_TCP + 20);
	}
	ASSERT_EQ(ipg_csum_fold(ipg_csum_add(out + l4, 20, sum)), 0);
	ASSERT_TRUE(!memcmp(out + l4, in->b + in_l4 + 2, 2));
	ASSERT_TRUE(!memcmp(out + l4 + 2, in->b + in_l4, 2));
	ASSERT_EQ(out[l4 + 13], 0x14); /* RST|ACK */
	/* ack = seq + 1 + payload (8 bytes in test frames) */
	uint32_t ack = (uint32_t)out[l4 + 8] << 24 | out[l4 + 9] << 16 |
		       out[l4 + 10] << 8 | out[l4 + 11];
	ASSERT_EQ(ack, 1000 + 1 + 8);
}

TEST(test_reject_mode_answers_syn_with_reset)
{
	uint8_t out[IPG_PKT_MAX];

	CHECK(standard());
	pol.kern.mode = IPG_MODE_REJECT;
	CHECK(apply());
	for (int fam = 4; fam <= 6; fam += 2) {
		for (int tags = 0; tags <= IPG_VLAN_MAX;
		     tags += tags < 2 ? 1 : IPG_VLAN_MAX - 2) {
			struct ipg_pkt_spec s =
				pkt_spec(fam == 4 ? OUTSIDER4 : OUTSIDER6,
					 IPPROTO_TCP, 443);
			size_t out_len = sizeof(out);
			int action;

			for (int t = 0; t < tags; t++)
				s = with_vlan(s, t ? 0x88a8 : 0x8100);
			if (fam == 4)
				s.ip4_optlen = 8;
			else
				s = with_ext_hdr(s, IPPROTO_DSTOPTS);
			struct frame f = pkt_build(&s);

			EXPECT(f, XDP_TX, IPG_STAT_TX_RESET, -1);
			ASSERT_OK(ipg_datapath_run(dp, f.b, f.len, true,
						   &action, out, &out_len));
			ASSERT_EQ(action, XDP_TX);
			size_t l2 = 14 + 4 * (size_t)tags;

			/* IPv4 with 8 bytes of options; IPv6 with one 8-byte
			 * destination-options header: both dropped in the RST. */
			CHECK(check_reset(&f, out, out_len, fam, l2,
					  l2 + (fam == 4 ? 28 : 48)));
		}
	}
}

TEST(test_reject_mode_drops_what_is_not_a_syn)
{
	CHECK(standard());
	pol.kern.mode = IPG_MODE_REJECT;
	CHECK(apply());
	struct ipg_pkt_spec ack = pkt_spec(OUTSIDER4, IPPROTO_TCP, 443);
	struct ipg_pkt_spec synack = pkt_spec(OUTSIDER6, IPPROTO_TCP, 443);
	struct ipg_pkt_spec frag = pkt_spec(OUTSIDER4, IPPROTO_TCP, 443);

	ack.tcp_flags = 0x10;
	synack.tcp_flags = 0x12;
	frag.more_frags = 1;
	struct frame f1 = pkt_build(&ack), f2 = pkt_build(&synack),
		     f3 = pkt_build(&frag);
	struct frame u = pkt_v4(OUTSIDER4, IPPROTO_UDP, 443);
	struct frame a = pkt_v4("203.0.113.1", IPPROTO_TCP, 443);

	EXPECT_DROP(f1);
	EXPECT_DROP(f2);
	EXPECT_DROP(f3);
	EXPECT_DROP(u);
	EXPECT_ALLOW(a, "203.0.113.0/24");
}

static void reject_mode(void)
{
	CHECK(standard());
	pol.kern.mode = IPG_MODE_REJECT;
	CHECK(apply());
}

TEST(test_reject_mode_no_reset_to_broadcast_or_multicast_mac)
{
	static const uint8_t macs[][6] = {
		{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		{ 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 },
		{ 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 },
	};

	CHECK(reject_mode());
	for (size_t i = 0; i < sizeof(macs) / sizeof(macs[0]); i++) {
		struct ipg_pkt_spec s4 = pkt_spec(OUTSIDER4, IPPROTO_TCP, 443);
		struct ipg_pkt_spec s6 = pkt_spec(OUTSIDER6, IPPROTO_TCP, 443);

		memcpy(s4.dmac, macs[i], 6);
		memcpy(s6.dmac, macs[i], 6);
		struct frame f4 = pkt_build(&s4), f6 = pkt_build(&s6);

		/* Dropped silently, counted as denied. */
		EXPECT_DROP(f4);
		EXPECT_DROP(f6);
		/* A group address as the sender: the reset would go to all. */
		f4 = pkt_v4(OUTSIDER4, IPPROTO_TCP, 443);
		memcpy(f4.b + 6, macs[i], 6);
		EXPECT_DROP(f4);
	}
}

TEST(test_reject_mode_no_reset_to_broadcast_multicast_or_unspecified_source)
{
	static const char *const srcs[] = {
		"255.255.255.255", "224.0.0.1", "239.1.2.3",
		"240.0.0.1",	   "0.0.0.0",	"0.1.2.3",
		"ff02::1",	   "ff05::2",	"::",
	};

	CHECK(reject_mode());
	for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
		struct frame f = pkt_v4(srcs[i], IPPROTO_TCP, 443);

		EXPECT_DROP(f);
	}
	/* The same SYN from a unicast source is answered. */
	struct frame u = pkt_v4("198.18.0.77", IPPROTO_TCP, 443);

	EXPECT(u, XDP_TX, IPG_STAT_TX_RESET, -1);
}

TEST(test_reject_mode_no_reset_for_an_address_not_this_hosts)
{
	static const char *const dsts[] = {
		"198.18.0.99",	  "255.255.255.255", "224.0.0.1",
		"198.18.0.255",	  "2001:db8:aa::99", "ff02::1",
		"ff02::1:ff00:1",
	};

	CHECK(reject_mode());
	for (size_t i = 0; i < sizeof(dsts) / sizeof(dsts[0]); i++) {
		struct ipg_pkt_spec s =
			pkt_spec(strchr(dsts[i], ':') ? OUTSIDER6 : OUTSIDER4,
				 IPPROTO_TCP, 443);

		inet_pton(s.family == 4 ? AF_INET : AF_INET6, dsts[i], s.dst);
		struct frame f = pkt_build(&s);

		EXPECT_DROP(f);
	}
}

TEST(test_reject_mode_follows_the_hosts_addresses)
{
	static const char *const none[] = { "192.0.2.1" };
	static const char *const moved[] = { "192.0.2.1", HOST6 };
	struct frame f4 = pkt_v4(OUTSIDER4, IPPROTO_TCP, 443);
	struct frame f6 = pkt_v6(OUTSIDER6, IPPROTO_TCP, 443);
	struct ipg_prefix got[8];

	CHECK(reject_mode());
	EXPECT(f4, XDP_TX, IPG_STAT_TX_RESET, -1);
	EXPECT(f6, XDP_TX, IPG_STAT_TX_RESET, -1);
	/* Neither address is the host's any more: no answer. */
	CHECK(set_local(none, 1));
	ASSERT_EQ(ipg_datapath_local_addrs(dp, got, 8), 1);
	EXPECT_DROP(f4);
	EXPECT_DROP(f6);
	CHECK(set_local(moved, 2));
	ASSERT_EQ(ipg_datapath_local_addrs(dp, got, 8), 2);
	EXPECT_DROP(f4);
	EXPECT(f6, XDP_TX, IPG_STAT_TX_RESET, -1);
	CHECK(local_standard());
}

/* A reset would answer a datagram the host has not reassembled: a first
 * fragment's SYN is dropped silently, IPv6 (fragment header at offset 0,
 * alone, after another extension header, or atomic) as IPv4. */
TEST(test_reject_mode_drops_a_first_fragment_without_reset)
{
	CHECK(reject_mode());
	for (int tags = 0; tags <= 2; tags++) {
		struct ipg_pkt_spec s6 =
			tagged(pkt_spec(OUTSIDER6, IPPROTO_TCP, 443), tags);
		struct ipg_pkt_spec s4 =
			tagged(pkt_spec(OUTSIDER4, IPPROTO_TCP, 8443), tags);
		struct ipg_pkt_spec first6 = with_fragment(s6, 0, 1);
		struct ipg_pkt_spec after6 =
			with_fragment(with_ext_hdr(s6, IPPROTO_HOPOPTS), 0, 1);
		struct ipg_pkt_spec atomic6 = with_fragment(s6, 0, 0);
		struct ipg_pkt_spec first4 = with_fragment(s4, 0, 1);
		struct frame f6 = pkt_build(&first6), a6 = pkt_build(&after6),
			     t6 = pkt_build(&atomic6), f4 = pkt_build(&first4);
		struct frame w6 = pkt_build(&s6), w4 = pkt_build(&s4);

		EXPECT_DROP(f6);
		EXPECT_DROP(a6);
		EXPECT_DROP(t6);
		EXPECT_DROP(f4);
		/* The same SYNs unfragmented are answered. */
		EXPECT(w6, XDP_TX, IPG_STAT_TX_RESET, -1);
		EXPECT(w4, XDP_TX, IPG_STAT_TX_RESET, -1);
	}
}

/* ---- frames that start at the IP header (tun, WireGuard) ---- */

TEST(test_ip_frames_outsider_dropped_member_allowed_unprotected_passes)
{
	CHECK(standard());
	for (size_t i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++) {
		struct frame t = pkt_ip(matrix[i].src, IPPROTO_TCP, 443);
		struct frame u = pkt_ip(matrix[i].src, IPPROTO_UDP, 443);
		struct frame t8 = pkt_ip(matrix[i].src, IPPROTO_TCP, 8443);
		struct frame open = pkt_ip(matrix[i].src, IPPROTO_TCP, 80);
		struct frame u8 = pkt_ip(matrix[i].src, IPPROTO_UDP, 8443);

		if (matrix[i].entry) {
			EXPECT_ALLOW(t, matrix[i].entry);
			EXPECT_ALLOW(u, matrix[i].entry);
			EXPECT_ALLOW(t8, matrix[i].entry);
		} else {
			EXPECT_DROP(t);
			EXPECT_DROP(u);
			EXPECT_DROP(t8);
		}
		EXPECT_UNPROTECTED(open);
		EXPECT_UNPROTECTED(u8);
	}
}

TEST(test_ip_frames_headers_fragments_and_non_ip)
{
	CHECK(standard());
	struct ipg_pkt_spec o4 =
		as_ip_frame(pkt_spec(OUTSIDER4, IPPROTO_TCP, 443));
	struct ipg_pkt_spec e6 = as_ip_frame(
		with_ext_hdr(with_ext_hdr(pkt_spec(OUTSIDER6, IPPROTO_UDP, 443),
					  IPPROTO_HOPOPTS),
			     IPPROTO_DSTOPTS));
	struct ipg_pkt_spec f6 = as_ip_frame(
		with_fragment(pkt_spec(OUTSIDER6, IPPROTO_TCP, 443), 0, 1));
	struct ipg_pkt_spec l6 = as_ip_frame(
		with_fragment(pkt_spec(OUTSIDER6, IPPROTO_TCP, 443), 5, 0));
	struct ipg_pkt_spec l4 =
		as_ip_frame(pkt_spec(OUTSIDER4, IPPROTO_UDP, 443));

	o4.ip4_optlen = 40;
	l4.fragment = 1;
	l4.frag_off = 9;
	struct frame fo4 = pkt_build(&o4), fe6 = pkt_build(&e6),
		     ff6 = pkt_build(&f6), fl6 = pkt_build(&l6),
		     fl4 = pkt_build(&l4);

	EXPECT_DROP(fo4);
	EXPECT_DROP(fe6);
	EXPECT_DROP(ff6);
	EXPECT_FRAGMENT(fl6);
	EXPECT_FRAGMENT(fl4);
	/* Neither version 4 nor 6: not IP, whatever follows. */
	struct frame n = pkt_ip(OUTSIDER4, IPPROTO_TCP, 443);

	for (int v = 0; v < 16; v++) {
		if (v == 4 || v == 6)
			continue;
		n.b[0] = (uint8_t)(v << 4 | 5);
		EXPECT(n, XDP_PASS, IPG_STAT_PASS_NON_IP, -1);
	}
	/* Version 4 with a bad header length is still IPv4. */
	n.b[0] = 0x43;
	EXPECT_MALFORMED(n);
	/* An IPv4-mapped source uses the IPv4 entries. */
	struct frame m = pkt_ip("::ffff:203.0.113.45", IPPROTO_TCP, 443);

	EXPECT_ALLOW(m, "203.0.113.0/24");
}

TEST(test_ip_frames_truncated_at_every_header_boundary)
{
	CHECK(standard());
	struct ipg_pkt_spec s4 =
		as_ip_frame(pkt_spec(OUTSIDER4, IPPROTO_TCP, 443));
	struct ipg_pkt_spec s6 = as_ip_frame(with_ext_hdr(
		pkt_spec(OUTSIDER6, IPPROTO_UDP, 443), IPPROTO_DSTOPTS));

	s4.ip4_optlen = 8;
	CHECK(truncate_all(pkt_build(&s4), 28 + 4));
	CHECK(truncate_all(pkt_build(&s6), 40 + 8 + 4));
}

TEST(test_ip_frames_reject_mode_drops_without_reset)
{
	CHECK(reject_mode());
	struct frame f4 = pkt_ip(OUTSIDER4, IPPROTO_TCP, 443);
	struct frame f6 = pkt_ip(OUTSIDER6, IPPROTO_TCP, 8443);
	struct frame a = pkt_ip("2001:db8:1::1", IPPROTO_TCP, 443);
	uint8_t out[IPG_PKT_MAX];
	size_t out_len = sizeof(out);
	int action;

	/* No link header to turn around: a silent drop. */
	EXPECT_DROP(f4);
	EXPECT_DROP(f6);
	EXPECT_ALLOW(a, "2001:db8:1::/48");
	ASSERT_OK(ipg_datapath_run_frame(dp, IPG_FRAME_IP, f4.b, f4.len, true,
					 &action, out, &out_len));
	ASSERT_EQ(action, XDP_DROP);
	ASSERT_TRUE(out_len == f4.len && !memcmp(out, f4.b, f4.len));
}

/* The two entry points share the maps: one apply, one override. */
TEST(test_ip_frames_follow_the_shared_policy)
{
	struct frame o = pkt_ip(OUTSIDER4, IPPROTO_UDP, 443);
	struct frame e = pkt_v4(OUTSIDER4, IPPROTO_UDP, 443);

	CHECK(standard());
	pol.kern.enabled = 0;
	CHECK(apply());
	EXPECT(o, XDP_PASS, IPG_STAT_PASS_DISABLED, -1);
	pol.kern.enabled = 1;
	override_on = 1;
	CHECK(apply());
	EXPECT(o, XDP_PASS, IPG_STAT_PASS_OVERRIDE, -1);
	EXPECT(e, XDP_PASS, IPG_STAT_PASS_OVERRIDE, -1);
	override_on = 0;
	CHECK(apply());
	EXPECT_DROP(o);
	EXPECT_DROP(e);
}

/* ---- probes ---- */

TEST(test_probe_leaves_counters_alone)
{
	uint64_t before[IPG_STAT_MAX], after[IPG_STAT_MAX];
	int action;

	CHECK(standard());
	struct frame a = pkt_v4("203.0.113.1", IPPROTO_TCP, 443);
	struct frame o = pkt_v4(OUTSIDER4, IPPROTO_TCP, 443);

	ASSERT_OK(ipg_datapath_stats(dp, before));
	ASSERT_OK(ipg_datapath_run(dp, a.b, a.len, true, &action, NULL, NULL));
	ASSERT_EQ(action, XDP_PASS);
	ASSERT_OK(ipg_datapath_run(dp, o.b, o.len, true, &action, NULL, NULL));
	ASSERT_EQ(action, XDP_DROP);
	ASSERT_OK(ipg_datapath_stats(dp, after));
	ASSERT_TRUE(!memcmp(before, after, sizeof(before)));
}

/* ---- flip under load ---- */

/* Policy A rejects the SYN (XDP_TX); policy B allows its source (XDP_PASS).
 * A packet that read B's trie with A's mode, or any other mix of the two
 * slots, is dropped: every XDP_DROP is a torn read. The test runs for a
 * number of flips, however long they take on a busy machine (up to a
 * generous cap), and fails only on a torn read or when no packet ran. */
#define FLIPS 500
#define FLIP_CAP_S 300

static struct ipg_policy_spec pol_a, pol_b;

TEST(test_flip_under_load_never_mixes_policies)
{
	long runs = 0, tx = 0, pass = 0, mixed = 0;
	struct frame f = pkt_v4("198.51.100.7", IPPROTO_TCP, 443);
	struct frame f6 = pkt_v6("2001:db8:2::1", IPPROTO_TCP, 443);
	struct test_flipper fl = { .dp = dp,
				   .id = IPG_LIST_DEFAULT,
				   .pol = { &pol_b, &pol_a },
				   .max = FLIPS };
	double start = test_now_s();
	int capped = 0;
	long flips;

	CHECK(local_standard()); /* A's resets go to this host */
	policy_standard(&pol_b);
	ipg_policy_init(&pol_a);
	pol_a.kern.enabled = 1;
	pol_a.kern.mode = IPG_MODE_REJECT;
	ipg_policy_set_port(&pol_a, IPPROTO_TCP, 443, true);
	/* A's trie holds other entries under the same rule ids. */
	policy_allow(&pol_a, "192.0.2.99");
	policy_allow(&pol_a, "2001:db8:99::/48");
	ASSERT_OK(test_flipper_start(&fl));
	while (test_flipper_running(&fl)) {
		int action;
		const struct frame *g = runs & 1 ? &f6 : &f;

		if (ipg_datapath_run(dp, g->b, g->len, true, &action, NULL,
				     NULL))
			break;
		runs++;
		test_flipper_packet(&fl);
		tx += action == XDP_TX;
		pass += action == XDP_PASS;
		mixed += action != XDP_TX && action != XDP_PASS;
		if (!(runs & 255) && test_now_s() - start > FLIP_CAP_S) {
			capped = 1;
			break;
		}
	}
	flips = test_flipper_stop(&fl);
	printf("# %ld flips in %.1f s%s, %ld packets: %ld rejected (A), "
	       "%ld passed (B), %ld mixed\n",
	       flips, test_now_s() - start, capped ? " (time cap)" : "", runs,
	       tx, pass, mixed);
	ASSERT_EQ(mixed, 0);
	ASSERT_TRUE(runs > 0);
	ASSERT_TRUE(flips > 0);
}

/* ---- setup ---- */

static int setup(void)
{
	return test_datapath_open(&dp, "test_datapath");
}

static void teardown(void)
{
	ipg_datapath_close(dp);
}

int main(int argc, char **argv)
{
	return harness_main("bpf/datapath", argc, argv, setup, teardown);
}
