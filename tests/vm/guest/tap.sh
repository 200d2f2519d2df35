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

# A private auditd whose log is $1/audit.log (AUDIT.md, Testing): started by
# audit_start DIR, stopped by audit_stop. auditd refuses to start unless
# space_left > admin_space_left.
AUDITD_PID=
audit_start() {
	local d=$1
	mkdir -p "$d/plugins.d"
	cat > "$d/auditd.conf" <<-EOF
	local_events = yes
	write_logs = yes
	log_file = $d/audit.log
	log_format = ENRICHED
	flush = DATA
	max_log_file = 64
	max_log_file_action = IGNORE
	num_logs = 0
	priority_boost = 0
	name_format = NONE
	space_left = 2
	space_left_action = IGNORE
	admin_space_left = 1
	admin_space_left_action = IGNORE
	disk_full_action = IGNORE
	disk_error_action = IGNORE
	use_libwrap = no
	q_depth = 4000
	overflow_action = IGNORE
	plugin_dir = $d/plugins.d
	end_of_event_timeout = 2
	EOF
	auditd -n -c "$d" > "$d/auditd.out" 2>&1 &
	AUDITD_PID=$!
	# up when the kernel names it as the audit daemon
	poll 20 sh -c "auditctl -s 2>/dev/null | grep -q '^pid $AUDITD_PID\$'"
}
audit_stop() {
	[ -n "$AUDITD_PID" ] || return 0
	kill "$AUDITD_PID" 2>/dev/null
	wait "$AUDITD_PID" 2>/dev/null
	AUDITD_PID=
}
