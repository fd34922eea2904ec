#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Day-two operations on real traffic: changes that undo themselves unless
# confirmed (CLI and HTTP), across a crash too.
SUITE=net/ops NS_PREFIX=ipgo
. "$(dirname "$0")/lib.sh"
require_root

U=http://127.0.0.1:8481

ops_config() {
	base_config
	cat >>"$CONF" <<CFG
http-listen 127.0.0.1:8481
list acme {
  address 198.18.0.10
  enabled yes
  allow $CLIENT4 acme
}
CFG
}

fresh() {
	net_setup
	ip -n "$API" addr add 198.18.0.10/24 dev eth0
	ops_config
	listen 443
	daemon_start || fail "ipgated did not start: $(tail -n 3 "$DLOG")"
}

conf_sum() { sha256sum "$CONF" | awk '{print $1}'; }
# past_deadline: waits until the pending change's deadline (its record's,
# wall clock) is behind us; the waits below follow the record, not a
# guess of how long the steps before took.
past_deadline() {
	local dl
	dl=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["deadline"])' "$STATE/pending") ||
		{ fail "no pending record"; return 1; }
	while [ "$(date +%s)" -le "$dl" ]; do sleep 0.2; done
}
rolled_back() { ! ipgate status | grep -q UNCONFIRMED; }

test_an_unconfirmed_change_is_rolled_back_and_audited() {
	fresh
	local before r
	before=$(conf_sum)
	check_not "outsider blocked" reach "$OUT" $API4
	r=$(ipgate add "$OUT4" --label temp --confirm 10s)
	check_has "the change says it is unconfirmed" "$r" "rolled back in 10s unless .ipgate confirm"
	check "outsider reaches the API at once" reach "$OUT" $API4
	check_has "status shows the pending change" "$(ipgate status)" "^UNCONFIRMED +add by root, rolled back in"
	r=$(ipgate add 203.0.113.0/24 2>&1)
	check_has "another change is refused meanwhile" "$r" "awaits confirmation"
	check_has "... on every list" "$(ipgate disable --list acme 2>&1)" "awaits confirmation"
	past_deadline
	wait_until 30 rolled_back || fail "not rolled back 30 s after its deadline"
	check_not "outsider blocked again" reach "$OUT" $API4
	check_eq "the file is as before" "$before" "$(conf_sum)"
	check_has "audit: rollback, not confirmed" "$(tail -n 1 "$AUDIT")" \
		'"user":"ipgated".*"action":"rollback","list":"default".*"after":\{"reason":"not confirmed"'
	check "changes are accepted again" ipgate add 203.0.113.0/24
	r=$(ipgate add 192.0.2.0/24 --confirm 2h 2>&1)
	check_has "more than 1h is refused" "$r" "1s to 1h"
	check_lacks "... and not applied" "$(ipgate list)" "192.0.2.0/24"
}

test_a_confirmed_change_stays() {
	fresh
	local r
	local dl
	check "add with --confirm" ipgate add "$OUT4" --confirm 10s
	dl=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["deadline"])' "$STATE/pending")
	r=$(ipgate confirm)
	check_has "confirm" "$r" "confirmed: add by root stays"
	check_has "audit: confirm" "$(tail -n 1 "$AUDIT")" '"action":"confirm","list":"default"'
	check_not "the record is gone" test -e "$STATE/pending"
	while [ "$(date +%s)" -le "$dl" ]; do sleep 0.2; done
	sleep 2 # a tick or two past the deadline
	check "still there after the deadline" reach "$OUT" $API4
	check_has "nothing pending" "$(ipgate confirm)" "no change awaits confirmation"
	check "the next change is accepted" ipgate remove "$OUT4"
}

test_the_deadline_survives_a_crash_and_a_late_start_rolls_back_first() {
	fresh
	local before
	before=$(conf_sum)
	check "disable with --confirm" ipgate disable --confirm 10s
	check "disabled: outsider reaches" reach "$OUT" $API4
	daemon_kill9
	past_deadline
	daemon_start || fail "ipgated did not restart: $(tail -n 3 "$DLOG")"
	# Rolled back before the socket served: the first status is enforcing.
	check_has "enabled again at once" "$(ipgate status)" "^allowlist +enabled"
	check_not "outsider blocked" reach "$OUT" $API4
	check_eq "the file is as before" "$before" "$(conf_sum)"
	check_has "audit: why" "$(cat "$AUDIT")" \
		'"action":"rollback".*"reason":"not confirmed \(the deadline passed while ipgated was down\)"'
}

