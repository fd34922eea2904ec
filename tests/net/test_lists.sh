#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Named lists on real traffic: one API host with a default address and two
# customers' addresses (lists acme and beta, IPv4 and IPv6 each). Each list
# guards its own addresses only: its clients, its toggle, its override, its
# break-glass keys, its changes under load, its refused configs, its audit
# trail and its include file.
SUITE=net/lists NS_PREFIX=ipgl
. "$(dirname "$0")/lib.sh"
require_root

# The customers' addresses on the API host; API4/API6 are the default's.
ACME4=198.18.0.10 ACME6=2001:db8:7::10
BETA4=198.18.0.20 BETA6=2001:db8:7::20
# Clients: CLIENT is acme's, CB beta's, CD allowed in the default list only;
# OUT is allowed nowhere.
CB=$NS_PREFIX-cb CB4=198.18.0.4 CB6=2001:db8:7::4
CD=$NS_PREFIX-cd CD4=198.18.0.5 CD6=2001:db8:7::5

# The blocks of the two customers' lists, as `apply --list` takes them.
acme_block() {
	cat <<BLK
  address $ACME4
  address $ACME6
  enabled yes
  allow $CLIENT4 "acme office"
  allow $CLIENT6 "acme office v6"
BLK
}
beta_block() {
	cat <<BLK
  address $BETA4
  address $BETA6
  enabled yes
  allow $CB4 "beta office"
  allow $CB6 "beta office v6"
BLK
}

top_config() {
	cat <<CFG
# named lists test config
interface eth0
enabled yes
protect tcp/443
mode drop
allow $CD4 "default client"
allow $CD6 "default client v6"
CFG
}

lists_config() {
	top_config
	echo "list acme {"; acme_block; echo "}"
	echo "list beta {"; beta_block; echo "}"
}

# fresh [include]: the hosts, the API host's addresses, "ok" services on
# tcp/443 and tcp/80, and a running daemon. With "include", acme's list
# lives in lists.d/acme.conf, read by an include line.
fresh() {
	net_setup
	netns_host cb "$CB4/24" "$CB6/64"
	netns_host cd "$CD4/24" "$CD6/64"
	local a
	for a in $ACME4 $BETA4; do ip -n "$API" addr add "$a/24" dev eth0; done
	for a in $ACME6 $BETA6; do ip -n "$API" addr add "$a/64" dev eth0 nodad; done
	if [ "${1:-}" = include ]; then
		mkdir -p "$RUN/etc/lists.d"
		{ echo "list acme {"; acme_block; echo "}"; } >"$RUN/etc/lists.d/acme.conf"
		{
			top_config
			echo "include lists.d/*.conf"
			echo "list beta {"; beta_block; echo "}"
		} | write_config
	else
		lists_config | write_config
	fi
	listen 443 80
	daemon_start || fail "ipgated did not start: $(tail -n 3 "$DLOG")"
}

blocked() { ! reach "$@"; }

# list_field LIST KEY: KEY of LIST in `ipgate --json lists`.
list_field() {
	ipgate --json lists | $PY -c '
import json, sys
print([l for l in json.load(sys.stdin)["lists"] if l["name"] == sys.argv[1]][0][sys.argv[2]])' "$1" "$2"
}

# reach_all NS ADDR...: NS reaches every ADDR on tcp/443.
# reach_none NS ADDR...: NS reaches none of them.
reach_all() {
	local ns=$1 a; shift
	for a in "$@"; do check "$ns reaches $a" reach "$ns" "$a"; done
}
reach_none() {
	local ns=$1 a; shift
	for a in "$@"; do check_not "$ns is blocked at $a" reach "$ns" "$a"; done
}

