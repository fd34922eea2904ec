#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The two ways back in, on real traffic: the emergency override (opens at
# once, closes on time with or without the daemon, capped, cancellable,
# audited) and break-glass knocks (a valid one opens the API for its sender
# only, for the window; replays, wrong and revoked keys, stale timestamps,
# forged sources and garbage grant nothing; nobody without the key can stop
# a real knock, and a key's grants end with it across daemon restarts).
SUITE=net/breakglass NS_PREFIX=ipgt-b
. "$(dirname "$0")/lib.sh"
require_root

OUT2=$NS_PREFIX-out2 OUT2_4=198.18.0.4
KNOCK=$ROOT/tests/net/knock.py

fresh() {
	net_setup
	netns_host out2 "$OUT2_4/24" 2001:db8:7::4/64
	base_config
	listen 443
	daemon_start "$@" || fail "ipgated did not start: $(tail -n 3 "$DLOG")"
}

status_field() { # PYTHON-EXPR over the status JSON as s
	ipgate --json status | $PY -c "import json,sys; s=json.load(sys.stdin); print($1)"
}

blocked() { ! reach "$@"; }


test_override_opens_at_once_and_closes_on_time() {
	fresh
	local s t0
	check_not "before: outsider blocked" reach "$OUT" "$API4"
	s=$(ipgate override --for 3s --reason "ticket 4711")
	t0=$(date +%s%N)
	check_has "override: message" "$s" "every source passes until .* \(3s\)"
	check "override: outsider passes at once" reach "$OUT" "$API4"
	check_has "status shows it" "$(ipgate status)" "^override +ACTIVE until .*left"
	check_has "status shows who and why" "$(ipgate status)" "by root: ticket 4711"
	check_eq "status --json: active" True "$(status_field 's["override"]["active"]')"
	check_eq "test: override" "allowed (emergency override running)" "$(ipgate test "$OUT4")"
	wait_until 5 blocked "$OUT" "$API4"
	local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	check_not "after the deadline: outsider blocked" reach "$OUT" "$API4"
	check "closed near the deadline (${ms} ms)" test "$ms" -ge 2500 -a "$ms" -le 4500
	wait_until 3 bash -c "$B/ipgate --socket $SOCK log -n 1 | grep -q override-end"
	check_has "override-start audited with reason" "$(ipgate log -n 3)" 'override-start .*"reason":"ticket 4711"'
	check_has "override-end audited as expired" "$(ipgate log -n 1)" 'override-end .*"how":"expired"'
	check_has "chain verifies" "$(ipgate log --verify)" "verified"
}

test_override_ends_on_time_with_daemon_killed() {
	fresh
	ipgate override --for 3s --reason "daemon will die" >/dev/null
	daemon_kill9
	check "killed: override still open" reach "$OUT" "$API4"
	sleep 3.2
	check_not "killed: closed at the deadline with no daemon" reach "$OUT" "$API4"
	check "client unaffected" reach "$CLIENT" "$API4"
	daemon_start || fail "restart"
	wait_until 3 bash -c "$B/ipgate --socket $SOCK log -n 1 | grep -q override-end"
	check_has "expiry while down audited on start" "$(ipgate log -n 1)" 'override-end .*"how":"expired"'
	check_has "status: no override" "$(ipgate status)" "^override +none"
}

test_override_cap_cancel_and_input_checks() {
	fresh
	local s before
	before=$(sha256sum "$AUDIT")
	s=$(ipgate override --for 25h --reason x 2>&1)
	check_has "cap: refused" "$s" "longer than override-max \(24h00m\)"
	s=$(ipgate override --for 2h 2>&1)
	check_has "reason required" "$s" "needs --reason"
	s=$(ipgate override --for soon --reason x 2>&1)
	check_has "bad duration" "$s" "\"soon\" is not a duration"
	check "usage: both --for and --cancel" bash -c "$B/ipgate --socket $SOCK override --cancel --for 1h 2>/dev/null; [ \$? = 2 ]"
	check_eq "refusals leave the log alone" "$before" "$(sha256sum "$AUDIT")"
	check_not "refusals leave the kernel alone" reach "$OUT" "$API4"
	# A lower cap from the config applies.
	sed -i 's/^mode drop$/mode drop\noverride-max 1h/' "$CONF"
	kill -HUP "$(daemon_pid)"; sleep 0.3
	s=$(ipgate override --for 2h --reason x 2>&1)
	check_has "config cap applies" "$s" "longer than override-max \(1h00m\)"
	check "1h accepted" ipgate override --for 1h --reason "maintenance"
	check "open" reach "$OUT" "$API4"
	check_has "cancel" "$(ipgate override --cancel)" "cancelled"
	check_not "cancelled: closed at once" reach "$OUT" "$API4"
	check_has "override-end audited as cancelled" "$(ipgate log -n 1)" 'override-end .*"how":"cancelled"'
	check_has "cancel with none running" "$(ipgate override --cancel)" "no override is running"
}

