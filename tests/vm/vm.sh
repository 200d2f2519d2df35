#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vm.sh: run one command as root inside a QEMU guest booting a stock Debian
# kernel, with the host's whole userland visible (virtme-style).
#
# Usage: vm.sh --kernel LABEL [options] -- COMMAND [ARG...]
#   --kernel LABEL   6.1, 6.12 or newest (fetched by kernels.sh if not cached)
#   --timeout S      kill the guest after S seconds (default 900)
#   --mem SIZE       guest memory (default 2G)     --smp N   vCPUs (default 2)
#   --tcg-thread single|multi
#                    one host thread for all vCPUs, or one per vCPU (default
#                    single, or $DRYLOCK_VM_TCG_THREAD: see below)
#   --append ARGS    extra kernel command line arguments
#   --env NAME=VAL   export NAME=VAL to COMMAND (repeatable); every DRYLOCK_*
#                    variable of the caller is exported as well
#   --keep           keep the results folder (its path is printed on stderr)
#
# How: the host root is exported read-only over 9p (tag hostroot) and a
# results folder writable (tag results). A busybox initramfs (built here,
# cached per kernel next to the kernels) loads the virtio/9p/overlay modules
# of that kernel, puts a tmpfs overlay on the host root and switch_roots;
# stage 2 (init-stage2.sh) mounts proc, sys, devtmpfs, tmpfs /tmp and /run,
# securityfs, bpffs, cgroup2, brings up lo, runs COMMAND in the caller's
# working directory, writes its stdout, stderr and exit code into the results
# folder and powers off. No KVM: QEMU runs TCG (-cpu max).
#
# Exit: COMMAND's exit code; 3 if the guest never reported (panic, timeout,
# stage 1 failure: the last 40 console lines are printed on stderr; a boot
# that ends before the job starts is tried up to three times);
# 2 usage or setup error.

set -uo pipefail

prog=${0##*/}
here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
die() { echo "$prog: $*" >&2; exit 2; }
usage() { sed -n '3,/^$/s/^# \{0,1\}//p' "$0"; }

label= timeout=900 mem=2G smp=2 append= keep=0 tcgthread=${DRYLOCK_VM_TCG_THREAD:-single}
envs=()
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) label=${2-}; shift 2 || die "--kernel needs a label" ;;
	--timeout) timeout=${2-}; shift 2 || die "--timeout needs seconds" ;;
	--mem) mem=${2-}; shift 2 || die "--mem needs a size" ;;
	--smp) smp=${2-}; shift 2 || die "--smp needs a number" ;;
	--tcg-thread) tcgthread=${2-}; shift 2 || die "--tcg-thread needs single or multi" ;;
	--append) append=${2-}; shift 2 || die "--append needs arguments" ;;
	--env) envs+=("${2-}"); shift 2 || die "--env needs NAME=VALUE" ;;
	--keep) keep=1; shift ;;
	-h|--help) usage; exit 0 ;;
	--) shift; break ;;
	*) usage >&2; die "unknown argument '$1'" ;;
	esac
done
[ -n "$label" ] || die "--kernel LABEL is required (6.1, 6.12, newest)"
[ $# -gt 0 ] || die "no COMMAND given (after --)"
case $timeout in ''|*[!0-9]*) die "--timeout wants whole seconds" ;; esac
case $tcgthread in single|multi) ;; *) die "--tcg-thread wants single or multi, got '$tcgthread'" ;; esac

cache=${DRYLOCK_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drylock/kernels}
if [ ! -r "$cache/$label.env" ]; then
	"$here/kernels.sh" "$label" >&2 || die "cannot fetch kernel $label"
fi
# shellcheck disable=SC1090
. "$cache/$label.env" || die "cannot read $cache/$label.env"
[ -f "$VMLINUZ" ] && [ -d "$MODULES_DIR" ] ||
	die "kernel $label not in the cache any more: run kernels.sh $label"

