#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Exits 0 when the live policy slot pinned under PINDIR holds exactly the
allow entries of the config file CONF; else prints both sides and exits 1."""
import ipaddress
import json
import shlex
import subprocess
import sys


def dump(pin):
    out = subprocess.run(["bpftool", "-j", "map", "dump", "pinned", pin],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def kernel_entries(pins):
    active = dump(f"{pins}/ipg_active")[0]["formatted"]["value"] & 1
    got = set()
    for fam, size in (("v4", 4), ("v6", 16)):
        for e in dump(f"{pins}/ipg_{fam}_slot{active}"):
            k = e["formatted"]["key"]
            addr = bytes(k["addr"][:size])
            net = ipaddress.ip_network((addr, k["prefixlen"]))
            got.add(str(net))
    return got


def file_entries(conf):
    want = set()
    for line in open(conf):
        words = shlex.split(line, comments=True)
        if words and words[0] == "allow":
            want.add(str(ipaddress.ip_network(words[1])))
    return want


def main():
    pins, conf = sys.argv[1], sys.argv[2]
    got, want = kernel_entries(pins), file_entries(conf)
    if got != want:
        print("kernel:", sorted(got))
        print("file:  ", sorted(want))
        return 1
    return 0


sys.exit(main())
