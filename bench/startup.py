#!/usr/bin/env python3
"""Measure `ferry serve` start-up: time from spawn to the first 200 from /readyz,
and the resident memory (VmRSS) of the idle server once ready.

Two cases, each run --runs times with a fresh process:
  fresh     an empty data dir: creates the SQLite file, runs the migrations,
            creates the admin user and its bootstrap token
  existing  the data dir of a previous start: opens and checks the database

Usage: cargo build --release && python3 bench/startup.py [--binary target/release/ferry] [--runs 20]
Prints a Markdown table (median and worst of the runs).
"""
import argparse
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def ready(port):
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        connection.request("GET", "/readyz")
        ok = connection.getresponse().status == 200
        connection.close()
        return ok
    except OSError:
        return False


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def start_once(binary, data_dir):
    """Returns (seconds from spawn to ready, idle RSS in KiB)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "RUST_LOG": "warn"},
    )
    try:
        port = None
        for line in process.stdout:
            if line.startswith("listening on http://"):
                port = int(line.rsplit(":", 1)[1])
                break
        if port is None:
            raise RuntimeError("the server did not say where it listens")
        while not ready(port):
            time.sleep(0.0005)
        elapsed = time.perf_counter() - started
        time.sleep(1.0)  # idle: let start-up work settle before reading memory
        return elapsed, rss_kib(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default="target/release/ferry")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    if not os.path.exists(args.binary):
        sys.exit(f"{args.binary} not found: run `cargo build --release` first")

    rows = []
    for case in ("fresh", "existing"):
        times, memory = [], []
        existing = tempfile.mkdtemp(prefix="ferry-bench-")
        if case == "existing":
            start_once(args.binary, existing)
        for _ in range(args.runs):
            data_dir = tempfile.mkdtemp(prefix="ferry-bench-") if case == "fresh" else existing
            elapsed, rss = start_once(args.binary, data_dir)
            times.append(elapsed * 1000)
            memory.append(rss / 1024)
            if case == "fresh":
                shutil.rmtree(data_dir)
        shutil.rmtree(existing)
        rows.append((case, statistics.median(times), max(times), statistics.median(memory), max(memory)))

    print(f"| data dir | start to ready, median | worst of {args.runs} | idle RSS, median | worst |")
    print("|---|---|---|---|---|")
    for case, median_ms, worst_ms, median_mib, worst_mib in rows:
        print(f"| {case} | {median_ms:.1f} ms | {worst_ms:.1f} ms | {median_mib:.1f} MiB | {worst_mib:.1f} MiB |")


if __name__ == "__main__":
    main()
