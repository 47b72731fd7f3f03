"""Worker's decorators check everything at registration, and keep the registry the host is sent."""

import asyncio
import os
import subprocess
import sys

import pytest

from botyard import EventEnvelope, RuntimeClient, Worker
from botyard.client import AsyncState


REGISTRY = Worker("fills", max_concurrency=8)


@REGISTRY.on_startup
async def connect(client):
    pass


@REGISTRY.on_shutdown
async def close(client):
    pass


@REGISTRY.on_event("order.filled")
async def on_fill(event, client):
    pass


@REGISTRY.on_event("order.filled")
async def also(event, client):
    pass


@REGISTRY.every(minutes=5)
async def sweep(client):
    pass


@REGISTRY.every(seconds=1.5)
async def fast(client):
    pass


@REGISTRY.every(cron="0  9 * * 1-5")
async def morning(client):
    pass


@REGISTRY.task
async def reader(client):
    pass


@pytest.fixture
def worker():
    return Worker("fills")


def test_a_sync_handler_is_a_type_error_naming_it(worker):
    def foo(event, client):
        pass

    with pytest.raises(TypeError, match="on_event handler 'foo' must be async def"):
        worker.on_event("order.filled")(foo)
    decorators = ((worker.on_startup, "on_startup"), (worker.task, "task"), (worker.every(seconds=5), "every"))
    for decorate, kind in decorators:
        with pytest.raises(TypeError, match=f"{kind} handler 'foo' must be async def"):
            decorate(foo)
    assert worker.handlers() == []


@pytest.mark.parametrize(
    "schedule, got",
    [
        ({"seconds": 30, "minutes": 1}, "seconds= and minutes="),
        ({"minutes": 1, "cron": "* * * * *"}, "minutes= and cron="),
        ({}, "none"),
    ],
)
def test_every_takes_exactly_one_of_seconds_minutes_cron(worker, schedule, got):
    async def sweep(client):
        pass

    with pytest.raises(ValueError) as raised:
        worker.every(**schedule)(sweep)
    assert str(raised.value) == f"every handler 'sweep': give exactly one of seconds=, minutes=, cron= (got {got})"


@pytest.mark.parametrize(
    "schedule, field",
    [({"seconds": 0.5}, "seconds="), ({"seconds": float("nan")}, "seconds="), ({"seconds": True}, "seconds="),
     ({"minutes": 527041}, "minutes="), ({"cron": "0 9 * *"}, "cron="), ({"cron": 5}, "cron="),
     ({"cron": "0 9 * * *", "tz": "Mars/Olympus"}, "tz="), ({"cron": "0 9 * * *", "tz": ""}, "tz="),
     ({"seconds": 30, "tz": "UTC"}, "tz=")],
)
def test_bad_schedules_name_the_handler_and_the_field(worker, schedule, field):
    async def sweep(client):
        pass

    with pytest.raises(ValueError, match=f"every handler 'sweep': {field}"):
        worker.every(**schedule)(sweep)


def test_a_bad_event_kind_or_a_missing_schedule_is_caught(worker):
    async def f(client):
        pass

    with pytest.raises(ValueError, match="non-empty str"):
        worker.on_event("")
    with pytest.raises(TypeError, match=r'@worker.on_event\("order.filled"\)'):
        worker.on_event(f)
    with pytest.raises(TypeError, match=r"@worker.every\(seconds=30\)"):
        worker.every(f)


@pytest.mark.parametrize("name", ["Fills", "-fills", "fills_1", "", "a b", None])
def test_a_bad_worker_name_is_a_value_error_naming_it(name):
    with pytest.raises(ValueError, match=f"worker name {name!r}"):
        Worker(name)


@pytest.mark.parametrize("options", [{"max_concurrency": 0}, {"max_concurrency": 1025}, {"max_concurrency": 2.0},
                                     {"shutdown_grace": -1}, {"shutdown_grace": 61}, {"shutdown_grace": "5"}])
def test_limits_are_checked(options):
    with pytest.raises(ValueError):
        Worker("w", **options)


