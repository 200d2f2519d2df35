#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# kernels.sh: resolve and fetch the kernel matrix the VM tests boot.
#
#   6.1     Debian 12's default kernel: the dependency of linux-image-amd64
#   6.12    Debian 12's 6.12 series: the dependency of linux-image-6.12-amd64
#   newest  the newest linux-image-amd64 of trixie / trixie-backports (7.x),
#           looked up through a private apt state (the machine's own apt
#           setup is not touched); its image is split into linux-image,
#           linux-binary, linux-modules and linux-base packages, all fetched
#
# Versions come from the meta packages at run time, never from this file.
# Packages are fetched with `apt-get download` and unpacked with `dpkg -x`
# into the cache; nothing is installed. Re-running is cheap: a kernel whose
# unpacked tree is complete is not fetched again.
#
# Usage: kernels.sh [--refresh] [LABEL...]     (default: all three labels)
#   Cache: $DRYLOCK_KERNEL_CACHE, else $XDG_CACHE_HOME/drylock/kernels,
#   else ~/.cache/drylock/kernels.
#   For each label writes <cache>/<label>.env (shell syntax) with
#   KERNEL_LABEL KERNEL_RELEASE KERNEL_PACKAGE KERNEL_VERSION VMLINUZ MODULES_DIR
#   and prints one line: LABEL RELEASE VERSION VMLINUZ MODULES_DIR
#   --refresh: update the private trixie package lists even if they are recent.
# Needs: apt-get, apt-cache, dpkg (run `apt-get update` first on a fresh
# machine so that the bookworm metas are known).
# Exit: 0 all resolved and cached; 1 otherwise (the reason is on stderr).

set -euo pipefail

prog=${0##*/}
die() { echo "$prog: $*" >&2; exit 1; }

cache=${DRYLOCK_KERNEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drylock/kernels}
refresh=0
labels=()
for a in "$@"; do
	case $a in
	--refresh) refresh=1 ;;
	-h|--help) sed -n '3,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	6.1|6.12|newest) labels+=("$a") ;;
	*) die "unknown argument '$a' (labels: 6.1 6.12 newest)" ;;
	esac
