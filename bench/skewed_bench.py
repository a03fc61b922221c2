#!/usr/bin/env python3
"""Skewed load: what work stealing buys when one worker gets all the heavy requests.

pierd runs the synthetic handler with 2 workers, once per scheduler (work_stealing, pinned), in
the same run, driven by pierload: heavy connections send `cpu=2ms` requests in a closed loop;
light connections send an empty request (cpu 0) every 5 ms, open loop, so their latency is
measured from each request's planned send time. Two layouts:

  A: both heavy and both light connections on worker 0; worker 1 holds only idle connections.
     Targets: work_stealing heavy throughput >= 1.6x pinned, light p99 <= 0.5x pinned.
  B: heavy on worker 0, light on worker 1 (pinned already isolates them).
     Target: work_stealing light p99 <= one heavy request (2 ms) + 0.5 ms.

Placement: pierd homes a connection on the worker with the fewest live connections (the accept
in progress holds a lease too, so accepted connection N lands on worker N % 2). The script
steers pierload's connections with placeholder connections of its own: it opens 20 one at a
time (each proven with a round trip), closes those on one worker, and the next connections then
all land there (after the accept already waiting, whose lease was taken before the closes). Bounded: every socket has a timeout, every pierload run has a duration, and
pierd is stopped with SIGTERM at the end.

usage: bench/skewed_bench.py [--pierd build/release/server/pierd]
                             [--pierload build/release/loadtest/pierload] [--duration 5]
"""
import argparse
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

CONFIG = """runtime:
  threads: 2
  scheduler: {scheduler}
listeners:
  - name: synthetic
    listen: "127.0.0.1:0"
    handler: synthetic
    idle_timeout: 0
"""
HEAVY_REQUEST = "cpu=2ms\\n"  # pierload decodes the escape
LIGHT_RATE_PER_CONNECTION = 200  # one request every 5 ms
PLACEHOLDERS = 20


def start_pierd(binary, scheduler):
    config = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    config.write(CONFIG.format(scheduler=scheduler))
    config.close()
    proc = subprocess.Popen([binary, "--allow-root", "--config", config.name, "--log-level", "info"],
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    buffered = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], deadline - time.monotonic())
        if not ready:
            break
        chunk = os.read(proc.stderr.fileno(), 4096)
        if not chunk:
            break
        buffered += chunk
        match = re.search(rb"listening .*addr=127\.0\.0\.1:(\d+)", buffered)
        if match:
            return proc, int(match.group(1)), config.name
    proc.kill()
    raise RuntimeError("pierd did not report its port:\n" + buffered.decode(errors="replace"))


class placeholder:
    """A connection of the script's own, proven accepted with a round trip."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(b"\n")
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = self.sock.recv(64)
            if not chunk:
                raise RuntimeError("server closed a placeholder connection")
            answer += chunk


def open_placeholders(port):
    """PLACEHOLDERS connections, one at a time: index i is on worker i % 2."""
    return [placeholder(port) for _ in range(PLACEHOLDERS)]


def close_on_worker(placeholders, worker):
    for p in placeholders[worker::2]:
        p.sock.close()
    # The server releases a lease when it sees the close; give it a moment (a benchmark, not a
    # test: there is no endpoint to ask yet).
    time.sleep(0.5)


def start_pierload(binary, port, request, connections, duration, rate=None):
    args = [binary, "-m", "line", "--request", request, "-c", str(connections), "-t", "1",
            "-d", f"{duration}s", "-q", "--json", "-"]
    if rate:
        args += ["-R", str(rate)]
    return subprocess.Popen(args + [f"127.0.0.1:{port}"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)


def report_of(proc, timeout):
    out, _ = proc.communicate(timeout=timeout)
    return json.loads(out)


def run_layout(pierd, pierload, scheduler, layout, duration):
    proc, port, config = start_pierd(pierd, scheduler)
    placeholders = []
    try:
        placeholders = open_placeholders(port)
        # Worker 0 emptied: the next connections all land there.
        close_on_worker(placeholders, 0)
        heavy = start_pierload(pierload, port, HEAVY_REQUEST, 2, duration + 1)
        time.sleep(0.5)  # lets pierload connect before the placement changes
        if layout == "B":
            # Worker 1 emptied instead: the light connections land there, once one more
            # placeholder has taken the lease of the accept already waiting (on worker 0).
            close_on_worker(placeholders, 1)
            placeholders.append(placeholder(port))
        light = start_pierload(pierload, port, "\\n", 2, duration,
                               rate=2 * LIGHT_RATE_PER_CONNECTION)
        light_report = report_of(light, duration + 60)
        heavy_report = report_of(heavy, duration + 60)
        latency = light_report["latency"]
        return {"heavy_per_s": heavy_report["requests_per_s"],
                "light_p50_ms": latency["p50_ms"], "light_p99_ms": latency["p99_ms"],
                "light_max_ms": latency["max_ms"],
                "errors": heavy_report["errors"]["total"] + light_report["errors"]["total"]}
    finally:
        for p in placeholders:
            p.sock.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        os.unlink(config)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pierd", default="build/release/server/pierd")
    parser.add_argument("--pierload", default="build/release/loadtest/pierload")
    parser.add_argument("--duration", type=int, default=5)
    args = parser.parse_args()

    results = {}
    for layout in ("A", "B"):
        for scheduler in ("work_stealing", "pinned"):
            print(f"running layout {layout}, {scheduler}, {args.duration:g}s ...", file=sys.stderr)
            results[layout, scheduler] = run_layout(args.pierd, args.pierload, scheduler, layout,
                                                    args.duration)

    print(f"\nskewed synthetic load, 2 workers, 2 heavy connections (cpu=2ms, closed loop), "
          f"2 light ones (cpu=0, {LIGHT_RATE_PER_CONNECTION}/s each, open loop)")
    print(f"{'layout':6}  {'scheduler':13}  {'heavy req/s':>11}  {'light p50 ms':>12}  "
          f"{'light p99 ms':>12}  {'light max ms':>12}  {'errors':>6}")
    for (layout, scheduler), r in results.items():
        print(f"{layout:6}  {scheduler:13}  {r['heavy_per_s']:11.0f}  {r['light_p50_ms']:12.2f}  "
              f"{r['light_p99_ms']:12.2f}  {r['light_max_ms']:12.2f}  {r['errors']:6}")

    a_ws, a_pin = results["A", "work_stealing"], results["A", "pinned"]
    b_ws = results["B", "work_stealing"]
    checks = [
        ("A: heavy throughput work_stealing / pinned >= 1.6",
         a_ws["heavy_per_s"] / a_pin["heavy_per_s"], 1.6, True),
        ("A: light p99 work_stealing / pinned <= 0.5",
         a_ws["light_p99_ms"] / a_pin["light_p99_ms"], 0.5, False),
        ("B: light p99 work_stealing <= 2.5 ms", b_ws["light_p99_ms"], 2.5, False),
    ]
    print()
    failed = sum(r["errors"] for r in results.values()) > 0
    for name, value, target, at_least in checks:
        ok = value >= target if at_least else value <= target
        failed += not ok
        print(f"{'met' if ok else 'NOT met':7}  {name}: {value:.2f}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