test_a_pending_change_survives_a_restart_before_its_deadline() {
	fresh
	check "add with --confirm 1m" ipgate add "$OUT4" --confirm 1m
	daemon_stop
	daemon_start || fail "ipgated did not restart"
	check_has "still pending after the restart" "$(ipgate status)" "UNCONFIRMED"
	check "and still applied" reach "$OUT" $API4
	check "confirm after the restart" ipgate confirm
	check_lacks "nothing pending" "$(ipgate status)" "UNCONFIRMED"
}

test_confirm_over_http_and_scoped_tokens_confirm_their_own_list_only() {
	fresh
	local acme root r
	acme=$(ipgate token create --role admin --list acme --id acme | tail -n 1)
	root=$(ipgate token create --role admin --id root | tail -n 1)
	post() { # TOKEN PATH [BODY]
		ip netns exec "$API" curl -sS -w '\n%{http_code}' -X POST \
			-H "Authorization: Bearer $1" ${3:+-H 'Content-Type: application/json' -d "$3"} "$U$2"
	}
	r=$(post "$acme" "/v1/lists/acme/entries?confirm=1m" "{\"cidr\":\"$OUT4\"}")
	check_eq "a list's token may not hold every list with ?confirm" 403 "$(tail -n 1 <<<"$r")"
	check_not "and nothing was applied" reach "$OUT" 198.18.0.10
	r=$(post "$root" "/v1/lists/acme/entries?confirm=1m" "{\"cidr\":\"$OUT4\"}")
	check_eq "an admin of every list adds with ?confirm" 201 "$(tail -n 1 <<<"$r")"
	check "applied at once" reach "$OUT" 198.18.0.10
	r=$(post "$acme" /v1/lists/acme/entries '{"cidr":"203.0.113.0/24"}')
	check_eq "another change meanwhile: 409" 409 "$(tail -n 1 <<<"$r")"
	check_has "... saying why" "$r" "another change awaits confirmation"
	check_lacks "... without naming who" "$r" "token:root"
	r=$(post "$acme" /v1/confirm)
	check_eq "acme's token confirms acme's change" 200 "$(tail -n 1 <<<"$r")"
	check_has "audit: confirm by the token" "$(tail -n 1 "$AUDIT")" '"user":"token:acme".*"action":"confirm","list":"acme"'
	check "default change with --confirm" ipgate add 203.0.113.0/24 --confirm 1m
	r=$(post "$acme" /v1/confirm)
	check_eq "acme's token cannot confirm the default list's change" 409 "$(tail -n 1 <<<"$r")"
	check_lacks "... nor learns whose it is" "$r" "root"
	r=$(post "$root" /v1/confirm)
	check_eq "an unscoped admin can" 200 "$(tail -n 1 <<<"$r")"
}

test_a_hand_edit_while_a_change_waits_is_refused_and_the_rollback_restores() {
	fresh
	local before
	before=$(conf_sum)
	check "add with --confirm" ipgate add "$OUT4" --confirm 20s
	sed -i 's/^mode drop/mode reject/' "$CONF"
	wait_until 30 grep -q "awaits confirmation" "$DLOG" || fail "the hand edit was not refused"
	check_has "status names the refused edit" "$(ipgate status)" "awaits confirmation"
	past_deadline
	wait_until 30 rolled_back || fail "not rolled back"
	check_eq "the rollback restored the file" "$before" "$(conf_sum)"
	check_has "mode is drop" "$(ipgate status)" "\(drop mode\)"
}

