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
# With --rounds N every server runs N times at each connection count, interleaved (round 1 of
# every server, then round 2, ...), and a summary gives each figure's median over the rounds
# and its ratio to epoll_echo's in the same round (median of the per-round ratios). Besides the
# two processes' CPU it measures the whole machine's (every CPU's busy time from /proc/stat:
# server, client, ksoftirqd and whatever else ran) and the server's context switches (voluntary
# and involuntary, summed over its threads): each is a sleep and a wake-up, and on a virtual
# CPU a wake-up is slow for both sides.
#
# usage: bench/echo_bench.sh [--duration 10s] [--connections 50,1000] [--rounds 1]
#                            [--servers pierd,pierd_pinned,epoll_echo]
#                            [--server-threads N] [--client-threads N] [--size 64]
# The same settings as environment variables: DURATION, CONNECTIONS ("50 1000" or "50,1000"),
# ROUNDS, SERVERS, SERVER_THREADS, CLIENT_THREADS, SIZE; PIERD, PIERD_PORTABLE, PIERLOAD and
# EPOLL_ECHO override the binaries; PIERD_BASELINE adds a server "pierd_baseline" (another pierd
# binary, work_stealing) for A/B runs. Exit status: 0 when every run finished without errors,
# 1 otherwise, 2 on bad usage.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cores=$(nproc)

duration=${DURATION:-10s}
connections=${CONNECTIONS:-50 1000}
rounds=${ROUNDS:-1}
servers=${SERVERS:-pierd pierd_pinned epoll_echo}
# Both sides get every core by default: they compete for them, which is why CPU per request
# (not req/s) is the figure to compare. Pin fewer threads to either side to explore the split.
server_threads=${SERVER_THREADS:-$cores}
client_threads=${CLIENT_THREADS:-$cores}
size=${SIZE:-64}
pierd=${PIERD:-$root/build/release/server/pierd}
pierd_portable=${PIERD_PORTABLE:-$root/build/portable/server/pierd}
pierd_baseline=${PIERD_BASELINE:-}
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
        --rounds) rounds=${2:?}; shift 2 ;;
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

if ! [[ $rounds =~ ^[1-9][0-9]*$ ]]; then
    echo "echo_bench: --rounds wants a positive count, not $rounds" >&2
    exit 2
fi
if [[ $servers == *pierd_baseline* && ! -x $pierd_baseline ]]; then
    echo "echo_bench: pierd_baseline needs PIERD_BASELINE=/path/to/pierd" >&2
    exit 2
fi
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

# CPU seconds the whole machine has been busy so far, all CPUs: every field of /proc/stat's
# "cpu" line but idle and iowait (user, nice, system, irq, softirq, steal; guest time is
# already inside user).
machine_cpu_seconds() {
    local -a f
    read -r -a f </proc/stat
    awk -v t="$((f[1] + f[2] + f[3] + f[6] + f[7] + f[8]))" -v hz="$clk_tck" \
        'BEGIN { printf "%.3f", t / hz }'
}

