#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The product's promises on real traffic between real hosts: what the
# allowlist blocks, what it must never touch, VLANs, fragments, `ipgate
# test` against traffic, the limit, and changes under load. (Daemon loss
# and hand edits: test_daemon.sh; override and break-glass:
# test_breakglass.sh.)
SUITE=net/scenarios NS_PREFIX=ipgt-s
. "$(dirname "$0")/lib.sh"
require_root

MEMBER4=198.18.0.17 MEMBER6=2001:db8:7::11     # inside the partner ranges
NEIGH4=198.18.0.24 NEIGH6=2001:db8:7::18       # just outside them

scenario_config() {
	write_config <<CFG
interface eth0
enabled yes
protect tcp/443 udp/443   # REST API and HTTP/3
protect tcp/8443          # MCP server
mode ${1:-drop}
allow $CLIENT4           client
allow $CLIENT6           "client v6"
allow 198.18.0.16/29     "partner range"
allow 2001:db8:7::10/125 "partner v6"
CFG
}

fresh() {
	net_setup
	scenario_config "${1:-drop}"
	nginx_start
	daemon_start || fail "ipgated did not start: $(tail -n 3 "$DLOG")"
}

# load_test_progs: loads build/testprogs.bpf.o once, pinned in the shared bpffs.
load_test_progs() {
	[ -e "$PINS/progs/vlan_pop" ] ||
		bpftool prog loadall "$ROOT/build/testprogs.bpf.o" "$PINS/progs" ||
		fail "cannot load testprogs.bpf.o"
}

url() { # ADDR PORT
	[[ $1 == *:* ]] && echo "http://[$1]:$2/" || echo "http://$1:$2/"
}

test_api_ports_client_and_cidr_member_pass_outsider_and_neighbour_blocked() {
	fresh
	netns_host member "$MEMBER4/24" "$MEMBER6/64"
	netns_host neigh "$NEIGH4/24" "$NEIGH6/64"
	local port fam api
	for port in 443 8443; do
		for fam in 4 6; do
			[ $fam = 4 ] && api=$API4 || api=$API6
			check_eq "client v$fam tcp/$port" 200 "$(http "$CLIENT" "$(url "$api" $port)")"
			check_eq "CIDR member v$fam tcp/$port" 200 "$(http "$NS_PREFIX-member" "$(url "$api" $port)")"
			check_eq "neighbour outside the CIDR v$fam tcp/$port: no answer" "000 28" "$(http "$NS_PREFIX-neigh" "$(url "$api" $port)")"
			check_eq "outsider v$fam tcp/$port: no answer" "000 28" "$(http "$OUT" "$(url "$api" $port)")"
		done
	done
}

test_reject_mode_outsider_gets_reset_client_passes() {
	fresh reject
	local fam api
	# The switch side of the API host's veth must run XDP for the resets
	# sent with XDP_TX to come out (a NIC needs nothing).
	load_test_progs
	ip -n "$NS_PREFIX-sw" link set dev p-api xdp pinned "$PINS/progs/xdp_pass" ||
		fail "xdp_pass on p-api"
	for fam in 4 6; do
		[ $fam = 4 ] && api=$API4 || api=$API6
		check_eq "outsider v$fam: refused by a reset, not a timeout" "000 7" "$(http "$OUT" "$(url "$api" 443)")"
		check_eq "client v$fam: 200" 200 "$(http "$CLIENT" "$(url "$api" 443)")"
	done
	check "resets counted" test "$(ipgate --json status | $PY -c 'import json,sys; print(json.load(sys.stdin)["counters"]["rejected_reset"])')" -ge 2
}

test_udp443_outsider_never_reaches_listener_client_does() {
	fresh
	ip netns exec "$API" socat -u UDP6-RECV:443,ipv6only=0 OPEN:"$RUN/udp443.log",creat,append &
	disown
	sleep 0.2
	local a
	for a in "$API4" "$API6"; do
		local d=$a; [[ $a == *:* ]] && d="[$a]"
		echo "from-out-$a" | ip netns exec "$OUT" socat -u - "UDP:$d:443"
		echo "from-client-$a" | ip netns exec "$CLIENT" socat -u - "UDP:$d:443"
	done
	sleep 0.3
	local got; got=$(cat "$RUN/udp443.log" 2>/dev/null)
	check_has "client's IPv4 datagram arrived" "$got" "from-client-$API4"
	check_has "client's IPv6 datagram arrived" "$got" "from-client-$API6"
	check_lacks "outsider's datagrams never arrived" "$got" "from-out"
}

