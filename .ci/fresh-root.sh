#!/usr/bin/env bash
# Proves a fresh machine works: in a new minimal Debian root (debootstrap --variant=minbase,
# nothing else installed), a clean clone of this repository's HEAD runs the README's test
# command, which must install everything it needs itself and pass. Catches an install step
# that the development machine hides, and a new release's Boost or compiler.
#
# usage: .ci/fresh-root.sh [codename]     (trixie (default) or bookworm; run as root)
#        PIER_FRESH_ROOT_WARM=1 runs both commands a second time, for the warm times.
#
# The debootstrapped root is cached as a tarball (PIER_ROOT_CACHE, default /var/cache/pier-ci)
# and unpacked afresh for every run; the run's root is removed at the end, whatever happens.
# Time: debootstrap ~1 min the first time; then apt ~2 min, the build and the suite.
set -euo pipefail

codename="${1:-trixie}"
mirror="http://deb.debian.org/debian"
cache_dir="${PIER_ROOT_CACHE:-/var/cache/pier-ci}"
cache="$cache_dir/$codename-minbase.tar"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
limit_minutes=45

log() { printf 'fresh-root(%s): %s\n' "$codename" "$*"; }

if ((EUID != 0)); then
    echo "fresh-root: needs root (debootstrap, chroot, mounts)" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/var/tmp}/pier-fresh-root.XXXXXX")
rootfs="$work/root"
staging=""  # a debootstrap under way, until it is cached

# Sends signal $1 to the processes running inside the root (only those named $2, if given).
kill_in_root() {
    local proc
    for proc in /proc/[0-9]*; do
        [[ $(readlink "$proc/root" 2>/dev/null) == "$rootfs" ]] || continue
        [[ -z ${2:-} || $(cat "$proc/comm" 2>/dev/null) == "$2" ]] || continue
        kill "-$1" "${proc#/proc/}" 2>/dev/null
    done
    return 0
}

cleanup() {
    local status=$?
    set +e
    # Whatever still runs inside the root (a test's leftover, a daemon) goes first.
    kill_in_root KILL
    for mount in dev/pts dev proc sys; do
        umount -l "$rootfs/$mount" 2>/dev/null
    done
    # Never delete through a mount still in place (/dev is the host's).
    if grep -q " $rootfs/" /proc/mounts; then
        echo "fresh-root: $rootfs still has mounts; left in place" >&2
    else
        rm -rf "$work"
    fi
    rm -rf "$staging"
    exit "$status"
}
trap cleanup EXIT

if [[ ! -s $cache ]]; then
    if ! command -v debootstrap >/dev/null; then
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap
    fi
    mkdir -p "$cache_dir"
    staging=$(mktemp -d "$cache_dir/debootstrap.XXXXXX")
    log "debootstrap --variant=minbase $codename (cached as $cache)"
    if ! debootstrap --variant=minbase "$codename" "$staging/root" "$mirror" \
        >"$staging/debootstrap.log" 2>&1; then
        tail -20 "$staging/debootstrap.log" >&2
        exit 1
    fi
    tar -C "$staging/root" -cf "$cache.partial" .
    mv "$cache.partial" "$cache"
    rm -rf "$staging"
    staging=""
fi

mkdir -p "$rootfs"
tar -C "$rootfs" -xf "$cache"
mount -t proc proc "$rootfs/proc"
mount -t sysfs sysfs "$rootfs/sys"
mount --bind /dev "$rootfs/dev"
mount --bind /dev/pts "$rootfs/dev/pts"
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
# As in a container: packages' maintainer scripts start no services (redis-server's would).
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 755 "$rootfs/usr/sbin/policy-rc.d"

# A clean clone of what is committed, as a user would get it.
git clone --quiet --no-local "$repo" "$rootfs/root/pier"
log "$(git -C "$rootfs/root/pier" log -1 --format='%h %s')"

# A command in the clone inside the root, as root with a clean environment.
in_root=(chroot "$rootfs" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/bash -c)

# The README's first command: it serves (having built only pierd and pierload), its check
# step answers, and SIGTERM stops it with exit 0. The bundled config listens on port 7000.
serve_and_stop() {
    local when=$1 began run_pid status=0
    began=$(date +%s)
    log "running ./scripts/run.sh in the fresh root ($when)"
    "${in_root[@]}" 'cd /root/pier && ./scripts/run.sh' >"$work/run.log" 2>&1 &
    run_pid=$!
    until grep -q "listening listener=echo" "$work/run.log"; do
        if ! kill -0 "$run_pid" 2>/dev/null || (($(date +%s) > began + limit_minutes * 60)); then
            tail -30 "$work/run.log" >&2
            log "FAILED: run.sh did not serve"
            exit 1
        fi
        sleep 1
    done
    log "run.sh served after $(($(date +%s) - began))s ($when)"
    if ! "${in_root[@]}" 'cd /root/pier && timeout 60 build/release/loadtest/pierload -n 100 -q 127.0.0.1:7000'; then
        log "FAILED: the README's check (pierload -n 100) against run.sh's pierd"
        exit 1
    fi
    kill_in_root TERM pierd  # run.sh's pierd, not one of the host's
    for _ in $(seq 60); do  # a drain with nothing connected: well within a minute
        kill -0 "$run_pid" 2>/dev/null || break
        sleep 1
    done
    wait "$run_pid" || status=$?
    if ((status != 0)); then
        tail -20 "$work/run.log" >&2
        log "FAILED: pierd did not stop cleanly on SIGTERM (status $status)"
        exit 1
    fi
    log "run.sh: pierload check passed, SIGTERM stopped pierd with exit 0"
}

# The README's second command: the whole suite.
run_suite() {
    local when=$1 began
    began=$(date +%s)
    log "running ./scripts/test.sh in the fresh root ($when)"
    timeout --kill-after=30 $((limit_minutes * 60)) "${in_root[@]}" 'cd /root/pier && ./scripts/test.sh'
    log "test.sh passed in $(($(date +%s) - began))s ($when)"
}

serve_and_stop cold
run_suite cold
if [[ -n ${PIER_FRESH_ROOT_WARM:-} ]]; then  # the README's warm times
    serve_and_stop warm
    run_suite warm
fi
