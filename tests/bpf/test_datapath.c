// SPDX-License-Identifier: GPL-2.0
/* The XDP program, run with BPF_PROG_TEST_RUN: each case builds a frame,
 * runs it, and checks the action, the one counter that moved, the rule hit,
 * and that the reference model agrees. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "datapath.h"
#include "harness.h"
#include "testbpf.h"
#include "testpkt.h"
#include "verdict.h"

static struct ipg_datapath *dp;
static struct ipg_policy_spec pol;
static int override_on;
/* Live break-glass grants, as the model sees them. */
static struct ipg_prefix grants[4];
static size_t n_grants;

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

static void standard(void)
{
	override_on = 0;
	policy_standard(&pol);
	CHECK(apply());
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
	struct ipg_verdict v;
	int got;

	if (ipg_datapath_stats(dp, before))
		return harness_fail(file, line, "reading stats");
	if (entry >= 0)
		ipg_datapath_rule_hits(dp, pol.entries[entry].rule_id, &hb);
	if (ipg_datapath_run(dp, f->b, f->len, false, &got, NULL, NULL))
		return harness_fail(file, line, "test run failed");
	ipg_datapath_stats(dp, after);
	if (entry >= 0)
		ipg_datapath_rule_hits(dp, pol.entries[entry].rule_id, &ha);
	ipg_verdict_eval(&pol,
			 &(struct ipg_verdict_env){ .override_active =
							    override_on,
						    .grants = grants,
						    .n_grants = n_grants },
			 f->b, f->len, &v);

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

TEST(test_vlan_three_tags_unparseable_dropped)
{
	CHECK(standard());
	struct ipg_pkt_spec s = with_vlan(
		with_vlan(with_vlan(pkt_spec("203.0.113.45", IPPROTO_UDP, 53),
				    0x8100),
			  0x8100),
		0x88a8);
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

/* Cutting a frame anywhere gives the verdict of the model, and every cut
 * inside the headers of a frame to a protected port is dropped. */
static void truncate_all(struct frame full, size_t headers)
{
	for (size_t n = 14; n <= full.len; n++) {
		struct frame f = full;
		struct ipg_verdict v;

		f.len = n;
		ipg_verdict_eval(&pol, NULL, f.b, f.len, &v);
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
	override_on = 1;
	ASSERT_OK(ipg_datapath_set_override(dp, ipg_boot_ns() + 300000000ull));
	EXPECT(o, XDP_PASS, IPG_STAT_PASS_OVERRIDE, -1);
	usleep(400000);
	override_on = 0;
	EXPECT_DROP(o);
	ASSERT_OK(ipg_datapath_set_override(dp, 0));
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

	ASSERT_OK(ipg_datapath_grant(dp, &g4, ipg_boot_ns() + 300000000ull));
	ASSERT_OK(ipg_datapath_grant(dp, &g6, ipg_boot_ns() + 300000000ull));
	grants[0] = g4;
	grants[1] = g6;
	n_grants = 2;
	EXPECT(o4, XDP_PASS, IPG_STAT_PASS_BREAKGLASS, -1);
	EXPECT(o6, XDP_PASS, IPG_STAT_PASS_BREAKGLASS, -1);
	/* The IPv4-mapped form of a granted IPv4 source is that source. */
	EXPECT(m6, XDP_PASS, IPG_STAT_PASS_BREAKGLASS, -1);
	/* Only the granted address: its neighbour stays out. */
	EXPECT_DROP(n4);
	/* The kernel ends a grant at its deadline, with nobody deleting it. */
	usleep(400000);
	n_grants = 0;
	EXPECT_DROP(o4);
	EXPECT_DROP(o6);
	struct ipg_grant g[4];

	ASSERT_EQ(ipg_datapath_grants(dp, g, 4), 2);
	ASSERT_OK(ipg_datapath_ungrant(dp, &g4));
	ASSERT_OK(ipg_datapath_ungrant(dp, &g6));
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

	CHECK(standard());
	struct frame f = pkt_v4("198.51.100.7", IPPROTO_TCP, 443);

	EXPECT_ALLOW(f, "198.51.100.7");
	ASSERT_OK(ipg_datapath_rule_hits(dp, 1, &hits));
	ASSERT_EQ(hits, 1);
	/* Same entry, same id, new apply: the count stays. */
	CHECK(apply());
	ASSERT_OK(ipg_datapath_rule_hits(dp, 1, &hits));
	ASSERT_EQ(hits, 1);
	/* Id 1 now belongs to another prefix: its count starts over. */
	pol.entries[1].prefix.addr[3] = 8;
	CHECK(apply());
	ASSERT_OK(ipg_datapath_rule_hits(dp, 1, &hits));
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
		for (int tags = 0; tags <= 2; tags++) {
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
 * slots, is dropped: every XDP_DROP is a torn read. */
static struct ipg_policy_spec pol_a, pol_b;
static volatile int flipping;

static void *flipper(void *arg)
{
	struct ipg_error e;
	long *flips = arg;

	while (flipping) {
		if (ipg_datapath_apply(dp, (*flips & 1) ? &pol_a : &pol_b,
				       &e)) {
			fprintf(stderr, "flip: %s\n", e.msg);
			break;
		}
		(*flips)++;
	}
	return NULL;
}

TEST(test_flip_under_load_never_mixes_policies)
{
	long flips = 0, runs = 0, tx = 0, pass = 0, mixed = 0;
	struct frame f = pkt_v4("198.51.100.7", IPPROTO_TCP, 443);
	struct frame f6 = pkt_v6("2001:db8:2::1", IPPROTO_TCP, 443);
	pthread_t th;

	policy_standard(&pol_b);
	ipg_policy_init(&pol_a);
	pol_a.kern.enabled = 1;
	pol_a.kern.mode = IPG_MODE_REJECT;
	ipg_policy_set_port(&pol_a, IPPROTO_TCP, 443, true);
	/* A's trie holds other entries under the same rule ids. */
	policy_allow(&pol_a, "192.0.2.99");
	policy_allow(&pol_a, "2001:db8:99::/48");
	flipping = 1;
	ASSERT_OK(pthread_create(&th, NULL, flipper, &flips));
	while (flips < 3000 && runs < 2000000) {
		int action;
		const struct frame *g = runs & 1 ? &f6 : &f;

		if (ipg_datapath_run(dp, g->b, g->len, true, &action, NULL,
				     NULL))
			break;
		runs++;
		tx += action == XDP_TX;
		pass += action == XDP_PASS;
		mixed += action != XDP_TX && action != XDP_PASS;
	}
	flipping = 0;
	pthread_join(th, NULL);
	printf("# %ld flips, %ld packets: %ld rejected (A), %ld passed (B), %ld mixed\n",
	       flips, runs, tx, pass, mixed);
	ASSERT_TRUE(flips >= 3000);
	ASSERT_EQ(mixed, 0);
	ASSERT_TRUE(tx > 0 && pass > 0);
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
