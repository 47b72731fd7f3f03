"""Event mode: the runner with a botyard.Worker, against a host played by the test (see conftest.py)."""

import json
import time

WORKER = """
import asyncio
from botyard import Worker

worker = Worker("fills", max_concurrency=4, shutdown_grace=2)

@worker.on_startup
async def connect(client):
    client.log.info("connected")

@worker.on_shutdown
async def close(client):
    pass

@worker.on_event("order.filled")
async def on_fill(event, client):
    await client.state.set(event.payload["key"], event.seq)

@worker.every(minutes=0.5)
async def beat(client):
    raise KeyError("price")

@worker.every(cron="0 9 * * 1-5", tz="Europe/London")
async def morning(client):
    await client.publish("capability.fills.morning", {"n": 1})

@worker.task
async def waiter(client):
    value = await client.state.get("slow")
    client.log.info(f"got {value}")

@worker.task
async def forever(client):
    while True:
        await asyncio.sleep(10)

@worker.task
async def stubborn(client):
    while True:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            pass

@worker.task
async def messenger(client):
    seq = await client.publish("capability.fills.seen", {"count": 2})
    await client.notify("Filled", body="BTCUSDT", severity="warn")
    await client.restart_worker("bridge")
    total = await client.state.incr("fills", 2)
    client.log.info(f"seq {seq} total {total}")
    try:
        await client.state.get("refused")
    except ValueError as error:
        client.log.warn(f"refused: {error}")
"""

CONNECT, CLOSE, ON_FILL, BEAT, MORNING, WAITER, FOREVER, STUBBORN, MESSENGER = range(9)


def envelope(seq, key):
    return {"event_id": f"e{seq}", "seq": seq, "timestamp": 1795000000.5, "kind": "order.filled",
            "payload": {"key": key}, "source": "test"}


def run(fake, run_id, handler, event=None, timeout=None):
    fake.send({"type": "run", "id": run_id, "handler": handler, "event": event, "timeout": timeout})


def started(host):
    fake = host(WORKER)
    assert fake.start()["type"] == "ready"
    return fake


def exits_within(fake, seconds):
    fake.process.wait(timeout=seconds)
    return fake.process.returncode


def test_ready_lists_the_worker_and_its_handlers(host):
    ready = host(WORKER).start()
    assert ready["mode"] == "event" and ready["v"] == 1 and ready["runtime"].startswith("python/")
    assert ready["worker"] == {"name": "fills", "max_concurrency": 4, "shutdown_grace": 2.0}
    assert ready["handlers"][:5] == [
        {"id": 0, "name": "connect", "kind": "startup"},
        {"id": 1, "name": "close", "kind": "shutdown"},
        {"id": 2, "name": "on_fill", "kind": "event", "event": "order.filled"},
        {"id": 3, "name": "beat", "kind": "every", "seconds": 30},
        {"id": 4, "name": "morning", "kind": "every", "cron": "0 9 * * 1-5", "tz": "Europe/London"},
    ]
    assert [h["name"] for h in ready["handlers"][5:]] == ["waiter", "forever", "stubborn", "messenger"]
    assert {h["kind"] for h in ready["handlers"][5:]} == {"task"}


def test_concurrent_runs_complete_while_another_waits_and_results_arrive_out_of_order(host):
    fake = started(host)
    run(fake, 1, WAITER)
    slow = fake.recv()
    assert slow["type"] == "call" and slow["params"] == {"key": "slow"}
    run(fake, 2, ON_FILL, envelope(7, "a"))
    run(fake, 3, ON_FILL, envelope(8, "b"))
    first, second = fake.recv(), fake.recv()
    assert {first["params"]["key"], second["params"]["key"]} == {"a", "b"}
    assert len({slow["id"], first["id"], second["id"]}) == 3
    fake.reply(second, None)
    fake.reply(first, None)
    dones = [fake.recv(), fake.recv()]
    assert {d["id"] for d in dones} == {2, 3} and all(d["error"] is None for d in dones)
    fake.send({"type": "result", "id": 999, "ok": True, "value": None})  # nobody waits: ignored
    fake.reply(slow, {"found": True, "json": "42"})
    assert fake.until("done") == {"type": "done", "id": 1, "error": None}
    assert fake.logs == [("info", "got 42")]


def test_cancel_reports_cancelled(host):
    fake = started(host)
    run(fake, 1, FOREVER)
    fake.send({"type": "cancel", "id": 77})  # unknown: ignored
    fake.send({"type": "cancel", "id": 1})
    assert fake.until("done") == {"type": "done", "id": 1, "error": None, "cancelled": True}


def test_a_run_past_its_timeout_reports_timeout_error_with_where_it_was(host):
    fake = started(host)
    began = time.monotonic()
    run(fake, 5, FOREVER, timeout=0.3)
    done = fake.until("done")
    assert time.monotonic() - began < 3
    assert done["id"] == 5 and "cancelled" not in done
    assert done["error"]["type"] == "TimeoutError"
    assert done["error"]["message"] == "handler 'forever' ran past its 0.3s timeout"
    assert "await asyncio.sleep(10)" in done["error"]["traceback"]
    assert "event_runner.py" not in done["error"]["traceback"]


