#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The formatting check of `make lint` as a suite of `make test`: every C
# file and header must be as clang-format (.clang-format, the kernel's
# style) leaves it. `make format` fixes them.
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build/*')
if out=$(clang-format --dry-run --Werror $files 2>&1); then
	echo "ok clang-format ($(wc -w <<<"$files") files)"
	echo "RESULT lint passed=1 failed=0 skipped=0"
else
	echo "$out" | grep -E '^[^ ].*(warning|error):' | head -n 20
	echo "FAIL lint: files differ from clang-format's output; run 'make format'"
	echo "RESULT lint passed=0 failed=1 skipped=0"
	exit 1
fi
