#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The installed systemd unit: `systemd-analyze verify` accepts it without a
# warning, `systemd-analyze security --offline=true` rates its exposure
# under 4.0 (it was 9.6), and the directives the collector relies on are
# there. TAP output.
#   test_unit.sh UNIT DRYLOCK MANDIR
set -u
unit=$1 drylock=$2 mandir=$3
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
if ! command -v systemd-analyze >/dev/null; then
	echo "1..0 # SKIP systemd-analyze not found (Debian package systemd)"
	exit 0
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# verify runs the unit's ExecStart= binary and man: links through the host:
# point them at this build.
sed "s|^ExecStart=[^ ]*|ExecStart=$drylock|" "$unit" >"$tmp/drylock.service"
for s in 1 5 8; do mkdir -p "$tmp/man/man$s" && cp "$mandir"/*.$s "$tmp/man/man$s/"; done
if MANPATH=$tmp/man systemd-analyze verify "$tmp/drylock.service" >"$tmp/out" 2>&1 && [ ! -s "$tmp/out" ]; then
	ok "systemd-analyze verify: no error, no warning"
else
	not_ok "systemd-analyze verify: no error, no warning"; sed 's/^/# /' "$tmp/out"
fi

systemd-analyze security --offline=true "$tmp/drylock.service" >"$tmp/sec" 2>&1
score=$(sed -n 's/.*Overall exposure level for drylock.service: \([0-9.]*\).*/\1/p' "$tmp/sec")
if [ -n "$score" ] && awk "BEGIN { exit !($score < 4.0) }"; then
	ok "systemd-analyze security: exposure $score, under 4.0"
else
	not_ok "systemd-analyze security: exposure '$score', want under 4.0"; grep '✗' "$tmp/sec" | sed 's/^/# /'
fi

# has DIRECTIVE=VALUE: the unit sets it (exactly this line).
has() {
	if grep -qx -- "$1" "$unit"; then ok "$1"; else not_ok "$1"; fi
}
has "Type=notify"
has "After=local-fs.target sys-fs-bpf.mount auditd.service"
has "ProtectSystem=strict"
has "ProtectKernelTunables=yes"
has "ReadWritePaths=/sys/fs/bpf"
has "StateDirectory=drylock"
has "RuntimeDirectory=drylock"
has "RuntimeDirectoryPreserve=yes"
has "UMask=0077"
has "NoNewPrivileges=yes"
has "RestrictAddressFamilies=AF_UNIX AF_NETLINK"
# Every capability the collector needs is in the bounding set, and no other.
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr ' ' '\n' | sort | tr '\n' ' ')
want="CAP_AUDIT_CONTROL CAP_AUDIT_WRITE CAP_BPF CAP_DAC_READ_SEARCH CAP_PERFMON CAP_SYS_PTRACE "
if [ "$caps" = "$want" ]; then ok "CapabilityBoundingSet: $caps"; else not_ok "CapabilityBoundingSet: '$caps', want '$want'"; fi
# The database directory the unit prepares is the one ExecStart uses.
if grep -q '^ExecStart=.* --db /var/lib/drylock/' "$unit"; then ok "ExecStart's --db is under StateDirectory"; else not_ok "ExecStart's --db is under StateDirectory"; fi

echo "1..$n"
[ "$failed" -eq 0 ]
