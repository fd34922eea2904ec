#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Turns the raw lines of scripts/bench.sh (DIR/*.txt) into DIR/report.md
and gnuplot plots: medians over rounds, min-max, ratios, and the targets
with how far each is met or missed."""
import collections
import os
import statistics
import subprocess
import sys

D = sys.argv[1]


def lines(name):
    path = os.path.join(D, name)
    if not os.path.exists(path):
        return []
    return [l.split() for l in open(path) if l.strip()]


env = {l[0]: " ".join(l[1:]) for l in lines("env.txt")}
out = []
w = out.append


def med(v):
    return statistics.median(v) if v else float("nan")


def rng(v):
    return f"{min(v):.0f}–{max(v):.0f}" if v else "–"


# ---- 1. per-packet cost ----
pkt = collections.defaultdict(list)
build = None
lists_build = None
for l in lines("pkt.txt"):
    if l[0] == "pkt":
        pkt[(l[1], l[2], int(l[3]))].append(float(l[5]))
    elif l[0] == "build":
        build = (int(l[1]), float(l[2]), int(l[3]))
    elif l[0] == "lists_build":
        lists_build = float(l[1])
sizes = sorted({k[2] for k in pkt if k[0] in ("ipgate", "textbook", "floor")})
cases = ["v4_allowed", "v4_denied", "v4_unprotected", "v6_allowed",
         "v6_denied", "v6_unprotected", "vlan_v4_denied"]

w("# ipgate benchmark report\n")
w(f"{env.get('date', '?')} · kernel {env.get('kernel', '?')} · "
  f"{env.get('cpu', '?')} ({env.get('cpus', '?')} CPUs) · "
  f"{env.get('mode', '?')} run, {env.get('rounds', '?')} rounds, "
  f"{env.get('seconds', '?')} s\n")
w("Numbers are medians over interleaved rounds (min–max in brackets). "
  "The machine is shared and virtual: compare contenders within one run, "
  "not across runs.\n")

w("## 1. Per-packet cost (ns, BPF_PROG_TEST_RUN)\n")
w("Same 64-byte frames and the same prefixes for every program; the "
  "textbook filter parses Ethernet + IPv4 only, so it has no IPv6 or VLAN "
  "rows; `floor` is an empty XDP_PASS program.\n")
for size in sizes:
    w(f"### {size:,} prefixes per family\n")
    w("| case | ipgate | textbook | floor | ipgate − textbook |")
    w("| --- | ---: | ---: | ---: | ---: |")
    for c in cases:
        ig, tb, fl = (pkt.get((p, c, size), []) for p in ("ipgate", "textbook", "floor"))
        if not ig:
            continue
        diff = f"{med(ig) - med(tb):+.0f}" if tb else "–"
        tbs = f"{med(tb):.0f} ({rng(tb)})" if tb else "–"
        w(f"| {c} | {med(ig):.0f} ({rng(ig)}) | {tbs} | {med(fl):.0f} ({rng(fl)}) | {diff} |")
    w("")
log_cases = [c for c in cases if "denied" in c and pkt.get(("log_off", c, 50))]
if log_cases:
    w("### The blocked-source log (50 prefixes, denied packets)\n")
    w("`log_on`: the default budget (50 reports a second per list and "
      "CPU); a flood of one source spends it in the first microseconds of "
      "each second, so this is the cost a flood pays: one window test.\n")
    w("| case | log off | log on | on − off |")
    w("| --- | ---: | ---: | ---: |")
    for c in log_cases:
        off, on = pkt[("log_off", c, 50)], pkt[("log_on", c, 50)]
        w(f"| {c} | {med(off):.0f} ({rng(off)}) | {med(on):.0f} ({rng(on)}) | {med(on) - med(off):+.1f} |")
    w("")
if build:
    w(f"Building a slot of {build[0]:,} prefixes (half IPv4, half IPv6) and "
      f"flipping to it: **{build[1]:.2f} s**; the bench process peaked at "
      f"{build[2] / 1024:.0f} MiB.\n")

# ---- 2. drop rate ----
rate = collections.defaultdict(list)
for l in lines("rate.txt"):
    dropped, secs = int(l[3]), float(l[5])
    rate[l[1]].append(dropped / secs / 1e6)
w("## 2. Drop rate on a veth pair (Mpps)\n")
w("A generator (BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES) sends "
  "64-byte TCP SYNs to tcp/443 with random sources in 198.18.128.0/17 into "
  "a veth; the receiving side runs, in turn: ipgate (50 entries), nftables "
  "on the netdev ingress hook (an interval set of the same 50 prefixes, the "
  "same tcp/443 rule), and an XDP program that drops everything. Rate = "
  "packets the contender dropped / generator time. nftables needs an "
  "XDP_PASS program on the veth for redirected frames to arrive at all; "
  "its cost is part of its row.\n")
w("On veth, the receiver's NAPI poll runs in the generator's softirq on the "
  "same CPU, so each rate is that of generator and receiver together; the "
  "ceiling's row is the generator with the cheapest possible receiver. "
  "`ns/packet` is the inverse; `receiver cost` subtracts the ceiling's.\n")
w("| receiver | Mpps | min–max | ns/packet | receiver cost (ns) |")
w("| --- | ---: | ---: | ---: | ---: |")
ce_ns = 1e3 / med(rate.get("ceiling", [float("nan")]))
for c in ("ipgate", "ipgate_nolog", "nftables", "ceiling"):
    v = rate.get(c, [])
    if v:
        ns = 1e3 / med(v)
        w(f"| {c} | {med(v):.2f} | {min(v):.2f}–{max(v):.2f} | {ns:.1f} | {ns - ce_ns:+.1f} |")
ig, nf, ce = (med(rate.get(c, [])) for c in ("ipgate", "nftables", "ceiling"))
w("")
w(f"ipgate / nftables = **{ig / nf:.2f}×**; ipgate / ceiling = **{ig / ce:.2f}×**.\n")
if rate.get("ipgate_nolog"):
    nl = med(rate["ipgate_nolog"])
    w(f"`ipgate` runs with the blocked-source log at its default budget, "
      f"`ipgate_nolog` with `blocked-log off`: log on / off = **{ig / nl:.3f}×** "
      f"(target: within 5%, {'met' if ig / nl >= 0.95 else 'missed'}).\n")

# ---- 3. legitimate traffic under attack ----
http = collections.defaultdict(list)
fails = collections.defaultdict(int)
for l in lines("http.txt"):
    ok, failed, secs = int(l[4]), int(l[5]), float(l[6])
    http[(l[1], l[2])].append(ok / secs)
    fails[(l[1], l[2])] += failed
w("## 3. The allowed client under attack (requests/s)\n")
w("One HTTP/1.0 request per TCP connection to nginx on tcp/443, from an "
  "allowlisted address, without and during the flood of part 2.\n")
w("| receiver | calm | under flood | kept | failed requests |")
w("| --- | ---: | ---: | ---: | ---: |")
for c in ("ipgate", "nftables"):
    calm, flood = http.get((c, "calm"), []), http.get((c, "flood"), [])
    if calm:
        w(f"| {c} | {med(calm):.0f} | {med(flood):.0f} | "
          f"{med(flood) / med(calm) * 100:.0f}% | "
          f"{fails[(c, 'calm')]} / {fails[(c, 'flood')]} |")
w("")

# ---- 4. control plane ----
ctl = collections.defaultdict(list)
for l in lines("ctl.txt"):
    ctl[l[1]].append(float(l[2]) / 1000)
mem = {l[1]: int(l[2]) for l in lines("mem.txt")}


def verdict(ok):
    return "met" if ok else "**missed**"


verdict_s = verdict


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else float("nan")


w("## 4. Control plane (ms, request to answer)\n")
w("Each change through ipgated's socket is answered after validation, the "
  "config file's atomic rewrite, the flip (including the wait until no "
  "packet reads the old slot) and the audit record's fsync.\n")
w("| change | count | p50 | p99 | max |")
w("| --- | ---: | ---: | ---: | ---: |")
allc = []
for k in ("add", "remove", "apply"):
    v = ctl.get(k, [])
    allc += v
    if v:
        w(f"| {k} | {len(v)} | {pct(v, 50):.2f} | {pct(v, 99):.2f} | {max(v):.2f} |")
w("")
if mem:
    w(f"ipgated peak resident memory: {mem.get('ipgated', 0) / 1024:.1f} MiB; "
      f"kernel memory of ipgate's maps: {mem.get('maps', 0) / 1048576:.1f} MiB.\n")

# ---- 5. named lists ----
LIST_PROGS = ("lists0", "lists1000", "lists1000_default")
LIST_CASES = cases[:6]
LIST_TARGET_NS = 8
lists = {}
lctl = collections.defaultdict(list)
for l in lines("lists.txt"):
    if l[0] == "ctl":
        lctl[l[1]].append(float(l[2]) / 1000)
    elif l[0] == "lists":
        lists[l[1]] = l[2:]
ldiff = [(c, med(pkt[("lists1000", c, 50)]) - med(pkt[("lists0", c, 50)]))
         for c in LIST_CASES if pkt.get(("lists1000", c, 50)) and pkt.get(("lists0", c, 50))]


def lnum(key, scale=1.0):
    v = lists.get(key)
    return int(v[0]) * scale if v else float("nan")


if ldiff or lists:
    w("## 5. Named lists\n")
if ldiff:
    w("### Per packet (ns, BPF_PROG_TEST_RUN)\n")
    w("`lists0`: ipgate with only the default list (50 entries); "
      "`lists1000`: ipgate holding the same default list and 1,000 named "
      "lists of 50 entries (each with an IPv4 and an IPv6 destination), a "
      "packet to one named list's destination (that list holds the default "
      "list's very entries); `lists1000_default`: the same program, a packet "
      "to a destination no list claims. Rounds interleave the three. "
      f"Target: 1,000 lists cost at most +{LIST_TARGET_NS} ns a packet.\n")
    w("| case | lists0 | lists1000 | lists1000_default | lists1000 − lists0 | "
      "default − lists0 | target |")
    w("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for c, d in ldiff:
        v0, v1, vd = (pkt.get((p, c, 50), []) for p in LIST_PROGS)
        w(f"| {c} | {med(v0):.0f} ({rng(v0)}) | {med(v1):.0f} ({rng(v1)}) | "
          f"{med(vd):.0f} ({rng(vd)}) | {d:+.0f} | {med(vd) - med(v0):+.0f} | "
          f"{verdict_s(d <= LIST_TARGET_NS)} |")
    w("")
    if lists_build is not None:
        w(f"Opening the 1,000 lists (one batch), filling each and claiming "
          f"its destinations, through libipgate: **{lists_build:.2f} s**.\n")
if lists:
    n = lnum("n")
    w(f"### Through ipgated, {n:,.0f} lists of 50\n")
    w(f"The config: the top level and `include lists.d/*.conf`, {n:,.0f} "
      "files of one list each (an IPv4 and an IPv6 destination, "
      "`max-entries 64`, 25 IPv4 and 25 IPv6 entries). Changes are add or "
      "remove of one entry, each answered after the flip and the audit "
      "fsync: `list-spread` goes round every list (request i to list "
      "i mod N), `list-same` sends every change to one list back to "
      "back.\n")
    w("| change | count | p50 (ms) | p99 (ms) | max (ms) | target |")
    w("| --- | ---: | ---: | ---: | ---: | --- |")
    for k, note in (("list-spread", "p99 < 5 ms"),
                    ("list-same", "reported only (see below)")):
        v = lctl.get(k, [])
        if v:
            t = f"{note}: {verdict_s(pct(v, 99) < 5)}" if k == "list-spread" else note
            w(f"| {k} | {len(v)} | {pct(v, 50):.2f} | {pct(v, 99):.2f} | {max(v):.2f} | {t} |")
    w("")
    w("Back-to-back changes to one list are paced by the kernel's RCU grace "
      "period: a list's next flip first waits until no packet can still "
      "read the slot it is about to rewrite (the one live before the last "
      "flip), so `list-same` measures that wait; changes spread over lists "
      "rarely meet it.\n")
    cold, restart = lists.get("cold_ms", []), lists.get("restart_ms", [])
    w("| | |")
    w("| --- | ---: |")
    if cold:
        w(f"| cold load (launch to serving, fresh pins: {cold[1] if len(cold) > 1 else '?'}) | {int(cold[0]) / 1000:.2f} s |")
    if restart:
        w(f"| restart on the same pins ({restart[1] if len(restart) > 1 else '?'}) | {int(restart[0]) / 1000:.2f} s |")
    w(f"| ipgated peak RSS after the load | {lnum('rss_kb') / 1024:.1f} MiB |")
    if "rss_end_kb" in lists:
        w(f"| ipgated peak RSS after the changes | {lnum('rss_end_kb') / 1024:.1f} MiB |")
    w(f"| kernel memory of the maps (`status` maps.memory_bytes) | {lnum('maps_bytes') / 1048576:.1f} MiB |")
    w("")
    if restart and len(restart) > 1 and restart[1] != "adopted":
        w("**The restart did not adopt the pinned maps.**\n")

# ---- 6. HTTP API ----
put = collections.defaultdict(list)
for l in lines("put.txt"):
    put[l[1]].append(float(l[2]) / 1000)
chk = collections.defaultdict(list)
chk_bad = collections.defaultdict(int)
chk_late = collections.defaultdict(int)
for l in lines("check.txt"):
    if l[0] == "check":
        chk[l[1]].append(float(l[2]) / 1000)
        chk_bad[l[1]] += l[3] != "200"
    elif l[0] == "check_late":
        chk_late[l[1]] += int(l[2])
met = [(float(l[1]) / 1000, int(l[2])) for l in lines("metrics.txt")]
PUT_TARGET_MS, CHECK_TARGET_MS = 10, 1
check_rate = int(env.get("check_rate", "2000"))
if put or chk or met:
    w("## 6. HTTP API\n")
if put:
    w("### PUT of a 50-entry list (ms)\n")
    w("The settings page's Save: `PUT /v1/lists/NAME` with the whole list "
      "(50 entries with labels) and `If-Match` with the ETag the previous "
      "answer gave, alternating two bodies that differ in one entry and "
      "48 labels; sequential, one keep-alive connection on loopback (a "
      "Python client, whose own time is in the numbers). Each is answered "
      "after validation, the config's rewrite, the flip and the audit "
      "fsync. `lists2`: ipgated holding two shared lists, every PUT to the "
      "same one; `lists1000`: the 1,000-list ipgated of part 5, PUTs to "
      "c0000-c0009 in turn. Target: p99 < "
      f"{PUT_TARGET_MS} ms.\n")
    w("| ipgated | count | p50 | p99 | max | target |")
    w("| --- | ---: | ---: | ---: | ---: | --- |")
    for k in ("lists2", "lists1000"):
        v = put.get(k, [])
        if v:
            w(f"| {k} | {len(v)} | {pct(v, 50):.2f} | {pct(v, 99):.2f} | "
              f"{max(v):.2f} | {verdict(pct(v, 99) < PUT_TARGET_MS)} |")
    w("")
if chk:
    w("### /v1/check behind nginx (ms, request to last byte)\n")
    w(f"One keep-alive connection from another namespace, a request every "
      f"{1000 / check_rate:.1f} ms ({check_rate:,}/s, paced by the schedule: a request "
      "whose predecessor answered late goes at once), to the same nginx "
      "(one worker) and the same app upstream (nginx `return 200` on "
      "loopback, a new upstream connection per request in every row): "
      "`plain` proxies without a check; `auth` is the shipped "
      "`dist/nginx/ipgate-auth.conf` for a Host mapped to an enabled list "
      "(an `auth_request` subrequest to ipgated's `/v1/check` over a kept "
      "connection, the client allowed); `nolist` the same snippet for a "
      "Host mapped to no list (answered by nginx itself). Rounds "
      "interleave the three. Added latency is the difference of the "
      "percentiles (the requests are not paired). Target: added p99 < "
      f"{CHECK_TARGET_MS} ms.\n")
    w("| request | count | p50 | p90 | p99 | max | added p50 | added p99 | "
      "not 200 | sent late |")
    w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    base = chk.get("plain", [])
    for k in ("plain", "auth", "nolist"):
        v = chk.get(k, [])
        if not v:
            continue
        a50 = f"{pct(v, 50) - pct(base, 50):+.3f}" if base and k != "plain" else "–"
        a99 = f"{pct(v, 99) - pct(base, 99):+.3f}" if base and k != "plain" else "–"
        w(f"| {k} | {len(v)} | {pct(v, 50):.3f} | {pct(v, 90):.3f} | "
          f"{pct(v, 99):.3f} | {max(v):.3f} | {a50} | {a99} | "
          f"{chk_bad[k]} | {chk_late[k]} |")
    w("")
if met:
    ms = [m for m, _ in met]
    w("### /metrics with 1,000 lists (ms)\n")
    w("`GET /metrics` from the 1,000-list ipgated of part 5 (after its "
      "changes), sequential on one keep-alive connection on loopback: the "
      "render and the transfer.\n")
    w("| count | p50 | p99 | max | size |")
    w("| ---: | ---: | ---: | ---: | ---: |")
    w(f"| {len(ms)} | {pct(ms, 50):.2f} | {pct(ms, 99):.2f} | {max(ms):.2f} | "
      f"{met[-1][1] / 1024:.0f} KiB |")
    w("")

# ---- fairness ----
w("## Fairness\n")
w("- Every contender sees the same frames: part 1 feeds the same "
  "frame bytes (64 for IPv4, 74 for IPv6) to each program; part 2's generator is the same for all.")
w("- The same prefixes: the textbook filter looks up ipgate's own IPv4 "
  "trie (the same kernel object); nftables gets the same 50 prefixes as an "
  "interval set.")
w("- The same port rule: every filter protects tcp/443 only and lets other "
  "ports through before looking at the source.")
w("- Known tilts: ipgate also parses VLAN tags, IPv4 options and IPv6 "
  "extension headers, and counts per outcome and per rule, which the "
  "textbook filter does not; nftables needs an XDP_PASS program on the veth "
  "(redirected frames are not delivered otherwise), whose few ns are in its "
  "row; the generator shares a CPU with every receiver.\n")

# ---- targets ----
w("## Targets\n")
t50 = [(c, med(pkt.get(("ipgate", c, 50), [])), med(pkt.get(("textbook", c, 50), [])))
       for c in ("v4_allowed", "v4_denied", "v4_unprotected") if pkt.get(("textbook", c, 50))]




for c, i, t in t50:
    w(f"- per-packet cost at 50 entries, {c}: ipgate {i:.0f} ns vs textbook "
      f"{t:.0f} ns: {verdict(i <= t)}" + ("" if i <= t else f" by {i - t:.0f} ns ({(i / t - 1) * 100:.0f}%)"))
if nf == nf and ce == ce:
    w(f"- drop rate ≥ 5× nftables: {ig / nf:.2f}×: {verdict(ig / nf >= 5)}")
    w(f"- drop rate ≥ 0.9× ceiling: {ig / ce:.2f}×: {verdict(ig / ce >= 0.9)}")
if allc:
    p99 = pct(allc, 99)
    w(f"- a change in effect p99 < 5 ms including the audit fsync: {p99:.2f} ms: {verdict(p99 < 5)}")
if ldiff:
    worst = max(d for _, d in ldiff)
    w(f"- 1,000 named lists cost at most +{LIST_TARGET_NS} ns a packet "
      f"(lists1000 − lists0; worst case {worst:+.0f} ns; "
      + ", ".join(f"{c} {d:+.0f}" for c, d in ldiff)
      + f"): {verdict(worst <= LIST_TARGET_NS)}")
if lctl.get("list-spread"):
    p99 = pct(lctl["list-spread"], 99)
    w(f"- a change to one of {lnum('n'):,.0f} lists in effect p99 < 5 ms "
      f"(spread over the lists): {p99:.2f} ms: {verdict(p99 < 5)}")
if lctl.get("list-same"):
    w(f"- back to back on one list (not a target; paced by the RCU grace "
      f"period): p99 {pct(lctl['list-same'], 99):.2f} ms")
for k in ("lists2", "lists1000"):
    if put.get(k):
        p99 = pct(put[k], 99)
        w(f"- PUT of a 50-entry list p99 < {PUT_TARGET_MS} ms ({k}): "
          f"{p99:.2f} ms: {verdict(p99 < PUT_TARGET_MS)}")
if chk.get("auth") and chk.get("plain"):
    added = pct(chk["auth"], 99) - pct(chk["plain"], 99)
    w(f"- /v1/check through nginx at {check_rate:,} requests/s adds p99 < "
      f"{CHECK_TARGET_MS} ms: {added:+.3f} ms (p50 "
      f"{pct(chk['auth'], 50) - pct(chk['plain'], 50):+.3f} ms): "
      f"{verdict(added < CHECK_TARGET_MS)}")
if met:
    w(f"- /metrics with 1,000 lists (reported only): p50 "
      f"{pct([m for m, _ in met], 50):.2f} ms, p99 "
      f"{pct([m for m, _ in met], 99):.2f} ms")
w("")
w("Plots: `pkt.png` (ns per packet against table size), `rate.png` (Mpps per receiver).")
open(os.path.join(D, "report.md"), "w").write("\n".join(out) + "\n")

# ---- plots ----
with open(os.path.join(D, "pkt.dat"), "w") as f:
    for s in sizes:
        f.write(f"{s} {med(pkt.get(('ipgate', 'v4_denied', s), []))} "
                f"{med(pkt.get(('textbook', 'v4_denied', s), []))} "
                f"{med(pkt.get(('ipgate', 'v6_denied', s), []))} "
                f"{med(pkt.get(('floor', 'v4_denied', s), []))}\n")
with open(os.path.join(D, "rate.dat"), "w") as f:
    for c in ("ipgate", "nftables", "ceiling"):
        f.write(f"{c} {med(rate.get(c, [0]))}\n")
gp = f"""
set terminal pngcairo size 800,500 noenhanced
set output '{D}/pkt.png'
set title 'Per-packet cost, denied source (BPF_PROG_TEST_RUN)'
set logscale x
set xlabel 'prefixes in the trie'
set ylabel 'ns per packet'
set key left top
set grid
plot '{D}/pkt.dat' using 1:2 with linespoints title 'ipgate IPv4', \\
     '' using 1:3 with linespoints title 'textbook IPv4', \\
     '' using 1:4 with linespoints title 'ipgate IPv6', \\
     '' using 1:5 with linespoints title 'empty XDP (floor)'
set output '{D}/rate.png'
unset logscale x
set title 'Drop rate on a veth pair, 64-byte SYN flood'
set xlabel ''
set ylabel 'Mpps'
set style fill solid 0.6
set boxwidth 0.6
set yrange [0:*]
plot '{D}/rate.dat' using 0:2:xtic(1) with boxes notitle
"""
subprocess.run(["gnuplot"], input=gp, text=True, check=False)
