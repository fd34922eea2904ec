#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Writes a long rotated audit log in ipgate's documented format (README,
"The audit log"): a valid hash chain of large `apply` records spread over
gzip-rotated files and the current file, and the head record. Quicker than
making a daemon write 50 MB of changes one by one.

usage: biglog.py LOG HEAD MEGABYTES FILES"""
import gzip
import hashlib
import sys

log, head, megabytes, files = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
entries = ",".join(
    '{"cidr":"2001:db8:1:%x:%x::/80","label":"entry %04d padding-padding"}'
    % (i // 256, i % 256, i) for i in range(1000))
per_record = len(entries) + 300
records = megabytes * 1000000 // per_record + 1
prev, lines = "0" * 64, []
for seq in range(1, records + 1):
    side = '{"entries":[%s],"count":1002}' % entries
    body = ('{"seq":%d,"time":"2026-11-29T12:00:00.000Z","actor":{"uid":0,'
            '"user":"root","pid":1,"client":null},"action":"apply",'
            '"before":%s,"after":%s,"prev":"%s"' %
            (seq, side if seq % 2 else "null", "null" if seq % 2 else side, prev))
    prev = hashlib.sha256(body.encode()).hexdigest()
    lines.append('%s,"hash":"%s"}\n' % (body, prev))
chunk = (len(lines) + files - 1) // files
parts = [lines[i:i + chunk] for i in range(0, len(lines), chunk)]
for n, part in enumerate(parts[:-1]):
    with gzip.open("%s.%d.gz" % (log, len(parts) - 1 - n), "wt") as f:
        f.writelines(part)
with open(log, "w") as f:
    f.writelines(parts[-1])
with open(head, "w") as f:
    f.write("%020d %s %020d\n" % (records, prev, 1))
print(records)
