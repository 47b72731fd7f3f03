"""botyard.testing, used as a trader would: a worker, and plain pytest tests without asyncio."""

import asyncio

import pytest

from botyard import Worker
from botyard.testing import FakeClient, WorkerHarness, make_envelope

worker = Worker("fills")


@worker.on_startup
async def open_book(client):
    worker.state["calls"].append("open_book")
    await client.state.set("fills", 0)


@worker.on_startup
async def greet(client):
    worker.state["calls"].append("greet")
    client.log.info("ready")


@worker.on_shutdown
async def flush(client):
    worker.state["calls"].append("flush")


@worker.on_shutdown
async def close_book(client):
    worker.state["calls"].append("close_book")
    raise RuntimeError("book already closed")


@worker.on_event("order.filled")
async def count(event, client):
    total = await client.state.incr("fills", event.payload["qty"])
    await client.publish("fills.counted", {"total": total})


@worker.on_event("order.filled")
async def alert_big(event, client):
    if event.payload["qty"] > 10:
        await client.notify("Big fill", body=str(event.payload["qty"]), severity="warn")


@worker.on_event("order.rejected")
async def reject(event, client):
    raise ValueError(f"rejected: {event.payload['reason']}")


@worker.every(seconds=30)
async def heartbeat(client):
    worker.state["beats"].append(asyncio.get_running_loop().time())


@worker.every(minutes=2)
async def sweep(client):
    worker.state["sweeps"] += 1
    if worker.state["sweeps"] == 3:
        await client.restart_worker("bridge")


@worker.every(cron="0 9 * * 1-5")
async def morning(client):
    await client.publish("fills.morning")


@worker.task
async def watcher(client):
    while True:
        await asyncio.sleep(45)
        worker.state["watched"] += 1


@pytest.fixture
def harness():
    worker.state.clear()
    worker.state.update(calls=[], beats=[], sweeps=0, watched=0)
    with WorkerHarness(worker) as harness:
        yield harness


def test_startup_runs_in_order_and_shutdown_in_reverse(harness):
    assert harness.startup() == []
    assert harness.client.logs == [("info", "ready")]
    errors = harness.shutdown()
    assert [str(e) for e in errors] == ["book already closed"]
    assert worker.state["calls"] == ["open_book", "greet", "close_book", "flush"]


def test_every_handler_of_a_kind_fires(harness):
    harness.startup()
    assert harness.emit("order.filled", {"qty": 4}) == []
    assert harness.emit("order.filled", {"qty": 12}) == []
    assert harness.client.published == [("fills.counted", {"total": 4}), ("fills.counted", {"total": 16})]
    assert harness.client.notifications == [
        {"source": "fills", "title": "Big fill", "body": "12", "severity": "warn"}
    ]


def test_exceptions_are_returned_not_raised(harness):
    errors = harness.deliver(make_envelope("order.rejected", {"reason": "margin"}))
    assert len(errors) == 1 and isinstance(errors[0], ValueError) and str(errors[0]) == "rejected: margin"
    assert harness.errors == errors
    assert harness.emit("nobody.listens") == []


def test_advance_fires_each_fixed_rate_slot_once(harness):
    assert harness.advance(29) == 0
    assert harness.advance(1) == 1  # the first beat comes one interval after the start
    assert harness.advance(100) == 4  # beats at 60, 90 and 120, and the first sweep at 120
    assert worker.state["beats"] == [30.0, 60.0, 90.0, 120.0] and worker.state["sweeps"] == 1
    assert harness.now == 130


def test_advance_counts_every_schedule(harness):
    assert harness.advance(360) == 12 + 3
    assert worker.state["sweeps"] == 3 and harness.client.restarted == ["bridge"]


def test_fire_runs_a_cron_schedule_by_name(harness):
    assert harness.fire("morning") == []
    assert harness.fire(morning) == []
    assert harness.client.published == [("fills.morning", {}), ("fills.morning", {})]
    with pytest.raises(LookupError, match="no schedule or task 'evening'"):
        harness.fire("evening")


def test_run_until_runs_startup_tasks_schedules_then_shutdown(harness):
    errors = harness.run_until(610)
    assert [str(e) for e in errors] == ["book already closed"]
    assert len(worker.state["beats"]) == 20 and worker.state["sweeps"] == 5
    assert worker.state["watched"] == 13  # the task's own sleeps run on the fake clock too
    assert worker.state["calls"] == ["open_book", "greet", "close_book", "flush"]


def test_run_until_a_stop_event(harness):
    stop = asyncio.Event()
    harness.loop.call_at(95, stop.set)
    harness.run_until(stop)
    assert worker.state["beats"] == [30.0, 60.0, 90.0]


def test_the_fake_state_checks_like_the_real_one():
    client = FakeClient()
    with pytest.raises(ValueError, match="not JSON"):
        asyncio.run(client.state.set("k", {1, 2}))
    with pytest.raises(ValueError, match="the limit is 256"):
        asyncio.run(client.state.get("k" * 300))
    asyncio.run(client.state.set("price", 100.0))
    assert asyncio.run(client.state.get("price")) == 100.0 and client.state.data == {"price": "100.0"}
    assert asyncio.run(client.state.keys("p")) == ["price"] and asyncio.run(client.state.delete("price"))


def test_envelopes_have_fresh_ids_and_increasing_seqs():
    first, second = make_envelope("a"), make_envelope("a", {"x": 1}, source="host")
    assert first.event_id != second.event_id and second.seq > first.seq
    assert second.payload == {"x": 1} and second.source == "host" and make_envelope("a", seq=7).seq == 7
