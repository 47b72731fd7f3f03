"""Helpers shared by the benchmarks: build the host, run it on a generated manifest, sample its CPU and RSS."""

import os
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def host_binary(configuration="release"):
    """Builds botyard (release by default) and returns its path; BOTYARD_BIN names a binary to use instead."""
    if os.environ.get("BOTYARD_BIN"):
        return os.environ["BOTYARD_BIN"]
    subprocess.run(["swift", "build", "-c", configuration, "--product", "botyard"], cwd=ROOT, check=True)
    folder = subprocess.run(
        ["swift", "build", "-c", configuration, "--show-bin-path"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    return os.path.join(folder, "botyard")


def workspace():
    return tempfile.mkdtemp(prefix="botyard-bench-")


def write_manifest(folder, workers):
    """workers: {name: (script_file, every)}"""
    lines = ["workers:"]
    for name, (script, every, extra) in workers.items():
        lines += [f"  {name}:", f"    code: {script}", f"    every: {every}"] + [f"    {line}" for line in extra]
    path = os.path.join(folder, "botyard.yaml")
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


class ProcessSampler:
    """CPU seconds and RSS of one process, from /proc."""

    def __init__(self, pid):
        self.pid = pid
        self.ticks = os.sysconf("SC_CLK_TCK")
        self.rss_peak_kib = 0

    def cpu_seconds(self):
        with open(f"/proc/{self.pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self.ticks

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    value = int(line.split()[1])
                    self.rss_peak_kib = max(self.rss_peak_kib, value)
                    return value
        return 0


def percentile(values, p):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def run_host(binary, manifest, folder, seconds):
    """Runs the host for `seconds`, sampling it; returns (cpu seconds used while running, peak RSS KiB)."""
    output = open(os.path.join(folder, "host-output.txt"), "w")
    process = subprocess.Popen(
        [binary, "run", manifest, "--data-dir", os.path.join(folder, "data"), "--port", "0", "--for", f"{seconds}s"],
        cwd=folder, stdout=output, stderr=subprocess.STDOUT,
    )
    sampler = ProcessSampler(process.pid)
    time.sleep(3)  # let every worker start
    cpu_start, wall_start = sampler.cpu_seconds(), time.monotonic()
    while process.poll() is None:
        try:
            sampler.rss_kib()
            cpu_end, wall_end = sampler.cpu_seconds(), time.monotonic()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            break
        time.sleep(0.5)
    process.wait(timeout=120)
    cpu_fraction = (cpu_end - cpu_start) / max(wall_end - wall_start, 1e-9)
    return cpu_fraction, sampler.rss_peak_kib
