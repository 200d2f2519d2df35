#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Every way to a destination is decided (issue: net bypasses), and nothing
# is lost across `drylock unload`. Run by vm.sh as root inside the VM.
#   a  each path of tests/vm/dlnet.c (24-byte sockaddr_in6, AF_UNSPEC bind
#      and send, 0.0.0.0 and ::, unconnected and connected-UDP sendto,
#      sendmsg, sendmmsg, TCP Fast Open, io_uring connect and sendmsg, SCTP
#      connectx/bindx where the kernel has SCTP) in permissive (the call
#      passes, the would-deny row names hook, address, port and rule) and in
#      enforce (EPERM, deny row); an allowed destination still passes
#   b  decisions made while no collector runs are stored by `unload`, a new
#      `run` on the same boot continues the sequence (every decision stored
#      exactly once), op=unload is audited with stored=
#   c  `unload` with a collector running stops it first and detaches; the
#      kernel's link list has no drylock program afterwards
#   d  `unload` refuses (and changes nothing) when pending decisions cannot
#      be stored; --discard-pending unloads and audits lost=; nothing loaded
#      is exit 1; `unload --help` changes nothing
# Usage: netpaths.sh [BUILDDIR]   (default $DRYLOCK_BUILD_DIR)

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tap.sh
. "$here/tap.sh"

build=${1:-${DRYLOCK_BUILD_DIR:-}}
[ -n "$build" ] || { echo "Bail out! no build dir (argument or DRYLOCK_BUILD_DIR)"; exit 1; }
DL=$build/collector/drylock
N=$build/tests/vm/dlnet
for f in "$DL" "$N"; do
	[ -x "$f" ] || { echo "Bail out! $f not built"; exit 1; }
done

T=$(mktemp -d /tmp/netpaths.XXXXXX)
PIN=/sys/fs/bpf/drylock
COLLECTOR_PID=

cleanup() {
	stop_collector
	audit_stop
	"$DL" unload --discard-pending > /dev/null 2>&1
	[ -n "${DRYLOCK_VM_RESULTS:-}" ] && cp -r "$T" "$DRYLOCK_VM_RESULTS/netpaths" 2>/dev/null
}
trap cleanup EXIT

start_collector() {  # start_collector DB LOG [ENV=VAL...]
	local db=$1 log=$2
	shift 2
	run_collector "$log" "$@" -- --policy "$T/policy" --db "$db"
}
sql() { sqlite3 -batch -noheader -cmd '.timeout 10000' "$1" "$2" 2>&1; }
run_net() {  # run_net MODE ADDR PORT: sets OUT, RC, PID
	"$N" "$@" > "$T/net.out" 2>&1 &
	PID=$!
	wait "$PID"
	RC=$?
	OUT=$(cat "$T/net.out")
}
rows_of() {  # rows_of DB TGID: waits until a decision of TGID is stored
	poll 30 sh -c "[ \"\$(sqlite3 -batch -noheader -cmd '.timeout 10000' '$1' \
		'select count(*) from events where tgid=$2')\" -gt 0 ]"
}
audit_has() {  # audit_has TOKEN: waits up to 30 s for TOKEN in the audit log
	poll 30 sh -c 'ausearch --input "$0" -m USER_MAC_STATUS --raw 2>/dev/null | grep -qF -- "$1"' \
		"$T/audit/audit.log" "$1"
}

cat > "$T/policy" <<'P'
policy netpaths
net deny v4-9 addr=127.0.0.2/32 port=9 op=connect
net deny lo-7 addr=127.0.0.1/32 port=7 op=connect
net deny v6-9 addr=::1/128 port=9 op=connect
net deny bind-any addr=0.0.0.0/32 port=4444 op=bind
net deny v6-bind addr=::1/128 port=4445 op=bind
net allow ok-3 addr=127.0.0.3/32 op=connect
P

# mode addr port | hook addr port proto rule (of the row)
CASES=(
	"connect 127.0.0.2 9|socket_connect 127.0.0.2 9 tcp v4-9"
	"connect6-24 ::1 9|socket_connect ::1 9 tcp v6-9"
	"connect 0.0.0.0 7|socket_connect 127.0.0.1 7 tcp lo-7"
	"bind6-24 ::1 4445|socket_bind ::1 4445 tcp v6-bind"
	"bind-unspec 0.0.0.0 4444|socket_bind 0.0.0.0 4444 tcp bind-any"
	"sendto 127.0.0.2 9|socket_sendmsg 127.0.0.2 9 udp v4-9"
	"sendto-unspec 127.0.0.2 9|socket_sendmsg 127.0.0.2 9 udp v4-9"
	"sendto-conn 127.0.0.2 9|socket_sendmsg 127.0.0.2 9 udp v4-9"
	"sendto 0.0.0.0 7|socket_sendmsg 127.0.0.1 7 udp lo-7"
	"sendto :: 9|socket_sendmsg ::1 9 udp v6-9"
	"sendmsg 127.0.0.2 9|socket_sendmsg 127.0.0.2 9 udp v4-9"
	"sendmmsg 127.0.0.2 9|socket_sendmsg 127.0.0.2 9 udp v4-9"
	"tfo 127.0.0.2 9|socket_sendmsg 127.0.0.2 9 tcp v4-9"
	"uring-connect 127.0.0.2 9|socket_connect 127.0.0.2 9 tcp v4-9"
	"uring-sendmsg 127.0.0.2 9|socket_sendmsg 127.0.0.2 9 udp v4-9"
	"sctp-connectx 127.0.0.2 9|sctp_connectx 127.0.0.2 9 sctp v4-9"
	"sctp-bindx 0.0.0.0 4444|sctp_bindx 0.0.0.0 4444 sctp bind-any"
)

