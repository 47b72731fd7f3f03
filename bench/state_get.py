"""The round trip of ctx.state.get: 10,000 calls inside one tick of a Python worker.

Prints the mean (and p50/p99 of 100-call batches) in microseconds.

    python3 bench/state_get.py
"""

import json
import os

from common import host_binary, run_host, workspace, write_manifest

SCRIPT = """
import json, os, time

def setup(ctx):
    ctx.state.set("price", 65000.5)

def tick(ctx):
    if ctx.worker.tick != 2:
        return
    for _ in range(500):  # warm up
        ctx.state.get("price")
    batches = []
    start = time.perf_counter()
    for _ in range(100):
        batch = time.perf_counter()
        for _ in range(100):
            ctx.state.get("price")
        batches.append((time.perf_counter() - batch) / 100 * 1e6)
    total = (time.perf_counter() - start) / 10_000 * 1e6
    with open(os.environ["RESULT_FILE"], "w") as handle:
        json.dump({"mean_us": total, "batches_us": sorted(batches)}, handle)
"""


def main():
    folder = workspace()
    with open(os.path.join(folder, "gets.py"), "w") as handle:
        handle.write(SCRIPT)
    result = os.path.join(folder, "result.json")
    manifest = write_manifest(folder, {"gets": ("gets.py", "1s", [f"env: {{RESULT_FILE: {result}}}", "tick_timeout: 5m"])})
    run_host(host_binary(os.environ.get("BENCH_BUILD", "release")), manifest, folder, 20)
    with open(result) as handle:
        data = json.load(handle)
    batches = data["batches_us"]
    print(
        f"ctx.state.get: 10,000 calls, mean {data['mean_us']:.1f} us per call "
        f"(100-call batches: p50 {batches[49]:.1f} us, p99 {batches[98]:.1f} us)"
    )


if __name__ == "__main__":
    main()
