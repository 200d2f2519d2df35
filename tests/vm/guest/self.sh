#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Family self and `drylock lock`. Run by vm.sh as root; run-all.sh runs it
# LAST: a locked engine cannot be unloaded before reboot, so nothing may
# come after it in the same boot.
#   p  permissive, on a bpffs of its own (/run/dlp, so unmounting it loses
#      nothing the rest needs): lock refuses with nothing loaded and with no
#      self rule; with one it locks (audited op=lock), a second lock changes
#      nothing; then removing and renaming a pin, loading an LSM program,
#      detaching a link, a writable fd on dl_config, unmounting the bpffs
#      all succeed and are stored as would-deny and audited (USER_AVC
#      attempt=...)
#   e  enforce, the default pin directory: before the lock nothing is
#      decided; after it rm and mv of a pin (either side), rmdir, umount of
#      /sys/fs/bpf, loading an LSM program, bpftool link detach of a
#      drylock link, bpftool map update of dl_config and of a rule map all
#      fail with EPERM and are stored as deny; `drylock mode` and `drylock
#      unload` refuse; the net family keeps deciding (a would-deny stored);
#      kill -9 of the collector and a restart reuses the pinned engine and
#      keeps recording
# Usage: self.sh [BUILDDIR]   (default $DRYLOCK_BUILD_DIR)

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tap.sh
. "$here/tap.sh"

build=${1:-${DRYLOCK_BUILD_DIR:-}}
[ -n "$build" ] || { echo "Bail out! no build dir (argument or DRYLOCK_BUILD_DIR)"; exit 1; }
DL=$build/collector/drylock
C=$build/tests/vm/dlconnect
ATTACH=$build/tests/vm/bpfattach
OTHER=$build/tests/vm/other_lsm.bpf.o
for f in "$DL" "$C" "$ATTACH" "$OTHER"; do
	[ -e "$f" ] || { echo "Bail out! $f not built"; exit 1; }
done

T=$(mktemp -d /tmp/self.XXXXXX)
PIN=/sys/fs/bpf/drylock
PP=/run/dlp/drylock
CPID=

cleanup() {
	[ -n "$CPID" ] && kill -TERM "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null
	audit_stop
	[ -n "${DRYLOCK_VM_RESULTS:-}" ] && cp -r "$T" "$DRYLOCK_VM_RESULTS/self" 2>/dev/null
}
trap cleanup EXIT

