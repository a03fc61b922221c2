#!/usr/bin/env bash
# Echo throughput and CPU per request: pierd's echo handler against bench/epoll_echo (a minimal
# epoll server, the syscall-bound reference), both driven by pierload in closed loop.
#
# Servers: pierd (runtime.scheduler: work_stealing, the default), pierd_pinned (scheduler: pinned),
# pierd_portable (work_stealing, built with edge_reader's portable path: the `portable` preset)
# and epoll_echo. For each server and each connection count: start the server on 127.0.0.1 port 0 (the port is
# read back from its output), run pierload for DURATION with SIZE-byte messages, and measure the
# CPU seconds the server and pierload each spent during that run. Prints one table.
#
# The figures to compare are CPU seconds per million requests, not req/s: on a small box client
# and server share the cores, so req/s says how the CPU was split as much as how fast either is.
# CPU per request is what each side would cost on its own cores. The client must never be the
# limit of a measurement, so pierload's CPU per request must be <= the server's; the script says
# whether it was (against epoll_echo, which makes the same syscalls as pierload, it checks parity).
#
# usage: bench/echo_bench.sh [--duration 10s] [--connections 50,1000]
#                            [--servers pierd,pierd_pinned,epoll_echo]
#                            [--server-threads N] [--client-threads N] [--size 64]
# The same settings as environment variables: DURATION, CONNECTIONS ("50 1000" or "50,1000"),
# SERVERS, SERVER_THREADS, CLIENT_THREADS, SIZE; PIERD, PIERD_PORTABLE, PIERLOAD and EPOLL_ECHO
# override the binaries. Exit status: 0 when every run finished without errors, 1 otherwise, 2 on bad usage.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cores=$(nproc)

duration=${DURATION:-10s}
connections=${CONNECTIONS:-50 1000}
servers=${SERVERS:-pierd pierd_pinned epoll_echo}
# Both sides get every core by default: they compete for them, which is why CPU per request
# (not req/s) is the figure to compare. Pin fewer threads to either side to explore the split.
server_threads=${SERVER_THREADS:-$cores}
client_threads=${CLIENT_THREADS:-$cores}
size=${SIZE:-64}
pierd=${PIERD:-$root/build/release/server/pierd}
pierd_portable=${PIERD_PORTABLE:-$root/build/portable/server/pierd}
pierload=${PIERLOAD:-$root/build/release/loadtest/pierload}
epoll_echo=${EPOLL_ECHO:-$root/build/bench/epoll_echo}

usage() {
    sed -n '/^# usage:/,/^# binaries/p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
while (($#)); do
    case $1 in
        --duration) duration=${2:?}; shift 2 ;;
        --connections) connections=${2:?}; shift 2 ;;
        --servers) servers=${2:?}; shift 2 ;;
        --server-threads) server_threads=${2:?}; shift 2 ;;
        --client-threads) client_threads=${2:?}; shift 2 ;;
        --size) size=${2:?}; shift 2 ;;
        -h | --help) usage ;;
        *) echo "echo_bench: unknown argument: $1" >&2; usage ;;
    esac
