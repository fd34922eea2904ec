#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench` (and `make bench-quick`): ipgate side by side with an empty
# XDP program, a textbook XDP filter, nftables on the netdev ingress hook,
# and a drop-everything XDP program, in one run, rounds interleaved; then
# ipgated holding 1,000 named lists; then the HTTP API (PUT of a list,
# /v1/check behind nginx, /metrics). Writes build/bench/report.md and
# build/bench/*.png. Reports; never fails on a number.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/netns-lib.sh

QUICK=0
[ "${1:-}" = --quick ] && QUICK=1
NS_PREFIX=ipgb
GEN=$NS_PREFIX-gen RX=$NS_PREFIX-rx
RUN=/run/ipgate-bench
# The build dir: make's B (build by default); the results go to $B/bench.
B=${B:-build}
OUT=$B/bench
PY_BIN=/usr/bin/python3
if [ $QUICK = 1 ]; then
	ROUNDS=2 COUNT=300000 HTTP_SECS=1 CTL_N=100 LISTS_N=1000
	CHECK_SECS=1 METRICS_N=20
else
	ROUNDS=5 COUNT=3000000 HTTP_SECS=3 CTL_N=1000 LISTS_N=1000
	CHECK_SECS=3 METRICS_N=100
fi
# /v1/check behind nginx: requests a second, paced, on one connection.
CHECK_RATE=2000
GEN4=198.18.1.2 RX4=198.18.1.1
# The flood's sources: 198.18.128.0/17, never allowlisted.
FLOOD_BASE=198.18.128.0 FLOOD_BITS=15