sql() { sqlite3 -batch -noheader -cmd '.timeout 10000' "$1" "$2" 2>&1; }
# start PINDIR DB POLICY [run options]: a collector, CPID set; 0 when ready
start() {
	local pin=$1 db=$2 pol=$3
	shift 3
	rm -f "$T/ready"
	"$DL" --pin-dir "$pin" run --policy "$pol" --db "$db" --ready-file "$T/ready" "$@" >> "$T/c.log" 2>&1 &
	CPID=$!
	poll 120 sh -c "[ -e '$T/ready' ] || ! kill -0 $CPID 2>/dev/null"
	[ -e "$T/ready" ]
}
stop() { [ -n "$CPID" ] && kill -TERM "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null; CPID=; }
# self_rows DB VERDICT: "op|hook" of the family's stored decisions
self_rows() {
	sql "$1" "select o.k2 & 255, h.name from events e join hook_names h on h.id = e.hook
		left join objects o on o.id = e.object where h.family = 3 and e.verdict = $2"
}
# has_row DB VERDICT OP HOOK: waits up to 30 s for such a row
has_row() {
	poll 30 sh -c "sqlite3 -batch -noheader -cmd '.timeout 10000' '$1' \"select o.k2 & 255, h.name
		from events e join hook_names h on h.id = e.hook left join objects o on o.id = e.object
		where h.family = 3 and e.verdict = $2\" | grep -qxE '$3[|]($4)'"
}
audit_has() {  # audit_has TOKEN ausearch-args...: waits up to 30 s
	local tok=$1
	shift
	poll 30 sh -c 'log=$0 tok=$1; shift
		ausearch --input "$log" "$@" --raw 2>/dev/null | grep -qF -- "$tok"' \
		"$T/audit/audit.log" "$tok" "$@"
}
map_id() { bpftool -j map show pinned "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
link_id() { bpftool -j link show pinned "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
map_value() { bpftool -j map lookup pinned "$1" key 0 0 0 0 2>/dev/null |
	python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["value"]))'; }
# refused NAME CMD...: CMD fails and says EPERM
refused() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		tap_not_ok "$name" "succeeded: $out"
	elif grep -qiE 'not permitted|EPERM|must be superuser' <<< "$out"; then
		tap_ok "$name"
	else
		tap_not_ok "$name" "failed, but not with EPERM: $out"
	fi
}

# OP values of store/obj-self.c (objects.k2 & 255)
UNLINK=1 RENAME=2 RMDIR=4 UMOUNT=8 PROG_LOAD=16 LINK_DETACH=32 MAP_WRITE=128
WOULD=1 DENY=2

cat > "$T/netonly" <<'P'
policy selftest
net deny blackhole addr=192.0.2.1/32 port=9 proto=tcp op=connect
P
cat > "$T/policy" <<'P'
policy selftest
net deny blackhole addr=192.0.2.1/32 port=9 proto=tcp op=connect
self deny tamper
P

audit_start "$T/audit" || tap_not_ok "private auditd starts" "$(cat "$T/audit/auditd.out" 2>&1)"

# ---- p: permissive, on a bpffs of its own ----------------------------------
mkdir -p /run/dlp && mount -t bpf bpf /run/dlp
out=$("$DL" --pin-dir "$PP" lock 2>&1) && tap_not_ok "lock refuses when nothing is loaded" "$out" ||
	{ grep -q "nothing is loaded" <<< "$out" && tap_ok "lock refuses when nothing is loaded" ||
	  tap_not_ok "lock refuses when nothing is loaded: says why" "$out"; }
if ! start "$PP" "$T/p.db" "$T/netonly" --permissive; then
	tap_not_ok "permissive: collector starts" "$(tail -n 20 "$T/c.log")"
	tap_done
	exit
fi
out=$("$DL" --pin-dir "$PP" lock 2>&1) && tap_not_ok "lock refuses without a self rule" "$out" ||
	{ grep -q "no self rule" <<< "$out" && tap_ok "lock refuses without a self rule, saying so" ||
	  tap_not_ok "lock refuses without a self rule: says why" "$out"; }
stop
if ! start "$PP" "$T/p.db" "$T/policy" --permissive; then
	tap_not_ok "permissive: collector starts with a self rule" "$(tail -n 20 "$T/c.log")"
	tap_done
	exit
fi
tap_check "permissive: drylock lock" "$DL" --pin-dir "$PP" lock
out=$("$DL" --pin-dir "$PP" lock 2>&1)
case $out in *"already locked"*) tap_ok "a second lock changes nothing and says so" ;;
*) tap_not_ok "a second lock changes nothing and says so" "$out" ;; esac
audit_has "op=lock" -m USER_MAC_CONFIG_CHANGE && tap_ok "the lock is audited (USER_MAC_CONFIG_CHANGE op=lock)" ||
	tap_not_ok "the lock is audited" "$(ausearch --input "$T/audit/audit.log" -m USER_MAC_CONFIG_CHANGE --raw 2>&1 | tail -n 3)"
"$DL" --pin-dir "$PP" status > "$T/pstatus" 2>&1
grep -q "^locked: yes" "$T/pstatus" && tap_ok "status says locked" || tap_not_ok "status says locked" "$(cat "$T/pstatus")"

