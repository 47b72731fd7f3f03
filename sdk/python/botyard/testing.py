"""Drive a ``botyard.Worker`` without a host, from plain (synchronous) pytest.

::

    from botyard.testing import WorkerHarness
    from strategy import worker

    def test_a_fill_is_counted():
        with WorkerHarness(worker) as harness:
            harness.startup()
            assert harness.emit("order.filled", {"qty": 2}) == []
            assert harness.client.published == [("fills.counted", {"total": 2})]

``FakeClient`` records what handlers do (``published``, ``notifications``, ``restarted``, ``logs``) and
keeps ``state`` in memory with the real checks. The harness has a clock of its own: ``advance(seconds)``
fires the ``every(seconds=|minutes=)`` schedules for the slots that pass, and ``asyncio.sleep`` inside
handlers takes no real time. ``current_run()`` in a handler gives fake-clock times (a schedule's slot).
"""

import asyncio
import itertools
import json
import math
import selectors
import time
import uuid

from .client import event_kind, event_payload, notify_payload, publish_params, worker_name
from .context import Response, incr_amount, post_body, state_json, state_key, state_value
from .worker import EventEnvelope, RunInfo, reset_current_run, set_current_run

# How long the harness waits for real (a thread's result) when nothing is scheduled, before it gives up.
REAL_WAIT_SECONDS = 30.0
# How often run_until looks at a stop flag that cannot be awaited (a threading.Event), in fake seconds.
POLL_SECONDS = 1.0

_seqs = itertools.count(1)


def make_envelope(kind, payload=None, source="test", seq=None):
    """An ``EventEnvelope`` as the host would deliver it: a fresh ``event_id``, an increasing ``seq``.

    Any valid kind, the host's own included (``make_envelope("worker.state", {...})``).
    """
    return EventEnvelope(
        event_id=uuid.uuid4().hex,
        seq=next(_seqs) if seq is None else seq,
        timestamp=time.time(),
        kind=event_kind(kind, publishing=False),
        payload=json.loads(json.dumps(event_payload(payload))),
        source=source,
    )


class FakeState:
    """``client.state`` in memory: the same async methods and checks; values kept as JSON text."""

    def __init__(self):
        self.data = {}

    async def get(self, key, default=None):
        key = state_key(key)
        return state_value({"found": key in self.data, "json": self.data.get(key)}, default)

    async def set(self, key, value):
        key = state_key(key)
        self.data[key] = state_json(key, value)

    async def delete(self, key):
        return self.data.pop(state_key(key), None) is not None

    async def keys(self, prefix=""):
        return sorted(key for key in self.data if key.startswith(prefix))

    async def incr(self, key, by=1):
        by = incr_amount(by)
        key = state_key(key)
        current = json.loads(self.data.get(key, "0"))
        if isinstance(current, bool) or not isinstance(current, (int, float)):
            raise ValueError(f"state value for {key!r} is not a number")
        self.data[key] = state_json(key, current + by)
        return json.loads(self.data[key])

    def as_dict(self):
        """Every key and its value (for assertions)."""
        return {key: json.loads(text) for key, text in self.data.items()}


class FakeLog:
    """``client.log``: appends (level, message) to the client's ``logs``."""

    def __init__(self, logs):
        self._logs = logs

    def debug(self, message):
        self._logs.append(("debug", str(message)))

    def info(self, message):
        self._logs.append(("info", str(message)))

    def warn(self, message):
        self._logs.append(("warn", str(message)))

    warning = warn

    def error(self, message):
        self._logs.append(("error", str(message)))


class FakeHttp:
    """``client.http``: answers from ``route(url, ...)``; records ``requests`` as (method, url, body)."""

    def __init__(self):
        self.requests = []
        self._routes = {}

    def route(self, url, status=200, text="", json=None, headers=None, method="GET"):
        """What a request to ``url`` answers (``json=`` is sent as its JSON text)."""
        if json is not None:
            import json as _json

            text = _json.dumps(json)
        self._routes[(method.upper(), url)] = Response(status, dict(headers or {}), text)

    def _answer(self, method, url, body):
        self.requests.append((method, url, body))
        answer = self._routes.get((method, url))
        if answer is None:
            raise ConnectionError(f"FakeClient has no answer for {method} {url}; add one with client.http.route()")
        return answer

    async def get(self, url, params=None, headers=None, timeout=10):
        return self._answer("GET", url, None)

    async def post(self, url, json=None, data=None, headers=None, timeout=10):
        return self._answer("POST", url, post_body(json, data, headers)[0])