qemu=$(command -v qemu-system-x86_64) || die "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
busybox=
for b in /bin/busybox /usr/bin/busybox $(command -v busybox); do
	# a static busybox: ldd fails on it (the initramfs has no libc)
	if [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then busybox=$b; break; fi
done
[ -n "$busybox" ] || die "no static busybox found (apt-get install busybox-static)"
command -v cpio >/dev/null || die "cpio not found (apt-get install cpio)"

# ---- initramfs, cached per kernel release and content ----------------------

# modules the guest needs; each pulls in what its depends= names
want_modules=(virtio_pci 9pnet_virtio 9p overlay)

find_module() {  # name -> path of its .ko[.xz|.zst|.gz], or nothing
	local n=$1 alt=${1//_/-}
	find "$MODULES_DIR/kernel" \( -name "$n.ko*" -o -name "$alt.ko*" \) -print -quit
}
is_builtin() {
	grep -Eq "/(${1}|${1//_/-})\.ko\$" "$MODULES_DIR/modules.builtin" 2>/dev/null
}
decompress() {  # file -> stdout
	case $1 in
	*.ko.xz) xz -dc "$1" ;;
	*.ko.zst) zstd -qdc "$1" ;;
	*.ko.gz) gzip -dc "$1" ;;
	*) cat "$1" ;;
	esac
}

