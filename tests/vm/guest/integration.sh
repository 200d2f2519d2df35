#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Guest integration tests (run by vm.sh as root inside the VM) of the real
# collector against the real kernel: every test does a real connect or bind,
# then checks the syscall's result, the row stored in SQLite and the record
# in a private auditd's log. TAP on stdout, kernel release in every name.
#   a  permissive: a denied destination passes the hook; would-deny row;
#      USER_AVC res=success (ausearch -sv yes)
#   b  enforce (BPF_LSM_POLICY_ENFORCE=1): EPERM; deny row; -sv no
#   c  runtime switch with `drylock mode`; USER_MAC_STATUS op=setenforce
#   d  an executable named with quotes, spaces, ' and = cannot forge res=
#   e  SIGKILL of the collector during a burst into a small ring buffer:
#      every sequence number of the boot stored exactly once, gaps only where
#      the kernel counted drops
#   f  an allowed destination leaves no would-deny row
#   g  validate errors as file:line:col; run with an unopenable db fails,
#      naming it, and leaves the pins alone
#   h  without auditd the collector stores rows and says so once
# Usage: integration.sh [BUILDDIR]   (default $DRYLOCK_BUILD_DIR)

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tap.sh
. "$here/tap.sh"

build=${1:-${DRYLOCK_BUILD_DIR:-}}
[ -n "$build" ] || { echo "Bail out! no build dir (argument or DRYLOCK_BUILD_DIR)"; exit 1; }
DL=$build/collector/drylock
Q=$build/query/drylock-query
C=$build/tests/vm/dlconnect
for f in "$DL" "$Q" "$C"; do
	[ -x "$f" ] || { echo "Bail out! $f not built"; exit 1; }
done

T=$(mktemp -d /tmp/integration.XXXXXX)
PIN=/sys/fs/bpf/drylock
COLLECTOR_PID=
COLLECTOR_LOG=
NLOG=0

cleanup() {
	stop_collector
	audit_stop
	"$DL" unload --discard-pending > /dev/null 2>&1
	# leave the logs where the host can read them (vm.sh --keep)
	if [ -n "${DRYLOCK_VM_RESULTS:-}" ]; then
		cp -r "$T" "$DRYLOCK_VM_RESULTS/integration" 2>/dev/null
	fi
}
trap cleanup EXIT

# start_collector DB [ENV=VAL...] -- [ARGS...]: drylock run in the background,
# waits until it reports ready (--ready-file). Fails if it died first.
start_collector() {
	local db=$1 envs=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	NLOG=$((NLOG + 1))
	COLLECTOR_LOG=$T/collector.$NLOG.log
	rm -f "$T/ready"
	env ${envs[@]+"${envs[@]}"} "$DL" run --policy "$T/policy" --db "$db" \
		--ready-file "$T/ready" "$@" > "$COLLECTOR_LOG" 2>&1 &
	COLLECTOR_PID=$!
	poll 120 sh -c "[ -e '$T/ready' ] || ! kill -0 $COLLECTOR_PID 2>/dev/null"
	[ -e "$T/ready" ] && kill -0 "$COLLECTOR_PID" 2>/dev/null
}
stop_collector() {
	[ -n "$COLLECTOR_PID" ] || return 0
	kill -TERM "$COLLECTOR_PID" 2>/dev/null
	wait "$COLLECTOR_PID" 2>/dev/null
	COLLECTOR_PID=
}
collector_diag() {
	echo "collector log ($COLLECTOR_LOG):"
	tail -n 30 "$COLLECTOR_LOG" 2>/dev/null
}

