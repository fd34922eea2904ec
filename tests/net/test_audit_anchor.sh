#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The audit chain's journal anchors, end to end: ipgated sends each
# record's seq and hash to journald (here a stand-in on the journal's
# socket, in a private mount namespace); `ipgate log --verify --anchors`
# catches the rewrite and the cut that chain and head alone let pass; a
# lost head fails --verify and a start says so in the log.
SUITE=net/audit_anchor NS_PREFIX=ipgc-a
. "$(dirname "$0")/lib.sh"
require_root

# Everything below runs in a private mount namespace: the stand-in journal
# socket is seen by this suite's ipgated only, and vanishes with it.
if [ "${IPGATE_ANCHOR_MNTNS:-}" != 1 ]; then
	exec env IPGATE_ANCHOR_MNTNS=1 unshare -m --propagation private \
		bash "$0" "$@"
fi
if [ -d /run/systemd ]; then
	mount -t tmpfs -o mode=0755 ipgc-journal /run/systemd
else
	mount -t tmpfs -o mode=0755 ipgc-run /run
fi
mkdir -p /run/systemd/journal
JSOCK=/run/systemd/journal/socket JOUT=$RUN/journal.export
HEAD=$STATE/audit.head

journal_start() {
	$PY "$ROOT/tests/net/journal_sink.py" --socket "$JSOCK" --out "$JOUT" \
		--pid "$RUN/journal.pid" </dev/null >/dev/null 2>&1 &
	local i
	for i in $(seq 100); do [ -S "$JSOCK" ] && return 0; sleep 0.05; done
	fail "the stand-in journal did not start"
}
journal_stop() {
	[ -f "$RUN/journal.pid" ] && kill "$(cat "$RUN/journal.pid")" 2>/dev/null
	rm -f "$RUN/journal.pid" "$JSOCK"
}
# Cleanup also stops the stand-in journal.
eval "lib_$(declare -f net_cleanup_all)"
net_cleanup_all() { journal_stop; lib_net_cleanup_all; }

# A fresh API host, the stand-in journal unless "nojournal", the daemon.
fresh() {
	net_setup
	base_config
	[ "${1:-}" = nojournal ] || journal_start
	daemon_start || fail "ipgated did not start: $(tail -n 3 "$DLOG")"
}

# Changes that write audit records.
changes() {
	ipgate add 203.0.113.0/24 --label one >/dev/null &&
		ipgate add 198.51.100.7 --label two >/dev/null &&
		ipgate remove 203.0.113.0/24 >/dev/null &&
		ipgate disable >/dev/null && ipgate enable >/dev/null ||
		fail "a change failed"
}

# journal_wait: until the stand-in journal wrote an entry for every record
# (it writes each as it arrives; bounded generously).
journal_wait() {
	local n i got
	n=$(wc -l <"$AUDIT")
	for i in $(seq 200); do
		got=$(grep -c '^IPGATE_AUDIT_SEQ=' "$JOUT" 2>/dev/null)
		[ "${got:-0}" -ge "$n" ] && return 0
		sleep 0.05
	done
}

# Every record of the log has an anchor with its seq and hash (and this
# log's path) in the journal: prints "ok N" or what is missing.
all_anchored() {
	$PY - "$AUDIT" "$JOUT" <<'PY'
import json, subprocess, sys
log, export = sys.argv[1], sys.argv[2]
recs = [json.loads(l) for l in open(log)]
got = {}
for e in open(export, "rb").read().split(b"\n\n"):
    f = dict(l.split(b"=", 1) for l in e.split(b"\n") if b"=" in l)
    if b"IPGATE_AUDIT_SEQ" in f:
        assert f[b"IPGATE_AUDIT_LOG"].decode() == log, f
        got[int(f[b"IPGATE_AUDIT_SEQ"])] = f[b"IPGATE_AUDIT_HASH"].decode()
bad = [r["seq"] for r in recs if got.get(r["seq"]) != r["hash"]]
print("missing %s" % bad if bad or not recs else "ok %d" % len(recs))
PY
}

test_every_record_is_anchored_in_the_journal() {
	fresh
	changes
	local n s
	journal_wait
	n=$(wc -l <"$AUDIT")
	check_eq "every record anchored with its seq and hash" "ok $n" "$(all_anchored)"
	s=$(ipgate log --verify --anchors "$JOUT" 2>&1)
	check_has "verify against journal -o export" "$s" "^journal anchors: $n match; records 1-$n are the ones ipgated wrote"
	$PY "$ROOT/tests/net/journal_sink.py" --to-json "$JOUT" >"$RUN/journal.json"
	s=$(ipgate log --verify --anchors "$RUN/journal.json" 2>&1)
	check_has "verify against journal -o json" "$s" "^journal anchors: $n match"
	s=$(ipgate --json log --verify --anchors - <"$JOUT" 2>&1)
	check_has "--json, anchors from stdin" "$s" "\"anchored\":true,\"anchors_matched\":$n,\"anchors_newest\":$n"
	s=$(ipgate log --verify 2>&1)
	check_has "without anchors: says what it cannot see" "$s" "^chain and head consistent; without anchors a root rewrite cannot be detected"
	check_eq "--anchors needs --verify" 2 "$(ipgate log --anchors "$JOUT" >/dev/null 2>&1; echo $?)"
	echo "not a journal" >"$RUN/bad"
	s=$(ipgate log --verify --anchors "$RUN/bad" 2>&1)
	check_has "a file that is no journal export is named" "$s" "$RUN/bad: entry 1 is neither journalctl -o export nor -o json"
}

