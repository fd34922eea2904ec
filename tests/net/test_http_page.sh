#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The settings page and the break-glass page in a real browser (headless
# Chromium driven by Selenium, tests/net/page.py) run in a client's
# namespace against ipgated's HTTPS listener: a tenant's admin changes its
# list and its client's real traffic then passes XDP while an outsider's
# does not; a viewer changes nothing and sees no other tenant; a locked-out
# client lets itself in with its break-glass key, a wrong or revoked key
# grants nothing; and no page breaks its Content-Security-Policy.
SUITE=net/http-page NS_PREFIX=pg
. "$(dirname "$0")/lib.sh"
require_root

PAGE=$ROOT/tests/net/page.py
ACME4=198.18.0.10 BETA4=198.18.0.20
URL=https://$API4:8480

# The browser and its driver, or the suite fails loudly.
if ! [ -x /usr/bin/chromium ] || ! [ -x /usr/bin/chromedriver ] ||
	! $PY -c 'import selenium' 2>/dev/null; then
	echo "FAIL $SUITE: needs chromium, chromium-driver and python3-selenium (make deps)"
	echo "RESULT $SUITE passed=0 failed=1 skipped=0"
	exit 1
fi

page_config() {
	write_config <<CFG
# settings page test config
interface eth0
enabled yes
protect tcp/443
mode drop
allow 198.18.0.5 "default client"
http-listen $API4:8480
http-tls-cert $RUN/etc/cert.pem
http-tls-key $RUN/etc/key.pem
list acme {
  address $ACME4
  enabled yes
  allow 192.0.2.50 "old office"
  allow 192.0.2.51 contractor expires 2030-01-01T00:00:00Z
}
list beta {
  address $BETA4
  enabled yes
  allow 192.0.2.60 "beta office"
}
CFG
}

# fresh: the hosts, the customers' addresses, an "ok" service on tcp/443
# (every address), a certificate for the listener and a running daemon.
fresh() {
	net_setup
	ip -n "$API" addr add "$ACME4/24" dev eth0
	ip -n "$API" addr add "$BETA4/24" dev eth0
	page_config
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-days 2 -subj "/CN=$API4" -addext "subjectAltName=IP:$API4" \
		-keyout "$RUN/etc/key.pem" -out "$RUN/etc/cert.pem" 2>/dev/null ||
		fail "cannot make a test certificate"
	chmod 600 "$RUN/etc/key.pem"
	listen 443
	daemon_start || fail "ipgated did not start: $(tail -n 3 "$DLOG")"
	wait_until 10 ip netns exec "$CLIENT" curl -sfk -o /dev/null "$URL/" ||
		fail "the HTTP listener does not answer"
}

# token ROLE ID [LIST]: a token's secret (the last line create prints).
token() {
	ipgate token create --role "$1" --id "$2" ${3:+--list "$3"} 2>/dev/null | tail -n 1
}

# browse NS SCENARIO [ARGS]: page.py in namespace NS; its "ok"/"FAIL"
# lines are shown, a FAIL line or a non-zero exit fails the test. The
# browser's profile and temporary files stay under $RUN.
browse() {
	local ns=$1 out rc; shift
	mkdir -p "$RUN/browser"
	out=$(ip netns exec "$ns" env HOME="$RUN/browser" TMPDIR="$RUN/browser" \
		PAGE_URL="$URL" $PY "$PAGE" "$@" 2>&1)
	rc=$?
	sed 's/^/    /' <<<"$out"
	grep -q '^FAIL' <<<"$out" && fail "page.py $1: $(grep -m1 '^FAIL' <<<"$out")"
	[ "$rc" = 0 ] || fail "page.py $1 exited $rc"
}

status_field() { # PYTHON-EXPR over the status JSON as s
	ipgate --json status | $PY -c "import json,sys; s=json.load(sys.stdin); print($1)"
}

