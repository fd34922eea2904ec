#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Regressions of the security review (issue 10) on the daemon's side: a
# failed start never opens the filter, replies arrive whole however large,
# idle clients cannot starve the socket, labels cannot carry terminal
# escapes, and a config managed elsewhere is never replaced.
SUITE=net/hardening NS_PREFIX=ipgt-h
. "$(dirname "$0")/lib.sh"
require_root

fresh() { daemon_fresh "$@"; }

# A start that loads a fresh program (the pinned meta record is unreadable)
# and then fails must leave the program that enforced before in place.
test_failed_fresh_start_leaves_old_filter_enforcing() {
	fresh
	check_not "before: outsider blocked" reach "$OUT" "$API4"
	daemon_kill9
	rm -f "$PINS/ipgate/ipg_meta"
	IPGATE_FAULTS=start-apply daemon_start
	check_eq "start with a failing apply exits 1" 1 "$?"
	check_has "failure says the old filter stays" "$(tail -n 5 "$DLOG")" \
		"nothing was attached, so whatever enforced before still does"
	check "XDP still attached" bash -c "ip -n $API link show eth0 | grep -q xdp"
	check_not "after failed start: outsider still blocked" reach "$OUT" "$API4"
	check "after failed start: client still allowed" reach "$CLIENT" "$API4"
	daemon_start || fail "a clean start after the failed one"
	check_not "clean start: outsider blocked" reach "$OUT" "$API4"
	check "clean start: client allowed" reach "$CLIENT" "$API4"
	check "clean start: kernel equals file" \
		$PY "$ROOT/tests/net/kernel_matches_file.py" "$PINS/ipgate" "$CONF"
}

# A failure at any step of a change leaves kernel, file and log as they were.
test_change_failing_at_each_step_changes_nothing() {
	fresh
	local before after step
	before=$(sha256sum "$CONF" "$AUDIT")
	for step in save attach apply audit; do
		daemon_stop
		IPGATE_FAULTS=$step daemon_start || { fail "start with fault $step"; continue; }
		check_not "fault $step: add refused" ipgate add "$OUT4"
		after=$(sha256sum "$CONF" "$AUDIT")
		check_eq "fault $step: file and log unchanged" "$before" "$after"
		check_not "fault $step: outsider still blocked" reach "$OUT" "$API4"
		check "fault $step: kernel equals file" \
			$PY "$ROOT/tests/net/kernel_matches_file.py" "$PINS/ipgate" "$CONF"
	done
}

# A change that adds an interface and then fails leaves the new interface
# without the program, and the old one enforcing.
test_failed_change_detaches_the_interface_it_attached() {
	fresh
	ip -n "$API" link add eth9 type veth peer name eth9p
	ip -n "$API" link set eth9 up
	ip -n "$API" link set eth9p up
	daemon_stop
	IPGATE_FAULTS=apply daemon_start || fail "start with fault apply"
	sed 's/^interface eth0$/interface eth0 eth9/' "$CONF" >"$RUN/two.conf"
	check_not "apply adding eth9 refused" ipgate apply "$RUN/two.conf"
	check_not "eth9 left without XDP" bash -c "ip -n $API link show eth9 | grep -q xdp"
	check "eth0 still has XDP" bash -c "ip -n $API link show eth0 | grep -q xdp"
	check_lacks "file unchanged" "$(cat "$CONF")" "eth9"
	check_not "outsider still blocked" reach "$OUT" "$API4"
}

# An override that cannot be audited is not started, and the one running
# before (its deadline, record and reason) stays as it was.
test_failed_override_puts_back_what_ran_before() {
	fresh
	ipgate override --for 10m --reason "first" >/dev/null || fail "first override"
	daemon_stop
	IPGATE_FAULTS=override-audit daemon_start || fail "start with fault"
	check_not "second override refused" ipgate override --for 5m --reason "second"
	check_has "status keeps the first override" "$(ipgate status)" "first"
	check_has "state file keeps the first" "$(cat "$STATE/override")" "first"
	check_lacks "state file never names the second" "$(cat "$STATE/override")" "second"
	sleep 2 # the 1 s tick must not take it for an ended override
	check_lacks "no override-end recorded" "$(ipgate log -n 0)" "override-end"
	check "outsider passes under the first override" reach "$OUT" "$API4"
	check "cancel still works" ipgate override --cancel
}

