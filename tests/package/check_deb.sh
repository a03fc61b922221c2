#!/usr/bin/env bash
# Builds the .deb (`cpack -G DEB`) from a configured build directory and checks it the way an
# operator meets it: installed with dpkg into a scratch root (its own dpkg database, so this
# machine is untouched), upgraded, then removed (the edited config stays, as a conffile must),
# then purged (nothing left). The maintainer scripts run there too: dpkg --root would run them
# chrooted into the scratch root, which has no /bin/sh, so --force-script-chrootless runs them
# with this machine's shell and DPKG_ROOT set, where they must succeed and leave systemd alone.
# Then the scripts run directly, as on a machine booted with systemd: in a private mount
# namespace (unshare) whose /run has the marker /run/systemd/system, with stub `systemctl` and
# `deb-systemd-invoke` first on PATH that only log their arguments.
#
# usage: tests/package/check_deb.sh BUILD_DIR
set -euo pipefail

build=$1
for tool in cpack dpkg dpkg-deb dpkg-shlibdeps; do
    command -v "$tool" >/dev/null || { echo "$tool missing (apt-get install dpkg-dev cmake)" >&2; exit 1; }
done
# CPack's DEB generator runs `file` to find the binaries it hands to dpkg-shlibdeps; minimal
# (debootstrap minbase, -slim image) systems do not have it.
command -v file >/dev/null ||
    { echo "file missing: cpack -G DEB needs it for dpkg-shlibdeps (apt-get install file)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/pier-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "check_deb: $*" >&2; exit 1; }

cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1 ||
    { cat "$work/cpack.log" >&2; fail "cpack failed"; }
deb=$(ls "$work"/out/pier_*.deb)
[[ -f $deb ]] || fail "no .deb produced"

# Control data: a conffile, library dependencies found by dpkg-shlibdeps (Boost's package is
# versioned: libboost-program-options1.81.0 on Debian 12, 1.83.0 on Debian 13), and the
# maintainer scripts, executable.
dpkg-deb -I "$deb" conffiles | grep -qx /etc/pier/pier.yaml || fail "pier.yaml is not a conffile"
dpkg-deb -f "$deb" Depends | grep -q libboost-program-options || fail "Depends lacks Boost"
dpkg-deb -f "$deb" Depends | grep -qw procps || fail "Depends lacks procps (ExecReload runs /bin/kill)"
dpkg-deb --ctrl-tarfile "$deb" | tar -tvf - >"$work/control.list"
for script in postinst prerm postrm; do
    grep -Eq "^-rwxr-xr-x .* (\./)?$script\$" "$work/control.list" ||
        { cat "$work/control.list" >&2; fail "$script missing from the .deb or not mode 0755"; }
done

# Stubs for systemctl and deb-systemd-invoke: each appends its name and arguments to a log.
stubs=$work/stubs
calls=$work/systemctl.log
mkdir -p "$stubs"
for name in systemctl deb-systemd-invoke; do
    printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$name" "$calls" >"$stubs/$name"
    chmod +x "$stubs/$name"
done
: >"$calls"
# No call logged since the last check: the scripts left systemd alone.
no_calls() { [[ ! -s $calls ]] || { cat "$calls" >&2; fail "$1: systemd was called"; }; }

root=$work/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status"
dpkg_root() {
    PATH="$stubs:$PATH" dpkg --root="$root" --force-not-root --force-depends \
        --force-script-chrootless "$@" >>"$work/dpkg.log" 2>&1
}

dpkg_root -i "$deb" || { cat "$work/dpkg.log" >&2; fail "dpkg -i failed"; }
no_calls "install into a dpkg root (DPKG_ROOT set)"
for file in /usr/bin/pierd /usr/bin/pierload /etc/pier/pier.yaml \
    /lib/systemd/system/pier.service /lib/systemd/system/pier.socket; do
    [[ -f $root$file ]] || fail "$file not installed"
done
# The installed binary runs and accepts the installed config.
"$root/usr/bin/pierd" --check-config --config "$root/etc/pier/pier.yaml" >/dev/null ||
    fail "installed pierd rejects the installed config"

# The same package again: an upgrade as dpkg runs it (prerm upgrade, postinst configure with
# the old version).
dpkg_root -i "$deb" || { cat "$work/dpkg.log" >&2; fail "dpkg -i (upgrade) failed"; }
no_calls "upgrade in a dpkg root"

# What `systemctl enable pier` makes (a link to the package's unit), and a link to an
# operator's own copy of pier.socket: remove keeps both, purge takes only the first.
wants=$root/etc/systemd/system
mkdir -p "$wants/multi-user.target.wants" "$wants/sockets.target.wants"
ln -s /lib/systemd/system/pier.service "$wants/multi-user.target.wants/pier.service"
ln -s /etc/systemd/system/pier.socket "$wants/sockets.target.wants/pier.socket"

# An operator's edit survives removal; purge takes it.
echo "# edited" >>"$root/etc/pier/pier.yaml"
dpkg_root -r pier || { cat "$work/dpkg.log" >&2; fail "dpkg -r failed"; }
no_calls "remove from a dpkg root"
[[ ! -e $root/usr/bin/pierd ]] || fail "pierd left after remove"
grep -q "# edited" "$root/etc/pier/pier.yaml" || fail "edited config lost on remove"
[[ -L $wants/multi-user.target.wants/pier.service ]] || fail "enable link gone on remove"
dpkg_root -P pier || { cat "$work/dpkg.log" >&2; fail "dpkg -P failed"; }
no_calls "purge from a dpkg root"
[[ ! -e $root/etc/pier/pier.yaml ]] || fail "config left after purge"
[[ ! -L $wants/multi-user.target.wants/pier.service ]] || fail "enable link left after purge"
[[ -L $wants/sockets.target.wants/pier.socket ]] || fail "purge took a link to the operator's unit"
echo "check_deb: $(basename "$deb") installs, upgrades, runs, removes and purges cleanly"

# The maintainer scripts as dpkg runs them on a machine booted with systemd. A private mount
# namespace gets its own empty /run (with the marker when systemd should look booted), so this
# machine's /run, and its systemd if it has one, are untouched. DPKG_ROOT is unset there.
ctrl=$work/control
dpkg-deb -e "$deb" "$ctrl"
for script in postinst prerm postrm; do
    sh -n "$ctrl/$script" || fail "$script: sh -n"
done
# usage: run_script yes|no SCRIPT ARGS...
run_script() {
    local booted=$1
    shift
    # shellcheck disable=SC2016 # expanded by the inner sh
    unshare --mount --propagation private sh -ec '
        mount -t tmpfs -o size=64k,mode=0755 pier-run /run
        if [ "$1" = yes ]; then mkdir -p /run/systemd/system; fi
        shift
        exec "$@"' sh "$booted" env -u DPKG_ROOT PATH="$stubs:$PATH" sh -e "$@"
}
# usage: expect STEP [LINE...]: the calls logged since the last check are exactly the LINEs.
expect() {
    local step=$1
    shift
    if [[ $(cat "$calls") != "$(printf '%s\n' "$@" | sed '/^$/d')" ]]; then
        { echo "expected:"; printf '  %s\n' "$@"; echo "got:"; sed 's/^/  /' "$calls"; } >&2
        fail "$step"
    fi
    : >"$calls"
}
if ! unshare --mount --propagation private true 2>/dev/null; then
    echo "check_deb: note: no private mount namespace here (unshare --mount, needs root):" \
        "the scripts' systemd branch is not run; checked: sh -n and the DPKG_ROOT runs above"
    exit 0
fi
reload="systemctl --system daemon-reload"
run_script yes "$ctrl/postinst" configure || fail "postinst configure failed"
expect "postinst configure (first install): daemon-reload only, nothing enabled or started" \
    "$reload"
run_script yes "$ctrl/prerm" upgrade 0.1.0 || fail "prerm upgrade failed"
expect "prerm upgrade: nothing stopped"
run_script yes "$ctrl/postinst" configure 0.1.0 || fail "postinst configure 0.1.0 failed"
expect "postinst configure (upgrade): daemon-reload, try-restart" \
    "$reload" "deb-systemd-invoke try-restart pier.service"
run_script yes "$ctrl/postrm" upgrade 0.1.0 || fail "postrm upgrade failed"
expect "postrm upgrade: nothing"
run_script yes "$ctrl/prerm" remove || fail "prerm remove failed"
expect "prerm remove: socket and service stopped" "deb-systemd-invoke stop pier.socket pier.service"
run_script yes "$ctrl/postrm" remove || fail "postrm remove failed"
expect "postrm remove: daemon-reload" "$reload"
# Without the marker (a chroot, a container, a Docker build): nothing at all.
for args in "postinst configure" "postinst configure 0.1.0" "prerm remove" "postrm remove"; do
    # shellcheck disable=SC2086 # the script and its arguments
    run_script no "$ctrl/"$args || fail "$args without systemd failed"
    expect "$args without systemd: no calls"
done
echo "check_deb: maintainer scripts: daemon-reload on configure and remove, try-restart on" \
    "upgrade, stop on remove, nothing without systemd or with DPKG_ROOT"
