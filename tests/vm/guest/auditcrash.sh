#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Audit survives a crash (issue 8 s9): SIGKILL the collector during a burst
# of would-denies (many destinations, so that many USER_AVC records are sent
# and some are deduplicated), restart it, stop it cleanly, then check the
# private auditd's log against the store:
#   - the restarted collector says it sent stored decisions the audit log had
#     not confirmed (the crash path ran);
#   - every stored would-deny of the burst is in the log as a USER_AVC with
#     its seq= and boot=, except at most as many as the op=suppressed records
#     counted (deduplication and rate limit);
#   - a seq= that appears more than once is the same decision every time
#     (identical text);
#   - after the clean stop the store's audit mark is at the last would-deny
#     (nothing owed).
# Usage: auditcrash.sh [BUILDDIR]   (default $DRYLOCK_BUILD_DIR)

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tap.sh
. "$here/tap.sh"

build=${1:-${DRYLOCK_BUILD_DIR:-}}
[ -n "$build" ] || { echo "Bail out! no build dir (argument or DRYLOCK_BUILD_DIR)"; exit 1; }
DL=$build/collector/drylock
C=$build/tests/vm/dlconnect
for f in "$DL" "$C"; do
	[ -x "$f" ] || { echo "Bail out! $f not built"; exit 1; }
done

T=$(mktemp -d /tmp/auditcrash.XXXXXX)
LOG=$T/audit/audit.log
DB=$T/crash.db
COLLECTOR_PID=
NLOG=0

cleanup() {
	[ -n "$COLLECTOR_PID" ] && kill -TERM "$COLLECTOR_PID" 2>/dev/null && wait "$COLLECTOR_PID" 2>/dev/null
	"$DL" unload --discard-pending > /dev/null 2>&1
	audit_stop
	if [ -n "${DRYLOCK_VM_RESULTS:-}" ]; then
		cp -r "$T" "$DRYLOCK_VM_RESULTS/auditcrash" 2>/dev/null
	fi
}
trap cleanup EXIT

sql() { sqlite3 -batch -noheader -cmd '.timeout 10000' "$DB" "$1" 2>&1; }
start_collector() {
	NLOG=$((NLOG + 1))
	rm -f "$T/ready"
	"$DL" run --policy "$T/policy" --db "$DB" --ready-file "$T/ready" > "$T/collector.$NLOG.log" 2>&1 &
	COLLECTOR_PID=$!
	poll 120 sh -c "[ -e '$T/ready' ] || ! kill -0 $COLLECTOR_PID 2>/dev/null"
	[ -e "$T/ready" ] && kill -0 "$COLLECTOR_PID" 2>/dev/null
}

cat > "$T/policy" <<'EOF'
policy auditcrash
net deny crash-block addr=127.0.0.2/32 proto=tcp op=connect
EOF

"$DL" unload --discard-pending > /dev/null 2>&1
audit_start "$T/audit" || { echo "Bail out! private auditd: $(cat "$T/audit/auditd.out" 2>&1)"; exit 1; }
start_collector || { echo "Bail out! collector: $(tail -n 20 "$T/collector.1.log")"; exit 1; }

# the burst: 600 destinations, 3 connects each, in the background
(for p in $(seq 2000 2599); do "$C" -n 3 127.0.0.2 "$p" > /dev/null 2>&1; done) &
burst=$!
poll 120 sh -c "[ \"\$(sqlite3 -batch -noheader -cmd '.timeout 10000' '$DB' \
	\"select count(*) from events_v where verdict='would-deny'\" 2>/dev/null)\" -gt 400 ]"
kill -KILL "$COLLECTOR_PID"
wait "$COLLECTOR_PID" 2>/dev/null
COLLECTOR_PID=
at_kill=$(sql "select count(*) from events_v where verdict='would-deny'")
mark_at_kill=$(sql "select coalesce(max(through_id) & 1099511627775, -1) from audit_marks")
wait "$burst"
start_collector || tap_not_ok "collector restarts after SIGKILL" "$(tail -n 20 "$T/collector.$NLOG.log")"
# drained: the rows stop growing at 1800
prev=-1
for _ in $(seq 1 60); do
	cur=$(sql "select count(*) from events_v where verdict='would-deny'")
	[ "$cur" = 1800 ] && break
	[ "$cur" = "$prev" ] && break
	prev=$cur
	sleep 2