class FakeClient:
    """A ``RuntimeClient`` that records everything instead of talking to a host.

    ``publish`` and ``notify`` refuse what the host refuses, with its message (``botyard.client.publish_params``):
    a kind of 1 to 128 printable ASCII bytes outside the host's prefixes (``worker.``, ``session.``, ...), and a
    payload that is a JSON dict of at most 256 KiB. ``notify`` events go to ``notifications``, not ``published``.
    """

    def __init__(self, worker_name="test"):
        self.worker_name = worker_name
        self.published = []  # (kind, payload)
        self.notifications = []  # {source, title, body, severity}
        self.restarted = []  # worker names
        self.logs = []  # (level, message)
        self.state = FakeState()
        self.log = FakeLog(self.logs)
        self.http = FakeHttp()
        self._seq = 0

    async def publish(self, kind, payload=None):
        params = publish_params(kind, payload)
        self.published.append((params["kind"], json.loads(json.dumps(params["payload"]))))
        return self._next_seq()

    async def notify(self, title, body="", severity="info"):
        params = publish_params("notify", notify_payload(self.worker_name, title, body, severity))
        self.notifications.append(params["payload"])
        return self._next_seq()

    async def restart_worker(self, name):
        self.restarted.append(worker_name(name))

    def _next_seq(self):
        self._seq += 1
        return self._seq


class _Clock:
    now = 0.0


