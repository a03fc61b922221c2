#!/usr/bin/env bash
# Builds pier's Docker image on this machine (no registry needed), runs it, and checks what an
# operator relies on: echo answers, the HEALTHCHECK turns healthy, SIGHUP reloads, and
# `docker stop` ends the container with exit code 0 within the grace period.
#
# usage: tests/docker/run.sh [trixie|bookworm]
#        (as root; default trixie, as the Dockerfile's; ~10-20 min with 2 cores, ~10 GB of disk
#        with vfs at the peak)
#
# Not part of scripts/test.sh: it needs minutes and gigabytes. Bounded: every wait has a
# deadline, and everything it makes is removed on exit: with no daemon running it starts its
# own dockerd (installing docker.io if dockerd is missing) whose data root, exec root and socket
# are all in its mktemp work directory, deleted at the end; with a daemon already running, it
# removes the container, the image, the build stage's untagged images and the base image it
# imported.
#
# Without a registry the base image is made locally: debootstrap --variant=minbase of the
# release from the Debian archive, slimmed as debian:*-slim is (documentation, manuals and
# locales left out, now and by dpkg for what is installed later; no apt lists or caches), and
# `docker import`ed as local/<release>-slim. The image size printed is then close to what the
# official slim base gives, and the size pier adds on top of the base is printed too. The
# container runs with --network none: its own network
# namespace, so the default ports (7000, 9090) of the bundled config cannot collide with
# anything on the host; the checks run inside it (`docker exec`, with the image's own pierload).
set -euo pipefail

release=${1:-trixie}
case $release in
bookworm | trixie) ;;
*) echo "usage: $0 [trixie|bookworm]" >&2; exit 64 ;;
esac
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/pier-docker.XXXXXX")
base_image=local/$release-slim:latest
image=pier:docker-test-$release
container=pier-docker-test-$release
grace=40  # the stop timeout the README, the Dockerfile and the systemd unit give pierd
dockerd_pid=""
imported_base=""
dangling_before=""

log() { printf 'docker test (%s): %s\n' "$release" "$*"; }
fail() { printf 'docker test (%s): FAILED: %s\n' "$release" "$*" >&2; exit 1; }

