"""The parts of bench/event_workers.py: the workers' code, the APScheduler run, a host under measurement, /proc."""

import collections
import datetime
import json
import os
import re
import resource
import signal
import subprocess
import time
import urllib.request

from common import ProcessSampler, percentile

# A Python event worker that measures its own schedule's lateness, logged like LatencyProbe.swift does.
PROBE_PY = '''
import os, time
from botyard import Worker, current_run

worker = Worker(os.environ.get("BOTYARD_WORKER", "probe"))
late, host = [], []


def flush():
    if late:
        print("late-ms " + ",".join(f"{x:.3f}" for x in late))
        print("host-ms " + ",".join(f"{x:.3f}" for x in host))
        late.clear()
        host.clear()


@worker.every(seconds=1)
async def probe(client):
    run = current_run()
    late.append((time.time() - run.scheduled_at) * 1000)
    host.append((run.sent_at - run.scheduled_at) * 1000)  # the host's part: slot to run frame sent
    if len(late) >= 10:
        flush()


@worker.on_shutdown
async def bye(client):
    flush()
'''

SUBSCRIBER_PY = '''
import os, time
from botyard import Worker

worker = Worker(os.environ.get("BOTYARD_WORKER", "subscriber"))
pending = []


def flush():
    if pending:
        print("fanout-ms " + ",".join(pending))
        pending.clear()


@worker.on_event("bench.fanout")
async def received(event, client):
    now = time.time()
    sent = event.payload["t"]
    pending.append(f"{sent:.6f}:{(now - sent) * 1000:.3f}")
    if len(pending) >= 10:
        flush()


@worker.on_shutdown
async def bye(client):
    flush()
'''

PUBLISHER_PY = '''
import asyncio, time
from botyard import Worker

worker = Worker("publisher")


@worker.every(seconds=1)
async def publish(client):
    first = time.time()
    await client.publish("bench.fanout", {"t": first})
    await asyncio.sleep(max(0.0, 0.5 - (time.time() - first)))
    second = time.time()
    await client.publish("bench.fanout", {"t": second})
    print(f"published {first:.6f},{second:.6f}")
'''

# Run with the venv's python: argv = jobs, seconds, warm-up. Prints one JSON line.
# How the lateness is measured: the scheduler dispatches EVENT_JOB_SUBMITTED (with the run's
# scheduled_run_times) synchronously in _process_jobs, after the executor has created the job's asyncio task
# and before that task first runs; the listener keeps the scheduled time per job id, and the coroutine, when it
# starts, takes time.time() minus it. misfire_grace_time=None so that a late run still runs (and is measured)
# instead of being dropped as missed; coalesce=True and max_instances=1 as the defaults.
APSCHEDULER_JOBS = '''
import asyncio, json, os, resource, sys, time
from importlib.metadata import version

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, EVENT_JOB_SUBMITTED
from apscheduler.schedulers.asyncio import AsyncIOScheduler

JOBS, SECONDS, WARMUP = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
slots = {}  # job id -> the scheduled run time of its run just submitted
samples = []  # (scheduled run time, lateness ms)
counts = {"missed": 0, "max_instances": 0, "errors": 0, "mismatches": 0}


async def probe(job_id):
    now = time.time()
    slot = slots.pop(job_id, None)
    if slot is None:
        counts["mismatches"] += 1
        return
    samples.append((slot, (now - slot) * 1000))


def listen(event):
    if event.code == EVENT_JOB_SUBMITTED:
        slots[event.job_id] = event.scheduled_run_times[-1].timestamp()
    elif event.code == EVENT_JOB_MISSED:
        counts["missed"] += 1
    elif event.code == EVENT_JOB_MAX_INSTANCES:
        counts["max_instances"] += 1
    else:
        counts["errors"] += 1


def busy():
    """CPU seconds the whole machine has been busy (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


async def main():
    scheduler = AsyncIOScheduler(job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1})
    scheduler.add_listener(listen, EVENT_JOB_SUBMITTED | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_ERROR)
    for i in range(JOBS):
        scheduler.add_job(probe, "interval", seconds=1, args=[f"j{i}"], id=f"j{i}")
    scheduler.start()
    await asyncio.sleep(WARMUP)
    cpu0, t0, busy0 = time.process_time(), time.time(), busy()
    await asyncio.sleep(SECONDS - WARMUP)
    cpu1, t1, busy1 = time.process_time(), time.time(), busy()
    scheduler.shutdown(wait=False)
    late = [ms for slot, ms in samples if t0 <= slot <= t1]
    print(json.dumps(dict(counts, version=version("apscheduler"), window=t1 - t0, late_ms=late,
                          cpu=(cpu1 - cpu0) / (t1 - t0),
                          other_cpu=max(0.0, busy1 - busy0 - (cpu1 - cpu0)) / (t1 - t0),
                          rss_peak_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))


asyncio.run(main())
'''

