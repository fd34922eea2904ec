#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The ipgate demo: an API host behind the filter, an allowed client and an
# outsider on one switch, real nginx services, real curl. Cleans up on any
# exit, Ctrl-C included.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/netns-lib.sh

NS_PREFIX=ipgdemo
API=$NS_PREFIX-api CLIENT=$NS_PREFIX-client OUT=$NS_PREFIX-outsider
RUN=/run/ipgate-demo
PINS=$RUN/bpf CONF=$RUN/etc/ipgate.conf SOCK=$RUN/ipgate.sock
ipgate() { build/ipgate --socket "$SOCK" "$@"; }

cleanup() {
	set +e
	[ -f "$RUN/nginx.pid" ] && kill "$(cat "$RUN/nginx.pid")" 2>/dev/null
	[ -f "$RUN/state/ipgated.lock" ] && kill "$(head -n1 "$RUN/state/ipgated.lock")" 2>/dev/null
	[ -f "$RUN/forward.pid" ] && kill "$(cat "$RUN/forward.pid")" 2>/dev/null
	for i in eth0; do ip -n "$API" link set "$i" xdp off 2>/dev/null; done
	netns_cleanup
	umount "$PINS" 2>/dev/null
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$'; printf ' %q' "$@"; echo; "$@" || true; }

[ "$(id -u)" = 0 ] || { echo "demo: run as root (namespaces and XDP)"; exit 1; }
cleanup 2>/dev/null; trap cleanup EXIT

step "Build: an API host, an allowed client and an outsider on one switch"
netns_switch
netns_host api 198.18.0.1/24 2001:db8:d::1/64
netns_host client 198.18.0.2/24 2001:db8:d::2/64
netns_host outsider 198.18.0.3/24 2001:db8:d::99/64
mkdir -p "$RUN"
nginx_services "$RUN" "$API"
ip netns exec "$API" socat UDP6-RECVFROM:443,fork,ipv6only=0 SYSTEM:'echo udp service on udp/443' \
	</dev/null >/dev/null 2>&1 &
disown
sleep 0.3
echo "api 198.18.0.1 / 2001:db8:d::1: nginx on tcp/443 (REST API), tcp/8443 (MCP), tcp/80 (dashboard), tcp/8080 (widget); socat on udp/443"

step "Start ipgated on the API host with this config"
bpffs_shared "$PINS"
mkdir -p "$RUN/etc"
cat > "$CONF" <<CFG
# ipgate demo: the REST API, its HTTP/3 twin and the MCP server are protected
interface eth0
enabled yes
protect tcp/443 udp/443     # REST API (and HTTP/3)
protect tcp/8443            # MCP server
max-entries 50
mode drop
allow 198.18.0.2        customer-office
allow 2001:db8:d::/126  "customer IPv6 range"
http-listen 127.0.0.1:8480  # the settings page and its API (loopback)
CFG
sed 's/^/  /' "$CONF"
ip netns exec "$API" build/ipgated --config "$CONF" --socket "$SOCK" \
	--pin-dir "$PINS/ipgate" --audit-log "$RUN/audit.jsonl" \
	--state-dir "$RUN/state" 2>"$RUN/ipgated.log"
show ipgate status

fetch() { # NS URL
	local out
	if out=$(ip netns exec "$1" curl -sS -g --max-time 2 "$2" 2>&1); then
		printf '  %-10s %-30s -> %s\n' "${1#$NS_PREFIX-}" "$2" "$out"
	else
		printf '  %-10s %-30s -> no answer (%s)\n' "${1#$NS_PREFIX-}" "$2" "${out##*: }"
	fi
}
udp() { # NS ADDR
	local out a=$2
	[[ $a == *:* ]] && a="[$a]"
	out=$(echo ping | ip netns exec "$1" timeout 2 socat -T1 - "UDP:$a:443" 2>/dev/null)
	printf '  %-10s %-30s -> %s\n' "${1#$NS_PREFIX-}" "udp $2:443" "${out:-no answer}"
}

step "The allowed client reaches the API, the MCP server and udp/443"
fetch "$CLIENT" http://198.18.0.1:443/
fetch "$CLIENT" "http://[2001:db8:d::1]:8443/"
udp "$CLIENT" 198.18.0.1

step "The outsider times out on the API, but the dashboard and widget answer"
fetch "$OUT" http://198.18.0.1:443/
fetch "$OUT" "http://[2001:db8:d::1]:8443/"
udp "$OUT" 2001:db8:d::1
fetch "$OUT" http://198.18.0.1:80/
fetch "$OUT" "http://[2001:db8:d::1]:8080/"

step "Test an IP: the live XDP program answers"
show ipgate test 198.18.0.2
show ipgate test 198.18.0.3
show ipgate test 2001:db8:d::99 --port tcp/8443
show ipgate test 2001:db8:d::2 --port tcp/8443
show ipgate test 198.18.0.3 --port tcp/80

step "Add the outsider: its access appears at once"
show ipgate add 198.18.0.3 --label "new partner"
fetch "$OUT" http://198.18.0.1:443/
show ipgate list

step "The settings page's API: a token, then the same list over HTTP"
TOKEN=$(ipgate token create --role admin --id demo-admin | tail -n 1)
show ipgate token list
api() { # METHOD PATH [BODY]
	printf '$ curl -X %s http://127.0.0.1:8480%s %s\n' "$1" "$2" "${3:+-d '$3'}"
	ip netns exec "$API" curl -sS -X "$1" -H "Authorization: Bearer $TOKEN" \
		${3:+-H 'Content-Type: application/json' --data-binary "$3"} \
		"http://127.0.0.1:8480$2" | cut -c1-160
	echo
}
api GET /v1/lists
api POST /v1/lists/default/entries '{"cidr": "203.0.113.7/24", "label": "typo"}'
api POST /v1/lists/default/entries '{"cidr": "203.0.113.0/24", "label": "branch office"}'
api POST /v1/lists/default/test '{"ip": "203.0.113.9", "port": "tcp/443"}'

step "The audit log: every change, hash-chained"
show ipgate log
show ipgate log --verify

# The page, for a person at this machine: its port is brought out of the
# API host's namespace to this host's loopback while the demo waits.
if [ -t 0 ] && [ -t 1 ] && command -v socat >/dev/null; then
	socat TCP-LISTEN:8480,bind=127.0.0.1,fork,reuseaddr \
		EXEC:"ip netns exec $API socat STDIO TCP\:127.0.0.1\:8480" \
		</dev/null >/dev/null 2>&1 &
	echo $! >"$RUN/forward.pid"
	step "The settings page"
	echo "  open http://127.0.0.1:8480/ in a browser on this machine"
	echo "  and paste this token: $TOKEN"
	read -r -p "  press Enter to end the demo " _ || true
else
	echo
	echo "settings page: http://127.0.0.1:8480/ (in the API host), token: $TOKEN"
fi

step "Clean up: detach (audited), stop the daemon, remove the namespaces"
show ipgate detach
echo "demo done"
