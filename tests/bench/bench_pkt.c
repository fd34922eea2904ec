// SPDX-License-Identifier: GPL-2.0
/* Per-packet cost under BPF_PROG_TEST_RUN: ipgate against the floor (an
 * empty XDP_PASS program) and a textbook filter, on the same frames and
 * the same prefixes, for table sizes from 1 to 1M. Rounds interleave the
 * contenders; each line printed is one measurement:
 *   pkt PROG CASE SIZE ROUND NS_PER_PACKET
 * Up to 512 prefixes of each family go in through apply, as ipgated puts
 * them, so that IPv4 ones that fit are in the slot's range table; PROG
 * ipgate_trie is the same program on the same slot with its range table
 * switched off (the IPv4 trie walked instead), for what the table saves.
 * Larger sets are written straight into the live tries, the slot without
 * a range table, as a list too large for one has.
 * and the time to build and flip a 1M-prefix slot (full run only):
 *   build SIZE SECONDS PEAK_RSS_KB
 * Then named lists: ipgate with only the default list (lists0) against
 * ipgate holding 1,000 named lists of 50 entries, for a packet to one
 * named list's destination (lists1000) and to the default destination
 * (lists1000_default); every list holds the same 50 entries (PROG lists0,
 * lists1000, lists1000_default; SIZE 50), rounds interleaved, and the
 * time to open, fill and aim the 1,000 lists:
 *   lists_build SECONDS
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <sys/resource.h>

#include "bench.skel.h"
#include "datapath.h"
#include "ipgate/blocked.h"
#include "packet.h"
#include "policy.h"
#include "prefix.h"

#define ALLOWED4 "198.18.0.2"
#define DENIED4 "203.0.113.9"
#define ALLOWED6 "2001:db8:7::2"
#define DENIED6 "2001:db8:ff::9"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

struct frame {
	const char *name;
	uint8_t b[128];
	size_t len;
	int v6, textbook; /* the textbook filter parses IPv4 only */
};

static struct frame frames[8];
static int n_frames;

/* Builds @f: TCP from @src to @dst (NULL: the default destination of
 * @src's family) port @dport, with @vlan tags. */
static void make_frame(struct frame *f, const char *name, const char *src,
		       const char *dst, uint16_t dport, int vlan)
{
	struct ipg_pkt_spec s = { .proto = IPPROTO_TCP,
				  .sport = 40000,
				  .dport = dport,
				  .payload_len = 10 };
	struct ipg_prefix p;

	ipg_addr_parse(src, &p, NULL);
	s.family = p.family;
	memcpy(s.src, p.addr, 16);
	if (p.family == 4) {
		ipg_addr_parse(dst ? dst : "198.18.0.1", &p, NULL);
	} else {
		ipg_addr_parse(dst ? dst : "2001:db8:7::1", &p, NULL);
		s.payload_len = 0;
	}
	memcpy(s.dst, p.addr, 16);
	s.n_vlan = vlan;
	f->name = name;
	f->len = ipg_pkt_build(&s, f->b, sizeof(f->b));
	f->v6 = s.family == 6;
	f->textbook = s.family == 4 && !vlan;
}

static void add_frame(const char *name, const char *src, uint16_t dport,
		      int vlan)
{
	make_frame(&frames[n_frames++], name, src, NULL, dport, vlan);
}

/* A random prefix not covering @deny, with a realistic length mix. */
static void random_prefix(int family, const struct ipg_prefix *deny,
			  struct ipg_prefix *p)
{
	static const uint8_t len4[] = { 16, 20, 24, 24, 24, 24, 28, 32, 32, 32 };
	static const uint8_t len6[] = {
		32, 48, 48, 48, 48, 56, 56, 64, 64, 128
	};