test_shadow_mode_lets_everyone_in_counts_the_would_be_drops_and_switches_by_a_change() {
	fresh
	local r
	{
		echo "  address 198.18.0.10"
		echo "  enabled yes"
		echo "  mode shadow"
		echo "  allow $CLIENT4 acme"
	} >"$RUN/acme.shadow"
	check "acme to shadow mode" ipgate apply --list acme "$RUN/acme.shadow"
	check_has "lists says shadow" "$(ipgate lists)" "^acme +198.18.0.10 +shadow "
	check "outsider reaches acme in shadow mode" reach "$OUT" 198.18.0.10
	check "... and again" reach "$OUT" 198.18.0.10
	check "acme's client too" reach "$CLIENT" 198.18.0.10
	check_not "the default list still drops" reach "$OUT" $API4
	r=$(ipgate --json lists | $PY -c '
import json, sys
print([l for l in json.load(sys.stdin)["lists"] if l["name"] == "acme"][0]["would_drop"])')
	[ "${r:-0}" -ge 2 ] || fail "would_drop of acme: expected at least 2, got $r"
	check_has "status counts passed_shadow" "$(ipgate status --list acme)" "passed_shadow +[1-9]"
	check_has "test says shadow" "$(ipgate test "$OUT4" --list acme)" "^allowed"
	# An empty list in shadow mode blocks nobody: the guard allows it.
	printf '  address 198.18.0.10\n  enabled yes\n  mode shadow\n' >"$RUN/acme.empty"
	check "an empty list in shadow mode is no lockout" ipgate apply --list acme "$RUN/acme.empty"
	check "outsider still in" reach "$OUT" 198.18.0.10
	# Switching to drop is an ordinary, audited change.
	sed 's/mode shadow/mode drop/' "$RUN/acme.shadow" >"$RUN/acme.drop"
	r=$(ipgate apply --list acme "$RUN/acme.drop")
	check_has "the change names the mode" "$r" "mode: shadow -> drop"
	check_not "outsider dropped now" reach "$OUT" 198.18.0.10
	check "client still in" reach "$CLIENT" 198.18.0.10
	check_has "audited" "$(tail -n 1 "$AUDIT")" '"action":"apply","list":"acme","before":.*"mode":"shadow"'
}

# Multi-buffer (xdp.frags): at MTU 9000 the program still attaches
# natively to veth, and a jumbo frame is judged like any other.
test_jumbo_frames_are_judged_with_native_xdp_at_mtu_9000() {
	net_setup
	local ns l
	for ns in $(ip netns list | awk '{print $1}' | grep "^$NS_PREFIX-"); do
		for l in $(ip -n "$ns" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do
			[ "$l" = lo ] || ip -n "$ns" link set "$l" mtu 9000
		done
	done
	base_config
	echo "protect udp/443" >>"$CONF"
	ip netns exec "$API" socat UDP6-RECVFROM:443,fork,ipv6only=0 SYSTEM:'wc -c' \
		</dev/null >/dev/null 2>&1 &
	disown
	daemon_start || fail "ipgated did not start at MTU 9000: $(tail -n 3 "$DLOG")"
	check_has "native XDP at MTU 9000" "$(ipgate status)" "eth0, native"
	check_eq "eth0's MTU" 9000 "$(ip -n "$API" -o link show eth0 | grep -o 'mtu [0-9]*' | cut -d' ' -f2)"
	# jumbo NS: an 8000-byte datagram to udp/443, one frame; prints what
	# the server counted (nothing when dropped).
	jumbo() {
		head -c 8000 /dev/zero | ip netns exec "$1" timeout 3 \
			socat -T2 -b 9000 - "UDP:$API4:443" 2>/dev/null | tr -d ' '
	}
	check_eq "the client's jumbo datagram arrives whole" 8000 "$(jumbo "$CLIENT")"
	check_eq "the outsider's is dropped" "" "$(jumbo "$OUT")"
	check_has "counted as dropped" "$(ipgate status)" "dropped +[1-9]" ||
		ipgate status >&2
	check_eq "no IP fragments: nothing passed as one" 0 \
		"$(ipgate --json status | $PY -c 'import json,sys; print(json.load(sys.stdin)["counters"]["passed_fragment"])')"
}

# chain PATH: the operator's own XDP program gets what ipgate passes, and
# never what it drops; a program that cannot be chained is refused.
test_chain_hands_on_what_ipgate_passes_and_never_what_it_drops() {
	fresh
	listen 80
	local progs=$PINS/progs maps=$PINS/maps r seen before
	bpftool prog loadall "$ROOT/build/testprogs.bpf.o" "$progs" pinmaps "$maps" ||
		fail "cannot load testprogs.bpf.o"
	seen() {
		bpftool -j map dump pinned "$maps/seen443" |
			$PY -c '
import json, sys
d = json.load(sys.stdin)[0]
v = d.get("formatted", {}).get("value")
print(v if v is not None else int.from_bytes(bytes(int(x, 16) for x in d["value"]), "little"))'
	}
	check "tcp/80 is open before" reach "$OUT" $API4 80
	{ cat "$CONF"; echo "chain $progs/chain_drop80"; } >"$RUN/chain.conf"
	r=$(ipgate apply "$RUN/chain.conf")
	check_has "the change names the chain" "$r" "chain: off -> $progs/chain_drop80"
	check_has "status names the program" "$(ipgate status)" \
		"^chain +$progs/chain_drop80 \(program [0-9]+, chain_drop80\)"
	check_has "audited" "$(tail -n 1 "$AUDIT")" "\"chain\":\"$progs/chain_drop80\""
	check_not "the chained program drops tcp/80 (outsider)" reach "$OUT" $API4 80
	check_not "... and the client's" reach "$CLIENT" $API4 80
	check "the client still reaches tcp/443" reach "$CLIENT" $API4
	seen=$(seen)
	[ "${seen:-0}" -gt 0 ] || fail "the chained program saw none of the passed tcp/443 frames"
	before=$(seen)
	check_not "the outsider is dropped at tcp/443 by ipgate" reach "$OUT" $API4
	check_eq "the chained program never saw the dropped frames" "$before" "$(seen)"
	check_has "ipgate counted them" "$(ipgate status)" "dropped +[1-9]"
	check_has "test answers ipgate's own verdict" "$(ipgate test "$CLIENT4")" "^allowed"
	# Programs that cannot be chained change nothing.
	for bad in "$progs/xdp_pass:cannot be tail-called" "$progs/vlan_pop:not an XDP program" \
		"/nonexistent/prog:no pinned program"; do
		sed "s|^chain .*|chain ${bad%%:*}|" "$CONF" >"$RUN/bad.conf"
		r=$(ipgate apply "$RUN/bad.conf" 2>&1)
		check_has "chain ${bad%%:*} refused" "$r" "${bad#*:}"
	done
	check_has "still chained" "$(ipgate status)" "^chain +$progs/chain_drop80 "
	check_not "and tcp/80 still dropped" reach "$OUT" $API4 80
	# Removing the chain: tcp/80 is open again.
	sed "/^chain /d" "$CONF" >"$RUN/nochain.conf"
	check "unchain" ipgate apply "$RUN/nochain.conf"
	check "tcp/80 open again" reach "$OUT" $API4 80
	# A start whose chain is missing runs without it, saying so.
	daemon_stop
	echo "chain /nonexistent/prog" >>"$CONF"
	daemon_start || fail "ipgated did not start with a missing chain"
	check_has "status: not chained" "$(ipgate status)" "^chain +NOT CHAINED: chain /nonexistent/prog: no pinned program"
	check "ipgate passes tcp/80 itself" reach "$OUT" $API4 80
	check_not "and still judges tcp/443" reach "$OUT" $API4
}

# Who is being blocked: the program's reports, kept per source and list.
test_blocked_names_the_dropped_sources_per_list_and_marks_shadow_ones() {
	fresh
	local r n
	reach "$OUT" $API4
	reach "$OUT" 198.18.0.10
	reach "$CLIENT" 198.18.0.10
	wait_until 30 bash -c "$B/ipgate --socket $SOCK blocked | grep -q '^$OUT4 .*acme'" ||
		fail "no report of the outsider at acme: $(ipgate blocked)"
	r=$(ipgate blocked)
	check_has "the outsider at the default list" "$r" "^$OUT4 +default +tcp/443 +[1-9]"
	check_has "the outsider at acme" "$r" "^$OUT4 +acme +tcp/443 +[1-9]"
	check_lacks "the client is not blocked" "$r" "^$CLIENT4 "
	check_eq "--list acme" "acme" "$(ipgate blocked --list acme | awk 'NR > 1 {print $2}' | sort -u)"
	check_eq "-n 1: one source" 1 "$(ipgate --json blocked -n 1 | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["sources"]))')"
	r=$(ipgate --json blocked --list acme)
	check_has "--json" "$r" "\"source\":\"$OUT4\",\"list\":\"acme\",\"port\":\"tcp/443\",\"reports\":[1-9]"
	# Shadow mode: reported and marked.
	printf '  address 198.18.0.10\n  enabled yes\n  mode shadow\n  allow %s acme\n' "$CLIENT4" >"$RUN/acme.shadow"
	check "acme to shadow" ipgate apply --list acme "$RUN/acme.shadow"
	check "the outsider passes" reach "$OUT" 198.18.0.10
	wait_until 30 bash -c "$B/ipgate --socket $SOCK blocked --list acme | grep -q '(shadow)'" ||
		fail "the shadow pass was not reported as one: $(ipgate blocked --list acme)"
	# Off: nothing more is reported.
	sed 's/^mode drop/mode drop\nblocked-log off/' "$CONF" >"$RUN/off.conf"
	check "blocked-log off" ipgate apply "$RUN/off.conf"
	n=$(ipgate --json blocked | $PY -c 'import json,sys; print(sum(s["reports"] for s in json.load(sys.stdin)["sources"]))')
	reach "$OUT" $API4
	sleep 1
	check_eq "off: no new report" "$n" \
		"$(ipgate --json blocked | $PY -c 'import json,sys; print(sum(s["reports"] for s in json.load(sys.stdin)["sources"]))')"
}

test_an_entry_expires_on_time_with_ipgated_dead_then_is_removed_and_audited() {
	fresh
	local before r until
	before=$(conf_sum)
	check_not "outsider blocked" reach "$OUT" $API4
	r=$(ipgate add "$OUT4" --for 0s 2>&1)
	check_has "a zero duration is refused" "$r" "is not a duration"
	r=$(ipgate add "$OUT4" --until 2020-01-01T00:00:00Z 2>&1)
	check_has "a past time is refused" "$r" "not in the future"
	r=$(ipgate add "$OUT4" --until tomorrow 2>&1)
	check_has "a time that is not one is refused" "$r" "is not a time such as"
	r=$(ipgate add "$OUT4" --for 1h --until 2030-01-01T00:00:00Z 2>&1)
	check_has "both at once are refused" "$r" "not both"
	check_eq "... and the file is untouched" "$before" "$(conf_sum)"
	check "add for 6 s" ipgate add "$OUT4" --label contractor --for 6s
	check "the outsider reaches the API at once" reach "$OUT" $API4
	check_has "list shows the time left" "$(ipgate list)" "^$OUT4 +[0-9]+ +[0-9]s left +contractor"
	check_has "... and JSON the expiry" "$(ipgate --json list)" '"expires":"20[0-9-]+T[0-9:]+Z","expires_in":[0-9]'
	until=$(grep -oE "^allow $OUT4 +contractor expires [0-9T:Z-]+" "$CONF" | awk '{print $NF}')
	[ -n "$until" ] || fail "no expiry written in the file: $(grep "$OUT4" "$CONF")"
	# The program alone enforces the deadline: ipgated is dead past it.
	daemon_kill9
	while [ "$(date +%s)" -le "$(date -d "$until" +%s)" ]; do sleep 0.2; done
	check_not "blocked at its deadline, with ipgated dead" reach "$OUT" $API4
	daemon_start || fail "ipgated did not restart: $(tail -n 3 "$DLOG")"
	expired() { ! grep -q "$OUT4" "$CONF"; }
	wait_until 30 expired || fail "the expired entry is still in the file"
	check_eq "the file is as before the add" "$before" "$(conf_sum)"
	check_lacks "list no longer shows it" "$(ipgate list)" "$OUT4"
	check_has "audit: expire, by ipgated, with the entry before" "$(tail -n 1 "$AUDIT")" \
		"\"user\":\"ipgated\".*\"action\":\"expire\",\"list\":\"default\".*\"before\":\\{.*\"cidr\":\"$OUT4\",\"label\":\"contractor\",\"expires\":\"$until\""
	check_not "still blocked" reach "$OUT" $API4
}

test_entries_expire_over_http_and_a_live_daemon_removes_them() {
	fresh
	local tok r
	tok=$(ipgate token create --role admin --list acme --id acme | tail -n 1)
	post() { # PATH BODY
		ip netns exec "$API" curl -sS -w '\n%{http_code}' -X POST \
			-H "Authorization: Bearer $tok" -H 'Content-Type: application/json' -d "$2" "$U$1"
	}
	r=$(post /v1/lists/acme/entries "{\"cidr\":\"$OUT4\",\"expires\":\"yesterday\"}")
	check_eq "a bad expiry: 422" 422 "$(tail -n 1 <<<"$r")"
	check_has "... naming the field" "$r" '"field":"expires"'
	r=$(post /v1/lists/acme/entries "{\"cidr\":\"$OUT4\",\"for\":\"5s\",\"label\":\"temp\"}")
	check_eq "added for 5 s: 201" 201 "$(tail -n 1 <<<"$r")"
	check_has "the list shows its expiry" "$r" "\"cidr\":\"$OUT4\",\"label\":\"temp\",\"hits\":[0-9]+,\"expires\":\"20"
	check "the outsider reaches acme at once" reach "$OUT" 198.18.0.10
	gone() { ! ipgate list --list acme | grep -q "$OUT4"; }
	wait_until 40 gone || fail "the entry was not removed after it expired"
	check_not "blocked after it expired" reach "$OUT" 198.18.0.10
	check_has "audit: expire on acme" "$(tail -n 1 "$AUDIT")" '"user":"ipgated".*"action":"expire","list":"acme"'
}

run_tests "$@"
