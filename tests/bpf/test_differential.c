// SPDX-License-Identifier: GPL-2.0
/* Differential test: random and mutated frames, seeded and reproducible,
 * must get the same action, counter and rule from the XDP program as from
 * the reference model, through both entry points (frames that start with
 * an Ethernet header, and frames that start at the IP header). IPGATE_FUZZ_SEED and IPGATE_FUZZ_COUNT override the
 * defaults; a mismatch prints the frame as hex. */
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <stdbool.h>
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
/* Every corpus frame's family and where its destination lies. */
static int c_family[CORPUS_MAX];
static size_t dst_at[CORPUS_MAX];
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
	c_family[n_corpus] = s->family;
	dst_at[n_corpus] = gone_at[n_corpus] + n;
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

/* The policy rounds: the standard list in drop, reject and shadow mode, disabled,
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
	P_SHADOW,
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
	return ipg_datapath_grant(dp, &grants[0], IPG_LIST_ANY,
				  now + 3600000000000ull, "k") ||
	       ipg_datapath_grant(dp, &grants[1], IPG_LIST_ANY,
				  now + 3600000000000ull, "k") ||
	       ipg_datapath_grant(dp, &listed, IPG_LIST_ANY, now - 1, "k") ||
	       ipg_datapath_grant(dp, &gone[0], IPG_LIST_ANY, now - 1, "k") ||
	       ipg_datapath_grant(dp, &gone[1], IPG_LIST_ANY, now - 1, "k");
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
			which == P_SHADOW		     ? IPG_MODE_SHADOW :
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

/* ---- named lists ----
 * The same corpus under several named lists at once: random overlapping
 * entries (with each other and the default list), destinations of both
 * families (one handed over in IPv4-mapped form), some lists disabled, one
 * under its own override, grants scoped to one list and to every list.
 * Frames go to the lists' destinations (IPv6 frames also to the mapped form
 * of their IPv4 ones), to this host, or anywhere. Program and model must
 * agree on the action and, for one frame in 8, on the counter of the list
 * that judged (and no other list's) and on the rule hit. */

#define N_NAMED 4
#define N_NROUNDS 4
#define POOL4 6

struct named {
	char name[32];
	uint32_t id;
	struct ipg_policy_spec pol;
	struct ipg_prefix dsts[2 * POOL4 + 2];
	size_t n_dsts;
	bool override;
};
static struct named named[N_NAMED];
/* Destinations the lists share out each round: POOL4 IPv4, POOL4 IPv6,
 * then one IPv4 address in IPv4-mapped IPv6 form. */
static struct ipg_prefix dst_pool[2 * POOL4 + 1];
/* Live grants as the model sees them, and the list each opens. */
static struct ipg_prefix ngrants[4];
static uint32_t ngrant_lists[4];
static struct ipg_prefix outsider[2];

static const char *const entry_pool[] = {
	"203.0.113.0/24",
	"203.0.113.0/25",
	"203.0.113.45",
	"198.51.100.0/24",
	"198.51.100.7",
	"192.0.2.0/24",
	"192.0.2.128/25",
	"192.0.2.200",
	"198.18.0.0/15",
	"198.18.0.66",
	"198.18.0.64/28",
	"0.0.0.0/0",
	"2001:db8::/32",
	"2001:db8:1::/48",
	"2001:db8:2::1",
	"2001:db8:3:4::/64",
	"2001:db8:ff::66",
	"2001:db8:ff::/48",
	"::/0",
};

static int parse_pool(void)
{
	char buf[64];

	for (int i = 0; i < POOL4; i++) {
		snprintf(buf, sizeof(buf), "198.18.%d.1", 10 + i);
		if (ipg_addr_parse(buf, &dst_pool[i], NULL))
			return -1;
		snprintf(buf, sizeof(buf), "2001:db8:a:%d::1", i);
		if (ipg_addr_parse(buf, &dst_pool[POOL4 + i], NULL))
			return -1;
	}
	/* Not through the parser, which would make it IPv4. */
	memset(&dst_pool[2 * POOL4], 0, sizeof(dst_pool[0]));
	dst_pool[2 * POOL4].family = 6;
	dst_pool[2 * POOL4].len = 128;
	return inet_pton(AF_INET6, "::ffff:198.18.16.1",
			 dst_pool[2 * POOL4].addr) == 1 &&
			       !ipg_addr_parse(OUTSIDER4, &outsider[0], NULL) &&
			       !ipg_addr_parse(OUTSIDER6, &outsider[1], NULL) ?
		       0 :
		       -1;
}