LOG_LINE = re.compile(r"^(\S+)\s+\S+\s+(\S+) \| (\S+) (.*)$")
# Lines of the host's output that are expected: the benchmark's own figures and orderly starts and stops.
ORDINARY = re.compile(
    r"\| (late-ms|host-ms|fanout-ms|published) |\| stopped: host shutting down$|^botyard: control API on"
    r"|^botyard: every worker stopped; bye$|^botyard: stopping"
)


def summary(samples, text=False):
    figures = {"count": len(samples), "p50": percentile(samples, 50), "p99": percentile(samples, 99),
               "max": max(samples) if samples else float("nan")}
    if text:
        return f"p50 {figures['p50']:8.2f} ms  p99 {figures['p99']:8.2f} ms  max {figures['max']:9.2f} ms"
    return figures


def log_samples(folder, names, tag, start, end, stamped=True, keyed=False, timed=False):
    """The figures of `tag` lines in the workers' logs whose time is in [start, end] (timed: (time, figure)).

    stamped: a batch of 1 s runs, the last one just logged: run i of n had its slot about (n-1-i) s before the
    line's time, less its own lateness. keyed: values are `time:figure`, filtered on time. Otherwise every value.
    """
    found = []
    for name in names:
        try:
            handle = open(os.path.join(folder, f"worker-{name}.log"), errors="replace")
        except FileNotFoundError:
            continue
        with handle:
            for line in handle:
                match = LOG_LINE.match(line.rstrip("\n"))
                if not match or match.group(3) != tag:
                    continue
                values = match.group(4).split(",")
                try:
                    if keyed:
                        for value in values:
                            at, figure = value.split(":")
                            if start <= float(at) <= end:
                                found.append((float(at), float(figure)))
                    elif stamped:
                        logged = datetime.datetime.fromisoformat(match.group(1).replace("Z", "+00:00")).timestamp()
                        for i, value in enumerate(values):
                            figure = float(value)
                            slot = logged - (len(values) - 1 - i) - figure / 1000
                            if start <= slot <= end:
                                found.append((slot, figure))
                    else:
                        found.extend((None, float(value)) for value in values)
                except ValueError:
                    continue  # a line cut short by the shutdown
    return found if timed else [figure for _, figure in found]


def worst_seconds(timed, start, count=3):
    """Per second of the window: how many seconds had p99 over 5 ms, and the `count` worst (by p99)."""
    seconds = collections.defaultdict(list)
    for at, figure in timed:
        seconds[int(at - start)].append(figure)
    rows = sorted(((percentile(v, 99), k, percentile(v, 50), max(v)) for k, v in seconds.items()), reverse=True)
    worst = ", ".join(f"{k}s {p50:.1f}/{p99:.1f}/{top:.1f}" for p99, k, p50, top in rows[:count])
    return f"{sum(row[0] > 5 for row in rows)} of {len(rows)} seconds had p99 > 5 ms; worst (p50/p99/max ms): {worst}"