test_unprotected_services_and_webhook_replies_pass() {
	fresh
	local api
	for api in "$API4" "$API6"; do
		check_eq "outsider reaches the dashboard ($api)" 200 "$(http "$OUT" "$(url "$api" 80)")"
		check_eq "outsider reaches the widget ($api)" 200 "$(http "$OUT" "$(url "$api" 8080)")"
	done
	# Webhook deliveries: the API host connects out to the outsider's
	# tcp/443 and tcp/8443; replies come from those (protected) port
	# numbers to an ephemeral port, and must pass.
	local p
	for p in 443 8443; do
		ip netns exec "$OUT" socat TCP6-LISTEN:$p,fork,reuseaddr,ipv6only=0 SYSTEM:'echo webhook-ok' </dev/null >/dev/null 2>&1 &
		disown
	done
	ip netns exec "$OUT" socat UDP6-RECVFROM:443,fork,ipv6only=0 SYSTEM:'echo dns-ok' </dev/null >/dev/null 2>&1 &
	disown
	sleep 0.2
	for api in "$OUT4" "$OUT6"; do
		local d=$api; [[ $api == *:* ]] && d="[$api]"
		for p in 443 8443; do
			check_eq "webhook to $api:$p gets its reply" webhook-ok \
				"$(ip netns exec "$API" timeout 2 socat -T1 - "TCP:$d:$p,connect-timeout=1" </dev/null 2>/dev/null)"
		done
		check_eq "UDP query to $api:443 gets its reply" dns-ok \
			"$(echo q | ip netns exec "$API" timeout 2 socat -T1 - "UDP:$d:443" 2>/dev/null)"
	done
}

# vlan_tags N: clients send with N tags (1: 802.1Q, 2: 802.1ad + 802.1Q);
# the API host pops them after XDP, as a VLAN device would.
vlan_tags() {
	local ns
	load_test_progs
	ip netns exec "$API" tc qdisc replace dev eth0 clsact
	ip netns exec "$API" tc filter replace dev eth0 ingress pref 1 bpf da \
		object-pinned "$PINS/progs/vlan_pop" || fail "tc ingress pop"
	for ns in "$CLIENT" "$OUT"; do
		ip netns exec "$ns" tc qdisc replace dev eth0 clsact
		ip netns exec "$ns" tc filter replace dev eth0 egress pref 1 bpf da \
			object-pinned "$PINS/progs/vlan_push$1" || fail "tc egress push"
	done
}

test_vlan_tagged_outsider_blocked_client_passes() {
	fresh
	local n api tags
	for n in 1 2; do
		vlan_tags $n
		ip netns exec "$API" timeout 3 tcpdump -i eth0 -e -c 1 -nn vlan >"$RUN/tags.txt" 2>/dev/null &
		local dump=$!
		sleep 0.3
		for api in "$API4" "$API6"; do
			check_eq "$n tag(s): client v$([[ $api == *:* ]] && echo 6 || echo 4) passes" 200 "$(http "$CLIENT" "$(url "$api" 443)")"
			check_eq "$n tag(s): outsider blocked on the API" "000 28" "$(http "$OUT" "$(url "$api" 443)")"
			check_eq "$n tag(s): outsider reaches the dashboard" 200 "$(http "$OUT" "$(url "$api" 80)")"
		done
		wait "$dump"
		tags=$(grep -o "vlan 200" "$RUN/tags.txt" | head -n1)
		check_eq "$n tag(s): frames reached the API host tagged" "vlan 200" "$tags"
		[ $n = 2 ] && check_has "QinQ: outer 802.1ad tag seen" "$(cat "$RUN/tags.txt")" "vlan 100"
	done
}

