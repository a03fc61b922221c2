#!/usr/bin/env python3
"""Does a health probe get through while the admin endpoint is held? Probe latency under a hold.

Starts pierd (127.0.0.1, ports chosen by the kernel, admin endpoint with its defaults) and
holds its admin endpoint the way the hardening issue found it starved:
  - 16 keep-alive clients (admin.max_connections' default), each sending GET /healthz every
    2 s on its connection and reconnecting when it is closed;
  - --flood connections (default 1,000) held open, half sending nothing and half the first
    line of a request and no more, each opened again as soon as pierd closes it.
Meanwhile a fresh connection sends GET /healthz every 100 ms (a liveness probe); each must be
answered 200. Prints how many probes were answered, failed, and the slowest and median answer
times, after --seconds (default 10). Exit status 1 if a probe failed or took over 1 s.

usage: bench/admin_probe.py [--pierd build/release/server/pierd] [--flood 1000] [--seconds 10]
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

from idle_rss import wait_for_port

CONFIG = """runtime:
  threads: 2
admin:
  listen: "127.0.0.1:0"
listeners:
  - name: echo
    listen: "127.0.0.1:0"
"""
PROBE = b"GET /healthz HTTP/1.1\r\nHost: pier\r\nConnection: close\r\n\r\n"
KEEP_ALIVE = b"GET /healthz HTTP/1.1\r\nHost: pier\r\n\r\n"
PARTIAL = b"GET /metrics HTTP/1.1\r\n"


def keep_alive_client(port, stop):
    client = None
    while not stop.is_set():
        try:
            if client is None:
                client = socket.create_connection(("127.0.0.1", port), timeout=5)
            client.sendall(KEEP_ALIVE)
            if not client.recv(4096):
                raise OSError("closed")
        except OSError:
            if client is not None:
                client.close()
            client = None
            continue
        stop.wait(2)
    if client is not None:
        client.close()


def open_flood_connection(port, partial):
    connection = socket.create_connection(("127.0.0.1", port), timeout=5)
    if partial:
        connection.sendall(PARTIAL)
    connection.setblocking(False)
    return connection


def flood(port, count, stop):
    """Holds `count` connections, opening a new one whenever pierd closes one."""
    selector = selectors.DefaultSelector()
    opened = 0
    while not stop.is_set():
        while len(selector.get_map()) < count and not stop.is_set():
            try:
                connection = open_flood_connection(port, partial=opened % 2 == 1)
            except OSError:
                break
            selector.register(connection, selectors.EVENT_READ)
            opened += 1
        for key, _ in selector.select(0.01):
            selector.unregister(key.fileobj)
            key.fileobj.close()
    for key in list(selector.get_map().values()):
        key.fileobj.close()
    return opened


def probe(port):
    """Seconds until a 200 answer, or None."""
    start = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            connection.sendall(PROBE)
            answer = connection.recv(4096)
    except OSError:
        return None
    return time.monotonic() - start if answer.startswith(b"HTTP/1.1 200") else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pierd", default="build/release/server/pierd")
    parser.add_argument("--flood", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as config:
        config.write(CONFIG)
    proc = subprocess.Popen([args.pierd, "--allow-root", "--config", config.name],
                            stderr=subprocess.PIPE)
    try:
        port = wait_for_port(proc, time.monotonic() + 20,
                             rb"admin listening addr=127\.0\.0\.1:(\d+)")
        stop = threading.Event()
        holders = [threading.Thread(target=keep_alive_client, args=(port, stop))
                   for _ in range(16)]
        flooded = []
        holders.append(threading.Thread(target=lambda: flooded.append(flood(port, args.flood, stop))))
        for holder in holders:
            holder.start()
        time.sleep(1)  # let the hold build up before probing
        times, failed = [], 0
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            took = probe(port)
            if took is None:
                failed += 1
            else:
                times.append(took)
            time.sleep(0.1)
        stop.set()
        for holder in holders:
            holder.join()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        os.unlink(config.name)

    times.sort()
    slowest = times[-1] if times else float("nan")
    median = times[len(times) // 2] if times else float("nan")
    print(f"flood={args.flood} flood_connections_opened={flooded[0] if flooded else 0} "
          f"probes={len(times) + failed} answered={len(times)} failed={failed} "
          f"slowest={slowest * 1000:.1f}ms median={median * 1000:.2f}ms")
    return 0 if failed == 0 and slowest < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
