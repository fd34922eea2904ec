// SPDX-License-Identifier: GPL-2.0
/* Per-packet cost under BPF_PROG_TEST_RUN: ipgate against the floor (an
 * empty XDP_PASS program) and a textbook filter, on the same frames and
 * the same prefixes, for table sizes from 1 to 1M. Rounds interleave the
 * contenders; each line printed is one measurement:
 *   pkt PROG CASE SIZE ROUND NS_PER_PACKET
 * and, at the end, the time to build and flip a 1M-prefix slot:
 *   build SIZE SECONDS PEAK_RSS_KB
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

static void add_frame(const char *name, const char *src, uint16_t dport,
		      int vlan)
{
	struct ipg_pkt_spec s = { .proto = IPPROTO_TCP,
				  .sport = 40000,
				  .dport = dport,
				  .payload_len = 10 };
	struct ipg_prefix p;
	struct frame *f = &frames[n_frames++];

	ipg_addr_parse(src, &p, NULL);
	s.family = p.family;
	memcpy(s.src, p.addr, 16);
	if (p.family == 4) {
		ipg_addr_parse("198.18.0.1", &p, NULL);
	} else {
		ipg_addr_parse("2001:db8:7::1", &p, NULL);
		s.payload_len = 0;
	}
	memcpy(s.dst, p.addr, 16);
	s.n_vlan = vlan;
	f->name = name;
	f->len = ipg_pkt_build(&s, f->b, sizeof(f->b));
	f->v6 = s.family == 6;
	f->textbook = s.family == 4 && !vlan;
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
	ipg_rule_id id = 1;

	memcpy(k.addr, p->addr, p->family == 4 ? 4 : 16);
	return bpf_map_update_elem(fd, &k, &id, flags) ? -errno : 0;
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

int main(int argc, char **argv)
{
	static const size_t full_sizes[] = { 1, 50, 10000, 100000, 1000000 };
	static const size_t quick_sizes[] = { 1, 50, 10000 };
	int quick = argc > 1 && !strcmp(argv[1], "--quick");
	const size_t *sizes = quick ? quick_sizes : full_sizes;
	int n_sizes = quick ? 3 : 5, rounds = quick ? 3 : 5;
	unsigned repeat = quick ? 200000 : 1000000;
	struct ipg_datapath_opts dopts = { .trie_capacity = 1100000 };
	static struct ipg_policy_spec pol;
	struct ipg_datapath *dp = NULL;
	struct ipg_error e = { { 0 } };
	struct bench *skel;
	int floor_fd, tb_fd, ipg_fd, slot_fd[2];
	__u32 zero = 0, word, slot;
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
	ipg_policy_init(&pol);
	pol.kern.enabled = 1;
	ipg_policy_set_port(&pol, IPPROTO_TCP, 443, true);
	if (ipg_datapath_apply(dp, &pol, &e)) {
		fprintf(stderr, "bench: %s\n", e.msg);
		return 1;
	}
	/* ipg_active[0]: bit 0 the default list's live slot, bit 1 whether
	 * named lists claim destinations (kept as is by the flip below). */
	if (bpf_map_lookup_elem(ipg_datapath_map_fd(dp, "ipg_active"), &zero,
				&word)) {
		fprintf(stderr, "bench: cannot read ipg_active\n");
		return 1;
	}
	slot = word & IPG_ACTIVE_SLOT;
	snprintf(name, sizeof(name), "ipg_v4_slot%u", slot);
	slot_fd[0] = ipg_datapath_map_fd(dp, name);
	snprintf(name, sizeof(name), "ipg_v6_slot%u", slot);
	slot_fd[1] = ipg_datapath_map_fd(dp, name);
	ipg_fd = ipg_datapath_prog_fd(dp);

	/* The textbook filter looks up the very trie ipgate uses: the same
	 * prefixes in the same kernel object, node for node. */
	skel = bench__open();
	if (!skel || bpf_map__reuse_fd(skel->maps.textbook_allow, slot_fd[0]) ||
	    bench__load(skel)) {
		fprintf(stderr, "bench: cannot load the contenders\n");
		return 1;
	}
	floor_fd = bpf_program__fd(skel->progs.xdp_floor);
	tb_fd = bpf_program__fd(skel->progs.xdp_textbook);

	for (int si = 0; si < n_sizes; si++) {
		size_t n = sizes[si];

		if (clear(slot_fd[0]) || clear(slot_fd[1]) ||
		    fill(slot_fd[0], 4, n, 42) || fill(slot_fd[1], 6, n, 43)) {
			fprintf(stderr, "bench: cannot fill %zu prefixes\n", n);
			return 1;
		}
		for (int r = 0; r < rounds; r++) {
			for (int fi = 0; fi < n_frames; fi++) {
				const struct frame *f = &frames[fi];

				printf("pkt ipgate %s %zu %d %.2f\n", f->name,
				       n, r, run_ns(ipg_fd, f, repeat));
				if (f->textbook)
					printf("pkt textbook %s %zu %d %.2f\n",
					       f->name, n, r,
					       run_ns(tb_fd, f, repeat));
				printf("pkt floor %s %zu %d %.2f\n", f->name, n,
				       r, run_ns(floor_fd, f, repeat));
			}
			fflush(stdout);
		}
	}

	/* Building a slot of 1M prefixes (half IPv4, half IPv6) and flipping
	 * to it, as apply does (without the 1,024-entry cap of a spec). */
	if (!quick) {
		struct rusage ru;
		double t0 = now_s();
		__u32 other = slot ^ 1,
		      flipped = (word & ~IPG_ACTIVE_SLOT) | other;
		int ofd[2];

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
	bench__destroy(skel);
	ipg_datapath_close(dp);
	return 0;
}