# A start on adopted maps whose attach fails has already flipped what the
# attached program enforces: that is audited, and kernel equals file.
test_start_attach_failure_on_adopted_maps_is_audited() {
	fresh
	daemon_stop
	echo "allow $OUT4 outsider-by-hand" >>"$CONF"
	IPGATE_FAULTS=start-attach daemon_start
	check_eq "start with a failing attach exits 1" 1 "$?"
	check_has "reload audited" "$(tail -n 1 "$AUDIT")" '"action":"reload".*198.18.0.3'
	check "kernel equals file" \
		$PY "$ROOT/tests/net/kernel_matches_file.py" "$PINS/ipgate" "$CONF"
}

# Two `apply` records of 1,000 labelled entries each (about 200 KB): more
# than a socket buffer holds, so the reply must be sent as it is read.
test_large_log_replies_arrive_whole() {
	fresh --audit-keep 10
	local i n size seqs
	{
		base_config_text
		for i in $(seq 0 999); do
			echo "allow 2001:db8:1:$((i / 256)):$((i % 256))::/80 \"entry $(printf %04d "$i") padding-padding-padding-padding-pad\""
		done
	} >"$RUN/big.conf"
	base_config_text >"$RUN/small.conf"
	ipgate_fast apply "$RUN/big.conf" >/dev/null || fail "apply of 1,000 entries"
	ipgate_fast apply "$RUN/small.conf" >/dev/null || fail "apply back"
	n=$(ipgate --json log -n 2 | $PY -c 'import json,sys; print(sum(1 for l in sys.stdin if json.loads(l)))')
	check_eq "log -n 2 --json: two whole records" 2 "$n"
	check_has "log -n 2: text" "$(ipgate log -n 2 | wc -c)" "^[0-9]{6,}$"
	# A long rotated log (over 50 MB), read whole.
	daemon_stop
	local records
	records=$($PY "$ROOT/tests/net/biglog.py" "$AUDIT" "$STATE/audit.head" 52 6)
	daemon_start || fail "start on a 52 MB log"
	check "rotated files exist" test -f "$AUDIT.5.gz"
	size=$(cat "$AUDIT" <(zcat "$AUDIT".*.gz) | wc -c)
	check "the log holds over 50 MB" test "$size" -gt 50000000
	seqs=$(ipgate --json log -n 0 | $PY -c '
import json, sys
seqs = [json.loads(l)["seq"] for l in sys.stdin]
assert seqs == list(range(1, len(seqs) + 1)), "gap"
print(len(seqs))')
	check_eq "log -n 0 --json: every record, in order" "$records" "$seqs"
	check_eq "log -n 0: as many rows as records" "$((records + 1))" "$(ipgate log -n 0 | wc -l)"
	check_has "log --verify still verifies" "$(ipgate log --verify)" "verified"
}

base_config_text() {
	cat <<CFG
interface eth0
enabled yes
protect tcp/443 tcp/8443
max-entries 1024
allow $CLIENT4 client
allow $CLIENT6 "client v6"
CFG
}

# nobody (in the daemon group) holds as many idle connections as it can;
# root and another member are still answered at once.
test_idle_connections_do_not_starve_others() {
	fresh
	local holder s
	# Opens 40 connections at once, then collects the refusals (each
	# answered EBUSY) for up to 10 s, and prints "held busy".
	setpriv --reuid=nobody --regid=daemon --clear-groups $PY -c '
import select, socket, sys, time
socks = []
for i in range(40):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    socks.append(s)
busy, pending, deadline = 0, list(socks), time.monotonic() + 10
while pending and busy < 32 and time.monotonic() < deadline:
    ready = select.select(pending, [], [], deadline - time.monotonic())[0]
    for s in ready:
        pending.remove(s)
        if b"EBUSY" in s.recv(4096):
            busy += 1
print(len(socks) - busy, busy, flush=True)
time.sleep(30)
' "$SOCK" >"$RUN/holder.out" 2>&1 &
	holder=$!
	wait_until 20 test -s "$RUN/holder.out"
	check_eq "one uid holds at most 8, the rest are told busy" "8 32" "$(cat "$RUN/holder.out")"
	check "root answered" timeout 3 "$B/ipgate" --socket "$SOCK" status
	s=$(setpriv --reuid=bin --regid=daemon --clear-groups timeout 3 "$B/ipgate" --socket "$SOCK" list 2>&1)
	check_has "another member answered" "$s" "entries"
	kill "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
	check "after the holder left: served" ipgate status
}

# Membership through supplementary groups comes from the socket
# (SO_PEERGROUPS), not from /etc/group.
test_supplementary_group_member_allowed() {
	fresh
	local s
	s=$(setpriv --reuid=nobody --regid=nogroup --groups=daemon "$B/ipgate" --socket "$SOCK" list 2>&1)
	check_has "supplementary member answered" "$s" "entries"
	s=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$B/ipgate" --socket "$SOCK" list 2>&1)
	check_has "non-member refused" "$s" "ermission denied"
}

test_labels_with_terminal_escapes_refused() {
	fresh
	local s
	s=$(ipgate add 192.0.2.50 --label $'\e]0;pwned\a' 2>&1)
	check_has "CLI label with OSC refused" "$s" "control character"
	s=$(ipgate add 192.0.2.50 --label $'csi\xc2\x9b2J' 2>&1)
	check_has "CLI label with C1 CSI refused" "$s" "U\+009B"
	check_lacks "nothing added" "$(cat "$CONF")" "192.0.2.50"
	printf 'allow 192.0.2.51 "x\033[2Jy"\n' >>"$CONF"
	wait_until 10 grep -q "control character in a quoted string" "$DLOG"
	check_has "file label with ESC refused on reload" "$(cat "$DLOG")" "control character in a quoted string"
	check_lacks "list prints no escape" "$(ipgate list | od -c)" '033'
	s=$(ipgate override --for 1m --reason $'ticket \e]0;pwned\a' 2>&1)
	check_has "override reason with OSC refused" "$s" "--reason contains a control character"
	check_has "no override started" "$(ipgate status)" "^override +none"
	check "a UTF-8 label is fine" ipgate add 192.0.2.52 --label "Café São Paulo"
	check_has "UTF-8 label listed" "$(ipgate list)" "Café São Paulo"
}

test_symlinked_config_refused_and_still_watched() {
	net_setup
	base_config
	listen 443
	mkdir -p "$RUN/etc/..v1" "$RUN/etc/..v2"
	cp "$CONF" "$RUN/etc/..v1/ipgate.conf"
	{ cat "$CONF"; echo "allow $OUT4 via-configmap"; } >"$RUN/etc/..v2/ipgate.conf"
	ln -sfn ..v1 "$RUN/etc/..data"
	ln -sf ..data/ipgate.conf "$RUN/etc/cm.conf"
	daemon_start --config "$RUN/etc/cm.conf" || fail "start with a symlinked config"
	local s before
	before=$(sha256sum "$AUDIT")
	s=$(ipgate add 192.0.2.9 2>&1)
	check_has "add refused: managed elsewhere" "$s" "symbolic link .*managed elsewhere"
	check "still a symlink" test -L "$RUN/etc/cm.conf"
	check_lacks "target untouched" "$(cat "$RUN/etc/..v1/ipgate.conf")" "192.0.2.9"
	check_eq "log untouched" "$before" "$(sha256sum "$AUDIT")"
	check_not "disable refused too" ipgate disable
	check_not "outsider still blocked" reach "$OUT" "$API4"
	ln -sfn ..v2 "$RUN/etc/..data.tmp" && mv -T "$RUN/etc/..data.tmp" "$RUN/etc/..data"
	wait_until 10 reach "$OUT" "$API4"
	check "ConfigMap update still applied" reach "$OUT" "$API4"
}

test_rewrite_keeps_config_mode_and_group() {
	fresh
	chmod 0640 "$CONF"
	chgrp daemon "$CONF"
	ipgate add 192.0.2.60 >/dev/null || fail "add"
	check_eq "mode kept" "640 daemon" "$(stat -c '%a %G' "$CONF")"
}

run_tests "$@"
