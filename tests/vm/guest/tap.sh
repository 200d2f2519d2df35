# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# TAP helpers for the guest test scripts (sourced). Every test name ends with
# the running kernel release in brackets, so one TAP stream that covers the
# whole matrix still says which kernel failed. The plan is printed at the end
# (tap_done), which TAP allows.
#
#   tap_ok NAME / tap_not_ok NAME [DIAG-TEXT]     one result
#   tap_check NAME CMD [ARG...]                   ok iff CMD exits 0; on failure
#                                                 its output becomes diagnostics
#   tap_skip NAME REASON
#   tap_diag TEXT                                 "# " lines (stdout)
#   tap_done                                      plan; exit 1 if anything failed
#   poll SECONDS CMD [ARG...]                     retry CMD every 0.2 s
#
# and what the guest scripts that run drylock share:
#   guest_setup NAME ARG [VAR...]    the preamble: build, src, DL, Q, C, N, K, T
#   collector_start LOG [ENV...] [-- RUN-ARGS...]   drylock run, until ready
#   collector_stop [SIGNAL]          stop it (SIGTERM) and reap it
#   sql DB QUERY                     sqlite3 rows, fields separated by |

TAP_N=0
TAP_FAILED=0
TAP_KERNEL=$(uname -r)

tap_diag() {
	[ -n "$*" ] || return 0
	printf '%s\n' "$*" | sed 's/^/# /'
}
tap_ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1 [$TAP_KERNEL]"
}
tap_not_ok() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $1 [$TAP_KERNEL]"
	shift
	tap_diag "$*"
}
tap_skip() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1 [$TAP_KERNEL] # SKIP $2"
}
tap_check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		tap_ok "$name"
	else
		tap_not_ok "$name" "command failed (exit $?): $*
$out"
	fi
}
tap_done() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" = 0 ]
}
poll() {
	local deadline=$(($(date +%s) + $1))
	shift
	while :; do
		"$@" && return 0
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# A collector in the background (needs $DL and $T):
#   run_collector LOG [NAME=VALUE...] -- [RUN-OPTIONS...]
#     `$DL run --ready-file $T/ready RUN-OPTIONS` with those variables set,
#     output in LOG; 0 once it is ready, 1 if it exited first. COLLECTOR_PID.
#   stop_collector: SIGTERM (it drains and stops), reaped.
COLLECTOR_PID=
run_collector() {
	local log=$1 envs=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	rm -f "$T/ready"
	env ${envs[@]+"${envs[@]}"} "$DL" run --ready-file "$T/ready" "$@" > "$log" 2>&1 &
	COLLECTOR_PID=$!
	poll 120 sh -c "[ -e '$T/ready' ] || ! kill -0 $COLLECTOR_PID 2>/dev/null"
	[ -e "$T/ready" ] && kill -0 "$COLLECTOR_PID" 2>/dev/null
}
stop_collector() {
	[ -n "$COLLECTOR_PID" ] || return 0
	kill -TERM "$COLLECTOR_PID" 2>/dev/null
	wait "$COLLECTOR_PID" 2>/dev/null
	COLLECTOR_PID=
}

# A private auditd whose log is $1/audit.log (AUDIT.md, Testing): started by
# audit_start DIR, stopped by audit_stop (tools/private-auditd.sh).
# shellcheck source=../../../tools/private-auditd.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../tools" && pwd)/private-auditd.sh"
AUDITD_PID=
audit_start() {
	private_auditd_start "$1"
	local rc=$?
	AUDITD_PID=$PRIVATE_AUDITD_PID
	return $rc
}
audit_stop() {
	private_auditd_stop
	AUDITD_PID=
}

# load_module NAME: insmod a module of the guest's kernel (and what its
# depends= and softdep=pre: name) from DRYLOCK_VM_MODULES_DIR, decompressed first (busybox's
# insmod: the host userland may have no kmod); 0 if loaded or built in.
load_module() {
	local n=$1 f d ko
	[ -d "/sys/module/$n" ] || [ -d "/sys/module/${n//-/_}" ] && return 0
	[ -n "${DRYLOCK_VM_MODULES_DIR:-}" ] || return 1
	f=$(find "$DRYLOCK_VM_MODULES_DIR/kernel" \( -name "$n.ko*" -o -name "${n//_/-}.ko*" \) -print -quit)
	[ -n "$f" ] || return 1
	ko=$(mktemp /tmp/module.XXXXXX.ko)
	case $f in
	*.xz) xz -dc "$f" > "$ko" ;;
	*.zst) zstd -qdc "$f" > "$ko" ;;
	*.gz) gzip -dc "$f" > "$ko" ;;
	*) cp "$f" "$ko" ;;
	esac || return 1
	for d in $(tr '\0' '\n' < "$ko" | sed -n 's/^depends=//p' | head -n1 | tr ',' ' '); do
		load_module "$d" || return 1
	done
	# softdep=pre: names what init needs at run time (libcrc32c: crc32c)
	for d in $(tr '\0' '\n' < "$ko" | sed -n 's/^softdep=pre: *//p' | head -n1); do
		load_module "$d" || load_module "${d}_generic" || true
	done
	busybox insmod "$ko" 2>/dev/null
	rm -f "$ko"
	[ -d "/sys/module/$n" ] || [ -d "/sys/module/${n//-/_}" ]
}

