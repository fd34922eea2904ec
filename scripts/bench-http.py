#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The HTTP API's part of `make bench`, on one keep-alive connection to
ipgated (ADDR:PORT), requests one after the other:
    bench-http.py put ADDR:PORT TOKEN LIST[,LIST...] N LABEL
        N PUTs, request i to the i-th LIST round robin, each list
        alternating two 50-entry bodies (with If-Match: the ETag its
        previous answer gave); prints "put LABEL MICROSECONDS".
    bench-http.py metrics ADDR:PORT N [TOKEN]
        N GETs of /metrics; prints "metrics MICROSECONDS BYTES".
Each time is from the request's first byte to the answer's last. Exits
non-zero at the first answer that is not 200."""
import http.client
import json
import sys
import time


def body(k):
    """50 entries: 198.18.8.0/30 ... (k=0) or one /30 further on (k=1);
    198.18.2.0/24 (the paced client's network) in both."""
    ents = [{"cidr": "198.18.2.0/24", "label": "bench client"}]
    for j in range(49):
        a = 8 * 256 + 4 * (j + k)
        ents.append({"cidr": f"198.18.{a // 256}.{a % 256}/30",
                     "label": f"entry {j}"})
    return json.dumps({"enabled": True, "entries": ents}).encode()


def conn(addr):
    host, port = addr.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    c.connect()
    return c


def put(addr, token, names, n, label):
    c = conn(addr)
    auth = {"Authorization": f"Bearer {token}"}
    etag = {}
    for name in names:
        c.request("GET", f"/v1/lists/{name}", headers=auth)
        r = c.getresponse()
        r.read()
        if r.status != 200:
            sys.exit(f"bench-http: GET /v1/lists/{name}: {r.status}")
        etag[name] = r.getheader("ETag")
    bodies = [body(0), body(1)]
    for i in range(n):
        name = names[i % len(names)]
        h = dict(auth, **{"If-Match": etag[name],
                          "Content-Type": "application/json"})
        t0 = time.perf_counter()
        c.request("PUT", f"/v1/lists/{name}",
                  body=bodies[i // len(names) % 2], headers=h)
        r = c.getresponse()
        data = r.read()
        dt = time.perf_counter() - t0
        if r.status != 200:
            sys.exit(f"bench-http: PUT {i} ({name}): {r.status} "
                     f"{data[:300]!r}")
        etag[name] = r.getheader("ETag")
        print(f"put {label} {dt * 1e6:.1f}")


def metrics(addr, n, token):
    c = conn(addr)
    h = {"Authorization": f"Bearer {token}"} if token else {}
    for _ in range(n):
        t0 = time.perf_counter()
        c.request("GET", "/metrics", headers=h)
        r = c.getresponse()
        data = r.read()
        dt = time.perf_counter() - t0
        if r.status != 200:
            sys.exit(f"bench-http: GET /metrics: {r.status} {data[:300]!r}")
        print(f"metrics {dt * 1e6:.1f} {len(data)}")


def main():
    a = sys.argv[1:]
    if len(a) == 6 and a[0] == "put":
        put(a[1], a[2], a[3].split(","), int(a[4]), a[5])
    elif len(a) in (3, 4) and a[0] == "metrics":
        metrics(a[1], int(a[2]), a[3] if len(a) == 4 else None)
    else:
        sys.exit(__doc__)


main()
