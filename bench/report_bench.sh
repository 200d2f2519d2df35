#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Report benchmark: drylock-query summary/top against aureport over the same
# decisions.
#
# One generated stream of N decisions (default 10,000,000; bench/gen.c, fixed
# seed) goes through the collector's ingest path into a fresh store AND, the
# same decisions, into an audit log file as USER_AVC lines in drylock's
# format (collector/auditfmt.c), one per decision, allows included, so that
# both hold exactly the same decisions. Then, in the same run and with both
# files in the page cache (each is read once first):
#   drylock-query --db DB summary      drylock-query --db DB top
#   aureport --input LOG --avc --summary
# and the ratios aureport / drylock-query; also the same two reports read
# from the store's rollup views (summary_v, top_subjects_v) with the sqlite3
# shell, which is what drylock-query can switch to (the exact SQL is below). The files are deleted afterwards
# (10M audit lines are ~6 GB; the free space is checked first).
#
# Usage: bench/report_bench.sh [N]     (BUILD=build-dir, default build)
# Prints a readable report and key=value lines (parsed by bench/run.sh).
set -euo pipefail

N=${1:-10000000}
here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$here/$BUILD ;; esac
bench=$BUILD/bench/ingest_bench
query=$BUILD/query/drylock-query
for x in "$bench" "$query"; do
	[ -x "$x" ] || { echo "report_bench: $x missing: run meson compile -C $BUILD" >&2; exit 1; }
done
for x in aureport ausearch sqlite3 bc; do
	command -v $x >/dev/null || { echo "report_bench: $x missing: apt-get install auditd sqlite3 bc" >&2; exit 1; }
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/dl-report-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
# ~640 bytes per audit line, ~45 per event in the store, plus margin.
need_kb=$(( N * 700 / 1024 + 1048576 ))
avail_kb=$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')
if [ "$avail_kb" -lt "$need_kb" ]; then
	echo "report_bench: $N decisions need ~$((need_kb / 1024)) MiB in $dir, $((avail_kb / 1024)) MiB free" >&2
	exit 1
fi

db=$dir/drylock.db
log=$dir/audit.log
echo "report benchmark: $N decisions, one stream into $db and $log"
"$bench" -n "$N" --db "$db" --audit "$log" --keep --dir "$dir" >/dev/null

# auditd's tools must parse the lines: check on a sample (the whole file
# would take ausearch minutes), and count the whole file with aureport below.
head -n 1000 "$log" > "$dir/sample.log"
found=$(ausearch --input "$dir/sample.log" -m USER_AVC --raw | grep -c 'lsm=drylock' || true)
avcs=$(aureport --input "$dir/sample.log" --summary | awk -F': ' '/Number of AVC/ { print $2 }')
if [ "$found" != 1000 ] || [ "$avcs" != 1000 ]; then
	echo "report_bench: auditd tools did not parse the sample (ausearch $found, aureport $avcs of 1000)" >&2
	exit 1
fi

now() { date +%s.%N; }
timeit() { # timeit OUTFILE CMD... -> seconds on stdout
	local out=$1 t0 t1
	shift
	t0=$(now)
	"$@" > "$out"
	t1=$(now)
	echo "$t1 - $t0" | bc -l
}

