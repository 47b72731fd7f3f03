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
import math
import selectors

from .fakes import FakeClient, FakeHttp, FakeLog, FakeState, make_envelope
from .worker import RunInfo, reset_current_run, set_current_run

__all__ = ["FakeClient", "FakeHttp", "FakeLog", "FakeState", "VirtualClockLoop", "WorkerHarness", "make_envelope"]

# How long the harness waits for real (a thread's result) when nothing is scheduled, before it gives up.
REAL_WAIT_SECONDS = 30.0
# How often run_until looks at a stop flag that cannot be awaited (a threading.Event), in fake seconds.
POLL_SECONDS = 1.0


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
