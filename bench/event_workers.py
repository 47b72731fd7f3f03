"""Event workers at scale: schedule lateness of 1,200 workers in one host, APScheduler for comparison, event fan-out.

A. One host with 1,000 compiled-in Swift workers (`swift: LatencyProbe`) and 200 Python event workers, each
   with a 1 s schedule. Every run measures how late it started (handler start - its slot's time: the Swift
   probe from `client.scheduledAt`, the Python one from `botyard.current_run().scheduled_at`) and logs the
   figures in batches of ten as `late-ms a,b,…` in its worker log. Prints p50/p99/max for each group, the
   host's CPU over the measured window, the CPU of the Python worker processes (every descendant of the host,
   from /proc), and the host's peak RSS.
B. APScheduler 3.11 (in bench/.venv-apscheduler, made here when missing): one AsyncIOScheduler with 1,200
   interval jobs of 1 s, coroutines, added before start() as a user would. The same measure: a listener for
   EVENT_JOB_SUBMITTED keeps each run's scheduled_run_times[-1] (dispatched after the job's task is created
   and before it first runs); the coroutine takes time.time() minus it when it starts. misfire_grace_time=None,
   so a late run still runs and counts instead of being dropped.
C. Event fan-out: N Python workers subscribed to `bench.fanout`, one publisher publishing {"t": time.time()}
   every 0.5 s; each subscriber records time.time() - t.

Each scenario runs --seconds from the moment everything runs; the first --warmup seconds are not measured.
Prints figures; asserts nothing. Loopback only.

    python3 bench/event_workers.py                     # 60 s each: A (1,000 + 200), B (1,200 jobs), C (100)
    python3 bench/event_workers.py --smoke             # 20 Swift, 5 Python, 5 fan-out, 12 s, no APScheduler
    BOTYARD_BIN=.build/release/botyard python3 bench/event_workers.py --seconds 30 --skip-apscheduler
"""

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from common import ROOT
from event_workers_support import (
    APSCHEDULER_JOBS,
    PROBE_PY,
    PUBLISHER_PY,
    SUBSCRIBER_PY,
    Host,
    log_samples,
    machine_facts,
    summary,
    worst_seconds,
)

VENV = os.path.join(ROOT, "bench", ".venv-apscheduler")
TAIL_SECONDS = 10  # the host keeps running after the window so that every batch covering it gets logged


def scenario_a(binary, root, args):
    folder = os.path.join(root, "a")
    os.makedirs(folder)
    with open(os.path.join(folder, "probe.py"), "w") as handle:
        handle.write(PROBE_PY)
    swift = [f"s{i:04d}" for i in range(args.swift)]
    python = [f"p{i:03d}" for i in range(args.python)]
    extra = "\n    sandbox: off" if args.sandbox_off else ""
    lines = ["workers:"]
    lines += [f"  {name}:\n    swift: LatencyProbe" for name in swift]
    lines += [f"  {name}:\n    code: probe.py{extra}" for name in python]
    print(f"\nA. {args.swift} Swift + {args.python} Python event workers, every 1 s, one host "
          f"(Python workers' sandbox: {'off (--sandbox-off)' if args.sandbox_off else 'on, the default'})")
    with Host(binary, folder, "\n".join(lines) + "\n", backstop=args.seconds + 600) as host:
        ready = host.wait_running(len(swift) + len(python), deadline=max(120, 1.5 * len(python)))
        window_start, window_end, usage = host.measure(ready + args.warmup, ready + args.seconds)
        time.sleep(args.tail)
        health = host.health()
    logs = os.path.join(folder, "data", "logs")
    late, timed, early = {}, {}, {}
    for group, names in (("swift", swift), ("python", python)):
        timed[group] = log_samples(logs, names, "late-ms", window_start, window_end, timed=True)
        late[group] = [figure for _, figure in timed[group]]
        early[group] = log_samples(logs, names, "late-ms", host.launched, window_start)
    host_part = log_samples(logs, python, "host-ms", window_start, window_end)
    window = window_end - window_start
    figures = {"window": window, "ready_after": ready - host.launched, "usage": usage, "health": health,
               "all": summary(late["swift"] + late["python"])}
    for group, names in (("swift", swift), ("python", python)):
        samples = late[group]
        figures[group] = summary(samples)
        expected = len(names) * window
        complete = f"{len(samples) / expected * 100:5.1f}% of {expected:.0f} slots" if expected else "n/a"
        print(f"   {group:6s}  {summary(samples, text=True)}   ({len(samples)} runs, {complete})")
    print(f"   python, of which the host's part (slot to run frame sent): {summary(host_part, text=True)}")
    for group in ("swift", "python"):
        if timed[group]:
            print(f"   {group:6s}  {worst_seconds(timed[group], window_start)}")
    print(f"   before the window (start-up and warm-up): swift {summary(early['swift'], text=True)}; "
          f"python max {summary(early['python'])['max']:.1f} ms; skipped runs {host.before['skippedRuns']}")
    print(f"   all workers up {ready - host.launched:5.1f} s after launch; measured {window:4.1f} s after "
          f"{args.warmup:.0f} s of warm-up")
    print(f"   host CPU {usage['host_cpu'] * 100:5.1f}%  Python worker processes CPU {usage['tree_cpu'] * 100:5.1f}% "
          f"({usage['tree_processes']} processes, {usage['tree_rss_mib']:.0f} MiB RSS in all)  "
          f"machine busy {usage['machine_cpu'] * 100:5.1f}% of {os.cpu_count() * 100}%, "
          f"of which other programs {usage['other_cpu'] * 100:5.1f}%")
    print(f"   host peak RSS {usage['host_rss_peak_mib']:.1f} MiB, {usage['host_threads']} threads; "
          f"skipped runs in the window {health['skippedRuns'] - host.before['skippedRuns']} "
          f"(in all {health['skippedRuns']}), handler failures {health['failures']}, "
          f"states {health['states']}")
    host.report_output()
    return figures


