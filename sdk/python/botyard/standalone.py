"""A ``botyard.Worker`` as a process of its own (``command:``, or by hand): ``worker.run()`` lands here.

Under ``code:`` the host runs the schedules, the tasks and the concurrency. Here this runner does, with the
same rules (docs/workers.md), and talks to the host over its runtime API (``RuntimeAPI``): events arrive on
the SSE stream, ``client.state`` and ``client.http`` are ctx calls over HTTP. In order:

1. ``on_startup`` handlers in registration order; one that fails ends the process with status 1 (no
   ``on_shutdown``);
2. then together: the events of the ``on_event`` kinds, each run by every handler of its kind, at most
   ``max_concurrency`` at once, with a bounded queue (overflow dropped, counted and logged); the ``every``
   schedules (fixed rate from the start, or cron in its zone; never overlapping, missed slots skipped and
   counted); the tasks, restarted with backoff;
3. on SIGTERM or SIGINT: no more events or schedules, tasks cancelled, running handlers given
   ``shutdown_grace`` and then cancelled, ``on_shutdown`` in reverse order; exit 0. When every task has
   given up, the same stop, then exit 1.
"""

import asyncio
import math
import signal
import time

from .client import RuntimeClient
from .cron import CronError, CronSchedule
from .event_runner import exit_status, leave
from .runtime_api import APIError, ConfigurationError, RuntimeAPI
from .stream import Subscription
from .supervision import TaskBackoff, Timings, every_hundredth, log, log_error, run_handler
from .worker import RunInfo

# How long a wait for a cron time sleeps at most before it looks at the clock again (it may jump).
CLOCK_CHECK_SECONDS = 30.0