/* A random policy for named list @i in round @round. named[0] guards this
 * host's IPv6 address in reject mode; named[1] holds the scoped grant and
 * so never allows the outsiders (in odd rounds it runs in shadow mode);
 * of the others one is disabled and one under its own override. Some
 * entries have expired, some expire later. */
static void random_policy(int i, int round, struct ipg_policy_spec *s)
{
	static const struct {
		int proto;
		uint16_t port;
		unsigned one_in;
	} ports[] = { { IPPROTO_UDP, 443, 2 },
		      { IPPROTO_TCP, 8443, 2 },
		      { IPPROTO_TCP, 80, 2 },
		      { IPPROTO_UDP, 80, 4 } };

	ipg_policy_init(s);
	s->kern.enabled = i != 2 + round % 2;
	s->kern.mode = i == 0 || below(2) ? IPG_MODE_REJECT : IPG_MODE_DROP;
	/* named[1] runs in shadow mode in odd rounds. */
	if (i == 1 && round % 2)
		s->kern.mode = IPG_MODE_SHADOW;
	ipg_policy_set_port(s, IPPROTO_TCP, 443, true);
	for (size_t k = 0; k < sizeof(ports) / sizeof(ports[0]); k++)
		if (!below(ports[k].one_in))
			ipg_policy_set_port(s, ports[k].proto, ports[k].port,
					    true);
	for (size_t k = 0, e; k < sizeof(entry_pool) / sizeof(entry_pool[0]);
	     k++) {
		struct ipg_prefix p;

		if (ipg_prefix_parse(entry_pool[k], &p, NULL))
			abort();
		if (below(p.len ? 3 : 8))
			continue;
		if (i == 1 && (ipg_prefix_contains(&p, &outsider[0]) ||
			       ipg_prefix_contains(&p, &outsider[1])))
			continue;
		policy_allow(s, entry_pool[k]);
		/* One entry in four has expired (the program must look past
		 * it, to a shorter one), one in eight expires in an hour;
		 * chosen without the generator, whose sequence picks ports. */
		e = (k * 7 + (size_t)i * 3 + (size_t)round) % 8;
		if (e < 2)
			s->entries[s->n_entries - 1].expires =
				(int64_t)time(NULL) - 60;
		else if (e == 2)
			s->entries[s->n_entries - 1].expires =
				(int64_t)time(NULL) + 3600;
	}
}

/* Sets up round @round: the default list, each named list's policy,
 * override and destinations, the grants. Round 1 runs the default list's
 * own override; round 2 first replaces named[3] by a new list (which must
 * take its id); round 3 runs the host-wide override. */
static void named_round(int round)
{
	struct ipg_prefix listed, host6;
	struct ipg_error e = { { 0 } };
	uint64_t now = ipg_boot_ns(), later = now + 3600000000000ull;

	policy_standard(&pol);
	pol.kern.mode = round % 2 ? IPG_MODE_DROP : IPG_MODE_REJECT;
	if (ipg_datapath_apply(dp, &pol, &e))
		FAIL("apply default: %s", e.msg);
	ASSERT_OK(ipg_datapath_set_list_override(dp, IPG_LIST_DEFAULT,
						 round == 1 ? later : 0));
	ASSERT_OK(ipg_datapath_set_override(dp, round == 3 ? later : 0));
	if (round == 2) {
		uint32_t old = named[3].id;

		if (ipg_datapath_list_close(dp, old, &e))
			FAIL("close: %s", e.msg);
		snprintf(named[3].name, sizeof(named[3].name), "named-3b");
		if (ipg_datapath_list_open(dp, named[3].name, &named[3].id, &e))
			FAIL("open: %s", e.msg);
		ASSERT_EQ(named[3].id, old);
	}
	for (int i = 0; i < N_NAMED; i++) {
		struct named *l = &named[i];

		random_policy(i, round, &l->pol);
		if (ipg_datapath_apply_list(dp, l->id, &l->pol, &e))
			FAIL("apply %s: %s", l->name, e.msg);
		l->override = i == 3 - round % 2;
		ASSERT_OK(ipg_datapath_set_list_override(
			dp, l->id, l->override ? later : 0));
		l->n_dsts = 0;
	}
	/* Each list one IPv4 address of the pool, the others each to a
	 * random list or to none (1 in 5). */
	ASSERT_OK(ipg_addr_parse(HOST6, &host6, NULL));
	named[0].dsts[named[0].n_dsts++] = host6;
	for (size_t k = 0; k < sizeof(dst_pool) / sizeof(dst_pool[0]); k++) {
		unsigned to = k < N_NAMED ? (unsigned)(k + round) % N_NAMED :
					    below(N_NAMED + 1);

		if (to < N_NAMED)
			named[to].dsts[named[to].n_dsts++] = dst_pool[k];
	}
	for (int i = 0; i < N_NAMED; i++)
		if (ipg_datapath_set_dsts(dp, named[i].id, named[i].dsts,
					  (int)named[i].n_dsts, &e))
			FAIL("set_dsts %s: %s", named[i].name, e.msg);
	/* Grants: scoped to named[1], to named[2], to the default list, to
	 * every list; expired ones scoped and not. */
	ASSERT_OK(ipg_addr_parse("2001:db8:2::1", &ngrants[2], NULL));
	ASSERT_OK(ipg_addr_parse("198.51.100.7", &ngrants[3], NULL));
	ASSERT_OK(ipg_addr_parse("2001:db8:1::5", &listed, NULL));
	ngrants[0] = outsider[0];
	ngrants[1] = outsider[1];
	ngrant_lists[0] = named[1].id;
	ngrant_lists[1] = IPG_LIST_ANY;
	ngrant_lists[2] = IPG_LIST_DEFAULT;
	ngrant_lists[3] = named[2].id;
	for (int k = 0; k < 4; k++)
		ASSERT_OK(ipg_datapath_grant(dp, &ngrants[k], ngrant_lists[k],
					     later, "k"));
	ASSERT_OK(ipg_datapath_grant(dp, &gone[0], named[1].id, now - 1, "k"));
	ASSERT_OK(ipg_datapath_grant(dp, &gone[1], IPG_LIST_ANY, now - 1, "k"));
	ASSERT_OK(ipg_datapath_grant(dp, &listed, named[0].id, now - 1, "k"));
}

