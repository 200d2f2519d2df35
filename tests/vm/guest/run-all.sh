#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Guest driver: runs the guest test scripts one after another (smoke first,
# then integration) and merges their TAP into one stream, renumbered, with
# one plan at the end. A script that exits non-zero without reporting a
# failure (crash, bail out) adds one "not ok" of its own.
# Usage: run-all.sh BUILDDIR [SRCDIR] [SCRIPT...]   (default: smoke.sh,
#   integration.sh, then every other *.sh next to this file but tap.sh in
#   name order, and self.sh last: it locks an engine until reboot)

set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run-all.sh BUILDDIR [SRCDIR] [SCRIPT...]}
src=${2:-$(cd "$here/../../.." && pwd)}
shift $(($# >= 2 ? 2 : 1))
scripts=("$@")
if [ ${#scripts[@]} = 0 ]; then
	# smoke first (is this kernel usable at all?), integration next, then
	# every other guest test script here in name order
	scripts=(smoke.sh integration.sh)
	for f in "$here"/*.sh; do
		case ${f##*/} in smoke.sh|integration.sh|self.sh|run-all.sh|tap.sh) continue ;; esac
		scripts+=("${f##*/}")
	done
	# last: it locks an engine, which nothing can undo before reboot
	scripts+=(self.sh)
fi
export DRYLOCK_BUILD_DIR=$build DRYLOCK_SOURCE_DIR=$src
kernel=$(uname -r)

n=0 failed=0
for s in "${scripts[@]}"; do
	case $s in /*) ;; *) s=$here/$s ;; esac
	name=${s##*/}
	echo "# ---- $name on $kernel"
	out=$(mktemp)
	"$s" "$build" > "$out"
	rc=$?
	own_fail=0
	while IFS= read -r line; do
		if [[ $line =~ ^(not\ )?ok([[:space:]]+[0-9]+)?(.*)$ ]]; then
			n=$((n + 1))
			if [ -n "${BASH_REMATCH[1]}" ]; then
				failed=$((failed + 1)) own_fail=1
			fi
			echo "${BASH_REMATCH[1]}ok $n${BASH_REMATCH[3]}"
		elif [[ $line =~ ^1\.\.[0-9]+ ]]; then
			:
		elif [[ $line =~ ^Bail\ out!(.*) ]]; then
			echo "# bail out in $name:${BASH_REMATCH[1]}"
		else
			echo "$line"
		fi
	done < "$out"
	rm -f "$out"
	if [ $rc != 0 ] && [ $own_fail = 0 ]; then
		n=$((n + 1)) failed=$((failed + 1))
		echo "not ok $n - $name exited with $rc without a failing test [$kernel]"
	fi
done
echo "1..$n"
[ $failed = 0 ]
