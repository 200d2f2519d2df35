#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The boot-time service (issue 7 s7), without systemd (the guest's init is a
# shell script): the collector is started the way drylock.service starts it,
# the ExecStart= line of the built unit (build/dist/drylock.service) with
# the installed paths (/etc/drylock/drylock.policy: the example policy,
# whose policy.d/ gets a net and a kvm rule; /var/lib/drylock as
# StateDirectory= makes it), in an environment holding only PATH and what
# PassEnvironment= passes (BPF_LSM_POLICY_ENFORCE), stopped with SIGTERM as
# `systemctl stop` does. Only --ready-file is added, for the test to know
# when it collects (the unit uses sd_notify).
#   a  BPF_LSM_POLICY_ENFORCE=1: every loaded family (net and kvm) enforces
#      (status --json), a denied connect gets EPERM
#   b  stopped: the programs stay attached and enforcing
#   c  restarted without the variable: the running engine's modes are kept
#      (enforce; then, after `drylock mode permissive`, permissive; after
#      `mode enforce --family kvm`, net permissive and kvm enforcing)
#   d  restarted with BPF_LSM_POLICY_ENFORCE=1: every family enforces again
# Usage: bootsvc.sh [BUILDDIR]   (default $DRYLOCK_BUILD_DIR)

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tap.sh
. "$here/tap.sh"

guest_setup bootsvc "${1:-}" DL C
UNIT=$build/dist/drylock.service
[ -r "$UNIT" ] || { echo "Bail out! $UNIT not built"; exit 1; }
[ -e /etc/drylock ] && { echo "Bail out! /etc/drylock exists in the guest"; exit 1; }

cleanup() {
	collector_stop
	"$DL" unload --discard-pending > /dev/null 2>&1
	rm -rf /etc/drylock /var/lib/drylock
	[ -n "${DRYLOCK_VM_RESULTS:-}" ] && cp -r "$T" "$DRYLOCK_VM_RESULTS/bootsvc" 2>/dev/null
}
trap cleanup EXIT

# The unit's command line, with the build's drylock for the installed one.
read -ra EXEC <<< "$(sed -n 's/^ExecStart=//p' "$UNIT")"
case ${EXEC[0]:-}/${EXEC[1]:-} in
*/drylock/run) tap_ok "the unit's ExecStart= runs drylock: ${EXEC[*]}" ;;
*) tap_not_ok "the unit's ExecStart= runs drylock" "$(grep -n '^Exec' "$UNIT")"; tap_done; exit 1 ;;
esac
pass=$(sed -n 's/^PassEnvironment=//p' "$UNIT")
[ "$pass" = BPF_LSM_POLICY_ENFORCE ] && tap_ok "the unit passes BPF_LSM_POLICY_ENFORCE" ||
	tap_not_ok "the unit passes BPF_LSM_POLICY_ENFORCE" "PassEnvironment=$pass"

mkdir -p /etc/drylock/policy.d /var/lib/drylock
chmod 700 /var/lib/drylock
cp "$src/dist/drylock.policy" /etc/drylock/drylock.policy
cat > /etc/drylock/policy.d/50-bootsvc.policy <<'P'
net deny bs-block addr=127.0.0.2/32 port=9 proto=tcp
kvm deny single-owner
P

# start_unit LABEL [BPF_LSM_POLICY_ENFORCE=1]: the unit's start
start_unit() {
	local label=$1
	shift
	if collector_start "$T/$label.log" -i PATH="$PATH" "$@" -- "${EXEC[@]:2}"; then
		tap_ok "$label: the collector starts"
	else
		tap_not_ok "$label: the collector starts" "$(tail -n 20 "$T/$label.log")"
		collector_stop
	fi
}
# modes_are LABEL NET KVM: status --json gives these modes (and no other family)
modes_are() {
	local got
	"$DL" status --json > "$T/status.json" 2>&1
	got=$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join("%s=%s" % (f["family"], f["mode"]) for f in sorted(d["families"], key=lambda f: f["family"])))' \
		"$T/status.json" 2>&1)
	[ "$got" = "kvm=$3 net=$2" ] && tap_ok "$1: status: net $2, kvm $3" ||
		tap_not_ok "$1: status: net $2, kvm $3" "got: $got
$(cat "$T/status.json")"
}
# connect_is LABEL eperm|passes: the net rule's connect
connect_is() {
	local out rc
	out=$("$C" 127.0.0.2 9 2>&1)
	rc=$?
	out=${out//$'\n'/ }  # one line
	case $2/$rc in
	eperm/1|passes/0) tap_ok "$1: a connect to the denied destination $2 ($out)" ;;
	*) tap_not_ok "$1: a connect to the denied destination $2" "exit $rc: $out" ;;
	esac
}

"$DL" unload --discard-pending > /dev/null 2>&1
# -- a --------------------------------------------------------------------
start_unit "enforce at start" BPF_LSM_POLICY_ENFORCE=1
modes_are "BPF_LSM_POLICY_ENFORCE=1" enforce enforce
connect_is "BPF_LSM_POLICY_ENFORCE=1" eperm
# -- b --------------------------------------------------------------------
collector_stop
modes_are "stopped" enforce enforce
connect_is "stopped" eperm
# -- c --------------------------------------------------------------------
start_unit "restart without the variable"
modes_are "restart without the variable" enforce enforce
connect_is "restart without the variable" eperm
"$DL" mode permissive > "$T/mode1.log" 2>&1 || tap_not_ok "drylock mode permissive" "$(cat "$T/mode1.log")"
collector_stop
start_unit "restart after mode permissive"
modes_are "restart after mode permissive" permissive permissive
connect_is "restart after mode permissive" passes
"$DL" mode enforce --family kvm > "$T/mode2.log" 2>&1 ||
	tap_not_ok "drylock mode enforce --family kvm" "$(cat "$T/mode2.log")"
collector_stop
start_unit "restart after mode enforce --family kvm"
modes_are "restart after mode enforce --family kvm" permissive enforce
# -- d --------------------------------------------------------------------
collector_stop
start_unit "restart with the variable" BPF_LSM_POLICY_ENFORCE=1
modes_are "restart with BPF_LSM_POLICY_ENFORCE=1" enforce enforce
connect_is "restart with BPF_LSM_POLICY_ENFORCE=1" eperm
collector_stop
tap_done