/* Removes the named lists, grants and overrides. */
static void named_cleanup(void)
{
	struct ipg_error e = { { 0 } };
	uint32_t ids[IPG_LISTS_MIN];
	struct ipg_grant g[16];
	int n = ipg_datapath_list_ids(dp, ids, IPG_LISTS_MIN);

	for (int i = 0; i < n; i++)
		if (ids[i] != IPG_LIST_DEFAULT &&
		    ipg_datapath_list_close(dp, ids[i], &e))
			FAIL("close: %s", e.msg);
	n = ipg_datapath_grants(dp, g, 16);
	for (int i = 0; i < n; i++)
		ASSERT_OK(ipg_datapath_ungrant(dp, &g[i].addr, g[i].list_id));
	ASSERT_OK(ipg_datapath_set_override(dp, 0));
	ASSERT_OK(ipg_datapath_set_list_override(dp, IPG_LIST_DEFAULT, 0));
}

/* Points the destination of @f (corpus frame @c, not yet mutated) at a
 * list's address, its IPv4-mapped form, this host or a random address.
 * Returns 1 when it wrote an IPv4-mapped address. */
static int aim(struct frame *f, int c)
{
	int fam = c_family[c];
	size_t n = fam == 4 ? 4 : 16, at = dst_at[c];
	unsigned r = below(8);
	uint8_t a[16] = { 0 };
	int mapped = 0;

	if (at + n > f->len)
		return 0;
	if (r < 4) {
		/* A pool address: of the frame's family, or for IPv6
		 * frames one in three the mapped form of an IPv4 one. */
		unsigned k = below(POOL4 + 1);
		const struct ipg_prefix *p;

		if (fam == 6 && below(3)) {
			p = &dst_pool[POOL4 + below(POOL4)];
			memcpy(a, p->addr, 16);
		} else {
			p = k == POOL4 ? &dst_pool[2 * POOL4] : &dst_pool[k];
			const uint8_t *v4 = p->family == 4 ? p->addr :
							     p->addr + 12;

			if (fam == 4) {
				memcpy(a, v4, 4);
			} else {
				a[10] = a[11] = 0xff;
				memcpy(a + 12, v4, 4);
				mapped = 1;
			}
		}
	} else if (r < 6) {
		return 0; /* this host's, or its neighbour's */
	} else if (r == 6) {
		for (size_t i = 0; i < n; i++)
			a[i] = (uint8_t)next_rand();
	} else {
		inet_pton(fam == 4 ? AF_INET : AF_INET6,
			  fam == 4 ? HOST4 : HOST6, a);
	}
	memcpy(f->b + at, a, n);
	return mapped;
}

