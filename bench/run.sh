#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# All benchmarks, one command: bench/run.sh [N]
#   N: decisions for the large runs (default 10,000,000); the memory check
#   compares 1,000,000 with N.
# Builds nothing beyond `meson compile -C $BUILD` (BUILD defaults to build;
# use a release build: meson setup build-bench -Dbuildtype=release).
# Prints every figure and a table of targets with MET / NOT MET.
# Not part of the test suite: figures depend on the machine and its load.
set -euo pipefail

N=${1:-10000000}
here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$here/$BUILD ;; esac
meson compile -C "$BUILD" >/dev/null
bench=$BUILD/bench/ingest_bench

val() { sed -n "s/^$1=//p" "$2" | tail -n 1; }
out=$(mktemp -d "${TMPDIR:-/tmp}/dl-bench-run.XXXXXX")
trap 'rm -rf "$out"' EXIT

echo "== ingest, 1,000,000 decisions"
"$bench" -n 1000000 | tee "$out/i1" | grep -v '='
echo "== ingest, $N decisions"
"$bench" -n "$N" | tee "$out/iN" | grep -v '='
echo "== reports, $N decisions"
BUILD=$BUILD "$here/bench/report_bench.sh" "$N" | tee "$out/r" | grep -v '='

eps=$(val ingest_eps "$out/iN")
cpu_eps=$(val ingest_cpu_eps "$out/iN")
ratio=$(val ratio "$out/iN")
bpe=$(val bytes_per_event "$out/iN")
rss1=$(val maxrss_kb "$out/i1")
rssN=$(val maxrss_kb "$out/iN")
sr=$(val summary_ratio "$out/r")
tr=$(val top_ratio "$out/r")
vsr=$(val vsummary_ratio "$out/r")
vtr=$(val vtop_ratio "$out/r")

met() { if [ "$(echo "$1" | bc -l)" = 1 ]; then echo MET; else echo "NOT MET"; fi; }
echo
echo "== targets ($(nproc) CPUs, $(. /etc/os-release && echo "$PRETTY_NAME"), $(date -u +%Y-%m-%d), N=$N)"
printf '%-48s %-22s %s\n' target measured result
printf '%-48s %-22s %s\n' "ingest >= 1,000,000 events/s (wall)" "$eps/s" "$(met "$eps >= 1000000")"
printf '%-48s %-22s %s\n' "  same, per CPU-second of the ingest loop" "$cpu_eps/s" "$(met "$cpu_eps >= 1000000")"
printf '%-48s %-22s %s\n' "ingest >= 0.8x bare insert loop" "${ratio}x" "$(met "$ratio >= 0.8")"
printf '%-48s %-22s %s\n' "<= 40 bytes on disk per event" "$bpe" "$(met "$bpe <= 40")"
printf '%-48s %-22s %s\n' "summary >= 50x faster than aureport (query)" "${sr}x" "$(met "$sr >= 50")"
printf '%-48s %-22s %s\n' "top >= 50x faster than aureport (query)" "${tr}x" "$(met "$tr >= 50")"
printf '%-48s %-22s %s\n' "  summary from the rollups (summary_v)" "${vsr}x" "$(met "$vsr >= 50")"
printf '%-48s %-22s %s\n' "  top from the rollups (rollup_subjects)" "${vtr}x" "$(met "$vtr >= 50")"
printf '%-48s %-22s %s\n' "memory bounded (peak RSS 1M vs N)" "${rss1} / ${rssN} KiB" \
	"$(met "$rssN <= $rss1 * 1.25 + 4096")"
