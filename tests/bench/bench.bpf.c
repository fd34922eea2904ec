// SPDX-License-Identifier: GPL-2.0
/* The contenders ipgate is measured against, and the traffic generator:
 * xdp_floor (nothing at all), xdp_textbook (a fixed Ethernet/IPv4 parse,
 * the port rule and one LPM lookup: the filter of a tutorial), xdp_drop_all
 * (the ceiling of a drop rate), xdp_gen (BPF_F_TEST_XDP_LIVE_FRAMES:
 * randomises the source and redirects into a veth). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "ipgate/policy.h"

char LICENSE[] SEC("license") = "GPL";

/* The generator's target and its source range (network order base, host
 * order mask of the random bits). */
const volatile __u32 gen_ifindex = 0;
const volatile __u32 gen_src_base = 0;
const volatile __u32 gen_src_mask = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ipg_lpm_v4);
	__type(value, __u32);
} textbook_allow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} drop_count SEC(".maps");

SEC("xdp")
int xdp_floor(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int xdp_textbook(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data,
	     *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct tcphdr *tcp = (void *)(ip + 1);
	struct ipg_lpm_v4 key = { .prefixlen = 32 };

	if ((void *)(tcp + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_TCP || tcp->dest != bpf_htons(443))
		return XDP_PASS;
	__builtin_memcpy(key.addr, &ip->saddr, 4);
	return bpf_map_lookup_elem(&textbook_allow, &key) ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int xdp_drop_all(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&drop_count, &zero);

	if (n)
		*n += 1;
	return XDP_DROP;
}

SEC("xdp")
int xdp_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data,
	     *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);

	if ((void *)(ip + 1) > end)
		return XDP_ABORTED;
	ip->saddr = gen_src_base |
		    bpf_htonl(bpf_get_prandom_u32() & gen_src_mask);
	return bpf_redirect(gen_ifindex, 0);
}
