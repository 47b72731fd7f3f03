"""The process the host starts for a Python worker: ``python3 -m botyard.runner``.

It loads the strategy named in the host's ``init`` frame. A strategy with a module-level
``botyard.Worker`` runs in event mode (``botyard.event_runner``). Otherwise it runs ``setup``, ``tick``
and ``on_error`` as the host asks, enforcing each tick's timeout by raising ``TickTimeoutError`` inside
the tick.
"""

import importlib.util
import os
import signal
import sys
import time
import traceback

from . import PROTOCOL_VERSION
from .context import Context
from .errors import TickTimeoutError, describe
from .protocol import Connection
from .worker import Worker

# How long on_error may run after a failed tick.
ON_ERROR_SECONDS = 5.0


class Alarm:
    """Raises ``TickTimeoutError`` in the main thread when a deadline passes.

    While a frame is being written or a ctx call awaits its result, the alarm is deferred until the
    frame is complete, so that the stream is never left half-written.
    """

    def __init__(self, conn):
        self._conn = conn
        self._armed = False
        self._pending = False
        self._label = ""
        conn.on_idle = self._fire_pending
        signal.signal(signal.SIGALRM, self._on_signal)

    def arm(self, seconds, label):
        self._armed = True
        self._pending = False
        self._label = label
        signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))

    def disarm(self):
        signal.setitimer(signal.ITIMER_REAL, 0)
        self._armed = False
        self._pending = False

    def _on_signal(self, signum, frame):
        if not self._armed:
            return
        if self._conn.busy:
            self._pending = True
            return
        self._raise()

    def _fire_pending(self):
        if self._pending and self._armed:
            self._raise()

    def _raise(self):
        self._armed = False
        self._pending = False
        raise TickTimeoutError(self._label)


def load(path):
    """Imports the strategy file as a module named ``strategy``."""
    folder = os.path.dirname(os.path.abspath(path))
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location("strategy", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["strategy"] = module
    spec.loader.exec_module(module)
    return module


def load_failure(path, error):
    if isinstance(error, SyntaxError):
        return {
            "type": type(error).__name__,
            "message": error.msg,
            "file": error.filename or path,
            "line": error.lineno,
            "traceback": "".join(traceback.format_exception_only(type(error), error)),
        }
    failure = describe(error, skip_frames=0)
    failure["file"] = path
    return failure


def find_workers(module):
    """The module-level ``Worker`` objects: (variable, worker) pairs, each worker once."""
    found = {}
    for var, value in vars(module).items():
        if isinstance(value, Worker):
            found.setdefault(id(value), (var, value))
    return list(found.values())


class Runner:
    def __init__(self, conn):
        self.conn = conn
        self.alarm = Alarm(conn)
        self.module = None
        self.ctx = None
        self.worker = None  # the module's botyard.Worker: event mode

    def start(self):
        init = self.conn.recv()
        if init is None:
            return False
        if init.get("type") != "init" or init.get("v") != PROTOCOL_VERSION:
            self.fatal({"type": "ProtocolError", "message": f"expected init v{PROTOCOL_VERSION}, got {init!r:.200}"})
            return False
        path = init.get("script")
        try:
            self.module = load(path)
        except BaseException as error:  # anything the script raises at import time is a load failure
            self.fatal(load_failure(path, error))
            return False
        if not self.choose_mode(path):
            return False
        if self.worker is not None:
            return True  # event mode: the event runner sends its own ready
        worker = init.get("worker", {})
        self.ctx = Context(self.conn, worker.get("name", "worker"), worker.get("interval"), init.get("blocks", ()))
        self.conn.send({"type": "ready", "v": PROTOCOL_VERSION, "runtime": f"python/{sys.version.split()[0]}"})
        return True

    def choose_mode(self, path):
        """Event mode with the module's one ``Worker``, else tick mode; False (after a fatal) for neither."""
        workers = find_workers(self.module)
        if len(workers) > 1:
            named = ", ".join(f"{var} (Worker {worker.name!r})" for var, worker in workers)
            message = f"{path} defines more than one botyard.Worker: {named}; a file holds one worker"
        elif workers:
            self.worker = workers[0][1]
            return True
        elif callable(getattr(self.module, "tick", None)):
            return True
        else:
            message = f"{path} defines no tick(ctx) function and no botyard.Worker"
        self.fatal({"type": "LoadError", "message": message, "file": path})
        return False

    def fatal(self, failure):
        self.conn.send({"type": "fatal", "error": failure})

    def run_guarded(self, function, seconds, label):
        """Calls ``function(ctx)`` under a deadline; returns the error it raised, or None."""
        try:
            self.alarm.arm(seconds, label)
            try:
                function(self.ctx)
            finally:
                self.alarm.disarm()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:
            return error
        return None

    def setup(self, frame):
        setup = getattr(self.module, "setup", None)
        error = None
        if callable(setup):
            timeout = float(frame.get("timeout", 60))
            error = self.run_guarded(setup, timeout, f"setup exceeded its {timeout:g}s timeout")
        self.conn.send({"type": "setup_done", "error": describe(error, 1) if error else None})

    def tick(self, frame):
        n = frame["n"]
        timeout = float(frame.get("timeout", 60))
        self.ctx.worker.tick = n
        self.ctx.worker.interval = frame.get("interval", self.ctx.worker.interval)
        self.ctx.worker.scheduled_at = frame.get("scheduled_at")
        self.ctx.worker.sent_at = frame.get("sent_at")
        error = self.run_guarded(self.module.tick, timeout, f"tick {n} exceeded its {timeout:g}s timeout")
        if error is not None:
            self.on_error(error)
        self.conn.send({"type": "tick_done", "n": n, "error": describe(error, 1) if error else None})

    def on_error(self, error):
        handler = getattr(self.module, "on_error", None)
        if not callable(handler):
            return
        failure = self.run_guarded(lambda ctx: handler(ctx, error), ON_ERROR_SECONDS, "on_error exceeded 5s")
        if failure is not None:
            self.ctx.log.error("on_error raised " + "".join(traceback.format_exception_only(type(failure), failure)).strip())

    def serve(self):
        while True:
            frame = self.conn.recv()
            if frame is None:
                return
            kind = frame.get("type")
            if kind == "tick":
                self.tick(frame)
            elif kind == "setup":
                self.setup(frame)
            elif kind == "shutdown":
                return
            # A stale "result" of an interrupted call, or an unknown frame from a newer host: ignored.


def main():
    conn = Connection.from_fd(3)
    runner = Runner(conn)
    try:
        if runner.start():
            if runner.worker is not None:
                from .event_runner import run_worker

                run_worker(conn, runner.worker)  # ends the process
            runner.serve()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the host is gone
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
