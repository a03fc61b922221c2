#!/usr/bin/env bash
# Instructions per echoed 64-byte message in pierd, for each scheduler, counted by callgrind:
# the repeatable figure (wall-clock CPU is noisy on shared machines; this is stable to well under
# 1% run to run). pierd runs under valgrind with 2 workers on 127.0.0.1 (a port the kernel
# picks); pierload (not under valgrind) sends N1, then in a second run N2 messages over 50
# connections; (total(N2) - total(N1)) / (N2 - N1) removes start-up and shutdown.
#
# usage: bench/callgrind_echo.sh [N1 N2]     (default 20000 60000; about a minute per scheduler)
# Needs valgrind (apt-get install valgrind). PIERD and PIERLOAD override the binaries.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pierd=${PIERD:-$root/build/release/server/pierd}
pierload=${PIERLOAD:-$root/build/release/loadtest/pierload}
n1=${1:-20000}
n2=${2:-60000}
command -v valgrind >/dev/null || { echo "callgrind_echo: valgrind is missing" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/callgrind_echo.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Total instructions pierd executes while echoing $2 messages with scheduler $1.
instructions() {
    local scheduler=$1 messages=$2 log=$work/pierd.log
    cat >"$work/pierd.yaml" <<YAML
runtime: { threads: 2, scheduler: $scheduler }
listeners:
  - name: echo
    listen: "127.0.0.1:0"
    handler: echo
    idle_timeout: 0
YAML
    valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
        "$pierd" --allow-root --config "$work/pierd.yaml" >"$log" 2>&1 &
    local pid=$! port=""
    for _ in $(seq 300); do  # valgrind starts slowly: up to 30 s
        port=$(sed -nE 's/.*listening listener=echo addr=127\.0\.0\.1:([0-9]+).*/\1/p' "$log")
        [[ -n $port ]] && break
        sleep 0.1
    done
    [[ -n $port ]] || { echo "callgrind_echo: pierd did not start" >&2; cat "$log" >&2; exit 1; }
    timeout 300 "$pierload" -c 50 -t 1 -n "$messages" -q "127.0.0.1:$port" >/dev/null
    kill -TERM "$pid"
    wait "$pid"
    sed -nE 's/.*Collected : ([0-9]+).*/\1/p' "$log"
}

printf '%-14s %s\n' scheduler "instructions per message"
for scheduler in pinned work_stealing; do
    a=$(instructions "$scheduler" "$n1")
    b=$(instructions "$scheduler" "$n2")
    printf '%-14s %d\n' "$scheduler" $(((b - a) / (n2 - n1)))
done
