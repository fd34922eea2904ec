#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The manual pages as a suite of `make test`: mandoc finds no fault in them,
# they name every CLI command and option, every ipgated option and every
# config keyword the code has, their cross-references lead to pages that
# exist, and `make uninstall` takes back what `make install` put in place.
# Usage: tests/lint/man.sh [BUILD_DIR]   (the build directory install uses;
# default build). Prints "RESULT man passed= failed= skipped=".
cd "$(dirname "$0")/../.." || exit 1
B=${1:-build}
PAGES=(man/ipgate.8 man/ipgated.8 man/ipgate.conf.5)
passed=0 failed=0 cur_failed=0

fail() {
	echo "FAIL $cur: $*"
	cur_failed=1
}

# Runs test function $1, counting it.
run() {
	cur=$1 cur_failed=0
	"$1"
	if [ "$cur_failed" = 0 ]; then
		echo "ok $cur"
		passed=$((passed + 1))
	else
		echo "not ok $cur"
		failed=$((failed + 1))
	fi
}

# The lines of section $2 (".Sh $2" up to the next .Sh) of page $1.
section() {
	awk -v sh=".Sh $2" '$0 == sh { on = 1; next } /^\.Sh / { on = 0 } on' "$1"
}

# Fails unless page $1 has a line matching the extended regex $2, naming
# $3 as what is missing.
need_line() {
	grep -qE -- "$2" "$1" || fail "$1 does not mention $3"
}

# Quotes $1 for use inside an extended regex.
re_quote() {
	sed 's/[][\.*^$(){}+?|/]/\\&/g' <<<"$1"
}

test_each_page_passes_mandoc_lint_at_warning_level() {
	local p out
	for p in "${PAGES[@]}"; do
		[ -f "$p" ] || { fail "$p is missing"; continue; }
		if ! out=$(mandoc -T lint -W warning "$p" 2>&1) || [ -n "$out" ]; then
			fail "mandoc -T lint -W warning $p:"
			echo "$out" | head -n 20
		fi
	done
}

test_ipgate_8_describes_every_command_in_cmds_c() {
	local names n_rows name cmds
	# One row per command: [CMD_STATUS] = { "status", ...
	names=$(sed -nE 's/^[[:space:]]*\[CMD_[A-Z_]+\] = \{ "([a-z-]+)".*/\1/p' \
		user/ipgate/cmds.c)
	n_rows=$(grep -cE '^[[:space:]]*\[CMD_[A-Z_]+\] = \{' user/ipgate/cmds.c)
	if [ -z "$names" ] || [ "$(wc -l <<<"$names")" -ne "$n_rows" ]; then
		fail "cannot read the command names out of commands[] in" \
			"user/ipgate/cmds.c ($n_rows rows); update this test"
		return
	fi
	cmds=$(section man/ipgate.8 COMMANDS)
	for name in $names; do
		grep -qE "^\.(It +)?Cm +$(re_quote "$name")( |$)" <<<"$cmds" ||
			fail "man/ipgate.8 has no entry for the command" \
				"\"$name\" under COMMANDS (.It Cm $name)"
	done
}

test_ipgate_8_names_every_option_in_main_c() {
	local rows name short
	# One row per option: { VALUE("socket", ...  FLAG(  RUN(
	rows=$(grep -E '^[[:space:]]*\{ (VALUE|FLAG|RUN)\("' user/ipgate/main.c)
	[ -n "$rows" ] || {
		fail "cannot read options[] in user/ipgate/main.c; update this test"
		return
	}
	for name in $(sed -E 's/.*(VALUE|FLAG|RUN)\("([a-z-]+)".*/\2/' <<<"$rows"); do
		need_line man/ipgate.8 "Fl -$(re_quote "$name")( |$)" "--$name"
	done
	for short in $(sed -nE "s/.*short_name = '(.)'.*/\1/p" <<<"$rows"); do
		need_line man/ipgate.8 "Fl $short( |$)" "-$short"
	done
}