# keygen ID FILE: a key, stored where knock reads it.
keygen() {
	ipgate breakglass keygen --id "$1" 2>/dev/null >"$2" || fail "keygen $1"
	chmod 0600 "$2"
}

refused() { status_field "s['breakglass']['refused']['$1']"; }
refused_sum() { status_field 'sum(s["breakglass"]["refused"].values())'; }
# at_least N CMD...: CMD prints a number, N or more.
at_least() { local n=$1; shift; [ "$("$@")" -ge "$n" ]; }

test_knock_opens_api_for_that_client_only_then_closes() {
	fresh
	keygen alice "$RUN/alice.key"
	check "key file is 0600 in the state dir" test "$(stat -c %a "$STATE/breakglass/alice.key")" = 600
	check_has "keygen audited without the key" "$(ipgate log -n 1)" 'breakglass-keygen .*\{"key":"alice"\}'
	check_lacks "the key never reaches the log" "$(cat "$AUDIT")" "$(awk '{print $3}' "$RUN/alice.key")"
	check_has "list shows the key" "$(ipgate breakglass list)" "alice +created"
	check_not "before: outsider blocked" reach "$OUT" "$API4"
	ip netns exec "$OUT" "$B/ipgate" knock "$API4" --key "$RUN/alice.key" --for 3s >/dev/null ||
		fail "knock failed"
	wait_until 2 reach "$OUT" "$API4"
	check "knock: outsider reaches the API" reach "$OUT" "$API4"
	check_not "knock: only that client (out2 still blocked)" reach "$OUT2" "$API4"
	check_has "status shows the grant" "$(ipgate status)" "grant: 198.18.0.3"
	check_has "list shows the grant" "$(ipgate list)" "198.18.0.3 .*left"
	check_eq "test: break-glass" "allowed (break-glass grant)" "$(ipgate test "$OUT4")"
	check_has "grant audited" "$(ipgate log -n 1)" 'breakglass:alice +198.18.0.3 +breakglass-grant .*"seconds":3'
	sleep 3.2
	check_not "window over: outsider blocked again" reach "$OUT" "$API4"
	wait_until 3 bash -c "$B/ipgate --socket $SOCK log -n 1 | grep -q breakglass-expire"
	check_has "expiry audited" "$(ipgate log -n 1)" 'breakglass-expire .*"how":"expired"'
	# IPv6 knocks work the same way.
	ip netns exec "$OUT" "$B/ipgate" knock "$API6" --key "$RUN/alice.key" --for 3s >/dev/null
	wait_until 2 reach "$OUT" "$API6"
	check "IPv6 knock opens IPv6" reach "$OUT" "$API6"
	check_not "IPv6 knock leaves IPv4 closed" reach "$OUT" "$API4"
	check_has "chain verifies" "$(ipgate log --verify)" "verified"
}

