#!/bin/busybox sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# /init of the busybox initramfs built by vm.sh (runs as PID 1 in the guest).
# Loads the modules vm.sh put in /modules (already in dependency order,
# decompressed), mounts the host root read-only over 9p (tag hostroot) with a
# tmpfs overlay on top, and switch_roots into it running /vm-stage2 (a copy
# of init-stage2.sh placed in the overlay's upper layer).
# Any failure here prints a line starting with "vm-stage1:" on the console and
# powers off; vm.sh then reports that the guest never answered.

/bin/busybox mkdir -p /proc /sys /dev /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

fail() {
	echo "vm-stage1: $*"
	echo o > /proc/sysrq-trigger
	sleep 5
	exit 1
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

for m in /modules/*.ko; do
	[ -e "$m" ] || continue
	insmod "$m" || fail "insmod $m failed"
done

mkdir -p /mnt/lower /mnt/rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot /mnt/lower ||
	fail "mounting the host root over 9p failed"
mount -t tmpfs -o mode=0755 tmpfs /mnt/rw || fail "tmpfs for the overlay failed"
mkdir -p /mnt/rw/upper /mnt/rw/work
mount -t overlay overlay -o lowerdir=/mnt/lower,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work /newroot ||
	fail "overlay mount failed"
cp /stage2 /newroot/vm-stage2 && chmod 0755 /newroot/vm-stage2 || fail "cannot install stage 2"

umount /proc /sys
mount --move /dev /newroot/dev 2>/dev/null || umount /dev
exec switch_root /newroot /vm-stage2
