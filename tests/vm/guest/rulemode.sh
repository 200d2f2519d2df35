#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Guest tests of per-rule mode and of the per-rule counters across a reload
# (run by vm.sh as root inside the VM), with real connects, the stored rows,
# the private auditd's log and `drylock status`. TAP on stdout.
#   a  family net permissive, rule r-enf mode=enforce: its destination gets
#      EPERM (deny, enforced=1) while rule r-obs's is a would-deny
#   b  status (text and --json) lists the rule whose mode differs
#   c  `drylock mode enforce --rule r-obs` at runtime: EPERM now; audited
#      as op=setenforce rule=r-obs; an unknown rule id is refused
#   d  `drylock mode enforce|permissive --family net` keeps every rule's
#      own mode (r-perm stays permissive, r-enf and r-obs enforce)
#   e  a restart with the same policy keeps the runtime switch of r-obs; a
#      reload with another policy takes the file's mode and logs the drop
#   f  counters: a reload while connects run; the new generation's counts
#      (status rule_counts) equal the decisions stored for it, the first
#      ones included
# Usage: rulemode.sh [BUILDDIR]   (default $DRYLOCK_BUILD_DIR)

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

T=$(mktemp -d /tmp/rulemode.XXXXXX)
COLLECTOR_PID=
COLLECTOR_LOG=
NLOG=0
LOOP_PID=

cleanup() {
	[ -n "$LOOP_PID" ] && kill "$LOOP_PID" 2>/dev/null
	stop_collector
	audit_stop
	"$DL" unload --discard-pending > /dev/null 2>&1
	if [ -n "${DRYLOCK_VM_RESULTS:-}" ]; then
		cp -r "$T" "$DRYLOCK_VM_RESULTS/rulemode" 2>/dev/null
	fi
}
trap cleanup EXIT

