#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Upgrading a running engine (collector/upgrade.c). Run by vm.sh as root.
#   a  build A (the skeletons) runs in enforce; a connect to the denied
#      127.0.0.2:9 gets EPERM
#   b  `drylock run` with build B (DRYLOCK_BPF_OBJ_DIR: net.bpf.c built with
#      DL_UPGRADE_TEST_MARK=1, whose socket_connect differs) while a loop of
#      connects to 127.0.0.2:9 runs through the upgrade: every connect gets
#      EPERM; the pin links/dl_net_connect stays and holds B's program (new
#      tag; the link id stays after a link_update, a new link replaces the
#      old one after a relink, and the old one is gone); dl_net_bind (same
#      code in A and B) is untouched; the journal and a USER_MAC_CONFIG_CHANGE
#      op=upgrade record (ausearch) say which program, old and new tag
#   c  the same build again: nothing replaced; build A again: back to A's tag
#   d  locked engine (dl_config.locked = 1, as `drylock lock` sets it): build
#      B is refused with a message, A's program stays, collecting goes on
#   e  a build whose pinned map differs (dl_net_lpm of twice the size,
#      DL_UPGRADE_TEST_MARK=2): `drylock run` fails naming the map and
#      `drylock unload`, nothing changed, enforcement goes on
#   f  an engine pinned before the record ABI v2 (issue 7): dl_counts of
#      1,024 entries and no dl_rule_mode, made by replacing those pins with
#      bpftool: `drylock run` fails naming dl_counts and `drylock unload`,
#      nothing changed; then `drylock unload` and `drylock run`, as the
#      message says, give an engine that enforces
# Usage: upgrade.sh [BUILDDIR]   (default $DRYLOCK_BUILD_DIR)

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tap.sh
. "$here/tap.sh"

build=${1:-${DRYLOCK_BUILD_DIR:-}}
[ -n "$build" ] || { echo "Bail out! no build dir (argument or DRYLOCK_BUILD_DIR)"; exit 1; }
DL=$build/collector/drylock
C=$build/tests/vm/dlconnect
OBJ1=$build/tests/vm/net-upgrade1.bpf.o
OBJ2=$build/tests/vm/net-upgrade2.bpf.o
for f in "$DL" "$C"; do
	[ -x "$f" ] || { echo "Bail out! $f not built"; exit 1; }
done
for f in "$OBJ1" "$OBJ2"; do
	[ -s "$f" ] || { echo "Bail out! $f not built"; exit 1; }
done
command -v bpftool > /dev/null || { echo "Bail out! bpftool not found"; exit 1; }

T=$(mktemp -d /tmp/upgrade.XXXXXX)
PIN=/sys/fs/bpf/drylock
LOOP_PID=

cleanup() {
	touch "$T/stop"
	[ -n "$LOOP_PID" ] && wait "$LOOP_PID" 2>/dev/null
	[ -n "$COLLECTOR_PID" ] && kill -TERM "$COLLECTOR_PID" 2>/dev/null && wait "$COLLECTOR_PID" 2>/dev/null
	audit_stop
	"$DL" unload --discard-pending > /dev/null 2>&1
	[ -n "${DRYLOCK_VM_RESULTS:-}" ] && cp -r "$T" "$DRYLOCK_VM_RESULTS/upgrade" 2>/dev/null
}
trap cleanup EXIT

