"""``botyard.Worker``: an event worker: handlers for events, schedules and long-running tasks.

A file under ``code:`` in botyard.yaml that defines one module-level ``Worker`` runs in event mode:
the host delivers the events, keeps the schedules, supervises the tasks and asks the runner to run
each handler (docs/protocol.md, "Event mode"). Every handler is an ``async def``::

    worker = Worker("notifier")

    @worker.on_event("order.filled")
    async def on_fill(event, client):
        await client.notify(title=f"Filled: {event.payload['symbol']}")
"""

import contextvars
import inspect
import math
import numbers
import os
import re
import sys
import zoneinfo
from dataclasses import dataclass

from .cron import MACROS

NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MAX_CONCURRENCY = 1024
MAX_SHUTDOWN_GRACE = 60.0
MAX_INTERVAL_SECONDS = 31_622_400  # 366 days
DEFAULT_TZ = "UTC"


@dataclass(frozen=True)
class EventEnvelope:
    """One event as the host delivers it: ``kind`` and ``payload``, with the host's id, seq and time.

    ``session_id`` is the session it was published to (``POST /api/sessions/{id}/events``), else None.
    """

    event_id: str
    seq: int
    timestamp: float
    kind: str
    payload: dict
    source: str
    session_id: str | None = None

    @classmethod
    def from_json(cls, data):
        """The envelope of a ``run`` frame's ``event`` object; ValueError when it is not one."""
        if not isinstance(data, dict):
            raise ValueError(f"an event envelope is a JSON object, not {type(data).__name__}")
        payload = data.get("payload", {})
        if not isinstance(payload, dict):
            raise ValueError(f"an event's payload is a JSON object, not {type(payload).__name__}")
        try:
            return cls(
                event_id=str(data["event_id"]),
                seq=int(data["seq"]),
                timestamp=float(data["timestamp"]),
                kind=str(data["kind"]),
                payload=payload,
                source=str(data.get("source", "")),
                session_id=None if data.get("session_id") is None else str(data["session_id"]),
            )
        except KeyError as missing:
            raise ValueError(f"an event envelope has no {missing.args[0]!r}") from None
        except (TypeError, ValueError) as error:
            raise ValueError(f"a malformed event envelope: {error}") from None


@dataclass(frozen=True)
class RunInfo:
    """The run executing in the current asyncio task, as ``current_run()`` returns it.

    ``handler`` is the handler's name; ``scheduled_at`` is the Unix time of a schedule's slot (None for
    events, tasks, startup and shutdown); ``sent_at`` is when the host sent the run (None from an older host).
    How late a schedule ran: ``time.time() - current_run().scheduled_at``.
    """

    handler: str
    scheduled_at: float | None = None
    sent_at: float | None = None


_current_run = contextvars.ContextVar("botyard_current_run", default=None)


def current_run():
    """The ``RunInfo`` of the run executing in the current asyncio task; None outside a run."""
    return _current_run.get()


def set_current_run(info):
    """Makes ``info`` the current run of this context (the runner and the harness); returns the reset token."""
    return _current_run.set(info)


def reset_current_run(token):
    _current_run.reset(token)


@dataclass(frozen=True)
class Handler:
    """One registered handler: its id (registration order), kind, function and trigger."""

    id: int
    kind: str
    function: object
    event: str = None
    seconds: float = None
    cron: str = None
    tz: str = None

    @property
    def name(self):
        return self.function.__qualname__

    def to_json(self):
        """The handler as the ``ready`` frame lists it."""
        entry = {"id": self.id, "name": self.name, "kind": self.kind}
        for field in ("event", "seconds", "cron", "tz"):
            value = getattr(self, field)
            if value is not None:
                entry[field] = value
        return entry