def test_the_registry_keeps_registration_order_and_converts_minutes():
    worker = REGISTRY
    assert worker.handlers() == [
        {"id": 0, "name": "connect", "kind": "startup"},
        {"id": 1, "name": "close", "kind": "shutdown"},
        {"id": 2, "name": "on_fill", "kind": "event", "event": "order.filled"},
        {"id": 3, "name": "also", "kind": "event", "event": "order.filled"},
        {"id": 4, "name": "sweep", "kind": "every", "seconds": 300},
        {"id": 5, "name": "fast", "kind": "every", "seconds": 1.5},
        {"id": 6, "name": "morning", "kind": "every", "cron": "0 9 * * 1-5", "tz": "UTC"},
        {"id": 7, "name": "reader", "kind": "task"},
    ]
    assert worker._event_handlers == {"order.filled": [on_fill, also]}
    assert worker.handler(4).function is sweep and worker.state == {}


def test_decorators_return_the_function_unchanged(worker):
    async def f(client):
        pass

    assert worker.on_startup(f) is f and worker.every(seconds=1)(f) is f and worker.task(f) is f


def test_an_envelope_comes_from_the_run_frame_json():
    envelope = EventEnvelope.from_json(
        {"event_id": "e1", "seq": 3, "timestamp": 1.5, "kind": "order.filled", "payload": {"qty": 1}, "source": "host"}
    )
    assert envelope == EventEnvelope("e1", 3, 1.5, "order.filled", {"qty": 1}, "host")
    with pytest.raises(ValueError, match="'seq'"):
        EventEnvelope.from_json({"event_id": "e1", "timestamp": 1.5, "kind": "k"})


def test_run_without_a_host_says_where_the_file_belongs(tmp_path):
    script = tmp_path / "bot.py"
    script.write_text(
        "from botyard import Worker\n"
        "worker = Worker('w')\n"
        "if __name__ == '__main__':\n"
        "    worker.run()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "BOTYARD_RUNTIME_URL"}
    env["PYTHONPATH"] = os.path.join(os.path.dirname(__file__), "..")
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "declare this file under code: in botyard.yaml" in done.stderr


def test_run_with_a_runtime_url_but_no_token_says_what_is_missing(tmp_path):
    script = tmp_path / "w.py"
    script.write_text("from botyard import Worker\nworker = Worker('w')\nworker.run()\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOTYARD_")}
    env.update(PYTHONPATH=os.path.join(os.path.dirname(__file__), ".."), BOTYARD_RUNTIME_URL="http://127.0.0.1:9")
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "needs BOTYARD_RUNTIME_TOKEN, BOTYARD_WORKER" in done.stderr


def test_run_does_nothing_under_the_host_s_code_runner(monkeypatch, worker):
    spec = type("Spec", (), {"name": "botyard.runner"})()
    monkeypatch.setattr(sys.modules["__main__"], "__spec__", spec, raising=False)
    monkeypatch.setenv("BOTYARD_RUNTIME_URL", "http://127.0.0.1:9")
    assert worker.run() is None


class Calls:
    def __init__(self):
        self.calls = []

    async def call(self, method, params):
        self.calls.append((method, params))
        return {"found": False, "json": None} if method == "state.get" else "3"


def test_the_client_state_makes_ctx_state_checks_before_sending():
    client = RuntimeClient(Calls(), "fills")
    assert isinstance(client.state, AsyncState)
    with pytest.raises(ValueError, match="257 bytes"):
        asyncio.run(client.state.set("k" * 257, 1))
    with pytest.raises(ValueError, match="not JSON"):
        asyncio.run(client.state.set("k", object()))
    with pytest.raises(ValueError, match="an event kind is 1 to 128 bytes"):
        asyncio.run(client.publish("", {}))
    with pytest.raises(ValueError, match="'worker.' prefix is reserved for the host"):
        asyncio.run(client.publish("worker.state", {}))
    with pytest.raises(ValueError, match="the limit is 262144"):
        asyncio.run(client.notify("big", body="x" * 262144))
    with pytest.raises(ValueError, match="not JSON"):
        asyncio.run(client.publish("fills.seen", {"x": float("nan")}))
    assert asyncio.run(client.state.get("missing", 5)) == 5
    assert asyncio.run(client.state.incr("n")) == 3
    assert client.state._conn.calls == [("state.get", {"key": "missing"}), ("state.incr", {"key": "n", "by": 1})]
