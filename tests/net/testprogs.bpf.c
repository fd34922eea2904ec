// SPDX-License-Identifier: GPL-2.0
/* Test-only programs. VLAN: this kernel has no VLAN devices, so clients
 * push tags in-band on egress (the API host's XDP program sees tagged
 * frames) and the API host pops them on tc ingress, after XDP has judged
 * the frame, as a VLAN subinterface would. xdp_pass: a veth delivers
 * XDP_TX frames (reject mode's resets) only when its peer runs XDP. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* Inserts @n tags after the MAC addresses: 802.1ad outermost when two. */
static __always_inline int push_tags(struct __sk_buff *skb, int n)
{
	__u16 hdr[5];
	__be16 proto;

	if (bpf_skb_load_bytes(skb, 12, &proto, 2))
		return TC_ACT_OK;
	if (proto != bpf_htons(ETH_P_IP) && proto != bpf_htons(ETH_P_IPV6))
		return TC_ACT_OK;
	if (bpf_skb_adjust_room(skb, 4 * n, BPF_ADJ_ROOM_MAC, 0))
		return TC_ACT_SHOT;
	if (n == 2) {
		hdr[0] = bpf_htons(ETH_P_8021AD);
		hdr[1] = bpf_htons(100);
		hdr[2] = bpf_htons(ETH_P_8021Q);
		hdr[3] = bpf_htons(200);
		hdr[4] = proto;
		bpf_skb_store_bytes(skb, 12, hdr, 10, 0);
	} else {
		hdr[0] = bpf_htons(ETH_P_8021Q);
		hdr[1] = bpf_htons(200);
		hdr[2] = proto;
		bpf_skb_store_bytes(skb, 12, hdr, 6, 0);
	}
	return TC_ACT_OK;
}

SEC("tc")
int vlan_push1(struct __sk_buff *skb)
{
	return push_tags(skb, 1);
}

SEC("tc")
int vlan_push2(struct __sk_buff *skb)
{
	return push_tags(skb, 2);
}

SEC("tc")
int vlan_pop(struct __sk_buff *skb)
{
	/* The stack moved the outer tag out of the data; pop it, then an
	 * inner one the same way. */
	for (int i = 0; i < 2; i++) {
		if (!skb->vlan_present)
			break;
		if (bpf_skb_vlan_pop(skb))
			return TC_ACT_SHOT;
	}
	return TC_ACT_OK;
}

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* chain_drop80: an operator's own XDP program for `chain` (multi-buffer,
 * as ipgate's must be): drops TCP to port 80 and counts the TCP frames to
 * port 443 it sees (in seen443[0]), which must be only those ipgate
 * passed. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} seen443 SEC(".maps");

SEC("xdp.frags")
int chain_drop80(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data,
	     *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 *l3 = (void *)(eth + 1), proto;
	__u16 *ports;
	__u32 zero = 0;
	__u64 *n;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		if ((void *)(l3 + 20) > end)
			return XDP_PASS;
		proto = l3[9];
		ports = (void *)(l3 + (l3[0] & 0xf) * 4);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		if ((void *)(l3 + 40) > end)
			return XDP_PASS;
		proto = l3[6];
		ports = (void *)(l3 + 40);
	} else {
		return XDP_PASS;
	}
	if (proto != 6 || (void *)(ports + 2) > end)
		return XDP_PASS;
	if (ports[1] == bpf_htons(80))
		return XDP_DROP;
	if (ports[1] == bpf_htons(443)) {
		n = bpf_map_lookup_elem(&seen443, &zero);
		if (n)
			__sync_fetch_and_add(n, 1);
	}
	return XDP_PASS;
}