def ensure_venv():
    python = os.path.join(VENV, "bin", "python")
    probe = [python, "-c", "import apscheduler, sys; sys.exit(0 if apscheduler.__version__.startswith('3.11') else 1)"]
    if os.path.exists(python) and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print(f"   making {os.path.relpath(VENV, ROOT)} (python3 -m venv; pip install 'apscheduler>=3.11,<3.12')")
    subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "apscheduler>=3.11,<3.12"], check=True)
    subprocess.run(probe, check=True)
    return python


def scenario_b(root, args, jobs):
    print(f"\nB. APScheduler 3.11, AsyncIOScheduler with {jobs} interval jobs of 1 s (coroutines)")
    python = ensure_venv()
    script = os.path.join(root, "aps.py")
    with open(script, "w") as handle:
        handle.write(APSCHEDULER_JOBS)
    process = subprocess.Popen([python, script, str(jobs), str(args.seconds), str(args.warmup)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = process.communicate(timeout=args.seconds + 120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"the APScheduler run failed ({process.returncode}): {err.strip()[-1000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    samples = result["late_ms"]
    print(f"   apscheduler {result['version']}  {summary(samples, text=True)}   ({len(samples)} runs, "
          f"{len(samples) / (jobs * result['window']) * 100:5.1f}% of {jobs * result['window']:.0f} slots)")
    print(f"   CPU {result['cpu'] * 100:5.1f}%  peak RSS {result['rss_peak_mib']:.1f} MiB  missed {result['missed']}  "
          f"max-instances refusals {result['max_instances']}  errors {result['errors']}  "
          f"slot mismatches {result['mismatches']}; other programs {result['other_cpu'] * 100:5.1f}%; "
          f"measured {result['window']:.1f} s after {args.warmup:.0f} s")
    if err.strip():
        print("   stderr: " + err.strip().splitlines()[-1][:300])
    return {"window": result["window"], "late": summary(samples), "cpu": result["cpu"],
            "rss": result["rss_peak_mib"], "samples": samples}


def scenario_c(binary, root, args):
    folder = os.path.join(root, "c")
    os.makedirs(folder)
    for name, text in (("subscriber.py", SUBSCRIBER_PY), ("publisher.py", PUBLISHER_PY)):
        with open(os.path.join(folder, name), "w") as handle:
            handle.write(text)
    subscribers = [f"sub{i:03d}" for i in range(args.fanout)]
    lines = ["workers:"] + [f"  {name}:\n    code: subscriber.py" for name in subscribers]
    lines.append("  publisher:\n    code: publisher.py")
    print(f"\nC. event fan-out: {args.fanout} subscribed Python workers, one publisher every 0.5 s")
    with Host(binary, folder, "\n".join(lines) + "\n", backstop=args.seconds + 600) as host:
        ready = host.wait_running(len(subscribers) + 1, deadline=max(120, 1.5 * len(subscribers)))
        window_start, window_end, usage = host.measure(ready + args.warmup, ready + args.seconds)
        time.sleep(min(args.tail, 2))  # subscribers flush their last batch on shutdown
        health = host.health()
    logs = os.path.join(folder, "data", "logs")
    published = [t for t in log_samples(logs, ["publisher"], "published", 0, float("inf"), stamped=False)
                 if window_start <= t <= window_end]
    deliveries = log_samples(logs, subscribers, "fanout-ms", window_start, window_end, stamped=False, keyed=True)
    expected = len(published) * len(subscribers)
    print(f"   delivery {summary(deliveries, text=True)}   ({len(deliveries)} deliveries of {len(published)} "
          f"publishes x {len(subscribers)} subscribers = {expected}; dropped {health['overflowed']})")
    tenth = max(1, len(subscribers) // 10)
    first, last = (log_samples(logs, names, "fanout-ms", window_start, window_end, stamped=False, keyed=True)
                   for names in (subscribers[:tenth], subscribers[-tenth:]))
    print(f"   by manifest order: the first {tenth} subscribers p50 {summary(first)['p50']:.2f} ms, "
          f"the last {tenth} p50 {summary(last)['p50']:.2f} ms")
    print(f"   host CPU {usage['host_cpu'] * 100:5.1f}%  Python worker processes CPU {usage['tree_cpu'] * 100:5.1f}%  "
          f"host peak RSS {usage['host_rss_peak_mib']:.1f} MiB; other programs {usage['other_cpu'] * 100:5.1f}%; "
          f"measured {window_end - window_start:4.1f} s")
    host.report_output()
    return {"late": summary(deliveries), "publishes": len(published), "deliveries": len(deliveries),
            "expected": expected, "usage": usage}


def ratio(a, b):
    return f"{a / b:6.2f}" if b else "   n/a"


def final_table(a, b, c, args):
    print("\n" + "=" * 100)
    print(f"{'scenario':52s} {'runs':>7s} {'p50 ms':>8s} {'p99 ms':>8s} {'max ms':>9s} {'CPU %':>7s}")
    print("-" * 100)
    if a:
        both = a["swift"]["count"] + a["python"]["count"]
        rows = [(f"A  Swift LatencyProbe x{args.swift} (lateness)", a["swift"], a["usage"]["host_cpu"]),
                (f"A  Python every(1s) x{args.python} (lateness)", a["python"],
                 a["usage"]["tree_cpu"])]
        for label, s, cpu in rows:
            print(f"{label:52s} {s['count']:7d} {s['p50']:8.2f} {s['p99']:8.2f} {s['max']:9.2f} {cpu * 100:7.1f}")
        print(f"{'   (CPU: the host for Swift, the worker processes for Python)':52s}")
        total = a["usage"]["host_cpu"] + a["usage"]["tree_cpu"]
        print(f"{'A  all ' + str(args.swift + args.python) + ' workers':52s} {both:7d} {a['all']['p50']:8.2f} "
              f"{a['all']['p99']:8.2f} {a['all']['max']:9.2f} {total * 100:7.1f}")
        print(f"{'   host peak RSS (MiB)':52s} {a['usage']['host_rss_peak_mib']:>7.1f}")
    if b:
        print(f"{'B  APScheduler AsyncIOScheduler, ' + str(args.swift + args.python) + ' jobs':52s} "
              f"{b['late']['count']:7d} {b['late']['p50']:8.2f} {b['late']['p99']:8.2f} {b['late']['max']:9.2f} "
              f"{b['cpu'] * 100:7.1f}")
    if a and b:
        total = a["usage"]["host_cpu"] + a["usage"]["tree_cpu"]
        print(f"{'   Botyard (A, all) / APScheduler':52s} {'':7s} {ratio(a['all']['p50'], b['late']['p50']):>8s} "
              f"{ratio(a['all']['p99'], b['late']['p99']):>8s} {ratio(a['all']['max'], b['late']['max']):>9s} "
              f"{ratio(total, b['cpu']):>7s}")
        print(f"{'   Botyard Swift group / APScheduler (CPU: host only)':52s} {'':7s} "
              f"{ratio(a['swift']['p50'], b['late']['p50']):>8s} {ratio(a['swift']['p99'], b['late']['p99']):>8s} "
              f"{ratio(a['swift']['max'], b['late']['max']):>9s} {ratio(a['usage']['host_cpu'], b['cpu']):>7s}")
    if c:
        label = f"C  fan-out to {args.fanout} subscribers (delivery), {c['publishes']} publishes"
        late = c["late"]
        print(f"{label:52s} {late['count']:7d} {late['p50']:8.2f} {late['p99']:8.2f} {late['max']:9.2f} "
              f"{(c['usage']['host_cpu'] + c['usage']['tree_cpu']) * 100:7.1f}")
    print("=" * 100)
    print("lateness = handler start - its slot; CPU % = CPU seconds / wall seconds over the window (100% = one core)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="each scenario's run, warm-up included")
    parser.add_argument("--warmup", type=float, default=10, help="seconds not measured at the start")
    parser.add_argument("--swift", type=int, default=1000)
    parser.add_argument("--python", type=int, default=200)
    parser.add_argument("--fanout", type=int, default=100)
    parser.add_argument("--skip-apscheduler", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="20 Swift, 5 Python, 5 fan-out, 12 s, no APScheduler")
    parser.add_argument("--sandbox-off", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    args.tail = TAIL_SECONDS
    if args.smoke:
        args.swift, args.python, args.fanout, args.seconds, args.warmup = 20, 5, 5, 12, 3
        args.skip_apscheduler, args.tail = True, 1
    if args.warmup >= args.seconds:
        parser.error("--warmup must be shorter than --seconds")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: stop the host, clean up
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    binary = os.environ.get("BOTYARD_BIN") or os.path.join(ROOT, ".build", "release", "botyard")
    if not os.access(binary, os.X_OK):
        parser.error(f"no host binary at {binary}: build it (swift build -c release --product botyard) "
                     "or name one with BOTYARD_BIN")
    root = tempfile.mkdtemp(prefix="botyard-event-bench-")
    print(machine_facts(binary, args))
    a = b = c = None
    try:
        if args.swift + args.python:
            a = scenario_a(binary, root, args)
        if not args.skip_apscheduler:
            b = scenario_b(root, args, args.swift + args.python)
        if args.fanout:
            c = scenario_c(binary, root, args)
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    final_table(a, b, c, args)


if __name__ == "__main__":
    main()
