"""Isolation: how much five hostile workers slow 20 ordinary ones in the same host, and what the sandbox costs.

A. 20 ordinary Python workers at 1 s: tick lateness (tick start in the worker - its slot's time).
B. The same 20 plus a fork bomb, a memory hog, a log flood (print), a CPU spin and a frame flood (ctx.log.info),
   each with tick_timeout 5s: the 20's lateness, and p99(B)/p99(A).
C. One worker, sandbox on and `sandbox: off`: time from launching the host to the worker's setup, and the mean
   round trip of ctx.state.get on a cached key (2,000 calls).

Prints figures; asserts nothing. Loopback only; every host stops by itself (--for).

    python3 bench/isolation.py
    ISOLATION_SECONDS=10 BOTYARD_BIN=/tmp/botyard python3 bench/isolation.py
"""

import glob
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from common import ROOT, ProcessSampler, percentile

ORDINARY = """
import os, time
OUT = os.environ["BOTYARD_SCRATCH"]

def setup(ctx):
    with open(os.path.join(OUT, "started.txt"), "a") as handle:
        handle.write(f"{time.time():.3f}\\n")

def tick(ctx):
    now = time.time()
    late_ms = (now - ctx.worker.scheduled_at) * 1000
    with open(os.path.join(OUT, "late.txt"), "a") as handle:
        handle.write(f"{now:.3f} {late_ms:.3f}\\n")
"""

# Each hostile tick runs until its 5 s timeout raises TickTimeoutError inside it; the next tick starts again.
HOSTILE = {
    "forkbomb": """
import os, time
PEAK = [0]
def tick(ctx):
    live = 0
    while True:  # fork until the process limit refuses (children hold their slots), and keep trying
        try:
            if os.fork() == 0:
                time.sleep(30)
                os._exit(0)
            live += 1
        except OSError:
            if live > PEAK[0]:
                PEAK[0] = live
                with open(os.path.join(os.environ["BOTYARD_SCRATCH"], "peak.txt"), "w") as handle:
                    handle.write(str(live))
""",
    "memhog": """
import os
def tick(ctx):
    while True:  # grow until MemoryError, drop it, again
        buffer = bytearray()
        try:
            while True:
                buffer.extend(bytes(8 << 20))
        except MemoryError:
            status = dict(line.split(":", 1) for line in open("/proc/self/status"))
            peak = {key: int(status[key].split()[0]) >> 10 for key in ("VmPeak", "VmHWM")}
            path = os.path.join(os.environ["BOTYARD_SCRATCH"], "peak.txt")
            with open(path + ".new", "w") as handle:  # replaced whole: the bench may read it at any moment
                handle.write(f"{peak['VmPeak']} MiB of address space, {peak['VmHWM']} MiB resident,")
            os.replace(path + ".new", path)
        del buffer
""",
    "logflood": """
def tick(ctx):
    while True:
        print("flood " + "x" * 90)
""",
    "cpuspin": """
def tick(ctx):
    while True:
        pass
""",
    "frameflood": """
def tick(ctx):
    while True:
        ctx.log.info("frame " + "y" * 90)
""",
}

PROBE = """
import json, os, time
def setup(ctx):
    started = time.time()
    ctx.state.set("price", 65000.5)
    for _ in range(200):  # warm up
        ctx.state.get("price")
    begin = time.perf_counter()
    for _ in range(2000):
        ctx.state.get("price")
    mean_us = (time.perf_counter() - begin) / 2000 * 1e6
    out = os.environ.get("BOTYARD_SCRATCH") or os.environ["BENCH_OUT"]  # no scratch folder when unsandboxed
    with open(os.path.join(out, "probe.json"), "w") as handle:
        json.dump({"started": started, "get_us": mean_us}, handle)

def tick(ctx):
    pass
"""


def host_binary():
    if os.environ.get("BOTYARD_BIN"):
        return os.environ["BOTYARD_BIN"]
    release = os.path.join(ROOT, ".build/release/botyard")
    return release if os.path.exists(release) else os.path.join(ROOT, ".build/debug/botyard")


def write(path, text):
    with open(path, "w") as handle:
        handle.write(text)


def manifest(folder, workers, top=()):
    """workers: {name: (script, [extra manifest lines])}"""
    lines = list(top) + ["workers:"]
    for name, (script, extra) in workers.items():
        lines += [f"  {name}:", f"    code: {script}", "    every: 1s"] + [f"    {line}" for line in extra]
    write(os.path.join(folder, "botyard.yaml"), "\n".join(lines) + "\n")


def run_host(binary, folder, seconds, quiet=False):
    """Runs the host on folder/botyard.yaml for `seconds`; returns (launch time, host CPU fraction, peak RSS KiB)."""
    data = os.path.join(folder, "data")
    # A log flood echoes megabytes a second to the host's stdout: it goes to /dev/null then.
    out = subprocess.DEVNULL if quiet else open(os.path.join(folder, "host-output.txt"), "w")
    err = open(os.path.join(folder, "host-errors.txt"), "w")
    launched = time.time()
    process = subprocess.Popen(
        [binary, "run", "botyard.yaml", "--port", "0", "--data-dir", data, "--for", f"{seconds}s"],
        cwd=folder, stdout=out, stderr=err)
    sampler, cpu, wall = ProcessSampler(process.pid), [], []
    deadline = time.monotonic() + seconds + 60  # 30 s graceful shutdown, 10 s cancellation, and room
    while process.poll() is None and time.monotonic() < deadline:
        try:
            sampler.rss_kib()
            cpu.append(sampler.cpu_seconds())
            wall.append(time.monotonic())
        except (FileNotFoundError, ProcessLookupError, IndexError):
            break
        time.sleep(0.5)
    if process.poll() is None:
        print(f"  host still running {seconds + 60}s after launch: SIGKILL")
        process.send_signal(signal.SIGKILL)
    if process.wait() != 0:
        print(f"  host exited {process.returncode}: {open(err.name).read().strip()[-400:]}")
    used = (cpu[-1] - cpu[0]) / max(wall[-1] - wall[0], 1e-9) if len(cpu) > 1 else float("nan")
    return launched, used, sampler.rss_peak_kib


