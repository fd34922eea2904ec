#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# ipgated as a systemd service: what it tells $NOTIFY_SOCKET (READY=1 with
# STATUS=, RELOADING=1 then READY=1, STATUS= after a change, the watchdog,
# STOPPING=1), the file modes under the unit's UMask=0027, and an installed
# unit that `systemd-analyze verify` passes without a word. A stand-in
# socket (notify_sink.py) plays the service manager.
SUITE=net/systemd NS_PREFIX=ipgt-sd
. "$(dirname "$0")/lib.sh"
require_root

NSOCK=$RUN/notify.sock NOUT=$RUN/notify.out

# sink_start ADDR: the stand-in listens on ADDR (a path, or @NAME) in the
# API host, one line a datagram in $NOUT, fields separated by tabs. It dies
# with the namespace.
sink_start() {
	: >"$NOUT"
	rm -f "$RUN/sink.pid"
	ip netns exec "$API" $PY "$ROOT/tests/net/notify_sink.py" "$1" \
		"$NOUT" "$RUN/sink.pid" </dev/null >/dev/null 2>&1 &
	disown
	wait_until 10 test -s "$RUN/sink.pid" || fail "the notify sink did not start"
}

# The datagrams received so far, and the first one holding field $1 after
# line $2 (0: any), as "LINE:DATAGRAM".
dgrams() { cat "$NOUT" 2>/dev/null; }
dgram_with() { awk -v f="$1" -v from="${2:-0}" -F '\t' \
	'NR > from { for (i = 1; i <= NF; i++) if ($i == f) { print NR ":" $0; exit } }' "$NOUT"; }
has_dgram() { [ -n "$(dgram_with "$@")" ]; }
count_of() { grep -c -- "$1" "$NOUT" 2>/dev/null; }
at_least() { [ "$(count_of "$1")" -ge "$2" ]; }

# notified_start ADDR [ARGS]: a fresh API host, the sink on ADDR and
# ipgated in the foreground telling it (ARGS go to ipgated; WATCHDOG_USEC
# and the like come from the caller's environment). Waits for READY=1.
notified_start() {
	local addr=$1; shift
	net_setup
	base_config
	listen 443
	sink_start "$addr"
	NOTIFY_SOCKET=$addr daemon_start --foreground "$@" &
	disown
	wait_until 30 has_dgram READY=1 ||
		fail "no READY=1 within 30 s; got: $(dgrams); log: $(tail -n 3 "$DLOG")"
}

STATUS_RE='STATUS=generation [0-9]+, 2 entries, 0 named lists, 1 of 1 interface protected'

test_ready_with_status_once_enforcing_and_serving() {
	notified_start "$NSOCK"
	local first
	first=$(head -n 1 "$NOUT")
	check_has "the first datagram is READY=1" "$first" "^READY=1	"
	check_has "READY=1 carries the summary" "$first" "	$STATUS_RE$"
	check_lacks "no MAINPID= in the foreground" "$first" "MAINPID="
	check "serving when ready" ipgate status
	check "XDP attached when ready" bash -c "ip -n $API link show eth0 | grep -q xdp"
}

test_status_follows_each_change() {
	notified_start "$NSOCK"
	ipgate add 203.0.113.0/24 >/dev/null || fail "add refused"
	check "STATUS= after add" wait_until 20 grep -qE \
		"^STATUS=generation [0-9]+, 3 entries, 0 named lists, 1 of 1 interface protected$" "$NOUT"
	ipgate detach >/dev/null || fail "detach refused"
	check "STATUS= after detach" wait_until 20 bash -c \
		"grep -q 'STATUS=.*0 of 1 interface protected; detached by .ipgate detach.' '$NOUT'"
}

test_reload_sends_reloading_then_ready() {
	notified_start "$NSOCK"
	local n r
	n=$(wc -l <"$NOUT")
	kill -HUP "$(daemon_pid)"
	check "SIGHUP: RELOADING=1" wait_until 20 has_dgram RELOADING=1 "$n"
	r=$(dgram_with RELOADING=1 "$n")
	check_has "RELOADING=1 has MONOTONIC_USEC=" "$r" "	MONOTONIC_USEC=[0-9]+"
	check "SIGHUP: READY=1 after RELOADING=1" wait_until 20 has_dgram READY=1 "${r%%:*}"
	check_has "READY=1 after a reload has STATUS=" "$(dgram_with READY=1 "${r%%:*}")" "	$STATUS_RE$"

	# An edit of the file: the same, through inotify.
	n=$(wc -l <"$NOUT")
	sed "s/^allow $CLIENT4 .*/allow $CLIENT4 edited/" "$CONF" >"$CONF.new"
	mv "$CONF.new" "$CONF"
	check "file edit: RELOADING=1" wait_until 20 has_dgram RELOADING=1 "$n"
	r=$(dgram_with RELOADING=1 "$n")
	check "file edit: READY=1 after RELOADING=1" wait_until 20 has_dgram READY=1 "${r%%:*}"
}

