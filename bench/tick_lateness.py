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
    now = time.time()
    late_ms = (now - ctx.worker.scheduled_at) * 1000
    host_ms = (ctx.worker.sent_at - ctx.worker.scheduled_at) * 1000
    with open(OUT, "a") as handle:
        handle.write(f"{now:.3f} {late_ms:.3f} {host_ms:.3f}\\n")
"""


def measure(binary, count, seconds):
    folder = workspace()
    with open(os.path.join(folder, "late.py"), "w") as handle:
        handle.write(SCRIPT)
    workers = {
        f"w{i}": ("late.py", "1s", [f"env: {{LATENESS_FILE: {folder}/late-{i}.txt}}"]) for i in range(count)
    }
    manifest = write_manifest(folder, workers)
    cpu, rss_kib = run_host(binary, manifest, folder, seconds + 3 + count // 20)
    runs = []
    for path in glob.glob(f"{folder}/late-*.txt"):
        with open(path) as handle:
            runs.append([tuple(map(float, line.split())) for line in handle if line.strip()])
    # Steady state: from 2 s after the last worker's first tick (starting 200 processes takes seconds).
    steady = max(run[0][0] for run in runs if run) + 2
    samples = [late for run in runs for at, late, _ in run if at >= steady]
    host_part = [host for run in runs for at, _, host in run if at >= steady]
    print(
        f"N={count:4d}  ticks={len(samples):6d}  lateness p50={percentile(samples, 50):7.2f} ms  "
        f"p99={percentile(samples, 99):7.2f} ms  max={max(samples or [0]):7.2f} ms  "
        f"host CPU={cpu * 100:5.1f}%  host RSS peak={rss_kib / 1024:6.1f} MiB"
    )
    print(
        f"        of which the host's part (slot to frame sent): p50={percentile(host_part, 50):7.2f} ms  "
        f"p99={percentile(host_part, 99):7.2f} ms"
    )


def main():
    counts = [int(arg) for arg in sys.argv[1:]] or [50, 200]
    seconds = int(os.environ.get("BENCH_SECONDS", "30"))
    binary = host_binary(os.environ.get("BENCH_BUILD", "release"))
    print(f"{seconds}s of steady state at 1s intervals per run; lateness = tick start in the worker - its slot's time")
    for count in counts:
        measure(binary, count, seconds)


if __name__ == "__main__":
    main()
