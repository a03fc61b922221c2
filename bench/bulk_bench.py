#!/usr/bin/env python3
"""One long TCP stream relayed through pierd's proxy, HAProxy and nginx stream, in one run on
one machine: throughput and each proxy's CPU seconds per GB moved.

iperf3 sends for --seconds through each proxy in turn to one iperf3 server (client, proxy and
server all on loopback). Each proxy runs one thread: pierd with runtime.threads 1, HAProxy with
nbthread 1, nginx with one process (master_process off). HAProxy runs twice: as configured by
default (copying through its buffers, as pierd and nginx do) and with `option splice-auto`
(zero-copy through a pipe where the kernel allows it). A proxy's CPU time is read from its
threads' schedstat before and after (proxy_bench.cpu_seconds).

With --rounds N the proxies take turns within each round, so a neighbour's burst on a shared
machine hits one round rather than one proxy; the verdict is the median, round by round, of
pierd's figures over HAProxy's (the same minute of the same machine). Throughput says how the
machine's cores were split between iperf3 and the proxy as much as how fast the proxy is: CPU
per GB is the figure that would hold on cores of its own.

nginx is not installed as a service: its package and the stream module's are fetched with
apt-get download and unpacked under the work directory (nothing is started or left behind).

With --baseline PIERD a second pierd (another build, e.g. before a change) takes its turn too,
as "pierd-baseline".

usage: bench/bulk_bench.py [--seconds 5] [--rounds 3] [--scheduler work_stealing|pinned]
                           [--baseline PIERD]
Needs iperf3 and haproxy (installed with apt-get when missing, as root), apt-get download for
nginx, and a release build of pierd (scripts/setup.sh). Exit status 0 when every run completed.
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proxy_bench import (accepts, cpu_seconds, ensure_installed, free_port,  # noqa: E402
                         start_pierd, stop_all, wait_accepting, wait_for)


def start_iperf_server(workdir):
    port = free_port()
    log = open(os.path.join(workdir, "iperf3-server.log"), "w")
    proc = subprocess.Popen(["iperf3", "-s", "-B", "127.0.0.1", "-p", str(port)], stdout=log,
                            stderr=subprocess.STDOUT)
    wait_for(lambda: accepts(port), "iperf3 server accepting")
    return proc, port


def start_haproxy(workdir, upstream, splice):
    port = free_port()
    name = "haproxy-splice" if splice else "haproxy"
    config = os.path.join(workdir, f"{name}.cfg")
    with open(config, "w") as f:
        f.write(f"""global
    nbthread 1
    maxconn 100
defaults
    mode tcp
    timeout connect 5s
    timeout client 5m
    timeout server 5m
{"    option splice-auto" if splice else ""}
frontend front
    bind 127.0.0.1:{port}
    default_backend upstream
backend upstream
    server iperf 127.0.0.1:{upstream}
""")
    log = open(os.path.join(workdir, f"{name}.log"), "w+")
    proc = subprocess.Popen(["haproxy", "-db", "-f", config], stdout=log,
                            stderr=subprocess.STDOUT)
    wait_accepting(proc, log, port, name)
    return proc, port


def unpack_nginx(workdir):
    """nginx and its stream module, unpacked from Debian's packages: (binary, module)."""
    root = os.path.join(workdir, "nginx-root")
    os.makedirs(root)
    subprocess.run(["apt-get", "download", "-q", "nginx", "libnginx-mod-stream"], cwd=workdir,
                   check=True, capture_output=True)
    for deb in glob.glob(os.path.join(workdir, "*.deb")):
        subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
    binary = os.path.join(root, "usr/sbin/nginx")
    module = os.path.join(root, "usr/lib/nginx/modules/ngx_stream_module.so")
    for path in (binary, module):
        if not os.path.exists(path):
            raise SystemExit(f"bulk_bench: {path} not in the unpacked packages")
    return binary, module


