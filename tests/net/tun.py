#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A tun device's far end, for tests (stdlib only, run as root in the
device's namespace).

  tun.py syn DEV SRC DST PORT [--wait S]
      writes a TCP SYN from SRC to DST:PORT into tun device DEV (as if it
      arrived there) and prints what the stack sent back: "answered SYN-ACK",
      "answered RST" or "silent" (nothing within --wait seconds).
  tun.py make DEV --link-type N
      creates a persistent tun device DEV with link type N (ARPHRD_*)."""
import argparse
import fcntl
import ipaddress
import os
import select
import struct
import time

TUNSETIFF = 0x400454CA
TUNSETPERSIST = 0x400454CB
TUNSETLINK = 0x400454CD
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def tun_open(dev):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", dev.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def syn(src, dst, sport, dport):
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, 0x02, 64240, 0, 0)
    if s.version == 4:
        pseudo = s.packed + d.packed + struct.pack("!BBH", 0, 6, len(tcp))
    else:
        pseudo = s.packed + d.packed + struct.pack("!IxxxB", len(tcp), 6)
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    if s.version == 4:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0,
                         s.packed, d.packed)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    else:
        ip = struct.pack("!IHBB16s16s", 0x60000000, len(tcp), 6, 64, s.packed, d.packed)
    return ip + tcp


def reply_flags(pkt, src, dst, sport, dport):
    """The TCP flags of @pkt if it answers our SYN, else None."""
    v = pkt[0] >> 4
    if v == 4 and len(pkt) >= 40 and pkt[9] == 6:
        ihl = (pkt[0] & 15) * 4
        a, b, tcp = pkt[12:16], pkt[16:20], pkt[ihl:]
    elif v == 6 and len(pkt) >= 60 and pkt[6] == 6:
        a, b, tcp = pkt[8:24], pkt[24:40], pkt[40:]
    else:
        return None
    if (a != ipaddress.ip_address(dst).packed or b != ipaddress.ip_address(src).packed or
            struct.unpack("!HH", tcp[:4]) != (dport, sport)):
        return None
    return tcp[13]


def cmd_syn(o):
    fd = tun_open(o.dev)
    sport = 40000 + os.getpid() % 20000
    os.write(fd, syn(o.src, o.dst, sport, o.port))
    deadline = time.monotonic() + o.wait
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            print("silent")
            return
        f = reply_flags(os.read(fd, 65536), o.src, o.dst, sport, o.port)
        if f is not None:
            print("answered " + ("SYN-ACK" if f & 0x12 == 0x12 else
                                 "RST" if f & 0x04 else "0x%02x" % f))
            return


def cmd_make(o):
    fd = tun_open(o.dev)
    fcntl.ioctl(fd, TUNSETLINK, o.link_type)
    fcntl.ioctl(fd, TUNSETPERSIST, 1)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("syn")
    s.add_argument("dev")
    s.add_argument("src")
    s.add_argument("dst")
    s.add_argument("port", type=int)
    s.add_argument("--wait", type=float, default=1.0)
    m = sub.add_parser("make")
    m.add_argument("dev")
    m.add_argument("--link-type", type=int, required=True)
    o = p.parse_args()
    {"syn": cmd_syn, "make": cmd_make}[o.cmd](o)


if __name__ == "__main__":
    main()
