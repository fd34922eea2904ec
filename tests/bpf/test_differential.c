// SPDX-License-Identifier: GPL-2.0
/* Differential test: random and mutated frames, seeded and reproducible,
 * must get the same action, counter and rule from the XDP program as from
 * the reference model, through both entry points (frames that start with
 * an Ethernet header, and frames that start at the IP header). IPGATE_FUZZ_SEED and IPGATE_FUZZ_COUNT override the
 * defaults; a mismatch prints the frame as hex. */
#include <linux/bpf.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "datapath.h"
#include "harness.h"
#include "link.h"
#include "testbpf.h"
#include "testpkt.h"
#include "verdict.h"

static struct ipg_datapath *dp;
static struct ipg_policy_spec pol;
static uint64_t rng;

static uint64_t next_rand(void)
{
	/* xorshift64*: small, fast, and the same everywhere. */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ull;
}

static unsigned below(unsigned n)
{
	return (unsigned)(next_rand() % n);
}

/* Sources with an expired break-glass grant and in no allowlisted range:
 * their frames reach the grant check and must be denied there. */
#define GONE4 "198.18.0.68"
#define GONE6 "2001:db8:ff::68"
static struct ipg_prefix gone[2];

#define CORPUS_MAX 1024
static struct frame corpus[CORPUS_MAX];
/* For a corpus frame from GONE4 or GONE6: where its source lies, and its
 * family (0: from another source). */
static size_t gone_at[CORPUS_MAX];
static int gone_family[CORPUS_MAX];
static int n_corpus;

static void push(const struct ipg_pkt_spec *s)
{
	size_t n = s->family == 4 ? 4 : 16;

	if (n_corpus == CORPUS_MAX)
		return;
	gone_family[n_corpus] =
		!memcmp(s->src, gone[s->family == 6].addr, n) ? s->family : 0;
	/* The source sits 12 (IPv4) or 8 (IPv6) bytes into the IP header. */
	gone_at[n_corpus] =
		(s->frame == IPG_FRAME_IP ? 0 : 14 + 4 * (size_t)s->n_vlan) +
		(s->family == 4 ? 12 : 8);
	corpus[n_corpus++] = pkt_build(s);
}

/* Adds @s as an Ethernet frame, and (untagged) as a bare IP packet. */
static void add(struct ipg_pkt_spec s)
{
	push(&s);
	if (!s.n_vlan) {
		s = as_ip_frame(s);
		push(&s);
	}
}

/* Whether @f, made from corpus frame @c, still comes from GONE4 or GONE6
 * (random frames never do). */
static int from_gone(const struct frame *f, int c)
{
	int fam = c < 0 ? 0 : gone_family[c];
	size_t n = fam == 4 ? 4 : 16, at = c < 0 ? 0 : gone_at[c];

	return fam && f->start == corpus[c].start && at + n <= f->len &&
	       !memcmp(f->b + at, gone[fam == 6].addr, n);
}

/* The frames of the hand-written cases, in all their variants. */
static void build_corpus(void)
{
	static const char *const srcs[] = {
		"203.0.113.45",	   "198.51.100.7", "192.0.2.200",
		"192.0.2.129",	   OUTSIDER4,	   "2001:db8:1::5",
		"2001:db8:2::1",   OUTSIDER6,	   "::ffff:203.0.113.9",
		"2001:db8:3:4::1", GONE4,	   GONE6,
	};
	static const uint16_t ports[] = { 443, 8443, 80 };
	static const uint8_t exts[] = { IPPROTO_HOPOPTS, IPPROTO_ROUTING,
					IPPROTO_DSTOPTS, IPPROTO_AH, 135 };

	if (ipg_addr_parse(GONE4, &gone[0], NULL) ||
	    ipg_addr_parse(GONE6, &gone[1], NULL))
		abort();
	for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
		/* At the bound of VLAN tags and one past it. */
		struct ipg_pkt_spec deep = pkt_spec(srcs[i], IPPROTO_TCP, 443);

		for (int n = 1; n <= IPG_VLAN_MAX + 1; n++) {
			deep = with_vlan(deep, n % 2 ? 0x8100 : 0x88a8);
			if (n >= IPG_VLAN_MAX)
				add(deep);
		}
		for (int p = 0; p < 3; p++) {
			struct ipg_pkt_spec t =
				pkt_spec(srcs[i], IPPROTO_TCP, ports[p]);
			struct ipg_pkt_spec u =
				pkt_spec(srcs[i], IPPROTO_UDP, ports[p]);

			add(t);
			add(u);
			add(with_vlan(t, 0x8100));
			add(with_vlan(with_vlan(u, 0x8100), 0x88a8));
			/* Reject mode answers only unicast SYNs to this
			 * host: the same SYN to another host and to a
			 * broadcast MAC. */
			if (p == 0) {
				struct ipg_pkt_spec o = t;

				o.dst[3] ^= 0x40;
				add(o);
				memset(t.dmac, 0xff, 6);
				add(t);
				memset(t.dmac, 0, 6);
			}
			if (t.family == 4) {
				t.ip4_optlen = 12;
				add(t);
				u.more_frags = 1;
				add(u);
				u.frag_off = 3;
				add(u);
			} else {
				add(with_ext_hdr(t, exts[i % 5]));
				add(with_ext_hdr(
					with_ext_hdr(with_ext_hdr(u, exts[p]),
						     exts[(p + 1) % 5]),
					exts[(p + 3) % 5]));
				add(with_fragment(u, 0, 1));
				/* A first fragment's SYN: never answered. */
				add(with_fragment(t, 0, 1));
				add(with_fragment(t, 7, 0));
			}
		}
	}
}

