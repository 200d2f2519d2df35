#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# One command on a fresh Debian 12 machine: install, build, and run drylock's
# main job with its built-in default policy, ending with the report. Where the
# host cannot run BPF LSM programs, the same job runs in a throwaway QEMU VM
# booting Debian's stock 6.12 kernel.
#
# Either way the job's database and drylock's audit records are kept on the
# host in quickstart-results/<time>/ (named at the end, with three queries to
# try on them), and where the job ran in the VM the end says what `drylock
# check` finds missing on this host and how to fix it.
set -euo pipefail
cd "$(dirname "$0")"
results=quickstart-results/$(date +%Y%m%d-%H%M%S)

step() { echo "quickstart: $*"; }

step "checking the Debian packages (tools/debian-packages.txt)"
tools/install-deps.sh
if [ ! -f build/build.ninja ]; then
	step "configuring the build (meson setup build)"
	meson setup build >/dev/null
fi
# ninja's [n/N] counter on one line while it builds; the whole log on failure
step "building (meson compile -C build; log in build/quickstart-build.log)"
set +e
meson compile -C build 2>&1 | tee build/quickstart-build.log | while IFS= read -r l; do
	case $l in "["[0-9]*/[0-9]*"]"*) [ -t 1 ] && printf '\r  %s ' "${l%%]*}]" ;; esac
done
rc=${PIPESTATUS[0]}
set -e
if [ -t 1 ]; then printf '\r\033[K'; fi
if [ "$rc" != 0 ]; then
	tail -n 40 build/quickstart-build.log
	step "the build failed (exit $rc): the whole log is build/quickstart-build.log"
	exit 1
fi
step "built build/collector/drylock and build/query/drylock-query"
mkdir -p "$results"

# The doctor, with the database and pins this job uses.
if build/collector/drylock --pin-dir /sys/fs/bpf/drylock-demo check --db "$results/drylock.db" \
	> "$results/check.txt" 2>&1; then
	step "drylock check: BPF LSM works here; running on this host"
	tools/demo-job.sh build "$results"
	where="this host"
else
	step "this host cannot run BPF LSM programs now (drylock check; what to fix is at the end); running the same job in a throwaway VM (Debian 6.12 kernel, QEMU)"
	step "fetching the kernel (tests/vm/kernels.sh 6.12, cached after the first time)"
	tests/vm/kernels.sh 6.12 >/dev/null
	step "booting the VM; its output follows when it powers off (about 30 s to a few minutes)"
	# vm.sh --keep leaves its results folder (made under TMPDIR) on the host;
	# the job copies the database and audit records into its demo/ subfolder
	vmtmp=$(mktemp -d "${TMPDIR:-/tmp}/drylock-quickstart.XXXXXX")
	set +e
	TMPDIR=$vmtmp tests/vm/vm.sh --kernel 6.12 --timeout 600 --keep --env DRYLOCK_VM=1 \
		-- tools/demo-job.sh "$PWD/build" 2> "$vmtmp/vm.err"
	rc=$?
	set -e
	grep -v 'results kept in' "$vmtmp/vm.err" >&2 || true
	for d in "$vmtmp"/drylock-vm.*/demo; do
		[ -d "$d" ] && cp -a "$d"/. "$results"/
	done
	rm -rf "$vmtmp"
	[ "$rc" = 0 ] || { step "the job in the VM failed (exit $rc)"; exit "$rc"; }
	where="the VM"
fi

db=$results/drylock.db
echo
if [ -s "$db" ]; then
	echo "== kept: what the job recorded in $where, in $results/"
	echo "  drylock.db   the decisions (SQLite)"
	if [ -s "$results/audit.log" ]; then
		echo "  audit.log    drylock's audit records (ausearch --input $results/audit.log -i)"
	fi
	echo
	echo "== try next"
	echo "  build/query/drylock-query --db $db denials                 # what would break, by whom"
	echo "  build/query/drylock-query --db $db suggest                 # allow rules that would fit, verified by replay"
	echo "  build/query/drylock-query --db $db timeline --chart $results/timeline.svg"
else
	step "no database came back from $where"
fi
if [ "$where" = "the VM" ]; then
	echo
	echo "== to run drylock on this host itself, drylock check says:"
	# the no lines and their fixes (the full list is in check.txt); the
	# load test's fix is the VM, which is what just ran
	awk '/^  no  /{p=1; print; next} /^  (yes|--) /{p=0}
	     /quickstart\.sh|boots Debian.s 6\.12/{vm=1; next} p && /^       /{print}
	     END{if (vm) print "       (this kernel refuses BPF LSM programs whatever is configured: the VM above is the way to try drylock here)"}' \
		"$results/check.txt"
	echo "  (the whole list: $results/check.txt, or build/collector/drylock check)"
fi
