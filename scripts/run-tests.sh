#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Runs every suite given, then prints one closing line over all of them:
# "N passed, N failed, N skipped". Exits non-zero on any failure, including
# a suite that crashed or printed no RESULT line.
set -u
passed=0 failed=0 skipped=0 bad_suites=()

for suite in "$@"; do
	# A suite is a command line: a test binary, or a runner and its args.
	read -r -a cmd <<<"$suite"
	name=${suite#build/}
	echo "== $name"
	out=$(mktemp)
	"${cmd[@]}" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^RESULT ' "$out" | tail -n 1)
	rm -f "$out"
	if [ -z "$line" ]; then
		echo "FAIL $name: exited $rc without a RESULT line"
		failed=$((failed + 1))
		bad_suites+=("$name")
		continue
	fi
	p=$(sed -E 's/.*passed=([0-9]+).*/\1/' <<<"$line")
	f=$(sed -E 's/.*failed=([0-9]+).*/\1/' <<<"$line")
	s=$(sed -E 's/.*skipped=([0-9]+).*/\1/' <<<"$line")
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $name: exited $rc"
		failed=$((failed + 1))
	fi
	[ "$rc" -ne 0 ] && bad_suites+=("$name")
done

[ ${#bad_suites[@]} -gt 0 ] && echo "failing suites: ${bad_suites[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
