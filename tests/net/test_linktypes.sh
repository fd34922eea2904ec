#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Interfaces without an Ethernet header: ipgated on a real tun device (the
# program that parses from the IP header, in generic mode) drops outsiders
# to a protected port and passes the rest, as packets written into the tun
# device show; a link type the program cannot parse is refused.
SUITE=net/linktypes NS_PREFIX=ipga-lt
. "$(dirname "$0")/lib.sh"
require_root

TUN=tun0 TUN4=198.18.9.1 TUN6=2001:db8:9::1
MEMBER4=198.18.9.2 MEMBER6=2001:db8:9::2 OUTSIDE4=198.18.9.3 OUTSIDE6=2001:db8:9::3

# The API host alone, with tun device $TUN (nothing writes into it yet).
tun_setup() {
	net_cleanup_all
	ip netns add "$API"
	NS_CREATED+=("$API")
	ip -n "$API" link set lo up
	ip -n "$API" tuntap add mode tun name "$TUN"
	ip -n "$API" addr add "$TUN4/24" dev "$TUN"
	ip -n "$API" addr add "$TUN6/64" dev "$TUN" nodad
	ip -n "$API" link set "$TUN" up
	mkdir -p "$RUN"
	bpffs_shared "$PINS"
}

tun_config() {
	write_config <<CFG
interface $TUN
enabled yes
protect tcp/443
mode ${1:-drop}
allow $MEMBER4 member
allow $MEMBER6 "member v6"
CFG
}

fresh() {
	tun_setup
	tun_config "$@"
	daemon_start || fail "ipgated did not start: $(tail -n 3 "$DLOG")"
}

# syn SRC DST PORT: what the API host answers to a SYN written into $TUN.
syn() { ip netns exec "$API" $PY "$ROOT/tests/net/tun.py" syn "$TUN" "$@"; }

# syn_answered SRC DST PORT: what the host answers, retried up to three
# times while it says nothing. A delivered SYN is always answered, but the
# tun device's carrier follows the probe's open fd, and a reply sent while
# it comes up can be lost; a dropped SYN is silent every time.
syn_answered() {
	local a
	for _ in 1 2 3; do
		a=$(syn "$@" --wait 3)
		[ "$a" != silent ] && break
	done
	echo "$a"
}

counter() {
	ipgate --json status | $PY -c "import json,sys; print(json.load(sys.stdin)['counters']['$1'])"
}

iface_field() {
	ipgate --json status | $PY -c "import json,sys; print(json.load(sys.stdin)['interfaces'][0]['$1'])"
}

test_tun_outsider_to_protected_port_dropped_member_answered() {
	fresh
	local fam dst member outsider dropped
	for fam in 4 6; do
		if [ $fam = 4 ]; then
			dst=$TUN4 member=$MEMBER4 outsider=$OUTSIDE4
		else
			dst=$TUN6 member=$MEMBER6 outsider=$OUTSIDE6
		fi
		dropped=$(counter dropped)
		check_eq "outsider v$fam tcp/443: dropped" silent "$(syn "$outsider" "$dst" 443)"
		check_eq "outsider v$fam tcp/443: counted" $((dropped + 1)) "$(counter dropped)"
		# Nobody listens: the stack's RST shows the SYN got through.
		check_eq "member v$fam tcp/443: delivered" "answered RST" "$(syn_answered "$member" "$dst" 443)"
		check_eq "outsider v$fam tcp/80: delivered" "answered RST" "$(syn_answered "$outsider" "$dst" 80)"
	done
	check "allowed counted" test "$(counter passed_allowed)" -ge 2
	check "unprotected counted" test "$(counter passed_unprotected)" -ge 2
	check_eq "no packet taken for non-IP" 0 "$(counter passed_non_ip)"
}

test_tun_status_shows_ip_program_in_generic_mode() {
	fresh
	check_has "status text" "$(ipgate status)" "$TUN, generic, link none, ip frames"
	check_eq "json xdp" generic "$(iface_field xdp)"
	check_eq "json link" none "$(iface_field link)"
	check_eq "json program" ip "$(iface_field program)"
	check_eq "json protected" True "$(iface_field protected)"
	check_has "the IP program, in generic mode" \
		"$(ip -n "$API" -d link show "$TUN" | tr '\n' ' ')" "xdpgeneric.* name ipgate_xdp_l3 "
}

test_tun_reject_mode_drops_without_reset() {
	fresh reject
	check_eq "outsider v4: no reset, nothing" silent "$(syn "$OUTSIDE4" "$TUN4" 443)"
	check_eq "outsider v6: no reset, nothing" silent "$(syn "$OUTSIDE6" "$TUN6" 443)"
	check_eq "no resets" 0 "$(counter rejected_reset)"
	check_eq "drops counted" 2 "$(counter dropped)"
	check_eq "ipgate test follows the interface" "blocked (no entry matches)" "$(ipgate test "$OUTSIDE4")"
	check_has "ipgate test: dropped" "$(ipgate --json test "$OUTSIDE4")" '"action":"drop"'
}

test_unsupported_link_type_refused() {
	tun_setup
	# A tun device turned ppp (ARPHRD_PPP, 512) stands in for the link
	# types ipgate cannot parse.
	ip netns exec "$API" $PY "$ROOT/tests/net/tun.py" make odd0 --link-type 512 ||
		fail "cannot make a ppp-type device"
	write_config <<CFG
interface odd0
enabled yes
protect tcp/443
allow $MEMBER4
CFG
	check_not "ipgated refuses to start on odd0" daemon_start
	check_has "the error names the interface and link type" "$(cat "$DLOG")" \
		"cannot attach to odd0: its link type is ppp \(512\)"
	check_lacks "nothing attached to odd0" "$(ip -n "$API" -d link show odd0)" "xdp"
}

run_tests "$@"
