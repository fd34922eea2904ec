#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# GET /metrics on real traffic: an API host with the default list and two
# customers' lists (acme, beta), the HTTP listener on its loopback. Who may
# read it; that promtool finds nothing to lint; that packets, entry hits,
# the lists' state, break-glass, changes and HTTP requests are counted as
# they happen; that a real Prometheus server scrapes it and answers a query
# with the value ipgated reports.
SUITE=net/metrics NS_PREFIX=mt
. "$(dirname "$0")/lib.sh"
require_root

ACME4=198.18.0.10 BETA4=198.18.0.20
HTTP=127.0.0.1:8480
KNOCK=$ROOT/tests/net/knock.py
PROM_PORT=9095 PROM=$RUN/prom

# config [EXTRA-LINE...]: the test config; EXTRA lines go at the top.
config() {
	local l
	write_config <<CFG
# metrics test config
interface eth0
enabled yes
protect tcp/443
mode drop
http-listen $HTTP
$(for l in "$@"; do echo "$l"; done)
allow $CLIENT4 "default client"
list acme {
  address $ACME4
  enabled yes
  allow $CLIENT4 "acme office"
}
list beta {
  address $BETA4
  enabled yes
  allow 203.0.113.0/24 "beta \"main\" office \\\\ 2"
}
CFG
}

# fresh: the hosts, the customers' addresses, an "ok"
# service on tcp/443 and a running daemon; TOKEN is a viewer token of
# every list.
fresh() {
	net_setup
	local a
	for a in $ACME4 $BETA4; do ip -n "$API" addr add "$a/24" dev eth0; done
	config
	listen 443
	daemon_start || fail "ipgated did not start: $(tail -n 3 "$DLOG")"
	TOKEN=$(ipgate token create --role viewer --id prom | tail -n 1)
}

# scrape [TOKEN]: /metrics as the API host's loopback serves it.
scrape() {
	ip netns exec "$API" curl -sS --max-time 5 \
		${1:+-H "Authorization: Bearer $1"} "http://$HTTP/metrics"
}
# code [TOKEN]: the HTTP status /metrics answers.
code() {
	ip netns exec "$API" curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
		${1:+-H "Authorization: Bearer $1"} "http://$HTTP/metrics"
}
# value SERIES: the value of SERIES (name{labels} exactly as printed),
# empty when it is not there.
value() {
	scrape "$TOKEN" | awk -v s="$1" 'index($0, s " ") == 1 { print $NF }'
}
# at_least N CMD...: CMD prints a number, N or more.
at_least() { local v; v=$("${@:2}"); [ -n "$v" ] && [ "$v" -ge "$1" ]; }

# refusals: break-glass refusals of every reason.
refusals() {
	scrape "$TOKEN" | awk '/^ipgate_breakglass_refusals_total\{/ { n += $NF } END { print n + 0 }'
}
open_to_all() { [ "$(code)" = 200 ]; }

# knock_junk N: N malformed datagrams from the outsider to the break-glass
# port.
knock_junk() { ip netns exec "$OUT" $PY "$KNOCK" --to "$API4" --garbage "$1"; }

test_metrics_need_a_viewer_token_of_every_list() {
	fresh
	local scoped
	scoped=$(ipgate token create --role viewer --list acme --id acmeview | tail -n 1)
	check_eq "no token: 401" 401 "$(code)"
	check_eq "a wrong token: 401" 401 "$(code not-a-token)"
	check_eq "a token scoped to one list: 403" 403 "$(code "$scoped")"
	check_eq "a viewer token of every list: 200" 200 "$(code "$TOKEN")"
	check_has "served in the text format" \
		"$(ip netns exec "$API" curl -sS -D - -o /dev/null -H "Authorization: Bearer $TOKEN" "http://$HTTP/metrics")" \
		"Content-Type: text/plain; version=0.0.4"
	check_has "the body is metrics" "$(scrape "$TOKEN")" '^ipgate_build_info\{'
	# A hand edit of the file, read back by the running daemon.
	config "metrics-public yes"
	check "metrics-public yes: no token needed" wait_until 10 open_to_all
	check_has "metrics-public yes: the body is metrics" "$(scrape)" \
		'^ipgate_packets_total\{list="acme",outcome="dropped"\} '
	check_eq "metrics-public yes: the API still needs one" 401 \
		"$(ip netns exec "$API" curl -s -o /dev/null -w '%{http_code}' "http://$HTTP/v1/lists")"
}

