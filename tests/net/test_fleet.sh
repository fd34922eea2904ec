#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# A fleet through real etcd: a three-member etcd cluster (Debian's
# etcd-server) in a store namespace, and three API hosts, each running its
# own ipgated with "store etcd ...", each behind its own switch with an
# allowed client and an outsider. Every host serves the same address
# (198.18.0.10, as behind a load balancer), which the store's list acme
# guards, so one list text means the same on all three.
#
#   ipgf-store: br0 198.18.250.1-3 (members m1..m3, client port 2379)
#     |-- st0 198.18.250.1N of ipgf-N-api (N = 1, 2, 3)
#   ipgf-N-sw: br0 -- ipgf-N-api (eth0: 198.18.0.1 and .10, protected)
#                  -- ipgf-N-client 198.18.0.2, ipgf-N-out 198.18.0.3
#
# Tests marked "needs: writes" use changes made on a host (CLI, HTTP),
# which go to etcd as transactions; "needs: fleet", the hosts' records
# under hosts/NAME and `ipgate fleet`.
# One test: tests/net/test_fleet.sh test_NAME. etcd's logs and each host's
# ipgated log are shown when a test fails.
SUITE=net/fleet NS_PREFIX=ipgf
. "$(dirname "$0")/lib.sh"
require_root

# IPGATE_TEST_DEBUG=1 opens its shell in host 1.
API=$NS_PREFIX-1-api
STORE=$NS_PREFIX-store
M=(- 198.18.250.1 198.18.250.2 198.18.250.3) # the members' addresses
EPS=http://${M[1]}:2379,http://${M[2]}:2379,http://${M[3]}:2379
ETCD=$RUN/etcd
VIP=198.18.0.10   # every host's API address, guarded by list acme
BETA=198.18.0.11  # list beta's address, when a test has it
HOST4=198.18.0.1 CLIENT4=198.18.0.2 OUT4=198.18.0.3
U=http://127.0.0.1:8481
HOSTS="1 2 3"
declare -A TOKEN

for c in etcd etcdctl curl; do
	command -v $c >/dev/null || {
		echo "FAIL $SUITE: needs $c (apt-get install etcd-server etcd-client curl)"
		echo "RESULT $SUITE passed=0 failed=1 skipped=0"
		exit 1
	}
done

# on N: lib.sh's per-host names (API, CONF, SOCK, STATE, ...) become host
# N's. Used in subshells only: the suite's own names stay lib.sh's, so its
# cleanup (every ipgf-* namespace, the bpffs at $RUN/bpf, $RUN) holds.
on() {
	local d=$RUN/h$1
	API=$NS_PREFIX-$1-api CLIENT=$NS_PREFIX-$1-client OUT=$NS_PREFIX-$1-out
	CONF=$d/ipgate.conf SOCK=$d/ipgate.sock PINS=$RUN/bpf/h$1
	AUDIT=$d/audit.jsonl STATE=$d/state DLOG=$d/ipgated.log
}
# ipg N ARGS: the CLI on host N (ipg_fast: without sanitizers, for polls).
ipg() { (on "$1" && shift && ipgate "$@"); }
ipg_fast() { (on "$1" && shift && ipgate_fast "$@"); }
host_start() { (on "$1" && daemon_start) || fail "ipgated on host $1 did not start: $(tail -n 3 "$RUN/h$1/ipgated.log")"; }
host_stop() { (on "$1" && daemon_stop); }
host_pid() { (on "$1" && daemon_pid); }
# hosts_start N...: starts ipgated on each host at once (each start waits
# for its own socket).
hosts_start() {
	local n pids=()
	for n in "$@"; do (on "$n" && daemon_start) & pids+=($!); done
	for n in "$@"; do
		wait "${pids[0]}" || fail "ipgated on host $n did not start: $(tail -n 3 "$RUN/h$n/ipgated.log")"
		pids=("${pids[@]:1}")
	done
}
host_kill9() { (on "$1" && daemon_kill9); }
audit_of() { cat "$RUN/h$1/audit.jsonl" 2>/dev/null; }

# reach_vip N WHO: whether WHO (client or out) of host N's switch gets
# through to host N's API address.
reach_vip() { reach "$NS_PREFIX-$1-$2" "${3:-$VIP}"; }

