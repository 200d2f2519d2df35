#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The hook benchmark inside the guest (run by bench/hook/run.sh through
# tests/vm/vm.sh). For each operation (hookloop modes: send-conn = send on a
# connected UDP socket, no destination; sendto = unconnected UDP sendto;
# connect = TCP connect to a closed port; udp-connect = connect of one UDP
# socket, repeated: the same hook with the least work and noise around it)
# and each configuration, ROUNDS
# rounds with the configurations alternated inside every round, N operations
# each (N/4 for connect). Prints per (operation, configuration): the median
# ns/op, the added cost over "none", and the ratio of drylock's added cost to
# the empty program's (the floor) and to the emit-only pipeline, each with a
# 95% bootstrap interval over the rounds; then program run time per call
# (kernel.bpf_stats_enabled) and the collector's CPU and wake-ups per stored
# event.
# Configurations:
#   none       no BPF LSM program on these hooks (auditd runs, no rules)
#   empty      empty programs on socket_connect and socket_sendmsg (floor)
#   emit       every call reserves and submits one 160-byte record, drained
#              by a ring_buffer__poll loop that only counts (naive pipeline)
#   emitfull   as emit, with the whole header filled the way drylock fills
#              it (bpf/record.bpf.h): the naive pipeline for drylock's own
#              record content (not in the default set: CONFIGS=...,emitfull)
#   unmatched  drylock, its rules cover other destinations (not policed)
#   allowed    drylock, an allow rule covers 127.0.0.0/8: every decided
#              operation is recorded and stored (allow: no audit record)
#   recorded   drylock permissive, a deny rule covers 127.0.0.0/8: every
#              decided operation is a would-deny, stored and audited
#   auditd     no BPF; auditd with -a always,exit -S connect,sendto,sendmsg
#   baseline   as recorded, with the collector of an older build (its build
#              directory in DRYLOCK_BENCH_BASE; bench/hook/run.sh BASE=REV
#              builds one): the CPU target compares against it in the same
#              boot; measured only when DRYLOCK_BENCH_BASE is set
# After each round, bench/ingest_bench stores 100,000 generated decisions
# through the collector's ingest path and through a bare INSERT loop: the
# store's floor in that round, which each consumer's CPU per event is also
# given against (a collector cannot store a row for less than a bare INSERT).
# Then whether each target of issue 10 is met (MET / NOT MET), from these
# figures: unmatched <= 1.25x empty; recorded <= 1.0x emit with its worst
# round within 1.5x of its median round; recorded <= 0.04x auditd; recorded
# CPU per stored event at most half the baseline's in the same boot (without
# a baseline, half the figure measured on 2026-11-30 for this kernel,
# docs/benchmarks.md). Each ns/op is the median of hookloop's 40 blocks; the
# spread of the "none" loop over the rounds is printed as the noise that the
# round-to-round targets must be read against.
# The configurations' order rotates from round to round.
# Usage: guest.sh BUILDDIR SRCDIR [N] [ROUNDS] [MODES] [CONFIGS]
#   MODES, CONFIGS: comma-separated subsets (while iterating), default all;
#   none is always measured.
set -u
B=$1 S=$2 N=${3:-20000} R=${4:-7}
MODES=${5:-send-conn,sendto,connect,udp-connect} CONFIGS=${6:-empty,emit,unmatched,allowed,recorded,auditd}
DL=$B/collector/drylock
BASE_DL=
if [ -n "${DRYLOCK_BENCH_BASE:-}" ]; then
	BASE_DL=$DRYLOCK_BENCH_BASE/collector/drylock
	[ -x "$BASE_DL" ] || { echo "bench: no collector at $BASE_DL" >&2; exit 1; }
	case ,$CONFIGS, in *,baseline,*) ;; *) CONFIGS=$CONFIGS,baseline ;; esac
fi
L=$B/bench/hook/hookloop
T=$(mktemp -d /tmp/hookbench.XXXXXX)
# shellcheck source=../../tools/private-auditd.sh
. "$S/tools/private-auditd.sh"