class StandaloneRunner:
    """Runs one worker's handlers against ``api`` until a signal or ``stop()``; ``run()`` returns the exit status."""

    def __init__(self, worker, api, timings=None):
        self.worker = worker
        self.api = api
        self.timings = timings or Timings()
        self.client = RuntimeClient.standalone(api)
        self.status = 0
        self.failed = self.dropped = self.skipped = 0
        self.subscription = None
        self._stop = None
        self._loops = []  # the subscription reader, event consumers, schedules, task supervisors
        self._running = set()  # runs of event and schedule handlers
        self._queue = None
        self._backoffs = {}
        self._event_handlers = {}
        for handler in worker.handlers_of("event"):
            self._event_handlers.setdefault(handler.event, []).append(handler)

    def stop(self, reason="stop requested", status=0):
        """Starts the stop (once: the first reason and status win)."""
        if self._stop is not None and not self._stop.is_set():
            log(f"{reason}: stopping")
            self.status = status
            self._stop.set()

    async def run(self):
        self._stop = asyncio.Event()
        self._queue = asyncio.Queue(self.timings.queue_size)
        loop = asyncio.get_running_loop()
        # A parent may have started us with these blocked (a thread's mask is inherited): then a stop would
        # never arrive.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(number, self.stop, signal.Signals(number).name)
        try:
            schedules = self.schedules()
        except CronError as error:
            log(f"could not start: {error}")
            return 1
        if not await self.startup():
            return 1
        if not self._stop.is_set():
            self.start(schedules)
            await self._stop.wait()
        await self.shutdown()
        return self.status

    def schedules(self):
        """Each ``every`` handler with its interval (seconds) or its ``CronSchedule``."""
        found = []
        for handler in self.worker.handlers_of("every"):
            if handler.cron is None:
                found.append((handler, handler.seconds))
                continue
            try:
                found.append((handler, CronSchedule(handler.cron, handler.tz)))
            except CronError as error:
                raise CronError(f"handler {handler.name!r}: every(cron=): {error}") from None
        return found

    async def startup(self):
        """Runs ``on_startup`` in order; False when one failed. A stop meanwhile cancels it (then on_shutdown runs)."""
        for handler in self.worker.handlers_of("startup"):
            run = asyncio.ensure_future(self.bounded(handler, (self.client,), self.timings.handler_timeout))
            stop = asyncio.ensure_future(self._stop.wait())
            await asyncio.wait({run, stop}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            if not run.done():
                run.cancel()  # the handler's own task stays in _running: the stop gives it shutdown_grace
                return True
            if run.result() is not None:
                log(f"on_startup handler {handler.name!r} failed: the worker stops (on_shutdown does not run)")
                return False
        return True

    def start(self, schedules):
        loop = asyncio.get_running_loop()
        if self._event_handlers:
            self._loops.append(loop.create_task(self.receive(), name="events"))
            for number in range(self.worker.max_concurrency):
                self._loops.append(loop.create_task(self.consume(), name=f"consumer {number}"))
        for handler, schedule in schedules:
            body = self.every(handler, schedule) if isinstance(schedule, (int, float)) else self.cron(handler, schedule)
            self._loops.append(loop.create_task(body, name=f"every {handler.name}"))
        t = self.timings
        for handler in self.worker.handlers_of("task"):
            self._backoffs[handler.id] = TaskBackoff(t.task_first_delay, t.task_max_delay, t.task_stable_after)
            self._loops.append(loop.create_task(self.supervise(handler), name=f"task {handler.name}"))
        log(f"worker {self.worker.name!r} running as {self.api.worker!r} against {self.api.endpoint.url}")

    # Runs

    async def bounded(self, handler, args, timeout, scheduled_at=None):
        """Runs a handler as a task of its own, tracked for the stop; returns what it raised.

        A handler that ignores the cancel of its timeout is given up on ``cancel_wait`` later. Cancelling the
        caller leaves the run going (the stop gives it ``shutdown_grace``).
        """
        info = RunInfo(handler.name, scheduled_at, None)
        task = asyncio.get_running_loop().create_task(run_handler(handler, args, info, timeout))
        self._running.add(task)
        task.add_done_callback(self._ended)
        done, _ = await asyncio.wait({task}, timeout=None if timeout is None else timeout + self.timings.cancel_wait)
        if not done:
            log(f"handler {handler.name!r} ignored its cancellation; given up on")
            return TimeoutError(f"handler {handler.name!r} ran past its {timeout:g}s timeout")
        return None if task.cancelled() else task.result()

    def _ended(self, task):
        self._running.discard(task)
        if not task.cancelled() and task.exception() is None and task.result() is not None:
            self.failed += 1

    # Events

    async def receive(self):
        """Reads the event stream and queues a run for every handler of each event's kind."""
        t = self.timings
        kinds = sorted(self._event_handlers)
        self.subscription = Subscription(self.api, kinds, None, log, t.reconnect_first, t.reconnect_max)
        try:
            async for envelope in self.subscription:
                self.offer(envelope)
        except APIError as error:
            log(f"the host refused the event stream: {error}")
            self.stop("no event stream", status=1)
        except Exception as error:  # a bug: never a silent worker without events
            log_error("the event stream failed", error)
            self.stop("no event stream", status=1)
        finally:
            await self.subscription.aclose()

    def offer(self, envelope):
        for handler in self._event_handlers.get(envelope.kind, ()):
            try:
                self._queue.put_nowait((handler, envelope))
            except asyncio.QueueFull:
                self.dropped += 1
                if every_hundredth(self.dropped):
                    log(f"the event queue is full ({self.timings.queue_size}): dropped {envelope.kind} "
                        f"seq {envelope.seq} for {handler.name!r} ({self.dropped} dropped so far)")

    async def consume(self):
        while True:
            handler, envelope = await self._queue.get()
            await self.bounded(handler, (envelope, self.client), self.timings.handler_timeout)

    # Schedules

    async def every(self, handler, interval):
        """Fixed rate: slot k is k intervals after the start; slots that pass during a run are skipped."""
        loop = asyncio.get_running_loop()
        start, wall = loop.time(), time.time()
        slot = 1
        while True:
            await asyncio.sleep(max(0.0, start + slot * interval - loop.time()))
            await self.bounded(handler, (self.client,), self.timings.handler_timeout, wall + slot * interval)
            passed = math.floor((loop.time() - start) / interval)
            if passed > slot:
                self.count_skipped(handler, passed - slot)
            slot = max(slot, passed) + 1

    async def cron(self, handler, schedule):
        """Each fire time of a cron schedule, on the wall clock; fire times that pass during a run are skipped."""
        after = time.time()
        while (due := schedule.next_after(after)) is not None and due > after:
            while (left := due - time.time()) > 0:
                await asyncio.sleep(min(left, CLOCK_CHECK_SECONDS))
            await self.bounded(handler, (self.client,), self.timings.handler_timeout, float(due))
            after, missed = due, 0
            while (upcoming := schedule.next_after(after)) is not None and upcoming <= time.time() and missed < 10**6:
                after, missed = upcoming, missed + 1
            if missed:
                self.count_skipped(handler, missed)
        log(f"schedule {handler.name!r} ({schedule}) fires no more")

    def count_skipped(self, handler, count):
        before = self.skipped
        self.skipped += count
        if before == 0 or before // 100 != self.skipped // 100:
            log(f"schedule {handler.name!r} overran: skipped {count} run(s) ({self.skipped} skipped so far)")

    # Tasks

    async def supervise(self, handler):
        """Keeps a task running: restarted after each end with backoff; the worker stops when all give up."""
        loop = asyncio.get_running_loop()
        backoff = self._backoffs[handler.id]
        while True:
            began = loop.time()
            error = await run_handler(handler, (self.client,), RunInfo(handler.name), None)
            if self._stop.is_set():
                return  # it was cancelled (and swallowed it)
            delay = backoff.crashed(loop.time() - began)
            how = "returned" if error is None else f"raised {type(error).__name__}: {error}"
            log(f"task {handler.name!r} {how} (crash {backoff.crashes}); restarting in {delay:g}s")
            if all(other.exhausted for other in self._backoffs.values()):
                cap = f"{self.timings.task_max_delay:g}s"
                self.stop(f"every task crashed again after a {cap} wait (last: {handler.name} {how})", status=1)
                return
            await asyncio.sleep(delay)

    # Stopping

    async def shutdown(self):
        t = self.timings
        for task in self._loops:
            task.cancel()
        if self._loops:
            await asyncio.wait(self._loops, timeout=t.cancel_wait)
        queued = self._queue.qsize()
        if queued:
            self.dropped += queued
            log(f"stopping: dropped {queued} queued event run(s)")
        if self._running:
            _, pending = await asyncio.wait(set(self._running), timeout=self.worker.shutdown_grace)
            for task in pending:
                task.cancel()
            if pending:
                grace = self.worker.shutdown_grace
                log(f"stopping: cancelled {len(pending)} handler(s) still running after {grace:g}s")
                await asyncio.wait(pending, timeout=t.cancel_wait)
        limit = min(t.handler_timeout, t.shutdown_timeout)
        for handler in reversed(self.worker.handlers_of("shutdown")):
            await self.bounded(handler, (self.client,), limit)
        log(f"stopped (failed: {self.failed}, dropped: {self.dropped}, skipped runs: {self.skipped})")


def main(worker, timings=None):
    """``worker.run()`` outside the host's ``code:``: runs the worker, then ends the process with its status."""
    try:
        api = RuntimeAPI.from_env()
    except ConfigurationError as error:
        log(f"worker.run(): {error}")
        leave(2)
    if api.worker != worker.name:
        log(f"note: this Worker is named {worker.name!r}; botyard.yaml (BOTYARD_WORKER) names it {api.worker!r}")
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        status = loop.run_until_complete(StandaloneRunner(worker, api, timings).run())
    except SystemExit as exit:  # sys.exit() in a handler ends the worker, as in any Python program
        status = exit_status(exit.code)
    except BaseException as error:
        log_error("the runner failed", error)
        status = 1
    leave(status)

