# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# A private auditd for tests and the demo (sourced): its configuration and log
# live in one directory, so it never touches /var/log/audit (../shared/AUDIT.md).
#   private_auditd_start DIR   start `auditd -n -c DIR`, log DIR/audit.log;
#                              returns once the kernel names it the audit
#                              daemon (PRIVATE_AUDITD_PID is set), 1 on timeout
#   private_auditd_stop
PRIVATE_AUDITD_PID=
private_auditd_start() {
	local d=$1 i
	mkdir -p "$d/plugins.d"
	# auditd refuses to start unless space_left > admin_space_left
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
	PRIVATE_AUDITD_PID=$!
	for i in $(seq 200); do
		auditctl -s 2>/dev/null | grep -q "^pid $PRIVATE_AUDITD_PID\$" && return 0
		kill -0 "$PRIVATE_AUDITD_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
private_auditd_stop() {
	[ -n "$PRIVATE_AUDITD_PID" ] || return 0
	kill "$PRIVATE_AUDITD_PID" 2>/dev/null
	wait "$PRIVATE_AUDITD_PID" 2>/dev/null
	PRIVATE_AUDITD_PID=
}