done
connections=${connections//,/ }
servers=${servers//,/ }

# Seconds in DURATION, for the watchdog below ("10s", "2m", "500ms"; pierload's own syntax).
duration_s=$(python3 -c '
import re, sys
m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", sys.argv[1])
if not m: sys.exit("echo_bench: bad duration: " + sys.argv[1])
print(int(float(m[1]) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m[2] or "s"]) + 1)' "$duration")

if [[ $servers == *pierd_portable* && ! -x $pierd_portable ]]; then
    echo "echo_bench: $pierd_portable is missing: cd $root && cmake --build --preset portable" >&2
    exit 2
fi
for bin in "$pierd" "$pierload"; do
    if [[ ! -x $bin ]]; then
        echo "echo_bench: $bin is missing: cd $root && cmake --build --preset release" >&2
        exit 2
    fi
done
if [[ ! -x /usr/bin/time ]]; then
    echo "echo_bench: /usr/bin/time is missing: apt-get install time" >&2
    exit 2
fi

# epoll_echo is one file with no dependencies: build it here rather than in the main CMake.
if [[ $servers == *epoll_echo* && -z ${EPOLL_ECHO:-} ]]; then
    src=$root/bench/epoll_echo.cpp
    if [[ ! -x $epoll_echo || $src -nt $epoll_echo ]]; then
        mkdir -p "$(dirname "$epoll_echo")"
        echo "building $epoll_echo" >&2
        g++ -std=c++20 -O2 -Wall -Wextra -Wpedantic -Wconversion -Wshadow -pthread \
            "$src" -o "$epoll_echo"
    fi
fi

clk_tck=$(getconf CLK_TCK)
work=$(mktemp -d "${TMPDIR:-/tmp}/echo_bench.XXXXXX")
server_pid=""

stop_server() {
    [[ -n $server_pid ]] || return 0
    kill -TERM "$server_pid" 2>/dev/null || true
    # Bounded: pierd drains (nothing is connected by now) and epoll_echo exits at once; a server
    # still alive after 10 s is killed.
    for _ in $(seq 100); do
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# CPU seconds a live process has used so far, all threads: utime + stime (fields 14 and 15 of
# /proc/PID/stat, in clock ticks). The name field may hold spaces: split after its ')'.
cpu_seconds() {
    local stat
    stat=$(<"/proc/$1/stat")
    stat=${stat##*) }
    local -a f
    read -r -a f <<<"$stat"
    # After ')' the first field is field 3 (state): utime is f[11], stime f[12].
    awk -v t="$((f[11] + f[12]))" -v hz="$clk_tck" 'BEGIN { printf "%.3f", t / hz }'
}

# Starts server $1 on 127.0.0.1 port 0; sets server_pid and port.
start_server() {
    local name=$1 log=$work/$1.log
    case $name in
        pierd | pierd_pinned | pierd_portable)
            local scheduler=work_stealing binary=$pierd
            [[ $name == pierd_pinned ]] && scheduler=pinned
            [[ $name == pierd_portable ]] && binary=$pierd_portable
            cat >"$work/pierd.yaml" <<EOF
runtime:
  threads: $server_threads
  scheduler: $scheduler
listeners:
  - name: echo
    listen: "127.0.0.1:0"
    handler: echo
    max_connections: 100000
    # epoll_echo listens with a backlog of 4096: the same here, or thousands of connects
    # overflow pierd's queue (1024 by default) and the late ones skew the latency tail.
    backlog: 4096
    idle_timeout: 0
EOF
            "$binary" --allow-root --config "$work/pierd.yaml" >"$log" 2>&1 &
            ;;
        epoll_echo)
            "$epoll_echo" --port 0 --threads "$server_threads" >"$log" 2>&1 &
            ;;
        *) echo "echo_bench: unknown server: $name" >&2; exit 2 ;;
    esac
    server_pid=$!
    port=""
    # Both print their port once bound: pierd "listening listener=echo addr=127.0.0.1:N",
    # epoll_echo "listening port=N". Wait at most 10 s.
    for _ in $(seq 100); do
        port=$(sed -nE 's/.*listening (listener=echo addr=127\.0\.0\.1:|port=)([0-9]+).*/\2/p' \
            "$log" | head -n1)
        [[ -n $port ]] && return 0
        if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
        sleep 0.1
    done
    echo "echo_bench: $name did not report its port:" >&2
    cat "$log" >&2
    exit 1
}

results=$work/results.tsv
: >"$results"
failed=0
for server in $servers; do
    for conns in $connections; do
        start_server "$server"
        echo "running $server, $conns connections, $duration ..." >&2
        json=$work/$server-$conns.json
        times=$work/$server-$conns.time
        before=$(cpu_seconds "$server_pid")
        # pierload's CPU: /usr/bin/time reports the user and system time wait4() returns for it
        # when it exits, which covers all of its threads, exactly and without sampling a process
        # that is about to vanish. The server is sampled from /proc just before pierload starts
        # and just after it exits, so both figures cover the same interval (including connection
        # set-up and teardown, which is small next to the run).
        # timeout bounds a wedged run: duration plus 60 s for connecting and the report.
        rc=0
        timeout --signal=TERM --kill-after=10 "$((duration_s + 60))" \
            /usr/bin/time -f '%U %S' -o "$times" \
            "$pierload" -c "$conns" -t "$client_threads" -d "$duration" -s "$size" -q \
            --json - "127.0.0.1:$port" >"$json" 2>"$work/$server-$conns.pierload.log" || rc=$?
        after=$(cpu_seconds "$server_pid")
        stop_server
        if ((rc != 0)); then
            echo "echo_bench: pierload exited $rc against $server ($conns connections):" >&2
            tail -n 5 "$work/$server-$conns.pierload.log" >&2
            failed=1
            [[ -s $json ]] || continue
        fi
        # /usr/bin/time writes "Command exited with non-zero status N" first on failure.
        if ! read -r client_user client_sys < <(tail -n1 "$times" 2>/dev/null); then
            failed=1
            continue
        fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$conns" "$json" \
            "$(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.3f", a - b }')" \
            "$(awk -v u="$client_user" -v s="$client_sys" 'BEGIN { printf "%.3f", u + s }')" \
            "$rc" >>"$results"
    done
done

python3 - "$results" "$duration" "$size" "$server_threads" "$client_threads" "$cores" <<'EOF'
import json, sys
path, duration, size, server_threads, client_threads, cores = sys.argv[1:]
print(f"\necho, {size} B messages, closed loop, {duration} per run; server threads "
      f"{server_threads}, pierload threads {client_threads}, {cores} cores shared by both")
head = ("server", "conns", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "errors",
        "srv CPU s/Mreq", "load CPU s/Mreq", "load/srv", "client <= server")
# epoll_echo is the syscall floor and pierload's closed-loop engine makes the same syscalls on
# its side, so there the two figures should be equal ("parity": within 10%); every other server
# must cost at least what pierload does.
def verdict(server, client, srv):
    if server == "epoll_echo":
        return "parity" if client <= 1.10 * srv else "NO"
    return "yes" if client <= srv else "NO"
rows = []
for line in open(path):
    server, conns, json_path, server_cpu, client_cpu, rc = line.rstrip("\n").split("\t")
    report = json.load(open(json_path))
    requests = report["requests"]
    per_m = lambda cpu: float(cpu) / requests * 1e6 if requests else float("nan")
    s, c = per_m(server_cpu), per_m(client_cpu)
    rows.append((server, conns, f"{report['requests_per_s']:.0f}",
                 f"{report['latency']['p50_ms']:.3f}", f"{report['latency']['p99_ms']:.3f}",
                 f"{report['latency']['p99.9_ms']:.3f}", f"{report['latency']['max_ms']:.3f}",
                 str(report["errors"]["total"]), f"{s:.2f}", f"{c:.2f}", f"{c / s:.2f}",
                 verdict(server, c, s)))
widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
for r in (head, *rows):
    print("  ".join(v.rjust(w) if i > 1 else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths))))
over = [f"{r[0]}/{r[1]}" for r in rows if r[-1] == "NO"]
print("\npierload CPU per request <= server's (epoll_echo: within 10%): " +
      ("yes, in every run" if not over else "NO in " + ", ".join(over) +
       " -- the client may have limited those measurements"))
EOF
exit "$failed"
