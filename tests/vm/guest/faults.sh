#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Guest tests of the collector when its database fails under it (run by vm.sh
# as root inside the VM; TAP, kernel release in every name):
#   full  the database's filesystem fills up during a burst: the collector
#         says so, keeps the records in the ring buffer, resumes when space
#         is back, and every would-deny is then either stored exactly once or
#         counted as a kernel drop (stored + drops == burst)
#   lock  another process holds the write lock past busy_timeout: the
#         collector reports it, retries, and stores everything afterwards
#   size  a collector restarted with --max-db-size deletes the oldest events
#         while it keeps collecting new ones (--max-age works in whole minutes
#         of the time index, too coarse for a test of seconds)
# Usage: faults.sh [BUILDDIR]   (default $DRYLOCK_BUILD_DIR)

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tap.sh
. "$here/tap.sh"

build=${1:-${DRYLOCK_BUILD_DIR:-}}
[ -n "$build" ] || { echo "Bail out! no build dir"; exit 1; }
DL=$build/collector/drylock
C=$build/tests/vm/dlconnect
T=$(mktemp -d /tmp/faults.XXXXXX)
PID=

cleanup() {
	[ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	"$DL" unload --discard-pending > /dev/null 2>&1
	umount "$T/small" 2>/dev/null
}
trap cleanup EXIT

sql() { sqlite3 -batch -noheader -cmd '.timeout 10000' "$1" "$2" 2>&1; }

cat > "$T/policy" <<'P'
policy faults
net deny lo-block addr=127.0.0.2/32 port=9 proto=tcp op=connect
P

start() { # start DB LOG [ARGS...]
	local db=$1 log=$2
	shift 2
	rm -f "$T/ready"
	"$DL" run --policy "$T/policy" --db "$db" --no-audit --ready-file "$T/ready" "$@" > "$log" 2>&1 &
	PID=$!
	poll 60 sh -c "[ -e '$T/ready' ] || ! kill -0 $PID 2>/dev/null"
	[ -e "$T/ready" ]
}
stop() {
	kill -TERM "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	PID=
}
# would-deny rows of the current boot with seq above $1
rows_after() { sql "$DB" "select count(*) from events_v where rule='lo-block' and seq > $1"; }

# ---- full: a 4 MiB filesystem that we fill up, a 64 KiB ring (~390 records)
mkdir -p "$T/small"
mount -t tmpfs -o size=4m tmpfs "$T/small"
DB=$T/small/drylock.db
if start "$DB" "$T/full.log" --ringbuf-size 65536; then
	tap_ok "collector starts on a small filesystem"
else
	tap_not_ok "collector starts on a small filesystem" "$(cat "$T/full.log")"
fi
"$C" 127.0.0.2 9 > /dev/null          # one row, so the schema pages exist
poll 10 sh -c "[ \$(sqlite3 '$DB' 'select count(*) from events' 2>/dev/null) = 1 ]"
base=$(sql "$DB" "select max(seq) from events_v")
drops0=$(sql "$DB" "select coalesce(max(value),0) from counters_v where kind='kernel_drops'")
dd if=/dev/zero of="$T/small/filler" bs=4k 2>/dev/null   # until ENOSPC
burst=1000
"$C" -n $burst 127.0.0.2 9 > /dev/null
if poll 30 grep -q "database or disk is full" "$T/full.log"; then
	tap_ok "a full disk is reported by the collector"
else
	tap_not_ok "a full disk is reported by the collector" "$(tail -5 "$T/full.log")"
fi
still=$(rows_after "$base")
if [ "$still" = 0 ] || [ -z "$still" ] || ! [ "$still" -eq "$still" ] 2>/dev/null; then
	tap_ok "nothing of the burst is half-written while the disk is full (rows: ${still:-none})"
else
	tap_not_ok "nothing of the burst is half-written while the disk is full" "rows: $still"
fi
rm -f "$T/small/filler"
if poll 30 grep -q "store: writing again" "$T/full.log"; then
	tap_ok "the collector resumes when space is back"
else
	tap_not_ok "the collector resumes when space is back" "$(tail -5 "$T/full.log")"
fi
sleep 2.5   # one state poll: the drop counter is stored
stop
stored=$(rows_after "$base")
drops=$(sql "$DB" "select coalesce(max(value),0) from counters_v where kind='kernel_drops'")
lost=$((drops - drops0))
dups=$(sql "$DB" "select count(*) - count(distinct seq) from events_v")
if [ "$dups" = 0 ] && [ $((stored + lost)) = $burst ] && [ "$stored" -gt 0 ]; then
	tap_ok "after the disk-full burst: $stored stored + $lost counted drops = $burst, no duplicates"
else
	tap_not_ok "after the disk-full burst: stored + counted drops = burst" \
		"stored=$stored drops=$lost burst=$burst dups=$dups"
fi
if [ "$lost" -gt 0 ]; then
	if grep -q "kernel dropped $drops" "$T/full.log"; then
		tap_ok "the collector says how many records the kernel dropped ($lost)"
	else
		tap_not_ok "the collector says how many records the kernel dropped" "$(grep -i drop "$T/full.log")"
	fi
else
	tap_skip "the collector says how many records the kernel dropped" "the ring held the whole burst"
fi
# the burst left decisions in the ring and there is no database to keep them
"$DL" unload --discard-pending > /dev/null 2>&1

# ---- lock: a writer holds the database past busy_timeout (5 s)
DB=$T/lock.db
start "$DB" "$T/lock.log" || tap_not_ok "collector starts for the lock test" "$(cat "$T/lock.log")"
"$C" 127.0.0.2 9 > /dev/null
poll 10 sh -c "[ \$(sqlite3 '$DB' 'select count(*) from events' 2>/dev/null) = 1 ]"
base=$(sql "$DB" "select max(seq) from events_v")
{ echo 'BEGIN IMMEDIATE;'; sleep 9; echo 'COMMIT;'; } | sqlite3 "$DB" &
locker=$!
sleep 0.5
"$C" -n 200 127.0.0.2 9 > /dev/null
if poll 20 grep -q "database is locked" "$T/lock.log"; then
	tap_ok "a locked database is reported"
else
	tap_not_ok "a locked database is reported" "$(tail -5 "$T/lock.log")"
fi
wait "$locker"
if poll 20 sh -c "[ \$(sqlite3 -cmd '.timeout 5000' '$DB' \"select count(*) from events_v where seq > $base\") = 200 ]"; then
	tap_ok "after the lock is released all 200 records are stored"
else
	tap_not_ok "after the lock is released all 200 records are stored" "rows: $(rows_after "$base")"
fi
stop

# ---- size: a limit the database cannot meet deletes every older event
if start "$DB" "$T/size.log" --max-db-size 1K && poll 20 grep -q "retention deleted" "$T/size.log"; then
	tap_ok "retention by size runs while collecting: $(grep -o 'deleted [0-9]* events' "$T/size.log" | head -1)"
else
	tap_not_ok "retention by size runs while collecting" "$(tail -5 "$T/size.log")"
fi
"$C" 127.0.0.2 9 > /dev/null
if poll 10 sh -c "[ \$(sqlite3 -cmd '.timeout 5000' '$DB' 'select count(*) from events') = 1 ]"; then
	tap_ok "only the event made after the restart is left"
else
	tap_not_ok "only the event made after the restart is left" "rows: $(sql "$DB" 'select count(*) from events')"
fi
stop
tap_done
