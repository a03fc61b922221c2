#!/usr/bin/env bash
# Builds the .deb (`cpack -G DEB`) from a configured build directory and checks it the way an
# operator meets it: installed with dpkg into a scratch root (its own dpkg database, so this
# machine is untouched), then removed (the edited config stays, as a conffile must), then
# purged (nothing left).
#
# usage: tests/package/check_deb.sh BUILD_DIR
set -euo pipefail

build=$1
for tool in cpack dpkg dpkg-deb dpkg-shlibdeps; do
    command -v "$tool" >/dev/null || { echo "$tool missing (apt-get install dpkg-dev cmake)" >&2; exit 1; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/pier-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "check_deb: $*" >&2; exit 1; }

cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1 ||
    { cat "$work/cpack.log" >&2; fail "cpack failed"; }
deb=$(ls "$work"/out/pier_*.deb)
[[ -f $deb ]] || fail "no .deb produced"

# Control data: a conffile, and library dependencies found by dpkg-shlibdeps.
dpkg-deb -I "$deb" conffiles | grep -qx /etc/pier/pier.yaml || fail "pier.yaml is not a conffile"
dpkg-deb -f "$deb" Depends | grep -q libboost-program-options1.81.0 || fail "Depends lacks Boost"
dpkg-deb -f "$deb" Depends | grep -qw procps || fail "Depends lacks procps (ExecReload runs /bin/kill)"

root=$work/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status"
dpkg_root() { dpkg --root="$root" --force-not-root --force-depends "$@" >>"$work/dpkg.log" 2>&1; }

dpkg_root -i "$deb" || { cat "$work/dpkg.log" >&2; fail "dpkg -i failed"; }
for file in /usr/bin/pierd /usr/bin/pierload /etc/pier/pier.yaml \
    /lib/systemd/system/pier.service /lib/systemd/system/pier.socket; do
    [[ -f $root$file ]] || fail "$file not installed"
done
# The installed binary runs and accepts the installed config.
"$root/usr/bin/pierd" --check-config --config "$root/etc/pier/pier.yaml" >/dev/null ||
    fail "installed pierd rejects the installed config"

# An operator's edit survives removal; purge takes it.
echo "# edited" >>"$root/etc/pier/pier.yaml"
dpkg_root -r pier || { cat "$work/dpkg.log" >&2; fail "dpkg -r failed"; }
[[ ! -e $root/usr/bin/pierd ]] || fail "pierd left after remove"
grep -q "# edited" "$root/etc/pier/pier.yaml" || fail "edited config lost on remove"
dpkg_root -P pier || { cat "$work/dpkg.log" >&2; fail "dpkg -P failed"; }
[[ ! -e $root/etc/pier/pier.yaml ]] || fail "config left after purge"
echo "check_deb: $(basename "$deb") installs, runs, removes and purges cleanly"