test_metrics_pass_promtool_with_escaped_labels() {
	fresh
	ipgate add 192.0.2.9 --list acme --label 'say "hi" \ bye' >/dev/null ||
		fail "cannot add an entry with quotes and a backslash in its label"
	reach "$OUT" "$ACME4"
	reach "$CLIENT" "$ACME4"
	local m lint rc
	m=$(scrape "$TOKEN")
	lint=$(promtool check metrics <<<"$m" 2>&1)
	rc=$?
	check_eq "promtool check metrics exits 0 (output: $lint)" 0 "$rc"
	check_eq "promtool finds nothing to say" "" "$lint"
	check_has "label value escaped" "$m" \
		'^ipgate_entry_hits_total\{list="acme",cidr="192\.0\.2\.9",label="say \\"hi\\" \\\\ bye"\} 0$'
	check_eq "each family's TYPE once" "" \
		"$(grep '^# TYPE' <<<"$m" | awk '{print $3}' | sort | uniq -d)"
	check_eq "each family's HELP once" "" \
		"$(grep '^# HELP' <<<"$m" | awk '{print $3}' | sort | uniq -d)"
	# Every sample belongs to the family whose TYPE line precedes it.
	check_eq "samples grouped under their family" "" "$(awk '
		/^# TYPE / { fam = $3; next }
		/^#/ { next }
		{ n = $1; sub(/\{.*/, "", n); if (n != fam) print n " after " fam }' <<<"$m")"
	check_has "build info" "$m" '^ipgate_build_info\{version="[^"]+",abi="[0-9]+"\} 1$'
}

test_metrics_count_real_packets_by_list_and_entry() {
	fresh
	local d0 b0
	d0=$(value 'ipgate_packets_total{list="acme",outcome="dropped"}')
	b0=$(value 'ipgate_packets_total{list="beta",outcome="dropped"}')
	check_eq "acme: nothing dropped yet" 0 "$d0"
	check_not "outsider blocked at acme" reach "$OUT" "$ACME4"
	check_not "outsider blocked at acme again" reach "$OUT" "$ACME4"
	check "acme's client passes" reach "$CLIENT" "$ACME4"
	check "acme dropped counted" at_least 2 \
		value 'ipgate_packets_total{list="acme",outcome="dropped"}'
	check_eq "beta's drops untouched" "$b0" \
		"$(value 'ipgate_packets_total{list="beta",outcome="dropped"}')"
	check "acme passed_allowed counted" at_least 1 \
		value 'ipgate_packets_total{list="acme",outcome="passed_allowed"}'
	check "acme's entry hits counted" at_least 1 \
		value 'ipgate_entry_hits_total{list="acme",cidr="198.18.0.2",label="acme office"}'
	check_eq "the default list's entry did not see acme's traffic" 0 \
		"$(value 'ipgate_entry_hits_total{list="default",cidr="198.18.0.2",label="default client"}')"
	# The same figures as `ipgate lists` (the connections' last packets may
	# still be on their way: agree once both settle).
	same_as_lists() {
		local want got
		want=$(ipgate --json lists | $PY -c '
import json, sys
l = [l for l in json.load(sys.stdin)["lists"] if l["name"] == "acme"][0]
print(l["passed_allowed"], l["blocked"])')
		got="$(value 'ipgate_packets_total{list="acme",outcome="passed_allowed"}') $(value 'ipgate_packets_total{list="acme",outcome="dropped"}')"
		[ "$want" = "$got" ]
	}
	check "agrees with ipgate lists" wait_until 20 same_as_lists
	check_lacks "no source address as a label" "$(scrape "$TOKEN")" "$OUT4"
}

test_metrics_follow_lists_overrides_breakglass_and_changes() {
	fresh
	local g made refused
	check_eq "acme entries" 1 "$(value 'ipgate_list_entries{list="acme"}')"
	check_eq "acme limit as lists says" \
		"$(ipgate --json lists | $PY -c 'import json,sys; print([l for l in json.load(sys.stdin)["lists"] if l["name"]=="acme"][0]["max_entries"])')" \
		"$(value 'ipgate_list_entries_limit{list="acme"}')"
	check_eq "acme enabled" 1 "$(value 'ipgate_list_enabled{list="acme"}')"
	g=$(value 'ipgate_list_policy_generation{list="acme"}')
	made=$(value 'ipgate_changes_total{result="made"}')
	refused=$(value 'ipgate_changes_total{result="refused"}')
	check "add to acme" ipgate add 192.0.2.0/24 --list acme --label lab
	check_eq "acme entries after add" 2 "$(value 'ipgate_list_entries{list="acme"}')"
	check_eq "a change made" $((made + 1)) "$(value 'ipgate_changes_total{result="made"}')"
	check_has "acme's generation moved" \
		"$(value 'ipgate_list_policy_generation{list="acme"}')" '^[0-9]+$'
	check_not "generation changed" test "$g" = \
		"$(value 'ipgate_list_policy_generation{list="acme"}')"
	check_not "host bits refused" ipgate add 203.0.113.7/24 --list acme
	check_eq "a change refused" $((refused + 1)) "$(value 'ipgate_changes_total{result="refused"}')"
	check "disable beta" ipgate disable --list beta
	check_eq "beta disabled" 0 "$(value 'ipgate_list_enabled{list="beta"}')"
	check_eq "no override yet" 0 "$(value 'ipgate_list_override_active{list="acme"}')"
	check "override acme" ipgate override --list acme --for 10m --reason metrics
	check_eq "acme's override active" 1 "$(value 'ipgate_list_override_active{list="acme"}')"
	check "acme's override time left" at_least 500 \
		value 'ipgate_list_override_remaining_seconds{list="acme"}'
	check_eq "beta not overridden" 0 "$(value 'ipgate_list_override_active{list="beta"}')"
	check_eq "no host-wide override" 0 "$(value 'ipgate_override_active')"
	check "override every list" ipgate override --for 10m --reason metrics
	check_eq "host-wide override active" 1 "$(value 'ipgate_override_active')"
	# Break-glass: junk refused by reason, a real knock granted.
	ipgate breakglass keygen --id alice >"$RUN/alice.key" 2>/dev/null || fail "keygen"
	chmod 0600 "$RUN/alice.key"
	knock_junk 3 || fail "cannot send junk knocks"
	check "junk refused" wait_until 20 at_least 3 refusals
	check_eq "junk refused: exactly 3" 3 "$(refusals)"
	check_eq "junk refused: as status says" \
		"$(ipgate --json status | $PY -c 'import json,sys; print(sum(json.load(sys.stdin)["breakglass"]["refused"].values()))')" \
		"$(refusals)"
	check "junk refused as malformed" at_least 1 \
		value 'ipgate_breakglass_refusals_total{reason="malformed"}'
	check_eq "no grant yet" 0 "$(value 'ipgate_breakglass_active_grants')"
	ip netns exec "$OUT" "$B/ipgate" knock "$API4" --key "$RUN/alice.key" --for 5m \
		>/dev/null || fail "knock"
	check "a grant made" wait_until 20 at_least 1 value 'ipgate_breakglass_grants_total'
	check_eq "one live grant" 1 "$(value 'ipgate_breakglass_active_grants')"
	# HTTP requests by code: a 401 shows.
	code >/dev/null
	check "401s counted" at_least 1 value 'ipgate_http_requests_total{code="401"}'
	check "200s counted" at_least 1 value 'ipgate_http_requests_total{code="200"}'
}

# prom_query EXPR [LABEL]: the first result's value of an instant query
# (or its LABEL), empty when there is none.
prom_query() {
	ip netns exec "$API" curl -sS --max-time 5 -G \
		--data-urlencode "query=$1" "http://127.0.0.1:$PROM_PORT/api/v1/query" |
		$PY -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print("" if not r else r[0]["metric"][sys.argv[1]] if sys.argv[1] else r[0]["value"][1])' "${2:-}"
}
has_result() { [ -n "$(prom_query "$1")" ]; }
scraped_up() { [ "$(prom_query 'up{job="ipgate"}')" = 1 ]; }

test_prometheus_scrapes_metrics_and_queries_a_counter() {
	fresh
	command -v prometheus >/dev/null || { fail "prometheus is not installed (make deps)"; return; }
	check_not "outsider blocked at acme" reach "$OUT" "$ACME4"
	check_not "outsider blocked at acme again" reach "$OUT" "$ACME4"
	local want got series='ipgate_packets_total{list="acme",outcome="dropped"}'
	want=$(value "$series")
	check "drops to scrape" test "${want:-0}" -gt 0
	mkdir -p "$PROM/data"
	printf '%s' "$TOKEN" >"$PROM/token"
	chmod 0600 "$PROM/token"
	cat >"$PROM/prometheus.yml" <<YML
global:
  scrape_interval: 2s
  scrape_timeout: 2s
scrape_configs:
  - job_name: ipgate
    authorization:
      credentials_file: $PROM/token
    static_configs:
      - targets: ['$HTTP']
YML
	ip netns exec "$API" prometheus --config.file="$PROM/prometheus.yml" \
		--storage.tsdb.path="$PROM/data" \
		--web.listen-address="127.0.0.1:$PROM_PORT" >"$PROM/log" 2>&1 &
	local pid=$!
	check "Prometheus scraped ipgated (up == 1)" wait_until 60 scraped_up
	check "Prometheus has the counter" wait_until 60 has_result "$series"
	got=$(prom_query "$series")
	check_eq "Prometheus' value is ipgated's" "$want" "$got"
	check_eq "and ipgated still says so" "$want" "$(value "$series")"
	# A label value with quotes and a backslash arrives whole.
	check_eq "an escaped label read back" 'beta "main" office \ 2' \
		"$(prom_query 'ipgate_entry_hits_total{list="beta"}' label)"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ "$CUR_FAILED" = 1 ] && tail -n 5 "$PROM/log"
	return 0
}

run_tests "$@"
