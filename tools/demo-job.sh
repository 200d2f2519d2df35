#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# drylock's main job, short: load the built-in default policy in permissive
# mode, make a few connections it would deny (and one it allows), stop the
# collector, print the report. Runs wherever BPF LSM works (the host, or the
# throwaway VM quickstart.sh boots). Usage: demo-job.sh BUILD_DIR [RESULTS_DIR]
# RESULTS_DIR receives the database (drylock.db) and drylock's audit records
# (audit.log, raw, for ausearch --input); in the VM (DRYLOCK_VM_RESULTS set
# by vm.sh) the default is DRYLOCK_VM_RESULTS/demo, which vm.sh --keep leaves
# on the host. Everything is printed on stdout, in the order it happened.
set -euo pipefail
exec 2>&1
build=$(cd "${1:?usage: demo-job.sh BUILD_DIR [RESULTS_DIR]}" && pwd)
results=${2:-}
if [ -z "$results" ] && [ -n "${DRYLOCK_VM_RESULTS:-}" ]; then
	results=$DRYLOCK_VM_RESULTS/demo
fi
drylock=$build/collector/drylock
query=$build/query/drylock-query
work=$(mktemp -d /tmp/drylock-demo.XXXXXX)
db=$work/drylock.db
pin=/sys/fs/bpf/drylock-demo

auditd_pid=
cleanup() {
	[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	[ -n "$auditd_pid" ] && kill "$auditd_pid" 2>/dev/null || true
	"$drylock" --pin-dir "$pin" unload --discard-pending >/dev/null 2>&1 || true
}
trap cleanup EXIT

# Decisions go to the Linux audit log too. Where no audit daemon runs (the
# throwaway VM), start a private one whose log is in $work.
if command -v auditd >/dev/null && ! auditctl -s 2>/dev/null | grep -q '^pid [1-9]'; then
	. "$(dirname "$0")/private-auditd.sh"
	private_auditd_start "$work/audit" || echo "demo: the private auditd did not start" >&2
	auditd_pid=$PRIVATE_AUDITD_PID
	audit_log=$work/audit/audit.log
else
	audit_log=/var/log/audit/audit.log
fi

echo "== the built-in default policy"
"$drylock" default-policy
echo
echo "== drylock run (permissive: nothing is blocked, every would-deny is recorded)"
"$drylock" --pin-dir "$pin" run --db "$db" --ready-file "$work/ready" 2>"$work/collector.log" &
pid=$!
for _ in $(seq 100); do [ -s "$work/ready" ] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if [ ! -s "$work/ready" ]; then
	cat "$work/collector.log"
	echo "demo: the collector did not start"
	exit 1
fi
# the collector's lines so far (load, attach), before the traffic they precede
log_seen=$(wc -l < "$work/collector.log")
sed 's/^/  /' "$work/collector.log"

try() { # try HOST PORT: a TCP connect with a short timeout, errors shown, never fatal
	if timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>"$work/err"; then r=connected; else r=$(tr -d '\n' <"$work/err" | sed 's/.*: //'); fi
	printf '  connect %-18s -> %s\n' "$1:$2" "${r:-timed out}"
}
echo "== some traffic"
try 169.254.169.254 80   # cloud metadata: rule metadata-v4
try 127.0.0.1 25         # SMTP: rule smtp-out
try 127.0.0.1 25
try 127.0.0.1 8080       # no rule: allowed, not recorded
sleep 1
echo "== drylock run stops (SIGTERM: the last batch is stored, the programs stay attached until unload)"
kill -TERM "$pid"; wait "$pid" || true; pid=
tail -n +"$((log_seen + 1))" "$work/collector.log" | sed 's/^/  /'
echo
echo "== drylock-query summary"
"$query" --db "$db" summary
echo
echo "== drylock-query events"
"$query" --db "$db" events
echo
echo "== the same decisions in the Linux audit log: ausearch -m USER_AVC -sv yes -i (would-deny)"
sleep 0.5
ausearch --input "$audit_log" -m USER_AVC -sv yes -i 2>&1 | grep -v '^----' || true
echo
sleep 0.5
echo "== lifecycle: ausearch -m USER_MAC_POLICY_LOAD,USER_MAC_STATUS -i"
ausearch --input "$audit_log" -m USER_MAC_POLICY_LOAD,USER_MAC_STATUS -i 2>&1 | grep -v '^----' || true
echo
if [ -n "$results" ]; then
	mkdir -p "$results"
	cp "$db" "$results/drylock.db"
	[ ! -s "$db-wal" ] || cp "$db-wal" "$results/drylock.db-wal"
	ausearch --input "$audit_log" -m USER_AVC,USER_MAC_POLICY_LOAD,USER_MAC_STATUS --raw \
		> "$results/audit.log" 2>/dev/null || true
	if [ -n "${DRYLOCK_VM_RESULTS:-}" ]; then
		echo "demo: database and audit records saved for the host (vm.sh --keep)"
	else
		echo "demo: database and audit records copied to $results"
	fi
else
	echo "database kept at $db (sqlite3 $db 'select * from events_v')"
fi