/* Whether @f (from corpus frame @c) still comes from @src. */
static int from_src(const struct frame *f, int c, const struct ipg_prefix *src)
{
	size_t n = src->family == 4 ? 4 : 16, at = c < 0 ? 0 : gone_at[c];

	return c >= 0 && c_family[c] == src->family &&
	       f->start == corpus[c].start && at + n <= f->len &&
	       !memcmp(f->b + at, src->addr, n);
}

static const struct ipg_policy_spec *named_spec(uint32_t id)
{
	for (int i = 0; i < N_NAMED; i++)
		if (named[i].id == id)
			return &named[i].pol;
	return id == IPG_LIST_DEFAULT ? &pol : NULL;
}

/* Counts of what the named run reached, for the closing checks. */
struct named_reach {
	long judged[N_NROUNDS][1 + N_NAMED]; /* by the default, named[i] */
	long stat[IPG_STAT_MAX]; /* verdicts of named lists */
	long scoped_pass, scoped_shut, any_pass, mapped_named;
};

static void named_frame(long i, int round, struct named_reach *R,
			long *mismatches)
{
	struct ipg_verdict_list vl[N_NAMED];
	uint64_t lb[IPG_STAT_MAX], la[IPG_STAT_MAX], tb[IPG_STAT_MAX],
		ta[IPG_STAT_MAX], hb = 0, ha = 0;
	int check = (i & 7) == 0, c = -1, mapped = 0, action;
	const struct ipg_policy_spec *s;
	struct ipg_verdict v;
	uint32_t rule = 0;
	struct frame f;

	if (below(10) == 0) {
		random_frame(&f);
	} else {
		c = (int)below((unsigned)n_corpus);
		f = corpus[c];
		mapped = aim(&f, c);
		if (below(2))
			mutate(&f);
	}
	for (int k = 0; k < N_NAMED; k++)
		vl[k] = (struct ipg_verdict_list){
			.id = named[k].id,
			.policy = &named[k].pol,
			.dsts = named[k].dsts,
			.n_dsts = named[k].n_dsts,
			.override_active = named[k].override,
		};
	ipg_verdict_eval(
		&pol,
		&(struct ipg_verdict_env){ .override_active = round == 3,
					   .default_override = round == 1,
					   .grants = ngrants,
					   .n_grants = 4,
					   .grant_lists = ngrant_lists,
					   .lists = vl,
					   .n_lists = N_NAMED,
					   .local = local,
					   .n_local = 2,
					   .frame = f.start,
					   .now = (int64_t)time(NULL) },
		f.b, f.len, &v);
	s = named_spec(v.list);
	if (!s) {
		fprintf(stderr, "frame %ld: the model names list %u\n", i,
			v.list);
		(*mismatches)++;
		return;
	}
	if (v.entry >= 0)
		rule = s->entries[v.entry].rule_id;
	if (check && (ipg_datapath_list_stats(dp, v.list, lb) ||
		      ipg_datapath_stats(dp, tb) ||
		      (v.entry >= 0 && ipg_datapath_rule_hits(dp, rule, &hb))))
		FAIL("reading counters");
	ASSERT_OK(ipg_datapath_run_frame(dp, f.start, f.b, f.len, !check,
					 &action, NULL, NULL));
	for (int k = 0; k <= N_NAMED; k++)
		R->judged[round][k] += k ? v.list == named[k - 1].id :
					   v.list == IPG_LIST_DEFAULT;
	if (v.list != IPG_LIST_DEFAULT) {
		R->stat[v.stat]++;
		R->mapped_named += mapped;
		R->any_pass += v.stat == IPG_STAT_PASS_BREAKGLASS &&
			       from_src(&f, c, &outsider[1]);
	}
	if (from_src(&f, c, &outsider[0])) {
		R->scoped_pass += v.stat == IPG_STAT_PASS_BREAKGLASS &&
				  v.list == named[1].id;
		R->scoped_shut += v.stat == IPG_STAT_DROP_DENIED &&
				  v.list != named[1].id;
	}
	if (action != v.action) {
		fprintf(stderr,
			"frame %ld (%s, round %d): program %s, model %s (%s, "
			"list %u):\n",
			i, ipg_frame_name(f.start), round,
			ipg_action_name(action), ipg_action_name(v.action),
			ipg_stat_name(v.stat), v.list);
		hexdump(&f);
		(*mismatches)++;
		return;
	}
	if (!check)
		return;
	if (ipg_datapath_list_stats(dp, v.list, la) ||
	    ipg_datapath_stats(dp, ta) ||
	    (v.entry >= 0 && ipg_datapath_rule_hits(dp, rule, &ha)))
		FAIL("reading counters");
	for (int k = 0; k < IPG_STAT_MAX; k++) {
		uint64_t want = k == (int)v.stat;

		/* The judging list's counter, and no other list's: the
		 * total moves by the one count alone. */
		if (la[k] - lb[k] != want || ta[k] - tb[k] != want) {
			fprintf(stderr,
				"frame %ld (round %d): counter %s moved by "
				"%llu on list %u, %llu in all; model says %s "
				"on list %u:\n",
				i, round, ipg_stat_name(k),
				(unsigned long long)(la[k] - lb[k]), v.list,
				(unsigned long long)(ta[k] - tb[k]),
				ipg_stat_name(v.stat), v.list);
			hexdump(&f);
			(*mismatches)++;
			return;
		}
	}
	if (v.entry >= 0 && ha - hb != 1) {
		fprintf(stderr,
			"frame %ld (round %d): rule %u of list %u (entry %d) "
			"moved by %llu:\n",
			i, round, rule, v.list, v.entry,
			(unsigned long long)(ha - hb));
		hexdump(&f);
		(*mismatches)++;
	}
}

