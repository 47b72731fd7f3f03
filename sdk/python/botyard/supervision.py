"""What a standalone worker's runner does to each handler run, as the host does it under ``code:``.

``Timings`` holds the host's constants (tests shorten them), ``TaskBackoff`` is the restart policy of one
``@worker.task`` (Sources/WorkerHost/Engine/TaskBackoff.swift), and ``run_handler`` runs one handler with
its timeout and its ``current_run()``, logging what it raised, with the traceback, to stderr.
"""

import asyncio
import sys
import traceback
from dataclasses import dataclass

from .worker import reset_current_run, set_current_run


@dataclass
class Timings:
    """The runner's constants: the host's defaults (docs/workers.md)."""

    handler_timeout: float = 60.0  # every handler but a task (the manifest's default tick_timeout)
    shutdown_timeout: float = 30.0  # each on_shutdown handler, at most
    cancel_wait: float = 2.0  # a run that ignores its cancel is given up on this much later
    task_first_delay: float = 1.0
    task_max_delay: float = 300.0
    task_stable_after: float = 60.0
    queue_size: int = 1000  # event handler runs waiting for a free slot (max_concurrency)
    reconnect_first: float = 0.5
    reconnect_max: float = 10.0


class TaskBackoff:
    """One task's restarts: 1 s, 2 s, 4 s ... capped at ``maximum``, reset after ``stable_after`` of stable run.

    A task that crashes again after a wait at the cap is ``exhausted`` (until it runs stably again).
    """

    def __init__(self, first, maximum, stable_after):
        self.first = first
        self.maximum = maximum
        self.stable_after = stable_after
        self.crashes = 0
        self.attempt = 0
        self.waited_at_cap = False
        self.exhausted = False

    def crashed(self, ran):
        """Records a crash after the task ran ``ran`` seconds; returns how long to wait before restarting it."""
        self.crashes += 1
        if ran >= self.stable_after:
            self.attempt = 0
            self.waited_at_cap = False
            self.exhausted = False
        self.exhausted = self.exhausted or self.waited_at_cap
        delay = min(self.first * 2 ** min(self.attempt, 62), self.maximum)
        self.attempt = min(self.attempt + 1, 62)
        self.waited_at_cap = delay >= self.maximum
        return delay


def log(message):
    """One line of the runner's in the worker's log (stderr, which the host keeps with stdout)."""
    sys.stderr.write(f"botyard: {message}\n")
    sys.stderr.flush()


def log_error(message, error):
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    log(f"{message}\n{text.rstrip()}")


async def run_handler(handler, args, info, timeout):
    """Runs one handler (within ``timeout`` seconds unless None); returns what it raised, logged, or None.

    ``current_run()`` inside it is ``info``. A cancellation from outside (a stop) goes through.
    """
    token = set_current_run(info)
    limit = asyncio.timeout(timeout)
    try:
        async with limit:
            await handler.function(*args)
    except TimeoutError as error:
        if not limit.expired():
            log_error(f"handler {handler.name!r} failed", error)
            return error
        message = f"handler {handler.name!r} ran past its {timeout:g}s timeout"
        log_error(f"TimeoutError: {message}; where it was:", error)  # the traceback shows where it waited
        return TimeoutError(message)
    except asyncio.CancelledError as error:
        if asyncio.current_task().cancelling():
            raise
        log_error(f"handler {handler.name!r} failed", error)  # it raised CancelledError itself
        return error
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as error:
        log_error(f"handler {handler.name!r} failed", error)
        return error
    finally:
        reset_current_run(token)
    return None


def every_hundredth(count):
    """Whether a counted mishap is logged: the first, then every 100th."""
    return count == 1 or count % 100 == 0