cat > "$T/unmatched.policy" <<'P'
policy bench
net deny elsewhere addr=192.0.2.0/24 op=connect
P
cat > "$T/allowed.policy" <<'P'
policy bench
net allow lo addr=127.0.0.0/8 op=connect
P
cat > "$T/recorded.policy" <<'P'
policy bench
net deny lo addr=127.0.0.0/8 op=connect
P
cp "$T/recorded.policy" "$T/baseline.policy"

private_auditd_start "$T/audit" || { echo "bench: private auditd did not start" >&2; exit 1; }
sysctl -qw kernel.bpf_stats_enabled=1

PID=
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
wakeups() { sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null || echo 0; }
stored() { sqlite3 -batch -noheader "$T/db" 'select count(*) from events' 2>/dev/null || echo 0; }
# run_time_ns run_cnt summed over the benchmark's programs
prog_stats() {
	bpftool prog show -j 2>/dev/null | python3 -c '
import json, sys
t = c = 0
for p in json.load(sys.stdin):
    if p.get("name", "").startswith(("dl_net_", "empty_", "emit_")):
        t += p.get("run_time_ns", 0); c += p.get("run_cnt", 0)
print(t, c)'
}

cfg_on() {
	rm -f "$T/ready"
	case $1 in
	empty) "$B/tests/vm/bpfattach" "$B/bench/hook/empty.bpf.o" /sys/fs/bpf/empty > /dev/null ;;
	emit|emitfull)
		"$B/bench/hook/emitdrain" "$B/bench/hook/$1.bpf.o" "$T/ready" > "$T/emit.out" 2>&1 &
		PID=$! ;;
	unmatched|allowed|recorded|baseline)
		rm -f "$T/db" "$T/db-wal" "$T/db-shm"
		dl=$DL
		[ "$1" = baseline ] && dl=$BASE_DL
		"$dl" run --policy "$T/$1.policy" --db "$T/db" --ready-file "$T/ready" > "$T/c.log" 2>&1 &
		PID=$! ;;
	auditd) auditctl -a always,exit -F arch=b64 -S connect,sendto,sendmsg -k bench > /dev/null ;;
	esac
	case $1 in emit|emitfull|unmatched|allowed|recorded|baseline)
		for _ in $(seq 600); do [ -e "$T/ready" ] && break; sleep 0.1; done ;;
	esac
	CPU0=0 WAKE0=0 STORED0=0
	if [ -n "$PID" ]; then CPU0=$(cpu_ticks "$PID"); WAKE0=$(wakeups "$PID"); fi
}
cfg_off() {  # cfg_off CONFIG ROUND
	local cpu wake ev
	if [ -n "$PID" ]; then
		sleep 0.3 # let the collector drain what the last loop produced
		cpu=$(( $(cpu_ticks "$PID") - CPU0 ))
		wake=$(( $(wakeups "$PID") - WAKE0 ))
		case $1 in
		emit|emitfull) kill -TERM "$PID"; wait "$PID" 2>/dev/null
		      ev=$(sed -n 's/^records=//p' "$T/emit.out") ;;
		*) ev=$(stored) ;;
		esac
		echo "$1 $2 $cpu $wake ${ev:-0}" >> "$T/cpu"
	fi
	case $1 in
	empty) rm -rf /sys/fs/bpf/empty ;;
	unmatched|allowed|recorded|baseline)
		kill -TERM "$PID"; wait "$PID" 2>/dev/null
		dl=$DL
		[ "$1" = baseline ] && dl=$BASE_DL
		"$dl" unload --db "$T/db" > /dev/null 2>&1 ;;
	auditd) auditctl -D -k bench > /dev/null ;;
	esac
	PID=
	# programs are freed after an RCU grace period, and under TCG the
	# trampoline's text is rewritten slowly: wait until none is left
	for _ in $(seq 50); do
		! bpftool prog show 2>/dev/null | grep -qE ' name (dl_|empty_|emit_)' && break
		sleep 0.1
	done
	sleep 0.5
}

