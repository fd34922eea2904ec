#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Sends fragmented UDP datagrams with scapy, from the namespace it runs
in. Each argument is DST,PORT,ORDER,MARKER: ORDER is in, rev (reversed) or
overlap (the second fragment rewrites bytes of the first); the payload
carries MARKER so a listener's log shows which datagrams arrived."""
import sys
import time

from scapy.all import IP, IPv6, IPv6ExtHdrFragment, UDP, Raw, conf, send
from scapy.layers.inet import fragment
from scapy.layers.inet6 import fragment6

conf.verb = 0


def pieces(dst, port, marker):
    payload = (marker + "-" * 64)[:64].encode()
    if ":" in dst:
        p = IPv6(dst=dst) / IPv6ExtHdrFragment(id=int(time.time() * 1000) & 0xffffffff) / \
            UDP(sport=40000, dport=port) / Raw(payload)
        return fragment6(p, 72)  # 3 pieces of 24 bytes
    p = IP(dst=dst, id=int(time.time() * 1000) & 0xffff) / UDP(sport=40000, dport=port) / Raw(payload)
    return fragment(p, fragsize=24)


def main():
    for arg in sys.argv[1:]:
        dst, port, order, marker = arg.split(",")
        frags = pieces(dst, int(port), marker)
        if order == "rev":
            frags = frags[::-1]
        elif order == "overlap":
            # A second copy of the last fragment moved 8 bytes back.
            extra = frags[-1].copy()
            if ":" in dst:
                extra[IPv6ExtHdrFragment].offset -= 1
            else:
                extra[IP].frag -= 1
            frags = [frags[0], extra] + frags[1:]
        for f in frags:
            send(f)
        time.sleep(0.05)


main()
