#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make demo` shows what the README promises, and leaves nothing behind,
# also when interrupted with Ctrl-C.
SUITE=net/demo NS_PREFIX=ipgt-demo-test
. "$(dirname "$0")/lib.sh"
require_root

leftovers() {
	{
		ip netns list | grep -c '^ipgdemo-'
		ls /run | grep -c '^ipgate-demo$'
		pgrep -fc 'ipgated --config /run/ipgate-demo'
		pgrep -fc 'nginx -c /run/ipgate-demo'
	} | paste -sd' '
}

test_demo_shows_each_step_and_cleans_up() {
	local out
	out=$(cd "$ROOT" && bash scripts/demo.sh 2>&1)
	check_eq "demo exit status" 0 $?
	check_has "client reaches the API" "$out" "client +http://198.18.0.1:443/ +-> REST API"
	check_has "client reaches MCP over IPv6" "$out" "client +http://\[2001:db8:d::1\]:8443/ +-> MCP server"
	check_has "client reaches udp/443" "$out" "client +udp 198.18.0.1:443 +-> udp service"
	check_has "outsider times out on the API" "$out" "outsider +http://198.18.0.1:443/ +-> no answer \(\(28\)"
	check_has "outsider times out on udp/443" "$out" "outsider +udp 2001:db8:d::1:443 +-> no answer"
	check_has "outsider reaches the dashboard" "$out" "outsider +http://198.18.0.1:80/ +-> dashboard"
	check_has "outsider reaches the widget" "$out" "outsider +http://\[2001:db8:d::1\]:8080/ +-> chat widget"
	check_has "ipgate test: client" "$out" "^allowed \(198.18.0.2 \"customer-office\"\)"
	check_has "ipgate test: outsider" "$out" "^blocked \(no entry matches\)"
	check_has "adding the outsider opens the API at once" "$out" "outsider +http://198.18.0.1:443/ +-> REST API"
	check_has "the API refuses host bits, naming the fix" "$out" "did you mean 203.0.113.0/24\?"
	check_has "the API adds an entry" "$out" '"cidr":"203.0.113.0/24","label":"branch office"'
	check_has "the API's Test IP" "$out" '"verdict":"allowed"'
	check_has "the page's URL and a token" "$out" "settings page: http://127.0.0.1:8480/ .*token: ipgate_"
	check_has "the audit log is shown and verifies" "$out" "audit log verified: 4 records"
	check_eq "nothing left behind" "0 0 0 0" "$(leftovers)"
}

test_demo_interrupted_cleans_up() {
	# Ctrl-C reaches the whole process group, as from a terminal.
	(cd "$ROOT" && $PY - <<'PY'
import os, signal, subprocess, time
p = subprocess.Popen(["bash", "scripts/demo.sh"], stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True,
                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
time.sleep(3.5)
os.killpg(p.pid, signal.SIGINT)
raise SystemExit(0 if p.wait(timeout=30) == 130 else 1)
PY
	) || fail "demo did not exit with 130 on Ctrl-C"
	check_eq "nothing left behind after Ctrl-C" "0 0 0 0" "$(leftovers)"
}

run_tests "$@"