sql() {  # sql DB QUERY: one value per line, fields separated by |
	sqlite3 -batch -noheader -cmd '.timeout 10000' "$1" "$2" 2>&1
}
# run dlconnect in the background to learn its tgid: sets OUT, RC, PID
connect() {
	"$@" > "$T/connect.out" 2>&1 &
	PID=$!
	wait "$PID"
	RC=$?
	OUT=$(cat "$T/connect.out")
}
row_of() {  # row_of DB TGID: waits until the decision of TGID is stored
	poll 60 sh -c "[ \"\$(sqlite3 -batch -noheader -cmd '.timeout 10000' '$1' \
		'select count(*) from events_v where tgid=$2')\" -gt 0 ]"
}
audit_has() {  # audit_has TOKEN ausearch-args...: waits up to 30 s
	local tok=$1
	shift
	poll 30 sh -c 'log=$0 tok=$1; shift
		ausearch --input "$log" "$@" --raw 2>/dev/null | grep -qF -- "$tok"' \
		"$T/audit/audit.log" "$tok" "$@"
}

cat > "$T/policy" <<'EOF'
# drylock integration test policy
policy integration
net deny lo-block addr=127.0.0.2/32 port=9 proto=tcp op=connect
net allow lo-ok addr=127.0.0.3/32 op=connect
EOF
DB=$T/main.db
nobody_uid=$(id -u nobody 2>/dev/null || echo 65534)

if ! audit_start "$T/audit"; then
	tap_not_ok "private auditd starts" "$(cat "$T/audit/auditd.out" 2>&1)"
else
	tap_ok "private auditd starts"
fi

# ---- a: permissive ---------------------------------------------------------
if start_collector "$DB"; then
	tap_ok "permissive: collector starts and reports ready"
else
	tap_not_ok "permissive: collector starts and reports ready" "$(collector_diag)"
fi

connect "$C" 127.0.0.2 9
if [ "$RC" = 0 ] && [ "$OUT" = "errno=ECONNREFUSED" ]; then
	tap_ok "permissive: connect to denied 127.0.0.2:9 passes the hook"
else
	tap_not_ok "permissive: connect to denied 127.0.0.2:9 passes the hook" "exit $RC, output: $OUT"
