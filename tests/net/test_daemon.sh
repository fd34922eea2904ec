#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# ipgated and the ipgate CLI against a live datapath in namespaces: every
# subcommand, `test` against real traffic, refused changes that change
# nothing, kill -9 and adoption, the socket's permissions, reloads, and a
# long run of changes that leaves log and kernel agreeing with the file.
SUITE=net/daemon NS_PREFIX=ipgt-d
. "$(dirname "$0")/lib.sh"
require_root

fresh() { daemon_fresh "$@"; }

json_ok() { $PY -c 'import json,sys; json.load(sys.stdin)'; }

# The state a refused change must leave alone: file, log, kernel policy.
snapshot() {
	{
		sha256sum "$CONF" "$AUDIT" | awk '{print $1}'
		bpftool -j map dump pinned "$PINS/ipgate/ipg_active"
		bpftool -j map dump pinned "$PINS/ipgate/ipg_policy" | sha256sum
		$PY "$ROOT/tests/net/kernel_matches_file.py" "$PINS/ipgate" "$CONF" && echo same
	} 2>&1
}

test_daemon_starts_attaches_and_reports_status() {
	fresh
	local s
	s=$(ipgate status)
	check_has "status: enabled" "$s" "^allowlist +enabled \(drop mode\)"
	check_has "status: entries" "$s" "^entries +2 of 50"
	check_has "status: ports" "$s" "^protected +tcp/443 tcp/8443"
	check_has "status: interface and mode" "$s" "eth0, native"
	check_has "status: override" "$s" "^override +none"
	check_has "status: counters" "$s" "dropped +[0-9]+"
	check "XDP attached to eth0" bash -c "ip -n $API link show eth0 | grep -q xdp"
	s=$(ipgate --json status)
	check "status --json is JSON" json_ok <<<"$s"
	check_has "status --json: fields" "$s" '"enabled":true,"mode":"drop","entries":2,"max_entries":50'
	check_has "status --json: interface" "$s" '"interfaces":\[\{"name":"eth0","xdp":"native","link":"ether","program":"ethernet","protected":true\}\]'
	check "real traffic: client reaches tcp/443" reach "$CLIENT" "$API4"
	check "real traffic: client reaches tcp/443 over IPv6" reach "$CLIENT" "$API6"
	check_not "real traffic: outsider blocked on tcp/443" reach "$OUT" "$API4"
	check "real traffic: outsider reaches tcp/80" reach "$OUT" "$API4" 80
	check_has "start is audited" "$(ipgate log)" "reload"
}