	do {
		uint64_t a = next_rand(), b = next_rand();

		memset(p, 0, sizeof(*p));
		p->family = (uint8_t)family;
		memcpy(p->addr, &a, 8);
		memcpy(p->addr + 8, &b, 8);
		if (family == 6)
			p->addr[0] = (uint8_t)(0x20 | (p->addr[0] & 0x1f));
		p->len = family == 4 ? len4[a % 10] : len6[b % 10];
		for (unsigned i = p->len; i < 128; i++)
			p->addr[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
	} while (ipg_prefix_contains(p, deny));
}

static int put(int fd, const struct ipg_prefix *p, int flags)
{
	struct ipg_lpm_v6 k = { .prefixlen = p->len };
	struct ipg_rule v = { .id = 1, .prefixlen = p->len };

	memcpy(k.addr, p->addr, p->family == 4 ? 4 : 16);
	return bpf_map_update_elem(fd, &k, &v, flags) ? -errno : 0;
}

/* Fills trie @fd with @n prefixes of @family: the allowed source, then
 * random ones. Returns 0 or a negative errno. */
static int fill(int fd, int family, size_t n, uint64_t seed)
{
	struct ipg_prefix allow, deny, p;
	size_t have = 1;

	rng = seed;
	ipg_addr_parse(family == 4 ? ALLOWED4 : ALLOWED6, &allow, NULL);
	ipg_addr_parse(family == 4 ? DENIED4 : DENIED6, &deny, NULL);
	if (put(fd, &allow, BPF_ANY))
		return -errno;
	while (have < n) {
		int r;

		random_prefix(family, &deny, &p);
		r = put(fd, &p, BPF_NOEXIST);
		if (r == -EEXIST)
			continue;
		if (r)
			return r;
		have++;
	}
	return 0;
}

/* @s: enabled, tcp/443 protected, and fill()'s @n prefixes of each
 * family, as apply takes them. */
static int spec_fill(struct ipg_policy_spec *s, size_t n, struct ipg_error *e)
{
	ipg_policy_init(s);
	s->kern.enabled = 1;
	s->max_entries = (uint32_t)(2 * n);
	ipg_policy_set_port(s, IPPROTO_TCP, 443, true);
	for (int family = 4; family <= 6; family += 2) {
		struct ipg_prefix allow, deny, p;
		uint32_t want = s->n_entries + (uint32_t)n;
		int r;

		rng = family == 4 ? 42 : 43;
		ipg_addr_parse(family == 4 ? ALLOWED4 : ALLOWED6, &allow, NULL);
		ipg_addr_parse(family == 4 ? DENIED4 : DENIED6, &deny, NULL);
		r = ipg_policy_add(s, &allow, NULL, e);
		while (!r && s->n_entries < want) {
			random_prefix(family, &deny, &p);
			r = ipg_policy_add(s, &p, NULL, e);
			if (r == -EEXIST)
				r = 0;
		}
		if (r)
			return r;
	}
	return 0;
}

static int clear(int fd)
{
	struct ipg_lpm_v6 k;

	while (bpf_map_get_next_key(fd, NULL, &k) == 0)
		if (bpf_map_delete_elem(fd, &k))
			return -errno;
	return 0;
}

static double run_ns(int prog_fd, const struct frame *f, unsigned repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b,
		    .data_size_in = (__u32)f->len, .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &o))
		return -1;
	return (double)o.duration;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Named lists: how many, and the one whose destination the lists1000
 * frames aim at. List i is named c%04d and guards 198.19.(i / 250).(i %
 * 250 + 1) and 2001:db8:1:i::1 (i in hex), as scripts/bench.sh names them. */
#define N_LISTS 1000
#define AIMED 500

static void list_dst(int i, int family, char *buf, size_t len)
{
	if (family == 4)
		snprintf(buf, len, "198.19.%d.%d", i / 250, i % 250 + 1);
	else
		snprintf(buf, len, "2001:db8:1:%x::1", i);
}

/* @s: enabled, tcp/443 protected, max-entries 64, 50 entries: for each
 * family its allowed source and 24 random prefixes (from @seed) not
 * covering its denied source. */
static int make_spec(struct ipg_policy_spec *s, uint64_t seed,
		     struct ipg_error *e)
{
	ipg_policy_init(s);
	s->kern.enabled = 1;
	s->max_entries = 64;
	ipg_policy_set_port(s, IPPROTO_TCP, 443, true);
	rng = seed;
	for (int family = 4; family <= 6; family += 2) {
		struct ipg_prefix allow, deny, p;
		uint32_t want = s->n_entries + 25;
		int r;

		ipg_addr_parse(family == 4 ? ALLOWED4 : ALLOWED6, &allow, NULL);
		ipg_addr_parse(family == 4 ? DENIED4 : DENIED6, &deny, NULL);
		r = ipg_policy_add(s, &allow, NULL, e);
		while (!r && s->n_entries < want) {
			random_prefix(family, &deny, &p);
			r = ipg_policy_add(s, &p, NULL, e);
			if (r == -EEXIST)
				r = 0;
		}
		if (r)
			return r;
	}
	return 0;
}

