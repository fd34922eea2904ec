#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install what building and testing ipgate needs; do nothing when all is there.
# --test adds what only the test suites need.
set -euo pipefail

pkgs=(
	make gcc clang llvm libbpf-dev libelf-dev zlib1g-dev pkg-config
	bpftool iproute2 libssl-dev libmicrohttpd-dev libjansson-dev
	xdp-tools nftables tcpdump nginx-light socat curl python3-scapy
	gnuplot-nox libclang-rt-14-dev clang-format libcurl4-openssl-dev
)
# Only `make test` needs these (--test): the manual pages' lint, the
# settings page's browser, the metrics' Prometheus, the store's etcd.
test_pkgs=(mandoc chromium chromium-driver python3-selenium prometheus
	etcd-server etcd-client)
[ "${1:-}" = --test ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages: ${missing[*]}; run as root to install them" >&2
	exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
