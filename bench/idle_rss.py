#!/usr/bin/env python3
"""Memory per idle connection: pierd's RSS with 0 and with N idle echo connections.

Starts the given pierd on a temporary config (127.0.0.1, port chosen by the kernel), opens N
connections, proves each is served with a one-byte echo, then reads VmRSS from /proc. Then it
lets them sit for --idle-seconds and reports the CPU pierd used meanwhile (an idle pier must not
spin). Bounded: every socket operation has a timeout and pierd is stopped with SIGTERM at the end.

With --census, pierd runs under bench/alloc_census.c (built here with gcc, loaded with
LD_PRELOAD), and the script also prints every heap block the connections hold: the live blocks
by usable size before and after opening them, per connection. (The census's own thread wakes
every 20 ms, so the idle CPU figure is the plain run's to quote.)

usage: bench/idle_rss.py [--pierd build/release/server/pierd] [--connections 1000]
                         [--scheduler work_stealing|pinned] [--idle-seconds 5] [--census]
"""
import argparse
import os
import re
import select
import shutil
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


class census:
    """pierd's live heap blocks by usable size, taken on request (bench/alloc_census.c)."""

    def __init__(self, workdir):
        self.shim = os.path.join(workdir, "alloc_census.so")
        source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "alloc_census.c")
        subprocess.run(["gcc", "-O2", "-shared", "-fPIC", source, "-o", self.shim, "-lpthread"],
                       check=True)
        self.trigger = os.path.join(workdir, "census.trigger")
        self.out = os.path.join(workdir, "census.out")

    def environment(self):
        return dict(os.environ, LD_PRELOAD=self.shim, ALLOC_CENSUS_TRIGGER=self.trigger,
                    ALLOC_CENSUS_OUT=self.out)

    def take(self):
        """{usable size: live blocks}, plus "large": (blocks, bytes). Waits at most 5 s."""
        if os.path.exists(self.out):
            os.unlink(self.out)
        open(self.trigger, "w").close()
        deadline = time.monotonic() + 5
        while not os.path.exists(self.out):
            if time.monotonic() > deadline:
                raise RuntimeError("no census from pierd: is alloc_census.so loaded?")
            time.sleep(0.02)  # polling a file the shim writes; bounded by the deadline
        blocks = {}
        for line in open(self.out):
            size, *counts = line.split()
            blocks[size if size == "large" else int(size)] = tuple(map(int, counts))
        return blocks


def print_census(before, after, connections):
    """The blocks that appeared with the connections, per connection, largest share first."""
    rows = []
    for size in sorted(k for k in set(before) | set(after) if k != "large"):
        added = after.get(size, (0,))[0] - before.get(size, (0,))[0]
        if added != 0:
            rows.append((size, added / connections, size * added / connections))
    large_blocks = after.get("large", (0, 0))[0] - before.get("large", (0, 0))[0]
    large_bytes = after.get("large", (0, 0))[1] - before.get("large", (0, 0))[1]
    print("heap blocks held per connection, by usable size in 16-byte classes (bytes/conn"
          " counts each block at its class's low end; glibc adds 8 bytes of header to each):")
    print(f"{'usable B':>9}  {'blocks/conn':>11}  {'bytes/conn':>10}")
    for size, per, per_bytes in sorted(rows, key=lambda r: -r[2]):
        if abs(per_bytes) >= 1:  # a shared table shows as a fraction of a block
            print(f"{f'{size}-{size + 15}':>9}  {per:>11.2f}  {per_bytes:>10.1f}")
    if large_blocks:
        print(f"{'>64KiB':>9}  {large_blocks / connections:>11.2f}  "
              f"{large_bytes / connections:>10.1f}")
    total = sum(r[2] for r in rows) + large_bytes / connections
    print(f"heap_per_connection={total:.0f} bytes (usable) in "
          f"{sum(r[1] for r in rows) + large_blocks / connections:.2f} blocks")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pierd", default="build/release/server/pierd")
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--scheduler", default="work_stealing", choices=["work_stealing", "pinned"])
    parser.add_argument("--idle-seconds", type=float, default=5)
    parser.add_argument("--census", action="store_true",
                        help="also list the heap blocks each connection holds")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="idle_rss.")
    counter = census(workdir) if args.census else None

    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as config:
        config.write(CONFIG.format(threads=args.threads, scheduler=args.scheduler,
                                   limit=args.connections + 10))
    proc = subprocess.Popen([args.pierd, "--allow-root", "--config", config.name],
                            stderr=subprocess.PIPE,
                            env=counter.environment() if counter else None)
    clients = []
    try:
        port = wait_for_port(proc, time.monotonic() + 20)
        baseline = rss_kib(proc.pid)
        blocks_before = counter.take() if counter else None
        for i in range(args.connections):
            client = socket.create_connection(("127.0.0.1", port), timeout=10)
            client.sendall(b"x")
            if client.recv(1) != b"x":
                raise RuntimeError(f"connection {i} was not echoed")
            clients.append(client)
        loaded = rss_kib(proc.pid)
        blocks_after = counter.take() if counter else None
        per_connection = (loaded - baseline) * 1024 / max(1, args.connections)
        cpu_before = cpu_seconds(proc.pid)
        time.sleep(args.idle_seconds)  # measuring an interval, not waiting for an event
        idle_cpu = (cpu_seconds(proc.pid) - cpu_before) / args.idle_seconds * 100
        print(f"pierd threads={args.threads} scheduler={args.scheduler}")
        print(f"rss_idle_0={baseline} KiB")
        print(f"rss_idle_{args.connections}={loaded} KiB")
        print(f"per_idle_connection={per_connection:.0f} bytes")
        print(f"cpu_while_idle={idle_cpu:.2f}% of one core over {args.idle_seconds:g}s")
        if counter:
            print_census(blocks_before, blocks_after, args.connections)
    finally:
        for client in clients:
            client.close()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        os.unlink(config.name)
        shutil.rmtree(workdir, ignore_errors=True)
        if code != 0:
            print(f"pierd exited {code}", file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    main()
