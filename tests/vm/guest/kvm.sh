#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Family kvm: one VM creator at a time, with a real /dev/kvm in the guest
# (kvm + kvm_amd or kvm_intel under TCG with -cpu max). Run by vm.sh as root.
#   a  permissive: A creates a VM and holds it (owner); B's KVM_CREATE_VM
#      passes and is stored as would-deny naming hook file_ioctl, rule and
#      the owner (A's pid and comm); the same through a device node made
#      elsewhere (mknod c 10 232 on tmpfs)
#   b  enforce: B gets EPERM, stored as deny; A, the owner, still creates
#   c  A exits: the lock is released (task_free), B creates and becomes the
#      owner, and C is then refused naming B as the owner
#   d  ownership is the pair (tgid, start time of the group leader): with
#      the owner map set to D's pid but another start time (what a process
#      that reuses an old owner's pid looks like), D is refused
#   e  status lists the kvm family; drylock-query shows the refused creates
# Usage: kvm.sh [BUILDDIR]   (default $DRYLOCK_BUILD_DIR)

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tap.sh
. "$here/tap.sh"

build=${1:-${DRYLOCK_BUILD_DIR:-}}
[ -n "$build" ] || { echo "Bail out! no build dir (argument or DRYLOCK_BUILD_DIR)"; exit 1; }
DL=$build/collector/drylock
Q=$build/query/drylock-query
K=$build/tests/vm/dlkvm
for f in "$DL" "$Q" "$K"; do
	[ -x "$f" ] || { echo "Bail out! $f not built"; exit 1; }
done

T=$(mktemp -d /tmp/kvm.XXXXXX)
PIN=/sys/fs/bpf/drylock
COLLECTOR_PID=
HOLDERS=()

cleanup() {
	for fd in "${HOLDERS[@]}"; do eval "exec $fd>&-"; done
	[ -n "$COLLECTOR_PID" ] && kill -TERM "$COLLECTOR_PID" 2>/dev/null && wait "$COLLECTOR_PID" 2>/dev/null
	"$DL" unload --discard-pending > /dev/null 2>&1
	[ -n "${DRYLOCK_VM_RESULTS:-}" ] && cp -r "$T" "$DRYLOCK_VM_RESULTS/kvm" 2>/dev/null
}
trap cleanup EXIT

sql() { sqlite3 -batch -noheader -cmd '.timeout 10000' "$T/db" "$1" 2>&1; }
# hold NAME FD: start dlkvm NAME in hold mode fed by fd FD; sets HPID, HOUT
hold() {
	mkfifo "$T/$1.in"
	"$K" /dev/kvm hold < "$T/$1.in" > "$T/$1.out" 2>&1 &
	HPID=$!
	eval "exec $2>'$T/$1.in'"
	HOLDERS+=("$2")
	poll 30 grep -q 'pid=' "$T/$1.out"
	HOUT=$(cat "$T/$1.out")
}
release() {  # release FD PID: let a holder exit, reap it
	eval "exec $1>&-"
	wait "$2" 2>/dev/null
}
once() { "$K" "${1:-/dev/kvm}" 2>&1; }  # one create, prints pid=... ok|errno=...
rows() {  # rows PID VERDICT: stored decisions of PID with that verdict
	sql "select count(*) from events where tgid=$1 and verdict=$2"
}
wait_rows() { poll 30 sh -c "[ \"\$(sqlite3 -batch -noheader -cmd '.timeout 10000' '$T/db' \
	'select count(*) from events where tgid=$1 and verdict=$2')\" -ge ${3:-1} ]"; }

# -- a real /dev/kvm ----------------------------------------------------------
grep -qw -e svm -e vmx /proc/cpuinfo || { tap_skip "kvm family" "no svm/vmx in this guest CPU"; tap_done; exit; }
load_module kvm_amd 2>/dev/null || load_module kvm_intel 2>/dev/null
[ -e /dev/kvm ] || mknod /dev/kvm c 10 232 2>/dev/null
if ! out=$(once) || [ "${out#*ok}" = "$out" ]; then
	tap_skip "kvm family" "KVM_CREATE_VM does not work in this guest: $out"
	tap_done
	exit
