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


def publish(client, kind, payload=None):
    return asyncio.run(client.publish(kind, payload))


@pytest.mark.parametrize(
    "kind, message",
    [
        ("", "an event kind is 1 to 128 bytes"),
        ("k" * 129, "an event kind is 1 to 128 bytes"),
        ("é" * 65, "an event kind is 1 to 128 bytes"),  # 130 UTF-8 bytes: the length is checked first
        ("desk fill", "an event kind is printable ASCII without spaces, like desk.fill"),
        ("desk.fillé", "an event kind is printable ASCII without spaces, like desk.fill"),
        ("desk\tfill", "an event kind is printable ASCII without spaces, like desk.fill"),
        ("worker.state", "the 'worker.' prefix is reserved for the host; use your own, like desk.state"),
        ("session.created", "the 'session.' prefix is reserved for the host; use your own, like desk.created"),
        ("turn.x", "the 'turn.' prefix is reserved"),
        ("prompt.x", "the 'prompt.' prefix is reserved"),
        ("transport.x", "the 'transport.' prefix is reserved"),
        ("capabilities.x", "the 'capabilities.' prefix is reserved"),
        ("component.x", "the 'component.' prefix is reserved"),
        (7, "publish needs a 'kind'"),
    ],
)
def test_the_fake_client_refuses_kinds_the_host_refuses(kind, message):
    client = FakeClient()
    with pytest.raises(ValueError) as refused:
        publish(client, kind, {})
    assert str(refused.value).startswith(message)
    assert client.published == []


def test_the_fake_client_publishes_kinds_the_host_takes():
    client = FakeClient()
    for kind in ("notify", "desk.fill", "k" * 128, "workers.count", "capability.fills.seen", "a-b_c:d/e!"):
        publish(client, kind, {"n": 1})
    assert [kind for kind, _ in client.published][:2] == ["notify", "desk.fill"] and len(client.published) == 6


@pytest.mark.parametrize(
    "payload, message",
    [
        ([1, 2], "an event's payload is a JSON object (a dict), not list"),
        ("text", "an event's payload is a JSON object (a dict), not str"),
        ({"x": float("nan")}, "an event's payload is not JSON"),
        ({"x": float("inf")}, "an event's payload is not JSON"),
        ({"x": {1, 2}}, "an event's payload is not JSON"),
        ({"x": "x" * (256 * 1024)}, "the payload is 262152 bytes; the limit is 262144"),
        ({"x": "é" * (128 * 1024)}, "the payload is 262152 bytes; the limit is 262144"),  # UTF-8 bytes, not chars
    ],
)
def test_the_fake_client_refuses_payloads_the_host_refuses(payload, message):
    client = FakeClient()
    with pytest.raises(ValueError) as refused:
        publish(client, "desk.fill", payload)
    assert str(refused.value).startswith(message)
    assert client.published == []


def test_a_payload_of_exactly_256_kib_as_compact_json_is_taken():
    client = FakeClient()
    payload = {"x": "x" * (256 * 1024 - 8)}  # {"x":"…"} is 8 bytes around the text
    assert publish(client, "desk.big", payload) == 1
    assert publish(client, "desk.none") == 2 and client.published[-1] == ("desk.none", {})


def test_notify_is_checked_like_a_publish():
    client = FakeClient("desk")
    asyncio.run(client.notify("Morning", body="all quiet", severity="info"))
    assert client.notifications == [{"source": "desk", "title": "Morning", "body": "all quiet", "severity": "info"}]
    with pytest.raises(ValueError, match="the limit is 262144"):
        asyncio.run(client.notify("Huge", body="x" * (256 * 1024)))
    with pytest.raises(ValueError, match="notify title is a non-empty str"):
        asyncio.run(client.notify(""))
    assert len(client.notifications) == 1


def test_the_real_client_checks_the_same_before_sending():
    from botyard.client import RuntimeClient

    class Conn:
        calls = []

        async def call(self, method, params):
            self.calls.append((method, params))
            return {"event_id": "e1", "seq": 9}

    client = RuntimeClient(Conn(), "desk")
    refused = [("worker.state", {}), ("desk fill", {}), ("desk.fill", [1]), ("desk.fill", {"x": "x" * 2**18})]
    for kind, payload in refused:
        with pytest.raises(ValueError):
            asyncio.run(client.publish(kind, payload))
    assert Conn.calls == []
    assert asyncio.run(client.publish("desk.fill", {"qty": 1})) == 9
    assert asyncio.run(client.notify("Hi")) == 9
    assert Conn.calls[0] == ("events.publish", {"kind": "desk.fill", "payload": {"qty": 1}})
    assert Conn.calls[1][1]["kind"] == "notify"


def test_envelopes_may_carry_the_host_s_own_kinds():
    event = make_envelope("worker.state", {"worker": "sma", "from": "running", "to": "error", "reason": "boom"})
    assert event.kind == "worker.state" and event.payload["to"] == "error"
    with pytest.raises(ValueError, match="printable ASCII"):
        make_envelope("worker state")