# Processes whose command line names the work directory: our dockerd's containerd and shims,
# should they outlive it (read with builtins, so no helper process of ours is listed).
ours() {
    local f args
    for f in /proc/[0-9]*/cmdline; do
        mapfile -d '' args <"$f" 2>/dev/null || continue
        [[ ${args[*]} == *"$work"* ]] && { f=${f#/proc/}; echo "${f%/cmdline}"; }
    done
    return 0
}

cleanup() {
    local status=$?
    set +e
    docker rm -f "$container" >/dev/null 2>&1
    if [[ -n $dockerd_pid ]]; then
        # Our own daemon: everything it holds is under $work.
        kill "$dockerd_pid" 2>/dev/null
        for _ in $(seq 30); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 1; done
        kill -9 "$dockerd_pid" 2>/dev/null
        wait "$dockerd_pid" 2>/dev/null
        for pid in $(ours); do kill -9 "$pid" 2>/dev/null; done
        # dockerd leaves its network namespace mounted under its exec root.
        grep -o " $work/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
    else
        # Someone else's daemon: remove what this run made, and only that.
        docker rmi -f "$image" >/dev/null 2>&1
        comm -13 <(echo "$dangling_before") <(docker images -q --no-trunc -f dangling=true |
            sort -u) | xargs -r docker rmi -f >/dev/null 2>&1
        [[ -z $imported_base ]] || docker rmi -f "$base_image" >/dev/null 2>&1
    fi
    rm -rf "$work"
    [[ ! -e $work ]] || log "could not remove all of $work"
    exit "$status"
}
trap cleanup EXIT
# A signal (e.g. from timeout) ends the script through the EXIT trap too; bash alone would not.
trap 'exit 143' TERM INT HUP

# vfs copies every layer in full: the base, the build stage (compiler, Boost headers) and the
# runtime stage came to ~10 GB at the peak.
avail_kb=$(df -Pk "$work" | awk 'NR == 2 { print $4 }')
((avail_kb > 10 * 1024 * 1024)) || fail "$((avail_kb / 1024 / 1024)) GB free under $work: need 10"

# The client (docker) and the daemon (dockerd) can come from different places: check both.
need_apt=()
command -v dockerd >/dev/null || need_apt+=(docker.io)
command -v debootstrap >/dev/null || need_apt+=(debootstrap)
if ((${#need_apt[@]})); then
    log "installing ${need_apt[*]}"
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y --no-install-recommends \
        "${need_apt[@]}" >"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log" >&2; fail "apt-get"; }
fi
command -v docker >/dev/null || fail "no docker client after installing docker.io"

# A daemon: the one already running, or our own (no iptables or bridge in this sandbox).
if ! docker info >/dev/null 2>&1; then
    log "starting dockerd (data root $work/data)"
    dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs \
        --data-root="$work/data" --exec-root="$work/exec" \
        --pidfile="$work/dockerd.pid" -H "unix://$work/docker.sock" >"$work/dockerd.log" 2>&1 &
    dockerd_pid=$!
    export DOCKER_HOST="unix://$work/docker.sock"
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { cat "$work/dockerd.log" >&2; fail "dockerd did not start"; }
else
    dangling_before=$(docker images -q --no-trunc -f dangling=true | sort -u)
fi

if ! docker image inspect "$base_image" >/dev/null 2>&1; then
    mirror=$(sed -nE 's/^URIs: *(\S+).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null |
        head -1)
    log "making $base_image with debootstrap from ${mirror:-http://deb.debian.org/debian}"
    timeout 1800 debootstrap --variant=minbase "$release" "$work/rootfs" \
        "${mirror:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 ||
        { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap $release"; }
    # What the -slim images leave out (debuerreotype's slimify list), and dpkg told to leave
    # it out of what the image builds install.
    slim=(/usr/share/doc/'*' /usr/share/groff/'*' /usr/share/info/'*' /usr/share/linda/'*'
        /usr/share/lintian/overrides/'*' /usr/share/locale/'*' /usr/share/man/'*')
    { printf 'path-exclude %s\n' "${slim[@]}"; echo "path-include /usr/share/doc/*/copyright"; } \
        >"$work/rootfs/etc/dpkg/dpkg.cfg.d/pier-test-slim"
    find "$work/rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    find "$work/rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
    for dir in groff info linda lintian/overrides locale man; do
        rm -rf "$work/rootfs/usr/share/$dir"/*
    done
    rm -rf "$work"/rootfs/var/lib/apt/lists/* "$work"/rootfs/var/cache/apt/*.bin \
        "$work"/rootfs/var/cache/apt/archives/*.deb
    tar -C "$work/rootfs" -c . | docker import - "$base_image" >/dev/null
    imported_base=yes
    rm -rf "$work/rootfs"
fi

log "building $image"
began=$(date +%s)
timeout 3600 docker build --network host --build-arg BASE_IMAGE="$base_image" -t "$image" \
    "$root" >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; fail "docker build"; }
log "built in $(($(date +%s) - began))s"

mib() { echo "$(($1 / 1024 / 1024)) MiB ($1 bytes)"; }
size=$(docker image inspect -f '{{.Size}}' "$image")
base_size=$(docker image inspect -f '{{.Size}}' "$base_image")
log "image size: $(mib "$size"); base $(mib "$base_size"); pier adds $(mib $((size - base_size)))"
# shellcheck disable=SC2016 # dpkg-query's own ${Package}
pkgs() { docker run --rm --network none --entrypoint dpkg-query "$1" -W -f '${Package}\n' | sort; }
log "packages added to the base (pier and its Depends): $(comm -13 <(pkgs "$base_image") \
    <(pkgs "$image") | tr '\n' ' ')"

log "running $container"
docker run -d --name "$container" --network none "$image" >/dev/null

# 1. The health check (pierd --probe against /readyz) turns healthy: interval 10s, so within
#    a few intervals. Waits on Docker's own health_status event (--since the start, so one
#    already sent counts), bounded by a timeout.
started=$(docker inspect -f '{{.State.StartedAt}}' "$container")
# (Process substitution, not a pipe: grep's verdict must not be pipefail's.)
if ! grep -m1 -qE '^health_status: healthy$' < <(timeout 90 docker events --since "$started" \
        --filter "container=$container" --filter event=health_status --format '{{.Status}}' \
        2>/dev/null); then
    docker logs "$container" >&2
    fail "health status '$(docker inspect -f '{{.State.Health.Status}}' "$container")'"
fi
log "health check: healthy"

# 2. Echo answers: the image's pierload, inside the container's network namespace, verifies
#    every byte of 1000 round trips.
docker exec "$container" pierload -c 4 -n 1000 --size 64 -q 127.0.0.1:7000 ||
    fail "pierload against the container's echo listener"
log "echo: 1000 verified round trips"

# 3. Reload: `docker kill -s HUP` makes pierd read its config again (unchanged here). The log
#    is followed until the line that says it is done, bounded by a timeout.
docker kill -s HUP "$container" >/dev/null
grep -m1 -q "reload complete" < <(timeout 30 docker logs -f "$container" 2>&1) ||
    { docker logs "$container" >&2; fail "no 'reload complete' after SIGHUP"; }
log "reload: SIGHUP applied"

# 4. docker stop: SIGTERM, pierd drains and exits 0 well within the grace period.
began=$(date +%s)
docker stop -t "$grace" "$container" >/dev/null
took=$(($(date +%s) - began))
code=$(docker inspect -f '{{.State.ExitCode}}' "$container")
[[ $code == 0 ]] || { docker logs "$container" >&2; fail "exit code $code after docker stop"; }
((took < grace)) || fail "docker stop took ${took}s (grace ${grace}s)"
docker logs "$container" 2>&1 | grep -q "shutdown: complete" || fail "no 'shutdown: complete' logged"
log "docker stop: exit 0 after ${took}s"
log "passed"