static const uint8_t interesting[] = { 0x00, 0xff, 0x81, 0x88, 0xa8, 0x86,
				       0xdd, 0x08, 0x06, 0x11, 0x2c, 0x3c,
				       0x33, 0x2b, 0x00, 0x05, 0x04, 0x45,
				       0x46, 0x4f, 0x01, 0xbb, 0x20, 0x3a,
				       0x87, 0x02, 0x12, 0x14, 0x60 };

static void mutate(struct frame *f)
{
	int rounds = 1 + (int)below(4);
	/* Where the IP header starts, if untagged. */
	size_t l3 = f->start == IPG_FRAME_IP ? 0 : 14;

	for (int r = 0; r < rounds; r++) {
		size_t span = f->len < 96 ? f->len : 96;
		size_t at = below((unsigned)span);

		switch (below(7)) {
		case 0:
			f->b[at] ^= (uint8_t)(1u << below(8));
			break;
		case 1:
			f->b[at] = interesting[below(sizeof(interesting))];
			break;
		case 2:
			f->len = 14 + below((unsigned)(f->len - 13));
			break;
		case 3: {
			size_t more = below(64);

			if (f->len + more <= sizeof(f->b)) {
				for (size_t i = 0; i < more; i++)
					f->b[f->len + i] = (uint8_t)next_rand();
				f->len += more;
			}
			break;
		}
		case 4: /* a random tag or ethertype where one may stand */
			at = 12 + 4 * below(3);
			if (at + 1 < f->len) {
				static const uint16_t types[] = {
					0x8100, 0x88a8, 0x0800, 0x86dd, 0x0806
				};
				uint16_t t = types[below(5)];

				f->b[at] = (uint8_t)(t >> 8);
				f->b[at + 1] = (uint8_t)t;
			}
			break;
		case 5:
			f->b[at] = (uint8_t)next_rand();
			break;
		case 6: /* a length field: IPv4 total length or IPv6 payload */
			if (f->len > 20) {
				size_t l = l3 + 2 +
					   (l3 && f->b[12] == 0x81 ? 4 : 0);

				if (l3 ? f->b[12] == 0x86 : f->b[0] >> 4 == 6)
					l += 2;
				if (l + 1 < f->len) {
					f->b[l] = (uint8_t)below(2);
					f->b[l + 1] = (uint8_t)next_rand();
					/* 0: BIG TCP GRO, jumbograms */
					if (!below(4))
						f->b[l] = f->b[l + 1] = 0;
				}
			}
			break;
		}
	}
}

static void random_frame(struct frame *f)
{
	f->start = below(4) ? IPG_FRAME_ETH : IPG_FRAME_IP;
	f->len = 14 + below(120);
	for (size_t i = 0; i < f->len; i++)
		f->b[i] = (uint8_t)next_rand();
	if (f->start == IPG_FRAME_IP) {
		if (below(4))
			f->b[0] = below(2) ? (uint8_t)(0x40 | (5 + below(3))) :
					     0x60;
	} else if (below(2)) {
		f->b[12] = below(2) ? 0x08 : 0x86;
		f->b[13] = f->b[12] == 0x08 ? 0x00 : 0xdd;
		f->b[14] = f->b[12] == 0x08 ? (uint8_t)(0x40 | (5 + below(3))) :
					      0x60;
	}
}