start_collector() {  # start_collector LOG [ENV=VAL...]: 0 when ready
	local log=$1
	shift
	run_collector "$log" "$@" -- --enforce --policy "$T/policy" --db "$T/db"
}
# stored_deny: one connect to the denied destination, then 0 once the
# collector has stored its deny
stored_deny() {
	local pid
	"$C" 127.0.0.2 9 > /dev/null 2>&1 &
	pid=$!
	wait "$pid"
	poll 30 sh -c "[ \"\$(sqlite3 -batch -noheader -cmd '.timeout 10000' '$T/db' \
		'select count(*) from events where tgid=$pid and verdict=2')\" = 1 ]"
}
# link_of PROG: "<link id> <program tag>" of the link pinned for PROG
link_of() {
	local lj pid
	lj=$(bpftool -j link show pinned "$PIN/links/$1" 2>/dev/null) || return 1
	pid=$(printf '%s' "$lj" | python3 -c 'import json,sys; print(json.load(sys.stdin)["prog_id"])') || return 1
	printf '%s %s\n' "$(printf '%s' "$lj" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')" \
		"$(bpftool -j prog show id "$pid" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tag"])')"
}
link_exists() { bpftool -j link show id "$1" > /dev/null 2>&1; }
denied() { "$C" 127.0.0.2 9 > /dev/null 2>&1; [ $? = 1 ]; }
upgrade_records() {
	ausearch --input "$T/audit/audit.log" -m USER_MAC_CONFIG_CHANGE --raw 2>/dev/null | grep -F "op=upgrade"
}
# set_locked 0|1: dl_config.locked (bytes 76..79 of the value), as `drylock lock` would
set_locked() {
	local v
	v=$(bpftool -j map lookup pinned "$PIN/dl_config" key 0 0 0 0 |
		python3 -c 'import json,sys
v=[int(x,16) for x in json.load(sys.stdin)["value"]]
v[76:80]=[int(sys.argv[1]),0,0,0]
print(" ".join(str(x) for x in v))' "$1") || return 1
	# shellcheck disable=SC2086
	bpftool map update pinned "$PIN/dl_config" key 0 0 0 0 value $v
}

# refused PART WHAT MESSAGE [ENV=VAL...]: `drylock run` (with ENV) must fail,
# its log must say MESSAGE and name `drylock unload`, and the pinned
# dl_net_connect link must still hold build A's program
refused() {
	local part=$1 what=$2 msg=$3 alive tag
	shift 3
	start_collector "$T/$part.log" "$@"
	alive=$?
	[ $alive = 0 ] && stop_collector
	wait "$COLLECTOR_PID" 2>/dev/null
	COLLECTOR_PID=
	read -r _ tag <<< "$(link_of dl_net_connect)"
	if [ $alive != 0 ] && grep -qF "$msg" "$T/$part.log" && grep -q "drylock unload" "$T/$part.log" &&
		[ "$tag" = "$A_TAG" ]; then
		tap_ok "$part: $what: refused with \"$msg\" and \`drylock unload\`, nothing changed"
	else
		tap_not_ok "$part: $what: refused" "alive $alive, tag $tag (A $A_TAG); $(tail -n 5 "$T/$part.log")"
	fi
}

cat > "$T/policy" <<'P'
policy upgrade
net deny up-9 addr=127.0.0.2/32 port=9 op=connect
net deny up-bind addr=127.0.0.1/32 port=4444 op=bind
P
mkdir -p "$T/objB" "$T/objM"
cp "$OBJ1" "$T/objB/net.bpf.o"
cp "$OBJ2" "$T/objM/net.bpf.o"

"$DL" unload --discard-pending > /dev/null 2>&1
audit_start "$T/audit" || tap_not_ok "private auditd starts" "$(cat "$T/audit/auditd.out" 2>&1)"

# ---- a: build A enforcing ---------------------------------------------------
if ! start_collector "$T/a.log"; then
	tap_not_ok "a: collector with build A starts" "$(tail -n 20 "$T/a.log")"
	tap_done
	exit
fi
tap_ok "a: collector with build A starts"
if denied; then tap_ok "a: connect to the denied destination gets EPERM"; else tap_not_ok "a: connect to the denied destination gets EPERM"; fi
read -r A_LINK A_TAG <<< "$(link_of dl_net_connect)"
read -r A_BLINK A_BTAG <<< "$(link_of dl_net_bind)"
tap_diag "build A: dl_net_connect link $A_LINK tag $A_TAG; dl_net_bind link $A_BLINK tag $A_BTAG"
stop_collector

# ---- b: upgrade to build B under a stream of denied connects -----------------
rm -f "$T/stop"
(
	while [ ! -e "$T/stop" ]; do
		"$C" -n 200 127.0.0.2 9 2>&1
	done > "$T/loop.out"
) &
LOOP_PID=$!
runs_so_far() { grep -c '^eperm=' "$T/loop.out"; }
poll 30 sh -c "grep -q '^eperm=' '$T/loop.out'"
before=$(runs_so_far)
if start_collector "$T/b.log" DRYLOCK_BPF_OBJ_DIR="$T/objB"; then
	tap_ok "b: collector with build B starts"
else
	tap_not_ok "b: collector with build B starts" "$(tail -n 20 "$T/b.log")"
fi
after=$(runs_so_far)
poll 30 sh -c "[ \$(grep -c '^eperm=' '$T/loop.out') -ge $((after + 3)) ]"
touch "$T/stop"
wait "$LOOP_PID"
LOOP_PID=
runs=$(runs_so_far)
# a run of 200 connects that all got EPERM prints errno=EPERM and eperm=200/200
bad=$(grep -cvE '^(errno=EPERM|eperm=200/200)$' "$T/loop.out")
if [ "$runs" -gt "$before" ] && [ "$bad" = 0 ]; then
	tap_ok "b: every one of $((runs * 200)) connects through the upgrade got EPERM ($before runs of 200 before build B's collector started, $((runs - after)) after it was ready)"
else
	tap_not_ok "b: every connect through the upgrade got EPERM" \
		"runs $runs (before $before), lines not all EPERM: $bad; $(grep -vE '^(errno=EPERM|eperm=200/200)$' "$T/loop.out" | head -n 5)"
fi
read -r B_LINK B_TAG <<< "$(link_of dl_net_connect)"
read -r B_BLINK B_BTAG <<< "$(link_of dl_net_bind)"
tap_diag "build B: dl_net_connect link $B_LINK tag $B_TAG; dl_net_bind link $B_BLINK tag $B_BTAG"
how=$(sed -n 's/.*upgraded dl_net_connect (hook socket_connect): program tag [0-9a-f]* -> [0-9a-f]*, \([a-z_]*\).*/\1/p' "$T/b.log")
if [ -n "$B_TAG" ] && [ "$B_TAG" != "$A_TAG" ] && [ -e "$PIN/links/dl_net_connect" ]; then
	tap_ok "b: the pin links/dl_net_connect stays and holds a program with another tag"
else
	tap_not_ok "b: the pin stays and holds B's program" "A $A_LINK $A_TAG, B $B_LINK $B_TAG"
fi
case $how in
link_update)
	if [ "$B_LINK" = "$A_LINK" ]; then tap_ok "b: link_update: the link id stays ($A_LINK)"
	else tap_not_ok "b: link_update: the link id stays" "A $A_LINK, B $B_LINK"; fi ;;