/* One run of @f through @prog_fd; its XDP action, or -1. */
static int action_of(int prog_fd, const struct frame *f)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b,
		    .data_size_in = (__u32)f->len, .repeat = 1);

	if (bpf_prog_test_run_opts(prog_fd, &o))
		return -1;
	return (int)o.retval;
}

/* The named-lists phase (see the header). Returns 0 or 1. */
static int bench_lists(int rounds, unsigned repeat)
{
	static const char *const progs[] = { "lists0", "lists1000",
					     "lists1000_default" };
	static const struct {
		const char *name, *src;
		uint16_t dport;
		int action;
	} cases[] = {
		{ "v4_allowed", ALLOWED4, 443, XDP_PASS },
		{ "v4_denied", DENIED4, 443, XDP_DROP },
		{ "v4_unprotected", DENIED4, 80, XDP_PASS },
		{ "v6_allowed", ALLOWED6, 443, XDP_PASS },
		{ "v6_denied", DENIED6, 443, XDP_DROP },
		{ "v6_unprotected", DENIED6, 80, XDP_PASS },
	};
	enum { N_CASES = sizeof(cases) / sizeof(cases[0]) };
	static struct ipg_policy_spec spec;
	static char names[N_LISTS][8];
	static const char *name_of[N_LISTS];
	static uint32_t ids[N_LISTS];
	struct ipg_datapath_opts o0 = { 0 }, o1 = { 0 };
	struct ipg_datapath *dp[2] = { NULL, NULL };
	struct ipg_error e = { { 0 } };
	struct frame fr[3][N_CASES];
	uint64_t before[2][IPG_STAT_MAX], after[2][IPG_STAT_MAX];
	char d4[32], d6[48];
	static struct ipg_prefix dsts[2 * N_LISTS];
	static uint32_t dst_ids[2 * N_LISTS];
	double t_build = 0, t0;
	int fd[3], ret = 1;

	ipg_datapath_size(&o1, N_LISTS + 1, (N_LISTS + 1) * 64, 1, 2 * N_LISTS);
	if (ipg_datapath_open(&dp[0], &o0, &e) ||
	    ipg_datapath_open(&dp[1], &o1, &e) || make_spec(&spec, 42, &e) ||
	    ipg_datapath_apply(dp[0], &spec, &e) ||
	    ipg_datapath_apply(dp[1], &spec, &e))
		goto out;
	for (int i = 0; i < N_LISTS; i++) {
		snprintf(names[i], sizeof(names[i]), "c%04d", i);
		name_of[i] = names[i];
	}
	t0 = now_s();
	if (ipg_datapath_lists_open(dp[1], name_of, N_LISTS, ids, &e))
		goto out;
	t_build += now_s() - t0;
	for (int i = 0; i < N_LISTS; i++) {
		/* The aimed list holds the default list's very entries. */
		if (make_spec(&spec, i == AIMED ? 42 : 1000 + (uint64_t)i, &e))
			goto out;
		list_dst(i, 4, d4, sizeof(d4));
		list_dst(i, 6, d6, sizeof(d6));
		ipg_addr_parse(d4, &dsts[2 * i], NULL);
		ipg_addr_parse(d6, &dsts[2 * i + 1], NULL);
		dst_ids[2 * i] = dst_ids[2 * i + 1] = ids[i];
		t0 = now_s();
		if (ipg_datapath_apply_list(dp[1], ids[i], &spec, &e))
			goto out;
		t_build += now_s() - t0;
	}
	/* Every destination at once, as ipgated publishes them. */
	t0 = now_s();
	if (ipg_datapath_set_all_dsts(dp[1], dst_ids, dsts, 2 * N_LISTS, &e))
		goto out;
	t_build += now_s() - t0;
	printf("lists_build %.3f\n", t_build);
	fflush(stdout);

	/* Frames to the default destination, and to the aimed list's. */
	list_dst(AIMED, 4, d4, sizeof(d4));
	list_dst(AIMED, 6, d6, sizeof(d6));
	for (int c = 0; c < N_CASES; c++) {
		const char *dst = strchr(cases[c].src, ':') ? d6 : d4;

		make_frame(&fr[0][c], cases[c].name, cases[c].src, NULL,
			   cases[c].dport, 0);
		make_frame(&fr[1][c], cases[c].name, cases[c].src, dst,
			   cases[c].dport, 0);
		fr[2][c] = fr[0][c];
	}
	fd[0] = ipg_datapath_prog_fd(dp[0]);
	fd[1] = fd[2] = ipg_datapath_prog_fd(dp[1]);

	/* Each frame gets its verdict, and from the list it aims at: the
	 * aimed list and dp1's default list each count every case once. */
	if (ipg_datapath_list_stats(dp[1], ids[AIMED], before[0]) ||
	    ipg_datapath_list_stats(dp[1], IPG_LIST_DEFAULT, before[1])) {
		fprintf(stderr, "bench: cannot read the lists' counters\n");
		goto out;
	}
	for (int p = 0; p < 3; p++)
		for (int c = 0; c < N_CASES; c++)
			if (action_of(fd[p], &fr[p][c]) != cases[c].action) {
				fprintf(stderr,
					"bench: %s %s: XDP action %d, not %d\n",
					progs[p], cases[c].name,
					action_of(fd[p], &fr[p][c]),
					cases[c].action);
				goto out;
			}
	if (ipg_datapath_list_stats(dp[1], ids[AIMED], after[0]) ||
	    ipg_datapath_list_stats(dp[1], IPG_LIST_DEFAULT, after[1])) {
		fprintf(stderr, "bench: cannot read the lists' counters\n");
		goto out;
	}
	for (int l = 0; l < 2; l++)
		if (after[l][IPG_STAT_PASS_ALLOWED] -
				    before[l][IPG_STAT_PASS_ALLOWED] !=
			    2 ||
		    after[l][IPG_STAT_DROP_DENIED] -
				    before[l][IPG_STAT_DROP_DENIED] !=
			    2 ||
		    after[l][IPG_STAT_PASS_UNPROTECTED] -
				    before[l][IPG_STAT_PASS_UNPROTECTED] !=
			    2) {
			fprintf(stderr,
				"bench: the %s frames were not judged "
				"by their list\n",
				progs[l + 1]);
			goto out;
		}

	for (int r = 0; r < rounds; r++) {
		for (int c = 0; c < N_CASES; c++)
			for (int p = 0; p < 3; p++)
				printf("pkt %s %s 50 %d %.2f\n", progs[p],
				       cases[c].name, r,
				       run_ns(fd[p], &fr[p][c], repeat));
		fflush(stdout);
	}
	ret = 0;
out:
	if (ret && e.msg[0])
		fprintf(stderr, "bench: named lists: %s\n", e.msg);
	ipg_datapath_close(dp[1]);
	ipg_datapath_close(dp[0]);
	return ret;
}

