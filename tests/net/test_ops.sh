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
rolled_back() { ! ipgate status | grep -q UNCONFIRMED; }

test_an_unconfirmed_change_is_rolled_back_and_audited() {
	fresh
	local before r
	before=$(conf_sum)
	check_not "outsider blocked" reach "$OUT" $API4
	r=$(ipgate add "$OUT4" --label temp --confirm 3s)
	check_has "the change says it is unconfirmed" "$r" "rolled back in 3s unless .ipgate confirm"
	check "outsider reaches the API at once" reach "$OUT" $API4
	check_has "status shows the pending change" "$(ipgate status)" "^UNCONFIRMED +add by root, rolled back in"
	r=$(ipgate add 203.0.113.0/24 2>&1)
	check_has "another change is refused meanwhile" "$r" "awaits confirmation"
	check_has "... on every list" "$(ipgate disable --list acme 2>&1)" "awaits confirmation"
	wait_until 20 rolled_back || fail "not rolled back 20 s after a 3 s deadline"
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
	check "add with --confirm" ipgate add "$OUT4" --confirm 5s
	r=$(ipgate confirm)
	check_has "confirm" "$r" "confirmed: add by root stays"
	check_has "audit: confirm" "$(tail -n 1 "$AUDIT")" '"action":"confirm","list":"default"'
	sleep 6
	check "still there after the deadline" reach "$OUT" $API4
	check_has "nothing pending" "$(ipgate confirm)" "no change awaits confirmation"
	check "the next change is accepted" ipgate remove "$OUT4"
}

test_the_deadline_survives_a_crash_and_a_late_start_rolls_back_first() {
	fresh
	local before
	before=$(conf_sum)
	check "disable with --confirm" ipgate disable --confirm 2s
	check "disabled: outsider reaches" reach "$OUT" $API4
	daemon_kill9
	sleep 3
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
	r=$(ip netns exec "$API" curl -sS -w '\n%{http_code}' -H "Authorization: Bearer $acme" \
		-d "{\"cidr\":\"$OUT4\"}" "$U/v1/lists/acme/entries?confirm=1m")
	check_eq "add over HTTP with ?confirm" 201 "$(tail -n 1 <<<"$r")"
	check "applied at once" reach "$OUT" 198.18.0.10
	r=$(ip netns exec "$API" curl -sS -w '\n%{http_code}' -H "Authorization: Bearer $acme" \
		-d "{\"cidr\":\"203.0.113.0/24\"}" "$U/v1/lists/acme/entries")
	check_eq "another change meanwhile: 409" 409 "$(tail -n 1 <<<"$r")"
	check_has "... saying why" "$r" "awaits confirmation"
	r=$(ip netns exec "$API" curl -sS -w '\n%{http_code}' -X POST \
		-H "Authorization: Bearer $acme" "$U/v1/confirm")
	check_eq "acme's token confirms acme's change" 200 "$(tail -n 1 <<<"$r")"
	check_has "audit: confirm by the token" "$(tail -n 1 "$AUDIT")" '"user":"token:acme".*"action":"confirm","list":"acme"'
	check "default change with --confirm" ipgate add 203.0.113.0/24 --confirm 1m
	r=$(ip netns exec "$API" curl -sS -w '\n%{http_code}' -X POST \
		-H "Authorization: Bearer $acme" "$U/v1/confirm")
	check_eq "acme's token cannot confirm the default list's change" 409 "$(tail -n 1 <<<"$r")"
	r=$(ip netns exec "$API" curl -sS -w '\n%{http_code}' -X POST \
		-H "Authorization: Bearer $root" "$U/v1/confirm")
	check_eq "an unscoped admin can" 200 "$(tail -n 1 <<<"$r")"
}

test_a_hand_edit_while_a_change_waits_is_refused_and_the_rollback_restores() {
	fresh
	local before
	before=$(conf_sum)
	check "add with --confirm" ipgate add "$OUT4" --confirm 4s
	sed -i 's/^mode drop/mode reject/' "$CONF"
	wait_until 10 grep -q "awaits confirmation" "$DLOG" || fail "the hand edit was not refused"
	check_has "status names the refused edit" "$(ipgate status)" "awaits confirmation"
	wait_until 20 rolled_back || fail "not rolled back"
	check_eq "the rollback restored the file" "$before" "$(conf_sum)"
	check_has "mode is drop" "$(ipgate status)" "\(drop mode\)"
}

run_tests "$@"
