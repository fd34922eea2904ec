#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The 403 for shared endpoints: real nginx with the shipped snippet
# (dist/nginx/ipgate-auth.conf, included as is) in front of an app, asking
# ipgated's /v1/check per request. Customers share the API host's address
# and are told apart by Host: acme (list enabled), globex (list disabled),
# initech (no list). acme's office is 203.0.113.0/24; the outsider is
# 198.51.100.7.
SUITE=net/http_check NS_PREFIX=ng
. "$(dirname "$0")/lib.sh"
require_root

SNIPPET=$ROOT/dist/nginx/ipgate-auth.conf
# The API host answers on both subnets; the clients are on one each.
SRV4=203.0.113.1 SRV4B=198.51.100.1 SRV6=2001:db8:15::1
OFFICE4=203.0.113.7 OFFICE6=2001:db8:15::7
OUTS4=198.51.100.7 OUTS6=2001:db8:15::8
ACME=acme.api.example.com GLOBEX=globex.api.example.com
INITECH=initech.api.example.com
CHECK=http://127.0.0.1:8480/v1/check
NGX=$RUN/nginx

denied_body() { # CUSTOMER ADDRESS
	printf '{"message": "%s has an IP allowlist enabled, and your IP address %s is not permitted to access this resource."}' "$1" "$2"
}

http_config() {
	write_config <<CFG
# shared endpoints test config
interface eth0
enabled yes
protect tcp/443
mode drop
allow 192.0.2.1 "default list"
http-listen 127.0.0.1:8480
http-trusted-proxy 127.0.0.1/32
list acme {
  address shared
  enabled yes
  allow 203.0.113.0/24 office
  allow $OFFICE6 "office v6"
}
list globex {
  address shared
  enabled no
  allow 192.0.2.0/24 hq
}
CFG
}

# nginx in the API host, in the foreground (its own process, killed by
# pid): the snippet (as shipped, or the file given), and the app it guards
# on 127.0.0.1:8080.
nginx_up() {
	local snippet=${1:-$SNIPPET}
	mkdir -p "$NGX"
	cat >"$NGX/nginx.conf" <<NGX
daemon off;
pid $RUN/nginx.pid;
error_log $NGX/error.log;
worker_processes 1;
events { worker_connections 256; }
http {
	access_log off;
	include $snippet;
	server {
		listen 127.0.0.1:8080;
		location / { return 200 "app: \$host \$request_uri\n"; }
	}
}
NGX
	ip netns exec "$API" nginx -c "$NGX/nginx.conf" -e "$NGX/error.log" \
		-p "$NGX/" </dev/null >>"$NGX/error.log" 2>&1 &
	NGINX_PID=$!
	wait_until 10 ip netns exec "$API" curl -s -o /dev/null \
		http://127.0.0.1:8080/ ||
		fail "nginx did not start: $(tail -n 3 "$NGX/error.log")"
}

nginx_down() {
	[ -n "${NGINX_PID:-}" ] || return 0
	kill "$NGINX_PID" 2>/dev/null
	wait "$NGINX_PID" 2>/dev/null
	NGINX_PID=
}

# fresh: the API host (ipgated with the lists above, nginx), acme's office
# client and the outsider, on one switch.
fresh() {
	nginx_down
	net_cleanup_all
	netns_switch
	netns_host api "$SRV4/24" "$SRV6/64"
	ip -n "$API" addr add "$SRV4B/24" dev eth0
	netns_host client "$OFFICE4/24" "$OFFICE6/64"
	netns_host out "$OUTS4/24" "$OUTS6/64"
	mkdir -p "$RUN"
	bpffs_shared "$PINS"
	http_config
	daemon_start || fail "ipgated did not start: $(tail -n 3 "$DLOG")"
	nginx_up
}

