"""Events from the host's ``GET /api/events/stream`` (Server-Sent Events), as ``EventEnvelope``s.

``read_event`` parses one SSE event from a response body; ``Subscription`` is what ``client.subscribe``
returns: an async iterator that reconnects when the stream breaks (the host restarted, the connection
dropped, or the host disconnected a subscriber that fell behind) with ``since=`` the last seq it yielded,
waiting 0.5 s, 1 s, 2 s ... up to 10 s (with jitter) between attempts, and never yields a seq twice.
"""

import asyncio
import json
import random
import sys
from dataclasses import dataclass

from .httpclient import HTTPProtocolError
from .runtime_api import APIError
from .worker import EventEnvelope

MAX_EVENT = 1 << 20  # the data of one SSE event
FIRST_DELAY = 0.5
MAX_DELAY = 10.0
# Answers that reconnecting would not change: the token, the scope, the query.
PERMANENT = (400, 401, 403, 404)


@dataclass(frozen=True)
class SSEEvent:
    event: str
    data: str
    id: str | None


async def read_event(body):
    """The next event of an SSE body (``event``, ``data``, ``id``); None when the stream ends.

    Comments (``: ping``) and ``retry:`` are skipped; an event's data over ``MAX_EVENT`` bytes is an error.
    """
    data, size, event, event_id = [], 0, "", None
    while True:
        line = await body.readline()
        if line is None:
            return None  # an unfinished event at the end is dropped, as EventSource does
        if not line:
            if data or event:
                return SSEEvent(event or "message", "\n".join(data), event_id)
            continue
        if line.startswith(b":"):
            continue
        name, _, value = line.partition(b":")
        value = value[1:] if value.startswith(b" ") else value
        if name == b"data":
            size += len(value) + 1
            if size > MAX_EVENT:
                raise HTTPProtocolError(f"an event of more than {MAX_EVENT} bytes")
            data.append(value.decode("utf-8", "replace"))
        elif name == b"event":
            event = value.decode("utf-8", "replace")
        elif name == b"id":
            event_id = value.decode("utf-8", "replace")


def stderr_log(message):
    sys.stderr.write(f"botyard: {message}\n")
    sys.stderr.flush()


class Subscription:
    """An async iterator of the host's events of ``kinds`` (all when none), across reconnections.

    ``since`` is a seq: the events after it are replayed first (as far as the host still keeps them). Without
    it the subscription starts at the host's current ``lastSeq``. A ``transport.gap`` envelope says that events
    were missed (too old to replay); it is yielded like an event. ``last_seq``, ``reconnects``, ``gaps`` and
    ``lagged`` say where it is. ``log`` receives one line per notable thing (stderr by default).
    """

    def __init__(self, api, kinds=(), since=None, log=None, first_delay=FIRST_DELAY, max_delay=MAX_DELAY):
        self.api = api
        self.kinds = tuple(kinds)
        self.last_seq = since
        self.reconnects = 0
        self.gaps = 0
        self.lagged = 0
        self.first_delay = first_delay
        self.max_delay = max_delay
        self._log = log or stderr_log
        self._response = None
        self._failures = 0
        self._delivered = False
        self._started = False
        self._closed = False

    def __aiter__(self):
        return self

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.aclose()

    async def aclose(self):
        """Closes the stream; the iteration ends."""
        self._closed = True
        self._disconnect()

    async def __anext__(self):
        while not self._closed:
            if self._response is None:
                await self._connect()
                continue
            try:
                event = await read_event(self._response.body)
            except (OSError, TimeoutError, HTTPProtocolError) as error:
                self._dropped(f"the event stream broke ({error})")
                continue
            if event is None:
                self._dropped("the host closed the event stream")
                continue
            envelope = self._envelope(event)
            if envelope is not None:
                self._delivered = True
                return envelope
        raise StopAsyncIteration

    async def _connect(self):
        if self._failures:
            await asyncio.sleep(self._delay())
        try:
            if self.last_seq is None and not self._started:
                self.last_seq = await self._current_seq()
            self._response = await self.api.open_stream(self.kinds, self.last_seq)
        except APIError as error:
            if error.status in PERMANENT:
                raise
            self._failed(error)
        except (OSError, TimeoutError, HTTPProtocolError) as error:
            self._failed(error)
        else:
            if self._started:
                self.reconnects += 1
                self._log(f"event stream resumed after seq {self.last_seq}")
            self._started = True
            self._failures = 0
            self._delivered = False

    async def _current_seq(self):
        seq = (await self.api.runtime() or {}).get("lastSeq")
        return seq if isinstance(seq, int) and not isinstance(seq, bool) else None

    def _failed(self, error):
        self._failures += 1
        if self._failures == 1 or self._failures % 10 == 0:
            self._log(f"cannot open the event stream ({error}); retrying (attempt {self._failures})")

    def _dropped(self, reason):
        self._disconnect()
        self._failures = 1 if self._delivered else self._failures + 1
        self._log(f"{reason}; reconnecting with since={self.last_seq}")

    def _disconnect(self):
        if self._response is not None:
            self._response.close()
            self._response = None

    def _delay(self):
        base = min(self.first_delay * 2 ** min(self._failures - 1, 30), self.max_delay)
        return min(self.max_delay, base * random.uniform(0.8, 1.2))

    def _envelope(self, event):
        """The envelope an SSE event carries, or None for what is not to be yielded (a duplicate, a notice)."""
        if event.event == "transport.lagged":
            self.lagged += 1
            self._log(f"the host disconnected this subscriber for falling behind: {event.data[:200]}")
            return None
        if event.event != "message":
            return None
        try:
            envelope = EventEnvelope.from_json(json.loads(event.data))
        except ValueError as error:
            self._log(f"skipped a malformed event ({error}): {event.data[:200]!r}")
            if event.id is not None and event.id.isdigit() and int(event.id) > (self.last_seq or 0):
                self.last_seq = int(event.id)  # so that a reconnection does not replay it
            return None
        if envelope.kind == "transport.gap" and self._gap(envelope):
            return envelope
        if self.last_seq is not None and envelope.seq <= self.last_seq:
            return None
        self.last_seq = envelope.seq
        return envelope

    def _gap(self, envelope):
        """Logs a gap; True when the host's numbering went back (then it is yielded whatever its seq)."""
        self.gaps += 1
        payload = envelope.payload
        missed = payload.get("missed")
        self._log(
            f"transport.gap: {'some' if missed is None else missed} events after seq {payload.get('since')} are gone "
            f"({payload.get('reason')}); resuming after seq {payload.get('resumed_after')}"
        )
        resumed = payload.get("resumed_after")
        if isinstance(resumed, int) and self.last_seq is not None and resumed < self.last_seq:
            self.last_seq = resumed  # a host with a new data directory: follow its numbering
            return True
        return False