class Tree:
    """CPU seconds and RSS of every descendant of one process, from /proc, keyed by (pid, start time)."""

    def __init__(self, root):
        self.root = root
        self.ticks = os.sysconf("SC_CLK_TCK")
        self.page = os.sysconf("SC_PAGE_SIZE")

    def scan(self):
        stats, children = {}, collections.defaultdict(list)
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            stats[int(entry)] = fields
            children[int(fields[1])].append(int(entry))
        found, stack = {}, list(children.get(self.root, []))
        while stack:
            pid = stack.pop()
            fields = stats[pid]
            cpu = (int(fields[11]) + int(fields[12])) / self.ticks
            found[(pid, int(fields[19]))] = (cpu, int(fields[21]) * self.page)
            stack.extend(children.get(pid, []))
        return found


def _own_cpu():
    times = os.times()
    return times.user + times.system


def machine_busy_ticks():
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    return sum(values) - values[3] - values[4]  # all but idle and iowait


def status_field(pid, field):
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Host:
    """One `botyard run` on a manifest in `folder`; always stopped (SIGINT, SIGKILL after 60 s) on exit."""

    def __init__(self, binary, folder, manifest, backstop):
        self.binary, self.folder, self.backstop = binary, folder, backstop
        self.data = os.path.join(folder, "data")
        with open(os.path.join(folder, "botyard.yaml"), "w") as handle:
            handle.write(manifest)
        self.process = None
        self.before = {"skippedRuns": 0}  # health() just before the window
        self.seen = set()  # (pid, start time) of every descendant seen

    def __enter__(self):
        self.out = open(os.path.join(self.folder, "host-output.txt"), "w")
        self.err = open(os.path.join(self.folder, "host-errors.txt"), "w")
        self.launched = time.time()
        self.process = subprocess.Popen(
            [self.binary, "run", "botyard.yaml", "--data-dir", self.data, "--port", "0",
             "--for", f"{self.backstop:.0f}s"],  # a backstop should this script die without stopping it
            cwd=self.folder, stdout=self.out, stderr=self.err)
        self.tree = Tree(self.process.pid)
        return self

    def __exit__(self, *exc):
        self.stop()

    def api(self, path, timeout=30):
        with open(os.path.join(self.data, "host.json")) as handle:
            port = json.load(handle)["port"]
        with open(os.path.join(self.data, "admin.token")) as handle:
            token = handle.read().strip()
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)

    def workers(self):
        try:
            return self.api("/api/workers")
        except (OSError, ValueError):
            return None  # not listening yet

    def wait_running(self, expected, deadline):
        """Waits until `expected` workers run; returns that moment. Says why when some never do."""
        give_up = time.time() + deadline
        workers = None
        while time.time() < give_up:
            if self.process.poll() is not None:
                raise RuntimeError(f"the host exited ({self.process.returncode}) while starting: {self.errors()}")
            workers = self.workers()
            if workers is not None and sum(w["state"] == "running" for w in workers) >= expected:
                return time.time()
            if workers is not None and not any(w["state"] in ("loading", "starting") for w in workers):
                break  # nothing is still on its way
            time.sleep(1)
        states = collections.Counter(w["state"] for w in workers or [])
        reasons = collections.Counter(w.get("reason") for w in workers or [] if w["state"] != "running")
        print(f"   NOT ALL WORKERS RUN: {dict(states)} of {expected} after {time.time() - self.launched:.0f} s")
        for reason, count in reasons.most_common(5):
            print(f"     {count:5d} x {reason}")
        return time.time()

    def measure(self, start_at, end_at):
        """Samples CPU and memory over [start_at, end_at]; returns (start, end, figures)."""
        time.sleep(max(0.0, start_at - time.time() - 1))
        self.before = self.health()  # outside the window: listing every worker costs the host some CPU
        time.sleep(max(0.0, start_at - time.time()))
        host = ProcessSampler(self.process.pid)
        first_tree, machine0 = self.tree.scan(), machine_busy_ticks()
        start, host0, own0 = time.time(), host.cpu_seconds(), _own_cpu()
        last, threads = dict(first_tree), 0
        while time.time() < end_at and self.process.poll() is None:
            time.sleep(min(1.0, max(0.0, end_at - time.time())))
            host.rss_kib()
            threads = max(threads, status_field(self.process.pid, "Threads"))
            last.update(self.tree.scan())
        end, host1, own1 = time.time(), host.cpu_seconds(), _own_cpu()
        machine1 = machine_busy_ticks()
        final = self.tree.scan()
        last.update(final)
        self.seen.update(last)
        wall = end - start
        tree_cpu = sum(cpu - first_tree.get(key, (0.0, 0))[0] for key, (cpu, _) in last.items())
        machine = (machine1 - machine0) / os.sysconf("SC_CLK_TCK")
        return start, end, {
            "host_cpu": (host1 - host0) / wall,
            "tree_cpu": tree_cpu / wall,
            "machine_cpu": machine / wall,
            # everything else on the machine (other builds and tests), less this script's own sampling
            "other_cpu": max(0.0, machine - (host1 - host0) - tree_cpu - (own1 - own0)) / wall,
            "tree_processes": len(final),
            "tree_rss_mib": sum(rss for _, rss in final.values()) / (1 << 20),
            "host_rss_peak_mib": max(host.rss_peak_kib, status_field(self.process.pid, "VmHWM")) / 1024,
            "host_threads": threads,
        }

    def health(self):
        workers = self.workers() or []
        totals = {key: sum(w.get("events", {}).get(key, 0) for w in workers)
                  for key in ("skippedRuns", "failures", "overflowed")}
        totals["states"] = dict(collections.Counter(w["state"] for w in workers))
        return totals

    def stop(self):
        if self.process is None:
            return
        began = time.time()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                print("   the host did not stop within 60 s of SIGINT: SIGKILL")
                self.process.kill()
                self.process.wait()
        self.stopped_in = time.time() - began
        status = self.process.returncode
        self.out.close()
        self.err.close()
        left = [pid for pid, start in self.seen if _alive(pid, start)]
        settle = time.time() + 5  # sandboxes exiting with the host: give them a moment
        while left and time.time() < settle:
            time.sleep(0.2)
            left = [pid for pid, start in self.seen if _alive(pid, start)]
        print(f"   host stopped in {self.stopped_in:.1f} s, exit status {status}"
              + (f"; {len(left)} of its processes outlived it: killed" if left else ""))
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def errors(self):
        with open(os.path.join(self.folder, "host-errors.txt"), errors="replace") as handle:
            return handle.read().strip()[-1000:]

    def report_output(self):
        """Prints what the host said beyond the figures and orderly stops: errors, warnings, restarts."""
        unusual = []
        for name in ("host-output.txt", "host-errors.txt"):
            with open(os.path.join(self.folder, name), errors="replace") as handle:
                unusual += [line.rstrip() for line in handle if line.strip() and not ORDINARY.search(line)]
        if unusual:
            print(f"   the host printed {len(unusual)} other line(s), for example:")
            for line in unusual[:8]:
                print(f"     {line[:220]}")
        else:
            print("   the host printed nothing else (no errors, warnings or restarts)")