test_every_subcommand_against_live_daemon() {
	fresh
	local s cfg_before
	s=$(ipgate add 203.0.113.0/24 --label "VPN egress")
	check_has "add prints the change" "$s" '^\+ allow 203.0.113.0/24 +"VPN egress"'
	check_has "add reaches the file" "$(cat "$CONF")" '^allow 203.0.113.0/24 +"VPN egress"'
	check_has "comments survive" "$(cat "$CONF")" "# API and MCP"
	s=$(ipgate list)
	check_has "list: header" "$s" "^ENTRY +HITS +LABEL"
	check_has "list: entry and label" "$s" "^203.0.113.0/24 +0 +VPN egress"
	reach "$CLIENT" "$API4"
	check_has "list: hits counted" "$(ipgate list)" "^198.18.0.2 +[1-9][0-9]* +client"
	check "list --json is JSON" json_ok <<<"$(ipgate --json list)"
	check_has "list --json" "$(ipgate --json list)" '"cidr":"203.0.113.0/24","label":"VPN egress","rule_id":[0-9]+,"hits":0'

	check_eq "test: allowed exit" 0 "$(ipgate test 203.0.113.9 >/dev/null; echo $?)"
	check_eq "test: allowed text" 'allowed (203.0.113.0/24 "VPN egress")' "$(ipgate test 203.0.113.9)"
	check_eq "test: blocked exit" 1 "$(ipgate test 198.51.100.1 >/dev/null; echo $?)"
	check_eq "test: blocked text" "blocked (no entry matches)" "$(ipgate test 198.51.100.1)"
	check_eq "test: unprotected port" "allowed (tcp/80 is not protected)" "$(ipgate test 198.51.100.1 --port tcp/80)"
	check_eq "test: bad address exits 2" 2 "$(ipgate test 1.2.3 2>/dev/null; echo $?)"
	check "test --json is JSON" json_ok <<<"$(ipgate --json test 203.0.113.9)"

	check_has "remove" "$(ipgate remove 203.0.113.0/24)" '^- allow 203.0.113.0/24'
	check_lacks "remove reaches the file" "$(cat "$CONF")" "203.0.113.0/24"

	check_has "disable" "$(ipgate disable)" "~ enabled: true -> false"
	check "disabled: outsider reaches tcp/443" reach "$OUT" "$API4"
	check_eq "test while disabled" "allowed (the allowlist is disabled)" "$(ipgate test 198.51.100.1)"
	check_has "enable" "$(ipgate enable)" "~ enabled: false -> true"
	check_not "enabled: outsider blocked" reach "$OUT" "$API4"
	check_has "enable again is a no-op" "$(ipgate enable)" "already enabled"

	cat >"$RUN/new.conf" <<CFG
interface eth0
enabled yes
protect tcp/443 tcp/8443
allow $CLIENT4 client
allow $CLIENT6 "client v6"
allow $OUT4 "outsider now"
CFG
	cfg_before=$(sha256sum <"$CONF")
	s=$(ipgate apply --dry-run "$RUN/new.conf")
	check_has "apply --dry-run: diff" "$s" '^\+ allow 198.18.0.3 +"outsider now"'
	check_has "apply --dry-run: verdict" "$s" "valid: 3 of 50 entries; nothing applied \(dry run\)"
	check_eq "apply --dry-run leaves the file" "$cfg_before" "$(sha256sum <"$CONF")"
	check_not "apply --dry-run leaves the kernel" reach "$OUT" "$API4"
	check_has "apply" "$(ipgate apply "$RUN/new.conf")" '^\+ allow 198.18.0.3'
	check "apply: outsider allowed at once" reach "$OUT" "$API4"
	check_eq "apply: file is the applied text" "$(sha256sum <"$RUN/new.conf")" "$(sha256sum <"$CONF")"

	s=$(ipgate log)
	check_has "log: header" "$s" "^ +SEQ +TIME +USER +CLIENT +ACTION"
	for a in add remove disable enable apply; do
		check_has "log: $a recorded" "$s" " root .* $a "
	done
	check "log --json lines are JSON" bash -c "$B/ipgate --socket $SOCK --json log | $PY -c 'import json,sys; [json.loads(l) for l in sys.stdin]'"
	check_has "log -n 1" "$(ipgate log -n 1 | tail -n 1)" " apply "
	check_has "log --verify" "$(ipgate log --verify)" "^audit log verified: [0-9]+ records .*the last record is the one ipgated wrote"
	check "log --verify --json" json_ok <<<"$(ipgate --json log --verify)"

	check_has "detach" "$(ipgate detach)" "detached from eth0"
	check_not "detach: no XDP on eth0" bash -c "ip -n $API link show eth0 | grep -q xdp"
	check_has "status shows detached" "$(ipgate status)" "NOT ATTACHED"
	check_has "attach" "$(ipgate attach)" "attached to eth0"
	check "attach: XDP back on eth0" bash -c "ip -n $API link show eth0 | grep -q xdp"
	check_has "detach and attach audited" "$(ipgate log -n 2 | tr '\n' ' ')" "detach .*attach"
	check "usage error exits 2" bash -c "$B/ipgate frobnicate 2>/dev/null; [ \$? = 2 ]"
	check "missing argument exits 2" bash -c "$B/ipgate add 2>/dev/null; [ \$? = 2 ]"
	check "option of another command exits 2" bash -c "$B/ipgate list --dry-run 2>/dev/null; [ \$? = 2 ]"
	check_has "help lists every command" "$("$B/ipgate" help | tr '\n' ' ')" "status.*list.*add.*remove.*enable.*disable.*apply.*test.*log.*detach"
	check_not "no daemon: clear error" "$B/ipgate" --socket /run/nonexistent.sock status
	check_has "no daemon: message" "$("$B/ipgate" --socket /run/nonexistent.sock status 2>&1)" "is the daemon running"
}