# ectl ARGS: etcdctl (v3) against the members, from the store namespace.
ectl() {
	ip netns exec "$STORE" env ETCDCTL_API=3 etcdctl --endpoints="${ECTL_EPS:-$EPS}" \
		--dial-timeout=2s --command-timeout=10s "$@"
}
# put_list NAME < TEXT: puts the list's key; prints the revision.
put_list() {
	ectl put -w json "/ipgate/lists/$1" | grep -oE '"revision":[0-9]+' | cut -d: -f2
}
# put_list_via EPS NAME < TEXT: put_list through members EPS, again while
# they elect a leader (up to 30 tries); prints the revision.
put_list_via() {
	local text rev
	text=$(cat)
	for _ in $(seq 30); do
		rev=$(ECTL_EPS=$1 put_list "$2" <<<"$text" 2>/dev/null)
		[ -n "$rev" ] && { echo "$rev"; return 0; }
		sleep 1
	done
	return 1
}
store_revision() {
	ectl get -w json /ipgate/ --prefix --keys-only --limit 1 |
		grep -oE '"revision":[0-9]+' | head -n 1 | cut -d: -f2
}
# acme_text ENTRY...: list acme's block, each ENTRY "CIDR LABEL".
acme_text() {
	printf 'list acme {\n  address %s\n  enabled yes\n' "$VIP"
	local e
	for e in "$@"; do printf '  allow %s\n' "$e"; done
	printf '}\n'
}

# ---- etcd ----

