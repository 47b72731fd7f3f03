"""Standalone workers (``worker.run()`` under ``command:``) against the fake host of ``fakehost.py``."""

import asyncio
import math
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from fakehost import FakeHost

from botyard import RunInfo, Worker, current_run
from botyard.runtime_api import RuntimeAPI
from botyard.standalone import StandaloneRunner
from botyard.supervision import TaskBackoff, Timings

SDK = os.path.join(os.path.dirname(__file__), "..")
FAST = Timings(cancel_wait=0.2, reconnect_first=0.02, reconnect_max=0.1)


@pytest.fixture
def host():
    fake = FakeHost().start()
    yield fake
    fake.close()


def run_with(host, worker, until, timings=FAST, token="tok-w"):
    """Runs ``worker`` in this process until ``until(runner)`` (a coroutine) returns; then stops it."""

    async def scenario():
        runner = StandaloneRunner(worker, RuntimeAPI(host.url, token, "w", timeout=5), timings)
        running = asyncio.ensure_future(runner.run())
        waiting = asyncio.ensure_future(until(runner))
        try:
            await asyncio.wait({running, waiting}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
            runner.stop("the test is done")
            return await running, runner
        finally:
            running.cancel()
            waiting.cancel()

    return asyncio.run(scenario())


async def forever(runner):
    await asyncio.Event().wait()


async def eventually(predicate):
    while not predicate():
        await asyncio.sleep(0.01)


def test_events_reach_every_handler_of_their_kind_and_a_failing_handler_is_logged(host, capsys):
    worker, seen = Worker("w", shutdown_grace=0.2), []

    @worker.on_startup
    async def hello(client):
        seen.append("startup")

    @worker.on_event("desk.ping")
    async def first(event, client):
        seen.append(("first", event.payload["n"], current_run()))

    @worker.on_event("desk.ping")
    async def second(event, client):
        if event.payload["n"] == 1:
            raise RuntimeError("boom")
        await client.publish("desk.pong", {"n": event.payload["n"]})

    @worker.on_shutdown
    async def close_first(client):
        seen.append("close_first")

    @worker.on_shutdown
    async def close_last(client):
        seen.append("close_last")

    async def until(runner):
        await eventually(host.open_streams)
        for n in (1, 2):
            await asyncio.to_thread(host.publish, "desk.ping", {"n": n})
        await asyncio.to_thread(host.publish, "desk.other", {})
        await eventually(lambda: "desk.pong" in host.kinds_published() and len(seen) == 3)

    status, runner = run_with(host, worker, until)
    assert status == 0 and runner.failed == 1
    assert seen[0] == "startup" and seen[-2:] == ["close_last", "close_first"]
    assert sorted(entry[1] for entry in seen[1:3]) == [1, 2]
    assert seen[1][2] == RunInfo("test_events_reach_every_handler_of_their_kind_and_a_failing_handler_is_logged."
                                 "<locals>.first", None, None)
    assert host.stream_queries == [(["desk.ping"], 0)]
    errors = capsys.readouterr().err
    assert "handler 'test_events" in errors and "RuntimeError: boom" in errors and "Traceback" in errors


def test_a_full_queue_drops_and_counts_and_the_stop_cancels_after_the_grace(host, capsys):
    worker = Worker("w", max_concurrency=1, shutdown_grace=0.2)
    closed = []

    @worker.on_event("desk.ping")
    async def stuck(event, client):
        await asyncio.Event().wait()

    @worker.on_shutdown
    async def close(client):
        closed.append(True)

    async def until(runner):
        await eventually(host.open_streams)
        for n in range(5):
            await asyncio.to_thread(host.publish, "desk.ping", {"n": n})
        await eventually(lambda: runner.dropped == 2)  # one running, two queued

    status, runner = run_with(host, worker, until, Timings(queue_size=2, cancel_wait=0.2))
    assert status == 0 and closed == [True]
    assert runner.dropped == 4  # and the two queued, at the stop
    errors = capsys.readouterr().err
    assert "the event queue is full (2): dropped desk.ping seq 4" in errors
    assert "cancelled 1 handler(s) still running after 0.2s" in errors


def test_an_interval_schedule_runs_at_fixed_rate_and_skips_the_slots_it_overran(host):
    worker, starts, slots = Worker("w"), [], []

    @worker.every(seconds=1)
    async def beat(client):
        starts.append(time.monotonic())
        slots.append(current_run().scheduled_at)
        if len(starts) == 1:
            await asyncio.sleep(0.25)  # past slots 2 and 3

    async def scenario():
        runner = StandaloneRunner(worker, RuntimeAPI(host.url, "tok-w", "w"), FAST)
        begun = time.time()
        schedule = asyncio.ensure_future(runner.every(worker.handlers_of("every")[0], 0.1))
        await eventually(lambda: len(starts) >= 4)
        schedule.cancel()
        return runner, begun

    runner, begun = asyncio.run(scenario())
    steps = [round((slot - slots[0]) / 0.1) for slot in slots]
    assert steps[:4] == [0, 3, 4, 5] and runner.skipped == 2
    assert abs(slots[0] - begun - 0.1) < 0.02  # the first run is one interval after the start


def test_a_cron_schedule_runs_at_its_fire_times_and_skips_those_it_overran(host):
    worker, slots = Worker("w"), []

    class Grid:
        """Fire times every 0.1 s from now."""

        start = time.time()

        def next_after(self, after):
            return self.start + (math.floor((after - self.start) / 0.1 + 1e-6) + 1) * 0.1

    @worker.every(cron="* * * * *")
    async def tick(client):
        slots.append(current_run().scheduled_at)
        if len(slots) == 1:
            await asyncio.sleep(0.25)

    async def scenario():
        runner = StandaloneRunner(worker, RuntimeAPI(host.url, "tok-w", "w"), FAST)
        schedule = asyncio.ensure_future(runner.cron(worker.handlers_of("every")[0], Grid()))
        await eventually(lambda: len(slots) >= 3)
        schedule.cancel()
        return runner

    runner = asyncio.run(scenario())
    assert [round((slot - Grid.start) / 0.1) for slot in slots[:3]] == [1, 4, 5] and runner.skipped == 2


def test_a_task_that_keeps_crashing_backs_off_then_stops_the_worker_with_status_1(host, capsys):
    worker, starts, closed = Worker("w"), [], []

    @worker.task
    async def reader(client):
        starts.append(time.monotonic())
        raise ConnectionError("feed down")

    @worker.on_shutdown
    async def close(client):
        closed.append(True)

    timings = Timings(task_first_delay=0.02, task_max_delay=0.08, task_stable_after=5, cancel_wait=0.2)
    status, runner = run_with(host, worker, forever, timings)
    assert status == 1 and closed == [True]
    assert len(starts) == 4  # waits of 0.02, 0.04, 0.08 (the cap); the 4th crash follows a wait at the cap
    waits = [b - a for a, b in zip(starts, starts[1:])]
    assert [round(w, 2) >= d for w, d in zip(waits, (0.02, 0.04, 0.08))] == [True] * 3
    errors = capsys.readouterr().err
    assert "task 'test_a_task" in errors
    assert "raised ConnectionError: feed down (crash 1); restarting in 0.02s" in errors
    assert "every task crashed again after a 0.08s wait" in errors


def test_the_task_backoff_is_the_host_s():
    backoff = TaskBackoff(1, 300, 60)
    delays = [backoff.crashed(0) for _ in range(10)]
    assert delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300] and not backoff.exhausted
    assert backoff.crashed(0) == 300 and backoff.exhausted  # the 11th crash in a row
    assert backoff.crashed(60) == 1 and not backoff.exhausted  # a stable run starts again from 1 s