static void hexdump(const struct frame *f)
{
	for (size_t i = 0; i < f->len; i++)
		fprintf(stderr, "%02x%s", f->b[i], (i + 1) % 32 ? "" : "\n");
	fputc('\n', stderr);
}

/* The policy rounds: the standard list in drop and reject mode, disabled,
 * under an override, and with zero-length prefixes added (0.0.0.0/0 in drop
 * mode, ::/0 in reject mode, both in drop mode), which must still not pass
 * a frame whose source is unknown. */
enum {
	P_DROP,
	P_REJECT,
	P_DISABLED,
	P_OVERRIDE,
	P_ALL4,
	P_ALL6,
	P_ALL,
	P_ROUNDS
};

/* Break-glass grants in every round: two live; three expired, one inside
 * an allowlisted range, GONE4 and GONE6 outside every one. */
static struct ipg_prefix grants[2];
/* This host's addresses: where the corpus frames go. */
static struct ipg_prefix local[2];

static int set_grants(void)
{
	struct ipg_prefix listed;
	uint64_t now = ipg_boot_ns();

	if (ipg_addr_parse(OUTSIDER4, &grants[0], NULL) ||
	    ipg_addr_parse("2001:db8:2::1", &grants[1], NULL) ||
	    ipg_addr_parse("2001:db8:1::5", &listed, NULL))
		return -1;
	return ipg_datapath_grant(dp, &grants[0], now + 3600000000000ull,
				  "k") ||
	       ipg_datapath_grant(dp, &grants[1], now + 3600000000000ull,
				  "k") ||
	       ipg_datapath_grant(dp, &listed, now - 1, "k") ||
	       ipg_datapath_grant(dp, &gone[0], now - 1, "k") ||
	       ipg_datapath_grant(dp, &gone[1], now - 1, "k");
}

static int set_policy(int which)
{
	struct ipg_error e;

	policy_standard(&pol);
	if (which == P_ALL4 || which == P_ALL)
		policy_allow(&pol, "0.0.0.0/0");
	if (which == P_ALL6 || which == P_ALL)
		policy_allow(&pol, "::/0");
	pol.kern.mode = which == P_REJECT || which == P_ALL6 ? IPG_MODE_REJECT :
							       IPG_MODE_DROP;
	pol.kern.enabled = which != P_DISABLED;
	ipg_policy_set_port(&pol, IPPROTO_TCP, 80, which == P_REJECT);
	if (ipg_datapath_apply(dp, &pol, &e) || set_grants() ||
	    ipg_addr_parse(HOST4, &local[0], NULL) ||
	    ipg_addr_parse(HOST6, &local[1], NULL) ||
	    ipg_datapath_set_local_addrs(dp, local, 2))
		return -1;
	return ipg_datapath_set_override(
		dp, which == P_OVERRIDE ? ipg_boot_ns() + 3600000000000ull : 0);
}