class Worker:
    """A worker's handlers, registered with its five decorators; ``state`` is a plain dict."""

    def __init__(self, name, max_concurrency=16, shutdown_grace=5.0):
        self.name = _worker_name(name)
        self.max_concurrency = _concurrency(max_concurrency)
        self.shutdown_grace = _grace(shutdown_grace)
        self.state = {}
        self._handlers = []
        self._event_handlers = {}

    def __repr__(self):
        return f"<Worker {self.name} handlers={len(self._handlers)}>"

    def on_startup(self, function):
        """``@worker.on_startup``: ``async def f(client)``, run once before anything else."""
        self._add("startup", "on_startup", function)
        return function

    def on_shutdown(self, function):
        """``@worker.on_shutdown``: ``async def f(client)``, run once on stop, in reverse order."""
        self._add("shutdown", "on_shutdown", function)
        return function

    def task(self, function):
        """``@worker.task``: ``async def f(client)``, kept running for the worker's lifetime."""
        self._add("task", "task", function)
        return function

    def on_event(self, kind):
        """``@worker.on_event(kind)``: ``async def f(event, client)`` for every event of that kind."""
        if callable(kind):
            raise TypeError('@worker.on_event needs the event kind: @worker.on_event("order.filled")')
        if not isinstance(kind, str) or not kind:
            raise ValueError(f"on_event needs an event kind, a non-empty str, not {kind!r}")

        def decorate(function):
            self._add("event", "on_event", function, event=kind)
            self._event_handlers.setdefault(kind, []).append(function)
            return function

        return decorate

    def every(self, seconds=None, minutes=None, cron=None, tz=None):
        """``@worker.every(seconds=|minutes=|cron=, tz=)``: ``async def f(client)`` on a schedule."""
        if callable(seconds):
            raise TypeError("@worker.every needs a schedule: @worker.every(seconds=30)")

        def decorate(function):
            _check_async("every", function)
            self._add("every", "every", function, **_schedule(function.__name__, seconds, minutes, cron, tz))
            return function

        return decorate

    def _add(self, kind, decorator, function, **trigger):
        _check_async(decorator, function)
        handler = Handler(len(self._handlers), kind, function, **trigger)
        self._handlers.append(handler)
        return handler

    def handlers(self):
        """The registry as the ``ready`` frame sends it: ids 0.. in registration order."""
        return [handler.to_json() for handler in self._handlers]

    def handlers_of(self, kind):
        """The registered ``Handler`` records of one kind, in registration order."""
        return [handler for handler in self._handlers if handler.kind == kind]

    def handler(self, handler_id):
        """The ``Handler`` with this id; LookupError when there is none."""
        if isinstance(handler_id, bool) or not isinstance(handler_id, int) or not 0 <= handler_id < len(self._handlers):
            raise LookupError(f"worker {self.name!r} has no handler {handler_id!r}")
        return self._handlers[handler_id]

    def run(self):
        """The bootstrap of ``if __name__ == "__main__": worker.run()``.

        Under ``code:`` the host imports the file as module ``strategy`` and drives the handlers itself: there
        this does nothing. Run as a program (``command:`` in botyard.yaml, or by hand) it runs the worker itself
        against the host's runtime API, as ``BOTYARD_RUNTIME_URL``, ``BOTYARD_RUNTIME_TOKEN`` and
        ``BOTYARD_WORKER`` say (``botyard.standalone``), and ends the process when the worker stops.
        """
        if _under_event_runner():
            return
        if not os.environ.get("BOTYARD_RUNTIME_URL"):
            print(
                "worker.run(): no BOTYARD_RUNTIME_URL; declare this file under code: in botyard.yaml "
                "(the host drives it), or run it under command: (the host sets BOTYARD_RUNTIME_URL, "
                "BOTYARD_RUNTIME_TOKEN and BOTYARD_WORKER); by hand, set those three (with the admin token)",
                file=sys.stderr,
            )
            raise SystemExit(2)
        from .standalone import main

        main(self)


def _under_event_runner():
    """Whether this process is the host's ``python -m botyard.runner`` (``code:``)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return getattr(spec, "name", None) == "botyard.runner"


def _check_async(decorator, function):
    if not inspect.iscoroutinefunction(function):
        name = getattr(function, "__name__", repr(function))
        raise TypeError(f"{decorator} handler {name!r} must be async def")


def _worker_name(name):
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError(
            f"worker name {name!r} is not valid: use lower-case letters, digits and '-', "
            "starting with a letter or digit"
        )
    return name


def _concurrency(value):
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONCURRENCY:
        raise ValueError(f"max_concurrency is an int from 1 to {MAX_CONCURRENCY}, not {value!r}")
    return value


def _grace(value):
    if _finite(value) is None or not 0 <= value <= MAX_SHUTDOWN_GRACE:
        raise ValueError(f"shutdown_grace is a number of seconds from 0 to 60, not {value!r}")
    return float(value)


def _finite(value):
    """``value`` as a finite float, or None when it is not a finite real number (bools are not)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        value = float(value)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def _schedule(name, seconds, minutes, cron, tz):
    """An ``every`` handler's trigger fields: ``seconds``, or ``cron`` and ``tz``."""
    fields = (("seconds", seconds), ("minutes", minutes), ("cron", cron))
    given = [field for field, value in fields if value is not None]
    if len(given) != 1:
        got = " and ".join(f"{field}=" for field in given) or "none"
        raise ValueError(f"every handler {name!r}: give exactly one of seconds=, minutes=, cron= (got {got})")
    if cron is not None:
        return {"cron": _cron(name, cron), "tz": _tz(name, DEFAULT_TZ if tz is None else tz)}
    if tz is not None:
        raise ValueError(f"every handler {name!r}: tz= goes with cron= only")
    if seconds is not None:
        return {"seconds": _interval(name, "seconds", seconds, 1)}
    return {"seconds": _interval(name, "minutes", minutes, 60)}


def _interval(name, field, value, unit):
    number = _finite(value)
    if number is None:
        raise ValueError(f"every handler {name!r}: {field}= is a finite number, not {value!r}")
    seconds = number * unit
    if not 1 <= seconds <= MAX_INTERVAL_SECONDS:
        raise ValueError(
            f"every handler {name!r}: {field}={value!r} is {seconds:g} seconds; "
            f"an interval is 1 to {MAX_INTERVAL_SECONDS} seconds (366 days)"
        )
    return int(seconds) if seconds.is_integer() else seconds


def _cron(name, cron):
    if isinstance(cron, str) and cron.strip().lower() in MACROS:
        return cron.strip()
    if not isinstance(cron, str) or len(cron.split()) != 5:
        raise ValueError(
            f"every handler {name!r}: cron= is 5 fields (minute hour day-of-month month day-of-week) "
            f"or a macro like @daily, not {cron!r}"
        )
    return " ".join(cron.split())


def _tz(name, tz):
    try:
        if not isinstance(tz, str) or not tz:
            raise ValueError
        zoneinfo.ZoneInfo(tz)
    except Exception:  # ZoneInfoNotFoundError, ValueError for malformed keys, and the like
        raise ValueError(f"every handler {name!r}: tz={tz!r} is not a time zone (e.g. 'Europe/London')") from None
    return tz
