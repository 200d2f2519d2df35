#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# `meson install --destdir`: the binaries, the unit, the man pages, the bash
# completions, the example policy and the docs land where they should; the
# relative links between the installed docs resolve (and in the source tree);
# a second install keeps an edited drylock.policy; the state directory is
# in place (root's only); tools/uninstall.sh removes everything the install
# added, keeps an edited policy and the database, and --purge removes the
# database too. TAP output.
#   test_install.sh BUILDDIR SOURCEDIR
set -u
build=$1 src=$2
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
D=$tmp/root

# The install directories, as this build was configured.
eval "$(meson introspect "$build" --buildoptions | python3 -c '
import json, os, sys
o = {x["name"]: x["value"] for x in json.load(sys.stdin)}
p = o["prefix"]
for k in ("bindir", "sbindir", "sysconfdir", "mandir", "datadir", "localstatedir"):
    print("%s=%s" % (k, os.path.join(p, o[k])))
print("prefix=" + p)')"

if meson install -C "$build" --destdir "$D" --no-rebuild >"$tmp/log1" 2>&1; then
	ok "meson install --destdir"
else
	not_ok "meson install --destdir"; sed 's/^/# /' "$tmp/log1"
	echo "1..$n"; exit 1
fi

check "drylock in sbindir" "[ -x '$D$sbindir/drylock' ]"
check "drylock-query in bindir" "[ -x '$D$bindir/drylock-query' ]"
unit=$D$prefix/lib/systemd/system/drylock.service
check "drylock.service in lib/systemd/system" "[ -s '$unit' ]"
check "the unit runs the installed drylock" "grep -q '^ExecStart=$sbindir/drylock run' '$unit'"
check "the unit has no @VAR@ left" "! grep -q '@[A-Z]*@' '$unit'"
for m in man8/drylock.8 man1/drylock-query.1 man5/drylock.policy.5; do
	check "man page $m" "[ -s '$D$mandir/$m' ]"
done
compdir=$(find "$D" -type d -path '*/bash-completion/completions' | head -n 1)
check "completion for drylock" "[ -n '$compdir' ] && [ -s '$compdir/drylock' ]"
check "completion for drylock-query" "[ -n '$compdir' ] && [ -s '$compdir/drylock-query' ]"
policy=$D$sysconfdir/drylock/drylock.policy
check "example policy in sysconfdir/drylock" "cmp -s '$policy' '$src/dist/drylock.policy'"
check "policy.d next to it" "[ -d '$D$sysconfdir/drylock/policy.d' ]"
check "the example policy is valid" "'$D$sbindir/drylock' validate '$policy' >/dev/null 2>&1"
state=$D$localstatedir/lib/drylock
check "state directory localstatedir/lib/drylock" "[ -d '$state' ]"
check "the state directory is root's only (0700)" "[ \"\$(stat -c %a '$state')\" = 700 ]"
doc=$D$datadir/doc/drylock
check "README.md in the doc directory" "[ -s '$doc/README.md' ]"
for f in "$src"/docs/*.md; do
	b=docs/$(basename "$f")
	check "$b in the doc directory" "cmp -s '$doc/$b' '$f'"
done

# Every relative link in a Markdown file, [text](target), names a file
# that exists next to it: in the source tree and among the installed docs.
links() {
	python3 - "$1" "$2" <<'PY'
import os, re, sys
root, label = sys.argv[1], sys.argv[2]
bad = checked = 0
for d, dirs, files in os.walk(root):
    # Not build directories or hidden ones (.git) in the source tree.
    dirs[:] = [x for x in dirs if not x.startswith((".", "build"))]
    for f in files:
        if not f.endswith(".md"):
            continue
        path = os.path.join(d, f)
        text = re.sub(r"```.*?```", "", open(path, encoding="utf-8").read(), flags=re.S)
        for t in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z]+:|^#", t):
                continue
            checked += 1
            target = os.path.normpath(os.path.join(d, t.split("#")[0]))
            if not os.path.exists(target):
                bad += 1
                print("# %s: %s: link %s: no such file" % (label, os.path.relpath(path, root), t))
print("# %s: %d relative links checked" % (label, checked))
sys.exit(1 if bad or not checked else 0)
PY
}
if links "$src" source >"$tmp/l1"; then ok "links resolve in the source tree"; else not_ok "links resolve in the source tree"; fi
grep -v "relative links checked" "$tmp/l1"
if links "$doc" installed >"$tmp/l2"; then ok "links resolve among the installed docs"; else not_ok "links resolve among the installed docs"; fi
cat "$tmp/l2"

# A second install keeps an administrator's edit.
echo "net deny local-edit addr=192.0.2.1 op=connect" >>"$policy"
cp "$policy" "$tmp/edited"
if meson install -C "$build" --destdir "$D" --no-rebuild >"$tmp/log2" 2>&1; then
	ok "second meson install"
else
	not_ok "second meson install"; sed 's/^/# /' "$tmp/log2"
fi
check "the edited policy is kept" "cmp -s '$policy' '$tmp/edited'"
# ... and puts the example back once it is gone.
rm -f "$policy"
meson install -C "$build" --destdir "$D" --no-rebuild >"$tmp/log3" 2>&1
check "a third install, without a policy, installs the example again" \
	"cmp -s '$policy' '$src/dist/drylock.policy'"

# Uninstall removes what the install added: nothing is left under the
# destdir but the directories above the install paths.
if DESTDIR=$D "$src/tools/uninstall.sh" "$build" >"$tmp/un1" 2>&1; then
	ok "tools/uninstall.sh"
else
	not_ok "tools/uninstall.sh"; sed 's/^/# /' "$tmp/un1"
fi
left=$(find "$D" ! -type d; find "$D" -depth -type d -name '*drylock*')
check "uninstall leaves no file and no drylock directory" "[ -z '$left' ]"
[ -z "$left" ] || echo "$left" | sed 's/^/# left: /'

# ... but keeps an edited policy and the database, unless --purge.
meson install -C "$build" --destdir "$D" --no-rebuild >"$tmp/log4" 2>&1
echo "net deny local-edit addr=192.0.2.1 op=connect" >>"$policy"
echo "not really a database" >"$state/drylock.db"
DESTDIR=$D "$src/tools/uninstall.sh" "$build" >"$tmp/un2" 2>&1
check "uninstall keeps an edited policy and says so" \
	"[ -s '$policy' ] && grep -q 'keeping .*drylock.policy' '$tmp/un2'"
check "uninstall keeps the database and says so" \
	"[ -s '$state/drylock.db' ] && grep -q 'keeping .*lib/drylock' '$tmp/un2'"
check "uninstall removed the binaries and the unit" \
	"[ ! -e '$D$sbindir/drylock' ] && [ ! -e '$D$bindir/drylock-query' ] && [ ! -e '$unit' ]"
meson install -C "$build" --destdir "$D" --no-rebuild >"$tmp/log5" 2>&1
DESTDIR=$D "$src/tools/uninstall.sh" "$build" --purge >"$tmp/un3" 2>&1
check "uninstall --purge removes the database and the state directory" "[ ! -e '$state' ]"

echo "1..$n"
[ "$failed" -eq 0 ]