TEST(test_differential_xdp_equals_reference_model)
{
	const char *seed_env = getenv("IPGATE_FUZZ_SEED");
	const char *count_env = getenv("IPGATE_FUZZ_COUNT");
	uint64_t seed = seed_env ? strtoull(seed_env, NULL, 0) : 0x1a7e;
	long count = count_env ? atol(count_env) : 200000, mismatches = 0;
	long per_action[5] = { 0 }, per_stat[2][IPG_STAT_MAX] = { { 0 } };
	/* Per entry point: frames from GONE4 or GONE6 denied at the grant
	 * check, and frames without a source under 0.0.0.0/0 and ::/0. */
	long gone_denied[2] = { 0 }, sourceless[2] = { 0 };

	rng = seed ? seed : 1;
	build_corpus();
	printf("# seed 0x%llx, %ld frames, corpus %d\n",
	       (unsigned long long)seed, count, n_corpus);
	for (long i = 0; i < count && mismatches < 5; i++) {
		int which = (int)(i * P_ROUNDS / count), action;
		/* Counters are read for one frame in 8: enough to check the
		 * stat and rule of every kind of verdict, at a fraction of
		 * the cost. */
		int check_stats = (i & 7) == 0;
		uint64_t before[IPG_STAT_MAX], after[IPG_STAT_MAX];
		struct ipg_verdict v;
		struct frame f;
		int c = -1, fr;

		if (i == 0 || which != (int)((i - 1) * P_ROUNDS / count))
			ASSERT_OK(set_policy(which));
		if (below(10) == 0) {
			random_frame(&f);
		} else {
			c = (int)below((unsigned)n_corpus);
			f = corpus[c];
			mutate(&f);
		}
		fr = f.start == IPG_FRAME_IP;
		ipg_verdict_eval(&pol,
				 &(struct ipg_verdict_env){
					 .override_active = which == P_OVERRIDE,
					 .grants = grants,
					 .n_grants = 2,
					 .local = local,
					 .n_local = 2,
					 .frame = f.start },
				 f.b, f.len, &v);
		if (check_stats)
			ASSERT_OK(ipg_datapath_stats(dp, before));
		ASSERT_OK(ipg_datapath_run_frame(dp, f.start, f.b, f.len,
						 !check_stats, &action, NULL,
						 NULL));
		per_action[action & 3]++;
		per_stat[fr][v.stat]++;
		gone_denied[fr] += from_gone(&f, c) &&
				   (v.stat == IPG_STAT_DROP_DENIED ||
				    v.stat == IPG_STAT_TX_RESET);
		sourceless[fr] += which == P_ALL &&
				  v.stat == IPG_STAT_DROP_MALFORMED;
		if (action != v.action) {
			fprintf(stderr,
				"frame %ld (%s): program %s, model %s (%s):\n",
				i, ipg_frame_name(f.start),
				ipg_action_name(action),
				ipg_action_name(v.action),
				ipg_stat_name(v.stat));
			hexdump(&f);
			mismatches++;
			continue;
		}
		if (!check_stats)
			continue;
		ASSERT_OK(ipg_datapath_stats(dp, after));
		for (int s = 0; s < IPG_STAT_MAX; s++) {
			if (after[s] - before[s] != (s == (int)v.stat)) {
				fprintf(stderr,
					"frame %ld: counter %s moved by %llu; model says %s:\n",
					i, ipg_stat_name(s),
					(unsigned long long)(after[s] -
							     before[s]),
					ipg_stat_name(v.stat));
				hexdump(&f);
				mismatches++;
				break;
			}
		}
	}
	printf("# actions: pass %ld, drop %ld, tx %ld\n", per_action[XDP_PASS],
	       per_action[XDP_DROP], per_action[XDP_TX]);
	printf("#   %-20s %10s %10s\n", "", "ethernet", "ip");
	for (int s = 0; s < IPG_STAT_MAX; s++)
		printf("#   %-20s %10ld %10ld\n", ipg_stat_name(s),
		       per_stat[0][s], per_stat[1][s]);
	printf("#   %-20s %10ld %10ld\n", "expired_grant_denied",
	       gone_denied[0], gone_denied[1]);
	printf("#   %-20s %10ld %10ld\n", "no_source_under_/0", sourceless[0],
	       sourceless[1]);
	ASSERT_EQ(mismatches, 0);
	/* The corpus must reach every outcome through each entry point
	 * (bare IP packets are never answered with a reset), or the test
	 * proves little. */
	for (int fr = 0; fr < 2; fr++)
		for (int s = 0; s < IPG_STAT_MAX; s++)
			if (!per_stat[fr][s] &&
			    !(fr == IPG_FRAME_IP && s == IPG_STAT_TX_RESET))
				FAIL("no %s frame ended in %s",
				     ipg_frame_name((enum ipg_frame)fr),
				     ipg_stat_name(s));
	/* Nor may the corpus miss the paths these two outcomes take. */
	for (int fr = 0; fr < 2; fr++) {
		if (!gone_denied[fr])
			FAIL("no %s frame from an expired grant outside the "
			     "list reached the grant check",
			     ipg_frame_name((enum ipg_frame)fr));
		if (!sourceless[fr])
			FAIL("no %s frame without a source was judged under "
			     "0.0.0.0/0 and ::/0",
			     ipg_frame_name((enum ipg_frame)fr));
	}
}

static int setup(void)
{
	return test_datapath_open(&dp, "test_differential");
}

static void teardown(void)
{
	ipg_datapath_close(dp);
}

int main(int argc, char **argv)
{
	return harness_main("bpf/differential", argc, argv, setup, teardown);
}