def _alive(pid, start):
    """Whether that process still runs (a zombie, waiting for whoever inherited it to reap it, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return int(fields[19]) == start and fields[0] != "Z"
    except (OSError, IndexError, ValueError):
        return False


def machine_facts(binary, args):
    nproc_soft, _ = resource.getrlimit(resource.RLIMIT_NPROC)
    files, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    read = lambda path: open(path).read().strip()  # noqa: E731
    builds = 0
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and read(f"/proc/{entry}/comm").startswith(("swift-frontend", "swift-build", "clang")):
                builds += 1
        except OSError:
            pass
    needed = 3 * (args.python + args.fanout + 1)  # bwrap, its child in the new pid namespace, python
    return (
        f"{binary} (built {time.strftime('%Y-%m-%d %H:%M', time.localtime(os.path.getmtime(binary)))})\n"
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, {builds} compiler processes running; "
        f"ulimit -u {nproc_soft}, pid_max {read('/proc/sys/kernel/pid_max')}, threads-max "
        f"{read('/proc/sys/kernel/threads-max')}, open files {files}: at most ~{needed} worker processes "
        f"(3 per sandboxed Python worker, each under a uid of its own) plus the host's threads fit\n"
        f"each scenario: {args.seconds:.0f} s from the moment every worker runs, the first {args.warmup:.0f} s "
        "not measured"
    )
