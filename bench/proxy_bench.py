#!/usr/bin/env python3
"""redis-benchmark through pierd's proxy handler and through HAProxy in TCP mode, against
redis directly, in one run on one machine.

For each target (redis direct, pierd's proxy, HAProxy) and each pipeline depth, runs
`redis-benchmark -t TEST -c CLIENTS -n REQUESTS [-P DEPTH]` for each test and reads the proxy's
CPU time (its threads' schedstat in /proc) before and after, so each row has requests per
second and the proxy's CPU microseconds per request. pierd and HAProxy get the same thread
count and the same upstream; both are started on free loopback ports and stopped at the end.

With --rounds N every (pipeline, test) is run N times, the targets taking turns within each
round, so a burst of load from a neighbour on a shared machine hits one round rather than one
target. The verdict compares pierd with HAProxy round by round (the same minute of the same
machine) and reports the median of those ratios, and the worst.

On a small machine redis, redis-benchmark and the proxy share the cores, so requests per
second says how the CPU was split as much as how fast the proxy is: compare the ratios within
one run, and the proxy's CPU per request, which is what it would cost on cores of its own.

With --pin the proxies run on cores of their own (the last --threads cores) and redis and
redis-benchmark on the others: the proxy's speed without the cost of sharing a core, and
without its cost to the others. With --busy-polling both proxies poll instead of sleeping
(pierd's runtime.busy_polling, HAProxy's busy-polling): meant for use with --pin. A polling
proxy uses its core even when idle, so the proxy not being measured is stopped (SIGSTOP)
meanwhile.

With --portable PIERD a second pierd (one built with edge_reader's portable path: the
`portable` preset, build/portable/server/pierd) takes its turn too, and its ratio to pierd is
reported: what the portable path costs against the reactor path.

usage: bench/proxy_bench.py [--requests 200000] [--clients 50] [--threads 1]
                            [--pipelines 1,16] [--tests ping,set,get]
                            [--scheduler work_stealing|pinned] [--rounds 3] [--pin]
                            [--busy-polling] [--portable PIERD]
Needs redis-server, redis-benchmark and haproxy (installed with apt-get when missing, as root)
and a release build of pierd (scripts/setup.sh). Exit status 0 when every run completed.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PIERD = os.environ.get("PIERD", os.path.join(ROOT, "build/release/server/pierd"))


def ensure_installed(program, package):
    if shutil.which(program):
        return
    print(f"proxy_bench: installing {package}", file=sys.stderr)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", package],
                   check=True, env=env)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """Seconds on CPU of every thread of `pid`, counted in nanoseconds (schedstat) rather than
    in the clock ticks of /proc/PID/stat: a 10 ms tick is several percent of a short
    pipelined run. The proxies' threads live as long as they do, so no thread's time is lost
    by exiting."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass  # a thread that ended between the listing and the read
    return total / 1e9


def on_cores(cores):
    """A preexec_fn keeping the child on `cores` (None: wherever the kernel likes)."""
    if cores is None:
        return None
    return lambda: os.sched_setaffinity(0, cores)


def wait_for(predicate, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.05)
    raise SystemExit(f"proxy_bench: {what} did not happen within {timeout}s")


def accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def stop_all(procs, timeout=30):
    """SIGTERM to every process, then waits for each (SIGKILL after `timeout` seconds)."""
    for proc in procs:
        proc.send_signal(signal.SIGCONT)  # a stopped process would not see SIGTERM yet
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_accepting(proc, log, port, name):
    """Waits until `proc` (logging to the open file `log`) accepts on `port`; exits with its
    log if it dies first."""

    def ready():
        if proc.poll() is not None:
            log.seek(0)
            raise SystemExit(f"{name} exited:\n{log.read()}")
        return accepts(port)

    wait_for(ready, f"{name} accepting")


def start_redis(workdir, cores):
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", workdir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=on_cores(cores))
    wait_for(lambda: accepts(port), "redis-server accepting")
    return proc, port


