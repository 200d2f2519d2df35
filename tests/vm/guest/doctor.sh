#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Guest test of `drylock check` (the doctor): on a kernel booted the usual
# way everything it needs says yes (exit 0); then each prerequisite is broken
# in turn and the check must say no with the fix, and yes again once the fix
# is applied: bpffs unmounted, securityfs unmounted, the audit daemon
# stopped (optional: exit stays 0), a database directory that is read-only
# or missing, no kernel config to read (optional).
# Booted with an lsm= list without bpf (the vm-6.12-nobpf test: vm.sh
# --append lsm=lockdown,capability) it checks instead that the bpf line is
# no and its fix is the active list plus bpf for GRUB_CMDLINE_LINUX and
# update-grub, exit 1.
# Usage: doctor.sh [BUILDDIR]   (default $DRYLOCK_BUILD_DIR)

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tap.sh
. "$here/tap.sh"

build=${1:-${DRYLOCK_BUILD_DIR:-}}
[ -n "$build" ] || { echo "Bail out! no build dir (argument or DRYLOCK_BUILD_DIR)"; exit 1; }
DL=$build/collector/drylock
T=$(mktemp -d /tmp/doctor.XXXXXX)
PIN=/sys/fs/bpf/doctor
mkdir -p "$T/db"
trap 'audit_stop; umount "$T/ro" 2>/dev/null; rm -rf "$T"' EXIT

# check NAME ARGS...: run drylock check, output in $T/out, exit in $rc
check() {
	"$DL" --pin-dir "$PIN" check --db "$T/db/drylock.db" "$@" > "$T/out" 2> "$T/err"
	rc=$?
}
# has NAME TEXT: ok iff the last check's output has the fixed string TEXT
has() {
	if grep -qF -- "$2" "$T/out"; then tap_ok "$1"; else tap_not_ok "$1" "want: $2
$(cat "$T/out" "$T/err")"; fi
}
exit_is() { # NAME WANT
	if [ "$rc" = "$2" ]; then tap_ok "$1"; else tap_not_ok "$1" "exit $rc, want $2
$(cat "$T/out" "$T/err")"; fi
}

lsm=$(cat /sys/kernel/security/lsm 2>/dev/null)
case ",$lsm," in
*,bpf,*) ;;
*)
	# booted without bpf in the lsm= list
	check
	exit_is "check without bpf in the LSM list: exit 1" 1
	has "bpf line: no, with the active list" "  no   bpf in the active LSM list (/sys/kernel/security/lsm): $lsm (no bpf)"
	has "fix: the lsm= line is the active order plus bpf" "fix: add lsm=$lsm,bpf to GRUB_CMDLINE_LINUX in /etc/default/grub"
	has "fix: then update-grub and reboot" "then run update-grub and reboot"
	grep -q 'lsm=' /proc/cmdline && has "the lsm= already on the command line is named" "replacing the lsm= there"
	has "the last line names it" "no: bpf in the active LSM list"
	tap_diag "$(cat "$T/out")"
	tap_done
	exit
	;;
esac

# A Debian install has the kernel's config where its package put it:
# /boot/config-R (Debian 12) or /usr/lib/modules/R/config (Debian 13 on).
# The guest sees the host's /boot and /usr/lib/modules, so copy the guest
# kernel's config from the kernel cache to the same place.
rel=$(uname -r)
mods=${DRYLOCK_VM_MODULES_DIR:-/nonexistent}
if [ -r "$mods/config" ]; then
	cfg_at=/lib/modules/$rel/config
	mkdir -p "/lib/modules/$rel" && cp "$mods/config" "$cfg_at"
elif [ -r "$mods/../../../boot/config-$rel" ]; then
	cfg_at=/boot/config-$rel
	mkdir -p /boot && cp "$mods/../../../boot/config-$rel" "$cfg_at"
else
	cfg_at="(none in the kernel cache)"
fi
audit_start "$T/audit" || tap_diag "the private auditd did not start"

# 1: everything yes
check
exit_is "check on a prepared guest: exit 0" 0
if grep -E '^  (no |--)' "$T/out" >/dev/null || [ "$(grep -c '^  yes  ' "$T/out")" -lt 9 ]; then
	tap_not_ok "every check says yes" "$(cat "$T/out")"
else
	tap_ok "every check says yes"