fi
tap_ok "KVM_CREATE_VM works in the guest without drylock"

cat > "$T/policy" <<'P'
policy kvmtest
kvm deny single-owner
P
"$DL" run --policy "$T/policy" --db "$T/db" --no-audit --ready-file "$T/ready" > "$T/c.log" 2>&1 &
COLLECTOR_PID=$!
poll 120 sh -c "[ -e '$T/ready' ] || ! kill -0 $COLLECTOR_PID 2>/dev/null"
if ! [ -e "$T/ready" ]; then
	tap_not_ok "collector starts with the kvm family" "$(tail -n 20 "$T/c.log")"
	tap_done
	exit
fi
tap_ok "collector starts with the kvm family"

# -- a: permissive ------------------------------------------------------------
hold a 7
A=$HPID
case $HOUT in *ok*) tap_ok "A creates a VM and holds it ($HOUT)" ;; *) tap_not_ok "A creates a VM" "$HOUT" ;; esac
out=$(once)
B=${out#pid=}; B=${B%% *}
case $out in *ok*) tap_ok "permissive: B's create passes ($out)" ;; *) tap_not_ok "permissive: B's create passes" "$out" ;; esac
if wait_rows "$B" 1; then
	got=$(sql "select h.name, r.rule_id, o.k1, o.text, o.k2 from events e join hook_names h on h.id = e.hook
		join rules r on r.policy = e.policy and r.idx = e.rule join objects o on o.id = e.object where e.tgid = $B")
	[ "$got" = "file_ioctl|single-owner|$A|dlkvm|$((0xAE01))" ] &&
		tap_ok "permissive: B stored as would-deny naming the owner A ($got)" ||
		tap_not_ok "permissive: B stored as would-deny naming the owner A" "got '$got', want file_ioctl|single-owner|$A|dlkvm|$((0xAE01))"
else
	tap_not_ok "permissive: B stored as would-deny" "$(sql 'select tgid, hook, verdict from events')"
fi
mknod "$T/kvm-elsewhere" c 10 232
out=$("$K" "$T/kvm-elsewhere" 2>&1)
P2=${out#pid=}; P2=${P2%% *}
if wait_rows "$P2" 1; then
	tap_ok "a /dev/kvm node made elsewhere is recognised by its device number"
else
	tap_not_ok "a /dev/kvm node made elsewhere is recognised" "$out; $(sql 'select tgid, hook, verdict from events')"
fi

# -- b: enforce ---------------------------------------------------------------
"$DL" mode enforce > "$T/mode.log" 2>&1 || tap_not_ok "drylock mode enforce" "$(cat "$T/mode.log")"
out=$(once)
B=${out#pid=}; B=${B%% *}
case $out in
*errno=EPERM*) tap_ok "enforce: B's create is refused with EPERM" ;;
*) tap_not_ok "enforce: B's create is refused with EPERM" "$out" ;;
esac
wait_rows "$B" 2 && tap_ok "enforce: B stored as deny" || tap_not_ok "enforce: B stored as deny" "$(sql 'select tgid, verdict from events')"
"$DL" status --json > "$T/status.json" 2>&1
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); f={x["family"]: x["mode"] for x in d["families"]}; sys.exit(f.get("kvm") != "enforce")' "$T/status.json"; then
	tap_ok "status --json lists the kvm family enforcing"
else
	tap_not_ok "status --json lists the kvm family enforcing" "$(cat "$T/status.json")"
fi

# -- c: the owner exits, the next creator becomes owner -------------------------
release 7 "$A"
got=
for _ in $(seq 1 50); do  # task_free runs after the parent reaped A and an RCU grace period
	got=$(bpftool map dump pinned "$PIN/dl_kvm_owner" 2>/dev/null | tr -d '\n')
	case $got in *'"tgid": 0,'*) break ;; esac
	sleep 0.2
