#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The hook benchmark: boots each kernel of the matrix under QEMU (the test
# harness, tests/vm/vm.sh) and runs bench/hook/guest.sh there: the added cost
# per operation of drylock's net programs when the destination is not
# policed, next to an empty LSM program on the same hooks (the floor).
# Usage: bench/hook/run.sh [KERNEL...]   (default: 6.1 6.12 newest)
#   N=20000 ROUNDS=7 BUILD=build   (environment)
# Not part of the test suite: figures are ratios measured in one boot; TCG
# makes absolute times meaningless (docs/benchmarks.md).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$here/$BUILD ;; esac
meson compile -C "$BUILD" > /dev/null
kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || kernels=(6.1 6.12 newest)
for k in "${kernels[@]}"; do
	flock /tmp/drylock-vm.lock "$here/tests/vm/vm.sh" --kernel "$k" --timeout 1200 -- \
		"$here/bench/hook/guest.sh" "$BUILD" "$here" "${N:-20000}" "${ROUNDS:-7}"
done
