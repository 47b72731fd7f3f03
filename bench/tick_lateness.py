"""Tick lateness under load: N Python workers at 1 s for 30 s.

Each worker measures, at the start of every tick, how late it started against its slot's scheduled time
(ctx.worker.scheduled_at, set by the host). Prints p50/p99/max lateness and the host's CPU and peak RSS.

    python3 bench/tick_lateness.py 50 200        # worker counts; default 50 200
    BENCH_SECONDS=30 BENCH_BUILD=release python3 bench/tick_lateness.py
"""

import glob
import os
import sys

from common import host_binary, percentile, run_host, workspace, write_manifest

SCRIPT = """
import os, time

OUT = os.environ["LATENESS_FILE"]

def tick(ctx):
    late_ms = (time.time() - ctx.worker.scheduled_at) * 1000
    with open(OUT, "a") as handle:
        handle.write(f"{late_ms:.3f}\\n")
"""


def measure(binary, count, seconds):
    folder = workspace()
    with open(os.path.join(folder, "late.py"), "w") as handle:
        handle.write(SCRIPT)
    workers = {
        f"w{i}": ("late.py", "1s", [f"env: {{LATENESS_FILE: {folder}/late-{i}.txt}}"]) for i in range(count)
    }
    manifest = write_manifest(folder, workers)
    cpu, rss_kib = run_host(binary, manifest, folder, seconds + 3)
    samples = []
    for path in glob.glob(f"{folder}/late-*.txt"):
        with open(path) as handle:
            values = [float(line) for line in handle if line.strip()]
        samples += values[2:]  # the first ticks include the process start-up
    print(
        f"N={count:4d}  ticks={len(samples):6d}  lateness p50={percentile(samples, 50):7.2f} ms  "
        f"p99={percentile(samples, 99):7.2f} ms  max={max(samples or [0]):7.2f} ms  "
        f"host CPU={cpu * 100:5.1f}%  host RSS peak={rss_kib / 1024:6.1f} MiB"
    )


def main():
    counts = [int(arg) for arg in sys.argv[1:]] or [50, 200]
    seconds = int(os.environ.get("BENCH_SECONDS", "30"))
    binary = host_binary(os.environ.get("BENCH_BUILD", "release"))
    print(f"{seconds}s at 1s intervals per run; lateness = tick start in the worker - its slot's scheduled time")
    for count in counts:
        measure(binary, count, seconds)


if __name__ == "__main__":
    main()
