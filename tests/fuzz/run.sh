#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# run.sh FUZZER SEED_DIR WORK_DIR: run one libFuzzer target for
# $DL_FUZZ_SECONDS (default 15) seconds and report one TAP result.
#   - seeds are read from SEED_DIR (checked in, never written); new inputs go
#     to WORK_DIR/corpus, crashes, leaks, timeouts and OOMs to WORK_DIR/artifacts/
#   - ok: the run ended without a finding; the comment gives the executions
#   - not ok: the finding's reproducer path and the command that replays it
# The fuzzer's own output is in WORK_DIR/fuzz.log (and shown on failure);
# scratch files of the targets in WORK_DIR/tmp, emptied at the next run.
set -u
exe=$1 seeds=$2 work=$3
secs=${DL_FUZZ_SECONDS:-15}
name=$(basename "$exe")
# the targets' scratch files (sandboxes, stores) go under WORK_DIR/tmp
rm -rf "$work/tmp"
mkdir -p "$work/corpus" "$work/artifacts" "$work/tmp"
export TMPDIR=$work/tmp
log=$work/fuzz.log

echo "1..1"
"$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds" > "$log" 2>&1 < /dev/null
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
grep -E '^#[0-9]+[[:space:]]+DONE|^Done ' "$log" | sed 's/^/# /'
if [ "$rc" = 0 ]; then
	echo "ok 1 - $name: ${execs:-?} executions in ${secs} s (${speed:-?}/s, ${cov:-cov: ?}), no finding"
	exit 0
fi
repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
sed 's/^/# /' "$log" | tail -60
echo "not ok 1 - $name: exit $rc after ${execs:-?} executions; reproducer: ${repro:-none written}"
[ -n "$repro" ] && echo "# replay: $exe $repro"
exit 1