cleanup() {
	set +e
	[ -f "$RUN/stop" ] || touch "$RUN/stop" 2>/dev/null
	[ -f "$RUN/state/ipgated.lock" ] && kill "$(head -n1 "$RUN/state/ipgated.lock")" 2>/dev/null
	[ -f "$RUN/lists/state/ipgated.lock" ] && kill "$(head -n1 "$RUN/lists/state/ipgated.lock")" 2>/dev/null
	[ -f "$RUN/nginx.pid" ] && kill "$(cat "$RUN/nginx.pid")" 2>/dev/null
	[ -f "$RUN/http/state/ipgated.lock" ] && kill "$(head -n1 "$RUN/http/state/ipgated.lock")" 2>/dev/null
	[ -f "$RUN/http/nginx.pid" ] && kill "$(cat "$RUN/http/nginx.pid")" 2>/dev/null
	ip -n "$RX" link set rx0 xdp off 2>/dev/null
	netns_cleanup
	for ns in $(ip netns list | awk '{print $1}' | grep "^$NS_PREFIX-"); do ip netns del "$ns"; done
	umount "$RUN/bpf" 2>/dev/null
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
[ "$(id -u)" = 0 ] || { echo "bench: run as root (namespaces, XDP)"; exit 1; }
(cleanup) 2>/dev/null # leftovers of a run that died; keeps set -e here
mkdir -p "$OUT" "$RUN"
rm -f "$OUT"/*.txt "$OUT"/*.png "$OUT"/*.dat
T0=$(date +%s)
say() { printf '== %s\n' "$*" >&2; }

say "1/6 per-packet cost (BPF_PROG_TEST_RUN), named lists included"
$B/bench/bench_pkt $([ $QUICK = 1 ] && echo --quick) >"$OUT/pkt.txt"

say "2/6 drop rate on a veth pair"
ip netns add "$GEN"; NS_CREATED+=("$GEN")
ip netns add "$RX"; NS_CREATED+=("$RX")
ip link add gen0 netns "$GEN" type veth peer name rx0 netns "$RX"
ip -n "$GEN" addr add "$GEN4/24" dev gen0
ip -n "$RX" addr add "$RX4/24" dev rx0
ip -n "$GEN" link set gen0 up; ip -n "$GEN" link set lo up
ip -n "$RX" link set rx0 up; ip -n "$RX" link set lo up
# The generator's frames arrive on gen0 by redirect; veth needs an XDP
# program on its peer for that, and on gen0 for replies the other way.
bpffs_shared "$RUN/bpf"
bpftool prog loadall $B/testprogs.bpf.o "$RUN/bpf/progs"
bpftool prog loadall $B/bench.bpf.o "$RUN/bpf/bench" pinmaps "$RUN/bpf/benchmaps"
ip -n "$GEN" link set gen0 xdp pinned "$RUN/bpf/progs/xdp_pass"
mac() { ip -n "$1" -j link show "$2" | $PY_BIN -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])'; }
RXMAC=$(mac "$RX" rx0) GENMAC=$(mac "$GEN" gen0)
mkdir -p "$RUN/etc"
nginx_services "$RUN" "$RX"

# The 50 entries every contender gets: the client and 49 /30s.
PREFIXES=("$GEN4/32")
for i in $(seq 0 48); do PREFIXES+=("192.0.2.$((i * 4))/30"); done
{
	echo "interface rx0"; echo "enabled yes"; echo "protect tcp/443"
	echo "mode drop"; echo "breakglass-port off"
	echo "max-entries 64   # room for the control-plane part's adds"
	for p in "${PREFIXES[@]}"; do echo "allow ${p%/32}"; done
} >"$RUN/etc/ipgate.conf"
cp "$RUN/etc/ipgate.conf" "$RUN/a.conf"
# The blocked-source log is on (its default budget) in a.conf; off here.
sed 's/^mode drop$/mode drop\nblocked-log off/' "$RUN/a.conf" >"$RUN/nolog.conf"
# b.conf: the same list with its last entry swapped for another.
sed 's|^allow 192.0.2.192/30$|allow 198.51.100.0/30|' "$RUN/a.conf" >"$RUN/b.conf"
cmp -s "$RUN/a.conf" "$RUN/b.conf" && { echo "bench: a.conf and b.conf are equal" >&2; exit 1; }
ipgate() { $B/ipgate --socket "$RUN/ipgate.sock" "$@"; }
ip netns exec "$RX" $B/ipgated --config "$RUN/etc/ipgate.conf" \
	--socket "$RUN/ipgate.sock" --pin-dir "$RUN/bpf/ipgate" \
	--audit-log "$RUN/audit.jsonl" --state-dir "$RUN/state" 2>"$RUN/ipgated.log"
ipgate detach >/dev/null

nft_rules() {
	local elems
	elems=$(printf '%s, ' "${PREFIXES[@]}")
	cat <<NFT
table netdev ipgb {
	set allow { type ipv4_addr; flags interval; elements = { ${elems%, } } }
	counter drops { }
	chain ingress {
		type filter hook ingress device "rx0" priority -500; policy accept;
		tcp dport 443 ip saddr != @allow counter name "drops" drop
	}
}
NFT
}

# on CONTENDER / off CONTENDER / dropped CONTENDER
on() {
	case $1 in
	ipgate) ipgate attach >/dev/null ;;
	ipgate_nolog) ipgate apply "$RUN/nolog.conf" >/dev/null && ipgate attach >/dev/null ;;
	nftables)
		ip -n "$RX" link set rx0 xdp pinned "$RUN/bpf/progs/xdp_pass"
		nft_rules | ip netns exec "$RX" nft -f - ;;
	ceiling) ip -n "$RX" link set rx0 xdp pinned "$RUN/bpf/bench/xdp_drop_all" ;;
	esac
}
off() {
	case $1 in
	ipgate) ipgate detach >/dev/null ;;
	ipgate_nolog) ipgate detach >/dev/null && ipgate apply "$RUN/a.conf" >/dev/null ;;
	nftables)
		ip netns exec "$RX" nft delete table netdev ipgb
		ip -n "$RX" link set rx0 xdp off ;;
	ceiling) ip -n "$RX" link set rx0 xdp off ;;
	esac
}
dropped() {
	case $1 in
	ipgate | ipgate_nolog) ipgate --json status | $PY_BIN -c 'import json,sys; print(json.load(sys.stdin)["counters"]["dropped"])' ;;
	nftables) ip netns exec "$RX" nft -j list counter netdev ipgb drops |
		$PY_BIN -c 'import json,sys; d=json.load(sys.stdin)["nftables"]; print([x for x in d if "counter" in x][0]["counter"]["packets"])' ;;
	ceiling) bpftool -j map dump pinned "$RUN/bpf/benchmaps/drop_count" |
		$PY_BIN -c 'import json,sys; d=json.load(sys.stdin); print(sum(v["value"] for v in d[0]["formatted"]["values"]))' ;;
	esac
}
gen() { # COUNT
	ip netns exec "$GEN" $B/bench/bench_gen gen0 "$RXMAC" "$GENMAC" \
		"$RX4" "$FLOOD_BASE" "$FLOOD_BITS" "$1"
}

for r in $(seq 1 "$ROUNDS"); do
	for c in ipgate ipgate_nolog nftables ceiling; do
		on $c
		before=$(dropped $c)
		read -r _ sent secs < <(gen "$COUNT")
		after=$(dropped $c)
		off $c
		echo "rate $c $r $((after - before)) $sent $secs" >>"$OUT/rate.txt"
	done
done

say "3/6 the allowed client's request rate, calm and under a flood"
for r in $(seq 1 "$ROUNDS"); do
	for c in ipgate nftables; do
		on $c
		echo "http $c calm $r $(ip netns exec "$GEN" $B/bench/bench_http "$RX4" 443 "$HTTP_SECS" | cut -d' ' -f2-)" >>"$OUT/http.txt"
		rm -f "$RUN/stop"
		( while [ ! -e "$RUN/stop" ]; do gen 1000000 >/dev/null; done ) &
		flood=$!
		sleep 0.3
		echo "http $c flood $r $(ip netns exec "$GEN" $B/bench/bench_http "$RX4" 443 "$HTTP_SECS" | cut -d' ' -f2-)" >>"$OUT/http.txt"
		touch "$RUN/stop"
		wait "$flood"
		off $c
	done
done

say "4/6 control plane: changes to a 50-entry list, through ipgated"
ipgate attach >/dev/null
ipgate apply "$RUN/a.conf" >/dev/null
$B/bench/bench_ctl "$RUN/ipgate.sock" "$CTL_N" "$RUN/a.conf" "$RUN/b.conf" >"$OUT/ctl.txt"
pid=$(head -n1 "$RUN/state/ipgated.lock")
echo "mem ipgated $(awk '/VmHWM/ {print $2}' "/proc/$pid/status")" >"$OUT/mem.txt"
echo "mem maps $(bpftool -j map show | $PY_BIN -c '
import json,sys
print(sum(m.get("bytes_memlock",0) for m in json.load(sys.stdin) if m.get("name","").startswith("ipg_")))')" >>"$OUT/mem.txt"

say "5/6 lists: $(echo "$LISTS_N" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta') lists of 50 through ipgated"
# A namespace of its own with a fresh pin dir: nothing of part 4 is adopted.
LNS=$NS_PREFIX-lists L=$RUN/lists
ip netns add "$LNS"; NS_CREATED+=("$LNS")
ip -n "$LNS" link add rx0 type veth peer name rx1
ip -n "$LNS" link set rx0 up; ip -n "$LNS" link set rx1 up; ip -n "$LNS" link set lo up
mkdir -p "$L"
$PY_BIN scripts/bench-lists.py "$L/etc" "$LISTS_N"
# The HTTP API on loopback, for part 6's /metrics and PUT with 1,000 lists.
printf 'http-listen 127.0.0.1:8480\nmetrics-public yes\n' >>"$L/etc/ipgate.conf"
# lists_start: launch to serving (ipgated returns once its socket answers);
# prints the seconds and whether it loaded or adopted the maps.
lists_start() {
	local t0 t1 how
	t0=$(date +%s%N)
	ip netns exec "$LNS" $B/ipgated --config "$L/etc/ipgate.conf" \
		--socket "$L/ipgate.sock" --pin-dir "$RUN/bpf/lists" \
		--audit-log "$L/audit.jsonl" --state-dir "$L/state" 2>>"$L/ipgated.log" ||
		{ tail -n 5 "$L/ipgated.log" >&2; return 1; }
	t1=$(date +%s%N)
	how=$(grep -o '\(adopted\|loaded\) the datapath' "$L/ipgated.log" | tail -n1)
	echo "$(( (t1 - t0) / 1000000 )) ${how%% *}"
}
lipgate() { $B/ipgate --socket "$L/ipgate.sock" "$@"; }
cold=$(lists_start)
pid=$(head -n1 "$L/state/ipgated.lock")
{
	echo "lists n $LISTS_N"
	echo "lists cold_ms $cold"
	echo "lists rss_kb $(awk '/VmHWM/ {print $2}' "/proc/$pid/status")"
	echo "lists maps_bytes $(lipgate --json status | $PY_BIN -c 'import json,sys; print(json.load(sys.stdin)["maps"]["memory_bytes"])')"
} >"$OUT/lists.txt"
# Changes back to back on the last list (an even count: they leave it as
# it was), then spread over every list (each gets an add of the same entry,
# which would make the first of the former refused).
$B/bench/bench_ctl "$L/ipgate.sock" "$((CTL_N / 5 / 2 * 2))" - - "$(printf c%04d $((LISTS_N - 1)))" 1 >>"$OUT/lists.txt"
$B/bench/bench_ctl "$L/ipgate.sock" "$CTL_N" - - c%04d "$LISTS_N" >>"$OUT/lists.txt"
echo "lists rss_end_kb $(awk '/VmHWM/ {print $2}' "/proc/$pid/status")" >>"$OUT/lists.txt"
# Part 6's measures that need the 1,000 lists: /metrics, and PUT of ten
# of them in turn (c0000-c0009: 50 entries, max-entries 64; in turn, so
# that a list's RCU wait of part 5's list-same is not what is measured).
ip netns exec "$LNS" $PY_BIN scripts/bench-http.py metrics 127.0.0.1:8480 \
	"$METRICS_N" >"$OUT/metrics.txt"
tok=$(lipgate token create --role admin --id bench | tail -n 1)
ip netns exec "$LNS" $PY_BIN scripts/bench-http.py put 127.0.0.1:8480 "$tok" \
	"$(printf 'c%04d,' $(seq 0 9) | sed 's/,$//')" "$((CTL_N / 5))" \
	lists1000 >>"$OUT/put.txt"
# Stop it and start it again on the same pins: it adopts the maps.
kill "$pid"
for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$pid" 2>/dev/null && { echo "bench: ipgated $pid did not stop in 30 s" >&2; exit 1; }
restart=$(lists_start)
echo "lists restart_ms $restart" >>"$OUT/lists.txt"

say "6/6 HTTP API: PUT of a 50-entry list; /v1/check behind nginx at $CHECK_RATE requests/s"
# A server (ipgated with its API on loopback, nginx with the shipped
# snippet) and a client, on a veth pair of their own.
HS=$NS_PREFIX-hsrv HC=$NS_PREFIX-hcli H=$RUN/http HS4=198.18.2.1
ip netns add "$HS"; NS_CREATED+=("$HS")
ip netns add "$HC"; NS_CREATED+=("$HC")
ip link add h0 netns "$HS" type veth peer name h1 netns "$HC"
ip -n "$HS" addr add "$HS4/24" dev h0
ip -n "$HC" addr add 198.18.2.2/24 dev h1
for ns in "$HS" "$HC"; do ip -n "$ns" link set lo up; done
ip -n "$HS" link set h0 up; ip -n "$HC" link set h1 up
mkdir -p "$H/etc"
# acme: the snippet's list for acme.api.example.com, holding the client;
# putbench: the list the PUTs rewrite. 50 entries each.
{
	echo "interface h0"; echo "enabled no"; echo "protect tcp/443"
	echo "breakglass-port off"
	echo "http-listen 127.0.0.1:8480"; echo "http-trusted-proxy 127.0.0.1/32"
	for l in acme putbench; do
		echo "list $l {"; echo "  address shared"; echo "  enabled yes"
		echo "  max-entries 64"; echo "  allow 198.18.2.0/24 \"bench client\""
		for i in $(seq 0 48); do echo "  allow 192.0.2.$((i * 4))/30"; done
		echo "}"
	done
} >"$H/etc/ipgate.conf"
hipgate() { $B/ipgate --socket "$H/ipgate.sock" "$@"; }
ip netns exec "$HS" $B/ipgated --config "$H/etc/ipgate.conf" \
	--socket "$H/ipgate.sock" --pin-dir "$RUN/bpf/http" \
	--audit-log "$H/audit.jsonl" --state-dir "$H/state" 2>"$H/ipgated.log" ||
	{ tail -n 5 "$H/ipgated.log" >&2; exit 1; }
tok=$(hipgate token create --role admin --id bench | tail -n 1)
ip netns exec "$HS" $PY_BIN scripts/bench-http.py put 127.0.0.1:8480 "$tok" \
	putbench "$CTL_N" lists2 >>"$OUT/put.txt"
# nginx: the snippet as shipped (auth_request on port 80), the app it
# guards (127.0.0.1:8080), and the same proxying without the check (81).
cat >"$H/nginx.conf" <<NGX
daemon on; pid $H/nginx.pid; error_log $H/nginx.err;
worker_processes 1;
events { worker_connections 256; }
http {
	access_log off;
	keepalive_requests 1000000;
	include $PWD/dist/nginx/ipgate-auth.conf;
	server { listen 127.0.0.1:8080; location / { return 200 "app\n"; } }
	server {
		listen 81;
		location / {
			proxy_pass http://ipgate_app;
			proxy_set_header Host \$host;
			proxy_set_header X-Real-IP \$remote_addr;
		}
	}
}
NGX
ip netns exec "$HS" nginx -c "$H/nginx.conf" -e "$H/nginx.err" -p "$H/"
hcode() { # NS HOST URL
	ip netns exec "$1" curl -s -o /dev/null -w '%{http_code}' -H "Host: $2" "$3"
}
for _ in $(seq 50); do [ "$(hcode "$HC" x "http://$HS4:81/")" = 200 ] && break; sleep 0.1; done
# The check is live: loopback is not in acme's list.
for c in "$HC acme.api.example.com http://$HS4/ 200" \
	"$HS acme.api.example.com http://127.0.0.1/ 403" \
	"$HC acme.api.example.com http://$HS4:81/ 200"; do
	read -r ns host url want <<<"$c"
	got=$(hcode "$ns" "$host" "$url") || got="no answer"
	[ "$got" = "$want" ] || { echo "bench: $host $url from $ns: $got, expected $want" >&2; exit 1; }
done
for r in $(seq 1 "$ROUNDS"); do
	for k in plain:81:acme auth:80:acme nolist:80:initech; do
		IFS=: read -r kind port host <<<"$k"
		ip netns exec "$HC" $B/bench/bench_check "$HS4" "$port" \
			"$host.api.example.com" /v1/things "$CHECK_RATE" \
			"$CHECK_SECS" "$kind" >>"$OUT/check.txt"
	done
done

say "report"
{
	echo "date $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "kernel $(uname -r)"
	echo "cpu $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
	echo "cpus $(nproc)"
	echo "mode $([ $QUICK = 1 ] && echo quick || echo full)"
	echo "rounds $ROUNDS"
	echo "check_rate $CHECK_RATE"
	echo "count $COUNT"
	echo "seconds $(( $(date +%s) - T0 ))"
} >"$OUT/env.txt"
$PY_BIN scripts/bench-report.py "$OUT"
echo "bench: $OUT/report.md ($(( $(date +%s) - T0 )) s)"
