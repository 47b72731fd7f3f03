"""Event mode: runs a ``botyard.Worker``'s handlers as the host asks, many at once, on one event loop.

The host owns everything about *when*: it delivers events, keeps the schedules, supervises the tasks
and decides how many runs go at once. This runner only starts each ``run`` as an asyncio task,
enforces its timeout, cancels it on ``cancel``, answers ``done``, and routes each ``result`` to the
call waiting for it. See docs/protocol.md, "Event mode".
"""

import asyncio
import json
import math
import os
import sys
import traceback

from . import PROTOCOL_VERSION
from .client import RuntimeClient
from .errors import describe
from .protocol import AsyncConnection
from .worker import EventEnvelope, RunInfo, set_current_run

# The longest line read from the host (no practical limit, as in tick mode).
STREAM_LIMIT = 1 << 30
# How long cancelled handlers get to unwind on shutdown before the process exits regardless.
SHUTDOWN_WAIT = 0.5
# Error messages and tracebacks longer than this are cut, so that a done frame always fits.
MAX_ERROR_TEXT = 64 * 1024


class MalformedFrame(Exception):
    """The host sent a line this runner cannot take: the runner exits with status 1."""


class Run:
    """One run of a handler the host asked for."""

    def __init__(self, run_id, handler, info=None):
        self.id = run_id
        self.handler = handler
        self.info = info or RunInfo(handler.name)  # what current_run() returns inside it
        self.task = None
        self.timer = None
        self.cancelled = False  # the host sent cancel
        self.expired = None  # the timeout in seconds, once it passed
        self.cancel_error = None  # the CancelledError the handler ended with


class EventRunner:
    """Serves one host connection in event mode."""

    def __init__(self, conn, worker):
        self.conn = conn
        self.worker = worker
        self.client = RuntimeClient(conn, worker.name)
        self.runs = {}
        self.stopping = False

    def ready_frame(self):
        return {
            "type": "ready",
            "v": PROTOCOL_VERSION,
            "runtime": f"python/{sys.version.split()[0]}",
            "mode": "event",
            "worker": {
                "name": self.worker.name,
                "max_concurrency": self.worker.max_concurrency,
                "shutdown_grace": self.worker.shutdown_grace,
            },
            "handlers": self.worker.handlers(),
        }

    async def serve(self):
        """Answers frames until ``shutdown`` or the end of the stream; returns the exit status."""
        self.conn.send(self.ready_frame())
        while True:
            line = await self.conn.recv_line()
            if not line:
                break
            try:
                frame = parse(line)
                if frame["type"] == "shutdown":
                    break
                self.dispatch(frame)
            except MalformedFrame as error:
                sys.stderr.write(f"botyard runner: {error}\n")
                return 1
        await self.stop()
        return 0

    def dispatch(self, frame):
        kind = frame["type"]
        if kind == "run":
            self.start_run(frame)
        elif kind == "cancel":
            self.cancel(frame.get("id"))
        elif kind == "result":
            self.conn.resolve(frame)
        # Any other type (from a newer host) is ignored.

    def start_run(self, frame):
        run_id = frame.get("id")
        if not is_int(run_id):
            raise MalformedFrame(f"a run frame without an integer id: {json.dumps(frame)[:200]}")
        if run_id in self.runs:
            sys.stderr.write(f"botyard runner: run {run_id} is already running; the second run frame is ignored\n")
            return
        try:
            handler = self.worker.handler(frame.get("handler"))
            args = self.arguments(handler, frame.get("event"))
            timeout = run_timeout(frame.get("timeout"))
            info = RunInfo(handler.name, unix_time(frame, "scheduled_at"), unix_time(frame, "sent_at"))
        except (LookupError, ValueError) as error:
            self.send_done(run_id, {"type": "ProtocolError", "message": str(error), "traceback": ""})
            return
        run = self.runs[run_id] = Run(run_id, handler, info)
        loop = asyncio.get_running_loop()
        run.task = loop.create_task(self.execute(run, args), name=f"run {run_id}: {handler.name}")
        run.task.add_done_callback(lambda task: self.ended(run, task))
        if timeout is not None:
            run.timer = loop.call_later(timeout, self.expire, run, timeout)

    def arguments(self, handler, event):
        if handler.kind != "event":
            return (self.client,)
        if event is None:
            raise ValueError(f"handler {handler.id} ({handler.name}) takes events; the run frame has none")
        return (EventEnvelope.from_json(event), self.client)

    async def execute(self, run, args):
        """Runs the handler; returns the exception it raised (a handler's exception never ends the runner)."""
        set_current_run(run.info)  # the task runs in a context of its own: this is its run only
        try:
            await run.handler.function(*args)
        except asyncio.CancelledError as cancel:
            run.cancel_error = cancel  # where the handler was: the traceback of a timeout
            raise
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as error:
            return error
        return None

    def ended(self, run, task):
        """The task's done callback: reports how the run ended (even one cancelled before it began)."""
        self.runs.pop(run.id, None)
        if run.timer is not None:
            run.timer.cancel()
        if self.stopping:
            return
        if task.cancelled():
            error = run.cancel_error or asyncio.CancelledError()
        elif task.exception() is not None:  # SystemExit or KeyboardInterrupt: the process is ending
            return
        else:
            error = task.result()
        self.send_done(run.id, failure(run, error), run.cancelled)

    def expire(self, run, timeout):
        if self.runs.get(run.id) is run and not run.task.done():
            run.expired = timeout
            run.task.cancel()

    def cancel(self, run_id):
        run = self.runs.get(run_id) if is_int(run_id) else None
        if run is not None and not run.cancelled and not run.task.done():
            run.cancelled = True
            run.task.cancel()

    def send_done(self, run_id, error, cancelled=False):
        frame = {"type": "done", "id": run_id, "error": error}
        if cancelled:
            frame["cancelled"] = True
        self.conn.send(frame)

    async def stop(self):
        """Cancels every run still going and gives them a moment to unwind."""
        self.stopping = True
        tasks = [run.task for run in self.runs.values()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=SHUTDOWN_WAIT)