/* Puts fill()'s @n prefixes of each family in the default list's live
 * slot (see the header): through apply when a list can hold them, else
 * straight into the live tries, the slot's range table switched off.
 * Returns the live slot, or -1. */
static int load_prefixes(struct ipg_datapath *dp, size_t n)
{
	static struct ipg_policy_spec s;
	struct ipg_error e = { { 0 } };
	int pfd = ipg_datapath_map_fd(dp, "ipg_policy");
	struct ipg_policy pol;
	__u32 zero = 0, word, slot;
	char name[32];

	if (2 * n <= IPG_RULES_MAX &&
	    (spec_fill(&s, n, &e) || ipg_datapath_apply(dp, &s, &e))) {
		fprintf(stderr, "bench: cannot apply %zu prefixes: %s\n", n,
			e.msg);
		return -1;
	}
	if (bpf_map_lookup_elem(ipg_datapath_map_fd(dp, "ipg_active"), &zero,
				&word)) {
		fprintf(stderr, "bench: cannot read ipg_active\n");
		return -1;
	}
	slot = word & IPG_ACTIVE_SLOT;
	if (2 * n <= IPG_RULES_MAX)
		return (int)slot;
	for (int f = 4; f <= 6; f += 2) {
		int fd;

		snprintf(name, sizeof(name), "ipg_v%d_slot%u", f, slot);
		fd = ipg_datapath_map_fd(dp, name);
		if (clear(fd) || fill(fd, f, n, f == 4 ? 42 : 43)) {
			fprintf(stderr, "bench: cannot fill %zu prefixes\n", n);
			return -1;
		}
	}
	/* The default list's slots are ipg_policy[slot]. */
	pol.flags = 0;
	if (bpf_map_lookup_elem(pfd, &slot, &pol) ||
	    (pol.flags &= (__u8)~IPG_POLICY_V4_TABLE,
	     bpf_map_update_elem(pfd, &slot, &pol, BPF_ANY))) {
		fprintf(stderr, "bench: cannot write slot %u\n", slot);
		return -1;
	}
	return (int)slot;
}

