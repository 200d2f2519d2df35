#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Every command is safe to mistype: with a policy loaded and enforcing and a
# collector running, `--help` and `-h` on every subcommand of drylock and
# drylock-query (and `--version`) print usage on stdout, exit 0, and change
# nothing: the pins, the kernel's drylock links, the mode, the collector and
# the enforcement (a denied connect still gets EPERM afterwards). An unknown
# option exits 2 and changes nothing either.
# Usage: cli.sh [BUILDDIR]   (default $DRYLOCK_BUILD_DIR)

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tap.sh
. "$here/tap.sh"

build=${1:-${DRYLOCK_BUILD_DIR:-}}
[ -n "$build" ] || { echo "Bail out! no build dir (argument or DRYLOCK_BUILD_DIR)"; exit 1; }
DL=$build/collector/drylock
Q=$build/query/drylock-query
N=$build/tests/vm/dlnet
T=$(mktemp -d /tmp/cli.XXXXXX)
PIN=/sys/fs/bpf/drylock
CPID=

cleanup() {
	[ -n "$CPID" ] && kill -TERM "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null
	"$DL" unload --discard-pending > /dev/null 2>&1
}
trap cleanup EXIT

cat > "$T/policy" <<'P'
policy cli
net deny v4-9 addr=127.0.0.2/32 port=9 op=connect
P
"$DL" unload --discard-pending > /dev/null 2>&1
BPF_LSM_POLICY_ENFORCE=1 "$DL" run --policy "$T/policy" --db "$T/db" --no-audit \
	--ready-file "$T/ready" > "$T/c.log" 2>&1 &
CPID=$!
poll 120 sh -c "[ -e '$T/ready' ] || ! kill -0 $CPID 2>/dev/null"
if ! [ -e "$T/ready" ]; then
	tap_not_ok "collector starts enforcing" "$(tail -n 20 "$T/c.log")"
	tap_done
	exit
fi

state() {  # what must not change: pins, links, mode, collector, enforcement
	find "$PIN" | sort
	bpftool link show 2>/dev/null | grep -c 'dl_' || true
	"$DL" status --json 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["loaded"], d["net_mode"], d["generation"])'
	kill -0 "$CPID" 2>/dev/null && echo collector-alive
	"$N" connect 127.0.0.2 9
}
state > "$T/before" 2>&1
# status reports every loaded family from the registry (mode, drops, unmatched)
fams=$("$DL" status --json 2>&1 | python3 -c 'import json,sys; d=json.load(sys.stdin)
print(" ".join("%s=%s,%d,%d" % (f["family"], f["mode"], f["kernel_drops"], f["unmatched"]) for f in d["families"]))' 2>&1)
case $fams in
net=enforce,0,*) tap_ok "status --json lists the loaded family with its mode ($fams)" ;;
*) tap_not_ok "status --json lists the loaded family with its mode" "$fams" ;;
esac
"$DL" status > "$T/status.txt" 2>&1
if grep -q '^net: enforce (records dropped by the kernel: 0, unmatched operations allowed: ' "$T/status.txt"; then
	tap_ok "status lists the loaded family with its mode"
else
	tap_not_ok "status lists the loaded family with its mode" "$(cat "$T/status.txt")"
fi
grep -q "errno=EPERM" "$T/before" || tap_not_ok "enforcing before the test" "$(cat "$T/before")"

dl_cmds=(run validate check mode status unload lock default-policy help)
q_cmds=(summary events top export ready timeline denials suggest what-if)
check_help() {  # check_help NAME CMD...
	local name=$1 out rc
	shift
	out=$("$@" 2> "$T/err"); rc=$?
	state > "$T/after" 2>&1
	if [ $rc = 0 ] && grep -qi "usage" <<< "$out" && cmp -s "$T/before" "$T/after"; then
		tap_ok "$name: usage on stdout, exit 0, nothing changed"
	else
		tap_not_ok "$name: usage on stdout, exit 0, nothing changed" "exit $rc
stdout: $(head -n 3 <<< "$out")
stderr: $(head -n 3 "$T/err")
$(diff "$T/before" "$T/after")"
	fi
}
for c in "${dl_cmds[@]}"; do
	check_help "drylock $c --help" "$DL" "$c" --help
	check_help "drylock $c -h" "$DL" "$c" -h
done
for c in "${q_cmds[@]}"; do
	check_help "drylock-query $c --help" "$Q" --db "$T/db" "$c" --help
done
check_help "drylock --help" "$DL" --help
check_help "drylock-query --help" "$Q" --help
out=$("$DL" --version 2>&1); rc=$?
if [ $rc = 0 ] && grep -q "drylock" <<< "$out"; then tap_ok "drylock --version"; else tap_not_ok "drylock --version" "exit $rc: $out"; fi
out=$("$DL" unload --bogus 2>&1); rc=$?
state > "$T/after" 2>&1
if [ $rc = 2 ] && cmp -s "$T/before" "$T/after"; then
	tap_ok "drylock unload --bogus: exit 2, nothing changed"
else
	tap_not_ok "drylock unload --bogus: exit 2, nothing changed" "exit $rc: $out
$(diff "$T/before" "$T/after")"
fi
tap_done