# Context switches of a live process so far, voluntary and involuntary, summed over its
# threads (/proc/PID/status counts only the thread it names).
context_switches() {
    cat /proc/"$1"/task/*/status 2>/dev/null |
        awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { n += $2 } END { print n + 0 }'
}

# Starts server $1 on 127.0.0.1 port 0; sets server_pid and port.
start_server() {
    local name=$1 log=$work/$1.log
    case $name in
        pierd | pierd_pinned | pierd_portable | pierd_baseline)
            local scheduler=work_stealing binary=$pierd
            [[ $name == pierd_pinned ]] && scheduler=pinned
            [[ $name == pierd_portable ]] && binary=$pierd_portable
            [[ $name == pierd_baseline ]] && binary=$pierd_baseline
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
for round in $(seq "$rounds"); do
    for conns in $connections; do
        for server in $servers; do
            start_server "$server"
            echo "round $round/$rounds: $server, $conns connections, $duration ..." >&2
            run=$work/$server-$conns-$round
            before=$(cpu_seconds "$server_pid")
            switches_before=$(context_switches "$server_pid")
            machine_before=$(machine_cpu_seconds)
            # pierload's CPU: /usr/bin/time reports the user and system time wait4() returns for
            # it when it exits, which covers all of its threads, exactly and without sampling a
            # process that is about to vanish. The server and the machine are sampled from /proc
            # just before pierload starts and just after it exits, so all three figures cover
            # the same interval (connection set-up and teardown included: small next to the run).
            # timeout bounds a wedged run: duration plus 60 s for connecting and the report.
            rc=0
            timeout --signal=TERM --kill-after=10 "$((duration_s + 60))" \
                /usr/bin/time -f '%U %S' -o "$run.time" \
                "$pierload" -c "$conns" -t "$client_threads" -d "$duration" -s "$size" -q \
                --json - "127.0.0.1:$port" >"$run.json" 2>"$run.pierload.log" || rc=$?
            machine_after=$(machine_cpu_seconds)
            after=$(cpu_seconds "$server_pid")
            switches_after=$(context_switches "$server_pid")
            stop_server
            if ((rc != 0)); then
                echo "echo_bench: pierload exited $rc against $server ($conns connections):" >&2
                tail -n 5 "$run.pierload.log" >&2
                failed=1
                [[ -s $run.json ]] || continue
            fi
            # /usr/bin/time writes "Command exited with non-zero status N" first on failure.
            if ! read -r client_user client_sys < <(tail -n1 "$run.time" 2>/dev/null); then
                failed=1
                continue
            fi
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$conns" "$round" "$run.json" \
                "$(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.3f", a - b }')" \
                "$(awk -v u="$client_user" -v s="$client_sys" 'BEGIN { printf "%.3f", u + s }')" \
                "$(awk -v a="$machine_after" -v b="$machine_before" 'BEGIN { printf "%.3f", a - b }')" \
                "$((switches_after - switches_before))" >>"$results"
        done
    done
done

python3 - "$results" "$duration" "$size" "$server_threads" "$client_threads" "$cores" <<'EOF'
import json, statistics, sys
path, duration, size, server_threads, client_threads, cores = sys.argv[1:]
print(f"\necho, {size} B messages, closed loop, {duration} per run; server threads "
      f"{server_threads}, pierload threads {client_threads}, {cores} cores shared by both")
# Per run: CPU seconds per million requests of the server, of pierload and of the whole
# machine; the server's context switches per thousand requests.
runs = []
for line in open(path):
    server, conns, rnd, json_path, server_cpu, client_cpu, machine_cpu, switches = \
        line.rstrip("\n").split("\t")
    report = json.load(open(json_path))
    requests = report["requests"]
    per_m = lambda cpu: float(cpu) / requests * 1e6 if requests else float("nan")
    lat = report["latency"]
    runs.append(dict(server=server, conns=int(conns), round=int(rnd),
                     rps=report["requests_per_s"], p50=lat["p50_ms"], p99=lat["p99_ms"],
                     p999=lat["p99.9_ms"], max=lat["max_ms"], errors=report["errors"]["total"],
                     srv=per_m(server_cpu), load=per_m(client_cpu), machine=per_m(machine_cpu),
                     cs=float(switches) / requests * 1e3 if requests else float("nan")))

def table(head, rows):
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    for r in (head, *rows):
        print("  ".join(v.ljust(w) if i == 0 else v.rjust(w)
                        for i, (v, w) in enumerate(zip(r, widths))))

# epoll_echo is the syscall floor and pierload's closed-loop engine makes the same syscalls on
# its side, so there the two figures should be equal ("parity": within 10%); every other server
# must cost at least what pierload does.
def verdict(r):
    if r["server"] == "epoll_echo":
        return "parity" if r["load"] <= 1.10 * r["srv"] else "NO"
    return "yes" if r["load"] <= r["srv"] else "NO"

print()
table(("server", "conns", "round", "req/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "errors",
       "srv CPU s/Mreq", "load CPU s/Mreq", "machine CPU s/Mreq", "srv cs/kreq",
       "client <= server"),
      [(r["server"], str(r["conns"]), str(r["round"]), f"{r['rps']:.0f}", f"{r['p50']:.3f}",
        f"{r['p99']:.3f}", f"{r['p999']:.3f}", f"{r['max']:.3f}", str(r["errors"]),
        f"{r['srv']:.2f}", f"{r['load']:.2f}", f"{r['machine']:.2f}", f"{r['cs']:.1f}",
        verdict(r)) for r in runs])
over = [f"{r['server']}/{r['conns']}/{r['round']}" for r in runs if verdict(r) == "NO"]
print("\npierload CPU per request <= server's (epoll_echo: within 10%): " +
      ("yes, in every run" if not over else "NO in " + ", ".join(over) +
       " -- the client may have limited those measurements"))

# Medians over the rounds, and each figure against epoll_echo's in the same round.
rounds = sorted({r["round"] for r in runs})
if len(rounds) > 1 or any(r["server"] == "epoll_echo" for r in runs):
    ref = {(r["conns"], r["round"]): r for r in runs if r["server"] == "epoll_echo"}
    keys = ("srv", "load", "machine", "rps", "p99", "p999", "cs")
    rows = []
    for server in dict.fromkeys(r["server"] for r in runs):
        for conns in sorted({r["conns"] for r in runs if r["server"] == server}):
            mine = [r for r in runs if r["server"] == server and r["conns"] == conns]
            med = {k: statistics.median(r[k] for r in mine) for k in keys}
            paired = [(r, ref[(conns, r["round"])]) for r in mine if (conns, r["round"]) in ref]
            ratio = {k: statistics.median(r[k] / e[k] for r, e in paired if e[k])
                     if paired else float("nan") for k in keys}
            rows.append((server, str(conns), str(len(mine)), f"{med['rps']:.0f}",
                         f"{med['p99']:.2f}", f"{med['p999']:.2f}", f"{med['srv']:.2f}",
                         f"{med['load']:.2f}", f"{med['machine']:.2f}", f"{med['cs']:.1f}",
                         f"{ratio['srv']:.2f}x", f"{ratio['load']:.2f}x",
                         f"{ratio['machine']:.2f}x", f"{ratio['rps']:.2f}x",
                         f"{ratio['p99']:.2f}x", f"{ratio['p999']:.2f}x"))
    print(f"\nmedians over {len(rounds)} round(s); ratios: median of the per-round ratios to "
          "epoll_echo's")
    table(("server", "conns", "runs", "req/s", "p99 ms", "p99.9 ms", "srv CPU", "load CPU",
           "machine CPU", "srv cs/kreq", "srv/epoll", "load/epoll", "machine/epoll",
           "req/s/epoll", "p99/epoll", "p99.9/epoll"), rows)
EOF
exit "$failed"