TEST(test_differential_named_lists_xdp_equals_reference_model)
{
	const char *seed_env = getenv("IPGATE_FUZZ_SEED");
	const char *count_env = getenv("IPGATE_FUZZ_COUNT");
	uint64_t seed = seed_env ? strtoull(seed_env, NULL, 0) : 0x1a7e;
	long count = count_env ? atol(count_env) : 200000, mismatches = 0;
	static struct named_reach R;
	struct ipg_error e = { { 0 } };

	rng = (seed ? seed : 1) ^ 0x5eed;
	memset(&R, 0, sizeof(R));
	/* Nothing of an earlier case: no list, grant or override. */
	CHECK(named_cleanup());
	if (!n_corpus)
		build_corpus();
	ASSERT_OK(parse_pool());
	ASSERT_OK(ipg_addr_parse(HOST4, &local[0], NULL));
	ASSERT_OK(ipg_addr_parse(HOST6, &local[1], NULL));
	ASSERT_OK(ipg_datapath_set_local_addrs(dp, local, 2));
	for (int i = 0; i < N_NAMED; i++) {
		snprintf(named[i].name, sizeof(named[i].name), "named-%u",
			 (unsigned)i);
		if (ipg_datapath_list_open(dp, named[i].name, &named[i].id, &e))
			FAIL("open: %s", e.msg);
	}
	printf("# named lists: seed 0x%llx, %ld frames\n",
	       (unsigned long long)seed, count);
	for (long i = 0; i < count && mismatches < 5; i++) {
		int round = (int)(i * N_NROUNDS / count);

		if (i == 0 || round != (int)((i - 1) * N_NROUNDS / count)) {
			named_round(round);
			if (harness_failed_now)
				break;
		}
		named_frame(i, round, &R, &mismatches);
		if (harness_failed_now)
			break;
	}
	{
		int failed = harness_failed_now;

		harness_failed_now = 0;
		named_cleanup();
		harness_failed_now |= failed;
	}
	if (harness_failed_now)
		return;
	printf("#   named lists' verdicts:\n");
	for (int s = 0; s < IPG_STAT_MAX; s++)
		printf("#   %-20s %10ld\n", ipg_stat_name(s), R.stat[s]);
	printf("#   %-20s %10ld\n", "scoped_grant_pass", R.scoped_pass);
	printf("#   %-20s %10ld\n", "scoped_grant_shut", R.scoped_shut);
	printf("#   %-20s %10ld\n", "any_grant_pass", R.any_pass);
	printf("#   %-20s %10ld\n", "mapped_dst_named", R.mapped_named);
	ASSERT_EQ(mismatches, 0);
	/* Every list judged frames in every round, and named lists reached
	 * every outcome but non-IP (always the default list's). */
	for (int r = 0; r < N_NROUNDS; r++)
		for (int k = 0; k <= N_NAMED; k++)
			if (!R.judged[r][k])
				FAIL("round %d: list %s judged no frame", r,
				     k ? named[k - 1].name : "default");
	for (int s = 0; s < IPG_STAT_MAX; s++)
		if (s != IPG_STAT_PASS_NON_IP && !R.stat[s])
			FAIL("no frame to a named list ended in %s",
			     ipg_stat_name(s));
	ASSERT_EQ(R.stat[IPG_STAT_PASS_NON_IP], 0);
	ASSERT_TRUE(R.scoped_pass > 0);
	ASSERT_TRUE(R.scoped_shut > 0);
	ASSERT_TRUE(R.any_pass > 0);
	ASSERT_TRUE(R.mapped_named > 0);
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
