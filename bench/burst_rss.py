#!/usr/bin/env python3
"""Does pierd's memory come back after a burst? RSS before, at the peak and after a burst.

Two scenarios, each on a fresh pierd (127.0.0.1, port chosen by the kernel, 2 workers):
  slow_readers: N clients (default 2,000) send as much as pierd takes and never read, so each
                echo connection ends up holding bytes it could not send back (up to the echo
                handler's max_buffer, 64KiB by default); then they all close.
  idle:         N connections (default 10,000), each proved served by a one-byte echo, held
                open, then all closed.
For each it prints pierd's VmRSS before the burst, at its peak, right after every connection
has closed (pierd's descriptor count is back to its value before the burst) and --after
seconds later (default 10), the ratio after/before, and PASS when that ratio is within
--target (default 1.25: the memory-hardening issue's "within 25%"). Exit status 1 if a
scenario failed.

This process is the load generator: it holds the client sockets (10,000 of them need a
descriptor limit above 10,000; it raises its soft limit to the hard one), pierd holds the
server side. Every socket operation is bounded, pierd is stopped with SIGTERM at the end.

usage: bench/burst_rss.py [--pierd build/release/server/pierd] [--scenarios slow_readers,idle]
                          [--slow-readers 2000] [--idle 10000] [--after 10] [--threads 2]
                          [--show-give-back]
"""
import argparse
import os
import resource
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from idle_rss import rss_kib, wait_for_port

CONFIG = """runtime:
  threads: {threads}
log: {{ level: {log_level} }}
listeners:
  - name: echo
    listen: "127.0.0.1:0"
    handler: echo
    max_connections: {limit}
    idle_timeout: 0   # the burst's connections sit still until the script closes them
    write_timeout: 0  # the slow readers never read: they must not be cut meanwhile
"""

# What a slow reader writes per send: more than max_buffer, so pierd's reads fill its buffer.
CHUNK = b"s" * (256 * 1024)
# What a slow reader sends at most: enough to fill its socket buffers both ways and pierd's
# echo buffer (64KiB), while 2,000 of them stay well under the kernel's TCP memory limit.
SLOW_READER_BYTES = 1024 * 1024
# SO_RCVBUF and SO_SNDBUF of a slow reader (the kernel doubles them).
CLIENT_SOCKET_BUFFER = 4096
# The MSS a slow reader announces: an Ethernet path's, not loopback's 64KiB. pierd's send
# buffer grows with its congestion window times the MSS; with loopback's it reaches megabytes
# per connection and absorbs everything, so pierd's own echo buffer would never fill.
CLIENT_MSS = 1460


def descriptors(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def connect_all(port, count, buffer_size=None):
    clients = []
    for _ in range(count):
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        client.settimeout(10)
        if buffer_size:  # before connect, so the window is small from the handshake on
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffer_size)
            client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, buffer_size)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, CLIENT_MSS)
        client.connect(("127.0.0.1", port))
        clients.append(client)
    return clients


def prove_echoed(clients):
    """One byte each way on every connection: each is accepted and served."""
    for client in clients:
        client.sendall(b"x")
    for i, client in enumerate(clients):
        if client.recv(1) != b"x":
            raise RuntimeError(f"connection {i} was not echoed")


def idle_burst(port, count, pid, peak):
    clients = connect_all(port, count)
    prove_echoed(clients)
    peak.append(rss_kib(pid))
    return clients


def slow_reader_burst(port, count, pid, peak, deadline_seconds=60):
    """Sends on every connection until none has taken a byte for a second: pierd then holds,
    per connection, what it read but could not send back (the client reads nothing)."""
    # Small client buffers keep the kernel's share (what pierd sent that the client never
    # read, what the client sent that pierd has not read) from growing to megabytes each.
    clients = connect_all(port, count, CLIENT_SOCKET_BUFFER)
    selector = selectors.DefaultSelector()
    for client in clients:
        client.setblocking(False)
        selector.register(client, selectors.EVENT_WRITE)
    sent = {client.fileno(): 0 for client in clients}
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        ready = selector.select(timeout=1.0)
        if not ready:
            break  # no socket took a byte for a second: every one is stuck or done
        for key, _ in ready:
            try:
                sent[key.fd] += key.fileobj.send(CHUNK)
            except BlockingIOError:
                continue
            if sent[key.fd] >= SLOW_READER_BYTES:
                selector.unregister(key.fileobj)
        peak.append(rss_kib(pid))
    selector.close()
    peak.append(rss_kib(pid))
    print(f"  slow readers sent {sum(sent.values()) / 2**20:.0f} MiB in all", flush=True)
    return clients


def keep_give_backs(stream, lines):
    for line in stream:
        if b"memory given back" in line:
            lines.append(line.decode(errors="replace").strip())


def wait_for_descriptors(pid, target, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if descriptors(pid) <= target:
            return True
        time.sleep(0.05)  # polling a /proc figure: nothing to wait on
    return False


def run_scenario(args, name, count):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as config:
        config.write(CONFIG.format(threads=args.threads, limit=count + 10,
                                   log_level="debug" if args.show_give_back else "info"))
    proc = subprocess.Popen([args.pierd, "--allow-root", "--config", config.name],
                            stderr=subprocess.PIPE)
    clients = []
    try:
        port = wait_for_port(proc, time.monotonic() + 20)
        # Keep reading pierd's log, so a full pipe never blocks it; only give-backs are kept.
        give_backs = []
        threading.Thread(target=keep_give_backs, args=(proc.stderr, give_backs),
                         daemon=True).start()
        time.sleep(1)  # let start-up settle before the baseline (measuring, not syncing)
        fds_before = descriptors(proc.pid)
        before = rss_kib(proc.pid)
        peak = [before]
        burst = slow_reader_burst if name == "slow_readers" else idle_burst
        clients = burst(port, count, proc.pid, peak)
        for client in clients:
            client.close()
        clients = []
        if not wait_for_descriptors(proc.pid, fds_before):
            raise RuntimeError("pierd did not close the burst's connections within 60 s")
        after_close = rss_kib(proc.pid)
        series = []
        for _ in range(int(args.after)):
            time.sleep(1)  # measuring an interval, not waiting for an event
            series.append(rss_kib(proc.pid))
        after = series[-1] if series else after_close
        ratio = after / before
        verdict = "PASS" if ratio <= args.target else "FAIL"
        mib = lambda kib: f"{kib / 1024:.1f}"
        print(f"{name:12} connections={count} rss_MiB before={mib(before)} "
              f"peak={mib(max(peak))} after_close={mib(after_close)} "
              f"after_{args.after:g}s={mib(after)} after/before={ratio:.2f} {verdict}")
        print(f"  each second after close (MiB): {' '.join(mib(s) for s in series)}", flush=True)
        for line in give_backs:
            print(f"  pierd: {line}")
        return verdict == "PASS"
    finally:
        for client in clients:
            client.close()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        os.unlink(config.name)
        if code != 0:
            print(f"pierd exited {code}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pierd", default="build/release/server/pierd")
    parser.add_argument("--scenarios", default="slow_readers,idle")
    parser.add_argument("--slow-readers", type=int, default=2000)
    parser.add_argument("--idle", type=int, default=10000)
    parser.add_argument("--after", type=float, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--target", type=float, default=1.25)
    parser.add_argument("--show-give-back", action="store_true",
                        help="run pierd at log level debug and print its give-back lines")
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    counts = {"slow_readers": args.slow_readers, "idle": args.idle}
    passed = True
    for name in args.scenarios.split(","):
        passed = run_scenario(args, name, counts[name]) and passed
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