bpftool map pin id "$(map_id "$PP/dl_seq")" "$PP/extra"
tap_check "permissive: rm of a pin succeeds" rm "$PP/extra"
bpftool map pin id "$(map_id "$PP/dl_seq")" "$PP/extra"
tap_check "permissive: mv of a pin succeeds" mv "$PP/extra" "$PP/extra2"
rm -f "$PP/extra2"
tap_check "permissive: an LSM program loads and attaches" "$ATTACH" "$OTHER" /sys/fs/bpf/other-p
# LSM (tracing) links may have no detach operation (EOPNOTSUPP): what counts
# is that drylock did not refuse it
out=$(bpftool link detach id "$(link_id /sys/fs/bpf/other-p/other_connect)" 2>&1)
grep -qiE 'not permitted|EPERM' <<< "$out" && tap_not_ok "permissive: bpftool link detach is not refused" "$out" ||
	tap_ok "permissive: bpftool link detach is not refused by drylock${out:+ ($out)}"
rm -rf /sys/fs/bpf/other-p
val=$(map_value "$PP/dl_config")
tap_check "permissive: bpftool map update of dl_config succeeds (same value)" \
	bpftool map update pinned "$PP/dl_config" key 0 0 0 0 value $val
tap_check "permissive: umount of the bpffs holding the pins succeeds" umount /run/dlp
for want in "$UNLINK|inode_unlink" "$RENAME|inode_rename" "$PROG_LOAD|bpf" "$LINK_DETACH|bpf" \
	    "$MAP_WRITE|bpf_map" "$UMOUNT|sb_umount"; do
	has_row "$T/p.db" $WOULD "${want%%|*}" "${want#*|}" &&
		tap_ok "permissive: stored as would-deny: $want" ||
		tap_not_ok "permissive: stored as would-deny: $want" "$(self_rows "$T/p.db" $WOULD)"
done
stop
for a in unlink rename prog_load link_detach map_write umount; do
	audit_has "attempt=$a " -m USER_AVC && tap_ok "permissive: audited USER_AVC attempt=$a" ||
		tap_not_ok "permissive: audited USER_AVC attempt=$a" \
			"$(ausearch --input "$T/audit/audit.log" -m USER_AVC --raw 2>&1 | tail -n 5)"
done

# ---- e: enforce, the default pin directory --------------------------------
if ! start "$PIN" "$T/e.db" "$T/policy" --enforce; then
	tap_not_ok "enforce: collector starts" "$(tail -n 20 "$T/c.log")"
	tap_done
	exit
fi
bpftool map pin id "$(map_id "$PIN/dl_seq")" "$PIN/extra"
tap_check "before the lock nothing is decided: rm of a pin succeeds" rm "$PIN/extra"
"$DL" mode permissive --family net > /dev/null 2>&1
val=$(map_value "$PIN/dl_config")
lpm=$(map_id "$PIN/dl_net_lpm")
link=$(link_id "$PIN/links/dl_net_connect")
bpftool map pin id "$(map_id "$PIN/dl_seq")" /sys/fs/bpf/outside
tap_check "enforce: drylock lock" "$DL" lock

refused "enforce: rm of a link pin fails with EPERM" rm -f "$PIN/links/dl_net_connect"
[ -e "$PIN/links/dl_net_connect" ] && tap_ok "the link pin is still there" || tap_not_ok "the link pin is still there"
refused "enforce: mv of a pin fails with EPERM" mv "$PIN/dl_config" "$PIN/moved"
refused "enforce: mv onto the pin directory fails with EPERM" mv /sys/fs/bpf/outside "$PIN/in"
refused "enforce: rmdir of the links directory fails with EPERM" rmdir "$PIN/links"
refused "enforce: umount of the bpffs fails with EPERM" umount /sys/fs/bpf
[ -e "$PIN/dl_config" ] && tap_ok "the pins are still there" || tap_not_ok "the pins are still there" "$(ls -R /sys/fs/bpf 2>&1)"
refused "enforce: loading an LSM program fails" "$ATTACH" "$OTHER" /sys/fs/bpf/other-e
refused "enforce: bpftool link detach of a drylock link fails" bpftool link detach id "$link"
refused "enforce: bpftool map update of dl_config fails" \
	bpftool map update pinned "$PIN/dl_config" key 0 0 0 0 value $val
