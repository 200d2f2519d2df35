#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The hook benchmark inside the guest (run by bench/hook/run.sh through
# tests/vm/vm.sh). For each operation (hookloop modes) and each
# configuration, ROUNDS rounds alternating the configurations, N operations
# each; prints one line per (operation, configuration) with the median
# ns/op, then the added cost over no program and the ratio to the empty
# program's added cost (the floor).
# Configurations:
#   none      no BPF LSM program on the hooks
#   empty     empty programs on socket_connect and socket_sendmsg (the floor)
#   unmatched drylock loaded, its rules cover other destinations (the lookup
#             finds nothing: "not policed")
# Usage: guest.sh BUILDDIR [N] [ROUNDS]
set -u
B=$1 N=${2:-20000} R=${3:-7}
DL=$B/collector/drylock
L=$B/bench/hook/hookloop
T=$(mktemp -d /tmp/hookbench.XXXXXX)
cat > "$T/policy" <<'P'
policy bench
net deny elsewhere addr=192.0.2.0/24 op=connect
P

cfg_on() {
	case $1 in
	empty) "$B/tests/vm/bpfattach" "$B/bench/hook/empty.bpf.o" /sys/fs/bpf/empty > /dev/null ;;
	unmatched)
		"$DL" run --policy "$T/policy" --db "$T/db" --no-audit --ready-file "$T/ready" > "$T/c.log" 2>&1 &
		echo $! > "$T/pid"
		for _ in $(seq 300); do [ -e "$T/ready" ] && break; sleep 0.1; done ;;
	esac
}
cfg_off() {
	case $1 in
	empty) rm -rf /sys/fs/bpf/empty ;;
	unmatched)
		kill -TERM "$(cat "$T/pid")"; wait "$(cat "$T/pid")" 2>/dev/null
		rm -f "$T/ready"
		"$DL" unload --db "$T/db" > /dev/null 2>&1 ;;
	esac
	sleep 0.5 # links are released after an RCU grace period
}

configs=(none empty unmatched)
modes=(send-conn sendto connect)
for r in $(seq "$R"); do
	for c in "${configs[@]}"; do
		cfg_on "$c"
		for m in "${modes[@]}"; do
			"$L" "$m" "$N" | sed -n "s/^ns_per_op=/$m $c /p" >> "$T/samples"
		done
		cfg_off "$c"
	done
done
python3 - "$T/samples" "$(uname -r)" "$N" "$R" <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
kernel, n, r = sys.argv[2], sys.argv[3], sys.argv[4]
med = {}
for m, c, v in rows:
    med.setdefault((m, c), []).append(float(v))
print(f"# kernel {kernel}, {n} operations x {r} rounds, configurations alternated; median ns/op")
print(f"{'operation':10} {'none':>8} {'empty':>8} {'drylock':>8} {'+empty':>8} {'+drylock':>9} {'ratio':>6}")
for m in ('send-conn', 'sendto', 'connect'):
    a, e, d = (st.median(med[(m, c)]) for c in ('none', 'empty', 'unmatched'))
    fe, fd = e - a, d - a
    ratio = fd / fe if fe > 0 else float('nan')
    print(f"{m:10} {a:8.0f} {e:8.0f} {d:8.0f} {fe:+8.0f} {fd:+9.0f} {ratio:6.2f}")
    print(f"result {kernel} {m} none={a:.0f} empty={e:.0f} drylock={d:.0f} ratio={ratio:.2f}")
PY
rm -rf "$T"
