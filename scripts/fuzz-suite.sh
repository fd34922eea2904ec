#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Runs one libFuzzer target for a bounded time on a copy of its seed corpus
# and reports it as a suite: "RESULT fuzz/NAME passed=N failed=N skipped=0".
# Usage: fuzz-suite.sh BINARY SECONDS
set -u
bin=$1 secs=$2 name=$(basename "$1")
seeds=tests/fuzz/corpus/${name#fuzz_}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cp -r "$seeds/." "$work/corpus/"
if "$bin" -max_total_time="$secs" -max_len=4096 -timeout=10 \
	-artifact_prefix="$work/crash-" "$work/corpus" >"$work/log" 2>&1; then
	grep -E '^(#[0-9]+ +DONE|Done)' "$work/log" | tail -n 1
	echo "RESULT fuzz/$name passed=1 failed=0 skipped=0"
else
	tail -n 40 "$work/log"
	for f in "$work"/crash-*; do
		[ -e "$f" ] && { echo "crashing input:"; od -c "$f" | head -20; }
	done
	echo "RESULT fuzz/$name passed=0 failed=1 skipped=0"
	exit 1
fi
