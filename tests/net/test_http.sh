#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The HTTP API on real traffic: tokens and their scopes, changes that reach
# the datapath and the audit log with the token as the actor, the whole-list
# Save with If-Match, the check for shared endpoints, the failure gate, bad
# input that changes nothing, and the listener's own settings (TLS).
SUITE=net/http NS_PREFIX=ipgh
. "$(dirname "$0")/lib.sh"
require_root

ACME4=198.18.0.10 BETA4=198.18.0.20
PORT=8480 U=http://127.0.0.1:8480

http_config() {
	cat <<CFG
# HTTP API test config
interface eth0
enabled yes
protect tcp/443
mode drop
allow $CLIENT4 "default client"
http-listen 127.0.0.1:$PORT
http-trusted-proxy 127.0.0.1
list acme {
  address $ACME4
  enabled yes
  allow $CLIENT4 "acme office"
}
list beta {
  address $BETA4
  enabled yes
  allow $CLIENT4 "beta office"
}
list shared1 {
  address shared
  enabled yes
  allow 192.0.2.0/24 vpn
}
CFG
}

# token ROLE ID [LIST]: makes a token, prints it.
token() {
	ipgate token create --role "$1" --id "$2" ${3:+--list "$3"} | tail -n 1
}

fresh() {
	net_setup
	ip -n "$API" addr add "$ACME4/24" dev eth0
	ip -n "$API" addr add "$BETA4/24" dev eth0
	http_config | write_config
	listen 443
	daemon_start || fail "ipgated did not start: $(tail -n 3 "$DLOG")"
	ROOT_T=$(token admin root)
	ACME_T=$(token admin acme-admin acme)
	VIEW_T=$(token viewer acme-viewer acme)
	BETA_T=$(token admin beta-admin beta)
}