# start_collector POLICY: drylock run in the background until ready.
start_collector() {
	NLOG=$((NLOG + 1))
	COLLECTOR_LOG=$T/collector.$NLOG.log
	rm -f "$T/ready"
	"$DL" run --policy "$1" --db "$DB" --ready-file "$T/ready" > "$COLLECTOR_LOG" 2>&1 &
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
sql() {
	sqlite3 -batch -noheader -cmd '.timeout 10000' "$DB" "$1" 2>&1
}
# connect ADDR: one TCP connect to ADDR:9 in the background; sets RC, OUT, PID
connect() {
	"$C" "$1" 9 > "$T/connect.out" 2>&1 &
	PID=$!
	wait "$PID"
	RC=$?
	OUT=$(cat "$T/connect.out")
}
stored() {  # stored TGID: waits until the decision of TGID is stored
	poll 60 sh -c "[ \"\$(sqlite3 -batch -noheader -cmd '.timeout 10000' '$DB' \
		'select count(*) from events_v where tgid=$1')\" -gt 0 ]"
}
row() {  # row TGID: verdict|enforced|rule
	sql "select verdict, enforced, rule from events_v where tgid=$1"
}
audit_has() {  # audit_has TOKEN ausearch-args...: waits up to 30 s
	local tok=$1
	shift
	poll 30 sh -c 'log=$0 tok=$1; shift
		ausearch --input "$log" "$@" --raw 2>/dev/null | grep -qF -- "$tok"' \
		"$T/audit/audit.log" "$tok" "$@"
}
# expect NAME ADDR RC WANT_ROW: connect, check the exit (0 passes the hook,
# 1 EPERM) and the stored row
expect() {
	local name=$1 addr=$2 want_rc=$3 want_row=$4 got
	connect "$addr"
	stored "$PID"
	got=$(row "$PID")
	if [ "$RC" = "$want_rc" ] && [ "$got" = "$want_row" ]; then
		tap_ok "$name"
	else
		tap_not_ok "$name" "connect exit $RC (want $want_rc): $OUT
row: $got (want $want_row)
$(collector_diag)"
	fi
}

cat > "$T/p1" <<'EOF'
policy rulemode
net deny r-enf addr=127.0.0.2/32 port=9 proto=tcp mode=enforce
net deny r-obs addr=127.0.0.4/32 port=9 proto=tcp
net deny r-perm addr=127.0.0.5/32 port=9 proto=tcp mode=permissive
EOF
# Another policy: 900 rules that match nothing in front of the same three
# (other indices), and last r-new, whose destination the reload test
# connects to. Its counter is the last one a reload used to zero, after
# every rule was installed: with this many rules, decisions made between
# its install and that zeroing were reliably lost.
{
	echo "policy rulemode"
	for i in $(seq 0 899); do
		echo "net deny fill-$i addr=10.77.$((i / 250)).$((i % 250))/32 port=9 proto=tcp"
	done
	grep '^net' "$T/p1"
	echo "net deny r-new addr=127.0.0.6/32 port=9 proto=tcp"
} > "$T/p2"
DB=$T/rm.db

"$DL" unload --discard-pending > /dev/null 2>&1
if audit_start "$T/audit"; then
	tap_ok "private auditd starts"
else
	tap_not_ok "private auditd starts" "$(cat "$T/audit/auditd.out" 2>&1)"
fi

# ---- a: one rule enforces in a permissive family ----------------------------
if start_collector "$T/p1"; then
	tap_ok "collector starts with a permissive family and a mode=enforce rule"
else
	tap_not_ok "collector starts with a permissive family and a mode=enforce rule" "$(collector_diag)"
fi
expect "mode=enforce rule in a permissive family: EPERM, deny row with enforced=1" \
	127.0.0.2 1 "deny|1|r-enf"
expect "a rule without mode= in the same family: would-deny, passes" \
	127.0.0.4 0 "would-deny|0|r-obs"

# ---- b: status lists the rule whose mode differs ------------------------------
st=$("$DL" status 2>&1)
if grep -q "^rule r-enf (net) enforce, its family permissive$" <<< "$st" && ! grep -q "^rule r-obs" <<< "$st" &&
   ! grep -q "^rule r-perm" <<< "$st"; then
	tap_ok "status lists r-enf as differing from its family, not r-obs nor r-perm (permissive like it)"
else
	tap_not_ok "status lists r-enf as differing from its family, not r-obs nor r-perm (permissive like it)" "$st"
fi
if "$DL" status --json 2>&1 | python3 -c 'import json,sys
d = json.load(sys.stdin)
m = {x["rule"]: (x["family"], x["mode"], x["family_mode"], x["file_mode"]) for x in d["rule_modes"]}
sys.exit(m != {"r-enf": ("net", "enforce", "permissive", "enforce")})'; then
	tap_ok "status --json: rule_modes holds r-enf only"
else
	tap_not_ok "status --json: rule_modes holds r-enf only" "$("$DL" status --json 2>&1)"
fi

# ---- c: runtime switch of one rule ------------------------------------------------
out=$("$DL" mode enforce --rule r-obs 2>&1); mrc=$?
if [ $mrc = 0 ] && [ "$out" = "rule r-obs (net) enforce (was permissive)" ]; then
	tap_ok "drylock mode enforce --rule r-obs"
else
	tap_not_ok "drylock mode enforce --rule r-obs" "exit $mrc: $out"
fi
expect "after the switch r-obs's destination gets EPERM, enforced=1" 127.0.0.4 1 "deny|1|r-obs"
expect "r-perm (mode=permissive) is untouched: would-deny" 127.0.0.5 0 "would-deny|0|r-perm"
if audit_has "op=setenforce lsm=drylock class=net rule=r-obs enforcing=1 old_enforcing=0" -m USER_MAC_STATUS; then
	tap_ok "the switch is audited: USER_MAC_STATUS op=setenforce ... rule=r-obs enforcing=1 old_enforcing=0"
else
	tap_not_ok "the switch is audited: USER_MAC_STATUS op=setenforce ... rule=r-obs enforcing=1 old_enforcing=0" \
		"$(ausearch --input "$T/audit/audit.log" -m USER_MAC_STATUS --raw 2>&1 | tail -n 5)"
fi
out=$("$DL" mode 2>&1)
if grep -q "^rule r-obs (net) enforce, its family permissive (switched at runtime)$" <<< "$out"; then
	tap_ok "drylock mode lists r-obs as switched at runtime"
else
	tap_not_ok "drylock mode lists r-obs as switched at runtime" "$out"
fi
out=$("$DL" mode enforce --rule nope 2>&1); mrc=$?
if [ $mrc = 1 ] && grep -q "no rule 'nope' in the loaded policy" <<< "$out"; then
	tap_ok "an unknown rule id is refused (exit 1, named)"
else
	tap_not_ok "an unknown rule id is refused (exit 1, named)" "exit $mrc: $out"
fi

# ---- d: a family switch keeps the rules' own modes --------------------------------
"$DL" mode enforce --family net > /dev/null 2>&1
expect "family net enforce: r-perm (mode=permissive) stays a would-deny" 127.0.0.5 0 "would-deny|0|r-perm"
st=$("$DL" status 2>&1)
if grep -q "^rule r-perm (net) permissive, its family enforce$" <<< "$st" && ! grep -q "^rule r-enf" <<< "$st"; then
	tap_ok "status then lists r-perm (differs from the enforcing family), not r-enf"
else
	tap_not_ok "status then lists r-perm (differs from the enforcing family), not r-enf" "$st"
fi
"$DL" mode permissive --family net > /dev/null 2>&1
expect "family net permissive again: r-enf still EPERM" 127.0.0.2 1 "deny|1|r-enf"
expect "family net permissive again: r-obs (switched at runtime) still EPERM" 127.0.0.4 1 "deny|1|r-obs"

# ---- e: restart keeps the runtime switch, reload takes the file's modes -----------
stop_collector
if start_collector "$T/p1"; then
	tap_ok "collector restarts with the same policy"
else
	tap_not_ok "collector restarts with the same policy" "$(collector_diag)"
fi
expect "restart with the same policy: r-obs keeps its runtime enforce" 127.0.0.4 1 "deny|1|r-obs"
if grep -q "1 rule mode switched at runtime kept" "$COLLECTOR_LOG"; then
	tap_ok "the restart logs the runtime switch it keeps"
else
	tap_not_ok "the restart logs the runtime switch it keeps" "$(collector_diag)"
fi

# ---- f (and e): reload with another policy while connects run -------------------
gen_before=$("$DL" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
drops_before=$("$DL" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["kernel_drops"])')
rm -f "$T/stop"
# As fast as it goes: the destination is unmatched (neither counted nor
# recorded) until the new generation's rules are installed.
( while [ ! -e "$T/stop" ]; do "$C" -n 200 127.0.0.6 9 > /dev/null 2>&1; done ) &
LOOP_PID=$!
sleep 1
stop_collector
if start_collector "$T/p2"; then
	tap_ok "collector reloads with another policy while connects run"
else
	tap_not_ok "collector reloads with another policy while connects run" "$(collector_diag)"
fi
sleep 1
touch "$T/stop"
wait "$LOOP_PID"
LOOP_PID=
expect "reload: r-obs takes the file's mode (follows the permissive family): would-deny" \
	127.0.0.4 0 "would-deny|0|r-obs"
expect "reload: r-enf keeps the file's mode=enforce at its new index" 127.0.0.2 1 "deny|1|r-enf"
if grep -q "load: rule r-obs: its runtime mode enforce is dropped: a reload takes the policy file's modes (it follows its family)" "$COLLECTOR_LOG"; then
	tap_ok "the reload logs the runtime switch it drops"
else
	tap_not_ok "the reload logs the runtime switch it drops" "$(collector_diag)"
fi
# Everything before the last connect is stored (sequence order); compare.
st=$("$DL" status --json)
gen=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])' <<< "$st")
drops=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["kernel_drops"])' <<< "$st")
kcount=$(python3 -c 'import json,sys
d = json.load(sys.stdin)
print(sum(x["allow"] + x["would-deny"] + x["deny"] for x in d["rule_counts"] if x["rule"] == "r-new"))' <<< "$st")
sha=$(sql "select policy_sha256 from loads_v where gen=$gen order by time desc limit 1")
rows=$(sql "select count(*) from events_v where rule='r-new' and policy_sha256='$sha'")
old_rows=$(sql "select count(*) from events_v where rule='r-new' and policy_sha256!='$sha'")
tap_diag "generation $gen_before -> $gen; r-new decisions: kernel count $kcount, stored rows $rows"
if [ "$drops" != "$drops_before" ]; then
	tap_skip "counters: the new generation's counts equal its stored decisions" \
		"the kernel dropped records ($drops_before -> $drops): rows cannot be compared"
elif [ "$gen" = $((gen_before + 1)) ] && [ -n "$kcount" ] && [ "$kcount" -gt 0 ] && [ "$kcount" = "$rows" ] &&
     [ "$old_rows" = 0 ]; then
	tap_ok "counters: the new generation's counts equal its stored decisions, the first ones too ($kcount)"
else
	tap_not_ok "counters: the new generation's counts equal its stored decisions, the first ones too" \
		"generation $gen_before -> $gen, kernel count $kcount, rows $rows (other policies: $old_rows)
$(python3 -c 'import json,sys
d = json.load(sys.stdin)
d["rule_counts"] = [x for x in d["rule_counts"] if not x["rule"].startswith("fill-")]
print(json.dumps(d))' <<< "$st")"
fi
if python3 -c 'import json,sys
d = json.load(sys.stdin)
c = {x["rule"]: x for x in d["rule_counts"]}
sys.exit(not (c["r-obs"]["would-deny"] == 1 and c["r-obs"]["deny"] == 0 and c["r-enf"]["deny"] == 1))' <<< "$st"; then
	tap_ok "counters: r-obs and r-enf count only this generation's decisions (1 would-deny, 1 deny)"
else
	tap_not_ok "counters: r-obs and r-enf count only this generation's decisions (1 would-deny, 1 deny)" \
		"$(grep -o '{"rule":"r-[a-z]*"[^}]*}' <<< "$st")"
fi

stop_collector
tap_done