# call NS HOST ADDR [CURL_ARGS...]: GET /v1/things on ADDR port 80 with
# Host: HOST from NS; sets CODE, TYPE and BODY.
call() {
	local ns=$1 host=$2 a=$3 out
	shift 3
	[[ $a == *:* ]] && a="[$a]"
	rm -f "$RUN/body"
	out=$(ip netns exec "$ns" curl -sS -g --max-time 5 -H "Host: $host" \
		-o "$RUN/body" -w '%{http_code} %{content_type}' "$@" \
		"http://$a/v1/things?x=1" 2>&1)
	CODE=${out%% *} TYPE=${out#"$CODE"} TYPE=${TYPE# }
	BODY=$(cat "$RUN/body" 2>/dev/null)
}

# check_call DESC CODE BODY NS HOST ADDR [CURL_ARGS...]
check_call() {
	local d=$1 code=$2 body=$3
	shift 3
	call "$@"
	check_eq "$d: status" "$code" "$CODE"
	check_eq "$d: body" "$body" "$BODY"
}

# direct [CURL_ARGS...]: GET /v1/check from inside the API host (from
# 127.0.0.1, the trusted proxy, unless told otherwise); sets CODE, TYPE
# and BODY.
direct() {
	local out
	rm -f "$RUN/body"
	out=$(ip netns exec "$API" curl -sS --max-time 5 -o "$RUN/body" \
		-w '%{http_code} %{content_type}' "$@" "$CHECK" 2>&1)
	CODE=${out%% *} TYPE=${out#"$CODE"} TYPE=${TYPE# }
	BODY=$(cat "$RUN/body" 2>/dev/null)
}

# json_get KEY: KEY of the JSON object in BODY (fails on invalid JSON).
json_get() { $PY -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$BODY" "$1"; }

# token ROLE [ARGS]: a new token's secret (create's last line).
token() { ipgate token create --role "$@" | tail -n 1; }

test_an_allowed_client_reaches_the_app_on_ipv4_and_ipv6() {
	fresh
	check_call "acme's office over IPv4" 200 "app: $ACME /v1/things?x=1" \
		"$CLIENT" "$ACME" "$SRV4"
	check_call "acme's office over IPv6" 200 "app: $ACME /v1/things?x=1" \
		"$CLIENT" "$ACME" "$SRV6"
	# A POST's body reaches the app; the check never needs it.
	call "$CLIENT" "$ACME" "$SRV4" --data-binary 'x=1'
	check_eq "a POST from acme's office" 200 "$CODE"
}

test_an_outsider_gets_403_with_a_json_body_naming_its_address() {
	fresh
	check_call "the outsider over IPv4" 403 "$(denied_body Acme "$OUTS4")" \
		"$OUT" "$ACME" "$SRV4B"
	check_eq "the 403's Content-Type" "application/json" "$TYPE"
	check_eq "the 403 is valid JSON" "$(denied_body Acme "$OUTS4" |
		$PY -c 'import json,sys; print(json.load(sys.stdin)["message"])')" \
		"$(json_get message 2>&1)"
	check_call "the outsider over IPv6" 403 "$(denied_body Acme "$OUTS6")" \
		"$OUT" "$ACME" "$SRV6"
	# Headers a client sends itself change nothing: nginx sets its own.
	check_call "the outsider claiming the office's address" 403 \
		"$(denied_body Acme "$OUTS4")" "$OUT" "$ACME" "$SRV4B" \
		-H "X-Real-IP: $OFFICE4" -H "X-Forwarded-For: $OFFICE4" \
		-H "X-Ipgate-List: globex"
	# The check's location is nginx's own: not reachable from outside.
	ip netns exec "$OUT" curl -s -o /dev/null -w '%{http_code}' \
		-H "Host: $ACME" "http://$SRV4B/_ipgate_check" >"$RUN/code"
	check_eq "/_ipgate_check from outside" 404 "$(cat "$RUN/code")"
}

test_customers_without_an_enabled_list_are_not_affected() {
	fresh
	# globex's list exists but is disabled; initech has none.
	check_call "the outsider at globex (list disabled)" 200 \
		"app: $GLOBEX /v1/things?x=1" "$OUT" "$GLOBEX" "$SRV4B"
	check_call "the outsider at initech (no list)" 200 \
		"app: $INITECH /v1/things?x=1" "$OUT" "$INITECH" "$SRV4B"
	check_call "the outsider at initech over IPv6" 200 \
		"app: $INITECH /v1/things?x=1" "$OUT" "$INITECH" "$SRV6"
	# ... while acme's list still holds.
	call "$OUT" "$ACME" "$SRV4B"
	check_eq "the outsider at acme meanwhile" 403 "$CODE"
}

test_a_change_applies_to_the_very_next_request() {
	fresh
	local tok etag
	call "$OUT" "$ACME" "$SRV4B"
	check_eq "before: the outsider at acme" 403 "$CODE"
	# Through the control socket: no reload, no wait between.
	check "ipgate add to acme" ipgate add "$OUTS4" --list acme
	call "$OUT" "$ACME" "$SRV4B"
	check_eq "right after ipgate add" 200 "$CODE"
	check "ipgate remove from acme" ipgate remove "$OUTS4" --list acme
	call "$OUT" "$ACME" "$SRV4B"
	check_eq "right after ipgate remove" 403 "$CODE"
	# Through the HTTP API: the settings page's Save, then a toggle.
	tok=$(token admin --id ngtest)
	[ -n "$tok" ] || fail "no token from ipgate token create"
	etag=$(ip netns exec "$API" curl -s -D - -o /dev/null \
		-H "Authorization: Bearer $tok" \
		http://127.0.0.1:8480/v1/lists/acme | tr -d '\r' |
		awk 'tolower($1) == "etag:" {print $2}')
	[ -n "$etag" ] || fail "GET /v1/lists/acme gave no ETag"
	ip netns exec "$API" curl -s -o /dev/null -w '%{http_code}' -X PUT \
		-H "Authorization: Bearer $tok" -H "If-Match: $etag" \
		-H 'Content-Type: application/json' \
		--data '{"enabled": true, "entries": [{"cidr": "203.0.113.0/24", "label": "office"}, {"cidr": "198.51.100.0/24", "label": "partner"}]}' \
		http://127.0.0.1:8480/v1/lists/acme >"$RUN/code"
	check_eq "PUT /v1/lists/acme" 200 "$(cat "$RUN/code")"
	call "$OUT" "$ACME" "$SRV4B"
	check_eq "right after the PUT" 200 "$CODE"
	call "$OUT" "$GLOBEX" "$SRV4B"
	check_eq "globex before its list is enabled" 200 "$CODE"
	ip netns exec "$API" curl -s -o /dev/null -w '%{http_code}' -X POST \
		-H "Authorization: Bearer $tok" \
		http://127.0.0.1:8480/v1/lists/globex/enable >"$RUN/code"
	check_eq "POST /v1/lists/globex/enable" 200 "$(cat "$RUN/code")"
	check_call "globex right after its list is enabled" 403 \
		"$(denied_body Globex "$OUTS4")" "$OUT" "$GLOBEX" "$SRV4B"
}

test_the_check_answers_204_403_404_and_401_to_an_untrusted_peer() {
	fresh
	local viewer scoped
	direct
	check_eq "no X-Ipgate-List: nothing to judge" 204 "$CODE"
	direct -H "X-Ipgate-List: acme" -H "X-Real-IP: $OFFICE4"
	check_eq "acme, the office" 204 "$CODE"
	direct -H "X-Ipgate-List: acme" -H "X-Real-IP: $OFFICE6"
	check_eq "acme, the office over IPv6" 204 "$CODE"
	direct -H "X-Ipgate-List: acme" -H "X-Real-IP: $OUTS4"
	check_eq "acme, the outsider" 403 "$CODE"
	check_eq "the 403's Content-Type" application/json "$TYPE"
	check_eq "the 403 names the list" acme "$(json_get list 2>&1)"
	check_eq "the 403 names the address" "$OUTS4" "$(json_get address 2>&1)"
	check_eq "the 403 gives the reason" not-listed "$(json_get reason 2>&1)"
	check_has "the 403's message" "$(json_get message 2>&1)" \
		"your IP address $OUTS4 is not permitted"
	direct -H "X-Ipgate-List: globex" -H "X-Real-IP: $OUTS4"
	check_eq "globex (disabled), the outsider" 204 "$CODE"
	direct -H "X-Ipgate-List: nosuch" -H "X-Real-IP: $OFFICE4"
	check_eq "an unknown list" 404 "$CODE"
	direct -H "X-Ipgate-List: acme" -H "X-Real-IP: not-an-address"
	check_eq "a bad X-Real-IP" 400 "$CODE"
	# 127.0.0.2 is not an http-trusted-proxy: its X-Real-IP is not
	# believed, and without a token it gets nothing but 401.
	direct --interface 127.0.0.2 -H "X-Ipgate-List: acme" \
		-H "X-Real-IP: $OFFICE4"
	check_eq "an untrusted peer without a token" 401 "$CODE"
	direct --interface 127.0.0.2
	check_eq "an untrusted peer without a token or a list" 401 "$CODE"
	viewer=$(token viewer --id ngview)
	direct --interface 127.0.0.2 -H "Authorization: Bearer $viewer" \
		-H "X-Ipgate-List: acme" -H "X-Real-IP: $OUTS4"
	check_eq "an untrusted peer with a token, the outsider" 403 "$CODE"
	direct --interface 127.0.0.2 -H "Authorization: Bearer nonsense" \
		-H "X-Ipgate-List: acme" -H "X-Real-IP: $OFFICE4"
	check_eq "an untrusted peer with a wrong token" 401 "$CODE"
	scoped=$(token viewer --list globex --id ngscoped)
	direct --interface 127.0.0.2 -H "Authorization: Bearer $scoped" \
		-H "X-Ipgate-List: acme" -H "X-Real-IP: $OFFICE4"
	check_eq "a token scoped to globex asking of acme" 404 "$CODE"
}

test_checks_fail_closed_while_ipgated_is_down_and_unlisted_hosts_stay_up() {
	fresh
	daemon_stop
	call "$CLIENT" "$ACME" "$SRV4"
	check_eq "acme's office while ipgated is down" 500 "$CODE"
	call "$OUT" "$ACME" "$SRV4B"
	check_eq "the outsider at acme while ipgated is down" 500 "$CODE"
	check_call "initech (no list) while ipgated is down" 200 \
		"app: $INITECH /v1/things?x=1" "$OUT" "$INITECH" "$SRV4B"
	daemon_start || fail "ipgated did not restart: $(tail -n 3 "$DLOG")"
	check_call "acme's office once ipgated is back" 200 \
		"app: $ACME /v1/things?x=1" "$CLIENT" "$ACME" "$SRV4"
}

# The snippet with its comments' fail-open lines put in, as they are
# written there.
fail_open_snippet() {
	local add
	add=$(sed -n 's/^\t#     \(proxy_intercept_errors .*\|error_page 502 .*\)$/\t\t\1/p' "$SNIPPET")
	[ "$(wc -l <<<"$add")" = 2 ] || fail "the snippet's fail-open lines are not where expected: $add"
	awk -v add="$add" '
		/^\t#     location @ipgate_unreachable/ { sub(/^\t#     /, "\t"); print; next }
		{ print }
		/^\tlocation = \/_ipgate_check \{/ { print add }' "$SNIPPET"
}

test_the_documented_fail_open_variant_serves_while_ipgated_is_down() {
	fresh
	nginx_down
	fail_open_snippet >"$RUN/fail-open.conf"
	check_has "the variant has its named location" \
		"$(cat "$RUN/fail-open.conf")" "^[[:space:]]+location @ipgate_unreachable \{ return 204; \}"
	nginx_up "$RUN/fail-open.conf"
	# While ipgated answers, nothing changes.
	check_call "the outsider at acme, ipgated up" 403 \
		"$(denied_body Acme "$OUTS4")" "$OUT" "$ACME" "$SRV4B"
	call "$CLIENT" "$ACME" "$SRV4"
	check_eq "acme's office, ipgated up" 200 "$CODE"
	daemon_stop
	check_call "the outsider at acme, ipgated down: let through" 200 \
		"app: $ACME /v1/things?x=1" "$OUT" "$ACME" "$SRV4B"
	daemon_start || fail "ipgated did not restart: $(tail -n 3 "$DLOG")"
	call "$OUT" "$ACME" "$SRV4B"
	check_eq "the outsider at acme once ipgated is back" 403 "$CODE"
}

run_tests "$@"
