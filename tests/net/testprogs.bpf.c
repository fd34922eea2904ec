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
