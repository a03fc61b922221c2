#!/usr/bin/env python3
"""Memory per idle connection: pierd's RSS with 0 and with N idle echo connections.

Starts the given pierd on a temporary config (127.0.0.1, port chosen by the kernel), opens N
connections, proves each is served with a one-byte echo, then reads VmRSS from /proc. Then it
lets them sit for --idle-seconds and reports the CPU pierd used meanwhile (an idle pier must not
spin). Bounded: every socket operation has a timeout and pierd is stopped with SIGTERM at the end.

usage: bench/idle_rss.py [--pierd build/release/server/pierd] [--connections 1000]
                         [--scheduler work_stealing|pinned] [--idle-seconds 5]
"""
import argparse
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
  threads: {threads}
  scheduler: {scheduler}
listeners:
  - name: echo
    listen: "127.0.0.1:0"
    handler: echo
    max_connections: {limit}
    idle_timeout: 0
"""


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid):
    """utime + stime of every thread of pid (fields 14 and 15 of /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_port(proc, deadline, pattern=rb"listening .*addr=127\.0\.0\.1:(\d+)"):
    """The port in the first line of pierd's log that matches `pattern` (a listener's, by default)."""
    buffered = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], deadline - time.monotonic())
        if not ready:
            break
        chunk = os.read(proc.stderr.fileno(), 4096)
        if not chunk:
            break
        buffered += chunk
        match = re.search(pattern, buffered)
        if match:
            return int(match.group(1))
    raise RuntimeError("pierd did not report its port:\n" + buffered.decode(errors="replace"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pierd", default="build/release/server/pierd")
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--scheduler", default="work_stealing", choices=["work_stealing", "pinned"])
    parser.add_argument("--idle-seconds", type=float, default=5)
    args = parser.parse_args()

    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as config:
        config.write(CONFIG.format(threads=args.threads, scheduler=args.scheduler,
                                   limit=args.connections + 10))
    proc = subprocess.Popen([args.pierd, "--allow-root", "--config", config.name], stderr=subprocess.PIPE)
    clients = []
    try:
        port = wait_for_port(proc, time.monotonic() + 20)
        baseline = rss_kib(proc.pid)
        for i in range(args.connections):
            client = socket.create_connection(("127.0.0.1", port), timeout=10)
            client.sendall(b"x")
            if client.recv(1) != b"x":
                raise RuntimeError(f"connection {i} was not echoed")
            clients.append(client)
        loaded = rss_kib(proc.pid)
        per_connection = (loaded - baseline) * 1024 / max(1, args.connections)
        cpu_before = cpu_seconds(proc.pid)
        time.sleep(args.idle_seconds)  # measuring an interval, not waiting for an event
        idle_cpu = (cpu_seconds(proc.pid) - cpu_before) / args.idle_seconds * 100
        print(f"pierd threads={args.threads} scheduler={args.scheduler}")
        print(f"rss_idle_0={baseline} KiB")
        print(f"rss_idle_{args.connections}={loaded} KiB")
        print(f"per_idle_connection={per_connection:.0f} bytes")
        print(f"cpu_while_idle={idle_cpu:.2f}% of one core over {args.idle_seconds:g}s")
    finally:
        for client in clients:
            client.close()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        os.unlink(config.name)
        if code != 0:
            print(f"pierd exited {code}", file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    main()