fi
has "the last line says yes" "yes: BPF LSM programs load and attach on this kernel"
has "the load test loaded and attached" "  yes  a BPF LSM program loads and attaches"
has "kernel config read from where the package put it" "  yes  kernel built with CONFIG_BPF_LSM: CONFIG_BPF_LSM=y in $cfg_at"
tap_diag "$(cat "$T/out")"
check --json
if [ "$rc" = 0 ] && python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["ok"] is True and all(c["ok"] for c in d["checks"])' < "$T/out"; then
	tap_ok "check --json: ok true, every check ok"
else
	tap_not_ok "check --json: ok true, every check ok" "$(cat "$T/out" "$T/err")"
fi

# 2: bpffs unmounted, then the fix applied
if umount /sys/fs/bpf; then
	check
	exit_is "bpffs unmounted: exit 1" 1
	has "bpffs: no" "  no   bpffs mounted where the pins go: /sys/fs/bpf is not a bpffs mount"
	has "bpffs: the mount command" "       fix: mount -t bpf bpf /sys/fs/bpf"
	has "bpffs unmounted: the load test does not depend on it" "  yes  a BPF LSM program loads and attaches"
	has "bpffs unmounted: the last line names only it" "no: bpffs mounted where the pins go ("
	mount -t bpf bpf /sys/fs/bpf
	check
	exit_is "after the fix (mount -t bpf bpf /sys/fs/bpf): exit 0" 0
else
	tap_not_ok "umount /sys/fs/bpf" "$(grep bpf /proc/mounts)"
fi

# 3: securityfs unmounted
if umount /sys/kernel/security; then
	check
	exit_is "securityfs unmounted: exit 1" 1
	has "securityfs: no and the mount command" "       fix: mount -t securityfs securityfs /sys/kernel/security"
	has "securityfs unmounted: the LSM list is not known" "  --   bpf in the active LSM list"
	mount -t securityfs securityfs /sys/kernel/security
	check
	exit_is "after the fix (mount -t securityfs ...): exit 0" 0
else
	tap_not_ok "umount /sys/kernel/security" "$(grep security /proc/mounts)"
fi

# 4: the audit daemon stopped: optional, exit stays 0
if [ -n "$AUDITD_PID" ]; then
	check
	has "auditd running: its pid" "  yes  audit daemon running and reachable (optional): audit enabled, auditd pid $AUDITD_PID"
	audit_stop
	check
	exit_is "auditd stopped: exit 0 (optional)" 0
	has "auditd stopped: no, records go to the kernel log" "no audit daemon: records go to the kernel log (dmesg)"
	has "auditd stopped: the fix" "systemctl start auditd (apt-get install auditd)"
else
	tap_skip "auditd checks" "the private auditd did not start"
fi

# 5: the database directory
mkdir -p "$T/ro"
if mount -t tmpfs -o ro tmpfs "$T/ro"; then
	"$DL" --pin-dir "$PIN" check --db "$T/ro/drylock.db" > "$T/out" 2> "$T/err"
	rc=$?
	exit_is "read-only database directory: exit 1" 1
	has "read-only db dir: no, the reason" "  no   database directory writable: $T/ro: Read-only file system"
	has "read-only db dir: the fix" "fix: make $T/ro writable by the user that runs drylock, or --db PATH"
	[ -z "$(ls -A "$T/ro")" ] && tap_ok "read-only db dir: nothing left behind" || tap_not_ok "nothing left behind"
fi
"$DL" --pin-dir "$PIN" check --db "$T/missing/drylock.db" > "$T/out" 2> "$T/err"
rc=$?
exit_is "missing database directory: exit 1" 1
has "missing db dir: the mkdir fix" "fix: mkdir -p -m 0700 $T/missing"
check
if [ "$rc" = 0 ] && [ -z "$(ls -A "$T/db")" ]; then
	tap_ok "a writable db dir: exit 0, the probe file removed"
else
	tap_not_ok "a writable db dir: exit 0, the probe file removed" "exit $rc; $(ls -A "$T/db")"
fi

# 6: no kernel config to read: not known, optional
rm -f "/boot/config-$rel" "/lib/modules/$rel/config"
if [ ! -r /proc/config.gz ]; then
	check
	exit_is "no kernel config: exit 0 (the load test decides)" 0
	has "no kernel config: not known" "  --   kernel built with CONFIG_BPF_LSM (optional): cannot tell"
fi
[ -d "$PIN" ] && tap_not_ok "check pinned nothing" "$(ls -R "$PIN")" || tap_ok "check pinned nothing"
tap_done