class _JumpingSelector(selectors.DefaultSelector):
    """Instead of waiting for the next timer, moves the clock to it (real file descriptors still work)."""

    def __init__(self, clock):
        super().__init__()
        self._clock = clock

    def select(self, timeout=None):
        ready = super().select(0)
        if ready or (timeout is not None and timeout <= 0):
            return ready
        if timeout is None:  # nothing scheduled: only another thread can wake the loop
            ready = super().select(REAL_WAIT_SECONDS)
            if not ready:
                raise RuntimeError("WorkerHarness: the worker waits for something that never comes (a stop event?)")
            return ready
        self._clock.now += timeout
        return []


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock starts at 0 and jumps ahead whenever it would wait."""

    def __init__(self):
        self._clock = _Clock()
        super().__init__(_JumpingSelector(self._clock))

    def time(self):
        return self._clock.now

    def jump_to(self, when):
        """Moves the clock to ``when`` (never back)."""
        self._clock.now = max(self._clock.now, when)


class WorkerHarness:
    """Runs a worker's handlers on a loop and a fake clock of its own; ``errors`` collects every exception."""

    def __init__(self, worker, client=None):
        self.worker = worker
        self.client = client if client is not None else FakeClient(worker.name)
        self.loop = VirtualClockLoop()
        self.errors = []
        self._due = {h.id: h.seconds for h in worker.handlers_of("every") if h.seconds is not None}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def now(self):
        """Fake seconds since the harness started."""
        return self.loop.time()

    def startup(self):
        """Runs the on_startup handlers in order, stopping at the first that raises; returns its exception."""
        return self._run(self._startup())

    def emit(self, kind, payload=None):
        """Delivers a new event of ``kind`` to every handler of that kind; returns their exceptions."""
        return self.deliver(make_envelope(kind, payload))

    def deliver(self, envelope):
        """Runs every handler of the envelope's kind (concurrently, as the host does); returns their exceptions."""
        handlers = [h for h in self.worker.handlers_of("event") if h.event == envelope.kind]
        return self._run(self._together(handlers, envelope, self.client))

    def advance(self, seconds):
        """Moves the clock; fires each seconds/minutes schedule once per slot passed. Returns the runs made."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds < math.inf:
            raise ValueError(f"advance() takes a number of seconds >= 0, not {seconds!r}")
        return self.loop.run_until_complete(self._advance(self.now + seconds))

    def fire(self, name):
        """Runs the schedule or task handler ``name`` (a name or the function) once; returns its exceptions."""
        handlers = [h for h in self.worker.handlers_of("every") + self.worker.handlers_of("task") if _named(h, name)]
        if not handlers:
            known = [h.name for h in self.worker.handlers_of("every") + self.worker.handlers_of("task")]
            raise LookupError(f"worker {self.worker.name!r} has no schedule or task {name!r} (it has {known})")
        return self._run(self._in_order(handlers, stop_at_error=False))

    def shutdown(self):
        """Runs the on_shutdown handlers in reverse order (all of them); returns their exceptions."""
        return self._run(self._shutdown())

    def run_until(self, stop):
        """Startup, then tasks and schedules on the fake clock until ``stop``, then shutdown.

        ``stop`` is a number of fake seconds, an ``asyncio.Event`` or anything with ``is_set()``.
        Returns the exceptions raised meanwhile; when a startup handler fails, nothing else runs.
        """
        before = len(self.errors)
        self.loop.run_until_complete(self._run_until(stop))
        return self.errors[before:]

    def close(self):
        if not self.loop.is_closed():
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def _run(self, coroutine):
        errors = self.loop.run_until_complete(coroutine)
        self.errors.extend(errors)
        return errors

    async def _startup(self):
        return await self._in_order(self.worker.handlers_of("startup"), stop_at_error=True)

    async def _shutdown(self):
        return await self._in_order(list(reversed(self.worker.handlers_of("shutdown"))), stop_at_error=False)

    async def _in_order(self, handlers, stop_at_error):
        errors = []
        for handler in handlers:
            error = await _call(handler, self.client)
            if error is not None:
                errors.append(error)
                if stop_at_error:
                    break
        return errors

    async def _together(self, handlers, *args):
        results = await asyncio.gather(*(_call(handler, *args) for handler in handlers))
        return [error for error in results if error is not None]

    async def _advance(self, target):
        runs = 0
        while self._due and min(self._due.values()) <= target:
            due, handler_id = min((due, handler_id) for handler_id, due in self._due.items())
            handler = self.worker.handler(handler_id)
            self._due[handler.id] = due + handler.seconds
            self.loop.jump_to(due)
            self._record(await _call(handler, self.client, slot=due))
            runs += 1
        self.loop.jump_to(target)
        return runs

    async def _run_until(self, stop):
        errors = await self._startup()
        self.errors.extend(errors)
        if errors:
            return
        loop = asyncio.get_running_loop()
        background = [loop.create_task(self._supervise(h)) for h in self.worker.handlers_of("task")]
        background += [loop.create_task(self._schedule(self.worker.handler(hid))) for hid in self._due]
        try:
            await _wait(stop)
        finally:
            for future in background:
                future.cancel()
            await asyncio.gather(*background, return_exceptions=True)
        self.errors.extend(await self._shutdown())

    async def _schedule(self, handler):
        """Fixed rate: one run per slot, the first one interval after the harness started."""
        while True:
            due = self._due[handler.id]
            await asyncio.sleep(max(0.0, due - self.now))
            self._due[handler.id] = due + handler.seconds
            self._record(await _call(handler, self.client, slot=due))

    async def _supervise(self, handler):
        """Keeps a task running: restarts it 1 s after it ends, doubling to 5 min; 60 s of run resets that."""
        delay = 1.0
        while True:
            began = self.now
            self._record(await _call(handler, self.client))
            if self.now - began >= 60:
                delay = 1.0
            await asyncio.sleep(delay)
            delay = min(delay * 2, 300.0)

    def _record(self, error):
        if error is not None:
            self.errors.append(error)


async def _call(handler, *args, slot=None):
    """Runs a handler as one run (``current_run()``: its name, ``slot`` on the fake clock); returns its exception."""
    token = set_current_run(RunInfo(handler.name, slot, asyncio.get_running_loop().time()))
    try:
        await handler.function(*args)
    except (SystemExit, KeyboardInterrupt):
        raise
    except asyncio.CancelledError as error:
        if asyncio.current_task().cancelling():
            raise  # the harness is stopping this handler
        return error  # the handler raised it itself
    except BaseException as error:
        return error
    finally:
        reset_current_run(token)
    return None


async def _wait(stop):
    """Waits (on the fake clock) for a number of seconds, an asyncio.Event, or a flag with is_set()."""
    if isinstance(stop, (int, float)) and not isinstance(stop, bool):
        await asyncio.sleep(stop)
    elif isinstance(stop, asyncio.Event):
        await stop.wait()
    elif callable(getattr(stop, "is_set", None)):
        while not stop.is_set():
            await asyncio.sleep(POLL_SECONDS)
    else:
        raise TypeError(f"run_until() takes seconds, an asyncio.Event or a flag with is_set(), not {stop!r}")


def _named(handler, name):
    if callable(name):
        return handler.function is name
    return name in (handler.name, handler.function.__name__)
