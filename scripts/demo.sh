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
PINS=$RUN/bpf
LOAD=build/ipgate-load

cleanup() {
	set +e
	[ -f "$RUN/nginx.pid" ] && kill "$(cat "$RUN/nginx.pid")" 2>/dev/null
	netns_cleanup
	umount "$PINS" 2>/dev/null
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@" || true; }

[ "$(id -u)" = 0 ] || { echo "demo: run as root (namespaces and XDP)"; exit 1; }
cleanup 2>/dev/null; trap cleanup EXIT

step "Build: an API host, an allowed client and an outsider on one switch"
netns_switch
netns_host api 198.18.0.1/24 2001:db8:d::1/64
netns_host client 198.18.0.2/24 2001:db8:d::2/64
netns_host outsider 198.18.0.3/24 2001:db8:d::3/64
mkdir -p "$RUN/www"
echo "REST API: hello" > "$RUN/www/index.html"
cat > "$RUN/nginx.conf" <<NGX
daemon on; pid $RUN/nginx.pid; error_log $RUN/error.log;
events { worker_connections 64; }
http {
	access_log off;
	server { listen 443;  listen [::]:443;  location / { return 200 "REST API (tcp/443)\n"; } }
	server { listen 8443; listen [::]:8443; location / { return 200 "MCP server (tcp/8443)\n"; } }
	server { listen 80;   listen [::]:80;   location / { return 200 "dashboard (tcp/80)\n"; } }
	server { listen 8080; listen [::]:8080; location / { return 200 "chat widget (tcp/8080)\n"; } }
}
NGX
ip netns exec "$API" nginx -c "$RUN/nginx.conf" -e "$RUN/error.log"
sleep 0.3
echo "api 198.18.0.1 / 2001:db8:d::1: nginx on tcp/443 (REST API), tcp/8443 (MCP), tcp/80 (dashboard), tcp/8080 (widget)"

step "Load ipgate on the API host's eth0: protect tcp/443, udp/443, tcp/8443; allow only the client"
bpffs_shared "$PINS"
show ip netns exec "$API" "$LOAD" --pin-dir "$PINS/ipgate" \
	--protect tcp/443 --protect udp/443 --protect tcp/8443 \
	--allow 198.18.0.2 --allow 2001:db8:d::2 attach eth0
show ip -n "$API" -d link show eth0 | grep -o 'prog/xdp.*' || true

fetch() { # NS URL
	local out
	if out=$(ip netns exec "$1" curl -sS -g --max-time 2 "$2" 2>&1); then
		printf '  %-10s %-28s -> %s\n' "${1#$NS_PREFIX-}" "$2" "$out"
	else
		printf '  %-10s %-28s -> no answer (%s)\n' "${1#$NS_PREFIX-}" "$2" "${out##*: }"
	fi
}

step "The allowed client reaches the API and the MCP server"
fetch "$CLIENT" http://198.18.0.1:443/
fetch "$CLIENT" "http://[2001:db8:d::1]:8443/"

step "The outsider times out on the API, but the dashboard and widget answer"
fetch "$OUT" http://198.18.0.1:443/
fetch "$OUT" "http://[2001:db8:d::1]:8443/"
fetch "$OUT" http://198.18.0.1:80/
fetch "$OUT" "http://[2001:db8:d::1]:8080/"

step "Counters in the kernel"
ip netns exec "$API" "$LOAD" --pin-dir "$PINS/ipgate" stats | grep -v ' 0$'

step "Add the outsider (198.18.0.3): its access appears at once"
show ip netns exec "$API" "$LOAD" --pin-dir "$PINS/ipgate" \
	--protect tcp/443 --protect udp/443 --protect tcp/8443 \
	--allow 198.18.0.2 --allow 2001:db8:d::2 --allow 198.18.0.3 attach eth0
fetch "$OUT" http://198.18.0.1:443/

step "Clean up"
ip netns exec "$API" "$LOAD" detach eth0
echo "demo done"