order=()       # module names, dependencies first
declare -A seen=()
add_module() {
	local n=$1 f d deps
	[ -z "${seen[$n]-}" ] || return 0
	seen[$n]=1
	f=$(find_module "$n")
	if [ -z "$f" ]; then
		is_builtin "$n" && return 0
		die "module $n neither in $MODULES_DIR nor built in"
	fi
	deps=$(decompress "$f" | tr '\0' '\n' | sed -n 's/^depends=//p' | head -n1)
	for d in ${deps//,/ }; do add_module "$d"; done
	order+=("$n")
}

build_initramfs() {
	local m key tmp i=10 f
	for m in "${want_modules[@]}"; do add_module "$m"; done
	key=$({ cat "$here/init-stage1.sh" "$here/init-stage2.sh" "$busybox";
		echo "$KERNEL_RELEASE ${order[*]}"; } | sha256sum | cut -c1-16)
	initramfs=$cache/initramfs/$KERNEL_RELEASE-$key.cpio.gz
	[ -f "$initramfs" ] && return 0
	mkdir -p "$cache/initramfs"
	tmp=$(mktemp -d) || die "mktemp failed"
	mkdir -p "$tmp/bin" "$tmp/modules"
	cp "$busybox" "$tmp/bin/busybox"
	cp "$here/init-stage1.sh" "$tmp/init"
	cp "$here/init-stage2.sh" "$tmp/stage2"
	chmod 0755 "$tmp/init" "$tmp/stage2"
	for m in "${order[@]}"; do
		f=$(find_module "$m")
		decompress "$f" > "$tmp/modules/$i-$m.ko" || die "cannot decompress $f"
		i=$((i + 1))
	done
	(cd "$tmp" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) > "$initramfs.tmp" ||
		die "cpio failed"
	# older builds for this kernel (other stage scripts) are of no more use
	find "$cache/initramfs" -name "$KERNEL_RELEASE-*.cpio.gz" ! -name "${initramfs##*/}.tmp" -delete
	mv "$initramfs.tmp" "$initramfs"
	rm -rf "$tmp"
	echo "$prog: built $initramfs (modules: ${order[*]:-none})" >&2
}
build_initramfs

# ---- job -------------------------------------------------------------------

res=$(mktemp -d "${TMPDIR:-/tmp}/drylock-vm.XXXXXX") || die "mktemp failed"
chmod 0777 "$res"
cleanup() { [ $keep = 1 ] && echo "$prog: results kept in $res" >&2 || rm -rf "$res"; }
trap cleanup EXIT
{
	printf 'JOB_CWD=%q\n' "$PWD"
	printf 'JOB_ARGV=('; printf '%q ' "$@"; printf ')\n'
	# top-level entries of the host's /tmp that the cwd or an argument lives
	# in: the guest's fresh /tmp would hide them (init-stage2.sh binds them)
	printf 'JOB_HOST_TMP=('
	for p in "$PWD" "$@"; do
		case $p in /tmp/?*) p=${p#/tmp/}; printf '%q ' "${p%%/*}" ;; esac
	done
	printf ')\n'
	printf 'export DRYLOCK_VM_KERNEL=%q\n' "$label"
	# the guest kernel's modules, for tests that load one (sctp, kvm)
	printf 'export DRYLOCK_VM_MODULES_DIR=%q\n' "$MODULES_DIR"
	while IFS='=' read -r n _; do
		printf 'export %s=%q\n' "$n" "${!n}"
	done < <(env | grep -E '^DRYLOCK_[A-Za-z0-9_]*=' | grep -v '^DRYLOCK_VM_')
	for e in ${envs[@]+"${envs[@]}"}; do
		[[ $e == [A-Za-z_]*=* ]] || die "--env wants NAME=VALUE, got '$e'"
		printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"
	done
} > "$res/job"

cmdline="console=ttyS0 quiet loglevel=1 panic=-1 rdinit=/init $append"
# Why one host thread for all vCPUs by default: with a thread per vCPU (MTTCG)
# the 6.12 guest twice oopsed on an int3 that its own text patching
# (text_poke_bp: static keys in boot, a BPF trampoline's call site while a
# test attached programs) had already replaced on the other vCPU. With one
# thread the vCPUs take turns and the suite took as long (docs/testing.md).
# A guest kernel under TCG occasionally oopses in early boot, before any of
# our code runs (seen on 6.12: int3 in sched_clock_cpu while debugfs is set
# up). A boot that ended before stage 2 opened its stderr in the results
# folder ran nothing, so it is retried (twice at most) and said so; a guest
# that died later, or timed out, is reported as it is.
boots=3
start=$(date +%s.%N)
for boot in $(seq 1 $boots); do
	timeout -k 10 "$timeout" "$qemu" \
		-nographic -no-reboot -accel tcg,thread="$tcgthread" -cpu max -smp "$smp" -m "$mem" \
		-kernel "$VMLINUZ" -initrd "$initramfs" -append "$cmdline" \
		-nic none -device virtio-rng-pci \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$res,mount_tag=results,security_model=none,multidevs=remap" \
		< /dev/null > "$res/console" 2>&1
	qrc=$?
	[ -e "$res/stderr" ] || [ -f "$res/rc" ] && break
	[ $qrc = 124 ] || [ $qrc = 137 ] && break
	[ "$boot" -lt $boots ] || break
	echo "$prog: $label ($KERNEL_RELEASE): boot $boot ended before the job started (QEMU exited with $qrc); booting again. Its last console lines:" >&2
	sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g; s/\r$//' "$res/console" |
		grep -E 'panic|Oops|RIP:|BUG|stage1|vm-stage' | tail -n 5 | sed 's/^/  /' >&2
	cp "$res/console" "$res/console.boot$boot"
done
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')

[ -f "$res/stdout" ] && cat "$res/stdout"
[ -f "$res/stderr" ] && cat "$res/stderr" >&2
if [ -f "$res/rc" ]; then
	rc=$(cat "$res/rc")
	printf '%s: %s (%s): exit %s after %s s\n' "$prog" "$label" "$KERNEL_RELEASE" "$rc" "$elapsed" >&2
	exit "$rc"
fi
if [ $qrc = 124 ] || [ $qrc = 137 ]; then why="timed out after $timeout s"; else why="QEMU exited with $qrc"; fi
echo "$prog: $label ($KERNEL_RELEASE): the guest never reported ($why); last 40 console lines:" >&2
# without the terminal escapes SeaBIOS writes
sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g; s/\r$//' "$res/console" | tail -n 40 >&2
exit 3