def test_an_exception_is_reported_and_the_runner_keeps_serving(host):
    fake = started(host)
    run(fake, 1, BEAT)
    done = fake.until("done")
    assert done["error"]["type"] == "KeyError" and done["error"]["message"] == "'price'"
    assert 'raise KeyError("price")' in done["error"]["traceback"]
    assert "event_runner.py" not in done["error"]["traceback"]
    run(fake, 2, CONNECT)
    assert fake.until("done") == {"type": "done", "id": 2, "error": None}
    assert fake.logs == [("info", "connected")]


def test_a_bad_run_is_a_protocol_error_not_the_end(host):
    fake = started(host)
    run(fake, 1, 42)
    assert fake.until("done")["error"]["type"] == "ProtocolError"
    run(fake, 2, ON_FILL)  # an event handler without an event
    assert fake.until("done")["error"]["type"] == "ProtocolError"
    fake.send({"type": "from-a-newer-host"})
    run(fake, 3, CLOSE)
    assert fake.until("done") == {"type": "done", "id": 3, "error": None}


def test_client_calls_send_the_right_frames(host):
    fake = started(host)
    fake.send({"type": "run", "id": 1, "handler": MESSENGER, "event": None, "timeout": 5})
    while True:
        frame = fake.recv()
        if frame["type"] == "call" and frame["params"] == {"key": "refused"}:
            fake.send({"type": "result", "id": frame["id"], "ok": False,
                       "error": {"type": "ValueError", "message": "no such thing"}})
        elif frame["type"] == "call":
            fake.reply(frame, fake.answer(frame))
        elif frame["type"] == "log":
            fake.logs.append((frame["level"], frame["message"]))
        else:
            break
    assert frame == {"type": "done", "id": 1, "error": None}
    assert fake.calls == [
        ("events.publish", {"kind": "capability.fills.seen", "payload": {"count": 2}}),
        ("events.publish", {"kind": "notify", "payload": {"source": "fills", "title": "Filled", "body": "BTCUSDT",
                                                          "severity": "warn"}}),
        ("workers.restart", {"name": "bridge"}),
        ("state.incr", {"key": "fills", "by": 2}),
    ]
    assert fake.logs == [("info", "seq 101 total 2"), ("warn", "refused: no such thing")]


def test_shutdown_exits_0_at_once_even_with_tasks_that_run_forever(host):
    fake = started(host)
    run(fake, 1, FOREVER)
    run(fake, 2, STUBBORN)
    run(fake, 3, WAITER)  # waits on a call the host never answers
    assert fake.recv()["type"] == "call"
    began = time.monotonic()
    fake.send({"type": "shutdown"})
    assert exits_within(fake, 5) == 0
    assert time.monotonic() - began < 2


def test_the_end_of_the_stream_is_a_shutdown(host):
    fake = started(host)
    run(fake, 1, FOREVER)
    fake.sock.shutdown(2)
    assert exits_within(fake, 5) == 0


def test_a_malformed_line_ends_the_runner_with_status_1(host):
    fake = started(host)
    fake.sock.sendall(b"{not json\n")
    assert exits_within(fake, 5) == 1
    assert "malformed frame" in fake.output()


def test_frames_sent_right_after_init_are_not_lost(host):
    fake = host(WORKER)
    frames = (fake.init_frame(), {"type": "run", "id": 1, "handler": CONNECT, "event": None})
    fake.sock.sendall(b"".join(json.dumps(frame).encode() + b"\n" for frame in frames))  # in one write
    assert fake.recv()["type"] == "ready"
    assert fake.until("done") == {"type": "done", "id": 1, "error": None}


def test_two_workers_in_one_file_is_a_fatal_load_error(host):
    fatal = host("from botyard import Worker\na = Worker('alpha')\nb = Worker('beta')\n").start()
    assert fatal["type"] == "fatal" and fatal["error"]["type"] == "LoadError"
    assert "a (Worker 'alpha')" in fatal["error"]["message"] and "b (Worker 'beta')" in fatal["error"]["message"]


def test_a_file_with_neither_tick_nor_worker_says_so(host):
    fatal = host("x = 1\n").start()
    assert fatal["error"]["message"].endswith("defines no tick(ctx) function and no botyard.Worker")


def test_prints_go_to_the_output_pipe_and_the_main_guard_does_not_fire(host):
    fake = host("""
        from botyard import Worker
        worker = Worker("printer")

        @worker.on_startup
        async def hello(client):
            print("hello from a handler")

        if __name__ == "__main__":
            worker.run()
    """)
    fake.start()
    run(fake, 1, 0)
    assert fake.until("done")["error"] is None
    fake.send({"type": "shutdown"})
    assert exits_within(fake, 5) == 0
    assert "hello from a handler" in fake.output()
