#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Guest smoke test (run by vm.sh as root inside the VM): is this kernel one
# the project can run on? TAP on stdout, kernel release in every name.
#   - bpf is in the active LSM list; bpffs is mounted
#   - a private auditd starts and a user record sent with auditctl -m is
#     found by ausearch in its log
#   - each BPF object of the build (bpf/*.bpf.o, net.bpf.o at least) passes
#     the verifier (bpftool prog loadall) and attaches (bpfattach: Debian
#     12's bpftool has no autoattach; both skip a program that does not fit
#     the kernel, as the loader does); bpftool lists dl_net_connect;
#     removing the pins detaches it
# Usage: smoke.sh [BUILDDIR]   (default $DRYLOCK_BUILD_DIR)

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tap.sh
. "$here/tap.sh"

build=${1:-${DRYLOCK_BUILD_DIR:-}}
[ -n "$build" ] || { echo "Bail out! no build dir (argument or DRYLOCK_BUILD_DIR)"; exit 1; }
bpfattach=$build/tests/vm/bpfattach
T=$(mktemp -d /tmp/smoke.XXXXXX)
trap 'audit_stop; rm -rf /sys/fs/bpf/smoke /sys/fs/bpf/smoke-load' EXIT

# 1-2: the kernel side
lsm=$(cat /sys/kernel/security/lsm 2>/dev/null)
case ",$lsm," in
*,bpf,*) tap_ok "bpf lsm active" ;;
*) tap_not_ok "bpf lsm active" "/sys/kernel/security/lsm: ${lsm:-unreadable}" ;;
esac
if [ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" = bpf_fs ]; then
	tap_ok "bpffs mounted"
else
	tap_not_ok "bpffs mounted" "$(grep /sys/fs/bpf /proc/mounts)"
fi

# 3-4: audit
if audit_start "$T/audit"; then
	tap_ok "private auditd starts"
	token="drylock-smoke-$$-$RANDOM"
	out=$(auditctl -m "drylock smoke test $token" 2>&1)
	if poll 20 sh -c "ausearch --input '$T/audit/audit.log' -m USER --raw 2>/dev/null | grep -qF '$token'"; then
		tap_ok "user audit record found by ausearch"
	else
		tap_not_ok "user audit record found by ausearch" "auditctl -m: $out
$(auditctl -s 2>&1)
$(tail -n 5 "$T/audit/audit.log" 2>&1)"
	fi
else
	tap_not_ok "private auditd starts" "$(cat "$T/audit/auditd.out" 2>&1)
$(auditd -f -n -c "$T/audit" 2>&1 | head -n 20)"
	tap_not_ok "user audit record found by ausearch" "no auditd"
fi
audit_stop

# 5-: every BPF object of the build on this kernel (net.bpf.o at least)
mkdir -p /sys/fs/bpf/smoke
objs=$(ls "$build"/bpf/*.bpf.o 2>/dev/null)
grep -qxF "$build/bpf/net.bpf.o" <<< "$objs" || objs="$build/bpf/net.bpf.o
$objs"
for obj in $objs; do
	o=${obj##*/}
	if [ ! -f "$obj" ]; then
		tap_not_ok "bpftool loads $o (verifier)" "$obj not built"
		tap_not_ok "$o programs attach" "$obj not built"
		continue
	fi
	# bpftool prints libbpf's warnings, the verifier log among them, on
	# failure. The object's maps are LIBBPF_PIN_BY_NAME, so libbpf pins them
	# in /sys/fs/bpf itself (bpftool's pinmaps would conflict): remove
	# exactly the pins that appear.
	before=$(ls /sys/fs/bpf)
	# An object with one program per arity of a hook (name ending in _a<N>,
	# collector/hookfit.h) has one that this kernel's verifier refuses by
	# design; bpftool loads all or nothing, bpfattach (below) loads the
	# ones that fit, through the verifier too.
	if bpftool btf dump file "$obj" 2>/dev/null | grep -qE "FUNC '[A-Za-z0-9_]+_a[0-9]'"; then
		tap_skip "bpftool loads $o (verifier)" "programs per hook arity: bpfattach loads the fitting ones"
	elif out=$(bpftool prog loadall "$obj" /sys/fs/bpf/smoke-load 2>&1); then
		tap_ok "bpftool loads $o (verifier)"
	else
		tap_not_ok "bpftool loads $o (verifier)" "$out"
	fi
	rm -rf /sys/fs/bpf/smoke-load
	for p in $(ls /sys/fs/bpf); do
		grep -qxF "$p" <<< "$before" || rm -f "/sys/fs/bpf/$p"
	done
	if out=$("$bpfattach" "$obj" "/sys/fs/bpf/smoke/${o%%.*}" 2>&1); then
		tap_ok "$o programs attach"
	else
		tap_not_ok "$o programs attach" "$out"
	fi
done
progs=$(bpftool prog show 2>&1)
if grep -qE '^[0-9]+: lsm +name dl_net_connect ' <<< "$progs"; then
	tap_ok "bpftool prog show lists dl_net_connect"
else
	tap_not_ok "bpftool prog show lists dl_net_connect" "$progs"
fi
links=$(bpftool link show 2>&1)
# the link and program are released asynchronously (RCU): give it a moment
if grep -q 'lsm' <<< "$links" && rm -rf /sys/fs/bpf/smoke &&
   poll 20 sh -c "! bpftool prog show 2>/dev/null | grep -q 'name dl_net_connect '"; then
	tap_ok "unpinning the links detaches the programs"
else
	tap_not_ok "unpinning the links detaches the programs" "$links
$(bpftool prog show 2>&1 | grep dl_)"
fi

tap_done