done
kill -TERM "$COLLECTOR_PID"
wait "$COLLECTOR_PID" 2>/dev/null
COLLECTOR_PID=
poll 30 sh -c 'ausearch --input "$0" -m USER_MAC_STATUS --raw 2>/dev/null | grep -c "op=stop lsm=drylock" | grep -qx 1' "$LOG"
tap_diag "burst: $at_kill would-denies stored at SIGKILL (audit mark at seq $mark_at_kill), $cur in the end"

said=$(grep -E 'audit: sent [0-9]+ stored decisions' "$T/collector.2.log")
if [[ $said =~ sent\ ([0-9]+)\  ]] && [ "${BASH_REMATCH[1]}" -gt 0 ]; then
	tap_ok "restart sends the stored decisions the audit log had not confirmed (${BASH_REMATCH[1]})"
else
	tap_not_ok "restart sends the stored decisions the audit log had not confirmed" \
		"$(cat "$T/collector.2.log")"
fi

# stored would-denies vs USER_AVC seq= of this boot
boot=$(sql "select boot_id from events_v limit 1")
b8=${boot:0:8}
sql "select seq from events_v where verdict='would-deny' order by seq" > "$T/stored.seq"
ausearch --input "$LOG" -m USER_AVC --raw 2>/dev/null | grep 'lsm=drylock' | grep -F " boot=$b8 " > "$T/avc.raw"
sed -nE 's/.* seq=([0-9]+) .*/\1/p' "$T/avc.raw" | sort -n > "$T/audited.seq"
sort -u "$T/audited.seq" > "$T/audited.useq"
# (files, not <(...): the guest has no /dev/fd)
sort -u "$T/stored.seq" > "$T/stored.useq"
missing=$(comm -23 "$T/stored.useq" "$T/audited.useq" | wc -l)
suppressed=$(ausearch --input "$LOG" -m USER_MAC_STATUS --raw 2>/dev/null | grep 'op=suppressed lsm=drylock' |
	sed -nE 's/.* suppressed=([0-9]+).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
stored=$(wc -l < "$T/stored.seq")
sent=$(wc -l < "$T/audited.seq")
useq=$(wc -l < "$T/audited.useq")
tap_diag "stored $stored would-denies; USER_AVC records $sent ($useq distinct seq); not in the log $missing; op=suppressed counted $suppressed"
if [ "$stored" -ge 1000 ] && [ "$useq" -gt 0 ] && [ "$missing" -le "$suppressed" ]; then
	tap_ok "every stored would-deny is in the audit log, or counted by op=suppressed ($missing <= $suppressed)"
else
	tap_not_ok "every stored would-deny is in the audit log, or counted by op=suppressed" \
		"stored $stored, missing $missing, suppressed $suppressed"
fi

# a repeat is the same decision: identical text for each seq
rep=$(sed -nE "s/.*msg='(.*)'.*/\\1/p" "$T/avc.raw" | sort | uniq | sed -nE 's/.* seq=([0-9]+) .*/\1/p' | sort | uniq -d)
dups=$(uniq -d "$T/audited.seq" | wc -l)
if [ -z "$rep" ]; then
	tap_ok "repeated USER_AVC records ($dups seq values) carry the same seq= and text"
else
	tap_not_ok "repeated USER_AVC records carry the same seq= and text" "seq with differing text: $(head -n 5 <<< "$rep")"
fi

# nothing owed after the clean stop
last=$(sql "select max(seq) from events_v where verdict in ('would-deny','deny')")
mark=$(sql "select through_id & 1099511627775 from audit_marks where boot = (select id from boots where boot_id='$boot')")
if [ -n "$last" ] && [ "$mark" = "$last" ]; then
	tap_ok "after a clean stop the audit mark is at the last would-deny (seq $last)"
else
	tap_not_ok "after a clean stop the audit mark is at the last would-deny" "mark $mark, last $last"
fi
tap_done
