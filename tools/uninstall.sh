#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Remove what `meson install -C BUILDDIR` put in place (docs/packaging.md,
# "Uninstalling"): every file and directory meson logged
# (BUILDDIR/meson-logs/install-log.txt, through `ninja uninstall`), then what
# dist/install-policy.sh added, which meson does not log: the example
# policy, only while it is still the example (an edited one is kept, and
# said), and policy.d and the configuration directory if empty. The
# database in the state directory is kept unless --purge is given.
# Stop the service and detach the programs first (systemctl disable --now
# drylock.service; drylock unload): this script changes no running system.
#   tools/uninstall.sh BUILDDIR [--purge]     honours DESTDIR like meson install
# Exit: 0 done (something kept is not an error), 1 usage or a step failed.
set -u
build=${1:-}
purge=0
[ "${2:-}" = --purge ] && purge=1
if [ -z "$build" ] || [ ! -f "$build/meson-info/intro-buildoptions.json" ] || { [ $# -gt 1 ] && [ $purge = 0 ]; }; then
	echo "usage: tools/uninstall.sh BUILDDIR [--purge]" >&2
	exit 1
fi
src=$(cd "$(dirname "$0")/.." && pwd)

# The directories as the build was configured (as test_install.sh reads them).
sysconfdir='' localstatedir='' datadir=''
eval "$(python3 -c '
import json, os, sys
o = {x["name"]: x["value"] for x in json.load(open(sys.argv[1]))}
p = o["prefix"]
print("sysconfdir=%s" % os.path.join(p, o["sysconfdir"]))
print("localstatedir=%s" % os.path.join(p, o["localstatedir"]))
print("datadir=%s" % os.path.join(p, o["datadir"]))' "$build/meson-info/intro-buildoptions.json")"
etc=${DESTDIR:-}$sysconfdir/drylock
state=${DESTDIR:-}$localstatedir/lib/drylock
doc=${DESTDIR:-}$datadir/doc/drylock
rc=0

# The state directory is in meson's log: empty it first with --purge, else
# meson's rmdir fails on a database and it stays.
if [ $purge = 1 ] && [ -d "$state" ]; then
	rm -f "$state/drylock.db" "$state/drylock.db-wal" "$state/drylock.db-shm" "$state/drylock.db-journal" ||
		rc=1
fi
if [ -f "$build/meson-logs/install-log.txt" ]; then
	# meson reports directories it could not remove (not empty: shared
	# ones such as /usr/lib/systemd/system) and carries on
	ninja -C "$build" uninstall > "$build/meson-logs/uninstall.txt" 2>&1 || rc=1
	grep -E '^(Deleted|Failed):' "$build/meson-logs/uninstall.txt"
else
	echo "uninstall: $build/meson-logs/install-log.txt: no install to undo" >&2
	rc=1
fi

if [ -f "$etc/drylock.policy" ]; then
	if cmp -s "$etc/drylock.policy" "$src/dist/drylock.policy"; then
		rm -f "$etc/drylock.policy" || rc=1
	else
		echo "uninstall: keeping $etc/drylock.policy: it is not the example any more"
	fi
fi
rmdir "$etc/policy.d" 2>/dev/null || [ ! -d "$etc/policy.d" ] ||
	echo "uninstall: keeping $etc/policy.d: not empty"
rmdir "$etc" 2>/dev/null || true
# meson logs only the directories its last install created: after a
# reinstall the doc and state directories are not in the log. Ours, if empty.
[ -d "$doc" ] && find "$doc" -depth -type d -empty -delete
rmdir "$state" 2>/dev/null || true
[ -d "$state" ] && echo "uninstall: keeping $state (the database; --purge removes it)"
exit $rc