# api TOKEN METHOD PATH [BODY] [CURL ARGS...]: prints the body, then a line
# with the status code.
api() {
	local t=$1 m=$2 p=$3 body=${4:-}
	shift 3; [ $# -gt 0 ] && shift
	ip netns exec "$API" curl -sS -g -X "$m" -w '\n%{http_code}' \
		${t:+-H "Authorization: Bearer $t"} \
		${body:+-H 'Content-Type: application/json' --data-binary "$body"} \
		"$@" "$U$p"
}
status_of() { tail -n 1 <<<"$1"; }
body_of() { sed '$d' <<<"$1"; }
# jq_ JSON EXPR: a Python expression over the parsed JSON "j".
jq_() { $PY -c 'import json,sys; j=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }
etag() { jq_ "$(body_of "$(api "$1" GET "/v1/lists/$2")")" 'j["etag"]'; }
conf_sum() { sha256sum "$CONF" | awk '{print $1}'; }

test_tokens_see_their_own_list_only_and_viewers_change_nothing() {
	fresh
	local r
	r=$(api "" GET /v1/lists)
	check_eq "no token: 401" 401 "$(status_of "$r")"
	r=$(api "ipgate_not-a-real-token" GET /v1/lists)
	check_eq "a wrong token: 401" 401 "$(status_of "$r")"
	r=$(api "$ROOT_T" GET /v1/lists)
	check_eq "root token: 200" 200 "$(status_of "$r")"
	check_eq "root token sees every list" "default acme beta shared1" \
		"$(jq_ "$(body_of "$r")" '" ".join(l["name"] for l in j["lists"])')"
	r=$(api "$ACME_T" GET /v1/lists)
	check_eq "acme's token sees acme only" "acme" \
		"$(jq_ "$(body_of "$r")" '" ".join(l["name"] for l in j["lists"])')"
	r=$(api "$ACME_T" GET /v1/lists/beta)
	check_eq "acme's token: beta is 404, not 403" 404 "$(status_of "$r")"
	r=$(api "$ACME_T" GET /v1/lists/default)
	check_eq "acme's token: the default list is 404" 404 "$(status_of "$r")"
	r=$(api "$ACME_T" GET "/v1/lists/acme/audit?limit=1000")
	check_has "acme's trail has the start" "$r" '"action":"reload"'
	check_lacks "acme's trail holds nothing of beta's" "$r" "beta office"
	check_lacks "... nor of the default list's" "$r" "default client"
	r=$(api "$ROOT_T" GET "/v1/lists/acme/audit?limit=1000")
	check_has "an unscoped token reads the whole record" "$r" "beta office"
	r=$(api "$ACME_T" GET /v1/whoami)
	check_has "whoami" "$r" '"id":"acme-admin","role":"admin","list":"acme"'
	r=$(api "$VIEW_T" GET /v1/lists/acme)
	check_eq "viewer reads acme" 200 "$(status_of "$r")"
	check_eq "viewer sees the entry" "198.18.0.2/acme office" \
		"$(jq_ "$(body_of "$r")" 'j["entries"][0]["cidr"]+"/"+j["entries"][0]["label"]')"
	local before; before=$(conf_sum)
	r=$(api "$VIEW_T" POST /v1/lists/acme/disable)
	check_eq "viewer cannot disable: 403" 403 "$(status_of "$r")"
	r=$(api "$VIEW_T" POST /v1/lists/acme/entries '{"cidr":"203.0.113.0/24"}')
	check_eq "viewer cannot add: 403" 403 "$(status_of "$r")"
	r=$(api "$BETA_T" POST /v1/lists/acme/disable)
	check_eq "beta's admin cannot touch acme: 404" 404 "$(status_of "$r")"
	check_eq "the file is unchanged" "$before" "$(conf_sum)"
	check_has "acme still enabled" "$(ipgate lists)" "^acme +$ACME4 +yes "
	# Tokens are kept hashed, 0600, and revoking one ends it.
	check_eq "tokens file mode" 600 "$(stat -c %a "$STATE/tokens")"
	check_not "no token in clear in the file" grep -q "$ACME_T" "$STATE/tokens"
	check_has "token list" "$(ipgate token list)" "^acme-viewer +viewer +acme "
	check "revoke" ipgate token revoke acme-viewer
	r=$(api "$VIEW_T" GET /v1/lists/acme)
	check_eq "a revoked token: 401" 401 "$(status_of "$r")"
	check_has "audit: token-create" "$(cat "$AUDIT")" '"action":"token-create","list":"acme"'
	check_has "audit: token-revoke" "$(cat "$AUDIT")" '"action":"token-revoke","list":"acme","before":\{"id":"acme-viewer"'
	# Tokens outlive a restart; the revoked one stays revoked.
	daemon_stop
	daemon_start || fail "ipgated did not restart with tokens: $(tail -n 3 "$DLOG")"
	check_eq "a token after a restart" 200 "$(status_of "$(api "$ACME_T" GET /v1/lists/acme)")"
	check_eq "a revoked token after a restart" 401 "$(status_of "$(api "$VIEW_T" GET /v1/lists/acme)")"
}

test_changes_over_http_reach_xdp_and_the_audit_names_the_token() {
	fresh
	local r
	check_not "outsider blocked at acme" reach "$OUT" $ACME4
	r=$(api "$ACME_T" POST /v1/lists/acme/entries '{"cidr":"203.0.113.7/24","label":"x"}')
	check_eq "host bits: 422" 422 "$(status_of "$r")"
	check_has "host bits: did you mean" "$r" 'did you mean 203.0.113.0/24\?'
	check_has "host bits: the field" "$r" '"field":"cidr"'
	r=$(api "$ACME_T" POST /v1/lists/acme/entries "{\"cidr\":\"$OUT4\",\"label\":\"contractor\"}")
	check_eq "add: 201" 201 "$(status_of "$r")"
	check_has "add: the list comes back" "$r" "\"cidr\":\"$OUT4\",\"label\":\"contractor\""
	check "outsider now reaches acme" reach "$OUT" $ACME4
	check_not "... but not beta" reach "$OUT" $BETA4
	check_has "the file has the entry" "$(cat "$CONF")" "allow $OUT4 +contractor"
	check_has "audit: add by the token from its address" "$(tail -n 1 "$AUDIT")" \
		'"user":"token:acme-admin","pid":0,"client":"127.0.0.1"\},"action":"add","list":"acme"'
	r=$(api "$ACME_T" DELETE "/v1/lists/acme/entries/$OUT4")
	check_eq "remove: 200" 200 "$(status_of "$r")"
	check_not "outsider blocked again" reach "$OUT" $ACME4
	r=$(api "$ACME_T" DELETE "/v1/lists/acme/entries/203.0.113.0%2F24")
	check_eq "remove of an absent entry: 404" 404 "$(status_of "$r")"
	r=$(api "$ACME_T" POST /v1/lists/acme/disable)
	check_eq "disable: 200" 200 "$(status_of "$r")"
	check_has "disable: enabled false" "$r" '"enabled":false'
	check "disabled: outsider reaches acme" reach "$OUT" $ACME4
	check_not "beta still enforcing" reach "$OUT" $BETA4
	r=$(api "$ACME_T" POST /v1/lists/acme/enable)
	check_not "enabled: outsider blocked" reach "$OUT" $ACME4
	# Test IP answers from the live program.
	r=$(api "$ACME_T" POST /v1/lists/acme/test "{\"ip\":\"$CLIENT4\",\"port\":\"tcp/443\"}")
	check_has "test: allowed by the entry" "$r" "\"verdict\":\"allowed\".*\"entry\":\\{\"cidr\":\"$CLIENT4\",\"label\":\"acme office\"\\}"
	r=$(api "$ACME_T" POST /v1/lists/acme/test "{\"ip\":\"$OUT4\"}")
	check_has "test: outsider blocked" "$r" '"verdict":"blocked"'
	r=$(api "$ACME_T" POST /v1/lists/acme/test '{"ip":"not-an-ip"}')
	check_eq "test: bad ip 422" 422 "$(status_of "$r")"
	# The audit resource: acme's records, newest first, paged by seq.
	r=$(api "$ACME_T" GET "/v1/lists/acme/audit?limit=2")
	check_eq "audit: 200" 200 "$(status_of "$r")"
	check_eq "audit: newest first" "enable disable" \
		"$(jq_ "$(body_of "$r")" '" ".join(x["action"] for x in j["records"])')"
	local seq; seq=$(jq_ "$(body_of "$r")" 'j["records"][1]["seq"]')
	r=$(api "$ACME_T" GET "/v1/lists/acme/audit?limit=1&before=$seq")
	check_eq "audit: before=SEQ pages back" "remove" \
		"$(jq_ "$(body_of "$r")" 'j["records"][0]["action"]')"
	r=$(api "$BETA_T" GET "/v1/lists/beta/audit")
	check_lacks "beta's trail has no acme change" "$(body_of "$r")" '"action":"add","list":"acme"'
	r=$(api "$ACME_T" GET "/v1/lists/acme/audit?limit=0")
	check_eq "audit: limit 0 is a 400" 400 "$(status_of "$r")"
}

test_save_replaces_the_list_only_when_it_was_not_changed_meanwhile() {
	fresh
	local r e1 e2 before body
	e1=$(etag "$ACME_T" acme)
	body="{\"enabled\":true,\"entries\":[{\"cidr\":\"$CLIENT4\",\"label\":\"acme office\"},{\"cidr\":\"$OUT4\",\"label\":\"new\"},{\"cidr\":\"2001:db8:7::/64\"}]}"
	r=$(api "$ACME_T" PUT /v1/lists/acme "$body")
	check_eq "PUT without If-Match: 428" 428 "$(status_of "$r")"
	# Someone else changes the list meanwhile.
	check "a change from the CLI" ipgate add 203.0.113.0/24 --list acme
	r=$(api "$ACME_T" PUT /v1/lists/acme "$body" -H "If-Match: $e1")
	check_eq "PUT with a stale ETag: 412" 412 "$(status_of "$r")"
	check_has "412 says changed meanwhile" "$r" "changed meanwhile"
	check_has "the CLI's entry survived" "$(ipgate list --list acme)" "203.0.113.0/24"
	e2=$(etag "$ACME_T" acme)
	[ "$e1" != "$e2" ] || fail "the ETag did not change with the list"
	before=$(conf_sum)
	r=$(api "$ACME_T" PUT /v1/lists/acme \
		"{\"entries\":[{\"cidr\":\"$OUT4\"},{\"cidr\":\"10.1.2.3/8\"}]}" -H "If-Match: $e2")
	check_eq "bad entry: 422" 422 "$(status_of "$r")"
	check_has "bad entry: its index" "$r" '"field":"entries\[1\]\.cidr"'
	check_has "bad entry: did you mean" "$r" "did you mean 10.0.0.0/8"
	r=$(api "$ACME_T" PUT /v1/lists/acme \
		"{\"entries\":[{\"cidr\":\"$OUT4\"},{\"cidr\":\"$OUT4/32\"}]}" -H "If-Match: $e2")
	check_has "duplicate: names the first" "$r" 'is already entries\[0\]'
	r=$(api "$ACME_T" PUT /v1/lists/acme '{"entries":[],"colour":"red"}' -H "If-Match: $e2")
	check_has "unknown field: 422" "$r" '"field":"colour"'
	local many; many=$($PY -c 'import json; print(json.dumps({"entries":[{"cidr":"203.0.113.%d" % i} for i in range(51)]}))')
	r=$(api "$ACME_T" PUT /v1/lists/acme "$many" -H "If-Match: $e2")
	check_eq "51 entries: 422" 422 "$(status_of "$r")"
	check_has "51 entries: the limit" "$r" "max-entries|at most 50|50 entries"
	check_eq "refused saves left the file alone" "$before" "$(conf_sum)"
	r=$(api "$ACME_T" PUT /v1/lists/acme "$body" -H "If-Match: $e2")
	check_eq "PUT with the current ETag: 200" 200 "$(status_of "$r")"
	check_eq "the entries are the body's" "$CLIENT4 $OUT4 2001:db8:7::/64" \
		"$(jq_ "$(body_of "$r")" '" ".join(x["cidr"] for x in j["entries"])')"
	check "the saved entry lets the outsider in" reach "$OUT" $ACME4
	check_has "audit: one save record" "$(tail -n 1 "$AUDIT")" '"user":"token:acme-admin".*"action":"save","list":"acme"'
	r=$(api "$ACME_T" PUT /v1/lists/acme '{"enabled":false,"entries":[]}' -H 'If-Match: *')
	check_eq "If-Match: * overwrites" 200 "$(status_of "$r")"
	check_has "and the toggle is saved" "$r" '"enabled":false,'
}

test_bad_requests_are_refused_and_change_nothing() {
	fresh
	local r before e
	before=$(conf_sum)
	e=$(etag "$ACME_T" acme)
	head -c 1100000 /dev/zero | tr '\0' 'a' >"$RUN/big"
	r=$(ip netns exec "$API" curl -sS -o /dev/null -w '%{http_code}' -X PUT \
		-H "Authorization: Bearer $ACME_T" -H "If-Match: $e" \
		--data-binary @"$RUN/big" "$U/v1/lists/acme")
	check_eq "body over 1 MiB: 413" 413 "$r"
	r=$(ip netns exec "$API" curl -sS -o /dev/null -w '%{http_code}' -X PUT \
		-H "Authorization: Bearer $ACME_T" -H "If-Match: $e" \
		-H "Transfer-Encoding: chunked" --data-binary @"$RUN/big" "$U/v1/lists/acme")
	check_eq "chunked body over 1 MiB: 413" 413 "$r"
	r=$(api "$ACME_T" PUT /v1/lists/acme "$($PY -c 'print("["*100 + "]"*100)')" -H "If-Match: $e")
	check_eq "deep JSON: 400" 400 "$(status_of "$r")"
	check_has "deep JSON: says so" "$r" "nests deeper"
	r=$(api "$ACME_T" PUT /v1/lists/acme '{"entries": [' -H "If-Match: $e")
	check_eq "broken JSON: 400" 400 "$(status_of "$r")"
	r=$(api "$ACME_T" PUT /v1/lists/acme '["not","an","object"]' -H "If-Match: $e")
	check_eq "JSON that is not an object: 400" 400 "$(status_of "$r")"
	r=$(api "$ACME_T" POST /v1/lists/acme/entries '{"cidr":"198.51.100.1","label":"a\u0007b"}')
	check_eq "control character in a label: 422" 422 "$(status_of "$r")"
	check_has "names the label" "$r" '"field":"label"'
	r=$(api "$ACME_T" POST /v1/lists/acme/entries '{"cidr":"198.51.100.1","extra":1}')
	check_eq "unknown field: 422" 422 "$(status_of "$r")"
	r=$(ip netns exec "$API" curl -sS -w '\n%{http_code}' -H "Authorization: Bearer $ACME_T" \
		-H 'Content-Type: text/plain' -d '{"cidr":"198.51.100.1"}' "$U/v1/lists/acme/entries")
	check_eq "a body that is not application/json: 415" 415 "$(status_of "$r")"
	r=$(api "$ROOT_T" GET "/v1/lists/%FF")
	check_eq "invalid UTF-8 in the path: 404, not a 500" 404 "$(status_of "$r")"
	check_has "... and the problem says it escaped" "$r" 'no list named \\"\\\\xff'
	r=$(api "$ACME_T" GET /v1/nothing)
	check_eq "unknown resource: 404" 404 "$(status_of "$r")"
	r=$(api "$ACME_T" DELETE /v1/lists/acme)
	check_eq "wrong method: 405" 405 "$(status_of "$r")"
	r=$(api "$ACME_T" GET /v1/lists/acme)
	check_has "errors are problem+json" "$(ip netns exec "$API" curl -sS -i "$U/v1/lists")" \
		"Content-Type: application/problem\+json"
	check_eq "nothing changed the file" "$before" "$(conf_sum)"
	check_eq "nothing changed the list" "$e" "$(etag "$ACME_T" acme)"
	check "the daemon still serves" ipgate status
}

# in_a_row "SOURCE TOKEN [X-REAL-IP]"...: the requests one after the
# other from one process (milliseconds apart, well inside the gate's 5 s
# first wait however slow the machine), each GET /v1/lists from SOURCE;
# prints "CODE" or "CODE/RETRY-AFTER" for each.
in_a_row() {
	ip netns exec "$API" $PY - "$@" <<'PY'
import http.client, sys
out = []
for spec in sys.argv[1:]:
    src, token, *real = spec.split()
    c = http.client.HTTPConnection("127.0.0.1", 8480, timeout=30,
                                   source_address=(src, 0))
    h = {"Authorization": "Bearer " + token}
    if real:
        h["X-Real-IP"] = real[0]
    c.request("GET", "/v1/lists", headers=h)
    r = c.getresponse()
    r.read()
    ra = r.getheader("Retry-After")
    out.append(str(r.status) + ("/" + ra if ra else ""))
    c.close()
print(" ".join(out))
PY
}

test_failed_tokens_are_slowed_per_address_only() {
	fresh
	local r
	r=$(in_a_row "127.0.0.1 ipgate_w1" "127.0.0.1 ipgate_w2" "127.0.0.1 ipgate_w3" \
		"127.0.0.1 ipgate_w4" "127.0.0.1 ipgate_w5" "127.0.0.1 ipgate_w6" \
		"127.0.0.1 $ACME_T" "127.0.0.2 $ACME_T")
	check_eq "5 failures, then 429 with Retry-After, even for a good token; another address is not slowed" \
		"401 401 401 401 401 429/5 429/5 200" "$(sed -E 's|429/[0-9]+|429/5|g' <<<"$r")"
	check_has "the wait is the first one, 5 s or less" "$r" " 429/[1-5] "
}

test_behind_a_trusted_proxy_the_gate_counts_the_real_client() {
	fresh
	local r
	r=$(in_a_row "127.0.0.1 ipgate_b1 198.51.100.66" "127.0.0.1 ipgate_b2 198.51.100.66" \
		"127.0.0.1 ipgate_b3 198.51.100.66" "127.0.0.1 ipgate_b4 198.51.100.66" \
		"127.0.0.1 ipgate_b5 198.51.100.66" "127.0.0.1 $ACME_T 198.51.100.66" \
		"127.0.0.1 $ACME_T 198.51.100.67")
	check_eq "the failing client behind the proxy waits, another behind it does not" \
		"401 401 401 401 401 429 200" "$(sed -E 's|/[0-9]+||g' <<<"$r")"
	check "a change through the proxy" api "$ACME_T" POST /v1/lists/acme/entries '{"cidr":"203.0.113.0/24"}' -H "X-Real-IP: 198.51.100.67"
	check_has "the audit names the client behind the proxy" "$(tail -n 1 "$AUDIT")" '"client":"198.51.100.67"'
}

test_slow_or_piled_up_connections_are_cut_off_and_proxies_are_not_limited() {
	fresh
	local r
	r=$(ip netns exec "$API" $PY - <<'PY'
import socket, time
def conn(src):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", 8480))
    return s
def open_after(s, wait):
    # Whether the server still holds the connection after @wait s.
    s.settimeout(wait)
    try:
        return s.recv(1) != b""
    except socket.timeout:
        return True
    except OSError:
        return False
def answered(s):
    # Whether a request on @s gets an HTTP answer (a connection the
    # server refused is closed instead), however long it takes.
    s.settimeout(30)
    try:
        s.sendall(b"GET /v1/lists HTTP/1.1\r\nHost: x\r\n\r\n")
        return s.recv(9) == b"HTTP/1.1 "
    except OSError:
        return False
# 12 connections at once from one untrusted address: 8 are served.
held = [conn("127.0.0.2") for _ in range(12)]
kept = sum(answered(s) for s in held)
# ... from the trusted proxy, all 12.
prox = [conn("127.0.0.1") for _ in range(12)]
pkept = sum(answered(s) for s in prox)
for s in held + prox:
    s.close()
# Headers trickling in, a line every 2 s: cut off after the deadline.
s = conn("127.0.0.3")
s.sendall(b"GET /v1/lists HTTP/1.1\r\nHost: x\r\n")
t0, cut = time.time(), None
while time.time() - t0 < 40:
    try:
        s.sendall(b"X-Slow: 1\r\n")
    except OSError:
        cut = time.time() - t0
        break
    if not open_after(s, 2):
        cut = time.time() - t0
        break
print(kept, pkept, "cut" if cut is not None else "open")
PY
)
	check_eq "per address: 8 kept, proxy: all 12, slow headers cut off" "8 12 cut" "$r"
	check_eq "the API still answers" 200 "$(status_of "$(api "$ACME_T" GET /v1/lists)")"
}

test_check_answers_shared_endpoints_from_the_live_lists() {
	fresh
	local r
	chk() {
		ip netns exec "$API" curl -sS -o "$RUN/chk" -w '%{http_code}' "$@" "$U/v1/check"
	}
	check_eq "shared: allowed address 204" 204 \
		"$(chk -H 'X-Ipgate-List: shared1' -H 'X-Real-IP: 192.0.2.77')"
	check_eq "shared: outsider 403" 403 \
		"$(chk -H 'X-Ipgate-List: shared1' -H 'X-Real-IP: 198.51.100.7')"
	check_has "403 names the address" "$(cat "$RUN/chk")" "your IP address 198.51.100.7 is not permitted"
	r=$(api "$ROOT_T" POST /v1/lists/shared1/test '{"ip":"192.0.2.77"}')
	check_has "Test IP on a shared list" "$r" '"verdict":"allowed".*"entry":\{"cidr":"192.0.2.0/24","label":"vpn"\}'
	check_has "lists shows it shared" "$(ipgate lists)" "^shared1 +\(shared: HTTP check\)"
	check_eq "no list: nothing to judge, 204" 204 "$(chk -H 'X-Real-IP: 198.51.100.7')"
	check_eq "unknown list: 404" 404 "$(chk -H 'X-Ipgate-List: nope' -H 'X-Real-IP: 198.51.100.7')"
	check_eq "bad address: 400" 400 "$(chk -H 'X-Ipgate-List: shared1' -H 'X-Real-IP: 1.2.3')"
	# A change is seen by the next check.
	check "add to shared1" ipgate add 198.51.100.0/24 --list shared1
	check_eq "after the add: 204" 204 \
		"$(chk -H 'X-Ipgate-List: shared1' -H 'X-Real-IP: 198.51.100.7')"
	check "override of shared1 only" ipgate override --list shared1 --for 5m --reason t
	check_eq "override: 204" 204 "$(chk -H 'X-Ipgate-List: shared1' -H 'X-Real-IP: 203.0.113.9')"
	check_eq "acme unaffected by it: 403" 403 "$(chk -H 'X-Ipgate-List: acme' -H 'X-Real-IP: 203.0.113.9')"
	# X-Real-IP is believed only from a trusted proxy (or a token holder).
	check_eq "untrusted peer without a token: 401" 401 \
		"$(chk --interface 127.0.0.2 -H 'X-Ipgate-List: acme' -H "X-Real-IP: $CLIENT4")"
	check_eq "untrusted peer with a token: judged" 204 \
		"$(chk --interface 127.0.0.2 -H "Authorization: Bearer $ACME_T" \
			-H 'X-Ipgate-List: acme' -H "X-Real-IP: $CLIENT4")"
	check_eq "a scoped token cannot ask about another list" 404 \
		"$(chk --interface 127.0.0.2 -H "Authorization: Bearer $ACME_T" \
			-H 'X-Ipgate-List: beta' -H "X-Real-IP: $CLIENT4")"
}

test_override_needs_an_admin_token_of_every_list() {
	fresh
	local r
	r=$(api "$ACME_T" POST /v1/override '{"duration":"10m","reason":"x"}')
	check_eq "scoped admin: 403" 403 "$(status_of "$r")"
	r=$(api "$ROOT_T" POST "/v1/override?list=acme" '{"duration":"10m","reason":"ticket 7"}')
	check_eq "override of acme: 200" 200 "$(status_of "$r")"
	check "override opens acme" reach "$OUT" $ACME4
	check_not "... not beta" reach "$OUT" $BETA4
	r=$(api "$ACME_T" GET /v1/lists/acme)
	check_has "the list shows its override" "$r" '"override":\{"scope":"list".*"reason":"ticket 7","by":"token:root"'
	r=$(api "$ROOT_T" POST /v1/override '{"duration":"99d","reason":"x"}')
	check_eq "longer than override-max: 422" 422 "$(status_of "$r")"
	r=$(api "$ROOT_T" DELETE "/v1/override?list=acme")
	check_eq "cancel: 200" 200 "$(status_of "$r")"
	check_not "acme enforced again" reach "$OUT" $ACME4
}

test_listener_settings_refuse_plain_http_off_loopback_and_follow_the_config() {
	fresh
	local before r
	before=$(conf_sum)
	sed "s/^http-listen .*/http-listen $API4:8443/" "$CONF" >"$RUN/plain.conf"
	r=$(ipgate apply "$RUN/plain.conf" 2>&1)
	check_has "plain HTTP off loopback refused" "$r" "non-loopback address needs TLS"
	check_eq "refused: file unchanged" "$before" "$(conf_sum)"
	r=$(ip netns exec "$API" openssl req -x509 -newkey rsa:2048 -nodes -days 1 \
		-subj /CN=ipgate-test -keyout "$RUN/etc/key.pem" -out "$RUN/etc/cert.pem" 2>&1) ||
		fail "openssl: $r"
	{
		cat "$RUN/plain.conf"
		echo "http-tls-cert $RUN/etc/cert.pem"
		echo "http-tls-key $RUN/etc/key.pem"
	} >"$RUN/tls.conf"
	check "TLS listener applied" ipgate apply "$RUN/tls.conf"
	r=$(ip netns exec "$CLIENT" curl -sS -k -o /dev/null -w '%{http_code}' \
		-H "Authorization: Bearer $ACME_T" "https://$API4:8443/v1/lists/acme")
	check_eq "HTTPS from the client: 200" 200 "$r"
	r=$(ip netns exec "$API" curl -sS -o /dev/null -w '%{http_code}' "$U/v1/lists" 2>/dev/null)
	check_eq "the old listener is gone" 000 "$r"
	check_not "TLS 1.1 is refused" bash -c "ip netns exec $CLIENT openssl s_client -tls1_1 -connect $API4:8443 </dev/null"
	check "TLS 1.2 is served" bash -c "ip netns exec $CLIENT openssl s_client -tls1_2 -connect $API4:8443 </dev/null"
	check_has "status names the listener" "$(ipgate status)" "^http api +listening on $API4:8443 \(TLS\), 4 tokens"
	# SIGHUP reads a rotated certificate; a broken one keeps the old.
	ip netns exec "$API" openssl req -x509 -newkey rsa:2048 -nodes -days 1 \
		-subj /CN=ipgate-rotated -keyout "$RUN/etc/key.pem" -out "$RUN/etc/cert.pem" >/dev/null 2>&1
	kill -HUP "$(daemon_pid)"
	subject() {
		ip netns exec "$CLIENT" curl -sS -k -v -o /dev/null "https://$API4:8443/v1/whoami" 2>&1 |
			grep -o 'subject: CN=[a-z-]*'
	}
	wait_until 30 bash -c "ip netns exec $CLIENT curl -sS -k -v -o /dev/null https://$API4:8443/ 2>&1 | grep -q CN=ipgate-rotated" ||
		fail "SIGHUP did not read the rotated certificate: $(subject)"
	echo garbage >"$RUN/etc/cert.pem"
	kill -HUP "$(daemon_pid)"
	wait_until 30 grep -q "are not a PEM certificate and its key" "$DLOG" ||
		fail "a broken certificate was not reported"
	check_eq "a broken certificate keeps the old one" "subject: CN=ipgate-rotated" "$(subject)"
	echo "http-tls-cert /nonexistent.pem" >"$RUN/half.conf"
	r=$(ipgate apply "$RUN/half.conf" 2>&1)
	check_has "a cert without a key is refused" "$r" "without http-tls-key"
	sed 's/^http-listen .*/http-listen off/' "$CONF" >"$RUN/off.conf"
	check "http-listen off" ipgate apply "$RUN/off.conf"
	r=$(ip netns exec "$CLIENT" curl -sS -k -o /dev/null -w '%{http_code}' "https://$API4:8443/" 2>/dev/null)
	check_eq "the listener stopped" 000 "$r"
	check_has "the change is audited" "$(tail -n 1 "$AUDIT")" '"http-listen":"off"'
}

run_tests "$@"