done
case $got in
*'"tgid": 0,'*) tap_ok "A's exit releases the lock" ;;
*) tap_not_ok "A's exit releases the lock" "$got" ;;
esac
hold b 8
B=$HPID
case $HOUT in *ok*) tap_ok "enforce: after A exits, B creates a VM ($HOUT)" ;; *) tap_not_ok "after A exits, B creates a VM" "$HOUT" ;; esac
out=$(once)
C=${out#pid=}; C=${C%% *}
case $out in *errno=EPERM*) tap_ok "enforce: C is refused while B owns the lock" ;; *) tap_not_ok "C is refused while B owns" "$out" ;; esac
if wait_rows "$C" 2; then
	got=$(sql "select o.k1 from events e join objects o on o.id = e.object where e.tgid = $C")
	[ "$got" = "$B" ] && tap_ok "C's record names B as the owner" || tap_not_ok "C's record names B as the owner" "got $got, want $B"
else
	tap_not_ok "C stored as deny" "$(sql 'select tgid, verdict from events')"
fi

# -- d: a reused pid is not the owner -----------------------------------------
mkfifo "$T/d.in"
"$K" /dev/kvm wait < "$T/d.in" > "$T/d.out" 2>&1 &
D=$!
exec 9>"$T/d.in"
HOLDERS+=(9)
poll 30 grep -q ready "$T/d.out"
# owner := { start_ns = 1, tgid = D } : D's pid with a start time that is not D's
le64() { local v=$1 i; for i in 0 1 2 3 4 5 6 7; do printf '%d ' $(((v >> (8 * i)) & 255)); done; }
bpftool map update pinned "$PIN/dl_kvm_owner" key 0 0 0 0 value $(le64 1) $(le64 "$D") \
	0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 > "$T/upd.log" 2>&1 || tap_not_ok "set the owner map" "$(cat "$T/upd.log")"
echo go >&9
wait "$D"
out=$(cat "$T/d.out")
case $out in
*errno=EPERM*) tap_ok "a process with the owner's pid but another start time is refused" ;;
*) tap_not_ok "a process with the owner's pid but another start time is refused" "$out" ;;
esac

# -- e: per-rule mode: the family permissive, its rule enforcing --------------
"$DL" mode permissive > /dev/null 2>&1
if "$DL" mode enforce --rule single-owner > "$T/rmode.log" 2>&1; then
	out=$(once)
	case $out in
	*errno=EPERM*) tap_ok "family permissive, rule single-owner switched to enforce: refused with EPERM" ;;
	*) tap_not_ok "family permissive, rule single-owner switched to enforce: refused" "$out" ;;
	esac
	"$DL" mode family --rule single-owner > "$T/rmode.log" 2>&1
	out=$(once)
	case $out in
	*ok*) tap_ok "the rule back to its family's mode: passes as a would-deny ($out)" ;;
	*) tap_not_ok "the rule back to its family's mode: passes" "$out; $(cat "$T/rmode.log")" ;;
	esac
else
	tap_not_ok "drylock mode enforce --rule single-owner" "$(cat "$T/rmode.log")"
fi

# -- f: reports ---------------------------------------------------------------
release 8 "$B"
kill -TERM "$COLLECTOR_PID" 2>/dev/null
wait "$COLLECTOR_PID" 2>/dev/null
COLLECTOR_PID=
"$Q" --db "$T/db" --json events --family kvm > "$T/events.json" 2>&1
if python3 -c 'import json,sys
rows = json.load(open(sys.argv[1]))
ok = [r for r in rows if r.get("proto") == "KVM_CREATE_VM" and r.get("hook") == "file_ioctl" and r.get("addr")]
sys.exit(0 if len(ok) >= 4 else 1)' "$T/events.json"; then
	tap_ok "drylock-query events --family kvm shows the refused creates with the owner"
else
	tap_not_ok "drylock-query events --family kvm" "$(head -c 2000 "$T/events.json")"
fi
tap_done
