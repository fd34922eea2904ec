#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A stand-in for journald, for tests: receives the native protocol on a
Unix datagram socket and appends each entry, in the form `journalctl -o
export` prints, to a file; `--to-json` turns such a file into what
`journalctl -o json` prints."""
import argparse
import json
import os
import socket
import struct
import sys


def fields(dgram):
    """The (key, value) pairs of one native-protocol datagram."""
    out, i = [], 0
    while i < len(dgram):
        nl = dgram.index(b"\n", i)
        line = dgram[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            (n,) = struct.unpack("<Q", dgram[nl + 1:nl + 9])
            k, v = line, dgram[nl + 9:nl + 9 + n]
            i = nl + 9 + n + 1
        out.append((k, v))
    return out


def export_entry(pairs):
    b = b""
    for k, v in pairs:
        if b"\n" in v:
            b += k + b"\n" + struct.pack("<Q", len(v)) + v + b"\n"
        else:
            b += k + b"=" + v + b"\n"
    return b + b"\n"


def serve(sock_path, out_path, pid_path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if os.path.exists(sock_path):
        os.unlink(sock_path)
    s.bind(sock_path)
    with open(pid_path, "w") as f:
        f.write("%d\n" % os.getpid())
    n = 0
    while True:
        d = s.recv(1 << 20)
        n += 1
        pairs = [(b"__CURSOR", b"s=test;i=%d" % n), (b"_UID", b"0")]
        with open(out_path, "ab") as f:
            f.write(export_entry(pairs + fields(d)))


def to_json(path):
    entry = {}
    data = open(path, "rb").read()
    i = 0
    while i <= len(data):
        nl = data.find(b"\n", i)
        if nl < 0 or nl == i:
            if entry:
                print(json.dumps(entry))
            entry = {}
            if nl < 0:
                break
            i = nl + 1
            continue
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            (n,) = struct.unpack("<Q", data[nl + 1:nl + 9])
            k, v = line, data[nl + 9:nl + 9 + n]
            i = nl + 9 + n + 1
        entry[k.decode()] = v.decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket")
    ap.add_argument("--out")
    ap.add_argument("--pid")
    ap.add_argument("--to-json")
    a = ap.parse_args()
    if a.to_json:
        to_json(a.to_json)
    else:
        serve(a.socket, a.out, a.pid)


if __name__ == "__main__":
    sys.exit(main())