/* Switches the range table of the default list's live slot @slot on or
 * off; returns whether it was on, or -1. */
static int set_table(struct ipg_datapath *dp, __u32 slot, int on)
{
	int pfd = ipg_datapath_map_fd(dp, "ipg_policy"), was;
	struct ipg_policy pol;

	if (bpf_map_lookup_elem(pfd, &slot, &pol))
		return -1;
	was = !!(pol.flags & IPG_POLICY_V4_TABLE);
	pol.flags = (__u8)(on ? pol.flags | IPG_POLICY_V4_TABLE :
				pol.flags & ~IPG_POLICY_V4_TABLE);
	return bpf_map_update_elem(pfd, &slot, &pol, BPF_ANY) ? -1 : was;
}

int main(int argc, char **argv)
{
	static const size_t full_sizes[] = { 1, 50, 10000, 100000, 1000000 };
	static const size_t quick_sizes[] = { 1, 50, 10000 };
	int quick = argc > 1 && !strcmp(argv[1], "--quick");
	const size_t *sizes = quick ? quick_sizes : full_sizes;
	int n_sizes = quick ? 3 : 5, rounds = quick ? 3 : 5;
	unsigned repeat = quick ? 200000 : 1000000;
	struct ipg_datapath_opts dopts = { .trie_capacity = 1100000 };
	struct ipg_datapath *dp = NULL;
	struct ipg_error e = { { 0 } };
	int ipg_fd, slot;
	__u32 zero = 0, word;
	char name[32];

	add_frame("v4_allowed", ALLOWED4, 443, 0);
	add_frame("v4_denied", DENIED4, 443, 0);
	add_frame("v4_unprotected", DENIED4, 80, 0);
	add_frame("v6_allowed", ALLOWED6, 443, 0);
	add_frame("v6_denied", DENIED6, 443, 0);
	add_frame("v6_unprotected", DENIED6, 80, 0);
	add_frame("vlan_v4_denied", DENIED4, 443, 1);

	if (ipg_datapath_open(&dp, &dopts, &e)) {
		fprintf(stderr, "bench: %s\n", e.msg);
		return 1;
	}
	ipg_fd = ipg_datapath_prog_fd(dp);

	for (int si = 0; si < n_sizes; si++) {
		size_t n = sizes[si];
		struct bench *skel;
		int floor_fd, tb_fd, table;

		slot = load_prefixes(dp, n);
		if (slot < 0)
			return 1;
		/* The textbook filter looks up the very trie ipgate uses:
		 * the same prefixes in the same kernel object, node for
		 * node. */
		snprintf(name, sizeof(name), "ipg_v4_slot%d", slot);
		skel = bench__open();
		if (!skel ||
		    bpf_map__reuse_fd(skel->maps.textbook_allow,
				      ipg_datapath_map_fd(dp, name)) ||
		    bench__load(skel)) {
			fprintf(stderr, "bench: cannot load the contenders\n");
			return 1;
		}
		floor_fd = bpf_program__fd(skel->progs.xdp_floor);
		tb_fd = bpf_program__fd(skel->progs.xdp_textbook);
		table = set_table(dp, (__u32)slot, 1);
		if (table < 0 || set_table(dp, (__u32)slot, table) < 0) {
			fprintf(stderr, "bench: cannot read slot %d\n", slot);
			return 1;
		}
		/* Each frame gets its verdict, with the table and without. */
		for (int t = table; t >= 0; t--) {
			set_table(dp, (__u32)slot, t);
			for (int fi = 0; fi < n_frames; fi++) {
				const struct frame *f = &frames[fi];
				int want = strstr(f->name, "denied") ?
						   XDP_DROP :
						   XDP_PASS;

				if (action_of(ipg_fd, f) != want) {
					fprintf(stderr,
						"bench: %zu prefixes, %s%s: "
						"XDP action %d, not %d\n",
						n, f->name, t ? "" : " (trie)",
						action_of(ipg_fd, f), want);
					return 1;
				}
			}
		}
		set_table(dp, (__u32)slot, table);
		for (int r = 0; r < rounds; r++) {
			for (int fi = 0; fi < n_frames; fi++) {
				const struct frame *f = &frames[fi];

				printf("pkt ipgate %s %zu %d %.2f\n", f->name,
				       n, r, run_ns(ipg_fd, f, repeat));
				if (table && !f->v6) {
					set_table(dp, (__u32)slot, 0);
					printf("pkt ipgate_trie %s %zu %d "
					       "%.2f\n",
					       f->name, n, r,
					       run_ns(ipg_fd, f, repeat));
					set_table(dp, (__u32)slot, 1);
				}
				if (f->textbook)
					printf("pkt textbook %s %zu %d %.2f\n",
					       f->name, n, r,
					       run_ns(tb_fd, f, repeat));
				printf("pkt floor %s %zu %d %.2f\n", f->name, n,
				       r, run_ns(floor_fd, f, repeat));
			}
			fflush(stdout);
		}
		bench__destroy(skel);
	}

	/* The blocked-source log on a denied packet at 50 prefixes: off, and
	 * on at the default budget (a flood: past the first reports of each
	 * second only the window test). */
	if (load_prefixes(dp, 50) < 0)
		return 1;
	for (int r = 0; r < rounds; r++)
		for (int on = 0; on < 2; on++) {
			ipg_datapath_set_blocked_budget(
				dp, on ? IPG_BLOCKED_BUDGET_DEFAULT : 0);
			for (int fi = 0; fi < n_frames; fi++)
				if (strstr(frames[fi].name, "denied"))
					printf("pkt %s %s 50 %d %.2f\n",
					       on ? "log_on" : "log_off",
					       frames[fi].name, r,
					       run_ns(ipg_fd, &frames[fi],
						      repeat));
		}
	ipg_datapath_set_blocked_budget(dp, 0);

	/* Building a slot of 1M prefixes (half IPv4, half IPv6) and flipping
	 * to it, as apply does (without the 1,024-entry cap of a spec). */
	if (!quick) {
		struct rusage ru;
		double t0 = now_s();
		__u32 other, flipped;
		int ofd[2];

		if (bpf_map_lookup_elem(ipg_datapath_map_fd(dp, "ipg_active"),
					&zero, &word)) {
			fprintf(stderr, "bench: cannot read ipg_active\n");
			return 1;
		}
		other = (word & IPG_ACTIVE_SLOT) ^ 1;
		flipped = (word & ~IPG_ACTIVE_SLOT) | other;
		snprintf(name, sizeof(name), "ipg_v4_slot%u", other);
		ofd[0] = ipg_datapath_map_fd(dp, name);
		snprintf(name, sizeof(name), "ipg_v6_slot%u", other);
		ofd[1] = ipg_datapath_map_fd(dp, name);
		if (clear(ofd[0]) || clear(ofd[1]) ||
		    fill(ofd[0], 4, 500000, 7) || fill(ofd[1], 6, 500000, 8) ||
		    bpf_map_update_elem(ipg_datapath_map_fd(dp, "ipg_active"),
					&zero, &flipped, BPF_ANY)) {
			fprintf(stderr, "bench: 1M build failed\n");
			return 1;
		}
		getrusage(RUSAGE_SELF, &ru);
		printf("build 1000000 %.3f %ld\n", now_s() - t0, ru.ru_maxrss);
	}
	ipg_datapath_close(dp);
	return bench_lists(rounds, repeat);
}
