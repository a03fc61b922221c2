#!/usr/bin/env bash
# Builds pier's Docker image on this machine (no registry needed), runs it, and checks what an
# operator relies on: echo answers, the HEALTHCHECK turns healthy, SIGHUP reloads, and
# `docker stop` ends the container with exit code 0 within the grace period.
#
# usage: tests/docker/run.sh        (as root; ~5-10 min the first time, ~7 GB of disk with vfs)
#
# Not part of scripts/test.sh: it needs minutes and gigabytes. Bounded: every wait has a
# deadline, and everything it starts (dockerd if none was running, the container, the images it
# built) is removed on exit.
#
# Without a registry the base image is made locally: debootstrap a minimal Debian 12 and
# `docker import` it as local/bookworm-slim:12 (see /work/shared/TOOLCHAIN.md). The container
# runs with --network none: its own network namespace, so the default ports (7000, 9090) of
# the bundled config cannot collide with anything on the host; the checks run inside it
# (`docker exec`, with the image's own pierload).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/pier-docker.XXXXXX")
base_image=local/bookworm-slim:12
image=pier:docker-test
container=pier-docker-test
grace=30  # the stop timeout the README and the systemd unit give pierd's 20s drain
dockerd_pid=""

log() { printf 'docker test: %s\n' "$*"; }
fail() { printf 'docker test: FAILED: %s\n' "$*" >&2; exit 1; }

cleanup() {
    local status=$?
    set +e
    docker rm -f "$container" >/dev/null 2>&1
    docker rmi -f "$image" >/dev/null 2>&1
    docker builder prune -af >/dev/null 2>&1
    if [[ -n $dockerd_pid ]]; then
        kill "$dockerd_pid" 2>/dev/null
        wait "$dockerd_pid" 2>/dev/null
        # dockerd leaves its network namespace mounted under its exec root.
        grep -o " $work/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT

command -v docker >/dev/null || apt-get install -y docker.io
command -v debootstrap >/dev/null || apt-get install -y debootstrap

# A daemon: the one already running, or our own (no iptables or bridge in this sandbox).
if ! docker info >/dev/null 2>&1; then
    log "starting dockerd"
    mkdir -p /var/lib/pier-docker
    dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=vfs \
        --data-root=/var/lib/pier-docker --exec-root="$work/exec" \
        --pidfile="$work/dockerd.pid" -H "unix://$work/docker.sock" >"$work/dockerd.log" 2>&1 &
    dockerd_pid=$!
    export DOCKER_HOST="unix://$work/docker.sock"
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { cat "$work/dockerd.log" >&2; fail "dockerd did not start"; }
fi

if ! docker image inspect "$base_image" >/dev/null 2>&1; then
    mirror=$(sed -nE 's/^URIs: *(\S+).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null |
        head -1)
    log "making $base_image with debootstrap from ${mirror:-http://deb.debian.org/debian}"
    debootstrap --variant=minbase bookworm "$work/rootfs" "${mirror:-http://deb.debian.org/debian}" \
        >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap"; }
    tar -C "$work/rootfs" -c . | docker import - "$base_image" >/dev/null
    rm -rf "$work/rootfs"
fi

log "building $image"
docker build --network host --build-arg BASE_IMAGE="$base_image" -t "$image" "$root" \
    >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; fail "docker build"; }

size=$(docker image inspect -f '{{.Size}}' "$image")
log "image size: $((size / 1024 / 1024)) MiB ($size bytes)"

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
