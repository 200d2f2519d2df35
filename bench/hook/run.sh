#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The hook benchmark: boots each kernel of the matrix under QEMU (the test
# harness, tests/vm/vm.sh) and runs bench/hook/guest.sh there: the added cost
# per operation of drylock's net programs when the destination is not
# policed, next to an empty LSM program on the same hooks (the floor).
# Usage: bench/hook/run.sh [KERNEL...]   (default: 6.1 6.12 newest)
#   N=20000 ROUNDS=7 BUILD=build   (environment)
#   MODES=connect CONFIGS=empty,unmatched   (subsets while iterating)
#   SMP=1: boot the guest with one vCPU (default 2)
#   TCG_THREAD=single: all vCPUs on one host thread (default multi, one host
#   thread per vCPU as QEMU does by default and as every figure in
#   docs/benchmarks.md was measured; the test suite boots with single, see
#   tests/vm/vm.sh)
#   BASE=REV: also measure the collector of git revision REV (built in
#   $BASE_DIR, default ../drylock-bench-base next to this checkout, outside
#   /tmp, which the guest does not see) as "baseline": the CPU target then
#   compares with it in the same boot
#   HOOKBENCH_LOCKED=1: the caller holds /tmp/drylock-vm.lock already (e.g.
#   flock /tmp/drylock-vm.lock env HOOKBENCH_LOCKED=1 bench/hook/run.sh);
#   otherwise each kernel's boot takes it.
# Not part of the test suite: figures are ratios measured in one boot; TCG
# makes absolute times meaningless (docs/benchmarks.md).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$here/$BUILD ;; esac
meson compile -C "$BUILD" > /dev/null
if [ -n "${BASE:-}" ]; then
	bdir=${BASE_DIR:-$(dirname "$here")/drylock-bench-base}
	if [ ! -d "$bdir" ]; then
		git -C "$here" worktree add -f --detach "$bdir" "$BASE" > /dev/null
	else
		git -C "$bdir" checkout -q --detach "$BASE"
	fi
	[ -d "$bdir/build" ] || meson setup "$bdir/build" -Dbuildtype="$(meson introspect --buildoptions "$BUILD" |
		python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "buildtype"))')" \
		-Dvm_tests=disabled > /dev/null
	meson compile -C "$bdir/build" collector/drylock > /dev/null
	export DRYLOCK_BENCH_BASE=$bdir/build
fi
kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || kernels=(6.1 6.12 newest)
lock=(flock /tmp/drylock-vm.lock)
[ "${HOOKBENCH_LOCKED:-}" = 1 ] && lock=()
for k in "${kernels[@]}"; do
	"${lock[@]}" "$here/tests/vm/vm.sh" --kernel "$k" --smp "${SMP:-2}" --tcg-thread "${TCG_THREAD:-multi}" --timeout 1200 -- \
		"$here/bench/hook/guest.sh" "$BUILD" "$here" "${N:-20000}" "${ROUNDS:-7}" \
		"${MODES:-send-conn,sendto,connect,udp-connect}" "${CONFIGS:-empty,emit,unmatched,allowed,recorded,auditd}"
done