test_knock_refusals_grant_nothing_and_daemon_stays_responsive() {
	fresh
	keygen alice "$RUN/alice.key"
	keygen bob "$RUN/bob.key"
	check_has "revoke" "$(ipgate breakglass revoke bob)" "revoked break-glass key bob"
	check_has "revoke audited" "$(ipgate log -n 1)" "breakglass-revoke"
	check_lacks "revoked key gone from list" "$(ipgate breakglass list)" "bob"

	# Wrong key: the right id, other bytes.
	printf 'ipgate-breakglass-1 alice %064d\n' 7 >"$RUN/wrong.key"
	ip netns exec "$OUT" $PY "$KNOCK" --to "$API4" --key "$RUN/wrong.key"
	# Revoked key.
	ip netns exec "$OUT" $PY "$KNOCK" --to "$API4" --key "$RUN/bob.key"
	# Stale and future timestamps.
	ip netns exec "$OUT" $PY "$KNOCK" --to "$API4" --key "$RUN/alice.key" --ts-offset -120
	ip netns exec "$OUT" $PY "$KNOCK" --to "$API4" --key "$RUN/alice.key" --ts-offset 120
	# A forged source field: out2 asks for the outsider's address.
	ip netns exec "$OUT2" $PY "$KNOCK" --to "$API4" --key "$RUN/alice.key" --source "$OUT4"
	sleep 0.3
	check_not "no grant: outsider" reach "$OUT" "$API4"
	check_not "no grant: out2" reach "$OUT2" "$API4"
	check_eq "bad MAC counted" 1 "$(refused bad_mac)"
	check_eq "revoked key counted" 1 "$(refused unknown_key)"
	check_eq "stale counted" 2 "$(refused stale)"
	check_eq "forged source counted" 1 "$(refused wrong_source)"
	check_eq "no grants" "[]" "$(status_field 's["breakglass"]["grants"]')"

	# A valid knock, saved; once its window is over, the same bytes grant
	# nothing again, from the same source or another.
	ip netns exec "$OUT" $PY "$KNOCK" --to "$API4" --key "$RUN/alice.key" --for 1 --save "$RUN/k.bin"
	wait_until 2 reach "$OUT" "$API4"
	check "the valid knock granted" reach "$OUT" "$API4"
	sleep 1.2
	ip netns exec "$OUT" $PY "$KNOCK" --to "$API4" --replay "$RUN/k.bin"
	ip netns exec "$OUT2" $PY "$KNOCK" --to "$API4" --replay "$RUN/k.bin"
	sleep 0.3
	check_not "replay, same source: nothing" reach "$OUT" "$API4"
	check_not "replay, other source: nothing" reach "$OUT2" "$API4"
	check_eq "replays counted" 2 "$(refused replayed)"

	# A flood of garbage from out2 while the control socket keeps answering.
	ip netns exec "$OUT2" $PY "$KNOCK" --to "$API4" --garbage 20000 --source "$OUT2_4" &
	local flood=$! ok=0
	for _ in $(seq 10); do
		timeout 2 "$B/ipgate" --socket "$SOCK" status >/dev/null && ok=$((ok + 1))
		sleep 0.1
	done
	wait "$flood"
	check_eq "status answered during the flood" 10 "$ok"
	check_not "flood: out2 not granted" reach "$OUT2" "$API4"
	check_eq "flood: nothing granted" 1 "$(status_field 's["breakglass"]["granted"]')"
	check "flood: refusals counted" test "$(status_field 'sum(s["breakglass"]["refused"].values())')" -gt 100
	check "client unaffected" reach "$CLIENT" "$API4"
	check_has "chain verifies" "$(ipgate log --verify)" "verified"
}

# grant_in_kernel ADDR: whether the pinned grant map holds ADDR.
grant_in_kernel() {
	bpftool -j map dump pinned "$PINS/ipgate/ipg_grants" | $PY -c "
import ipaddress, json, sys
want = ipaddress.ip_address(sys.argv[1]).packed
for e in json.load(sys.stdin):
    k = e.get('formatted', {}).get('key') or {}
    if k.get('family') == (4 if len(want) == 4 else 6) and \\
       bytes(k.get('addr', []))[:len(want)] == want: sys.exit(0)
sys.exit(1)" "$1"
}

test_revoke_after_restart_ends_that_keys_grants() {
	fresh
	keygen alice "$RUN/alice.key"
	keygen bob "$RUN/bob.key"
	keygen carol "$RUN/carol.key"
	ip netns exec "$OUT" "$B/ipgate" knock "$API4" --key "$RUN/alice.key" --for 10m >/dev/null
	ip netns exec "$OUT2" "$B/ipgate" knock "$API4" --key "$RUN/bob.key" --for 10m >/dev/null
	ip netns exec "$OUT" "$B/ipgate" knock "$API6" --key "$RUN/carol.key" --for 2s >/dev/null
	wait_until 3 reach "$OUT" "$API4"
	wait_until 3 reach "$OUT2" "$API4"
	check "alice's grant in the kernel" grant_in_kernel "$OUT4"
	# A restart: everything the old daemon held in memory is gone.
	daemon_stop
	daemon_start || fail "restart: $(tail -n 3 "$DLOG")"
	check "after restart: alice's grant still passes" reach "$OUT" "$API4"
	check_has "list names each grant's key" "$(ipgate --json breakglass list)" \
		'"address":"198.18.0.3","seconds_left":[0-9]+,"key":"alice"'
	# carol's grant ran out under the new daemon: audited with her key.
	wait_until 10 bash -c "$B/ipgate --socket $SOCK log -n 5 | grep -q 'breakglass-expire.*carol'"
	check_has "expiry after restart names the key" "$(ipgate log -n 5)" \
		'breakglass-expire .*"key":"carol".*"how":"expired"'
	check_has "revoke ends alice's one grant" "$(ipgate breakglass revoke alice)" \
		"revoked break-glass key alice; 1 grant ended"
	check_not "revoked: alice's grant gone from the kernel" grant_in_kernel "$OUT4"
	check_not "revoked: alice's host blocked again" reach "$OUT" "$API4"
	check_has "revoke of the grant audited with the key" "$(ipgate log -n 2)" \
		'breakglass-expire .*"address":"198.18.0.3","key":"alice".*"how":"revoked"'
	check "bob's grant untouched" grant_in_kernel "$OUT2_4"
	check "bob still passes" reach "$OUT2" "$API4"
	check_has "chain verifies" "$(ipgate log --verify)" "verified"
}