test_rewritten_log_passes_the_chain_but_fails_against_anchors() {
	fresh
	changes
	journal_wait
	daemon_stop
	# Record 3 deleted, the rest renumbered and re-chained, head rewritten.
	check "forge the log" $PY "$ROOT/tests/net/audit_forge.py" "$AUDIT" "$HEAD" --keep 2 --drop 1
	daemon_start || fail "ipgated did not restart: $(tail -n 3 "$DLOG")"
	local s
	s=$(ipgate log --verify 2>&1)
	check_has "chain and head alone cannot tell (documented)" "$s" "^audit log verified: .*the last record is the one ipgated wrote"
	check_has "and say so" "$s" "without anchors a root rewrite cannot be detected"
	check_not "the anchors catch the rewrite" ipgate log --verify --anchors "$JOUT"
	s=$(ipgate log --verify --anchors "$JOUT" 2>&1)
	check_has "naming the first record that differs" "$s" "does NOT verify: .*line 3: record 3 is not the one ipgated anchored in the journal: the log was rewritten after record 2"
}

test_cut_log_without_head_fails_verify_and_the_next_start_records_it() {
	fresh
	changes
	local s
	rm -f "$HEAD"
	check_not "a missing head fails verify" ipgate log --verify
	s=$(ipgate log --verify 2>&1)
	check_has "naming the head and what it means" "$s" "does NOT verify: the audit head $HEAD is missing: .*records cut from the end of $AUDIT cannot be detected"
	head -n 2 "$AUDIT" >"$RUN/cut" && cat "$RUN/cut" >"$AUDIT"
	check_not "cut to 2 records, head deleted: fails" ipgate log --verify
	daemon_stop
	daemon_start || fail "ipgated did not restart: $(tail -n 3 "$DLOG")"
	check_has "the start warns" "$(cat "$DLOG")" "the head $HEAD is missing; records cut from the end before now cannot be excluded"
	s=$(ipgate --json log -n 1)
	check_has "the start records it in the log" "$s" '"seq":3,.*"action":"audit-head-lost","list":null,"before":\{"head":"missing"\},"after":\{"last_seq":2,'
	s=$(ipgate log --verify 2>&1)
	check_has "then verify passes, with a warning" "$s" "^warning: 1 record says a start found the audit head or tail lost \(the last: record 3\)"
	journal_wait
	s=$(ipgate log --verify --anchors "$JOUT" 2>&1)
	check_has "the anchors show the cut" "$s" "does NOT verify: .*the journal holds 2 different hashes for record 3: the log was cut or rewritten there"
}

test_daemon_without_journal_audits_and_warns_once() {
	fresh nojournal
	changes
	check_has "the log verifies" "$(ipgate log --verify)" "^audit log verified"
	check_eq "one warning, not one per record" 1 "$(grep -c 'is not anchored in the journal' "$DLOG")"
	check_has "the warning says why" "$(cat "$DLOG")" "audit record [0-9]+ is not anchored in the journal: (No such file or directory|Connection refused)"
}

# Under systemd (JOURNAL_STREAM names stderr) the daemon's own records go
# to the journal with their fields; otherwise they stay lines on stderr.
test_under_systemd_log_records_carry_list_action_generation_and_seq() {
	net_setup
	base_config
	journal_start
	local err=$DLOG stream entry
	touch "$err"
	stream=$(stat -c '%d:%i' "$err")
	JOURNAL_STREAM=$stream daemon_start ||
		fail "ipgated did not start: $(tail -n 3 "$err")"
	check "a change" ipgate add 203.0.113.0/24 --label one
	wait_until 10 grep -q '^MESSAGE=add by root' "$JOUT" ||
		fail "the change's record did not reach the journal"
	entry=$($PY - "$JOUT" <<'PY'
import sys
for e in open(sys.argv[1], "rb").read().split(b"\n\n"):
    f = dict(l.split(b"=", 1) for l in e.split(b"\n") if b"=" in l)
    if f.get(b"MESSAGE", b"").startswith(b"add by root"):
        print(" ".join("%s=%s" % (k.decode(), f[k].decode()) for k in sorted(f)))
PY
)
	check_has "IPGATE_ACTION" "$entry" "IPGATE_ACTION=add( |$)"
	check_has "IPGATE_LIST" "$entry" "IPGATE_LIST=default( |$)"
	check_has "IPGATE_GENERATION" "$entry" "IPGATE_GENERATION=[0-9]+( |$)"
	check_has "IPGATE_AUDIT_SEQ: the record's" "$entry" "IPGATE_AUDIT_SEQ=$(wc -l <"$AUDIT")( |$)"
	check_has "PRIORITY info" "$entry" "PRIORITY=6( |$)"
	check_has "SYSLOG_IDENTIFIER" "$entry" "SYSLOG_IDENTIFIER=ipgated( |$)"
	check_lacks "not also on stderr" "$(cat "$err")" "add by root"
	daemon_stop
	# Without JOURNAL_STREAM: plain lines on stderr.
	daemon_start || fail "ipgated did not start"
	check "another change" ipgate add 198.51.100.7
	check_has "a plain line on stderr" "$(cat "$err")" "^ipgated: info: add by root"
}

run_tests "$@"
