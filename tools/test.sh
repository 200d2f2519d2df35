#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The whole test suite, and what CI runs (.ci/run calls this): as root on a
# fresh Debian 12 machine (CI=true, no stdin, no systemd) or a developer's. Installs every package the build and the tests need,
# fetches the kernel matrix, builds from scratch in ./build and runs
#     meson test -C build --print-errorlogs
# (unit tests on the host, then vm-6.1, vm-6.12 and vm-newest in QEMU, one
# at a time), then the libFuzzer targets for DL_FUZZ_SECONDS (15) s each
# from their seed corpora (tools/fuzz.sh: a clang build of its own in
# ./build-fuzz; a finding is one failure and its reproducer path is printed).
# The very last line is a plain summary `N passed, N failed`
# counting individual TAP results (ok / not ok lines) of every test; a test
# that failed without any failing TAP line counts as one failure, and so
# does a step (install, fetch, setup, compile) that fails before the tests.
# Exit: 0 when nothing failed, 1 otherwise.

set -euo pipefail

cd "$(dirname "$(readlink -f "$0")")/.."
export DEBIAN_FRONTEND=noninteractive
builddir=build

# every package the build and the tests need, one list for all scripts
mapfile -t packages < <(grep -v '^#' tools/debian-packages.txt | sed '/^$/d')

summary_printed=0
summary() {  # the very last line of the run
	[ $summary_printed = 0 ] || return 0
	summary_printed=1
	echo "$1 passed, $2 failed"
}
step_failed() {
	echo "ci: $1 failed" >&2
	summary 0 1
	exit 1
}

# auditd's postinst would start a host audit daemon (sysvinit script); the
# tests run their own auditd inside the guests, so keep the host's stopped.
created_policy_rc=0
restore_policy_rc() {
	[ $created_policy_rc = 1 ] && rm -f /usr/sbin/policy-rc.d
	created_policy_rc=0
}
trap restore_policy_rc EXIT
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\n# installed by drylock tools/test.sh while it installs packages\nexit 101\n' \
		> /usr/sbin/policy-rc.d
	chmod 0755 /usr/sbin/policy-rc.d
	created_policy_rc=1
fi

echo "ci: apt-get update" >&2
apt-get update -q < /dev/null || step_failed "apt-get update"
echo "ci: installing ${packages[*]}" >&2
apt-get install -y -q --no-install-recommends "${packages[@]}" < /dev/null ||
	step_failed "apt-get install"
restore_policy_rc

echo "ci: fetching the kernel matrix" >&2
tests/vm/kernels.sh < /dev/null || step_failed "kernel fetch (tests/vm/kernels.sh)"

rm -rf "$builddir"
meson setup "$builddir" < /dev/null || step_failed "meson setup"
meson compile -C "$builddir" < /dev/null || step_failed "meson compile"

set +e
meson test -C "$builddir" --print-errorlogs < /dev/null
test_rc=$?

# fuzzing: a separate clang build (the gcc build above stays as it is)
fuzzdir=build-fuzz
rm -rf "$fuzzdir"
echo "ci: fuzzing, ${DL_FUZZ_SECONDS:-15} s per target" >&2
DL_FUZZ_BUILDDIR=$fuzzdir tools/fuzz.sh "${DL_FUZZ_SECONDS:-15}" < /dev/null
fuzz_rc=$?
set -e
logs=("$builddir/meson-logs/testlog.json")
if [ -f "$fuzzdir/meson-logs/testlog.json" ]; then
	logs+=("$fuzzdir/meson-logs/testlog.json")
elif [ "$fuzz_rc" != 0 ]; then
	echo "ci: fuzz build (tools/fuzz.sh) failed" >&2
	test_rc=1
	logs+=("$fuzzdir/meson-logs/testlog.json")  # missing: counted as one failure
fi
[ "$fuzz_rc" = 0 ] || test_rc=1

# count TAP results per test from meson's JSON logs (one object per line)
counts=$(python3 - "${logs[@]}" <<'EOF'
import json, re, sys
passed = failed = 0
lines = []
for path in sys.argv[1:]:
    try:
        lines += open(path, encoding='utf-8', errors='replace').read().splitlines()
    except OSError as e:
        print('ci: cannot read %s: %s' % (path, e), file=sys.stderr)
        failed += 1
for line in lines:
    if not line.strip():
        continue
    t = json.loads(line)
    out = t.get('stdout') or ''
    ok = len(re.findall(r'^ok\b', out, re.M))
    nok = len(re.findall(r'^not ok\b', out, re.M))
    good = t.get('result') in ('OK', 'EXPECTEDFAIL', 'SKIP')
    if not good and nok == 0:
        nok = 1   # crashed, timed out, bailed out or missing results
        print('ci: %s: %s without a failing TAP line' % (t.get('name'), t.get('result')),
              file=sys.stderr)
    if nok and '/ fuzz-' in t.get('name', ''):
        # a fuzzer's finding: its TAP line names the reproducer
        for l in re.findall(r'^(?:not ok\b.*|# replay: .*)$', out, re.M):
            print('ci: %s' % l, file=sys.stderr)
    passed += ok
    failed += nok
print(passed, failed)
EOF
) || counts="0 1"
read -r passed failed <<< "$counts"
if [ "$test_rc" != 0 ] && [ "$failed" = 0 ]; then
	failed=1
fi
summary "$passed" "$failed"
[ "$failed" = 0 ]
