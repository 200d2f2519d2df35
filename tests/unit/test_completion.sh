#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The bash completions: source each file, complete a few command lines through
# COMP_WORDS/COMP_CWORD and the completion function, check COMPREPLY; and the
# commands and long options offered are exactly those the binaries' --help
# prints, so completion and help cannot drift apart. TAP output.
#   test_completion.sh COMPLETIONDIR DRYLOCK DRYLOCK_QUERY
set -u
dir=$1 drylock=$2 query=$3
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
# is NAME GOT WANT: compare two space-separated word sets.
is() {
	local got want
	got=$(tr ' ' '\n' <<<"$2" | sed '/^$/d' | sort -u | tr '\n' ' ')
	want=$(tr ' ' '\n' <<<"$3" | sed '/^$/d' | sort -u | tr '\n' ' ')
	if [[ $got == "$want" ]]; then ok "$1"; else not_ok "$1"; echo "#   got:  $got"; echo "#   want: $want"; fi
}

source "$dir/drylock" || { echo "Bail out! cannot source $dir/drylock"; exit 1; }
source "$dir/drylock-query" || { echo "Bail out! cannot source $dir/drylock-query"; exit 1; }

# comp FUNC WORD...: complete the last word of the command line.
comp() {
	local fn=$1; shift
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	"$fn"
	echo "${COMPREPLY[*]}"
}
commands() { sed -n '/^Commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z-]*\).*/\1/p' | tr '\n' ' '; }
# The long options a --help offers: those in the first column of its indented
# option, command and example lines (not ones mentioned in prose).
longopts() {
	sed -n 's/^ \{1,8\}\([^ ].*\)/\1/p' | sed 's/   *.*//' |
		grep -o -- '--[a-z][a-z0-9-]*' | sort -u | tr '\n' ' '
}

is "drylock <TAB>: the commands of drylock --help" \
	"$(comp _drylock drylock '')" "$("$drylock" --help | commands)"
for c in $("$drylock" --help | commands); do
	[[ $c == help ]] && continue
	is "drylock $c --<TAB>: the options of drylock $c --help" \
		"$(comp _drylock drylock "$c" --)" "$("$drylock" "$c" --help | longopts)"
done
is "drylock mode e<TAB>" "$(comp _drylock drylock mode e)" "enforce"
is "drylock --pin-dir /x mo<TAB>" "$(comp _drylock drylock --pin-dir /x mo)" "mode"
is "drylock help u<TAB>" "$(comp _drylock drylock help u)" "unload"
is "drylock run --max-<TAB>" "$(comp _drylock drylock run --max-)" "--max-age --max-db-size"
is "drylock mode --family <TAB>" "$(comp _drylock drylock mode --family '')" "net kvm self"
tmp=$(mktemp -d) && touch "$tmp/a.policy" "$tmp/b.policy"
is "drylock validate DIR/a<TAB>: files" "$(comp _drylock drylock validate "$tmp/a")" "$tmp/a.policy"
rm -rf "$tmp"

is "drylock-query <TAB>: the commands of drylock-query --help" \
	"$(comp _drylock_query drylock-query '')" "$("$query" --help | commands)"
all=
for c in $("$query" --help | commands); do
	all+=" $(comp _drylock_query drylock-query "$c" --)"
done
is "drylock-query: every command's --<TAB> together are the options of --help" \
	"$all" "$("$query" --help | longopts)"
is "drylock-query -o j<TAB>" "$(comp _drylock_query drylock-query -o j)" "json"
is "drylock-query --db x top --by <TAB>" "$(comp _drylock_query drylock-query --db x top --by '')" \
	"subjects objects rules"
is "drylock-query timeline --by <TAB>" "$(comp _drylock_query drylock-query timeline --by '')" "rule"
is "drylock-query --since 1h events --verdict w<TAB>" \
	"$(comp _drylock_query drylock-query --since 1h events --verdict w)" "would-deny"
is "drylock-query --db x <TAB> (after an option's value): the commands" \
	"$(comp _drylock_query drylock-query --db x '')" "$("$query" --help | commands)"
is "drylock-query events --b<TAB>: --by is for top and timeline" \
	"$(comp _drylock_query drylock-query events --b)" ""

echo "1..$n"
[[ $failed -eq 0 ]]
