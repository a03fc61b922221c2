#!/usr/bin/env python3
"""Soak: a bounded mixed load on one pierd, watching its memory, descriptors and CPU.

Starts pierd (release build, --allow-root) on 127.0.0.1 (ports chosen by the kernel) with echo
and synthetic listeners and the admin endpoint, then adds, by a reload, a proxy listener in
front of the echo listener (its port is only known once bound).
Then runs pierload against them at once, for --duration seconds:
  - echo: closed-loop 512-byte echoes over 50 connections;
  - synthetic: request lines (cpu=20us size=256) over 20 connections, 2000 requests/s;
  - proxy: echoes through the proxy over 20 connections;
  - idle: 500 connections held open (each proved served by a one-byte echo);
  - churn: 100 new connections a second, each one echo then closed.
Every second it samples pierd's RSS, open descriptors, CPU and active connections (from
/metrics). After the load it waits for the descriptors to come back.

Passes when (1) RSS after the warm-up (--warmup, default a tenth of the run, at least 30 s)
grows by less than 5%: the median of the last minute against the median of the first minute
after the warm-up; (2) the descriptor count returns to its value before the load within
30 s after it; (3) no pierload run failed and pierd is still alive. Prints a summary, writes
an SVG plot of RSS and connections over time (--plot, default soak.svg), exits 0 on a pass.

usage: bench/soak.py [--duration 600] [--warmup S] [--plot soak.svg] [--pierd PATH]
                     [--pierload PATH] [--threads 2]
Not part of CI (it runs for minutes); everything stays on loopback and stops by itself.
"""
import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CONFIG = """runtime: {{ threads: {threads} }}
log: {{ level: warn }}
admin: {{ listen: "127.0.0.1:0" }}
listeners:
  - name: echo
    listen: "127.0.0.1:0"
    handler: echo
    max_connections: 5000
    idle_timeout: 0  # the idle load holds its connections for the whole run
  - name: synthetic
    listen: "127.0.0.1:0"
    handler: synthetic
    max_connections: 1000
"""