def start_pierd(workdir, threads, scheduler, upstream, cores, busy_polling, binary=PIERD,
                name="pierd"):
    config = os.path.join(workdir, f"{name}.yaml")
    busy = "true" if busy_polling else "false"
    with open(config, "w") as f:
        f.write(f"""runtime: {{ threads: {threads}, scheduler: {scheduler}, busy_polling: {busy} }}
listeners:
  - name: front
    listen: "127.0.0.1:0"
    handler: proxy
    max_connections: 5000
    proxy: {{ upstreams: ["127.0.0.1:{upstream}"] }}
""")
    log = open(os.path.join(workdir, f"{name}.log"), "w+")
    proc = subprocess.Popen([binary, "--allow-root", "--config", config], stdout=log,
                            stderr=subprocess.STDOUT, preexec_fn=on_cores(cores))

    def port():
        log.seek(0)
        match = re.search(r"listening listener=front addr=127\.0\.0\.1:(\d+)", log.read())
        return int(match.group(1)) if match else None

    return proc, wait_for(port, f"{name} listening")


def start_haproxy(workdir, threads, upstream, cores, busy_polling):
    port = free_port()
    config = os.path.join(workdir, "haproxy.cfg")
    with open(config, "w") as f:
        f.write(f"""global
    nbthread {threads}
    maxconn 5000
{"    busy-polling" if busy_polling else ""}
defaults
    mode tcp
    timeout connect 5s
    timeout client 5m
    timeout server 5m
frontend front
    bind 127.0.0.1:{port}
    default_backend upstream
backend upstream
    balance roundrobin
    server redis 127.0.0.1:{upstream}
""")
    log = open(os.path.join(workdir, "haproxy.log"), "w+")
    proc = subprocess.Popen(["haproxy", "-db", "-f", config], stdout=log,
                            stderr=subprocess.STDOUT, preexec_fn=on_cores(cores))
    wait_accepting(proc, log, port, "haproxy")
    return proc, port


def benchmark(port, test, clients, requests, pipeline, cores):
    """Requests per second over what redis-benchmark ran for `test`, and how many requests."""
    command = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", test,
               "-c", str(clients), "-n", str(requests), "-P", str(pipeline), "--csv"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=600,
                         preexec_fn=on_cores(cores))
    if out.returncode != 0 or "rror" in out.stdout + out.stderr:
        raise SystemExit(f"proxy_bench: {' '.join(command)} failed:\n{out.stdout}{out.stderr}")
    rates = []
    for line in out.stdout.splitlines():
        cells = [c.strip('"') for c in line.split(",")]
        if len(cells) > 1 and cells[0] != "test":
            rates.append(float(cells[1]))
    if not rates:
        raise SystemExit(f"proxy_bench: no result in:\n{out.stdout}")
    # "ping" is two tests (PING_INLINE, PING_MBULK): all requests over all the time taken.
    return len(rates) * requests / sum(requests / r for r in rates), len(rates) * requests


