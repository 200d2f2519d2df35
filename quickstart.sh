#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# One command on a fresh Debian 12 machine: install, build, and run drylock's
# main job with its built-in default policy, ending with the report. Where the
# host cannot run BPF LSM programs, the same job runs in a throwaway QEMU VM
# booting Debian's stock 6.12 kernel.
set -euo pipefail
cd "$(dirname "$0")"
tools/install-deps.sh
if [ ! -f build/build.ninja ]; then
	meson setup build >/dev/null
fi
meson compile -C build >/dev/null
if why=$(build/collector/drylock check 2>/dev/null); then
	echo "quickstart: $why; running on this host"
	exec tools/demo-job.sh build
fi
echo "quickstart: this host cannot run BPF LSM programs (${why#no: }); running the same job in a throwaway VM (Debian 6.12 kernel, QEMU)"
tests/vm/kernels.sh 6.12 >/dev/null
exec tests/vm/vm.sh --kernel 6.12 --timeout 600 --env DRYLOCK_VM=1 -- tools/demo-job.sh "$PWD/build"