have_sctp=0
if load_module sctp; then
	have_sctp=1
	tap_diag "sctp module loaded"
fi

if ! audit_start "$T/audit"; then
	tap_not_ok "private auditd starts" "$(cat "$T/audit/auditd.out" 2>&1)"
fi

# ---- a: every path, permissive then enforce ---------------------------------
for mode in permissive enforce; do
	DB=$T/$mode.db
	envs=()
	[ $mode = enforce ] && envs=(BPF_LSM_POLICY_ENFORCE=1)
	"$DL" unload --discard-pending > /dev/null 2>&1
	if ! start_collector "$DB" "$T/$mode.log" ${envs[@]+"${envs[@]}"}; then
		tap_not_ok "$mode: collector starts" "$(tail -n 30 "$T/$mode.log")"
		continue
	fi
	for c in "${CASES[@]}"; do
		call=${c%%|*}
		read -r hook addr port proto rule <<< "${c#*|}"
		name="$mode: ${call% * *} to ${call#* } is decided ($hook, rule $rule)"
		case $call in sctp-*)
			if [ $have_sctp = 0 ]; then
				tap_skip "$name" "this kernel has no loadable sctp module"
				continue
			fi ;;
		esac
		run_net $call
		if [ $mode = permissive ]; then want_rc=0 verdict=would-deny; else want_rc=1 verdict=deny; fi
		if [ "$RC" != "$want_rc" ]; then
			tap_not_ok "$name" "dlnet $call: exit $RC (want $want_rc), output: $OUT"
			continue
		fi
		rows_of "$DB" "$PID"
		got=$(sql "$DB" "select hook, addr, port, proto, rule, verdict from events_v where tgid=$PID limit 1")
		want="$hook|$addr|$port|$proto|$rule|$verdict"
		if [ "$got" = "$want" ]; then
			tap_ok "$name"
		else
			tap_not_ok "$name" "dlnet $call: $OUT
want row: $want
got:      $got"
		fi
	done
	run_net sendto 127.0.0.3 9
	if [ "$RC" = 0 ] && [ "$OUT" = ok ]; then
		tap_ok "$mode: an allowed destination passes (sendto 127.0.0.3)"
	else
		tap_not_ok "$mode: an allowed destination passes (sendto 127.0.0.3)" "exit $RC: $OUT"
	fi
	run_net send-conn 127.0.0.3 9
	n=$(sql "$DB" "select count(*) from events_v where tgid=$PID and hook='socket_sendmsg'")
	if [ "$RC" = 0 ] && [ "$n" = 0 ]; then
		tap_ok "$mode: a send on a connected socket is not decided again"
	else
		tap_not_ok "$mode: a send on a connected socket is not decided again" "exit $RC: $OUT; sendmsg rows: $n"
	fi
	stop_collector
done

# ---- b: pending decisions survive unload; the sequence continues -----------
DB=$T/seq.db
"$DL" unload --discard-pending > /dev/null 2>&1
start_collector "$DB" "$T/seq1.log" || tap_not_ok "seq: collector starts" "$(tail "$T/seq1.log")"
run_net connect 127.0.0.2 9
rows_of "$DB" "$PID"
stop_collector
pending=()
for i in 1 2 3 4 5; do
	run_net connect 127.0.0.2 9
	pending+=("$PID")
done
out=$("$DL" unload --db "$DB" 2>&1); urc=$?
stored=$(sql "$DB" "select count(*) from events where tgid in ($(IFS=,; echo "${pending[*]}"))")
if [ $urc = 0 ] && [ "$stored" = 5 ] && [ ! -e "$PIN" ]; then
	tap_ok "unload stores the 5 decisions made while no collector ran"
else
	tap_not_ok "unload stores the 5 decisions made while no collector ran" "exit $urc, stored $stored: $out"
fi
if audit_has "op=unload" && ausearch --input "$T/audit/audit.log" -m USER_MAC_STATUS --raw 2>/dev/null |
	grep "op=unload" | grep -q "stored=5 lost=0"; then
	tap_ok "unload is audited: op=unload stored=5 lost=0"
else
	tap_not_ok "unload is audited: op=unload stored=5 lost=0" \
		"$(ausearch --input "$T/audit/audit.log" -m USER_MAC_STATUS --raw 2>&1 | tail -n 3)"