test_fragments_to_protected_port_never_reach_listener() {
	fresh
	local port
	for port in 443 9999; do
		ip netns exec "$API" socat -u UDP6-RECV:$port,ipv6only=0 OPEN:"$RUN/frag$port.log",creat,append &
		disown
	done
	sleep 0.2
	local out_cases=() client_cases=() a o
	for a in "$API4" "$API6"; do
		for o in in rev overlap; do
			out_cases+=("$a,443,$o,OUT-443-$o-$a" "$a,9999,$o,OUT-9999-$o-$a")
		done
		for o in in rev; do
			client_cases+=("$a,443,$o,CLI-443-$o-$a")
		done
	done
	ip netns exec "$OUT" $PY "$ROOT/tests/net/frag.py" "${out_cases[@]}" || fail "frag.py (outsider)"
	ip netns exec "$CLIENT" $PY "$ROOT/tests/net/frag.py" "${client_cases[@]}" || fail "frag.py (client)"
	sleep 0.5
	local got443 got9999
	got443=$(tr -c '[:print:]' '\n' <"$RUN/frag443.log" 2>/dev/null)
	got9999=$(tr -c '[:print:]' '\n' <"$RUN/frag9999.log" 2>/dev/null)
	check_lacks "outsider's fragmented datagrams never reach udp/443" "$got443" "OUT-443"
	for a in "$API4" "$API6"; do
		for o in in rev; do
			check_has "client's datagram ($o, $a) reaches udp/443" "$got443" "CLI-443-$o-$a"
			check_has "outsider's datagram ($o, $a) reaches unprotected udp/9999" "$got9999" "OUT-9999-$o-$a"
		done
	done
	check "first fragments were dropped, later ones passed" test \
		"$(ipgate --json status | $PY -c 'import json,sys; c=json.load(sys.stdin)["counters"]; print(min(c["dropped"], c["passed_fragment"]))')" -gt 0
}

test_test_ip_agrees_with_traffic_for_30_addresses() {
	fresh
	ipgate add 198.18.0.50/31 --label pair >/dev/null
	ipgate add 198.18.0.100 >/dev/null
	ipgate add 2001:db8:7::100 >/dev/null
	ipgate add 2001:db8:7::1:0/112 >/dev/null
	local v4=(15 16 17 19 20 22 23 24 25 30 49 50 51 52 100 101 200 250)
	local v6=(f 10 11 14 17 18 19 ff 100 101 1:0 1:ffff)
	local addrs=() a n=0 want got
	ip netns add "$NS_PREFIX-probe"
	NS_CREATED+=("$NS_PREFIX-probe")
	ip link add p-probe netns "$NS_PREFIX-sw" type veth peer name eth0 netns "$NS_PREFIX-probe"
	ip -n "$NS_PREFIX-sw" link set p-probe master br0 up
	ip -n "$NS_PREFIX-probe" link set lo up
	for a in "${v4[@]}"; do
		ip -n "$NS_PREFIX-probe" addr add "198.18.0.$a/24" dev eth0
		addrs+=("198.18.0.$a")
	done
	for a in "${v6[@]}"; do
		ip -n "$NS_PREFIX-probe" addr add "2001:db8:7::$a/64" dev eth0 nodad
		addrs+=("2001:db8:7::$a")
	done
	ip -n "$NS_PREFIX-probe" link set eth0 up
	sleep 0.5
	for a in "${addrs[@]}"; do
		ipgate test "$a" --port tcp/443 >/dev/null
		want=$?
		if [ "$(http "$NS_PREFIX-probe" "$(url "$([[ $a == *:* ]] && echo "$API6" || echo "$API4")" 443)" "$a")" = 200 ]; then
			got=0
		else
			got=1
		fi
		check_eq "test $a agrees with traffic" "$want" "$got"
		n=$((n + 1))
	done
	# IPv4-mapped forms are judged as the IPv4 address they map.
	for a in 17 24; do
		ipgate test "::ffff:198.18.0.$a" >/dev/null
		want=$?
		[ "$(http "$NS_PREFIX-probe" "$(url "$API4" 443)" "198.18.0.$a")" = 200 ] && got=0 || got=1
		check_eq "test ::ffff:198.18.0.$a agrees with traffic from 198.18.0.$a" "$want" "$got"
		n=$((n + 1))
	done
	check_eq "addresses checked" 32 "$n"
	check_has "some allowed" "$(ipgate test 198.18.0.51)" "allowed \(198.18.0.50/31 \"pair\"\)"
	check_has "some blocked" "$(ipgate test 198.18.0.52)" "blocked"
}

