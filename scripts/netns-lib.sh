# SPDX-License-Identifier: GPL-2.0
# Namespace helpers for the demo and the namespace tests: a switch (bridge)
# namespace and hosts plugged into it, all removed by netns_cleanup.
# Source it; set NS_PREFIX first (a short unique prefix such as "ipgd").

NS_CREATED=()

# netns_switch: creates "$NS_PREFIX-sw" holding bridge br0.
netns_switch() {
	local sw="$NS_PREFIX-sw"
	ip netns add "$sw"
	NS_CREATED+=("$sw")
	ip -n "$sw" link add br0 type bridge
	ip -n "$sw" link set br0 up
	ip -n "$sw" link set lo up
}

# netns_host NAME IPV4/LEN IPV6/LEN: a host namespace "$NS_PREFIX-NAME" with
# eth0 plugged into the switch.
netns_host() {
	local name="$NS_PREFIX-$1" sw="$NS_PREFIX-sw" port="p-$1"
	ip netns add "$name"
	NS_CREATED+=("$name")
	ip link add "$port" netns "$sw" type veth peer name eth0 netns "$name"
	ip -n "$sw" link set "$port" master br0 up
	ip -n "$name" link set lo up
	ip -n "$name" addr add "$2" dev eth0
	ip -n "$name" addr add "$3" dev eth0 nodad
	ip -n "$name" link set eth0 up
}

netns_cleanup() {
	local ns
	for ns in "${NS_CREATED[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	NS_CREATED=()
}

# bpffs_shared DIR: mounts a bpffs at DIR in the root namespace, so pins
# made there survive across `ip netns exec` calls.
bpffs_shared() {
	mkdir -p "$1"
	mountpoint -q "$1" || mount -t bpf bpf "$1"
}

# nginx_services DIR NS: the API host's HTTP services in namespace NS:
# REST API tcp/443, MCP server tcp/8443, dashboard tcp/80, chat widget
# tcp/8080, IPv4 and IPv6. Its config and pid file go in DIR.
nginx_services() {
	cat >"$1/nginx.conf" <<NGX
daemon on; pid $1/nginx.pid; error_log $1/nginx.err;
events { worker_connections 256; }
http {
	access_log off;
	server { listen 443;  listen [::]:443;  location / { return 200 "REST API (tcp/443)\n"; } }
	server { listen 8443; listen [::]:8443; location / { return 200 "MCP server (tcp/8443)\n"; } }
	server { listen 80;   listen [::]:80;   location / { return 200 "dashboard (tcp/80)\n"; } }
	server { listen 8080; listen [::]:8080; location / { return 200 "chat widget (tcp/8080)\n"; } }
}
NGX
	ip netns exec "$2" nginx -c "$1/nginx.conf" -e "$1/nginx.err"
}
