#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Writes the named-lists benchmark's config: DIR/ipgate.conf (the top level,
interface rx0, tcp/443, `include lists.d/*.conf`) and N files
DIR/lists.d/cNNNN.conf, one list each: named c0000 ... , guarding
198.19.(i / 250).(i % 250 + 1) and 2001:db8:1:i::1 (i in hex), max-entries
64, 50 allow entries (25 IPv4 /30s in 198.18.0.0/15, 25 IPv6 /64s in
2001:db8::/32, no two lists alike).
    bench-lists.py DIR N"""
import ipaddress
import os
import sys

PER_FAMILY = 25
BASE4 = ipaddress.IPv4Address("198.18.0.0")


def main():
    if len(sys.argv) != 3 or not sys.argv[2].isdigit() or \
            not 1 <= int(sys.argv[2]) <= 1000:
        sys.exit("usage: bench-lists.py DIR N (N from 1 to 1000)")
    d, n = sys.argv[1], int(sys.argv[2])
    os.makedirs(os.path.join(d, "lists.d"), exist_ok=True)
    with open(os.path.join(d, "ipgate.conf"), "w") as f:
        f.write("interface rx0\nenabled yes\nprotect tcp/443\nmode drop\n"
                "breakglass-port off\nmax-entries 64\nallow 198.18.1.2\n"
                "include lists.d/*.conf\n")
    for i in range(n):
        rows = [f"# customer {i}", f"list c{i:04d} {{",
                f"  address 198.19.{i // 250}.{i % 250 + 1} "
                f"2001:db8:1:{i:x}::1",
                "  enabled yes", "  max-entries 64"]
        for j in range(PER_FAMILY):
            # /30 number k of 198.18.0.0/15 (32,768 of them).
            a = BASE4 + 4 * (i * PER_FAMILY + j)
            rows.append(f"  allow {a}/30 \"c{i} v4 {j}\"")
        for j in range(PER_FAMILY):
            rows.append(f"  allow 2001:db8:{0x1000 + i:x}:{j:x}::/64 "
                        f"\"c{i} v6 {j}\"")
        rows.append("}")
        with open(os.path.join(d, "lists.d", f"c{i:04d}.conf"), "w") as f:
            f.write("\n".join(rows) + "\n")


main()
