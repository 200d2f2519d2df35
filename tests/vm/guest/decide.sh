#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The VM half of the decide-equality test (issue 7 s1): every block of
# tests/decide-cases.txt is loaded as a policy in permissive mode, each of
# its operations is performed for real by a process in the block's cgroup
# (tests/vm/dlconnect for connect and bind, tests/vm/dlnet sendto for
# socket_sendmsg), and the row the kernel's program recorded (hook, verdict,
# rule) must be the table's; "allow -" (no rule) must record nothing.
# tests/unit/test_decide_cases.c checks the same table against the
# user-space decide on the host.
#
# A block ends with one operation of its own, a connect to 127.255.255.254
# port 1 that an extra rule (dc-marker, a /32 no case uses) denies: once its
# row is stored, every earlier decision of the block is too (the ring is
# read in order), so "nothing recorded" is checked after it.
# Usage: decide.sh [BUILDDIR]   (default $DRYLOCK_BUILD_DIR)

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tap.sh
. "$here/tap.sh"

guest_setup decide "${1:-}" DL C N
TABLE=$src/tests/decide-cases.txt
[ -r "$TABLE" ] || { echo "Bail out! $TABLE not readable"; exit 1; }
CGROOT=/sys/fs/cgroup
CGS=()

remove_cgroups() {  # deepest first; a cgroup with a process left is kept
	local i
	for ((i = ${#CGS[@]} - 1; i >= 0; i--)); do
		rmdir "$CGROOT${CGS[i]}" 2>/dev/null
	done
	CGS=()
}
cleanup() {
	collector_stop
	"$DL" unload --discard-pending > /dev/null 2>&1
	remove_cgroups
	[ -n "${DRYLOCK_VM_RESULTS:-}" ] && cp -r "$T" "$DRYLOCK_VM_RESULTS/decide" 2>/dev/null
}
trap cleanup EXIT

make_cgroup() {  # make_cgroup PATH: PATH and its parents, remembered for removal
	local p=$1 acc=
	[ "$p" = / ] && return 0
	IFS=/ read -ra parts <<< "${p#/}"
	for c in "${parts[@]}"; do
		acc=$acc/$c
		[ -d "$CGROOT$acc" ] && continue
		mkdir "$CGROOT$acc" || return 1
		CGS+=("$acc")
	done
}
# perform HOOK ADDR PORT PROTO CGROUP: the operation, from a process in
# CGROUP; sets PID (its tgid) and OUT (its output and exit code)
perform() {
	local hook=$1 addr=$2 port=$3 proto=$4 cg=$5 cmd
	case $hook/$proto in
	socket_connect/tcp) cmd=("$C" "$addr" "$port") ;;
	socket_connect/udp) cmd=("$C" -u "$addr" "$port") ;;
	socket_bind/tcp) cmd=("$C" -b "$addr" "$port") ;;
	socket_bind/udp) cmd=("$C" -b -u "$addr" "$port") ;;
	socket_sendmsg/udp) cmd=("$N" sendto "$addr" "$port") ;;
	*) OUT="no way to perform $hook over $proto"; PID=0; return 1 ;;
	esac
	local procs=$CGROOT${cg%/}/cgroup.procs
	[ "$cg" = / ] && procs=$CGROOT/cgroup.procs
	sh -c 'echo $$ > "$0" && exec "$@"' "$procs" "${cmd[@]}" > "$T/op.out" 2>&1 &
	PID=$!
	wait "$PID"
	OUT="exit $?: $(cat "$T/op.out")"
}

# run_block NAME: load $T/NAME.policy, perform the block's operations
# ($T/NAME.ops), compare each recorded row with the table
run_block() {
	local name=$1 db=$T/$1.db hook addr port proto cg expect rule line pids=() i=0 got want
	"$DL" unload --discard-pending > /dev/null 2>&1
	if ! collector_start "$T/$name.log" -- --permissive --no-audit --policy "$T/$name.policy" --db "$db"; then
		tap_not_ok "case $name: the collector loads its policy" "$(tail -n 20 "$T/$name.log")"
		collector_stop
		return
	fi
	while read -r line; do
		read -r hook addr port proto cg expect rule <<< "$line"
		perform "$hook" "$addr" "$port" "$proto" "$cg"
		pids+=("$PID|$OUT")
	done < "$T/$name.ops"
	perform socket_connect 127.255.255.254 1 tcp /
	local marker=$PID
	if ! poll 30 sh -c "[ \"\$(sqlite3 -batch -noheader -cmd '.timeout 10000' '$db' \
		\"select count(*) from events_v where tgid=$marker and rule='dc-marker'\")\" = 1 ]"; then
		tap_not_ok "case $name: the block's closing marker is recorded" "$(tail -n 20 "$T/$name.log")"
	fi
	while read -r line; do
		read -r hook addr port proto cg expect rule <<< "$line"
		PID=${pids[i]%%|*} OUT=${pids[i]#*|}
		i=$((i + 1))
		got=$(sql "$db" "select hook, verdict, coalesce(rule, '-') from events_v where tgid=$PID")
		case $expect/$rule in
		allow/-) want= ;;
		allow/*) want="$hook|allow|$rule" ;;
		*) want="$hook|would-deny|$rule" ;;
		esac
		if [ "$got" = "$want" ] && [[ $OUT == "exit 0:"* ]]; then
			tap_ok "case $name: $hook $addr port $port $proto in $cg: $expect $rule"
		else
			tap_not_ok "case $name: $hook $addr port $port $proto in $cg: $expect $rule" \
				"want row: ${want:-(none)}
got rows: ${got:-(none)}
the operation: $OUT"
		fi
	done < "$T/$name.ops"
	collector_stop
}

# Split the table into blocks: $T/NAME.policy and $T/NAME.ops.
blocks=()
name=
while IFS= read -r line; do
	case $line in
	'case '*)
		name=${line#case }
		blocks+=("$name")
		printf 'policy dc-%s\n' "$name" > "$T/$name.policy"
		: > "$T/$name.ops" ;;
	'rule '*)
		printf '%s\n' "${line#rule }" >> "$T/$name.policy"
		for w in ${line#rule }; do
			case $w in cgroup=*) make_cgroup "${w#cgroup=}" ;; esac
		done ;;
	'op '*)
		printf '%s\n' "${line#op }" >> "$T/$name.ops"
		read -r _ _ _ _ _ cg _ <<< "$line"
		make_cgroup "$cg" || tap_not_ok "cgroup $cg can be made" ;;
	esac
done < "$TABLE"
for b in "${blocks[@]}"; do
	printf 'net deny dc-marker addr=127.255.255.254/32 port=1 proto=tcp\n' >> "$T/$b.policy"
	run_block "$b"
done
tap_done