done
[ ${#labels[@]} -gt 0 ] || labels=(6.1 6.12 newest)
mkdir -p "$cache"

# apt options for the private trixie/trixie-backports state (set up lazily)
apt_priv=()

# The private sources are derived from the machine's own Debian sources:
# the stanza that carries plain `bookworm` keeps its URIs and keyring and gets
# `Suites: trixie trixie-backports`; the security stanza is dropped.
setup_private_apt() {
	local d=$cache/apt src=/etc/apt/sources.list.d/debian.sources
	[ -r "$src" ] || die "$src not found: cannot derive the trixie sources"
	mkdir -p "$d/sources.list.d" "$d/lists/partial" "$d/cache/archives/partial"
	awk 'BEGIN { RS = ""; ORS = "\n\n" }
	     /(^|\n)Suites:[^\n]*[ \t]bookworm([ \t]|\n|$)/ && !/security/ {
		sub(/(^|\n)Suites:[^\n]*/, "\nSuites: trixie trixie-backports"); print; n++ }
	     END { exit n ? 0 : 1 }' "$src" > "$d/sources.list.d/trixie.sources.new" ||
		die "no bookworm stanza in $src"
	mv "$d/sources.list.d/trixie.sources.new" "$d/sources.list.d/trixie.sources"
	apt_priv=(-o Dir::Etc::SourceList=/dev/null
		  -o "Dir::Etc::SourceParts=$d/sources.list.d"
		  -o "Dir::State::Lists=$d/lists"
		  -o "Dir::Cache=$d/cache")
	# refresh when asked, when never fetched, or when older than a day
	if [ $refresh = 1 ] || [ -z "$(find "$d/lists" -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null)" ]; then
		echo "$prog: updating private trixie/trixie-backports package lists" >&2
		apt-get "${apt_priv[@]}" -q -o APT::Sandbox::User=root update >&2 || die "apt-get update (private trixie lists) failed"
	fi
}

# newest version of a package known to apt (with the given options)
newest_version() {
	local best= v
	while read -r v; do
		if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
	done < <(apt-cache "$@" 2>/dev/null | sed -n 's/^Version: //p')
	printf '%s\n' "$best"
}

# package names in the Depends of PKG=VER (alternatives flattened)
depends_of() {
	local pkg=$1 ver=$2; shift 2
	apt-cache "$@" show "$pkg=$ver" 2>/dev/null |
		awk '/^$/ { exit } /^Depends:/ { sub(/^Depends:/, ""); print }' |
		tr ',|' '\n\n' | sed -E 's/\(.*\)//; s/:any//; s/[[:space:]]//g' | grep -v '^$' || true
}

# resolve LABEL: sets pkg (the linux-image-<release> package), ver, rel, aptopts
resolve() {
	local meta
	aptopts=()
	case $1 in
	6.1)    meta=linux-image-amd64 ;;
	6.12)   meta=linux-image-6.12-amd64 ;;
	newest) meta=linux-image-amd64
		[ ${#apt_priv[@]} -gt 0 ] || setup_private_apt
		aptopts=("${apt_priv[@]}") ;;
	esac
	local mver
	mver=$(newest_version "${aptopts[@]}" show "$meta")
	[ -n "$mver" ] || die "$1: meta package $meta unknown to apt (run apt-get update first)"
	pkg=$(depends_of "$meta" "$mver" "${aptopts[@]}" | grep -E '^linux-image-[0-9]' | head -n1)
	[ -n "$pkg" ] || die "$1: $meta $mver depends on no linux-image-<release> package"
	rel=${pkg#linux-image-}
	rel=${rel%-unsigned}
	ver=$(newest_version "${aptopts[@]}" show "$pkg")
	[ -n "$ver" ] || die "$1: $pkg not available"
	echo "$prog: $1: $meta $mver -> $pkg $ver (release $rel)" >&2
}

# fetch PKG=VER and its linux-*-<release> dependencies of the same version
# (7.x: linux-binary, linux-modules, linux-base) into DIR/root
fetch() {
	local dir=$1 root=$1/root tmp queue=("$pkg") seen=" " p d
	tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
	trap 'rm -rf "$tmp"' RETURN
	while [ ${#queue[@]} -gt 0 ]; do
		p=${queue[0]}; queue=("${queue[@]:1}")
		case $seen in *" $p "*) continue ;; esac
		seen+="$p "
		for d in $(depends_of "$p" "$ver" "${aptopts[@]}"); do
			case $d in linux-*-"$rel") queue+=("$d") ;; esac
		done
	done
	echo "$prog: downloading$seen" >&2
	local specs=()
	for p in $seen; do specs+=("$p=$ver"); done
	(cd "$tmp" && apt-get "${aptopts[@]}" -q -o APT::Sandbox::User=root download "${specs[@]}" >&2) ||
		die "apt-get download ${specs[*]} failed"
	rm -rf "$tmp/root"
	mkdir "$tmp/root"
	for p in "$tmp"/*.deb; do dpkg -x "$p" "$tmp/root" || die "dpkg -x $p failed"; done
	rm -rf "$dir"
	mkdir -p "$dir"
	mv "$tmp/root" "$root"
	printf '%s\n' $seen > "$dir/packages"
	echo "$pkg $ver" > "$dir/complete"
}

for label in "${labels[@]}"; do
	resolve "$label"
	dir=$cache/$rel
	if [ "$(cat "$dir/complete" 2>/dev/null)" = "$pkg $ver" ]; then
		echo "$prog: $label: $rel already cached" >&2
	else
		fetch "$dir"
	fi
	vmlinuz= mods=
	# bookworm: /boot/vmlinuz-<rel>; trixie 7.x: /usr/lib/modules/<rel>/vmlinuz
	for f in "$dir/root/boot/vmlinuz-$rel" "$dir/root/usr/lib/modules/$rel/vmlinuz" \
		 "$dir/root/lib/modules/$rel/vmlinuz"; do
		[ -f "$f" ] && { vmlinuz=$f; break; }
	done
	for m in "$dir/root/lib/modules/$rel" "$dir/root/usr/lib/modules/$rel"; do
		[ -d "$m/kernel" ] && { mods=$m; break; }
	done
	[ -n "$vmlinuz" ] || die "$label: no vmlinuz for $rel in $dir/root"
	[ -n "$mods" ] || die "$label: no lib/modules/$rel/kernel in $dir/root"
	{
		printf 'KERNEL_LABEL=%q\n' "$label"
		printf 'KERNEL_RELEASE=%q\n' "$rel"
		printf 'KERNEL_PACKAGE=%q\n' "$pkg"
		printf 'KERNEL_VERSION=%q\n' "$ver"
		printf 'VMLINUZ=%q\n' "$vmlinuz"
		printf 'MODULES_DIR=%q\n' "$mods"
	} > "$cache/$label.env.new"
	mv "$cache/$label.env.new" "$cache/$label.env"
	printf '%-7s %-24s %-22s %s %s\n' "$label" "$rel" "$ver" "$vmlinuz" "$mods"
done