def print_ratios(results, cases, name, reference, rounds):
    """Prints name / reference per (pipeline, test), round by round: median [worst]."""
    print(f"\n# {name} / {reference}, per round: throughput (want >= 1.00), CPU per request "
          f"(want <= 1.00); median of {rounds} rounds [worst round]")
    for pipeline, test in cases:
        pairs = zip(results[(name, pipeline, test)], results[(reference, pipeline, test)])
        throughput, cpu = [], []
        for (n_rps, n_cpu), (r_rps, r_cpu) in pairs:
            throughput.append(n_rps / r_rps)
            cpu.append(n_cpu / r_cpu if r_cpu > 0 else float("nan"))
        print(f"P={pipeline:<3} {test:>5}: throughput {statistics.median(throughput):5.2f}x "
              f"[{min(throughput):4.2f}], CPU/req {statistics.median(cpu):5.2f}x "
              f"[{max(cpu):4.2f}]")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--pipelines", default="1,16")
    parser.add_argument("--tests", default="ping,set,get")
    parser.add_argument("--scheduler", default="work_stealing", help="pierd's runtime.scheduler")
    parser.add_argument("--rounds", type=int, default=3,
                        help="runs of each (pipeline, test), the targets taking turns")
    parser.add_argument("--pin", action="store_true",
                        help="proxies on the last --threads cores, redis and the client on the rest")
    parser.add_argument("--busy-polling", action="store_true",
                        help="both proxies poll instead of sleeping (use with --pin)")
    parser.add_argument("--portable", metavar="PIERD",
                        help="also a pierd built with edge_reader's portable path")
    args = parser.parse_args()
    proxy_cores = client_cores = None
    if args.pin:
        cores = sorted(os.sched_getaffinity(0))
        if len(cores) <= args.threads:
            raise SystemExit(f"proxy_bench: --pin needs more than {args.threads} cores")
        proxy_cores, client_cores = set(cores[-args.threads:]), set(cores[:-args.threads])
    for program, package in (("redis-server", "redis-server"),
                             ("redis-benchmark", "redis-tools"), ("haproxy", "haproxy")):
        ensure_installed(program, package)
    if not os.access(PIERD, os.X_OK):
        raise SystemExit(f"proxy_bench: no pierd at {PIERD} (run scripts/setup.sh)")
    if args.portable and not os.access(args.portable, os.X_OK):
        raise SystemExit(f"proxy_bench: no pierd at {args.portable} "
                         "(cmake --build --preset portable)")

    with tempfile.TemporaryDirectory(prefix="pier-proxy-bench.") as workdir:
        procs = []
        try:
            redis, redis_port = start_redis(workdir, client_cores)
            procs.append(redis)
            pierd, pierd_port = start_pierd(workdir, args.threads, args.scheduler, redis_port,
                                            proxy_cores, args.busy_polling)
            procs.append(pierd)
            haproxy, haproxy_port = start_haproxy(workdir, args.threads, redis_port, proxy_cores,
                                                  args.busy_polling)
            procs.append(haproxy)
            targets = [("redis", redis_port, None), ("pierd", pierd_port, pierd),
                       ("haproxy", haproxy_port, haproxy)]
            if args.portable:
                portable, portable_port = start_pierd(
                    workdir, args.threads, args.scheduler, redis_port, proxy_cores,
                    args.busy_polling, binary=args.portable, name="portable")
                procs.append(portable)
                targets.append(("portable", portable_port, portable))
            version = subprocess.run(["haproxy", "-v"], capture_output=True,
                                     text=True).stdout.splitlines()[0]
            print(f"# {version}; pierd and haproxy: {args.threads} thread(s)"
                  f"{', busy polling' if args.busy_polling else ''}; "
                  f"{args.clients} clients, {args.requests} requests per test; "
                  + (f"proxies on cores {sorted(proxy_cores)}, redis and the client on "
                     f"{sorted(client_cores)}" if args.pin else
                     f"{os.cpu_count()} cores shared by all processes"))
            print(f"{'target':8} {'pipeline':>8} {'test':>5} {'round':>5} {'req/s':>11} "
                  f"{'proxy CPU us/req':>16}")
            results = {}  # (target, pipeline, test) -> [(req/s, CPU us per request)] by round
            cases = [(int(p), t) for p in args.pipelines.split(",") for t in args.tests.split(",")]
            for pipeline, test in cases:
                for round_number in range(1, args.rounds + 1):
                    for name, port, proc in targets:
                        idle = [p for _, _, p in targets if p and p is not proc]
                        if args.busy_polling:
                            for other in idle:
                                other.send_signal(signal.SIGSTOP)
                        before = cpu_seconds(proc.pid) if proc else 0.0
                        rps, done = benchmark(port, test, args.clients, args.requests, pipeline,
                                              client_cores)
                        cpu = (cpu_seconds(proc.pid) - before) if proc else 0.0
                        if args.busy_polling:
                            for other in idle:
                                other.send_signal(signal.SIGCONT)
                        per_request = cpu / done * 1e6
                        results.setdefault((name, pipeline, test), []).append((rps, per_request))
                        cpu_text = f"{per_request:16.2f}" if proc else f"{'-':>16}"
                        print(f"{name:8} {pipeline:8} {test:>5} {round_number:5} {rps:11.0f} "
                              f"{cpu_text}", flush=True)
            print_ratios(results, cases, "pierd", "haproxy", args.rounds)
            if args.portable:
                print_ratios(results, cases, "portable", "pierd", args.rounds)
        finally:
            stop_all(procs)


if __name__ == "__main__":
    main()