relink)
	if [ "$B_LINK" != "$A_LINK" ] && ! link_exists "$A_LINK"; then
		tap_ok "b: relink (the kernel has no link update for LSM links): new link $B_LINK under the same pin, old link $A_LINK detached"
	else
		tap_not_ok "b: relink: new link under the pin, old one gone" "A $A_LINK, B $B_LINK, $(bpftool link show id "$A_LINK" 2>&1)"
	fi ;;
*)
	tap_not_ok "b: the journal says how dl_net_connect was upgraded" "$(grep -i upgrad "$T/b.log")" ;;
esac
tap_diag "upgrade method on this kernel: ${how:-none}"
if [ "$B_BLINK" = "$A_BLINK" ] && [ "$B_BTAG" = "$A_BTAG" ]; then
	tap_ok "b: dl_net_bind, the same code in both builds, is untouched"
else
	tap_not_ok "b: dl_net_bind untouched" "A $A_BLINK $A_BTAG, B $B_BLINK $B_BTAG"
fi
if poll 30 sh -c "ausearch --input '$T/audit/audit.log' -m USER_MAC_CONFIG_CHANGE --raw 2>/dev/null |
	grep -F 'op=upgrade' | grep -F 'hook=socket_connect prog=dl_net_connect old_tag=$A_TAG new_tag=$B_TAG how=$how' |
	grep -q 'res=success'"; then
	tap_ok "b: USER_MAC_CONFIG_CHANGE op=upgrade names the hook, program, old and new tag"
else
	tap_not_ok "b: audit op=upgrade record" "$(ausearch --input "$T/audit/audit.log" -m USER_MAC_CONFIG_CHANGE --raw 2>&1 | tail -n 3)"
fi
n_up=$(upgrade_records | wc -l)
if [ "$n_up" = 1 ]; then tap_ok "b: one program replaced, one record"; else tap_not_ok "b: one upgrade record" "$(upgrade_records)"; fi
if stored_deny; then
	tap_ok "b: build B's decisions are stored (the record ABI both builds share)"
else
	tap_not_ok "b: B's decision stored" "$(sqlite3 "$T/db" "select tgid, verdict from events order by rowid desc limit 3" 2>&1)"
fi
stop_collector