test_ipgated_8_describes_every_option_in_parse_opts() {
	local names shorts name s
	# { "config", required_argument, NULL, 'c' },
	names=$(sed -nE 's/^[[:space:]]*\{ "([a-z-]+)", (required|no)_argument,.*/\1/p' \
		user/ipgated/main.c)
	shorts=$(sed -nE 's/.*getopt_long\(argc, argv, "([^"]+)".*/\1/p' \
		user/ipgated/main.c | tr -d ':' | fold -w1)
	if [ -z "$names" ] || [ -z "$shorts" ]; then
		fail "cannot read parse_opts() in user/ipgated/main.c; update" \
			"this test"
		return
	fi
	for name in $names; do
		need_line man/ipgated.8 "^\.It .*Fl -$(re_quote "$name")( |$)" \
			"--$name under Options"
	done
	for s in $shorts; do
		need_line man/ipgated.8 "^\.It Fl $s( |$)" "-$s under Options"
	done
}

test_ipgate_conf_5_describes_every_keyword_in_config_c() {
	local names name
	# { "interface", IPG_LINE_INTERFACE, ...
	names=$(sed -nE 's/^[[:space:]]*\{ "([^"]+)", IPG_LINE_[A-Z_]+,.*/\1/p' \
		user/lib/config.c)
	[ -n "$names" ] || {
		fail "cannot read keywords[] in user/lib/config.c; update this test"
		return
	}
	for name in $names; do
		need_line man/ipgate.conf.5 "^\.It Ic $(re_quote "$name")( |$)" \
			"the keyword \"$name\" (.It Ic $name)"
	done
}

# Where man(1) would look: the pages' own set, or an installed manual.
manual_exists() {
	local name=$1 sec=$2 dir dirs
	case "$name.$sec" in
	ipgate.8 | ipgated.8 | ipgate.conf.5) return 0 ;;
	esac
	IFS=: read -r -a dirs <<<"$(manpath 2>/dev/null ||
		echo /usr/local/share/man:/usr/share/man)"
	for dir in "${dirs[@]}"; do
		compgen -G "$dir/man$sec/$name.$sec*" >/dev/null && return 0
	done
	return 1
}

test_every_cross_reference_names_an_existing_manual() {
	local p name sec
	for p in "${PAGES[@]}"; do
		while read -r name sec; do
			manual_exists "$name" "$sec" ||
				fail "$p refers to $name($sec), which is not" \
					"installed here; refer to installed pages only"
		done < <(grep -hoE '^\.Xr [^ ]+ [0-9]' "$p" | cut -d' ' -f2-)
	done
}

test_uninstall_removes_what_install_added_except_the_config() {
	local dest left out p sec
	dest=$(mktemp -d /tmp/ipgate-man-inst.XXXXXX)
	# A make of our own, not a job of the caller's.
	if ! out=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MANDIR make \
		--no-print-directory B="$B" PREFIX=/usr/local DESTDIR="$dest" \
		install 2>&1); then
		fail "make install DESTDIR=$dest failed:"
		echo "$out" | tail -n 20
	else
		for p in "${PAGES[@]}"; do
			sec=${p##*.}
			[ -f "$dest/usr/local/share/man/man$sec/${p#man/}" ] ||
				fail "make install did not put $p in" \
					"/usr/local/share/man/man$sec"
		done
		env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MANDIR make \
			--no-print-directory PREFIX=/usr/local DESTDIR="$dest" \
			uninstall >/dev/null 2>&1 ||
			fail "make uninstall DESTDIR=$dest failed"
		left=$(cd "$dest" && find . ! -type d | sort)
		[ "$left" = "./etc/ipgate/ipgate.conf" ] ||
			fail "after make uninstall, expected only" \
				"./etc/ipgate/ipgate.conf to be left, found:" \
				"$(tr '\n' ' ' <<<"$left")"
	fi
	rm -rf "$dest"
}

if ! command -v mandoc >/dev/null; then
	echo "FAIL man: mandoc is not installed; run scripts/deps.sh --test" \
		"as root (or apt-get install mandoc)"
	echo "RESULT man passed=0 failed=1 skipped=0"
	exit 1
fi

run test_each_page_passes_mandoc_lint_at_warning_level
run test_ipgate_8_describes_every_command_in_cmds_c
run test_ipgate_8_names_every_option_in_main_c
run test_ipgated_8_describes_every_option_in_parse_opts
run test_ipgate_conf_5_describes_every_keyword_in_config_c
run test_every_cross_reference_names_an_existing_manual
run test_uninstall_removes_what_install_added_except_the_config

echo "RESULT man passed=$passed failed=$failed skipped=0"
[ "$failed" = 0 ]