refused "enforce: a writable fd on a rule map (dl_net_lpm by id) is refused" bpftool map dump id "$lpm"
out=$("$DL" mode permissive 2>&1) && tap_not_ok "drylock mode refuses after the lock" "$out" ||
	{ grep -q "locked until reboot" <<< "$out" && tap_ok "drylock mode refuses after the lock, saying why" ||
	  tap_not_ok "drylock mode refuses: says why" "$out"; }
out=$("$DL" unload --yes --discard-pending 2>&1) && tap_not_ok "drylock unload refuses after the lock" "$out" ||
	{ grep -q "locked until reboot" <<< "$out" && tap_ok "drylock unload refuses after the lock, saying why" ||
	  tap_not_ok "drylock unload refuses: says why" "$out"; }
for want in "$UNLINK|path_unlink|inode_unlink" "$RENAME|inode_rename" "$RMDIR|inode_rmdir" "$UMOUNT|sb_umount" \
	    "$PROG_LOAD|bpf" "$LINK_DETACH|bpf" "$MAP_WRITE|bpf_map"; do
	has_row "$T/e.db" $DENY "${want%%|*}" "${want#*|}" &&
		tap_ok "enforce: stored as deny: $want" ||
		tap_not_ok "enforce: stored as deny: $want" "$(self_rows "$T/e.db" $DENY)"
done
n0=$(sql "$T/e.db" "select count(*) from events e join hook_names h on h.id = e.hook where h.name = 'socket_connect' and e.verdict = 1")
"$C" 192.0.2.1 9 > /dev/null 2>&1
poll 30 sh -c "[ \$(sqlite3 -batch -noheader -cmd '.timeout 10000' '$T/e.db' \"select count(*) from events e join hook_names h
	on h.id = e.hook where h.name = 'socket_connect' and e.verdict = 1\") -gt $n0 ]" &&
	tap_ok "the net family keeps deciding after the lock (would-deny stored)" ||
	tap_not_ok "the net family keeps deciding after the lock" "$(sql "$T/e.db" 'select hook, verdict from events')"

# kill -9 and a restart: the pinned engine is reused, recording goes on
kill -9 "$CPID"; wait "$CPID" 2>/dev/null; CPID=
if start "$PIN" "$T/e.db" "$T/policy" --enforce; then
	tap_ok "after kill -9 the collector restarts on the locked engine"
	grep -q "is locked until reboot" "$T/c.log" && tap_ok "it says the engine is locked and kept" ||
		tap_not_ok "it says the engine is locked and kept" "$(tail -n 5 "$T/c.log")"
else
	tap_not_ok "after kill -9 the collector restarts on the locked engine" "$(tail -n 20 "$T/c.log")"
fi
n1=$(sql "$T/e.db" "select count(*) from events")
"$C" 192.0.2.1 9 > /dev/null 2>&1
refused "after the restart: rm of a pin still fails" rm -f "$PIN/dl_config"
poll 30 sh -c "[ \$(sqlite3 -batch -noheader -cmd '.timeout 10000' '$T/e.db' 'select count(*) from events') -ge $((n1 + 2)) ]" &&
	tap_ok "after the restart both are stored" ||
	tap_not_ok "after the restart both are stored" "$(sql "$T/e.db" 'select seq, hook, verdict from events order by id desc limit 5') (had $n1)"
"$DL" status > "$T/estatus" 2>&1
grep -q "^self: enforce" "$T/estatus" && grep -q "^locked: yes" "$T/estatus" &&
	tap_ok "status: self enforcing, locked" || tap_not_ok "status: self enforcing, locked" "$(cat "$T/estatus")"
stop
tap_done
