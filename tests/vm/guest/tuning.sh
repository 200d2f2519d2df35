#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The tuning loop on a real kernel (run by vm.sh as root in the VM; TAP, kernel
# release in every name). An "app" in cgroup /dl-app has a default-deny egress
# policy that only allows DNS. A permissive run records what the app really
# does; `drylock-query suggest` turns the would-denies into allow rules; the
# rules are pasted into the policy; a second permissive run shows `ready`
# passing; then enforce: the app's legitimate traffic all passes, and anything
# else it tries is blocked with EPERM.
# Usage: tuning.sh [BUILDDIR]   (default $DRYLOCK_BUILD_DIR)

set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tap.sh
. "$here/tap.sh"

build=${1:-${DRYLOCK_BUILD_DIR:-}}
[ -n "$build" ] || { echo "Bail out! no build dir"; exit 1; }
DL=$build/collector/drylock
Q=$build/query/drylock-query
C=$build/tests/vm/dlconnect
T=$(mktemp -d /tmp/tuning.XXXXXX)
CG=/sys/fs/cgroup/dl-app
DB=$T/drylock.db
PID=

cleanup() {
	[ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	"$DL" unload --discard-pending > /dev/null 2>&1
	rmdir "$CG" 2>/dev/null
}
trap cleanup EXIT

start() { # start POLICY LOG
	rm -f "$T/ready"
	"$DL" run --policy "$1" --db "$DB" --no-audit --ready-file "$T/ready" > "$2" 2>&1 &
	PID=$!
	poll 60 sh -c "[ -e '$T/ready' ] || ! kill -0 $PID 2>/dev/null"
	[ -e "$T/ready" ]
}
stop() {
	kill -TERM "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	PID=
}
# in_app CMD...: run CMD inside the app's cgroup
in_app() { sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG" "$@"; }
# The app's legitimate traffic; exit 1 if any of it got EPERM.
app_traffic() {
	local rc=0
	in_app "$C" -n 3 127.0.0.10 8080 > /dev/null || rc=1      # its backend
	in_app "$C" -n 2 127.0.0.11 5432 > /dev/null || rc=1      # its database
	in_app "$C" -u -n 2 127.0.0.53 53 > /dev/null || rc=1     # DNS (allowed already)
	in_app "$C" -b 127.0.0.1 18080 > /dev/null || rc=1        # binds its own port
	return $rc
}

mkdir -p "$CG"
cat > "$T/app.policy" <<'P'
policy app
# default deny for the app's cgroup: connects and binds
net deny  app-default addr=any op=connect,bind cgroup=/dl-app
net allow app-dns     addr=127.0.0.53/32 port=53 proto=udp cgroup=/dl-app
P

# ---- run 1: permissive, observe
if start "$T/app.policy" "$T/run1.log"; then
	tap_ok "run 1 (permissive) starts"
else
	tap_not_ok "run 1 (permissive) starts" "$(cat "$T/run1.log")"
fi
if app_traffic; then
	tap_ok "permissive: the app's traffic passes while it is observed"
else
	tap_not_ok "permissive: the app's traffic passes while it is observed"
fi
poll 10 sh -c "[ \$(sqlite3 '$DB' \"select count(*) from events_v where verdict='would-deny'\") -ge 6 ]"
stop
if "$Q" --db "$DB" ready --policy app > "$T/ready1.out" 2>&1; then
	tap_not_ok "ready fails before tuning" "$(cat "$T/ready1.out")"
else
	tap_ok "ready fails before tuning (exit $?)"
fi

# ---- suggest, paste, validate
"$Q" --db "$DB" suggest --policy app > "$T/suggest.out" 2> "$T/suggest.err"
src=$?
n_sug=$(grep -c '^net allow' "$T/suggest.out")
if [ $src = 0 ] && [ "$n_sug" -ge 3 ]; then
	tap_ok "suggest proposes $n_sug allow rules"
else
	tap_not_ok "suggest proposes allow rules" "exit $src
$(cat "$T/suggest.out" "$T/suggest.err")"
fi
tap_diag "$(cat "$T/suggest.out")"
if grep '^net allow' "$T/suggest.out" | grep -qv 'cgroup=/dl-app'; then
	tap_not_ok "every suggested rule is scoped to the app's cgroup" "$(grep '^net allow' "$T/suggest.out")"
else
	tap_ok "every suggested rule is scoped to the app's cgroup"
fi
{ sed 's/^policy app$/policy app-tuned/' "$T/app.policy"; echo "# suggested by drylock-query"; cat "$T/suggest.out"; } > "$T/tuned.policy"
tap_check "the tuned policy validates" "$DL" validate "$T/tuned.policy"

# ---- run 2: permissive with the tuned policy; ready passes
if start "$T/tuned.policy" "$T/run2.log"; then
	tap_ok "run 2 (tuned, permissive) starts"
else
	tap_not_ok "run 2 (tuned, permissive) starts" "$(cat "$T/run2.log")"
fi
app_traffic
poll 10 sh -c "[ \$(sqlite3 '$DB' \"select count(*) from events_v where policy='app-tuned'\") -ge 8 ]"
if "$Q" --db "$DB" ready --policy app-tuned > "$T/ready2.out" 2>&1; then
	tap_ok "ready passes for the tuned policy"
else
	tap_not_ok "ready passes for the tuned policy" "$(cat "$T/ready2.out")"
fi

# ---- enforce: nothing legitimate breaks, the rest is blocked
"$DL" mode enforce > /dev/null
if app_traffic; then
	tap_ok "enforce: the app's legitimate traffic all passes"
else
	tap_not_ok "enforce: the app's legitimate traffic all passes"
fi
if in_app "$C" 127.0.0.12 22 > "$T/other.out"; then
	tap_not_ok "enforce: other egress from the app is blocked" "$(cat "$T/other.out")"
else
	tap_ok "enforce: other egress from the app is blocked ($(tr -d "\n" < "$T/other.out"))"
fi
if "$C" 127.0.0.12 22 > /dev/null; then
	tap_ok "enforce: processes outside the app's cgroup are not affected"
else
	tap_not_ok "enforce: processes outside the app's cgroup are not affected"
fi
stop
tap_done
