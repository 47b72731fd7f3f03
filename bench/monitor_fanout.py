"""Monitor fan-out: N Server-Sent Events subscribers on one block while workers push 100 updates/s.

Two Python workers each set a metric 50 times a second to the time they send it; the subscribers
(bench/monitor-client, Swift) measure when each update arrives. Prints p50/p99 delivery latency and the
host's peak RSS for each N.

    python3 bench/monitor_fanout.py              # N = 100 and 1000; BENCH_BUILD=debug for a debug host
    python3 bench/monitor_fanout.py 100 500      # other Ns; COALESCE=50ms for another coalescing window
"""

import json
import os
import resource
import subprocess
import sys
import threading
import time

from common import ROOT, ProcessSampler, host_binary, workspace

SECONDS = 15
COALESCE = os.environ.get("COALESCE", "25ms")  # the board's `coalesce:` setting
PUSHER = """
import time

def tick(ctx):
    if ctx.worker.tick != 1:
        return
    end = time.time() + {seconds}
    next_at = time.time()
    while time.time() < end:
        ctx.monitor.metric("{name}", time.time())
        next_at += 0.02  # 50 updates a second
        time.sleep(max(0, next_at - time.time()))
"""


def bench_binary(configuration):
    subprocess.run(["swift", "build", "-c", configuration, "--product", "monitor-bench"], cwd=ROOT, check=True)
    folder = subprocess.run(
        ["swift", "build", "-c", configuration, "--show-bin-path"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    return os.path.join(folder, "monitor-bench")


def run(binary, client, subscribers):
    folder = workspace()
    for name in ("a", "b"):
        with open(os.path.join(folder, f"push_{name}.py"), "w") as handle:
            handle.write(PUSHER.format(seconds=SECONDS + 8, name=f"sent_{name}"))
    manifest = os.path.join(folder, "botyard.yaml")
    with open(manifest, "w") as handle:
        handle.write(
            f"blocks:\n  board: {{type: monitor, coalesce: {COALESCE}}}\nworkers:\n"
            "  push_a: {code: push_a.py, every: 1h, tick_timeout: 5m, connect: [board]}\n"
            "  push_b: {code: push_b.py, every: 1h, tick_timeout: 5m, connect: [board]}\n"
        )
    data = os.path.join(folder, "data")
    host = subprocess.Popen(
        [binary, "run", manifest, "--data-dir", data, "--port", "0", "--for", f"{SECONDS + 20}s"],
        cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )
    while not os.path.exists(os.path.join(data, "host.json")):
        time.sleep(0.1)
    port = json.load(open(os.path.join(data, "host.json")))["port"]
    token = open(os.path.join(data, "viewer.token")).read().strip()
    sampler = ProcessSampler(host.pid)
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            try:
                sampler.rss_kib()
            except (FileNotFoundError, ProcessLookupError):
                return
            time.sleep(0.25)

    threading.Thread(target=sample, daemon=True).start()
    url = f"http://127.0.0.1:{port}/api/monitor/board/stream"
    out = subprocess.run([client, url, token, str(subscribers), str(SECONDS)], capture_output=True, text=True, check=True)
    stop.set()
    host.wait(timeout=120)
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    figures["host_rss_mib"] = sampler.rss_peak_kib / 1024
    return figures


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))  # 1,000 sockets on each side
    configuration = os.environ.get("BENCH_BUILD", "release")
    binary, client = host_binary(configuration), bench_binary(configuration)
    for subscribers in [int(n) for n in sys.argv[1:]] or [100, 1000]:
        f = run(binary, client, subscribers)
        print(
            f"{subscribers:5d} subscribers: p50 {f['p50_ms']:.2f} ms, p99 {f['p99_ms']:.2f} ms, max {f['max_ms']:.1f} ms "
            f"({int(f['samples'])} deliveries, {int(f['connected'])} connected, {int(f['failed'])} failed, "
            f"{int(f['snapshots'] - f['connected'])} resnapshots); host peak RSS {f['host_rss_mib']:.0f} MiB"
        )


if __name__ == "__main__":
    main()