test_spoofed_junk_does_not_block_a_real_knock() {
	fresh
	keygen alice "$RUN/alice.key"
	# Out2 sends far more junk than the per-source allowance, with the
	# outsider's address forged as its source.
	ip netns exec "$OUT2" $PY "$KNOCK" --to "$API4" --garbage 40 --spoof-from "$OUT4" ||
		fail "cannot send spoofed datagrams"
	wait_until 5 at_least 40 refused_sum
	check_eq "every spoofed datagram reached the daemon and was refused" 40 "$(refused_sum)"
	ip netns exec "$OUT" "$B/ipgate" knock "$API4" --key "$RUN/alice.key" --for 1m >/dev/null
	wait_until 3 reach "$OUT" "$API4"
	check "the real knock still opens" reach "$OUT" "$API4"
	check_eq "nothing rate-limited" 0 "$(refused rate_limited)"
	check_eq "granted" 1 "$(status_field 's["breakglass"]["granted"]')"
}

test_copied_knock_from_elsewhere_does_not_burn_the_real_one() {
	fresh
	keygen alice "$RUN/alice.key"
	ip netns exec "$OUT" $PY "$KNOCK" --to "$API4" --key "$RUN/alice.key" --for 60 \
		--save "$RUN/k.bin" --no-send
	# A copy seen on the way arrives first, from out2 and forged from a
	# third address.
	ip netns exec "$OUT2" $PY "$KNOCK" --to "$API4" --replay "$RUN/k.bin"
	ip netns exec "$OUT2" $PY "$KNOCK" --to "$API4" --replay "$RUN/k.bin" --spoof-from 198.18.0.9
	wait_until 5 at_least 2 refused wrong_source
	check_eq "copies refused as from the wrong source" 2 "$(refused wrong_source)"
	check_not "copies granted nothing" reach "$OUT2" "$API4"
	ip netns exec "$OUT" $PY "$KNOCK" --to "$API4" --replay "$RUN/k.bin"
	wait_until 3 reach "$OUT" "$API4"
	check "the real knock opens" reach "$OUT" "$API4"
	check_eq "not refused as replayed" 0 "$(refused replayed)"
	# Once granted, its nonce is spent.
	ip netns exec "$OUT" $PY "$KNOCK" --to "$API4" --replay "$RUN/k.bin"
	wait_until 5 at_least 1 refused replayed
	check_eq "the same knock again: replayed" 1 "$(refused replayed)"
}

# A knock captured on the wire cannot be replayed within its window just
# because the daemon restarted: granted nonces are kept in the state dir.
test_replay_refused_across_a_restart() {
	fresh
	keygen alice "$RUN/alice.key"
	ip netns exec "$OUT" $PY "$KNOCK" --to "$API4" --key "$RUN/alice.key" --for 60 \
		--save "$RUN/k.bin"
	wait_until 5 at_least 1 status_field "s['breakglass']['granted']"
	check_eq "granted" 1 "$(status_field "s['breakglass']['granted']")"
	check "nonce kept, 0600" test "$(stat -c %a "$STATE/breakglass/nonces")" = 600
	daemon_stop
	daemon_start || fail "restart"
	ip netns exec "$OUT" $PY "$KNOCK" --to "$API4" --replay "$RUN/k.bin"
	wait_until 5 at_least 1 refused replayed
	check_eq "after the restart: replayed" 1 "$(refused replayed)"
	check_eq "after the restart: not granted again" 0 "$(status_field "s['breakglass']['granted']")"
}

run_tests "$@"