test_sigterm_sends_stopping() {
	notified_start "$NSOCK"
	kill -TERM "$(daemon_pid)"
	check "SIGTERM: STOPPING=1" wait_until 20 has_dgram STOPPING=1
	check_has "the filter stays" "$(dgram_with STOPPING=1)" "filter stays attached"
}

test_watchdog_pinged_from_the_tick() {
	WATCHDOG_USEC=2000000 notified_start "$NSOCK"
	check "two WATCHDOG=1 within 30 s (2 s interval)" wait_until 30 at_least "^WATCHDOG=1$" 2
}

test_watchdog_pinged_by_its_timer_under_2s() {
	WATCHDOG_USEC=800000 notified_start "$NSOCK"
	check "two WATCHDOG=1 within 30 s (0.8 s interval)" wait_until 30 at_least "^WATCHDOG=1$" 2
}

test_no_watchdog_without_watchdog_usec() {
	notified_start "$NSOCK"
	sleep 3
	check_eq "no WATCHDOG=1 unasked" 0 "$(count_of WATCHDOG=1)"
}

test_abstract_notify_socket() {
	notified_start "@$NS_PREFIX-notify"
	check_has "READY=1 over an abstract socket" "$(head -n 1 "$NOUT")" "^READY=1	$STATUS_RE$"
}

test_forked_daemon_names_its_mainpid() {
	net_setup
	base_config
	listen 443
	sink_start "$NSOCK"
	NOTIFY_SOCKET=$NSOCK daemon_start || fail "ipgated did not start: $(tail -n 3 "$DLOG")"
	check "READY=1" wait_until 20 has_dgram READY=1
	check_has "READY=1 names the child as MAINPID" "$(dgram_with READY=1)" "	MAINPID=$(daemon_pid)	"
}

test_failed_start_says_why() {
	net_setup
	base_config
	echo "allow 203.0.113.7/24" >>"$CONF"
	sink_start "$NSOCK"
	NOTIFY_SOCKET=$NSOCK daemon_start --foreground && fail "a bad config started"
	check_has "STATUS= and ERRNO= on a failed start" "$(dgrams)" "^STATUS=not started: .*	ERRNO=[0-9]+$"
	check_lacks "no READY=1" "$(dgrams)" "READY=1"
}

# The unit's UMask=0027 must leave every file as the README's table says.
test_umask_0027_keeps_documented_modes() {
	net_setup
	base_config
	chmod 0644 "$CONF"
	(umask 0027 && daemon_start) || fail "ipgated did not start: $(tail -n 3 "$DLOG")"
	ipgate add 203.0.113.0/24 >/dev/null || fail "add refused"
	ipgate breakglass keygen >/dev/null 2>&1 || fail "keygen refused"
	check_eq "socket" 660 "$(stat -c %a "$SOCK")"
	check_eq "audit log" 640 "$(stat -c %a "$AUDIT")"
	check_eq "config rewritten with its mode" 644 "$(stat -c %a "$CONF")"
	check_eq "state dir" 700 "$(stat -c %a "$STATE")"
	check_eq "lock" 600 "$(stat -c %a "$STATE/ipgated.lock")"
	check_eq "break-glass key" 600 "$(stat -c %a "$STATE"/breakglass/*.key)"
}

# `systemd-analyze verify` exits 0 even on warnings: its output must be
# empty. The ExecStart path is moved under DESTDIR, where the binary is.
test_installed_unit_passes_systemd_analyze_verify() {
	local d unit out
	d=$(mktemp -d /tmp/ipgt-sd-install.XXXXXX)
	unit=$d/etc/systemd/system/ipgated.service
	if ! make -s -C "$ROOT" install DESTDIR="$d" >"$d.log" 2>&1; then
		fail "make install DESTDIR=$d failed: $(tail -n 3 "$d.log")"
		rm -rf "$d" "$d.log"
		return
	fi
	check_has "@SBINDIR@ substituted" "$(cat "$unit")" "^ExecStart=/usr/local/sbin/ipgated --foreground$"
	check_has "Type=notify with a watchdog" "$(cat "$unit")" "^Type=notify$"
	check_has "WatchdogSec" "$(cat "$unit")" "^WatchdogSec=30s$"
	check_has "KillMode=process" "$(cat "$unit")" "^KillMode=process$"
	mkdir -p "$d/verify"
	sed "s|^ExecStart=|ExecStart=$d|" "$unit" >"$d/verify/ipgated.service"
	out=$(systemd-analyze verify --man=no "$d/verify/ipgated.service" 2>&1)
	check_eq "systemd-analyze verify says nothing" "" "$out"
	rm -rf "$d" "$d.log"
}

run_tests "$@"