# ---- c: the same build again changes nothing; build A again goes back --------
start_collector "$T/c1.log" DRYLOCK_BPF_OBJ_DIR="$T/objB" || tap_not_ok "c: restart with B" "$(tail "$T/c1.log")"
stop_collector
read -r C_LINK C_TAG <<< "$(link_of dl_net_connect)"
if [ "$C_LINK $C_TAG" = "$B_LINK $B_TAG" ] && ! grep -q upgraded "$T/c1.log"; then
	tap_ok "c: the same build again: nothing replaced"
else
	tap_not_ok "c: the same build again: nothing replaced" "B $B_LINK $B_TAG, now $C_LINK $C_TAG; $(grep upgraded "$T/c1.log")"
fi
start_collector "$T/c2.log" || tap_not_ok "c: restart with A" "$(tail "$T/c2.log")"
stop_collector
read -r C_LINK C_TAG <<< "$(link_of dl_net_connect)"
if [ "$C_TAG" = "$A_TAG" ] && grep -q "upgraded dl_net_connect" "$T/c2.log"; then
	tap_ok "c: build A again: A's program is back under the pin"
else
	tap_not_ok "c: build A again" "tag $C_TAG, A $A_TAG; $(grep -i upgrad "$T/c2.log")"
fi

# ---- d: a locked engine is not upgraded -------------------------------------
if set_locked 1; then
	n_before=$(upgrade_records | wc -l)
	if start_collector "$T/d.log" DRYLOCK_BPF_OBJ_DIR="$T/objB"; then
		tap_ok "d: a locked engine's collector starts with build B"
	else
		tap_not_ok "d: a locked engine's collector starts" "$(tail -n 20 "$T/d.log")"
	fi
	read -r _ D_TAG <<< "$(link_of dl_net_connect)"
	if [ "$D_TAG" = "$A_TAG" ] && grep -q "is locked (\`drylock lock\`) until reboot" "$T/d.log" &&
		! grep -q "upgraded" "$T/d.log"; then
		tap_ok "d: locked: build B refused with a message, A's program stays"
	else
		tap_not_ok "d: locked: upgrade refused" "tag $D_TAG (A $A_TAG); $(grep -i -e lock -e upgrad "$T/d.log")"
	fi
	if stored_deny; then
		tap_ok "d: locked: the collector keeps collecting with the pinned programs"
	else
		tap_not_ok "d: locked: collecting goes on"
	fi
	stop_collector
	sleep 1
	if [ "$(upgrade_records | wc -l)" = "$n_before" ]; then tap_ok "d: locked: no op=upgrade record"
	else tap_not_ok "d: locked: no op=upgrade record" "$(upgrade_records | tail -n 2)"; fi
	set_locked 0 || tap_not_ok "d: unlock for the next part"
else
	tap_not_ok "d: set dl_config.locked with bpftool"
fi

# ---- e: a pinned map this build cannot share --------------------------------
refused e "a pinned map of another size" "dl_net_lpm has 4096 entries, this build's 8192" \
	DRYLOCK_BPF_OBJ_DIR="$T/objM"
if denied; then tap_ok "e: the attached programs keep enforcing"; else tap_not_ok "e: still enforcing"; fi

# ---- f: an engine pinned by a build before record ABI v2 --------------------
# Such a build pinned a per-CPU dl_counts of 1,024 entries (one per rule, no
# generation halves) and no dl_rule_mode: replace this engine's pins with
# those (the programs keep their own maps, and keep deciding)
rm -f "$PIN/dl_counts" "$PIN/dl_rule_mode"
if bpftool map create "$PIN/dl_counts" type percpu_array key 4 value 24 entries 1024 name dl_counts; then
	refused f "an engine from before ABI v2" "dl_counts has 1024 entries, this build's 2048"
	if [ ! -e "$PIN/dl_rule_mode" ]; then tap_ok "f: the refused run pinned no dl_rule_mode"
	else tap_not_ok "f: the refused run pinned no dl_rule_mode"; fi
	if denied; then tap_ok "f: the attached programs keep enforcing"; else tap_not_ok "f: still enforcing"; fi
	if "$DL" unload --db "$T/db" > "$T/f-unload.log" 2>&1 && start_collector "$T/f2.log" && denied; then
		tap_ok "f: \`drylock unload\` then \`drylock run\`, as the message says: enforcing again"
	else
		tap_not_ok "f: unload then run" "$(tail -n 5 "$T/f-unload.log" "$T/f2.log" 2>&1)"
	fi
	[ -n "$COLLECTOR_PID" ] && stop_collector
else
	tap_not_ok "f: make a 1024-entry dl_counts pin with bpftool"
fi

tap_done
