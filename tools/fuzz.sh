#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# tools/fuzz.sh [SECONDS [TARGET...]]: build the libFuzzer targets
# (tests/fuzz) and run each for SECONDS (default 15) from its seed corpus.
#
# The targets live in their own build directory, build-fuzz (override with
# DL_FUZZ_BUILDDIR), configured with CC=clang -Dfuzz=true: that build
# instruments every library for libFuzzer, ASan and UBSan, so it must not be
# the normal gcc build in ./build, which stays exactly as it was.
# Each target is a meson test (suite 'fuzz') printing one TAP line: ok with its
# executions, or not ok with the reproducer path; the fuzzer's log is in
# build-fuzz/tests/fuzz/work-<target>/fuzz.log. TARGET is e.g. policy.
# Exit: meson test's (0 when no target found anything).

set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
builddir=${DL_FUZZ_BUILDDIR:-build-fuzz}
secs=${1:-15}
shift || true
case $secs in ''|*[!0-9]*) echo "fuzz.sh: SECONDS must be a number, not '$secs'" >&2; exit 2 ;; esac

if [ ! -f "$builddir/build.ninja" ]; then
	CC=clang meson setup "$builddir" -Dfuzz=true -Dvm_tests=disabled -Dbuildtype=debugoptimized
fi
tests=()
for t in "$@"; do
	tests+=("fuzz-$t")
done
# meson's timeout is 600 s per target; scale it for longer runs
mult=$(( secs / 300 + 1 ))
DL_FUZZ_SECONDS=$secs meson test -C "$builddir" --suite fuzz --num-processes 1 \
	--timeout-multiplier "$mult" --print-errorlogs "${tests[@]}"