def start_nginx(workdir, binary, module, upstream):
    port = free_port()
    prefix = os.path.join(workdir, "nginx")
    os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
    config = os.path.join(prefix, "nginx.conf")
    with open(config, "w") as f:
        f.write(f"""load_module {module};
daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 100; }}
stream {{
    server {{
        listen 127.0.0.1:{port};
        proxy_pass 127.0.0.1:{upstream};
    }}
}}
""")
    log = open(os.path.join(workdir, "nginx.log"), "w+")
    proc = subprocess.Popen([binary, "-e", "stderr", "-p", prefix, "-c", config], stdout=log,
                            stderr=subprocess.STDOUT)
    wait_accepting(proc, log, port, "nginx")
    return proc, port


def stream_through(port, seconds):
    """iperf3 for `seconds` through `port`: (bits per second received, bytes received)."""
    out = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(seconds),
                          "-J"], capture_output=True, text=True, timeout=seconds + 60)
    try:
        result = json.loads(out.stdout)
        received = result["end"]["sum_received"]
    except (ValueError, KeyError):
        raise SystemExit(f"bulk_bench: iperf3 through port {port} failed:\n"
                         f"{out.stdout}{out.stderr}")
    return received["bits_per_second"], received["bytes"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scheduler", default="work_stealing", help="pierd's runtime.scheduler")
    parser.add_argument("--baseline", help="a second pierd binary to measure beside the first")
    args = parser.parse_args()
    ensure_installed("iperf3", "iperf3")
    ensure_installed("haproxy", "haproxy")

    procs = []
    with tempfile.TemporaryDirectory(prefix="pier-bulk-") as workdir:
        try:
            server, upstream = start_iperf_server(workdir)
            procs.append(server)
            nginx_binary, nginx_module = unpack_nginx(workdir)
            proxies = {}
            pierd, port = start_pierd(workdir, 1, args.scheduler, upstream, None, False)
            proxies["pierd"] = (pierd, port)
            if args.baseline:
                proxies["pierd-baseline"] = start_pierd(workdir, 1, args.scheduler, upstream, None,
                                                        False, binary=args.baseline,
                                                        name="pierd-baseline")
            for name, splice in (("haproxy", False), ("haproxy-splice", True)):
                proxies[name] = start_haproxy(workdir, upstream, splice)
            proxies["nginx"] = start_nginx(workdir, nginx_binary, nginx_module, upstream)
            procs += [proc for proc, _ in proxies.values()]

            results = {name: [] for name in proxies}
            print(f"# {args.seconds} s of iperf3 through each proxy (one thread each), "
                  f"{args.rounds} rounds, pierd {args.scheduler}")
            print(f"{'round':>5} {'proxy':>15} {'Gbit/s':>7} {'CPU s/GB':>9}")
            for round_number in range(args.rounds):
                order = list(proxies)
                if round_number % 2:
                    order.reverse()
                for name in order:
                    proc, port = proxies[name]
                    before = cpu_seconds(proc.pid)
                    bits_per_second, moved = stream_through(port, args.seconds)
                    cpu = cpu_seconds(proc.pid) - before
                    per_gb = cpu / (moved / 1e9)
                    results[name].append((bits_per_second / 1e9, per_gb))
                    print(f"{round_number + 1:>5} {name:>15} {bits_per_second / 1e9:7.2f} "
                          f"{per_gb:9.3f}", flush=True)

            print(f"\n# medians of {args.rounds} rounds; pierd / other, round by round "
                  "(throughput: want >= 1.00; CPU per GB: want <= 1.00)")
            for name, rows in results.items():
                gbit = statistics.median(r[0] for r in rows)
                per_gb = statistics.median(r[1] for r in rows)
                line = f"{name:>15}: {gbit:6.2f} Gbit/s, {per_gb:6.3f} CPU s/GB"
                if name != "pierd":
                    ratios = list(zip(results["pierd"], rows))
                    throughput = statistics.median(p[0] / o[0] for p, o in ratios)
                    cpu = statistics.median(p[1] / o[1] for p, o in ratios)
                    line += f"   pierd/{name}: throughput {throughput:4.2f}x, CPU/GB {cpu:4.2f}x"
                print(line)
        finally:
            stop_all(procs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