# Both sides from the page cache: each file is read right before it is
# timed (this host reclaims cold pages, so one early read is not enough).
warm() { cat "$1" > /dev/null; }
warm "$db"
t_sum=$(timeit "$dir/summary.txt" "$query" --db "$db" summary)
warm "$db"
t_top=$(timeit "$dir/top.txt" "$query" --db "$db" top)
warm "$log"
t_aur=$(timeit "$dir/aureport.txt" aureport --input "$log" --avc --summary)
# The same two reports from the store's rollup views (schema v3), which is
# what drylock-query's unfiltered summary/top can read instead of events.
warm "$db"
t_vsum=$(timeit "$dir/vsummary.txt" sqlite3 -readonly "$db" "SELECT * FROM summary_v ORDER BY 1, 2, 3, 4")
# top: aggregate per subject over the rollups (plus the events after the
# marks), then per (comm, exe, cgroup) ids, then by value (schema v3: a
# value may have several ids), keep the top 20.
warm "$db"
t_vtop=$(timeit "$dir/vtop.txt" sqlite3 -readonly "$db" "
SELECT cm.s AS comm, ex.s AS exe, cg.s AS cgroup, sum(t.n) AS count, min(t.first), max(t.last) FROM (
  SELECT s.comm, s.exe, s.cgroup, sum(a.n) AS n, min(a.first) AS first, max(a.last) AS last FROM (
    SELECT subject, sum(n) AS n, min(first) AS first, max(last) AS last FROM (
      SELECT subject, n, first, last FROM rollup_subjects
        WHERE verdict IN (SELECT id FROM verdict_names WHERE denies)
      UNION ALL
      SELECT e.subject, 1, e.ts, e.ts FROM rollup_marks m JOIN events e
        ON e.id > m.through_id AND e.id < ((m.boot + 1) << 40)
        WHERE e.verdict IN (SELECT id FROM verdict_names WHERE denies)
    ) GROUP BY subject
  ) a JOIN subjects s ON s.id = a.subject
  GROUP BY s.comm, s.exe, s.cgroup) t
LEFT JOIN strings cm ON cm.id = t.comm LEFT JOIN strings ex ON ex.id = t.exe
LEFT JOIN strings cg ON cg.id = t.cgroup
GROUP BY cm.s, ex.s, cg.s ORDER BY count DESC, cm.s, ex.s, cg.s LIMIT 20")
n_v=$(awk -F'|' '{ s += $5 } END { print s }' "$dir/vsummary.txt")
# The rollups must give drylock-query's answer: same top-20 counts.
same_top=no
# (the table's rows only: the "showing 20 of M rows" line follows them)
if [ "$(awk 'NR > 1 && !/^showing / { print $4 }' "$dir/top.txt")" = "$(awk -F'|' '{ print $4 }' "$dir/vtop.txt")" ]; then
	same_top=yes
fi
# count is the 6th column (policy version family rule verdict count ...)
n_db=$(awk 'NR > 1 { s += $6 } END { print s }' "$dir/summary.txt")
r_sum=$(echo "$t_aur / $t_sum" | bc -l)
r_top=$(echo "$t_aur / $t_top" | bc -l)
r_vsum=$(echo "$t_aur / $t_vsum" | bc -l)
r_vtop=$(echo "$t_aur / $t_vtop" | bc -l)

printf '  store                      %10d bytes (%.1f bytes/event)\n' "$(stat -c %s "$db")" \
	"$(echo "$(stat -c %s "$db") / $N" | bc -l)"
printf '  audit log                  %10d bytes\n' "$(stat -c %s "$log")"
printf '  drylock-query summary      %10.3f s  (counts add up to %s decisions)\n' "$t_sum" "$n_db"
printf '  drylock-query top          %10.3f s\n' "$t_top"
printf '  summary_v (rollups)        %10.3f s  (counts add up to %s decisions)\n' "$t_vsum" "$n_v"
printf '  top from rollup_subjects   %10.3f s  (same counts as drylock-query top: %s)\n' "$t_vtop" "$same_top"
printf '  aureport --avc --summary   %10.3f s\n' "$t_aur"
printf '  ratio aureport/summary     %10.1f x\n' "$r_sum"
printf '  ratio aureport/top         %10.1f x\n' "$r_top"
printf '  ratio aureport/summary_v   %10.1f x\n' "$r_vsum"
printf '  ratio aureport/top_v       %10.1f x\n' "$r_vtop"
echo "report_n=$N"
echo "summary_s=$t_sum"
echo "top_s=$t_top"
echo "aureport_s=$t_aur"
echo "vsummary_s=$t_vsum"
echo "vtop_s=$t_vtop"
printf 'summary_ratio=%.1f\ntop_ratio=%.1f\nvsummary_ratio=%.1f\nvtop_ratio=%.1f\n' \
	"$r_sum" "$r_top" "$r_vsum" "$r_vtop"
