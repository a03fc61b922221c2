#!/usr/bin/env bash
# Instructions per proxied redis GET in pierd (user space: what the proxy itself executes;
# the kernel's share is the system calls, counted with strace in bench/README.md), without
# pipelining and with 16 requests per batch, counted by callgrind: the repeatable figure for
# the relay's own cost. pierd runs under valgrind with 1 worker, proxying to a redis-server on
# 127.0.0.1; redis-benchmark (not under valgrind) sends N1, then in a second run N2 GETs over
# 50 connections; (total(N2) - total(N1)) / (N2 - N1) removes start-up and shutdown.
#
# usage: bench/callgrind_proxy.sh [N1 N2]     (default 20000 60000; about a minute per depth)
# Needs valgrind, redis-server and redis-benchmark (apt-get install valgrind redis-server
# redis-tools). PIERD overrides the binary.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pierd=${PIERD:-$root/build/release/server/pierd}
n1=${1:-20000}
n2=${2:-60000}
for tool in valgrind redis-server redis-benchmark; do
    command -v $tool >/dev/null || { echo "callgrind_proxy: $tool is missing" >&2; exit 2; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/callgrind_proxy.XXXXXX")
redis_pid=""
trap '[[ -n $redis_pid ]] && kill $redis_pid 2>/dev/null; rm -rf "$work"' EXIT

# redis-server needs a port number before it starts: one the kernel just handed out.
redis_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
    >/dev/null 2>&1 &
redis_pid=$!
for _ in $(seq 100); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.1
done

# Total instructions pierd executes while proxying $2 GETs sent $1 per batch.
instructions() {
    local pipeline=$1 requests=$2 log=$work/pierd.log
    cat >"$work/pierd.yaml" <<YAML
runtime: { threads: 1 }
listeners:
  - name: front
    listen: "127.0.0.1:0"
    handler: proxy
    proxy: { upstreams: ["127.0.0.1:$redis_port"] }
YAML
    valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
        "$pierd" --allow-root --config "$work/pierd.yaml" >"$log" 2>&1 &
    local pid=$! port=""
    for _ in $(seq 300); do  # valgrind starts slowly: up to 30 s
        port=$(sed -nE 's/.*listening listener=front addr=127\.0\.0\.1:([0-9]+).*/\1/p' "$log")
        [[ -n $port ]] && break
        sleep 0.1
    done
    [[ -n $port ]] || { echo "callgrind_proxy: pierd did not start" >&2; cat "$log" >&2; exit 1; }
    timeout 300 redis-benchmark -h 127.0.0.1 -p "$port" -t get -c 50 -n "$requests" \
        -P "$pipeline" -q >/dev/null
    kill -TERM "$pid"
    wait "$pid"
    sed -nE 's/.*Collected : ([0-9]+).*/\1/p' "$log"
}

printf '%-9s %s\n' pipeline "instructions per GET"
for pipeline in 1 16; do
    a=$(instructions "$pipeline" "$n1")
    b=$(instructions "$pipeline" "$n2")
    printf '%-9s %d\n' "$pipeline" $(((b - a) / (n2 - n1)))
done