# guest_setup NAME ARG [VAR...]: the preamble of a guest script. build is
# ARG (the script's first argument) or $DRYLOCK_BUILD_DIR; src the source
# tree; DL, Q, C, N and K are that build's drylock, drylock-query,
# dlconnect, dlnet and dlkvm; T a new directory /tmp/NAME.XXXXXX. Bails out
# (TAP "Bail out!", exit 1) without a build directory or when a program
# named by one of the VARs (DL, Q, C, N, K) is not built.
# shellcheck disable=SC2034 # the variables are for the sourcing script
build='' src='' DL='' Q='' C='' N='' K='' T=''
# shellcheck disable=SC2034
guest_setup() {
	local name=$1 v
	build=${2:-${DRYLOCK_BUILD_DIR:-}}
	[ -n "$build" ] || { echo "Bail out! no build dir (argument or DRYLOCK_BUILD_DIR)"; exit 1; }
	shift 2
	src=${DRYLOCK_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
	DL=$build/collector/drylock
	Q=$build/query/drylock-query
	C=$build/tests/vm/dlconnect
	N=$build/tests/vm/dlnet
	K=$build/tests/vm/dlkvm
	for v in "$@"; do
		[ -x "${!v}" ] || { echo "Bail out! ${!v} not built"; exit 1; }
	done
	T=$(mktemp -d "/tmp/$name.XXXXXX")
}

# collector_start LOG [ENV...] [-- RUN-ARGS...]: `drylock run COLLECTOR_ARGS
# RUN-ARGS --ready-file $T/ready` in the background, run by env(1) with ENV
# (VAR=VAL, or -i for an empty environment), output to LOG; waits up to
# 120 s until it collects. COLLECTOR_ARGS (an array, empty unless the script
# sets it) holds what every start of a script passes (its --policy, --db).
# COLLECTOR_PID is its pid. 0 when it collects, 1 when it exited.
COLLECTOR_PID=
COLLECTOR_ARGS=()
collector_start() {
	local log=$1 envs=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	rm -f "$T/ready"
	env ${envs[@]+"${envs[@]}"} "$DL" run ${COLLECTOR_ARGS[@]+"${COLLECTOR_ARGS[@]}"} "$@" \
		--ready-file "$T/ready" > "$log" 2>&1 &
	COLLECTOR_PID=$!
	poll 120 sh -c "[ -e '$T/ready' ] || ! kill -0 $COLLECTOR_PID 2>/dev/null"
	[ -e "$T/ready" ] && kill -0 "$COLLECTOR_PID" 2>/dev/null
}
# collector_stop [SIGNAL]: SIGTERM (as systemctl stop) or SIGNAL to the
# collector, and reap it; nothing when none runs.
collector_stop() {
	[ -n "$COLLECTOR_PID" ] || return 0
	kill "-${1:-TERM}" "$COLLECTOR_PID" 2>/dev/null
	wait "$COLLECTOR_PID" 2>/dev/null
	COLLECTOR_PID=
}
# sql DB QUERY: the rows, one a line, fields separated by |; waits up to 10 s
# for the collector's write lock. (Scripts with one database redefine it.)
sql() { sqlite3 -batch -noheader -cmd '.timeout 10000' "$1" "$2" 2>&1; }
