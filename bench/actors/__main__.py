"""Run the actor benchmark and print a Markdown table.

    .venv/bin/python -m bench.actors [--runs 5] [--messages 200000] [--asks 5000] [--keys 10000]

Each configuration runs `--runs` times; the table shows medians. Keyed
measurements run in a fresh interpreter each, so their memory is their own.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.actors import keyed, throughput

VARIANTS = {
    "bare pykka (baseline)": throughput.bare_pykka,
    "supervised (alphap)": throughput.supervised,
    "thread + SimpleQueue (limit)": throughput.bare_thread,
}


def _median(runs: list[dict[str, float]], field: str) -> float:
    return statistics.median(run[field] for run in runs)


def _keyed_once(keys: int, max_live: int | None) -> dict[str, float]:
    args = [sys.executable, "-m", "bench.actors", "--keyed-child", str(keys), str(max_live or 0)]
    done = subprocess.run(args, check=True, capture_output=True, text=True, timeout=600)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{model or cpu}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.actors")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--asks", type=int, default=5_000)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--max-live", type=int, default=500)
    parser.add_argument("--keyed-child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.keyed_child:
        keys, max_live = args.keyed_child
        print(json.dumps(keyed.measure(keys, max_live or None)))
        return

    rows: dict[str, list[dict[str, float]]] = {name: [] for name in VARIANTS}
    for _ in range(args.runs):
        for name, run in VARIANTS.items():
            rows[name].append(run(args.messages, args.asks))
    baseline = rows["bare pykka (baseline)"]
    base_tell = _median(baseline, "tell_per_s")
    base_p50 = _median(baseline, "ask_p50_us")
    print(f"Machine: {_machine()}")
    print(f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"Command: .venv/bin/python -m bench.actors {' '.join(sys.argv[1:])}".rstrip())
    print(f"Medians of {args.runs} runs; {args.messages:,} tells, {args.asks:,} sequential asks.\n")
    print("| variant | tell msg/s | x pykka | ask p50 µs | x pykka | ask p99 µs |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, runs in rows.items():
        tell = _median(runs, "tell_per_s")
        p50 = _median(runs, "ask_p50_us")
        p99 = _median(runs, "ask_p99_us")
        print(
            f"| {name} | {tell:,.0f} | {tell / base_tell:.2f} | {p50:.1f} | "
            f"{p50 / base_p50:.2f} | {p99:.1f} |"
        )

    keyed_runs = max(1, min(args.runs, 3))
    print(f"\n{args.keys:,} keyed actors, one message and one ask each (median of {keyed_runs}):\n")
    print("| configuration | start s | threads | RSS MiB |")
    print("|---|---:|---:|---:|")
    for label, max_live in (("no bound", None), (f"max_live={args.max_live}", args.max_live)):
        runs = [_keyed_once(args.keys, max_live) for _ in range(keyed_runs)]
        print(
            f"| {label} | {_median(runs, 'start_s'):.2f} | {_median(runs, 'threads'):.0f} | "
            f"{_median(runs, 'rss_mib'):.0f} |"
        )


if __name__ == "__main__":
    main()