def parse(line):
    """A frame from one line; MalformedFrame unless it is a JSON object with a str ``type``."""
    try:
        frame = json.loads(line)
    except ValueError:
        frame = None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise MalformedFrame(f"a malformed frame from the host: {line[:200]!r}")
    return frame


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def run_timeout(value):
    """A run's timeout in seconds, or None for none."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise ValueError(f"a run's timeout is null or a positive number of seconds, not {value!r}")
    return float(value)


def unix_time(frame, field):
    """A run frame's ``scheduled_at`` or ``sent_at``: Unix seconds, or None when absent or null."""
    value = frame.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"a run's {field} is null or a Unix time in seconds, not {value!r}")
    return float(value)


def failure(run, error):
    """The ``error`` object of a run's ``done`` frame (None when it succeeded or the host cancelled it)."""
    if run.expired is not None:
        return clipped(timeout_failure(run, error))
    if error is None or (run.cancelled and isinstance(error, asyncio.CancelledError)):
        return None
    try:
        return clipped(describe(error, skip_frames=1))
    except Exception:  # an exception whose __str__ raises
        return {"type": type(error).__name__, "message": "(the exception could not be printed)", "traceback": ""}


def timeout_failure(run, error):
    """A TimeoutError, with the traceback of where the handler was when its timeout cancelled it."""
    message = f"handler {run.handler.name!r} ran past its {run.expired:g}s timeout"
    text = f"TimeoutError: {message}\n"
    tb = error.__traceback__ if error is not None else None
    if tb is not None and tb.tb_next is not None:  # below the runner's own frame: the handler's
        text = "Traceback (most recent call last):\n" + "".join(traceback.format_tb(tb.tb_next)) + text
    return {"type": "TimeoutError", "message": message, "traceback": text}


def clipped(error):
    for field in ("message", "traceback"):
        text = error.get(field) or ""
        if len(text) > MAX_ERROR_TEXT:
            error[field] = text[: MAX_ERROR_TEXT // 2] + "\n[...]\n" + text[-MAX_ERROR_TEXT // 2 :]
    return error


async def serve(sock, buffered, worker):
    """Serves the host over ``sock`` (bytes already read from it first); returns the exit status."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=STREAM_LIMIT, loop=loop)
    if buffered:
        reader.feed_data(buffered)
    protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    transport, _ = await loop.create_unix_connection(lambda: protocol, sock=sock)
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    return await EventRunner(AsyncConnection(reader, writer), worker).serve()


def run_worker(conn, worker):
    """Event mode on the tick-mode connection that read ``init``; ends the process.

    The process exits without waiting for handlers that would not stop (or threads they started):
    on ``shutdown`` the host allows 2 s.
    """
    buffered = conn.take_buffered()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        status = loop.run_until_complete(serve(conn.socket, buffered, worker))
    except SystemExit as exit:  # sys.exit() in a handler ends the worker, as in any Python program
        status = exit_status(exit.code)
    except KeyboardInterrupt:
        status = 130
    except BaseException:
        traceback.print_exc()
        status = 1
    leave(status)


def exit_status(code):
    if code is None:
        return 0
    if is_int(code):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def leave(status):
    """Flushes the output and ends the process at once."""
    if "logging" in sys.modules:
        sys.modules["logging"].shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(status)
