#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Second stage of the guest init (PID 1 after switch_root into the host's
# root seen read-only over 9p, with a tmpfs overlay). Runs the host's own
# bash and tools. Mounts what the tests need, brings up lo, runs the job
# vm.sh left in the results export and writes its output and exit code back:
#   /run/vm-results/job      (from vm.sh) sets JOB_CWD, JOB_ARGV, JOB_HOST_TMP
#                            (entries of the host's /tmp to keep) and exports
#   /run/vm-results/stdout, stderr (this script's messages, then the job's)
#   /run/vm-results/rc       written last (atomically): the job's exit code
# then powers the guest off. Messages from this script go to stderr of the
# job (so they reach the host) prefixed with "vm:".

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LC_ALL=C TERM=dumb

poweroff_now() {
	sync
	echo o > /proc/sysrq-trigger
	sleep 10
	exit 1   # PID 1 exiting panics; panic=-1 plus -no-reboot ends QEMU
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
# the guest gets a fresh /tmp, but the job may live in the host's /tmp (a
# checkout or build dir there): keep the host's /tmp reachable and bind back
# the top-level entries the job names (JOB_HOST_TMP, from vm.sh)
mkdir -p /.vm-host-tmp
mount --bind /tmp /.vm-host-tmp
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t securityfs securityfs /sys/kernel/security
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
ip link set lo up 2>/dev/null || ifconfig lo up

R=/run/vm-results
mkdir -p "$R"
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 results "$R"; then
	echo "vm-stage2: cannot mount the results export"
	poweroff_now
fi

exec 2> "$R/stderr"
lsm=$(cat /sys/kernel/security/lsm 2>/dev/null)
case ",$lsm," in
*,bpf,*) ;;
*) echo "vm: warning: bpf is not in the active LSM list ($lsm)" >&2 ;;
esac

run_job() {
	local t
	# shellcheck disable=SC1091
	. "$R/job" || return 125
	for t in ${JOB_HOST_TMP[@]+"${JOB_HOST_TMP[@]}"}; do
		mkdir -p "/tmp/$t" && mount --bind "/.vm-host-tmp/$t" "/tmp/$t" ||
			echo "vm: cannot bind the host's /tmp/$t" >&2
	done
	export DRYLOCK_VM_RESULTS=$R
	cd "$JOB_CWD" || { echo "vm: cannot cd to $JOB_CWD" >&2; return 125; }
	"${JOB_ARGV[@]}" > "$R/stdout" < /dev/null
}
run_job
rc=$?
echo "$rc" > "$R/rc.tmp" && mv "$R/rc.tmp" "$R/rc"
poweroff_now