test_limit_50_accepted_51st_refused_whole() {
	fresh
	local i s before
	{
		echo "interface eth0"; echo "enabled yes"; echo "protect tcp/443"
		echo "allow $CLIENT4 client"
		for i in $(seq 1 49); do echo "allow 192.0.2.$i"; done
	} >"$RUN/50.conf"
	s=$(ipgate apply "$RUN/50.conf")
	check_has "50 entries accepted" "$(ipgate list)" "^50 of 50 entries"
	before=$(sha256sum "$CONF" "$AUDIT"; bpftool -j map dump pinned "$PINS/ipgate/ipg_active")
	s=$(ipgate add 203.0.113.51 2>&1)
	check_has "51st refused with a clear message" "$s" "cannot add 203.0.113.51: the list is full \(50 of 50 entries; max-entries sets the limit\)"
	{ cat "$RUN/50.conf"; echo "allow 203.0.113.51"; } >"$RUN/51.conf"
	s=$(ipgate apply "$RUN/51.conf" 2>&1)
	check_has "51-entry apply refused whole" "$s" "51 entries, more than max-entries \(50\).*nothing applied"
	check_eq "nothing changed" "$before" "$(sha256sum "$CONF" "$AUDIT"; bpftool -j map dump pinned "$PINS/ipgate/ipg_active")"
	check "kernel equals file" $PY "$ROOT/tests/net/kernel_matches_file.py" "$PINS/ipgate" "$CONF"
	check_eq "203.0.113.51 still blocked" 1 "$(ipgate test 203.0.113.51 >/dev/null; echo $?)"
}

# load NS URL FILE: requests URL until $RUN/stop exists, one result a line.
load() {
	while [ ! -e "$RUN/stop" ]; do http "$1" "$2"; done >"$3"
}

# knock_load NS ADDR FILE: TCP connection attempts to ADDR:443 (0.2 s
# each) until $RUN/stop exists; "open" or "closed" a line.
knock_load() {
	while [ ! -e "$RUN/stop" ]; do
		if ip netns exec "$1" socat -u /dev/null \
			"TCP:$2:443,connect-timeout=0.2" 2>/dev/null; then
			echo open
		else
			echo closed
		fi
	done >"$3"
}

test_change_under_load_no_failed_request_no_outsider_success() {
	fresh
	local i a b
	for i in 1 2 3; do
		cp "$CONF" "$RUN/list$i.conf"
		for a in $(seq 1 $((i * 10))); do echo "allow 198.51.100.$((a + i))" >>"$RUN/list$i.conf"; done
	done
	rm -f "$RUN/stop"
	load "$CLIENT" "$(url "$API4" 443)" "$RUN/client4.out" &
	a=$!
	load "$CLIENT" "$(url "$API6" 8443)" "$RUN/client6.out" &
	b=$!
	load "$OUT" "$(url "$API4" 443)" "$RUN/out.out" &
	local c=$! d e
	# More, faster attempts from the outsider, over both families.
	knock_load "$OUT" "$API4" "$RUN/out4.knock" &
	d=$!
	knock_load "$OUT" "[$API6]" "$RUN/out6.knock" &
	e=$!
	for i in $(seq 1 200); do
		case $((i % 4)) in
		0) ipgate_fast apply "$RUN/list$(( (i / 4) % 3 + 1 )).conf" ;;
		1) ipgate_fast add "203.0.113.$((i % 250))" ;;
		2) ipgate_fast remove "203.0.113.$(((i - 1) % 250))" ;;
		3) ipgate_fast add "2001:db8:99::$i/128" ;;
		esac >/dev/null 2>&1 || fail "change $i failed"
	done
	touch "$RUN/stop"
	wait $a $b $c $d $e
	local ok4 ok6 bad outs tries opens
	ok4=$(grep -c '^200$' "$RUN/client4.out")
	ok6=$(grep -c '^200$' "$RUN/client6.out")
	bad=$(grep -vc '^200$' "$RUN/client4.out" "$RUN/client6.out" | awk -F: '{s+=$2} END {print s}')
	outs=$(grep -c '^200$' "$RUN/out.out")
	tries=$(cat "$RUN/out.out" "$RUN/out4.knock" "$RUN/out6.knock" | wc -l)
	opens=$(cat "$RUN/out4.knock" "$RUN/out6.knock" | grep -c '^open$')
	echo "  200 changes; client requests ok: $ok4 (v4) + $ok6 (v6), failed: $bad; outsider attempts: $tries, successes: $((outs + opens))"
	check_eq "client requests failed during 200 changes" 0 "$bad"
	check "client made requests throughout" test "$ok4" -ge 20 -a "$ok6" -ge 20
	check_eq "outsider requests answered during 200 changes" 0 "$outs"
	check_eq "outsider connections opened during 200 changes" 0 "$opens"
	check "outsider kept trying" test "$tries" -ge 20
	check_has "log verifies" "$(ipgate log --verify)" "verified"
	check "kernel equals file" $PY "$ROOT/tests/net/kernel_matches_file.py" "$PINS/ipgate" "$CONF"
}

run_tests "$@"
