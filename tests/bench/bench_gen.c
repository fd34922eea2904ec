// SPDX-License-Identifier: GPL-2.0
/* The traffic generator of the drop-rate benchmark: BPF_PROG_TEST_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES runs xdp_gen on COUNT copies of a 64-byte TCP
 * SYN to DST:443, each with a random source in SRC/BITS, redirected out of
 * IFNAME. Prints "gen SENT SECONDS".
 *   bench_gen IFNAME DST_MAC SRC_MAC DST_IP SRC_BASE BITS COUNT */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <netinet/in.h>

#include "bench.skel.h"
#include "packet.h"

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4],
		   &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

int main(int argc, char **argv)
{
	struct ipg_pkt_spec s = { .family = 4,
				  .proto = IPPROTO_TCP,
				  .sport = 40000,
				  .dport = 443,
				  .payload_len = 10 };
	struct bench *skel;
	struct bpf_program *prog;
	uint8_t frame[128];
	struct in_addr dst, base;
	struct timespec t0, t1;
	unsigned long long count;
	unsigned bits, ifindex;
	size_t len;
	int r;

	if (argc < 8) {
		fprintf(stderr,
			"usage: bench_gen IFNAME DST_MAC SRC_MAC DST_IP "
			"SRC_BASE BITS COUNT\n");
		return 2;
	}
	ifindex = if_nametoindex(argv[1]);
	bits = (unsigned)atoi(argv[6]);
	count = strtoull(argv[7], NULL, 10);
	if (!ifindex || !inet_aton(argv[4], &dst) ||
	    !inet_aton(argv[5], &base) || bits > 24 || !count) {
		fprintf(stderr, "bench_gen: bad arguments\n");
		return 2;
	}
	memcpy(s.dst, &dst, 4);
	memcpy(s.src, &base, 4);
	len = ipg_pkt_build(&s, frame, sizeof(frame));
	if (parse_mac(argv[2], frame) || parse_mac(argv[3], frame + 6)) {
		fprintf(stderr, "bench_gen: bad MAC\n");
		return 2;
	}
	skel = bench__open();
	if (!skel)
		return 1;
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, prog == skel->progs.xdp_gen);
	skel->rodata->gen_ifindex = ifindex;
	skel->rodata->gen_src_base = base.s_addr;
	skel->rodata->gen_src_mask = (1u << bits) - 1;
	if (bench__load(skel)) {
		fprintf(stderr, "bench_gen: cannot load the generator\n");
		return 1;
	}
	prog = skel->progs.xdp_gen;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame,
		    .data_size_in = (__u32)len, .repeat = (__u32)count,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = 64);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = bpf_prog_test_run_opts(bpf_program__fd(prog), &o);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (r) {
		fprintf(stderr, "bench_gen: test run: %s\n", strerror(errno));
		return 1;
	}
	printf("gen %llu %.6f\n", count,
	       (double)(t1.tv_sec - t0.tv_sec) +
		       (t1.tv_nsec - t0.tv_nsec) / 1e9);
	bench__destroy(skel);
	return 0;
}