test_test_agrees_with_real_traffic() {
	fresh
	local policy a from got want
	for policy in "$CLIENT4 $CLIENT6" "198.18.0.0/30 2001:db8:7::/126" "$OUT4 2001:db8:7::3"; do
		{
			echo "interface eth0"; echo "enabled yes"; echo "protect tcp/443"
			for a in $policy; do echo "allow $a"; done
		} >"$RUN/p.conf"
		ipgate apply --force "$RUN/p.conf" >/dev/null || fail "apply $policy"
		for from in "$CLIENT:$CLIENT4" "$CLIENT:$CLIENT6" "$OUT:$OUT4" "$OUT:$OUT6"; do
			local ns=${from%%:*} addr=${from#*:}
			ipgate test "$addr" --port tcp/443 >/dev/null
			want=$?
			if reach "$ns" "$([[ $addr == *:* ]] && echo "$API6" || echo "$API4")"; then
				got=0
			else
				got=1
			fi
			check_eq "policy [$policy]: test $addr vs traffic" "$want" "$got"
		done
	done
}

test_rejected_change_leaves_kernel_file_and_log_unchanged() {
	fresh
	local before s
	before=$(snapshot)
	check_has "snapshot sees kernel = file" "$before" "same"
	s=$(ipgate add 203.0.113.7/24 2>&1)
	check_has "host bits: message" "$s" "has host bits set; did you mean 203.0.113.0/24"
	s=$(ipgate add '203.0.113.*' 2>&1)
	check_has "wildcard: message says what is accepted" "$s" "accepted"
	s=$(ipgate add "$CLIENT4" 2>&1)
	check_has "duplicate: message" "$s" "already in the list"
	s=$(ipgate remove 192.0.2.1 2>&1)
	check_has "remove absent: message" "$s" "not in the list"
	s=$(ipgate remove "$CLIENT4" --client "$CLIENT4" 2>&1)
	check_has "lockout guard: message" "$s" "would block your own address 198.18.0.2 \(from --client\)"
	s=$(SSH_CONNECTION="$CLIENT6 50000 $API6 22" ipgate remove "$CLIENT6" 2>&1)
	check_has "lockout guard via SSH_CONNECTION" "$s" "your own address 2001:db8:7::2 \(from SSH_CONNECTION\)"
	printf 'interface eth0\nenabled yes\nprotect tcp/443\n' >"$RUN/empty.conf"
	s=$(ipgate apply "$RUN/empty.conf" 2>&1)
	check_has "enabled empty list refused" "$s" "empty allowlist blocks every source on tcp/443; add entries first, or repeat with --force"
	printf 'interface eth0\nenabled maybe\n' >"$RUN/bad.conf"
	s=$(ipgate apply "$RUN/bad.conf" 2>&1)
	check_has "broken file: file:line:col" "$s" "bad.conf:2:9: \"maybe\" is not yes or no; nothing applied"
	{ echo "max-entries 3"; for i in 1 2 3 4; do echo "allow 192.0.2.$i"; done; } >"$RUN/big.conf"
	s=$(ipgate apply "$RUN/big.conf" 2>&1)
	check_has "over the limit refused whole" "$s" "4 entries, more than max-entries \(3\)"
	check_eq "nothing changed after refused changes" "$before" "$(snapshot)"
	# The same refusals with --json give a machine-readable error.
	s=$(ipgate --json add 203.0.113.7/24 2>/dev/null)
	check_has "--json error" "$s" '^\{"error":\{"code":"EINVAL","message":".*host bits'
	# --force passes the guards, and the change is made.
	check "lockout guard --force" ipgate remove "$CLIENT4" --client "$CLIENT4" --force
	check_not "forced removal took effect" reach "$CLIENT" "$API4"
}

test_kill9_keeps_filtering_and_restart_adopts() {
	fresh
	local gen fails=0 oks=0 i
	# A change first, so that the generation (2) tells adopted maps from
	# a fresh load (1).
	ipgate add 192.0.2.77 >/dev/null || fail "add before the kill"
	gen=$(ipgate --json status | $PY -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
	check "a change flipped" test "$gen" -gt 1
	# The allowed client keeps connecting while the daemon dies and comes back.
	(
		for i in $(seq 40); do
			if reach "$CLIENT" "$API4"; then echo ok; else echo FAIL; fi
			sleep 0.05
		done >"$RUN/load.out"
	) &
	local load=$!
	sleep 0.3
	daemon_kill9
	check "killed: XDP still attached" bash -c "ip -n $API link show eth0 | grep -q xdp"
	check_not "killed: outsider still blocked" reach "$OUT" "$API4"
	check "killed: client still allowed" reach "$CLIENT" "$API4"
	check_not "killed: CLI says the daemon is gone" ipgate status
	daemon_start || fail "restart failed"
	wait "$load"
	fails=$(grep -c FAIL "$RUN/load.out")
	oks=$(grep -c ok "$RUN/load.out")
	check_eq "client requests failed across kill and restart" 0 "$fails"
	check "client made requests" test "$oks" -ge 20
	check_has "restart adopted the pins" "$(cat "$DLOG")" "adopted the datapath"
	local gen2
	gen2=$(ipgate --json status | $PY -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
	# The file did not change: the adopted policy is it, nothing flips.
	check_eq "policy generation kept" "$gen" "$gen2"
	check_not "after restart: outsider blocked" reach "$OUT" "$API4"
	check "config intact" $PY "$ROOT/tests/net/kernel_matches_file.py" "$PINS/ipgate" "$CONF"
	check_has "audit log intact" "$(ipgate log --verify)" "verified"
	# A second daemon on the same state is refused, and the first stays.
	check_not "second daemon refused" daemon_start --foreground
	check_has "second daemon: message" "$(tail -n 3 "$DLOG")" "another ipgated holds"
	check "first daemon still serves" ipgate status
}

test_unauthorized_user_refused_on_socket() {
	fresh
	local s
	s=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$B/ipgate" --socket "$SOCK" status 2>&1)
	check_has "nobody: socket mode refuses" "$s" "Permission denied"
	# Even with the file mode opened up, peer credentials refuse.
	chmod 0666 "$SOCK"
	s=$(setpriv --reuid=nobody --regid=nogroup --clear-groups "$B/ipgate" --socket "$SOCK" add 192.0.2.9 2>&1)
	check_has "nobody: peer credentials refuse" "$s" "permission denied: only root and the daemon group"
	check_has "refusal logged" "$(cat "$DLOG")" "refused a control connection from uid 65534"
	check_lacks "nothing added" "$(cat "$CONF")" "192.0.2.9"
	# A member of the socket's group is let in.
	chmod 0660 "$SOCK"
	s=$(setpriv --reuid=nobody --regid=daemon --clear-groups "$B/ipgate" --socket "$SOCK" add 192.0.2.9 2>&1)
	check_has "group member may change" "$s" '^\+ allow 192.0.2.9'
	check_has "actor recorded" "$(ipgate log -n 1)" "nobody +- +add"
}

test_reload_on_rename_symlink_swap_and_sighup() {
	fresh
	local s i
	# An editor's rename-over.
	sed 's/^allow 198.18.0.2 .*/allow 198.18.0.2 client\nallow 198.18.0.3 outsider/' "$CONF" >"$RUN/etc/.tmp"
	mv "$RUN/etc/.tmp" "$CONF"
	for i in $(seq 20); do reach "$OUT" "$API4" && break; sleep 0.05; done
	check "rename-over applied within a second" reach "$OUT" "$API4"
	check_has "reload audited" "$(ipgate log -n 1)" "ipgated .* reload .*198.18.0.3"
	# A broken edit: refused, logged, the running policy stays.
	cp "$CONF" "$RUN/good.conf"
	echo "allow 198.51.100.0/33" >>"$CONF"
	sleep 0.5
	check "broken edit: policy stays" reach "$OUT" "$API4"
	check_has "broken edit: daemon log names file:line:col" "$(cat "$DLOG")" "ipgate.conf:[0-9]+:7: .*; the running policy stays"
	check_has "broken edit: status shows it" "$(ipgate status)" "config file .*running the last good config"
	check_has "broken edit: audited" "$(ipgate log -n 1)" "rejected-change"
	# Fixing the file clears it; SIGHUP reloads too.
	cp "$RUN/good.conf" "$CONF"
	sleep 0.5
	check_lacks "fixed: status clean" "$(ipgate status)" "config file"
	sed -i 's/^allow 198.18.0.3 outsider$//' "$CONF"
	kill -HUP "$(daemon_pid)"
	sleep 0.3
	check_not "SIGHUP/inotify: outsider removed" reach "$OUT" "$API4"
	# A symlink swap, as a Kubernetes ConfigMap mount does it.
	daemon_stop
	mkdir -p "$RUN/etc/..v1" "$RUN/etc/..v2"
	cp "$CONF" "$RUN/etc/..v1/ipgate.conf"
	{ cat "$CONF"; echo "allow 198.18.0.3 via-configmap"; } >"$RUN/etc/..v2/ipgate.conf"
	ln -sfn ..v1 "$RUN/etc/..data"
	ln -sf ..data/ipgate.conf "$RUN/etc/ipgate.conf.link"
	daemon_start --config "$RUN/etc/ipgate.conf.link" || fail "start with symlinked config"
	check_not "configmap v1: outsider blocked" reach "$OUT" "$API4"
	ln -sfn ..v2 "$RUN/etc/..data.tmp" && mv -T "$RUN/etc/..data.tmp" "$RUN/etc/..data"
	for i in $(seq 20); do reach "$OUT" "$API4" && break; sleep 0.05; done
	check "configmap swap applied" reach "$OUT" "$API4"
}

test_1000_add_remove_pairs_keep_log_and_kernel_equal_to_file() {
	fresh
	local i n t0 t1
	t0=$(date +%s%N)
	for i in $(seq 0 999); do
		ipgate_fast add "198.51.100.$((i % 250))/32" --label "pair $i" >/dev/null || { fail "add $i"; break; }
		ipgate_fast remove "198.51.100.$((i % 250))" >/dev/null || { fail "remove $i"; break; }
	done
	t1=$(date +%s%N)
	echo "  2000 changes in $(( (t1 - t0) / 1000000 )) ms"
	check_has "log verifies" "$(ipgate log --verify)" "verified: 2001 records"
	check "kernel equals file" $PY "$ROOT/tests/net/kernel_matches_file.py" "$PINS/ipgate" "$CONF"
	n=$(ipgate --json list | $PY -c 'import json,sys; print(json.load(sys.stdin)["count"])')
	check_eq "entry count back to 2" 2 "$n"
	check "client still allowed" reach "$CLIENT" "$API4"
	check_not "outsider still blocked" reach "$OUT" "$API4"
}

test_audit_rotation_through_daemon() {
	fresh --audit-rotate 4K --audit-keep 2
	local i
	for i in $(seq 1 30); do ipgate add "192.0.2.$i" >/dev/null; done
	check "rotated file exists" test -f "$AUDIT.1.gz"
	check "second rotated file exists" test -f "$AUDIT.2.gz"
	check_not "no third file (keep 2)" test -f "$AUDIT.3.gz"
	check_has "verify walks rotated files" "$(ipgate log --verify)" "in 3 files"
	check_has "log reads across files" "$(ipgate log -n 0 | wc -l)" "^[0-9]+$"
	# Cutting the newest record is caught by the head kept in the state dir.
	sed -i '$d' "$AUDIT"
	check_has "cut tail detected" "$(ipgate log --verify 2>&1)" "does NOT verify: .*records at the end were removed"
}

run_tests "$@"
