"""The runtime API's event streams: events per second through POST /api/events to 1 and to 100 WebSocket
subscribers, with publish-to-receive latency, and the cost of resuming after 10,000 missed events.

The clients are bench/events-client (Swift, `events-bench`): eight publishers POST in parallel as fast as the host
answers, and each subscriber records, for every event, its arrival time minus the time just before its POST.

    python3 bench/runtime_api.py            # release build; BENCH_BUILD=debug for a debug host
    python3 bench/runtime_api.py --smoke    # tiny numbers, to check that it runs (the test suite does)
"""

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request

from common import ROOT, ProcessSampler, host_binary, workspace


def client_binary(configuration):
    if os.environ.get("EVENTS_BENCH_BIN"):
        return os.environ["EVENTS_BENCH_BIN"]
    if os.environ.get("BOTYARD_BIN"):  # built beside the host (the test suite's build)
        beside = os.path.join(os.path.dirname(os.environ["BOTYARD_BIN"]), "events-bench")
        if os.path.exists(beside):
            return beside
    subprocess.run(["swift", "build", "-c", configuration, "--product", "events-bench"], cwd=ROOT, check=True)
    folder = subprocess.run(
        ["swift", "build", "-c", configuration, "--show-bin-path"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    return os.path.join(folder, "events-bench")


def start_host(binary, replay):
    folder = workspace()
    manifest = os.path.join(folder, "botyard.yaml")
    with open(manifest, "w") as handle:
        handle.write(f"workers:\n  beat:\n    swift: Heartbeat\nevents:\n  replay: {replay}\n  subscriber_queue: 5000\n")
    data = os.path.join(folder, "data")
    host = subprocess.Popen(
        [binary, "run", manifest, "--data-dir", data, "--port", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with open(os.path.join(data, "host.json")) as handle:
                port = json.load(handle)["port"]
            with open(os.path.join(data, "admin.token")) as handle:
                token = handle.read().strip()
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).read()
            return host, f"http://127.0.0.1:{port}", token
        except (OSError, ValueError, KeyError):
            time.sleep(0.1)
    host.kill()
    sys.exit("the host did not come up within 60 s")


def measure(client, url, token, *arguments):
    output = subprocess.run(
        [client, url, token, *arguments], check=True, capture_output=True, text=True, timeout=600
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="1 and 10 subscribers, 40 events, resume 300")
    args = parser.parse_args()
    configuration = "debug" if args.smoke else os.environ.get("BENCH_BUILD", "release")
    binary = host_binary(configuration)
    client = client_binary(configuration)
    runs = [(1, 40), (10, 40)] if args.smoke else [(1, 5000), (100, 1000)]
    resume = 300 if args.smoke else 10_000
    host, url, token = start_host(binary, replay=max(20_000, resume * 2))
    sampler = ProcessSampler(host.pid)
    try:
        print(f"{'subscribers':>11} {'events':>7} {'publish/s':>10} {'deliveries/s':>13} "
              f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'lost':>5}")
        for subscribers, events in runs:
            figures = measure(client, url, token, "fanout", str(subscribers), str(events))
            print(f"{subscribers:>11} {events:>7} {figures['publish_per_s']:>10.0f} {figures['deliveries_per_s']:>13.0f} "
                  f"{figures['p50_ms']:>8.2f} {figures['p99_ms']:>8.2f} {figures['max_ms']:>8.2f} "
                  f"{figures['lost']:>5.0f}")
            if figures["lost"] or figures["out_of_order"]:
                sys.exit(f"events lost or out of order: {figures}")
        figures = measure(client, url, token, "resume", str(resume))
        print(f"resume after {resume} missed events: {figures['resumed']:.0f} replayed in {figures['resume_ms']:.0f} ms "
              f"({figures['events_per_s']:.0f} events/s)")
        if figures["resumed"] != resume or figures["out_of_order"]:
            sys.exit(f"the resume lost or reordered events: {figures}")
        print(f"host RSS at the end {sampler.rss_kib() / 1024:.1f} MiB, CPU {sampler.cpu_seconds():.1f} s")
    finally:
        host.terminate()
        host.wait(timeout=60)


if __name__ == "__main__":
    main()
