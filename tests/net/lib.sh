# SPDX-License-Identifier: GPL-2.0
# The namespace test harness: a switch, an API host running ipgated, an
# allowed client and an outsider; test_* functions with check helpers; a
# closing "RESULT suite passed= failed= skipped=" line. Everything made is
# removed on every exit path. IPGATE_TEST_DEBUG=1 opens a shell in the
# API host's namespace at the first failure, before cleanup.
# Source it after setting SUITE and NS_PREFIX.

set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/scripts/netns-lib.sh"
# The binaries built with sanitizers; a report in the daemon's log fails
# the test.
B=$ROOT/build/san
RUN=/run/$NS_PREFIX
API=$NS_PREFIX-api CLIENT=$NS_PREFIX-client OUT=$NS_PREFIX-out
API4=198.18.0.1 CLIENT4=198.18.0.2 OUT4=198.18.0.3
API6=2001:db8:7::1 CLIENT6=2001:db8:7::2 OUT6=2001:db8:7::3
CONF=$RUN/etc/ipgate.conf SOCK=$RUN/ipgate.sock PINS=$RUN/bpf
AUDIT=$RUN/log/audit.jsonl STATE=$RUN/state DLOG=$RUN/ipgated.log
PY=/usr/bin/python3

T_PASSED=0 T_FAILED=0 T_SKIPPED=0 CUR_FAILED=0 CUR=""

fail() {
	echo "FAIL $CUR: $*"
	CUR_FAILED=1
	if [ "${IPGATE_TEST_DEBUG:-0}" = 1 ] && [ -t 0 ]; then
		echo "debug shell in $API (exit to continue)"
		ip netns exec "$API" bash -i || true
	fi
}
# check DESCRIPTION CMD...: CMD must succeed.
check() { local d=$1; shift; "$@" >/dev/null 2>&1 || fail "$d (failed: $*)"; }
# check_not DESCRIPTION CMD...: CMD must fail.
check_not() { local d=$1; shift; ! "$@" >/dev/null 2>&1 || fail "$d (succeeded: $*)"; }
# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() { [ "$2" = "$3" ] || fail "$1: expected \"$2\", got \"$3\""; }
# check_has DESCRIPTION TEXT PATTERN (grep -E)
check_has() { grep -qE -- "$3" <<<"$2" || fail "$1: \"$3\" not in: $2"; }
check_lacks() { ! grep -qE -- "$3" <<<"$2" || fail "$1: \"$3\" found in: $2"; }

ipgate() { "$B/ipgate" --socket "$SOCK" "$@"; }
# The CLI without sanitizers (which cost 70 ms a start), for long loops.
ipgate_fast() { "$ROOT/build/ipgate" --socket "$SOCK" "$@"; }

daemon_pid() { head -n1 "$STATE/ipgated.lock" 2>/dev/null; }

# daemon_start [ARGS]: starts ipgated in the API host; returns once it
# serves (or fails).
daemon_start() {
	ip netns exec "$API" "$B/ipgated" --config "$CONF" --socket "$SOCK" \
		--pin-dir "$PINS/ipgate" --audit-log "$AUDIT" \
		--state-dir "$STATE" --group daemon "$@" 2>>"$DLOG"
}
daemon_stop() {
	local pid; pid=$(daemon_pid)
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
	kill -9 "$pid" 2>/dev/null; return 0
}
daemon_kill9() {
	local pid; pid=$(daemon_pid)
	kill -9 "$pid"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
}

# reach FROM_NS ADDR [PORT]: whether a TCP connection from FROM_NS gets the
# listener's "ok" (within 0.6 s).
reach() {
	local a=$2; [[ $a == *:* ]] && a="[$a]"
	[ "$(ip netns exec "$1" timeout 2 socat -T1 - \
		"TCP:$a:${3:-443},connect-timeout=0.6" </dev/null 2>/dev/null)" = ok ]
}

# http FROM_NS URL [BIND]: prints the HTTP status, or "000 EXIT" when curl
# failed (7: refused or reset, 28: timed out).
http() {
	local code rc
	code=$(ip netns exec "$1" curl -sS -g -o /dev/null -w '%{http_code}' \
		${3:+--interface "$3"} --connect-timeout 1 --max-time 2 "$2" 2>/dev/null)
	rc=$?
	[ "$rc" = 0 ] && echo "$code" || echo "000 $rc"
}