member_start() {
	local n=$1 i cluster=""
	for i in 1 2 3; do cluster+="${cluster:+,}m$i=http://${M[$i]}:2380"; done
	ip netns exec "$STORE" etcd --name "m$n" --data-dir "$ETCD/m$n" \
		--listen-client-urls "http://${M[$n]}:2379" \
		--advertise-client-urls "http://${M[$n]}:2379" \
		--listen-peer-urls "http://${M[$n]}:2380" \
		--initial-advertise-peer-urls "http://${M[$n]}:2380" \
		--initial-cluster "$cluster" --initial-cluster-state new \
		--initial-cluster-token ipgf \
		--experimental-watch-progress-notify-interval=1s \
		>>"$ETCD/m$n.log" 2>&1 </dev/null &
	echo $! >"$ETCD/m$n.pid"
	disown
}
# member_stop N [SIGNAL]: stops member N (TERM, or KILL) and waits.
member_stop() {
	local pid
	pid=$(cat "$ETCD/m$1.pid" 2>/dev/null) || return 0
	kill -"${2:-TERM}" "$pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null
	rm -f "$ETCD/m$1.pid"
}
member_healthy() { ECTL_EPS=http://${M[$1]}:2379 ectl endpoint health; }
cluster_healthy() { member_healthy 1 && member_healthy 2 && member_healthy 3; }
etcd_start_all() {
	local n
	mkdir -p "$ETCD"
	for n in 1 2 3; do member_start $n; done
	wait_until 60 cluster_healthy || fail "etcd did not become healthy: $(tail -n 3 "$ETCD/m1.log")"
}
etcd_stop_all() { local n; for n in 1 2 3; do member_stop $n; done; }

# ---- the hosts ----

# host_config N: host N's own file: the default list (nobody of the test's
# at the top level), the store, the HTTP API on its loopback.
host_config() {
	(
		on "$1"
		mkdir -p "$RUN/h$1"
		cat >"$CONF" <<CFG
# host $1 of the fleet
interface eth0
enabled yes
protect tcp/443
mode drop
allow 198.18.0.4 nobody
store etcd $EPS
store-host h$1
http-listen 127.0.0.1:8481
CFG
	)
}

fleet_net() {
	local n
	net_cleanup_all
	mkdir -p "$RUN"
	bpffs_shared "$RUN/bpf"
	ip netns add "$STORE"
	NS_CREATED+=("$STORE")
	ip -n "$STORE" link set lo up
	ip -n "$STORE" link add br0 type bridge
	ip -n "$STORE" link set br0 up
	for n in 1 2 3; do ip -n "$STORE" addr add "${M[$n]}/24" dev br0; done
	for n in $HOSTS; do
		NS_PREFIX=$NS_PREFIX-$n netns_switch
		NS_PREFIX=$NS_PREFIX-$n netns_host api "$HOST4/24" 2001:db8:7::1/64
		NS_PREFIX=$NS_PREFIX-$n netns_host client "$CLIENT4/24" 2001:db8:7::2/64
		NS_PREFIX=$NS_PREFIX-$n netns_host out "$OUT4/24" 2001:db8:7::3/64
		ip -n "$NS_PREFIX-$n-api" addr add "$VIP/24" dev eth0
		ip -n "$NS_PREFIX-$n-api" addr add "$BETA/24" dev eth0
		ip link add "h$n" netns "$STORE" type veth peer name st0 netns "$NS_PREFIX-$n-api"
		ip -n "$STORE" link set "h$n" master br0 up
		ip -n "$NS_PREFIX-$n-api" addr add "198.18.250.1$n/24" dev st0
		ip -n "$NS_PREFIX-$n-api" link set st0 up
		mkdir -p "$RUN/h$n" "$RUN/bpf/h$n"
		(on $n && listen 443)
		host_config $n
	done
}

# fleet_fresh: the namespaces, etcd, list acme in the store (the client
# allowed), and ipgated on every host, enforcing it.
fleet_fresh() {
	local rev
	fleet_net
	etcd_start_all
	rev=$(acme_text "$CLIENT4 office" | put_list acme)
	[ -n "$rev" ] || fail "cannot put list acme into etcd"
	hosts_start $HOSTS
	all_at "$rev"
}

# revision_of N: the store revision host N says it enforces.
revision_of() {
	ipg_fast "$1" status 2>/dev/null | sed -nE 's/^store .*, revision ([0-9]+), .*/\1/p'
}
at_least() { local r; r=$(revision_of "$1"); [ -n "$r" ] && [ "$r" -ge "$2" ]; }
connected() { ipg_fast "$1" status 2>/dev/null | grep -qE '^store .*; connected(,|$)'; }
unreachable() { ipg_fast "$1" status 2>/dev/null | grep -qE '^store .*; UNREACHABLE since '; }
store_line() { ipg_fast "$1" status 2>&1 | grep -E '^store ' || ipg_fast "$1" status 2>&1 | tail -n 2; }
# all_at REV: every host runs revision REV (or later) and is connected.
all_at() {
	local n
	for n in $HOSTS; do
		wait_until 30 at_least $n "$1" ||
			fail "host $n does not run revision $1 30 s after it was written: $(store_line $n)"
		wait_until 30 connected $n || fail "host $n is not connected: $(store_line $n)"
	done
}
# has_entry N CIDR: host N's list acme holds CIDR.
has_entry() { ipg_fast "$1" list --list "${3:-acme}" 2>/dev/null | grep -q "^$2 "; }

# fleet_end: every ipgated stopped (their sanitizer reports go to lib.sh's
# log, which run_tests reads), and what helps when the test failed.
fleet_end() {
	local n
	for n in $HOSTS; do
		[ -f "$RUN/h$n/state/ipgated.lock" ] && { kill -CONT "$(host_pid $n)"; host_stop $n & }
	done 2>/dev/null
	wait
	for n in $HOSTS; do
		grep -A 12 "Sanitizer" "$RUN/h$n/ipgated.log" 2>/dev/null | sed "s/^/host $n: /"
	done >"$DLOG"
	[ "$CUR_FAILED" = 1 ] || return 0
	for n in $HOSTS; do
		echo "--- host $n: ipgated log (last 12 lines)"
		tail -n 12 "$RUN/h$n/ipgated.log" 2>/dev/null
	done
	for n in 1 2 3; do
		echo "--- etcd member m$n (last 4 lines)"
		tail -n 4 "$ETCD/m$n.log" 2>/dev/null | cut -c 1-300
	done
	etcd_stop_all
}


# mod_revision_of KEY: the key's mod revision in etcd (empty: no key).
mod_revision_of() {
	ectl get -w json "$1" | grep -oE '"mod_revision":[0-9]+' | head -n 1 | cut -d: -f2
}
# refusing N LIST REV: host N's status reports LIST refused at REV.
refusing() { ipg_fast "$1" status 2>/dev/null | grep -qE "^ +REFUSED list $2 at revision $3: "; }
# fleet_view N REV: host N's `ipgate --json fleet`, one line a host,
# "NAME current|old STATE", after a line on the store ("store current|old").
fleet_view() {
	ipg_fast "$1" --json fleet 2>&1 | $PY -c '
import json, sys
rev = int(sys.argv[1])
f = json.load(sys.stdin)
print("store", "current" if f["revision"] >= rev else "old")
for h in sorted(f["hosts"], key=lambda h: h["host"]):
    print(h["host"], "current" if h["revision"] >= rev else "old", h["state"])' "$2" 2>&1
}
# fleet_is N REV STATE1 STATE2 STATE3: host N's fleet view says hosts 1-3
# are in these states ("current ok", "old behind", ...).
fleet_is() {
	[ "$(fleet_view "$1" "$2")" = "$(printf 'store current\nh1 %s\nh2 %s\nh3 %s' "$3" "$4" "$5")" ]
}

# token N: an admin token of host N's HTTP API (tokens are the host's).
token() { TOKEN[$1]=$(ipg "$1" token create --role admin --id "fleet-$1" | tail -n 1); }
# api N METHOD PATH [BODY [IF-MATCH]]: a request to host N's API; prints
# the body, then the status on a line of its own.
api() {
	local n=$1 m=$2 p=$3 body=${4:-} im=${5:-}
	ip netns exec "$NS_PREFIX-$n-api" curl -sS -m 30 -w '\n%{http_code}' -X "$m" \
		-H "Authorization: Bearer ${TOKEN[$n]}" \
		${body:+-H 'Content-Type: application/json' --data-binary "$body"} \
		${im:+-H "If-Match: $im"} "$U$p" 2>&1
}
etag() { api "$1" GET /v1/lists/acme | head -n -1 | $PY -c 'import json,sys; print(json.load(sys.stdin)["etag"])'; }

# ---- the tests ----

test_a_list_written_to_the_store_is_enforced_on_every_host() {
	local n rev
	fleet_net
	etcd_start_all
	hosts_start $HOSTS
	for n in $HOSTS; do
		wait_until 30 connected $n || fail "host $n did not connect to the store: $(store_line $n)"
		check_not "host $n: the client is not allowed before the list" reach_vip $n client
	done
	rev=$(acme_text "$CLIENT4 office" | put_list acme)
	all_at "$rev"
	for n in $HOSTS; do
		check "host $n: the listed client reaches the API" reach_vip $n client
		check_not "host $n: the outsider is blocked" reach_vip $n out
		check_has "host $n: status names the store, its revision and one list" \
			"$(ipg $n status)" "^store +etcd http://${M[1]}:2379,\.\.\., revision [0-9]+, 1 list\(s\); connected"
		check_has "host $n: lists shows acme" "$(ipg $n lists)" "^acme +$VIP "
		check_has "host $n: audited as store, naming the revision" "$(audit_of $n | tail -n 1)" \
			"\"action\":\"store\",\"list\":\"acme\".*\"after\":\{\"revision\":${rev}[,}]"
	done
	fleet_end
}

test_a_change_on_one_host_reaches_every_host_and_fleet_shows_it() {
	local n r rev
	fleet_fresh
	for n in $HOSTS; do check_not "host $n: the outsider is blocked before" reach_vip $n out; done
	# needs: writes
	r=$(ipg 1 add "$OUT4" --list acme --label contractor 2>&1)
	check_has "the CLI on host 1 prints the store's revision" "$r" "revision [0-9]+"
	rev=$(grep -oE 'revision [0-9]+' <<<"$r" | head -n 1 | cut -d' ' -f2)
	check "host 1 enforces it when the CLI returns" reach_vip 1 out
	check_has "etcd holds the change" "$(ectl get /ipgate/lists/acme --print-value-only)" "allow $OUT4 +contractor"
	check_eq "the CLI's revision is the key's" "$(mod_revision_of /ipgate/lists/acme)" "$rev"
	all_at "${rev:-999999}"
	for n in $HOSTS; do check "host $n: the outsider reaches the API" reach_vip $n out; done
	# needs: fleet
	wait_until 30 fleet_is 1 "${rev:-999999}" "current ok" "current ok" "current ok" ||
		fail "fleet on host 1 does not show every host at revision $rev: $(fleet_view 1 "${rev:-999999}")"
	check_has "fleet names host 3, its revision and state" "$(ipg 1 fleet)" "^h3 +$rev +[0-9]+s +ok$"
	# The same through HTTP on host 2. needs: writes
	token 2
	r=$(api 2 DELETE "/v1/lists/acme/entries/$OUT4")
	check_eq "HTTP DELETE on host 2" 200 "$(tail -n 1 <<<"$r")"
	rev=$(mod_revision_of /ipgate/lists/acme)
	check_lacks "etcd no longer holds the entry" "$(ectl get /ipgate/lists/acme --print-value-only)" "$OUT4"
	all_at "$rev"
	for n in $HOSTS; do
		check_not "host $n: the outsider is blocked again" reach_vip $n out
		check "host $n: the client still reaches the API" reach_vip $n client
	done
	wait_until 30 fleet_is 3 "$rev" "current ok" "current ok" "current ok" ||
		fail "fleet on host 3 does not show every host at revision $rev: $(fleet_view 3 "$rev")"
	fleet_end
}

test_a_document_that_does_not_validate_is_refused_on_every_host_and_the_previous_list_stays() {
	local n bad other good
	fleet_fresh
	bad=$(acme_text "$CLIENT4 office" "$OUT4 contractor" "203.0.113.7/24 host-bits" | put_list acme)
	other=$(printf 'list gamma {\n  address %s\n  enabled yes\n}\n' "$BETA" | put_list beta)
	for n in $HOSTS; do
		wait_until 30 refusing $n acme "$bad" || fail "host $n does not report acme refused: $(ipg $n status)"
		wait_until 30 refusing $n beta "$other" || fail "host $n does not report beta refused: $(ipg $n status)"
		check_has "host $n: status says why acme was refused" "$(ipg $n status)" \
			"REFUSED list acme at revision $bad: .*203\.0\.113\.7/24.*host bits"
		check_has "host $n: status says why beta was refused" "$(ipg $n status)" \
			"REFUSED list beta at revision $other: .*holds list gamma"
		check_has "host $n: audited as rejected-store, with the revision and why" "$(audit_of $n)" \
			"\"action\":\"rejected-store\",\"list\":\"acme\".*\"after\":\{\"revision\":$bad,\"error\":\".*203\.0\.113\.7/24"
		check "host $n: the client still reaches the API" reach_vip $n client
		check_not "host $n: the outsider (in the refused text) is still blocked" reach_vip $n out
		check_lacks "host $n: no list gamma or beta runs" "$(ipg $n lists)" "^(gamma|beta) "
	done
	good=$(acme_text "$CLIENT4 office" "$OUT4 contractor" | put_list acme)
	ectl del /ipgate/lists/beta >/dev/null
	all_at "$good"
	for n in $HOSTS; do
		check "host $n: the good text runs: the outsider reaches the API" reach_vip $n out
		wait_until 30 bash -c "! $ROOT/build/ipgate --socket $RUN/h$n/ipgate.sock status | grep -q REFUSED" ||
			fail "host $n still reports a refusal: $(ipg $n status | grep REFUSED)"
	done
	fleet_end
}

# needs: fleet
test_fleet_shows_hosts_refusing_a_document_until_it_is_fixed() {
	local bad good
	fleet_fresh
	bad=$(acme_text "$CLIENT4 office" "203.0.113.7/24 host-bits" | put_list acme)
	wait_until 30 fleet_is 2 "$bad" "current refusing" "current refusing" "current refusing" ||
		fail "fleet does not show every host refusing revision $bad: $(fleet_view 2 "$bad")"
	check_has "fleet's rows say refusing" "$(ipg 2 fleet)" "^h1 +$bad +[0-9]+s +refusing$"
	good=$(acme_text "$CLIENT4 office" "$OUT4 contractor" | put_list acme)
	wait_until 30 fleet_is 2 "$good" "current ok" "current ok" "current ok" ||
		fail "fleet does not show every host ok at revision $good: $(fleet_view 2 "$good")"
	fleet_end
}

test_with_one_etcd_member_killed_changes_still_converge() {
	local n r rev
	fleet_fresh
	member_stop 1 KILL
	rev=$(acme_text "$CLIENT4 office" "$OUT4 contractor" |
		put_list_via "http://${M[2]}:2379,http://${M[3]}:2379" acme) ||
		{ fail "two members of three did not take a put"; fleet_end; return; }
	all_at "$rev"
	for n in $HOSTS; do check "host $n: the change through a live member runs" reach_vip $n out; done
	# needs: writes
	r=$(ipg 2 remove "$OUT4" --list acme 2>&1)
	check_has "a change on host 2 goes through" "$r" "revision [0-9]+"
	rev=$(grep -oE 'revision [0-9]+' <<<"$r" | head -n 1 | cut -d' ' -f2)
	all_at "${rev:-999999}"
	for n in $HOSTS; do check_not "host $n: the change made on host 2 runs" reach_vip $n out; done
	fleet_end
}

# A member that hangs (SIGSTOP) keeps its connections open and says
# nothing: the hosts must notice and go to another member.
test_with_one_etcd_member_hung_changes_still_converge() {
	local n rev
	fleet_fresh
	kill -STOP "$(cat "$ETCD/m1.pid")"
	rev=$(acme_text "$CLIENT4 office" "$OUT4 contractor" |
		put_list_via "http://${M[2]}:2379,http://${M[3]}:2379" acme) ||
		{ fail "two members of three did not take a put"; fleet_end; return; }
	for n in $HOSTS; do
		wait_until 60 at_least $n "$rev" ||
			fail "host $n does not run revision $rev 60 s after it was written with member m1 hung: $(store_line $n)"
		check "host $n: the outsider reaches the API" reach_vip $n out
	done
	kill -CONT "$(cat "$ETCD/m1.pid")"
	fleet_end
}

test_with_every_etcd_member_stopped_hosts_keep_enforcing_and_catch_up_after() {
	local n r rc rev
	fleet_fresh
	etcd_stop_all
	for n in $HOSTS; do
		wait_until 30 unreachable $n || fail "host $n does not say the store is unreachable: $(store_line $n)"
		check_has "host $n: status says since when, and that the lists stay" "$(ipg $n status)" \
			"^store +etcd .*, revision [0-9]+, 1 list\(s\); UNREACHABLE since 20[0-9-]+T[0-9:]+Z \(.+\): enforcing the lists of that revision$"
		check "host $n: the client still reaches the API" reach_vip $n client
		check_not "host $n: the outsider is still blocked" reach_vip $n out
	done
	# needs: writes
	r=$(ipg 1 add "$OUT4" --list acme 2>&1)
	rc=$?
	[ "$rc" != 0 ] || fail "a change with the store down exited 0: $r"
	check_has "the refusal names the store" "$r" "store"
	check_has "... as unreachable" "$r" "unreachable"
	check_lacks "nothing changed on host 1" "$(ipg 1 list --list acme)" "$OUT4"
	check_not "host 1: the outsider is still blocked" reach_vip 1 out
	token 3
	r=$(api 3 POST /v1/lists/acme/entries "{\"cidr\":\"$OUT4\"}")
	check_eq "HTTP with the store down: 503" 503 "$(tail -n 1 <<<"$r")"
	check_has "... naming it" "$r" "unreachable"
	etcd_start_all
	rev=$(acme_text "$CLIENT4 office" "$OUT4 contractor" | put_list acme)
	all_at "${rev:-999999}"
	for n in $HOSTS; do check "host $n: caught up: the outsider reaches the API" reach_vip $n out; done
	fleet_end
}

test_a_host_restarted_while_etcd_is_down_enforces_its_last_lists_at_once() {
	local rev
	fleet_fresh
	rev=$(acme_text "$CLIENT4 office" "$OUT4 contractor" | put_list acme)
	all_at "$rev"
	etcd_stop_all
	wait_until 30 unreachable 2 || fail "host 2 does not say the store is unreachable"
	host_kill9 2
	host_start 2
	# At once: before etcd is back, and with no wait.
	check "host 2 runs the store's last list: the client reaches the API" reach_vip 2 client
	check "... and its last change: the outsider too" reach_vip 2 out
	check_has "status: that revision, and the store unreachable" "$(ipg 2 status)" \
		"^store +etcd .*, revision $rev, 1 list\(s\); UNREACHABLE since "
	check_has "lists shows acme" "$(ipg 2 lists)" "^acme +$VIP "
	etcd_start_all
	wait_until 30 connected 2 || fail "host 2 did not reconnect: $(store_line 2)"
	check "host 2 still runs acme" reach_vip 2 out
	fleet_end
}

beta_text() { printf 'list beta {\n  address %s\n  enabled yes\n  allow %s outsider\n}\n' "$BETA" "$OUT4"; }

test_a_host_started_after_a_compaction_past_its_revision_converges() {
	local rev now
	fleet_fresh
	rev=$(beta_text | put_list beta)
	all_at "$rev"
	check "host 3: beta lets the outsider in" reach_vip 3 out "$BETA"
	host_stop 3
	rev=$(acme_text "$CLIENT4 office" "$OUT4 contractor" | put_list acme)
	ectl del /ipgate/lists/beta >/dev/null
	now=$(store_revision)
	check "compact etcd to revision $now" ectl compact "$now" --physical
	host_start 3
	wait_until 30 at_least 3 "$now" || fail "host 3 does not run revision $now: $(store_line 3)"
	wait_until 30 connected 3 || fail "host 3 is not connected: $(store_line 3)"
	check "host 3: acme's change runs: the outsider reaches the API" reach_vip 3 out
	check_lacks "host 3: beta, deleted meanwhile, is gone" "$(ipg 3 lists)" "^beta "
	check_not "host 3: ... and no longer lets the outsider in" reach_vip 3 out "$BETA"
	check_has "host 3: status counts one list" "$(ipg 3 status)" "^store .*, 1 list\(s\); connected"
	fleet_end
}

# A running host cut off from etcd resumes its watch from a revision
# compacted meanwhile: it reads everything again.
test_a_host_cut_off_while_etcd_compacts_past_its_revision_converges_on_reconnect() {
	local rev now
	fleet_fresh
	rev=$(beta_text | put_list beta)
	all_at "$rev"
	# Cut off with no connection open: etcd down first, then the link.
	etcd_stop_all
	wait_until 30 unreachable 3 || fail "host 3 does not say the store is unreachable"
	ip -n "$NS_PREFIX-3-api" link set st0 down
	etcd_start_all
	rev=$(acme_text "$CLIENT4 office" "$OUT4 contractor" | put_list acme)
	ectl del /ipgate/lists/beta >/dev/null
	now=$(store_revision)
	check "compact etcd to revision $now" ectl compact "$now" --physical
	check "host 3 is still cut off" unreachable 3
	check "host 3: still beta" reach_vip 3 out "$BETA"
	ip -n "$NS_PREFIX-3-api" link set st0 up
	wait_until 30 at_least 3 "$now" || fail "host 3 does not run revision $now: $(store_line 3)"
	wait_until 30 connected 3 || fail "host 3 is not connected: $(store_line 3)"
	check "host 3: acme's change runs" reach_vip 3 out
	check_lacks "host 3: beta, deleted meanwhile, is gone" "$(ipg 3 lists)" "^beta "
	check_not "host 3: ... and no longer lets the outsider in" reach_vip 3 out "$BETA"
	fleet_end
}

# needs: writes
test_two_writers_racing_on_one_list_one_wins_the_other_gets_412_and_nothing_is_lost() {
	local e1 e2 r1 r2 win lose wcidr lcidr n body
	fleet_fresh
	token 1
	token 2
	e1=$(etag 1)
	e2=$(etag 2)
	[ -n "$e1" ] && [ -n "$e2" ] || fail "no ETag of acme: \"$e1\" \"$e2\""
	ent() { printf '{"cidr":"%s","label":"%s"}' "$1" "$2"; }
	api 1 PUT /v1/lists/acme "{\"entries\":[$(ent $CLIENT4 office),$(ent $OUT4 'from host 1')]}" "$e1" >"$RUN/put1" &
	api 2 PUT /v1/lists/acme "{\"entries\":[$(ent $CLIENT4 office),$(ent 203.0.113.0/24 'from host 2')]}" "$e2" >"$RUN/put2" &
	wait
	r1=$(tail -n 1 "$RUN/put1") r2=$(tail -n 1 "$RUN/put2")
	check_eq "one PUT wins, the other gets 412 (host 1, host 2)" "200 412" "$(printf '%s\n' "$r1" "$r2" | sort | xargs)"
	if [ "$r1" = 200 ]; then
		win=1 lose=2 wcidr=$OUT4 lcidr=203.0.113.0/24
	else
		win=2 lose=1 wcidr=203.0.113.0/24 lcidr=$OUT4
	fi
	check_has "the 412 says the list changed meanwhile" "$(cat "$RUN/put$lose")" "changed meanwhile"
	for n in $HOSTS; do
		wait_until 30 has_entry $n "$wcidr" || fail "host $n does not run the winner's (host $win) entry $wcidr"
		check_not "host $n: not the loser's (host $lose) entry" has_entry $n "$lcidr"
		check "host $n: the entry both kept is there" has_entry $n "$CLIENT4"
	done
	# The loser re-reads and retries: both changes stand.
	body="{\"entries\":[$(ent $CLIENT4 office),$(ent $OUT4 'from host 1'),$(ent 203.0.113.0/24 'from host 2')]}"
	r1=$(api $lose PUT /v1/lists/acme "$body" "$(etag $lose)")
	check_eq "the loser's retry on a fresh ETag" 200 "$(tail -n 1 <<<"$r1")"
	for n in $HOSTS; do
		wait_until 30 has_entry $n "$lcidr" || fail "host $n does not run the retried entry $lcidr"
		check "host $n: the winner's entry stays" has_entry $n "$wcidr"
		check "host $n: the outsider reaches the API" reach_vip $n out
	done
	fleet_end
}

# needs: fleet
test_fleet_shows_a_stuck_host_behind_then_gone_when_its_lease_expires() {
	local rev lease kp
	fleet_fresh
	rev=$(mod_revision_of /ipgate/lists/acme)
	wait_until 30 fleet_is 1 "$rev" "current ok" "current ok" "current ok" ||
		fail "fleet does not show every host ok: $(fleet_view 1 "$rev")"
	# Host 3's ipgated stuck; its lease kept alive by the test meanwhile,
	# so that its record stays and shows it behind.
	lease=$(ectl get -w json /ipgate/hosts/h3 | grep -oE '"lease":[0-9]+' | cut -d: -f2)
	[ -n "$lease" ] || fail "host 3 has no record bound to a lease under /ipgate/hosts/h3"
	kill -STOP "$(host_pid 3)"
	ip netns exec "$STORE" env ETCDCTL_API=3 etcdctl --endpoints="$EPS" \
		lease keep-alive "$(printf %x "${lease:-0}")" >/dev/null 2>&1 &
	kp=$!
	rev=$(acme_text "$CLIENT4 office" "$OUT4 contractor" | put_list acme)
	wait_until 30 fleet_is 1 "$rev" "current ok" "current ok" "old behind" ||
		fail "fleet does not show host 3 behind: $(fleet_view 1 "$rev")"
	check_has "fleet's row for host 3 says behind" "$(ipg 1 fleet)" "^h3 +[0-9]+ +[0-9]+s +behind$"
	kill "$kp"
	wait "$kp" 2>/dev/null
	wait_until 60 fleet_is 1 "$rev" "current ok" "current ok" "old gone" ||
		fail "fleet does not show host 3 gone after its lease expired: $(fleet_view 1 "$rev")"
	check_has "fleet's row for host 3 says gone" "$(ipg 2 fleet)" "^h3 +[0-9]+ +[0-9]+s +gone$"
	kill -CONT "$(host_pid 3)"
	wait_until 60 fleet_is 1 "$rev" "current ok" "current ok" "current ok" ||
		fail "host 3, running again, is not back in the fleet: $(fleet_view 1 "$rev")"
	check "host 3: the outsider reaches the API" reach_vip 3 out
	fleet_end
}

run_tests "$@"