fi
row_of "$DB" "$PID"
want="would-deny|0|lo-block|dlconnect|$PID|0|127.0.0.2|9|tcp|socket_connect|net"
got=$(sql "$DB" "select verdict, enforced, rule, comm, tgid, uid, addr, port, proto, hook, family
	from events_v where tgid=$PID")
if [ "$got" = "$want" ]; then
	tap_ok "permissive: would-deny row (rule, comm, tgid, uid, addr, port) stored"
else
	tap_not_ok "permissive: would-deny row (rule, comm, tgid, uid, addr, port) stored" \
		"want: $want
got:  $got
$(collector_diag)"
fi
# the same decision by another user: uid is the subject's, not the collector's
connect setpriv --reuid="$nobody_uid" --regid="$nobody_uid" --clear-groups "$C" 127.0.0.2 9
row_of "$DB" "$PID"
got=$(sql "$DB" "select verdict, uid, euid from events_v where tgid=$PID")
if [ "$got" = "would-deny|$nobody_uid|$nobody_uid" ]; then
	tap_ok "permissive: row carries the subject's uid ($nobody_uid)"
else
	tap_not_ok "permissive: row carries the subject's uid ($nobody_uid)" "got: $got"
fi
if audit_has "rule=lo-block" -m USER_AVC -sv yes; then
	tap_ok "permissive: USER_AVC res=success with rule=lo-block"
else
	tap_not_ok "permissive: USER_AVC res=success with rule=lo-block" \
		"$(ausearch --input "$T/audit/audit.log" -m USER_AVC --raw 2>&1 | tail -n 5)
$(collector_diag)"
fi
if audit_has "rule=lo-block" -m USER_AVC -sv no; then
	tap_not_ok "permissive: no USER_AVC res=failed yet" \
		"$(ausearch --input "$T/audit/audit.log" -m USER_AVC -sv no --raw 2>&1 | tail -n 5)"
else
	tap_ok "permissive: no USER_AVC res=failed yet"
fi

# ---- b: enforce by restart --------------------------------------------------
stop_collector
if bpftool prog show 2>/dev/null | grep -q 'name dl_net_connect '; then
	tap_ok "SIGTERM stops the collector and leaves the programs attached"
else
	tap_not_ok "SIGTERM stops the collector and leaves the programs attached" \
		"$(bpftool prog show 2>&1 | tail -n 10)"
fi
# A clean stop drains and says goodbye in the log and in audit; a SIGTERM
# that reached a thread without the signal blocked used to kill it instead.
if grep -q "collect: stopping" "$COLLECTOR_LOG" && audit_has "op=stop" -m USER_MAC_STATUS; then
	tap_ok "SIGTERM is a clean stop: final drain and USER_MAC_STATUS op=stop"
else
	tap_not_ok "SIGTERM is a clean stop: final drain and USER_MAC_STATUS op=stop" "$(collector_diag)"
fi
if start_collector "$DB" BPF_LSM_POLICY_ENFORCE=1; then
	tap_ok "enforce: collector restarts with BPF_LSM_POLICY_ENFORCE=1"
else
	tap_not_ok "enforce: collector restarts with BPF_LSM_POLICY_ENFORCE=1" "$(collector_diag)"
fi
connect "$C" 127.0.0.2 9
if [ "$RC" = 1 ] && [ "$(head -n1 <<< "$OUT")" = "errno=EPERM" ]; then
	tap_ok "enforce: connect to 127.0.0.2:9 fails with EPERM"
else
	tap_not_ok "enforce: connect to 127.0.0.2:9 fails with EPERM" "exit $RC, output: $OUT"
fi
row_of "$DB" "$PID"
want="deny|1|lo-block|dlconnect|127.0.0.2|9"
got=$(sql "$DB" "select verdict, enforced, rule, comm, addr, port from events_v where tgid=$PID")
if [ "$got" = "$want" ]; then
	tap_ok "enforce: deny row with enforced=1 stored"
else
	tap_not_ok "enforce: deny row with enforced=1 stored" "want: $want
got:  $got
$(collector_diag)"
fi
if audit_has "rule=lo-block" -m USER_AVC -sv no; then
	tap_ok "enforce: USER_AVC res=failed with rule=lo-block"
else
	tap_not_ok "enforce: USER_AVC res=failed with rule=lo-block" \
		"$(ausearch --input "$T/audit/audit.log" -m USER_AVC --raw 2>&1 | tail -n 5)"
fi
connect "$C" -u 127.0.0.2 9
if [ "$RC" = 0 ]; then
	tap_ok "enforce: UDP to 127.0.0.2:9 is not matched by the tcp rule"
else
	tap_not_ok "enforce: UDP to 127.0.0.2:9 is not matched by the tcp rule" "exit $RC, output: $OUT"
fi

# ---- f: allowed destination -------------------------------------------------
connect "$C" 127.0.0.3 9
if [ "$RC" = 0 ]; then
	tap_ok "allowed 127.0.0.3 (rule lo-ok) passes in enforce mode"
else
	tap_not_ok "allowed 127.0.0.3 (rule lo-ok) passes in enforce mode" "exit $RC, output: $OUT"
fi
# a later denied connect is stored after it: once that row is in, the
# allowed one would be too
connect "$C" 127.0.0.2 9
row_of "$DB" "$PID"
got=$(sql "$DB" "select count(*) from events_v where addr='127.0.0.3' and verdict in ('would-deny','deny')")
if [ "$got" = 0 ]; then
	tap_ok "allowed 127.0.0.3 produces no would-deny/deny row"
else
	tap_not_ok "allowed 127.0.0.3 produces no would-deny/deny row" "$got such rows:
$(sql "$DB" "select seq, verdict, rule, comm, addr, port from events_v where addr='127.0.0.3'")"
fi

# ---- c: runtime switch ------------------------------------------------------
out=$("$DL" mode permissive 2>&1); mrc=$?
connect "$C" 127.0.0.2 9
if [ $mrc = 0 ] && [ "$RC" = 0 ]; then
	tap_ok "drylock mode permissive: the next connect passes"
else
	tap_not_ok "drylock mode permissive: the next connect passes" "mode exit $mrc: $out
connect exit $RC: $OUT"
fi
cur=$("$DL" mode 2>&1)
if grep -qi 'permissive' <<< "$cur" && ! grep -qi 'enforc' <<< "$cur"; then
	tap_ok "drylock mode reports permissive"
else
	tap_not_ok "drylock mode reports permissive" "$cur"
fi
out=$("$DL" mode enforce 2>&1); mrc=$?
connect "$C" 127.0.0.2 9
if [ $mrc = 0 ] && [ "$RC" = 1 ]; then
	tap_ok "drylock mode enforce: the next connect gets EPERM"
else
	tap_not_ok "drylock mode enforce: the next connect gets EPERM" "mode exit $mrc: $out
connect exit $RC: $OUT"
fi
if audit_has "op=setenforce" -m USER_MAC_STATUS; then
	tap_ok "mode switch audited as USER_MAC_STATUS op=setenforce"
else
	tap_not_ok "mode switch audited as USER_MAC_STATUS op=setenforce" \
		"$(ausearch --input "$T/audit/audit.log" -m USER_MAC_STATUS --raw 2>&1 | tail -n 5)"
fi

# ---- d: hostile executable name (enforce mode) ------------------------------
hdir=/tmp/x
hname="a'res=success' b\"c=d"
mkdir -p "$hdir"
cp "$C" "$hdir/$hname"
connect "$hdir/$hname" 127.0.0.2 9
if [ "$RC" = 1 ]; then
	tap_ok "hostile name: connect fails with EPERM"
else
	tap_not_ok "hostile name: connect fails with EPERM" "exit $RC, output: $OUT"
fi
hpid=$PID
if audit_has "spid=$hpid " -m USER_AVC -sv no; then
	tap_ok "hostile name: the block is found by ausearch -sv no"
else
	tap_not_ok "hostile name: the block is found by ausearch -sv no" \
		"$(ausearch --input "$T/audit/audit.log" -m USER_AVC --raw 2>&1 | tail -n 3)"
fi
if ausearch --input "$T/audit/audit.log" -m USER_AVC -sv yes --raw 2>/dev/null | grep -qF "spid=$hpid "; then
	tap_not_ok "hostile name: ausearch -sv yes does not report it as a success" \
		"$(ausearch --input "$T/audit/audit.log" -m USER_AVC -sv yes --raw 2>&1 | grep -F "spid=$hpid ")"
else
	tap_ok "hostile name: ausearch -sv yes does not report it as a success"
fi
bad=$(ausearch --input "$T/audit/audit.log" -m USER_AVC -i 2>/dev/null |
	grep '^type=USER_AVC' | awk -F' res=' 'NF != 2')
recs=$(ausearch --input "$T/audit/audit.log" -m USER_AVC -i 2>/dev/null | grep -c '^type=USER_AVC')
if [ -z "$bad" ] && [ "$recs" -gt 0 ]; then
	tap_ok "ausearch -i shows exactly one res= per USER_AVC record ($recs records)"
else
	tap_not_ok "ausearch -i shows exactly one res= per USER_AVC record ($recs records)" "$bad"
fi
hex() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n' | tr a-f A-F; }
row_of "$DB" "$hpid"
want="$(hex "${hname:0:15}")|$(hex "$hdir/$hname")"
got=$(sql "$DB" "select hex(comm), hex(exe) from events_v where tgid=$hpid")
if [ "$got" = "$want" ]; then
	tap_ok "hostile name: stored comm and exe are the real bytes"
else
	tap_not_ok "hostile name: stored comm and exe are the real bytes" "want: $want
got:  $got"
fi

# ---- g: validate and an unopenable database ---------------------------------
printf '%s\n' "policy broken" "net deny ok-rule addr=127.0.0.9/32" \
	"net deny bad-rule addr=300.1.2.3/32 port=9" > "$T/broken.policy"
out=$("$DL" validate "$T/broken.policy" 2>&1); vrc=$?
if [ $vrc = 1 ] && grep -qE "^$T/broken.policy:3:[0-9]+: " <<< "$out"; then
	tap_ok "validate: broken policy reported as file:line:col, exit 1"
else
	tap_not_ok "validate: broken policy reported as file:line:col, exit 1" "exit $vrc: $out"
fi
out=$("$DL" validate "$T/policy" 2>&1); vrc=$?
if [ $vrc = 0 ]; then
	tap_ok "validate: the test policy is valid"
else
	tap_not_ok "validate: the test policy is valid" "exit $vrc: $out"
fi
stop_collector
pins_before=$(ls -lR "$PIN" 2>&1; bpftool link show 2>&1)
baddb=/nonexistent-dir/sub/drylock.db
out=$(timeout 60 "$DL" run --policy "$T/policy" --db "$baddb" --ready-file "$T/ready.bad" 2>&1); rrc=$?
pins_after=$(ls -lR "$PIN" 2>&1; bpftool link show 2>&1)
if [ $rrc != 0 ] && [ $rrc != 124 ] && grep -qF "$baddb" <<< "$out" && [ ! -e "$T/ready.bad" ]; then
	tap_ok "run with an unopenable db fails naming the path"
else
	tap_not_ok "run with an unopenable db fails naming the path" "exit $rrc: $out"
fi
if [ "$pins_before" = "$pins_after" ] && grep -q dl_ <<< "$pins_before"; then
	tap_ok "run with an unopenable db leaves the pins untouched"
else
	tap_not_ok "run with an unopenable db leaves the pins untouched" \
		"$(diff <(echo "$pins_before") <(echo "$pins_after"))"
fi

# ---- e: SIGKILL during a burst ----------------------------------------------
# A small ring buffer (64 KiB, about 390 records) so that the burst
# overflows it while no collector runs and the drop accounting is exercised:
# the size applies only when the ring is created, hence the unload first.
EDB=$T/burst.db
N=20000
stop_collector
"$DL" unload --discard-pending > /dev/null 2>&1
if start_collector "$EDB" -- --ringbuf-size 65536; then
	"$C" -n $N 127.0.0.2 9 > "$T/burst.out" 2>&1 &
	bpid=$!
	# kill once part of the burst is stored
	poll 120 sh -c "[ \"\$(sqlite3 -batch -noheader -cmd '.timeout 10000' '$EDB' \
		'select count(*) from events_v where tgid=$bpid' 2>/dev/null)\" -gt 200 ]"
	kill -KILL "$COLLECTOR_PID"
	wait "$COLLECTOR_PID" 2>/dev/null
	COLLECTOR_PID=
	killed_at=$(sql "$EDB" "select count(*) from events_v where tgid=$bpid")
	wait $bpid
	brc=$?
	start_collector "$EDB" -- --ringbuf-size 65536
	# drained: the burst's rows stop growing (all N, or N minus drops)
	prev=-1
	for _ in $(seq 1 120); do
		cur=$(sql "$EDB" "select count(*) from events_v where tgid=$bpid")
		[ "$cur" = "$N" ] && break
		[ "$cur" = "$prev" ] && break
		prev=$cur
		sleep 2
	done
	# Drops at the tail of the burst (ring full, nobody reading) consumed
	# sequence numbers after the last stored one: one more decision, stored
	# once the ring is drained, closes the range so that every number from
	# min to max is either a row or a counted drop.
	connect "$C" 127.0.0.2 9
	row_of "$EDB" "$PID"
	boot=$(sql "$EDB" "select boot_id from events_v where tgid=$bpid limit 1")
	stats() {
		read -r cnt dist lo hi <<< "$(sql "$EDB" "select count(*), count(distinct seq),
			min(seq), max(seq) from events_v where boot_id='$boot'" | tr '|' ' ')"
		drops=$(sql "$EDB" "select coalesce(sum(v), 0) from (select max(value) v
			from counters_v where boot_id='$boot' and kind='kernel_drops' group by family)")
		[ -n "$cnt" ] && [ -n "$drops" ] && [ $((hi - lo + 1)) = $((cnt + drops)) ]
	}
	# the drop counter is sampled periodically: give it time to catch up
	poll 30 stats
	burst=$(sql "$EDB" "select count(*) from events_v where tgid=$bpid")
	tap_diag "burst: $N connects (exit $brc), $killed_at stored when killed, $burst stored, kernel drops $drops, seq $lo..$hi, $cnt rows"
	if [ -n "$cnt" ] && [ "$cnt" -gt "$killed_at" ] && [ "$cnt" = "$dist" ]; then
		tap_ok "SIGKILL: every stored sequence number appears once, rows after restart"
	else
		tap_not_ok "SIGKILL: every stored sequence number appears once, rows after restart" \
			"count $cnt, distinct $dist, at kill $killed_at
$(collector_diag)"
	fi
	if [ -n "$cnt" ] && [ -n "$drops" ] && [ $((hi - lo + 1)) = $((cnt + drops)) ]; then
		tap_ok "SIGKILL: max(seq)-min(seq)+1 == rows + kernel_drops"
	else
		tap_not_ok "SIGKILL: max(seq)-min(seq)+1 == rows + kernel_drops" \
			"seq $lo..$hi, rows $cnt, drops $drops"
	fi
else
	tap_not_ok "SIGKILL: every stored sequence number appears once, rows after restart" "$(collector_diag)"
	tap_not_ok "SIGKILL: max(seq)-min(seq)+1 == rows + kernel_drops" "collector did not start"
fi

# ---- h: no auditd -----------------------------------------------------------
stop_collector
audit_stop
HDB=$T/noaudit.db
if start_collector "$HDB"; then
	for _ in 1 2 3; do connect "$C" 127.0.0.2 9; done
	row_of "$HDB" "$PID"
	got=$(sql "$HDB" "select count(*) from events_v where rule='lo-block'")
	if [ "$got" -ge 3 ] 2>/dev/null; then
		tap_ok "no auditd: decisions are still stored ($got rows)"
	else
		tap_not_ok "no auditd: decisions are still stored" "got: $got
$(collector_diag)"
	fi
	said=$(grep -ciE 'audit.*(unavailable|no audit daemon|not running|disabled)' "$COLLECTOR_LOG")
	if [ "$said" = 1 ]; then
		tap_ok "no auditd: the collector says once that audit is unavailable"
	else
		tap_not_ok "no auditd: the collector says once that audit is unavailable" \
			"$said matching lines:
$(cat "$COLLECTOR_LOG")"
	fi
else
	tap_not_ok "no auditd: decisions are still stored" "$(collector_diag)"
	tap_not_ok "no auditd: the collector says once that audit is unavailable" "collector did not start"
fi
stop_collector

# ---- unload -----------------------------------------------------------------
out=$("$DL" unload 2>&1); urc=$?
if [ $urc = 0 ] && [ ! -e "$PIN" ] &&
   poll 20 sh -c "! bpftool prog show 2>/dev/null | grep -q 'name dl_net_connect '"; then
	connect "$C" 127.0.0.2 9
	if [ "$RC" = 0 ]; then
		tap_ok "drylock unload detaches everything"
	else
		tap_not_ok "drylock unload detaches everything" "connect after unload: exit $RC $OUT"
	fi
else
	tap_not_ok "drylock unload detaches everything" "exit $urc: $out
$(ls -l "$PIN" 2>&1)"
fi

tap_done
