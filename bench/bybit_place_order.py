"""ctx.bybit.place_order from a Python worker versus pybit's HTTP.place_order, against one paper exchange.

Both place the same market orders on the same local venue (`botyard paper`), one every 150 ms so that
neither meets Bybit's 10-orders-per-second limit: the figures are round trips, not throughput. pybit is
installed into a virtual environment for this benchmark only.

    python3 bench/bybit_place_order.py        # BENCH_BUILD=debug to use a debug host

Prints p50 / mean / p90 in milliseconds for both, and the ratio ours / pybit (p50).
"""

import json
import os
import statistics
import subprocess
import sys

from common import host_binary, run_host, workspace

CALLS, WARMUP, SPACING = 100, 10, 0.15
KEY, SECRET = "BENCHKEY0123456789", "BENCHSECRET0123456789abcdefghijklmn"

LOOP = """
import json, os, time

def run(place, calls, warmup, spacing):
    times = []
    for n in range(warmup + calls):
        side = "Buy" if n % 2 == 0 else "Sell"
        start = time.perf_counter()
        reply = place(category="linear", symbol="BTCUSDT", side=side, orderType="Market", qty="0.001")
        elapsed = time.perf_counter() - start
        assert reply["retCode"] == 0, reply
        if n >= warmup:
            times.append(elapsed * 1000)
        time.sleep(spacing)
    return times
"""

WORKER = LOOP + """
def tick(ctx):
    if ctx.worker.tick != 1:
        return
    times = run(ctx.bybit.place_order, {calls}, {warmup}, {spacing})
    with open(os.environ["RESULT_FILE"], "w") as handle:
        json.dump(times, handle)
"""

PYBIT = LOOP + """
import sys
from pybit.unified_trading import HTTP

session = HTTP(testnet=False, api_key=sys.argv[2], api_secret=sys.argv[3])
session.endpoint = sys.argv[1]
print(json.dumps(run(session.place_order, {calls}, {warmup}, {spacing})))
"""


def pybit_python(folder):
    venv = os.path.join(folder, "venv")
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    python = os.path.join(venv, "bin", "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "pybit"], check=True)
    return python


def start_paper(binary):
    process = subprocess.Popen(
        [binary, "paper", "--port", "0", "--api-key", KEY, "--api-secret", SECRET], stdout=subprocess.PIPE, text=True
    )
    url = process.stdout.readline().split()[-1]
    return process, url


def ours(binary, folder, url):
    script = os.path.join(folder, "placer.py")
    with open(script, "w") as handle:
        handle.write(WORKER.format(calls=CALLS, warmup=WARMUP, spacing=SPACING))
    result = os.path.join(folder, "ours.json")
    manifest = os.path.join(folder, "botyard.yaml")
    with open(manifest, "w") as handle:
        handle.write(
            "blocks:\n  venue:\n    type: bybit\n    base_url: " + url + "\n"
            "    api_key: ${BENCH_BYBIT_KEY}\n    api_secret: ${BENCH_BYBIT_SECRET}\n"
            "workers:\n  placer:\n    code: placer.py\n    every: 1s\n    tick_timeout: 5m\n"
            f"    connect: [venue]\n    env: {{RESULT_FILE: {result}}}\n"
        )
    os.environ.update(BENCH_BYBIT_KEY=KEY, BENCH_BYBIT_SECRET=SECRET)
    seconds = int((CALLS + WARMUP) * (SPACING + 0.05)) + 15
    run_host(binary, manifest, folder, seconds)
    with open(result) as handle:
        return json.load(handle)


def theirs(python, folder, url):
    script = os.path.join(folder, "pybit_loop.py")
    with open(script, "w") as handle:
        handle.write(PYBIT.format(calls=CALLS, warmup=WARMUP, spacing=SPACING))
    out = subprocess.run([python, script, url, KEY, SECRET], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def summary(label, times):
    ordered = sorted(times)
    p50, p90 = ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.9)]
    print(f"{label}: p50 {p50:.2f} ms, mean {statistics.mean(times):.2f} ms, p90 {p90:.2f} ms ({len(times)} orders)")
    return p50


def main():
    folder = workspace()
    binary = host_binary(os.environ.get("BENCH_BUILD", "release"))
    python = pybit_python(folder)
    paper, url = start_paper(binary)
    try:
        pybit_times = theirs(python, folder, url)
        our_times = ours(binary, folder, url)
    finally:
        paper.terminate()
        paper.wait(timeout=30)
    theirs_p50 = summary("pybit HTTP.place_order (direct)      ", pybit_times)
    ours_p50 = summary("ctx.bybit.place_order (via the host) ", our_times)
    print(f"ratio ours / pybit (p50): {ours_p50 / theirs_p50:.2f}")


if __name__ == "__main__":
    main()