# What a refused change must leave alone: the file(s), each list's
# settings and entries as the daemon serves them, and its verdicts.
snapshot() {
	{
		sha256sum "$CONF" "$RUN"/etc/lists.d/*.conf 2>/dev/null | awk '{print $1}'
		ipgate --json lists | $PY -c '
import json, sys
for l in json.load(sys.stdin)["lists"]:
    print(l["name"], l["addresses"], l["enabled"], l["entries"], l["max_entries"])'
		local l
		for l in default acme beta; do ipgate list --list "$l" | grep -v '^ '; done
		for l in default acme beta; do
			ipgate test "$CLIENT4" --list "$l"
			ipgate test "$CB6" --list "$l"
		done
	} 2>&1
}

test_each_client_reaches_its_own_list_only_and_unprotected_ports_stay_open() {
	fresh
	local s ns a
	s=$(ipgate lists)
	check_has "lists: default guards the rest" "$s" "^default +\(the rest\) +yes +2/50"
	check_has "lists: acme" "$s" "^acme +$ACME4,$ACME6 +yes +2/50"
	check_has "lists: beta" "$s" "^beta +$BETA4,$BETA6 +yes +2/50"
	check "XDP attached to eth0" bash -c "ip -n $API link show eth0 | grep -q xdp"
	# acme's client: acme only.
	reach_all "$CLIENT" $ACME4 $ACME6
	reach_none "$CLIENT" $BETA4 $BETA6 $API4 $API6
	# beta's client: beta only.
	reach_all "$CB" $BETA4 $BETA6
	reach_none "$CB" $ACME4 $ACME6 $API4 $API6
	# The default list's client: the default address only.
	reach_all "$CD" $API4 $API6
	reach_none "$CD" $ACME4 $ACME6 $BETA4 $BETA6
	# The outsider: nothing protected.
	reach_none "$OUT" $ACME4 $ACME6 $BETA4 $BETA6 $API4 $API6
	# tcp/80 is protected by no list: open to everyone everywhere.
	for ns in "$CLIENT" "$CB" "$CD" "$OUT"; do
		for a in $API4 $API6 $ACME4 $ACME6 $BETA4 $BETA6; do
			check "$ns reaches $a on unprotected tcp/80" reach "$ns" "$a" 80
		done
	done
	# The counters went to the list that judged each packet.
	check "acme counted its passes" test "$(list_field acme passed_allowed)" -ge 2
	check "beta counted its blocks" test "$(list_field beta blocked)" -ge 2
	check "default counted its passes" test "$(list_field default passed_allowed)" -ge 2
}

test_disable_and_override_of_one_list_leave_the_others_enforcing() {
	fresh
	local s
	check_has "disable beta" "$(ipgate disable --list beta)" "list beta: enabled: true -> false"
	check_has "lists: beta disabled" "$(ipgate lists)" "^beta +[^ ]+ +NO "
	check_has "lists: acme still enabled" "$(ipgate lists)" "^acme +[^ ]+ +yes "
	check_has "lists: default still enabled" "$(ipgate lists)" "^default +.* +yes "
	reach_all "$OUT" $BETA4 $BETA6
	reach_none "$OUT" $ACME4 $ACME6 $API4 $API6
	check "acme's client still reaches acme" reach "$CLIENT" $ACME4
	check_has "enable beta" "$(ipgate enable --list beta)" "list beta: enabled: false -> true"
	reach_none "$OUT" $BETA4 $BETA6

	# An override of acme opens acme alone.
	s=$(ipgate override --list acme --for 10m --reason "acme ticket" 2>&1)
	check_has "override --list acme: message" "$s" "override of list acme"
	check_has "lists: acme under override" "$(ipgate lists)" "^acme +.* [0-9]+m[0-9]+s "
	check_has "lists: beta not under override" "$(ipgate lists)" "^beta +.* yes +[0-9]+/50 +- "
	reach_all "$OUT" $ACME4 $ACME6
	reach_none "$OUT" $BETA4 $BETA6 $API4 $API6
	check_has "override --list acme --cancel" "$(ipgate override --list acme --cancel)" "cancelled"
	reach_none "$OUT" $ACME4 $ACME6
	check_has "lists: acme override gone" "$(ipgate lists)" "^acme +.* yes +[0-9]+/50 +- "

	# A host-wide override opens every list.
	check "host-wide override" ipgate override --for 10m --reason "incident"
	check_has "lists: host-wide override shown" "$(ipgate lists)" "override of every list is running"
	reach_all "$OUT" $ACME4 $ACME6 $BETA4 $BETA6 $API4 $API6
	check_has "host-wide cancel" "$(ipgate override --cancel)" "cancelled"
	reach_none "$OUT" $ACME4 $BETA4 $API4
	check "acme's client unaffected throughout" reach "$CLIENT" $ACME6
}

test_200_changes_to_one_list_fail_no_request_and_let_no_outsider_in() {
	fresh
	local i n stop=$RUN/stop
	# loop NS OUTFILE ADDR...: requests until $stop exists (or the run's
	# directory is gone: an interrupted run), one line each.
	loop() {
		local ns=$1 f=$2 a; shift 2
		while [ ! -e "$stop" ] && [ -d "$RUN" ]; do
			for a in "$@"; do
				if reach "$ns" "$a"; then echo "ok $a"; else echo "FAIL $a"; fi
			done
		done >"$f"
	}
	loop "$CLIENT" "$RUN/a.out" $ACME4 $ACME6 &
	local la=$!
	loop "$CB" "$RUN/b.out" $BETA4 $BETA6 &
	local lb=$!
	# The outsider's requests time out; one loop an address makes more.
	local lo=() a
	for a in $ACME4 $ACME6 $BETA4 $BETA6; do
		loop "$OUT" "$RUN/o-$a.out" "$a" &
		lo+=($!)
	done
	sleep 0.5
	for i in $(seq 0 99); do
		ipgate_fast add --list acme "192.0.2.$((i + 1))" --label "churn $i" >/dev/null ||
			{ fail "add $i"; break; }
		ipgate_fast remove --list acme "192.0.2.$((i + 1))" >/dev/null ||
			{ fail "remove $i"; break; }
	done
	touch "$stop"
	wait "$la" "$lb" "${lo[@]}"
	cat "$RUN"/o-*.out >"$RUN/o.out"
	n=$(grep -c '^ok' "$RUN/a.out")
	echo "  requests during the changes: acme's client $n, beta's $(grep -c '^ok' "$RUN/b.out"), outsider $(wc -l <"$RUN/o.out")"
	check "acme's client made requests" test "$n" -ge 4
	check "beta's client made requests" test "$(grep -c '^ok' "$RUN/b.out")" -ge 4
	check "outsider made requests" test "$(wc -l <"$RUN/o.out")" -ge 4
	check_eq "acme's client: failed requests" 0 "$(grep -c '^FAIL' "$RUN/a.out")"
	check_eq "beta's client: failed requests" 0 "$(grep -c '^FAIL' "$RUN/b.out")"
	check_eq "outsider: successes" 0 "$(grep -c '^ok' "$RUN/o.out")"
	check_has "acme back to 2 entries" "$(ipgate lists)" "^acme +.* 2/50 "
	check_has "beta untouched" "$(ipgate lists)" "^beta +.* 2/50 "
	check_eq "200 changes audited for acme" 200 \
		"$(ipgate log --list acme -n 0 | grep -cE ' (add|remove) +acme ')"
	check_has "log verifies" "$(ipgate log --verify)" "verified"
	check_lacks "file has no churn entry left" "$(cat "$CONF")" "churn"
}

test_refused_configs_apply_nothing_and_name_the_problem() {
	fresh include
	local before s
	before=$(snapshot)
	check_has "snapshot sees acme's entry" "$before" "allowed .* by list acme"
	# Two lists claim one address: beta's new block claims acme's.
	{ beta_block; echo "  address $ACME4"; } >"$RUN/beta.blk"
	s=$(ipgate apply --list beta "$RUN/beta.blk" 2>&1)
	check "apply --list: duplicate claim refused" test $? -ne 0
	check_has "duplicate claim: names the address" "$s" "$ACME4"
	check_has "duplicate claim: names the other list" "$s" "acme"
	check_has "duplicate claim: nothing applied" "$s" "nothing applied"
	check_has "duplicate claim: located in the file given" "$s" "beta.blk:6:"
	# The same through a whole-file apply.
	{ lists_config | sed "s/^  address $BETA6\$/  address $BETA6\n  address $ACME6/"; } >"$RUN/dup.conf"
	check_has "dup.conf claims twice" "$(cat "$RUN/dup.conf")" "address $ACME6"
	s=$(ipgate apply "$RUN/dup.conf" 2>&1)
	check "apply: duplicate claim refused" test $? -ne 0
	check_has "apply: duplicate claim names file:line" "$s" "dup.conf:[0-9]+"
	check_has "apply: duplicate claim names the address" "$s" "$ACME6"
	check_eq "duplicate claims changed nothing" "$before" "$(snapshot)"

	# 51 entries in one list.
	{
		echo "  address $ACME4"; echo "  address $ACME6"; echo "  enabled yes"
		for i in $(seq 1 51); do echo "  allow 192.0.2.$i"; done
	} >"$RUN/big.blk"
	s=$(ipgate apply --list acme "$RUN/big.blk" 2>&1)
	check "51 entries refused" test $? -ne 0
	check_has "51 entries: names the list and the limit" "$s" "list acme: 51 entries, more than max-entries \(50\)"
	check_has "51 entries: located in the file given" "$s" "big.blk:[0-9]+:"
	check_eq "51 entries changed nothing" "$before" "$(snapshot)"

	# A broken included file: the daemon keeps the last good policy.
	local acme=$RUN/etc/lists.d/acme.conf good
	good=$(cat "$acme")
	sed -i "s|^  allow $CLIENT4 .*|&\n  allow 198.51.100.0/33 broken|" "$acme"
	check_has "acme.conf broken" "$(cat "$acme")" "/33"
	wait_until 10 bash -c "$B/ipgate --socket $SOCK status | grep -q 'config file'"
	s=$(ipgate status)
	check_has "broken include (watch): status names file:line" "$s" "acme.conf:[0-9]+"
	check_has "broken include (watch): running the last good config" "$s" "last good"
	check_has "broken include: daemon log names file:line:col" "$(cat "$DLOG")" \
		"acme.conf:[0-9]+:[0-9]+: .*the running policy stays"
	kill -HUP "$(daemon_pid)"
	sleep 0.5
	check "daemon survives SIGHUP with a broken include" kill -0 "$(daemon_pid)"
	check_has "broken include (SIGHUP): status still names it" "$(ipgate status)" "acme.conf:[0-9]+"
	# Everything as before, bar the broken file itself.
	check_eq "broken include: main file unchanged" "$(sed -n 1p <<<"$before")" \
		"$(sha256sum "$CONF" | awk '{print $1}')"
	check_eq "broken include: policy unchanged" "$(sed 1,2d <<<"$before")" \
		"$(snapshot | sed 1,2d)"
	reach_all "$CLIENT" $ACME4 $ACME6
	reach_none "$OUT" $ACME4 $BETA4 $API4
	# Fixed: the error clears.
	printf '%s\n' "$good" >"$acme"
	wait_until 10 bash -c "! $B/ipgate --socket $SOCK status | grep -q 'config file'"
	check_lacks "fixed include: status clean" "$(ipgate status)" "config file"
	check "daemon still running" ipgate status
}

test_test_and_log_answer_per_list() {
	fresh
	local s
	s=$(ipgate test "$CLIENT4" --list acme)
	check_eq "test --list acme: exit" 0 "$?"
	check_has "test --list acme: allowed by acme's entry" "$s" "^allowed \($CLIENT4 \"acme office\"\) by list acme"
	s=$(ipgate test "$CLIENT4" --list beta)
	check_eq "test --list beta: exit" 1 "$?"
	check_has "test --list beta: blocked" "$s" "^blocked .* by list beta"
	s=$(ipgate test "$CLIENT4" --to $BETA4)
	check_eq "test --to beta's address: exit" 1 "$?"
	check_has "test --to beta's address: beta judges" "$s" "^blocked .* by list beta"
	check_eq "test --to acme6: exit" 0 "$(ipgate test "$CLIENT6" --to $ACME6 >/dev/null; echo $?)"
	check_eq "test default list: acme's client blocked" 1 "$(ipgate test "$CLIENT4" >/dev/null; echo $?)"
	check_eq "test default list: default client allowed" 0 "$(ipgate test "$CD4" >/dev/null; echo $?)"
	check_eq "test --to unprotected port" 0 \
		"$(ipgate test "$OUT4" --to $BETA4 --port tcp/80 >/dev/null; echo $?)"
	s=$(ipgate test "$OUT4" --list nosuch 2>&1)
	check "test --list unknown: an error" test $? -ge 2
	check_has "test --list unknown: names it" "$s" "nosuch"
	# The answers follow the live policy, and agree with traffic.
	check "add to beta" ipgate add --list beta "$CLIENT4" --label "acme office at beta"
	check_eq "test --list beta after add" 0 "$(ipgate test "$CLIENT4" --list beta >/dev/null; echo $?)"
	check "traffic agrees: acme's client reaches beta" reach "$CLIENT" $BETA4
	check "add to acme" ipgate add --list acme 192.0.2.11 --label "acme only"
	check "disable beta" ipgate disable --list beta
	s=$(ipgate log --list acme -n 0)
	check_has "log --list acme: acme's add" "$s" "192.0.2.11"
	check_lacks "log --list acme: not beta's add" "$s" "acme office at beta"
	check_lacks "log --list acme: not beta's disable" "$s" "disable"
	s=$(ipgate log --list beta -n 0)
	check_has "log --list beta: beta's add" "$s" "acme office at beta"
	check_has "log --list beta: beta's disable" "$s" "disable"
	check_lacks "log --list beta: not acme's add" "$s" "192.0.2.11"
	check_has "records carry the list" "$(ipgate --json log -n 0 | grep 192.0.2.11)" '"list":"acme"'
}

# keygen ID FILE [LIST]: a key (scoped to LIST when given), in FILE.
keygen() {
	ipgate breakglass keygen --id "$1" ${3:+--list "$3"} 2>/dev/null >"$2" || fail "keygen $1"
	chmod 0600 "$2"
}

test_breakglass_key_scoped_to_one_list_opens_that_list_only() {
	fresh
	keygen a "$RUN/a.key" acme
	check_has "list shows the key's list" "$(ipgate breakglass list)" "a +created .*acme"
	check_has "keygen audited with the list" "$(ipgate log -n 1)" 'breakglass-keygen .*"list":"acme"'
	reach_none "$OUT" $ACME4 $BETA4 $API4
	ip netns exec "$OUT" "$B/ipgate" knock "$API4" --key "$RUN/a.key" --for 60s >/dev/null ||
		fail "knock with acme's key failed"
	wait_until 5 reach "$OUT" $ACME4
	check "acme-scoped grant: outsider reaches acme" reach "$OUT" $ACME4
	reach_none "$OUT" $BETA4 $API4
	check_eq "test: grant counts for acme" 0 "$(ipgate test "$OUT4" --list acme >/dev/null; echo $?)"
	check_eq "test: grant does not count for beta" 1 "$(ipgate test "$OUT4" --list beta >/dev/null; echo $?)"
	check_has "grant audited" "$(ipgate log -n 1)" "breakglass:a +$OUT4 +breakglass-grant"
	check_has "revoke" "$(ipgate breakglass revoke a)" "revoked"
	wait_until 3 blocked "$OUT" $ACME4
	check_not "revoked: acme closed" reach "$OUT" $ACME4

	# An unscoped key's grant opens every list.
	keygen u "$RUN/u.key"
	ip netns exec "$OUT" "$B/ipgate" knock "$API6" --key "$RUN/u.key" --for 60s >/dev/null ||
		fail "knock with the unscoped key failed"
	wait_until 5 reach "$OUT" $API6
	reach_all "$OUT" $API6 $ACME6 $BETA6
	reach_none "$OUT" $ACME4 $BETA4 $API4
	check "beta's client unaffected" reach "$CB" $BETA6
}

test_include_file_holds_its_list_and_hand_edits_apply_without_sighup() {
	fresh include
	local main acme=$RUN/etc/lists.d/acme.conf s
	check_has "lists: acme from the include" "$(ipgate lists)" "^acme +$ACME4,$ACME6 +yes +2/50"
	reach_all "$CLIENT" $ACME4 $ACME6
	reach_none "$OUT" $ACME4 $BETA4 $API4
	main=$(sha256sum <"$CONF")
	s=$(ipgate add --list acme 192.0.2.77 --label "via cli")
	check_has "add --list acme" "$s" "192.0.2.77"
	check_has "add writes acme's file" "$(cat "$acme")" '^ *allow 192.0.2.77 +"via cli"'
	check_eq "add leaves the main file alone" "$main" "$(sha256sum <"$CONF")"
	check_has "acme still a block" "$(cat "$acme")" "^list acme \{"
	check_has "lists: acme has 3" "$(ipgate lists)" "^acme +.* 3/50 "
	# A hand edit of the included file, as an editor makes it (rename-over).
	sed "s|^}|  allow $OUT4 \"hand edit\"\n}|" "$acme" >"$RUN/etc/lists.d/.acme.tmp"
	mv "$RUN/etc/lists.d/.acme.tmp" "$acme"
	wait_until 10 reach "$OUT" $ACME4
	check "hand edit applied by the watch: outsider reaches acme" reach "$OUT" $ACME4
	reach_none "$OUT" $ACME6 $BETA4 $API4
	check_has "lists: acme has 4" "$(ipgate lists)" "^acme +.* 4/50 "
	check_has "reload audited" "$(ipgate log --list acme -n 0)" "reload"
	# An in-place append to it too.
	sed -i "s|^}|  allow $OUT6 \"hand edit v6\"\n}|" "$acme"
	wait_until 10 reach "$OUT" $ACME6
	check "in-place edit applied: outsider reaches acme over IPv6" reach "$OUT" $ACME6
	check_not "beta untouched over IPv6" reach "$OUT" $BETA6
	check_eq "hand edits leave the main file alone" "$main" "$(sha256sum <"$CONF")"
	# Removing through the CLI edits the included file again.
	check "remove --list acme" ipgate remove --list acme "$OUT4"
	check_lacks "remove writes acme's file" "$(cat "$acme")" "allow $OUT4 "
	check_not "removed: outsider blocked at acme" reach "$OUT" $ACME4
}

# udp_through CONFIG...: CD (allowed by the default list only) sends UDP
# to acme's udp/5000 (protected) while each config is applied in turn;
# prints how many datagrams reached the receiver bound there.
udp_through() {
	local rpid spid f
	rm -f "$RUN/stop" "$RUN/sent" "$RUN/recv" "$RUN/bound" "$RUN/sending"
	ip netns exec "$API" $PY - "$ACME4" "$RUN" <<'PYEOF' &
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 5000)); s.settimeout(0.2); n = 0
open(sys.argv[2] + "/bound", "w").close()
while not os.path.exists(sys.argv[2] + "/stop"):
    try:
        s.recvfrom(100); n += 1
    except socket.timeout:
        pass
open(sys.argv[2] + "/recv", "w").write(str(n))
PYEOF
	rpid=$!
	wait_until 30 test -e "$RUN/bound" || fail "the receiver did not start"
	ip netns exec "$CD" $PY - "$ACME4" "$RUN" <<'PYEOF' &
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); n = 0
s.sendto(b"x", (sys.argv[1], 5000)); n += 1
open(sys.argv[2] + "/sending", "w").close()
while not os.path.exists(sys.argv[2] + "/stop"):
    for _ in range(20):
        s.sendto(b"x", (sys.argv[1], 5000)); n += 1
    time.sleep(0.002)
open(sys.argv[2] + "/sent", "w").write(str(n))
PYEOF
	spid=$!
	# Both ends running before the first change, however slow the start.
	wait_until 30 test -e "$RUN/bound" -a -e "$RUN/sending" ||
		fail "the UDP ends did not start"
	for f in "$@"; do
		ipgate apply "$f" >/dev/null || fail "apply $f"
	done
	sleep 0.3
	touch "$RUN/stop"
	wait "$spid" "$rpid"
	echo "$(cat "$RUN/sent" 2>/dev/null) $(cat "$RUN/recv" 2>/dev/null)"
}

# A list renamed, or an address moved to another list, goes from one list
# to the other in one flip: never, not for a packet, by way of the default
# list (which here allows CD).
test_rename_and_move_never_pass_through_the_default_list() {
	fresh
	local a=$RUN/a.conf b=$RUN/b.conf c=$RUN/c.conf sent got
	lists_config | sed 's|^protect tcp/443$|protect tcp/443 udp/5000|' >"$a"
	sed 's/^list acme {/list acme2 {/' "$a" >"$b"
	# acme's IPv4 address moves to beta (the later list), and back.
	sed "/^list acme {/,/^}/{/address $ACME4\$/d}; /^list beta {/a\\  address $ACME4" "$a" >"$c"
	check "the moved config names acme's address in beta" \
		bash -c "sed -n '/^list beta/,/^}/p' '$c' | grep -q 'address $ACME4'"
	ipgate apply "$a" >/dev/null || fail "apply a"
	read -r sent got < <(udp_through "$b" "$a" "$b" "$a" "$c" "$a" "$c" "$a")
	check "datagrams were sent during the changes" test "${sent:-0}" -gt 100
	check_eq "datagrams that reached acme's address through the default list" 0 "$got"
}

run_tests "$@"
