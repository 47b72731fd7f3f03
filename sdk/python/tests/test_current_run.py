"""``botyard.current_run()``: the run executing in the current asyncio task, from the runner and the harness."""

import asyncio
import dataclasses

import pytest

from botyard import RunInfo, Worker, current_run
from botyard.testing import WorkerHarness

WORKER = """
import asyncio
from botyard import Worker, current_run

worker = Worker("probe")
gate = asyncio.Event()

def show(run):
    return "none" if run is None else f"{run.handler} {run.scheduled_at!r} {run.sent_at!r}"

@worker.every(seconds=1)
async def beat(client):
    client.log.info("beat " + show(current_run()))

@worker.on_event("desk.x")
async def on_x(event, client):
    await gate.wait()  # still running while a schedule's run starts and ends
    child = asyncio.get_running_loop().create_task(asyncio.sleep(0, current_run()))
    client.log.info("event " + show(current_run()) + " child " + show(await child))

@worker.task
async def release(client):
    gate.set()
"""

BEAT, ON_X, RELEASE = range(3)
EVENT = {"event_id": "e1", "seq": 1, "timestamp": 1795000000.5, "kind": "desk.x", "payload": {}, "source": "t"}


def test_each_run_sees_its_own_frame_fields(host):
    fake = host(WORKER)
    assert fake.start()["type"] == "ready"
    fake.send({"type": "run", "id": 1, "handler": ON_X, "event": EVENT, "timeout": None,
               "scheduled_at": None, "sent_at": 1795000001.25})
    fake.send({"type": "run", "id": 2, "handler": BEAT, "event": None, "timeout": 60,
               "scheduled_at": 1795000002, "sent_at": 1795000002.003})
    assert fake.until("done") == {"type": "done", "id": 2, "error": None}
    fake.send({"type": "run", "id": 3, "handler": RELEASE, "event": None, "timeout": None})  # an older host
    assert {fake.until("done")["id"], fake.until("done")["id"]} == {1, 3}
    assert fake.logs == [
        ("info", "beat beat 1795000002.0 1795000002.003"),
        ("info", "event on_x None 1795000001.25 child on_x None 1795000001.25"),  # a child task inherits it
    ]


@pytest.mark.parametrize("field, value", [("scheduled_at", "soon"), ("sent_at", True), ("scheduled_at", [1])])
def test_a_run_frame_with_a_bad_time_is_a_protocol_error(host, field, value):
    fake = host(WORKER)
    fake.start()
    fake.send({"type": "run", "id": 1, "handler": BEAT, "event": None, "timeout": None, field: value})
    done = fake.until("done")
    assert done["error"]["type"] == "ProtocolError" and field in done["error"]["message"]
    fake.send({"type": "run", "id": 2, "handler": BEAT, "event": None, "timeout": None, "scheduled_at": 5})
    assert fake.until("done")["error"] is None and fake.logs == [("info", "beat beat 5.0 None")]


def test_outside_a_run_there_is_none():
    assert current_run() is None
    info = RunInfo("beat", 1.0, 2.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.handler = "other"
    assert RunInfo("beat") == RunInfo("beat", None, None)


harness_worker = Worker("clock")
seen = []


@harness_worker.every(seconds=30)
async def half_minute(client):
    seen.append(current_run())


@harness_worker.on_event("desk.tick")
async def on_tick(event, client):
    await asyncio.sleep(5)
    seen.append(current_run())


@harness_worker.on_startup
async def hello(client):
    seen.append(current_run())


def test_the_harness_sets_it_with_fake_clock_slots():
    seen.clear()
    with WorkerHarness(harness_worker) as harness:
        harness.startup()
        assert harness.advance(65) == 2
        harness.emit("desk.tick")
        harness.fire("half_minute")
        harness.run_until(31)
        assert current_run() is None
    assert seen[0] == RunInfo("hello", None, 0.0)
    assert seen[1:3] == [RunInfo("half_minute", 30.0, 30.0), RunInfo("half_minute", 60.0, 60.0)]
    assert seen[3] == RunInfo("on_tick", None, 65.0)  # set when the run began, not changed by its sleep
    assert seen[4] == RunInfo("half_minute", None, 70.0)  # fire(): not a slot
    assert seen[5].handler == "hello" and seen[6] == RunInfo("half_minute", 90.0, 90.0)