def test_a_bad_cron_or_a_refused_token_stops_before_anything_runs(host, capsys):
    worker, seen = Worker("w"), []

    @worker.on_startup
    async def hello(client):
        seen.append("startup")

    @worker.every(cron="61 * * * *")
    async def bad(client):
        pass

    assert run_with(host, worker, forever)[0] == 1 and seen == []
    assert "could not start: handler" in capsys.readouterr().err

    listener = Worker("w")

    @listener.on_event("desk.ping")
    async def ping(event, client):
        pass

    assert run_with(host, listener, forever, token="wrong")[0] == 1
    assert "the host refused the event stream: GET /api/runtime: 401 wrong bearer token" in capsys.readouterr().err


SCRIPT = """
    # /// script
    # requires-python = ">=3.11"
    # dependencies = []
    # ///
    import asyncio, time
    from botyard import Worker, current_run

    worker = Worker("w", shutdown_grace=0.5)

    @worker.on_startup
    async def hello(client):
        if {fail}:
            raise ValueError("no config")
        await client.state.set("started", True)

    @worker.on_event("desk.ping")
    async def ping(event, client):
        await client.publish("desk.pong", {{"ping": event.seq, "run": current_run().handler}})

    @worker.every(seconds=1)
    async def beat(client):
        await client.publish("desk.beat", {{"late": time.time() - current_run().scheduled_at}})

    @worker.task
    async def forever(client):
        await asyncio.Event().wait()

    @worker.on_shutdown
    async def bye(client):
        print("bye", flush=True)
        await client.publish("desk.bye", {{}})

    if __name__ == "__main__":
        worker.run()
"""


def start_script(host, tmp_path, fail=False):
    script = tmp_path / "worker.py"
    script.write_text(textwrap.dedent(SCRIPT.format(fail=fail)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTYARD_")}
    env.update(PYTHONPATH=SDK, BOTYARD_RUNTIME_URL=host.url, BOTYARD_RUNTIME_TOKEN="tok-w", BOTYARD_WORKER="w")
    return subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_a_worker_process_serves_events_and_schedules_and_stops_cleanly_on_sigterm(host, tmp_path):
    """A PEP 723 script, run by plain python3: the header is a comment."""
    process = start_script(host, tmp_path)
    try:
        host.wait_for(host.open_streams)
        ping = host.publish("desk.ping", {})
        host.wait_for(lambda: {"desk.pong", "desk.beat"} <= set(host.kinds_published()), timeout=5)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
    output = process.stdout.read().decode()
    assert "SIGTERM: stopping" in output and "bye" in output
    events = {event["kind"]: event for event in host.events}
    assert events["desk.pong"]["payload"] == {"ping": ping["seq"], "run": "ping"}
    assert 0 <= events["desk.beat"]["payload"]["late"] < 0.5
    assert "desk.bye" in events and events["desk.bye"]["source"] == "w"
    assert host.state["w"] == {"started": "true"}


def test_a_failing_on_startup_ends_the_process_with_status_1_without_on_shutdown(host, tmp_path):
    process = start_script(host, tmp_path, fail=True)
    try:
        assert process.wait(timeout=10) == 1
    finally:
        process.kill()
    output = process.stdout.read().decode()
    assert "ValueError: no config" in output and "on_shutdown does not run" in output
    assert "bye" not in output and host.kinds_published() == []