def lateness(folder, names, launched):
    """The ordinary workers' samples from 2 s after the last one's first tick, and the last setup's delay."""
    runs, starts = [], []
    for name in names:
        scratch = os.path.join(folder, "data/scratch", name)
        try:
            with open(os.path.join(scratch, "late.txt")) as handle:
                runs.append([tuple(map(float, line.split())) for line in handle if line.strip()])
            with open(os.path.join(scratch, "started.txt")) as handle:
                starts.append(float(handle.readline()))
        except FileNotFoundError:
            runs.append([])
    steady = max((run[0][0] for run in runs if run), default=0) + 2
    samples = [late for run in runs for at, late in run if at >= steady]
    return samples, (max(starts) - launched if starts else float("nan")), sum(1 for run in runs if run)


def phase(binary, folder, seconds, hostile):
    write(os.path.join(folder, "ordinary.py"), ORDINARY)
    workers = {f"w{i:02d}": ("ordinary.py", []) for i in range(20)}
    if hostile:
        for name, script in HOSTILE.items():
            write(os.path.join(folder, f"{name}.py"), script)
            workers[name] = (f"{name}.py", ["tick_timeout: 5s", "max_errors: 1000"])
    manifest(folder, workers)
    launched, cpu, rss = run_host(binary, folder, seconds + 5, quiet=hostile)
    samples, start, ticking = lateness(folder, [n for n in workers if n.startswith("w")], launched)
    label = "B  20 + 5 hostile" if hostile else "A  20 ordinary   "
    print(
        f"{label}  ticks={len(samples):5d} ({ticking}/20 ticking)  lateness p50={percentile(samples, 50):7.2f} ms  "
        f"p99={percentile(samples, 99):7.2f} ms  max={max(samples or [float('nan')]):7.2f} ms  "
        f"last setup {start:5.2f} s after launch  host CPU={cpu * 100:5.1f}%  RSS peak={rss / 1024:6.1f} MiB")
    return samples


def hostile_report(folder):
    scratch, logs = os.path.join(folder, "data/scratch"), os.path.join(folder, "data/logs")

    def peak(name):
        path = os.path.join(scratch, name, "peak.txt")
        return open(path).read().strip() if os.path.exists(path) else "?"

    flood, frames = (glob.glob(os.path.join(logs, f"*{name}*")) for name in ("logflood", "frameflood"))
    mib = lambda files: sum(os.path.getsize(f) for f in files) / (1 << 20)  # noqa: E731
    print(
        f"   hostile: fork bomb reached {peak('forkbomb')} children before fork failed; memory hog peaked at "
        f"{peak('memhog')} then MemoryError; log files on disk: print flood {mib(flood):.1f} MiB in "
        f"{len(flood)} file(s), ctx.log flood {mib(frames):.1f} MiB in {len(frames)} file(s)")


def startup(binary, root, sandboxed, runs=3):
    starts, gets = [], []
    for run in range(runs):
        folder = os.path.join(root, f"c-{'on' if sandboxed else 'off'}-{run}")
        os.makedirs(folder)
        write(os.path.join(folder, "probe.py"), PROBE)
        extra = [] if sandboxed else ["sandbox: off", f"env: {{BENCH_OUT: {folder}}}"]
        manifest(folder, {"probe": ("probe.py", extra)})
        launched, _, _ = run_host(binary, folder, 4)
        found = glob.glob(os.path.join(folder, "**/probe.json"), recursive=True)
        if found:
            result = json.load(open(found[0]))
            starts.append((result["started"] - launched) * 1000)
            gets.append(result["get_us"])
    print(
        f"C  sandbox {'on ' if sandboxed else 'off'}  ({len(starts)}/{runs} runs)  host launch to setup: "
        f"median {percentile(starts, 50):7.1f} ms (min {min(starts or [float('nan')]):7.1f})  "
        f"ctx.state.get: median {percentile(gets, 50):6.1f} us per call")


def main():
    seconds = int(os.environ.get("ISOLATION_SECONDS", "30"))
    binary = host_binary()
    root = tempfile.mkdtemp(prefix="botyard-isolation-")
    print(f"{binary}; {seconds}s per phase at 1s intervals; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; "
          "lateness = tick start - slot")
    try:
        for name in ("a", "b"):
            os.makedirs(os.path.join(root, name))
        a = phase(binary, os.path.join(root, "a"), seconds, hostile=False)
        b = phase(binary, os.path.join(root, "b"), seconds, hostile=True)
        hostile_report(os.path.join(root, "b"))
        ratio = percentile(b, 99) / percentile(a, 99) if a and b and percentile(a, 99) > 0 else float("nan")
        print(f"   p99(B) / p99(A) = {ratio:.2f}")
        startup(binary, root, sandboxed=True)
        startup(binary, root, sandboxed=False)
    finally:
        if os.environ.get("ISOLATION_KEEP"):
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