# Added by a reload once the echo listener's port is known: the proxy relays to it.
PROXY_LISTENER = """  - name: proxy
    listen: "127.0.0.1:0"
    handler: proxy
    max_connections: 1000
    proxy: {{ upstreams: ["127.0.0.1:{echo_port}"] }}
"""


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def descriptors(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def active_connections(admin_port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return None
    return sum(float(m) for m in re.findall(r"^pier_connections_active\{[^}]*\} (\S+)", text, re.M))


def start_pierd(args, workdir):
    """pierd with echo and synthetic listeners and the admin endpoint; once the echo port is
    known (bound to port 0), the proxy listener in front of it is added by a reload."""
    log_path = os.path.join(workdir, "pierd.log")
    config = os.path.join(workdir, "pier.yaml")
    with open(config, "w") as f:
        f.write(CONFIG.format(threads=args.threads))
    log = open(log_path, "w+")
    proc = subprocess.Popen([args.pierd, "--allow-root", "--config", config, "--log-level", "info"],
                            stdout=log, stderr=subprocess.STDOUT)

    def wait_for_ports(names):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            log.seek(0)
            content = log.read()
            ports = {name: int(port) for name, port in
                     re.findall(r"listening listener=(\w+) addr=127\.0\.0\.1:(\d+)", content)}
            match = re.search(r"admin listening addr=127\.0\.0\.1:(\d+)", content)
            if match:
                ports["admin"] = int(match.group(1))
            if all(name in ports for name in names):
                return ports
            time.sleep(0.1)
        log.seek(0)
        proc.kill()
        raise SystemExit(f"soak: pierd did not start {names}:\n{log.read()}")

    ports = wait_for_ports(["echo", "synthetic", "admin"])
    with open(config, "a") as f:
        f.write(PROXY_LISTENER.format(echo_port=ports["echo"]))
    proc.send_signal(signal.SIGHUP)
    ports.update(wait_for_ports(["proxy"]))
    return proc, ports, log_path


def loads(args, ports):
    d = f"{args.duration}s"
    target = lambda name: f"127.0.0.1:{ports[name]}"
    return {
        "echo": ["-m", "echo", "-c", "50", "-t", "1", "-s", "512", "-d", d, target("echo")],
        "synthetic": ["-m", "line", "-c", "20", "-t", "1", "-R", "2000",
                      "--request", "cpu=20us size=256\\n", "-d", d, target("synthetic")],
        "proxy": ["-m", "echo", "-c", "20", "-t", "1", "-s", "256", "-d", d, target("proxy")],
        "idle": ["-m", "idle", "-c", "500", "-t", "1", "-d", d, target("echo")],
        "churn": ["-m", "churn", "-c", "10", "-t", "1", "--connect-rate", "100", "-d", d,
                  target("echo")],
    }


def svg_plot(samples, path, warmup):
    """RSS (MiB, left axis) and active connections (right axis) over time, plain SVG."""
    width, height, margin = 900, 360, 60
    t_max = max(s["t"] for s in samples) or 1
    rss_max = max(s["rss"] for s in samples) / 1024 * 1.1 or 1
    conn_max = max((s["conns"] or 0) for s in samples) * 1.1 or 1

    def x(t):
        return margin + (width - 2 * margin) * t / t_max

    def y(value, top):
        return height - margin - (height - 2 * margin) * value / top

    rss_points = " ".join(f"{x(s['t']):.1f},{y(s['rss'] / 1024, rss_max):.1f}" for s in samples)
    conn_points = " ".join(f"{x(s['t']):.1f},{y(s['conns'] or 0, conn_max):.1f}"
                           for s in samples)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{margin}" y="20">pierd soak: RSS (MiB, blue, left) and active connections '
        f'(orange, right); warm-up ends at the dashed line</text>',
        f'<line x1="{margin}" y1="{height - margin}" x2="{width - margin}" '
        f'y2="{height - margin}" stroke="black"/>',
        f'<line x1="{margin}" y1="{margin}" x2="{margin}" y2="{height - margin}" stroke="black"/>',
        f'<line x1="{x(warmup):.1f}" y1="{margin}" x2="{x(warmup):.1f}" y2="{height - margin}" '
        'stroke="gray" stroke-dasharray="4"/>',
        f'<polyline fill="none" stroke="steelblue" stroke-width="1.5" points="{rss_points}"/>',
        f'<polyline fill="none" stroke="darkorange" stroke-width="1.5" points="{conn_points}"/>',
        f'<text x="5" y="{margin}">{rss_max:.0f}</text>',
        f'<text x="{width - margin + 5}" y="{margin}">{conn_max:.0f}</text>',
        f'<text x="{width - margin - 40}" y="{height - margin + 20}">{t_max:.0f} s</text>',
        "</svg>",
    ]
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=600, help="seconds of load")
    parser.add_argument("--warmup", type=int, default=None, help="seconds excluded from the "
                        "RSS comparison (default: a tenth of the run, at least 30)")
    parser.add_argument("--plot", default="soak.svg")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pierd", default=os.path.join(ROOT, "build/release/server/pierd"))
    parser.add_argument("--pierload", default=os.path.join(ROOT, "build/release/loadtest/pierload"))
    args = parser.parse_args()
    warmup = args.warmup if args.warmup is not None else max(30, args.duration // 10)
    if args.duration < warmup + 120:
        raise SystemExit(f"soak: --duration must leave two minutes after the {warmup}s warm-up")

    with tempfile.TemporaryDirectory(prefix="pier-soak.") as workdir:
        pierd, ports, log_path = start_pierd(args, workdir)
        runs = {}  # name -> (pierload process, its output file)
        try:
            time.sleep(1)
            baseline_fds = descriptors(pierd.pid)
            for name, argv in loads(args, ports).items():
                out = open(os.path.join(workdir, f"{name}.out"), "w+")
                runs[name] = (subprocess.Popen([args.pierload, "-q", *argv], stdout=out,
                                               stderr=subprocess.STDOUT), out)
            samples = []
            started = time.monotonic()
            cpu_before = cpu_seconds(pierd.pid)
            while any(p.poll() is None for p, _ in runs.values()):
                if pierd.poll() is not None:
                    break
                t = time.monotonic() - started
                if t > args.duration + 60:  # pierload ends by itself; never wait forever
                    for p, _ in runs.values():
                        p.kill()
                    break
                samples.append({"t": t, "rss": status_kib(pierd.pid, "VmRSS"),
                                "fds": descriptors(pierd.pid), "cpu": cpu_seconds(pierd.pid),
                                "conns": active_connections(ports["admin"])})
                time.sleep(1)
            load_seconds = time.monotonic() - started
            cpu_used = cpu_seconds(pierd.pid) - cpu_before if pierd.poll() is None else 0
            # After the load: descriptors back to the baseline within 30 s.
            fds_after, deadline = None, time.monotonic() + 30
            while pierd.poll() is None and time.monotonic() < deadline:
                fds_after = descriptors(pierd.pid)
                if fds_after <= baseline_fds:
                    break
                time.sleep(0.5)
            alive = pierd.poll() is None
            failures = []
            for name, (p, out) in runs.items():
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
                if p.returncode != 0:
                    out.seek(0)
                    failures.append(f"{name}: exit {p.returncode}: {out.read()[:300]}")
        finally:
            for p, out in runs.values():
                if p.poll() is None:
                    p.kill()
                    p.wait()
                out.close()
            if pierd.poll() is None:
                pierd.send_signal(signal.SIGTERM)
                try:
                    pierd.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    pierd.kill()

        after_warmup = [s for s in samples if s["t"] >= warmup]
        first = [s["rss"] for s in after_warmup if s["t"] < warmup + 60]
        last = [s["rss"] for s in samples if s["t"] >= samples[-1]["t"] - 60] if samples else []
        rss_start = statistics.median(first) if first else 0
        rss_end = statistics.median(last) if last else 0
        growth = (rss_end - rss_start) / rss_start if rss_start else float("inf")
        max_fds = max((s["fds"] for s in samples), default=0)
        max_conns = max(((s["conns"] or 0) for s in samples), default=0)
        if samples:
            svg_plot(samples, args.plot, warmup)

        print(f"soak: {load_seconds:.0f} s of load, {len(samples)} samples, warm-up {warmup} s")
        print(f"RSS after warm-up {rss_start / 1024:.1f} MiB, at the end {rss_end / 1024:.1f} MiB "
              f"(growth {growth * 100:+.2f}%, limit +5%)")
        print(f"descriptors: before {baseline_fds}, max {max_fds}, after {fds_after} "
              f"(must return to {baseline_fds}); connections max {max_conns:.0f}")
        print(f"pierd CPU {cpu_used:.1f} s ({cpu_used / max(load_seconds, 1) * 100:.0f}% of one "
              f"core); plot: {args.plot}")
        checks = {
            "pierd alive": alive,
            "RSS growth < 5%": growth < 0.05,
            "descriptors back to baseline": fds_after is not None and fds_after <= baseline_fds,
            "every pierload run clean": not failures,
        }
        for line in failures:
            print(f"  {line}")
        for what, ok in checks.items():
            print(f"{'PASS' if ok else 'FAIL'} {what}")
        if not all(checks.values()):
            with open(log_path) as log:
                sys.stdout.write(log.read()[-2000:])
            sys.exit(1)


if __name__ == "__main__":
    main()