fi
before=$(sql "$DB" "select count(*) from events")
start_collector "$DB" "$T/seq2.log" || tap_not_ok "seq: collector starts again" "$(tail "$T/seq2.log")"
run_net connect 127.0.0.2 9
if rows_of "$DB" "$PID"; then
	tap_ok "after unload and run on the same boot a new decision is stored (no key collision)"
else
	tap_not_ok "after unload and run on the same boot a new decision is stored (no key collision)" \
		"events before $before, now $(sql "$DB" "select count(*) from events"); $(tail -n 5 "$T/seq2.log")"
fi
dups=$(sql "$DB" "select count(*) - count(distinct id & ((1 << 40) - 1)) from events")
total=$(sql "$DB" "select count(*) from events")
if [ "$total" = 7 ] && [ "$dups" = 0 ]; then
	tap_ok "every decision of the cycle stored exactly once (7 rows, distinct sequence numbers)"
else
	tap_not_ok "every decision of the cycle stored exactly once (7 rows, distinct sequence numbers)" \
		"rows $total, repeated seq $dups"
fi

# ---- c: unload stops a running collector first -----------------------------
cpid=$COLLECTOR_PID
out=$("$DL" unload --db "$DB" 2>&1); urc=$?
attached=$(bpftool link show 2>/dev/null | grep -c 'prog_name dl_\|name dl_')
if [ $urc = 0 ] && ! kill -0 "$cpid" 2>/dev/null && [ ! -e "$PIN" ] && [ "$attached" = 0 ]; then
	tap_ok "unload stops the running collector, detaches, and no drylock link is left"
else
	tap_not_ok "unload stops the running collector, detaches, and no drylock link is left" \
		"exit $urc; collector alive: $(kill -0 "$cpid" 2>/dev/null && echo yes || echo no); links: $attached
$out"
fi
wait "$cpid" 2>/dev/null
COLLECTOR_PID=

# ---- status lists other LSM programs on drylock's hooks ---------------------
"$DL" unload --discard-pending > /dev/null 2>&1
start_collector "$T/st.db" "$T/st.log" || tap_not_ok "status: collector starts" "$(tail "$T/st.log")"
if "$build/tests/vm/bpfattach" "$build/tests/vm/other_lsm.bpf.o" /sys/fs/bpf/other > "$T/other.out" 2>&1; then
	out=$("$DL" status 2>&1)
	js=$("$DL" status --json 2>&1)
	if grep -q "other LSM program on hook socket_connect: id [0-9]*, name other_connect" <<< "$out" &&
	   python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert any(p["prog_name"]=="other_connect" and p["hook"]=="socket_connect" for p in d["other_lsm_programs"])' "$js"; then
		tap_ok "status lists another LSM program attached to socket_connect (text and JSON)"
	else
		tap_not_ok "status lists another LSM program attached to socket_connect (text and JSON)" "$out
$js"
	fi
	rm -rf /sys/fs/bpf/other
else
	tap_not_ok "status lists another LSM program attached to socket_connect (text and JSON)" \
		"bpfattach failed: $(cat "$T/other.out")"
fi
if poll 10 sh -c "! '$DL' status 2>&1 | grep -q 'other LSM program'"; then
	tap_ok "status lists no other LSM program once it is detached"
else
	tap_not_ok "status lists no other LSM program once it is detached" "$("$DL" status 2>&1)"
fi
stop_collector

# ---- d: refusing, discarding, nothing loaded, --help ------------------------
"$DL" unload --discard-pending > /dev/null 2>&1
start_collector "$T/d.db" "$T/d.log" || tap_not_ok "d: collector starts" "$(tail "$T/d.log")"
stop_collector
for i in 1 2 3; do run_net connect 127.0.0.2 9; done
out=$("$DL" unload --help 2>&1); hrc=$?
if [ $hrc = 0 ] && [ -e "$PIN/links" ] && grep -q "Usage: drylock unload" <<< "$out"; then
	tap_ok "unload --help prints usage and changes nothing"
else
	tap_not_ok "unload --help prints usage and changes nothing" "exit $hrc: $out"
fi
out=$("$DL" unload --db /nonexistent/dir/x.db 2>&1); urc=$?
if [ $urc = 1 ] && [ -e "$PIN/links" ] && grep -q "3 decision(s) are pending" <<< "$out"; then
	tap_ok "unload refuses when 3 pending decisions cannot be stored, and changes nothing"
else
	tap_not_ok "unload refuses when 3 pending decisions cannot be stored, and changes nothing" "exit $urc: $out"
fi
out=$("$DL" unload --db /nonexistent/dir/x.db --discard-pending 2>&1); urc=$?
if [ $urc = 0 ] && [ ! -e "$PIN" ] && audit_has "lost=3"; then
	tap_ok "unload --discard-pending detaches and audits lost=3"
else
	tap_not_ok "unload --discard-pending detaches and audits lost=3" "exit $urc: $out"
fi
out=$("$DL" unload 2>&1); urc=$?
if [ $urc = 1 ] && grep -q "nothing loaded" <<< "$out"; then
	tap_ok "unload with nothing loaded says so and exits 1"
else
	tap_not_ok "unload with nothing loaded says so and exits 1" "exit $urc: $out"
fi

tap_done