test_tenant_adds_its_client_in_the_browser_and_xdp_then_lets_it_in_only() {
	fresh
	local s
	check_not "before: acme's client is blocked at acme" reach "$CLIENT" "$ACME4"
	PAGE_TOKEN=$(token admin acme-admin acme) browse "$CLIENT" tenant acme "$CLIENT4" "$OUT4"
	s=$(ipgate list --list acme)
	check_has "the entry is in acme's list, with the saved label" "$s" "198\.18\.0\.2 +.*office HQ"
	check_has "the change made meanwhile was not overwritten" "$s" "192\.0\.2\.99 "
	check_lacks "the host-bits entry was refused" "$s" "203\.0\.113"
	check_has "audited as the token" "$(ipgate log -n 5)" "token:acme-admin .* (add|save) "
	# Real traffic through XDP: the client in, the outsider not.
	check "acme's client reaches acme on tcp/443" reach "$CLIENT" "$ACME4"
	check_not "the outsider is blocked at acme" reach "$OUT" "$ACME4"
	check_not "acme's client is still blocked at beta" reach "$CLIENT" "$BETA4"
}

test_viewer_changes_nothing_and_sees_no_other_tenant() {
	fresh
	local before
	before=$(ipgate list --list acme; ipgate list --list beta; sha256sum <"$CONF")
	PAGE_TOKEN=$(token viewer acme-viewer acme) browse "$CLIENT" viewer acme beta 192.0.2.60 "beta office"
	check_eq "nothing changed" "$before" \
		"$(ipgate list --list acme; ipgate list --list beta; sha256sum <"$CONF")"
}

test_breakglass_url_lets_a_locked_out_client_in_and_wrong_or_revoked_keys_do_not() {
	fresh
	local url wrong i code
	ipgate breakglass keygen --id alice 2>/dev/null >"$RUN/alice.key" || fail "keygen alice"
	ipgate breakglass keygen --id bob 2>/dev/null >"$RUN/bob.key" || fail "keygen bob"
	check "revoke bob" ipgate breakglass revoke bob
	url=$(ipgate breakglass url --id alice)
	check_eq "breakglass url: from http-listen" "$URL/breakglass" "$url"
	check_not "url for a key that does not exist" ipgate breakglass url --id nobody
	check_not "the outsider is locked out" reach "$OUT" "$API4"

	# Alice's id with another key, then bob's revoked key: nothing.
	wrong="ipgate-breakglass-1 alice $(printf '%064d' 7)"
	PAGE_KEY=$wrong browse "$OUT" breakglass refused
	PAGE_KEY=$(cat "$RUN/bob.key") browse "$OUT" breakglass refused
	check_not "after a wrong and a revoked key: still locked out" reach "$OUT" "$API4"
	check_eq "no grant" 0 "$(status_field 'len(s["breakglass"]["grants"])')"
	check_eq "the wrong key counted" 1 "$(status_field 's["breakglass"]["refused"]["bad_mac"]')"
	check_eq "the revoked key counted" 1 "$(status_field 's["breakglass"]["refused"]["unknown_key"]')"

	# The right key, from the browser: the connection's own address in.
	PAGE_KEY=$(cat "$RUN/alice.key") browse "$OUT" breakglass granted "$OUT4"
	check "the outsider now reaches the API" reach "$OUT" "$API4"
	check_not "a bystander is still blocked" reach "$CLIENT" "$API4"
	check_has "audited as a grant by the URL" "$(ipgate log -n 1)" \
		"breakglass:alice +$OUT4 +breakglass-grant .*\"via\":\"url\""
	check_eq "the grant counted" 1 "$(status_field 's["breakglass"]["granted"]')"

	# Failures slow down the address that failed, no other.
	for i in $(seq 12); do
		code=$(ip netns exec "$CLIENT" curl -sk -o /dev/null -w '%{http_code}' \
			-H 'Content-Type: application/json' \
			-d "{\"key\":\"$wrong\"}" "$URL/v1/breakglass")
		[ "$code" = 429 ] && break
		check_eq "wrong key $i refused" 403 "$code"
	done
	check_eq "repeated failures are slowed down" 429 "$code"
	code=$(ip netns exec "$OUT" curl -sk -o /dev/null -w '%{http_code}' \
		-H 'Content-Type: application/json' \
		-d "{\"key\":\"$(cat "$RUN/alice.key")\"}" "$URL/v1/breakglass")
	check_eq "an address that did not fail is not slowed down" 200 "$code"
}

test_pages_break_no_content_security_policy() {
	fresh
	local h
	h=$(ip netns exec "$CLIENT" curl -sk -D - -o /dev/null "$URL/")
	check_has "the page carries the CSP" "$h" "Content-Security-Policy: default-src 'none'; script-src 'self'"
	PAGE_TOKEN=$(token admin ops) browse "$CLIENT" csp
}

run_tests "$@"