IFS=, read -r -a modes <<< "$MODES"
IFS=, read -r -a configs <<< "none,${CONFIGS#none,}"
K=${#configs[@]}
for r in $(seq "$R"); do
	# Round r starts at a different configuration (a rotation): whatever a
	# configuration leaves behind for the next one (a collector's exit, an
	# engine's programs being freed) falls on a different one each round.
	for i in $(seq 0 $((K - 1))); do
		c=${configs[$(((i + r - 1) % K))]}
		cfg_on "$c"
		for m in "${modes[@]}"; do
			n=$N
			[ "$m" = connect ] && n=$((N / 4))
			read -r t0 c0 <<< "$(prog_stats)"
			v=$("$L" "$m" "$n" | sed -n 's/^ns_per_op=//p')
			read -r t1 c1 <<< "$(prog_stats)"
			echo "$m $c $r $v $((t1 - t0)) $((c1 - c0))" >> "$T/samples"
		done
		cfg_off "$c" "$r"
	done
	# The store's floor, in every round next to the configurations: CPU
	# per event of the collector's own ingest path and of a bare INSERT
	# loop over the same stream (bench/ingest_bench), on the tmpfs the
	# collectors write to
	TMPDIR=$T "$B/bench/ingest_bench" -n 100000 > "$T/floor.out" 2>&1 || echo "bench: ingest_bench failed" >&2
	awk -F= -v r="$r" '$1 == "ingest_cpu_eps" { i = 1e6 / $2 } $1 == "cpu_ratio" { b = $2 }
		END { if (i) { print r, "ingest_path:" i; if (b) print r, "bare_INSERT_loop:" i * b } }' \
		"$T/floor.out" >> "$T/floor"
done
private_auditd_stop
sysctl -qw kernel.bpf_stats_enabled=0
touch "$T/floor"
python3 - "$T/samples" "$T/cpu" "$(uname -r)" "$N" "$R" "$(getconf CLK_TCK)" "$MODES" "$T/floor" <<'PY'
import random, statistics as st, sys
samples, cpufile, kernel, n, r, hz, modes, floorfile = sys.argv[1:9]
MODES = [m for m in ('send-conn', 'sendto', 'connect', 'udp-connect') if m in modes.split(',')]
hz = float(hz)
S = {}   # (mode, config) -> {round: (ns/op, prog ns, prog runs)}
for line in open(samples):
    m, c, rd, v, t, k = line.split()
    S.setdefault((m, c), {})[int(rd)] = (float(v), int(t), int(k))
rounds = sorted({rd for d in S.values() for rd in d})
med = lambda xs: st.median(xs) if xs else float('nan')
def have(m, c):
    return (m, c) in S
def added(m, c, rs):
    if not have(m, c):
        return float('nan')
    return med([S[(m, c)][x][0] for x in rs]) - med([S[(m, 'none')][x][0] for x in rs])
def ratio(m, a, b, rs):
    fb = added(m, b, rs)
    return added(m, a, rs) / fb if fb > 0 else float('nan')
def boot(m, a, b):
    """95% percentile interval of the ratio over 2000 resamples of whole
    rounds (paired: a resampled round brings every configuration's sample).
    A resample whose floor is not positive has no ratio (NaN): dropped
    before sorting (NaN does not order), and counted."""
    random.seed(1)
    vals = [ratio(m, a, b, [random.choice(rounds) for _ in rounds]) for _ in range(2000)]
    ok = sorted(v for v in vals if v == v)
    if not ok:
        return (float('nan'), float('nan'), len(vals))
    return ok[int(0.025 * len(ok))], ok[max(int(0.975 * len(ok)) - 1, 0)], len(vals) - len(ok)
cfgs = [c for c in ('none', 'empty', 'emit', 'emitfull', 'unmatched', 'allowed', 'recorded', 'baseline', 'auditd') if any(have(m, c) for m in MODES)]
print(f"# kernel {kernel}: {n} operations ({int(n)//4} for connect) x {r} rounds, configurations alternated in each round (order rotated per round)")
print("# median ns/op (TCG: compare ratios, not absolute times); +X = added cost over none")
print(f"{'operation':10} " + " ".join(f"{c:>9}" for c in cfgs))
for m in MODES:
    print(f"{m:10} " + " ".join(f"{med([v[0] for v in S[(m, c)].values()]):9.0f}" for c in cfgs))
    print(f"{'  added':10} " + " ".join(f"{added(m, c, rounds):+9.0f}" for c in cfgs))
print()
print("# ratios of added cost, median over rounds [95% bootstrap interval]")
R = {}
for m in MODES:
    for a, b in (('unmatched', 'empty'), ('recorded', 'emit'), ('recorded', 'auditd'), ('allowed', 'emit'),
                 ('recorded', 'baseline'), ('recorded', 'emitfull'), ('emitfull', 'emit')):
        if not (have(m, a) and have(m, b)):
            continue
        lo, hi, dropped = boot(m, a, b)
        x = ratio(m, a, b, rounds)
        R[(m, a, b)] = (x, lo, hi)
        note = f"  ({dropped} of 2000 resamples had no positive floor)" if dropped else ""
        if x == x and lo == lo and not lo <= x <= hi:
            note += "  (the interval excludes the median: too few rounds)"
        print(f"{m:10} {a:>9} / {b:<7} {x:6.2f}  [{lo:.2f}, {hi:.2f}]{note}")
        print(f"result {kernel} {m} {a}/{b} {x:.3f} {lo:.3f} {hi:.3f}")
print()
print("# BPF program run time per call (bpf_stats), median over rounds")
for m in MODES:
    row = []
    for c in ('empty', 'emit', 'emitfull', 'unmatched', 'allowed', 'recorded', 'baseline'):
        if not have(m, c):
            continue
        per = [t / k for (v, t, k) in S[(m, c)].values() if k]
        row.append(f"{c} {med(per):6.0f} ns" if per else f"{c}      -")
    print(f"{m:10} " + ", ".join(row))
print()
print("# consumer CPU and wake-ups per stored event (all three loops of a round)")
C = {}
PER = {}   # (config, round) -> CPU us per stored event
for line in open(cpufile):
    c, rd, cpu, wake, ev = line.split()
    C.setdefault(c, []).append((int(cpu) / hz, int(wake), int(ev)))
    if int(ev) > 0:
        PER[(c, int(rd))] = 1e6 * int(cpu) / hz / int(ev)
for c in ('emit', 'emitfull', 'unmatched', 'allowed', 'recorded', 'baseline'):
    xs = [x for x in C.get(c, []) if x[2] > 0]
    if not xs:
        print(f"{c:10} no events")
        continue
    us = med([1e6 * cpu / ev for cpu, w, ev in xs])
    wk = med([w / ev for cpu, w, ev in xs])
    C[c] = us
    print(f"{c:10} {us:8.1f} us CPU/event  {wk:6.3f} wake-ups/event  ({med([x[2] for x in xs]):.0f} events/round)")
FLOOR = {}  # round -> {'ingest_path': us, 'bare_INSERT_loop': us}
for line in open(floorfile):
    rd, kv = line.split()
    k, v = kv.split(':')
    FLOOR.setdefault(int(rd), {})[k] = float(v)  # us CPU per event
if FLOOR:
    fi = med([f['ingest_path'] for f in FLOOR.values() if 'ingest_path' in f])
    fb = med([f['bare_INSERT_loop'] for f in FLOOR.values() if 'bare_INSERT_loop' in f])
    print(f"# the store's floor, every round (bench/ingest_bench -n 100000, 5% new destinations): ingest path {fi:.1f} us")
    print(f"# CPU/event, bare INSERT loop {fb:.1f} us CPU/event (medians over rounds)")
    for c in ('recorded', 'baseline'):
        xs = [PER[(c, rd)] / FLOOR[rd]['bare_INSERT_loop'] for rd in FLOOR
              if (c, rd) in PER and FLOOR[rd].get('bare_INSERT_loop')]
        if xs:
            C[c + '/floor'] = med(xs)
            print(f"{c:10} CPU/event / bare INSERT loop's in the same round: {med(xs):.2f}x [{min(xs):.2f}, {max(xs):.2f}]")
print()
# Targets of issue 10. The CPU baseline is the recorded configuration's CPU
# per stored event measured 2026-11-30 with this script (docs/benchmarks.md).
BASE_CPU = {'6.1.': 74.8, '6.12.': 56.8, '7.3.': 58.0}
base = next((v for k, v in BASE_CPU.items() if kernel.startswith(k)), None)
def verdict(ok):
    return 'MET' if ok else 'NOT MET'
print("# noise: the none loop's spread over the rounds (max - min of its per-round ns/op), next to")
print("# the median added costs; a per-round added cost is a difference with that loop, so a spread")
print("# of the same size decides the worst round by itself")
for m in MODES:
    xs = [S[(m, 'none')][x][0] for x in rounds]
    if not xs:
        continue
    line = f"{m:10} none spread {max(xs) - min(xs):8.0f} ns"
    for c in ('empty', 'unmatched', 'recorded'):
        if have(m, c):
            line += f"; {c} added (median) {added(m, c, rounds):+.0f} ns"
    print(line)
print()
print("# targets (issue 10), from the medians above [95% interval]")
for m in MODES:
    if (m, 'unmatched', 'empty') in R:
        x, lo, hi = R[(m, 'unmatched', 'empty')]
        print(f"target {kernel} {m:10} unmatched <= 1.25x empty: {x:.2f} [{lo:.2f}, {hi:.2f}] {verdict(x <= 1.25)}")
    if (m, 'recorded', 'emit') in R:
        x, lo, hi = R[(m, 'recorded', 'emit')]
        print(f"target {kernel} {m:10} recorded <= 1.0x emit: {x:.2f} [{lo:.2f}, {hi:.2f}] {verdict(x <= 1.0)}")
    if have(m, 'recorded'):
        per = sorted(S[(m, 'recorded')][x][0] - S[(m, 'none')][x][0] for x in rounds)
        md = med(per)
        ok = md > 0 and per[-1] <= 1.5 * md
        print(f"target {kernel} {m:10} recorded worst round <= 1.5x median round: worst {per[-1]:+.0f} ns, "
              f"median {md:+.0f} ns ({per[-1] / md if md > 0 else float('nan'):.2f}x) {verdict(ok)}")
    if (m, 'recorded', 'auditd') in R:
        x, lo, hi = R[(m, 'recorded', 'auditd')]
        print(f"target {kernel} {m:10} recorded <= 0.04x auditd: {x:.3f} [{lo:.3f}, {hi:.3f}] {verdict(x <= 0.04)}")
if 'recorded' in C and 'baseline' in C:
    print(f"target {kernel} recorded CPU/event <= half of the baseline's in this boot ({C['baseline']:.1f} us): "
          f"{C['recorded']:.1f} us ({C['recorded'] / C['baseline']:.2f}x) {verdict(C['recorded'] <= C['baseline'] / 2)}")
    if 'baseline/floor' in C:
        h = C['baseline/floor'] / 2
        print(f"floor  {kernel} half the baseline's CPU/event is {h:.2f}x the bare INSERT loop's, recorded's "
              f"{C['recorded/floor']:.2f}x" + ("  (the target lies below the store's floor)" if h < 1 else ""))
elif 'recorded' in C:
    if base:
        print(f"target {kernel} recorded CPU/event <= half of {base} us: {C['recorded']:.1f} us "
              f"({C['recorded'] / base:.2f}x) {verdict(C['recorded'] <= base / 2)}")
    else:
        print(f"target {kernel} recorded CPU/event: {C['recorded']:.1f} us (no baseline for this kernel)")
PY
rm -rf "$T"