# nginx_start: the API host's HTTP services (scripts/netns-lib.sh).
nginx_start() { nginx_services "$RUN" "$API"; }

# listen PORT...: an "ok" TCP service on each port in the API host.
listen() {
	local p
	for p in "$@"; do
		ip netns exec "$API" socat TCP6-LISTEN:"$p",fork,reuseaddr,ipv6only=0 \
			SYSTEM:'echo ok' </dev/null >/dev/null 2>&1 &
		disown
	done
	sleep 0.2
}

write_config() { mkdir -p "$RUN/etc"; cat >"$CONF"; }

base_config() {
	write_config <<CFG
# daemon test config
interface eth0
enabled yes
protect tcp/443 tcp/8443   # API and MCP
mode drop
allow $CLIENT4   client
allow $CLIENT6   "client v6"
CFG
}

# wait_until SECONDS CMD...: polls CMD every 0.1 s until it succeeds;
# fails after SECONDS. Bound waits generously: a busy machine is slow.
wait_until() {
	local n=$(($1 * 10)); shift
	for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}

# daemon_fresh [ARGS]: a fresh API host with the base config, "ok"
# services on tcp/443, 8443 and 80, and a running daemon (ARGS go to it).
daemon_fresh() {
	net_setup
	base_config
	listen 443 8443 80
	daemon_start "$@" || fail "ipgated did not start: $(tail -n 3 "$DLOG")"
}

net_setup() {
	net_cleanup_all
	netns_switch
	netns_host api "$API4/24" "$API6/64"
	netns_host client "$CLIENT4/24" "$CLIENT6/64"
	netns_host out "$OUT4/24" "$OUT6/64"
	mkdir -p "$RUN"
	bpffs_shared "$PINS"
}

net_cleanup_all() {
	[ -f "$STATE/ipgated.lock" ] && daemon_stop
	[ -f "$RUN/nginx.pid" ] && kill "$(cat "$RUN/nginx.pid")" 2>/dev/null
	netns_cleanup
	# Namespaces of a run that died: their names are ours.
	local ns
	for ns in $(ip netns list | awk '{print $1}' | grep "^$NS_PREFIX-"); do
		ip netns pids "$ns" | xargs -r kill -9
		ip netns del "$ns"
	done
	umount "$PINS" 2>/dev/null
	rm -rf "$RUN"
}

# run_tests: runs every test_* function (or those named in $@), each after
# a fresh start of the environment when it asks for one.
run_tests() {
	local t list
	list=$(declare -F | awk '{print $3}' | grep '^test_')
	[ $# -gt 0 ] && list="$*"
	trap 'net_cleanup_all' EXIT
	trap 'exit 130' INT TERM
	for t in $list; do
		CUR=$t CUR_FAILED=0
		"$t"
		[ -f "$STATE/ipgated.lock" ] && daemon_stop
		if grep -q "Sanitizer" "$DLOG" 2>/dev/null; then
			fail "sanitizer report in the ipgated log:"
			grep -A 12 "Sanitizer" "$DLOG" | head -n 30
		fi
		if [ "$CUR_FAILED" = 0 ]; then
			echo "ok $t"; T_PASSED=$((T_PASSED + 1))
		else
			echo "not ok $t"; T_FAILED=$((T_FAILED + 1))
			[ -s "$DLOG" ] && { echo "--- ipgated log (last 20 lines)"; tail -n 20 "$DLOG"; }
		fi
	done
	net_cleanup_all
	echo "RESULT $SUITE passed=$T_PASSED failed=$T_FAILED skipped=$T_SKIPPED"
	[ "$T_FAILED" = 0 ]
}

# require_root: a suite that cannot run fails loudly.
require_root() {
	if [ "$(id -u)" != 0 ] || ! command -v socat >/dev/null; then
		echo "FAIL $SUITE: needs root and socat (run 'make test' as root)"
		echo "RESULT $SUITE passed=0 failed=1 skipped=0"
		exit 1
	fi
}
