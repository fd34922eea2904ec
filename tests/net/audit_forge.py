#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Rewrites an ipgate audit log as root on the host could, independently of
libipgate: keeps the first KEEP records, drops the next DROP, renumbers and
re-chains the rest, and writes a head that matches. Every hash holds."""
import argparse
import hashlib
import re
import sys

HASH_KEY = ',"hash":"'
PREV_RE = re.compile(r',"prev":"[0-9a-f]{64}"$')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("head")
    ap.add_argument("--keep", type=int, required=True)
    ap.add_argument("--drop", type=int, default=0)
    a = ap.parse_args()
    lines = open(a.log).read().splitlines()
    out, prev, seq = [], "0" * 64, 0
    first = None
    for i, line in enumerate(lines):
        if a.keep <= i < a.keep + a.drop:
            continue
        body = line[:line.rindex(HASH_KEY)]
        if first is None:
            first = int(re.match(r'\{"seq":(\d+),', body).group(1))
            seq = first - 1
            prev = PREV_RE.search(body).group(0)[9:-1]
        seq += 1
        body = re.sub(r'^\{"seq":\d+,', '{"seq":%d,' % seq, body)
        body = PREV_RE.sub(',"prev":"%s"' % prev, body)
        prev = hashlib.sha256(body.encode()).hexdigest()
        out.append(body + HASH_KEY + prev + '"}')
    open(a.log, "w").write("".join(l + "\n" for l in out))
    open(a.head, "w").write("%020d %s %020d\n" % (seq, prev, first))


if __name__ == "__main__":
    sys.exit(main())
