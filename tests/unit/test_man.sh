#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The man pages render without a groff warning, and every command and every
# long option that the binaries' --help prints appears in its man page, so
# help and man cannot drift apart. TAP output.
#   test_man.sh MANDIR DRYLOCK DRYLOCK_QUERY
set -u
mandir=$1 drylock=$2 query=$3
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
command -v groff >/dev/null || { echo "Bail out! groff not found: install the Debian package groff-base"; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# Render wide (no line breaks, so no hyphenation inside an option name) and
# without overstriking, for the text checks.
render() { groff -man -Tascii -P-cbou -rLL=2000n "$1" 2>/dev/null; }

for page in drylock.8 drylock-query.1 drylock.policy.5; do
	f=$mandir/$page
	if [ ! -s "$f" ]; then not_ok "$page exists"; continue; fi
	groff -man -Tutf8 -ww -z "$f" 2>"$tmp/warn"
	if [ $? -eq 0 ] && [ ! -s "$tmp/warn" ]; then
		ok "$page renders without warnings"
	else
		not_ok "$page renders without warnings"; sed 's/^/# /' "$tmp/warn"
	fi
	if grep -q "@[A-Z]*@" "$f"; then not_ok "$page: @VAR@ left unsubstituted"; else ok "$page: version filled in"; fi
done

# The commands a --help lists: the lines of its "Commands:" section that
# start with two spaces and a word.
commands() { sed -n '/^Commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p'; }
longopts() { grep -o -- '--[a-z][a-z0-9-]*' | sort -u; }

# check PAGE BINARY: every command has an entry in COMMANDS, every long
# option of the top-level and per-command help appears in the page.
check() {
	page=$1 bin=$2 name=$(basename "$2")
	render "$mandir/$page" >"$tmp/page.txt"
	sed -n '/^COMMANDS/,/^[A-Z]/p' "$tmp/page.txt" >"$tmp/cmds.txt"
	"$bin" --help >"$tmp/help.txt" 2>&1 || { not_ok "$name --help exits 0"; return; }
	commands <"$tmp/help.txt" >"$tmp/commands"
	[ -s "$tmp/commands" ] || not_ok "$name --help lists commands"
	cp "$tmp/help.txt" "$tmp/allhelp.txt"
	while read -r c; do
		if grep -Eq "^ {7}$c( |$)" "$tmp/cmds.txt"; then
			ok "$page: command $c"
		else
			not_ok "$page: command $c (printed by $name --help) has no entry under COMMANDS"
		fi
		# `help` is a command about commands: its options are the top level's.
		[ "$c" = help ] && continue
		"$bin" "$c" --help >>"$tmp/allhelp.txt" 2>&1 ||
			not_ok "$name $c --help exits 0"
	done <"$tmp/commands"
	longopts <"$tmp/allhelp.txt" >"$tmp/opts"
	while read -r o; do
		if grep -Eq -- "$o([^a-z0-9-]|\$)" "$tmp/page.txt"; then
			ok "$page: option $o"
		else
			not_ok "$page: option $o (printed by $name --help) is not in the page"
		fi
	done <"$tmp/opts"
}
check drylock.8 "$drylock"
check drylock-query.1 "$query"

# drylock.policy(5) names every key and directive of the format.
render "$mandir/drylock.policy.5" >"$tmp/page.txt"
for w in policy include addr= port= proto= op= cgroup= allow deny any4 any6; do
	if grep -q -- "$w" "$tmp/page.txt"; then ok "drylock.policy.5: $w"; else not_ok "drylock.policy.5: $w"; fi
done

echo "1..$n"
[ "$failed" -eq 0 ]
