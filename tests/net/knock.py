#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Crafts break-glass knocks independently of libipgate (stdlib only), to
test the daemon with what `ipgate knock` never sends: stale timestamps,
forged sources, saved datagrams replayed, garbage, and datagrams whose IPv4
source address is spoofed (a raw socket, so run it as root)."""
import argparse
import hashlib
import hmac
import ipaddress
import os
import socket
import struct
import time


def build(key_id, key, source, duration, ts, nonce):
    src = ipaddress.ip_address(source)
    fam = 4 if src.version == 4 else 6
    addr = src.packed.ljust(16, b"\0")
    body = (b"IPGK" + bytes([1, len(key_id)]) + key_id.encode() +
            bytes([fam]) + addr + struct.pack(">IQ", duration, ts) + nonce)
    return body + hmac.new(key, body, hashlib.sha256).digest()


def spoofed(src, dst, sport, dport, payload):
    """An IPv4 datagram from @src; the kernel fills in the IP checksum."""
    udp = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64,
                     socket.IPPROTO_UDP, 0, socket.inet_aton(src),
                     socket.inet_aton(dst))
    return ip + udp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--to", required=True)
    ap.add_argument("--port", type=int, default=62201)
    ap.add_argument("--key", help="key file: ipgate-breakglass-1 ID HEX")
    ap.add_argument("--source", help="address named in the knock")
    ap.add_argument("--for", dest="duration", type=int, default=0)
    ap.add_argument("--ts-offset", type=int, default=0)
    ap.add_argument("--save", help="also write the datagram here")
    ap.add_argument("--replay", help="send this saved datagram instead")
    ap.add_argument("--garbage", type=int, default=0,
                    help="send this many random and near-valid datagrams")
    ap.add_argument("--spoof-from", metavar="IPV4",
                    help="send with this source address (IPv4, raw socket)")
    ap.add_argument("--no-send", action="store_true",
                    help="only build the knock (with --save)")
    a = ap.parse_args()

    fam = socket.AF_INET6 if ":" in a.to else socket.AF_INET
    if a.spoof_from:
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW,
                            socket.IPPROTO_RAW)

        def send(d):
            raw.sendto(spoofed(a.spoof_from, a.to, 40000, a.port, d),
                       (a.to, 0))
    else:
        s = socket.socket(fam, socket.SOCK_DGRAM)

        def send(d):
            s.sendto(d, (a.to, a.port))
    if a.garbage:
        for i in range(a.garbage):
            if i % 2:
                d = os.urandom(1 + i % 200)
            else:  # well-formed but for an unknown key or a bad MAC
                d = build("alice" if i % 4 else "nobody", os.urandom(32),
                          a.source or a.to, 60, int(time.time()), os.urandom(16))
            send(d)
        return
    if a.replay:
        d = open(a.replay, "rb").read()
    else:
        tag, key_id, hexkey = open(a.key).read().split()
        assert tag == "ipgate-breakglass-1"
        if not a.source:
            probe = socket.socket(fam, socket.SOCK_DGRAM)
            probe.connect((a.to, a.port))
            a.source = probe.getsockname()[0]
        d = build(key_id, bytes.fromhex(hexkey), a.source, a.duration,
                  int(time.time()) + a.ts_offset, os.urandom(16))
    if a.save:
        open(a.save, "wb").write(d)
    if not a.no_send:
        send(d)


main()
