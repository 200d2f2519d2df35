#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# meson install script: install the example policy as DIR/drylock.policy
# (and an empty DIR/policy.d) only if no drylock.policy is there already, so
# an administrator's policy survives every reinstall. Honours $DESTDIR
# (meson sets it for --destdir) and MESON_INSTALL_QUIET.
#   install-policy.sh SOURCE DIR
set -eu
src=$1
dir=${DESTDIR:-}$2
dst=$dir/drylock.policy
if [ -e "$dst" ] || [ -L "$dst" ]; then
	[ -n "${MESON_INSTALL_QUIET:-}" ] || echo "Keeping existing $dst (the example is $src)"
	exit 0
fi
mkdir -p "$dir/policy.d"
install -m 0644 "$src" "$dst"
[ -n "${MESON_INSTALL_QUIET:-}" ] || echo "Installing $src to $dst"
