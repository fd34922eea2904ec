/* SPDX-License-Identifier: GPL-2.0 */
/* Where the data the XDP program sees starts; it picks one of the program's
 * two entry points, and the reference model and probes follow it. */
#ifndef IPGATE_FRAME_H
#define IPGATE_FRAME_H

enum ipg_frame {
	/* An Ethernet header (Ethernet and loopback devices): ipgate_xdp. */
	IPG_FRAME_ETH = 0,
	/* The IP header itself, the version nibble telling the family
	 * (header-less devices such as tun and WireGuard, which run XDP in
	 * generic mode only): ipgate_xdp_l3. */
	IPG_FRAME_IP = 1,
};

#endif
