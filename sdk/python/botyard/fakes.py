"""The fakes of ``botyard.testing``: a ``RuntimeClient`` that records instead of talking to a host.

``FakeClient`` keeps ``state`` in memory with the real checks, answers ``http`` from routes, records what
handlers publish, notify and restart, and plays the runtime API: sessions, ``runtime()``, ``worker(name)``
and ``subscribe()`` (over the envelopes in ``client.stream``).
"""

import itertools
import json
import time
import uuid

from .client import event_kind, event_payload, notify_payload, notify_source, publish_params, worker_name
from .context import Response, incr_amount, post_body, state_json, state_key, state_value
from .runtime_api import APIError, Session
from .worker import EventEnvelope

_seqs = itertools.count(1)


def make_envelope(kind, payload=None, source="test", seq=None, session_id=None):
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
        session_id=session_id,
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
    payload that is a JSON dict of at most 256 KiB. ``notify`` events go to ``notifications``, not ``published``;
    events published to a session go to ``session_events`` as (session_id, kind, payload), and a session must
    exist (``create_session``) as on the host. ``runtime()`` and ``worker(name)`` answer from
    ``runtime_status`` and ``worker_statuses``; ``subscribe()`` yields the envelopes in ``stream`` (append
    ``make_envelope(...)`` to it) of its kinds, then ends. ``calls`` records each runtime-API call as
    (method, arguments).
    """

    def __init__(self, worker_name="test"):
        self.worker_name = worker_name
        self.published = []  # (kind, payload)
        self.notifications = []  # {source, title, body, severity}
        self.session_events = []  # (session_id, kind, payload)
        self.restarted = []  # worker names
        self.logs = []  # (level, message)
        self.calls = []  # (method, {arguments}) of runtime(), worker(), sessions(), create_session(), subscribe()
        self.stream = []  # EventEnvelopes that subscribe() yields
        self.open_sessions = {}  # session_id -> Session
        self.worker_statuses = {}  # name -> status object, for worker(name)
        self.runtime_status = {"status": "ok", "version": "test", "runtimeID": "test", "uptimeSeconds": 0.0}
        self.state = FakeState()
        self.log = FakeLog(self.logs)
        self.http = FakeHttp()
        self._seq = 0

    async def publish(self, kind, payload=None, session_id=None):
        params = publish_params(kind, payload)
        payload = json.loads(json.dumps(params["payload"]))
        if session_id is None:
            self.published.append((params["kind"], payload))
        else:
            self._session(session_id, "POST", f"/api/sessions/{session_id}/events")
            self.session_events.append((session_id, params["kind"], payload))
        return self._next_seq()

    async def notify(self, title, body="", severity="info", source=None):
        payload = notify_payload(notify_source(source, self.worker_name), title, body, severity)
        self.notifications.append(publish_params("notify", payload)["payload"])
        return self._next_seq()

    async def restart_worker(self, name):
        self.restarted.append(worker_name(name))

    async def runtime(self):
        self.calls.append(("runtime", {}))
        workers = list(self.worker_statuses.values())
        return {**self.runtime_status, "lastSeq": self._seq, "workers": workers}

    async def worker(self, name):
        self.calls.append(("worker", {"name": name}))
        if worker_name(name) not in self.worker_statuses:
            raise APIError(404, f"no worker named '{name}'", "GET", f"/api/workers/{name}")
        return self.worker_statuses[name]

    async def sessions(self):
        self.calls.append(("sessions", {}))
        return list(self.open_sessions.values())

    async def create_session(self, session_id=None, agent=None):
        self.calls.append(("create_session", {"session_id": session_id, "agent": agent}))
        session_id = session_id if session_id is not None else uuid.uuid4().hex
        existing = self.open_sessions.get(session_id)
        if existing is not None:
            return Session(session_id, existing.agent, existing.created_at, existing.created_by, existing.events, False)
        self.open_sessions[session_id] = Session(session_id, agent, time.time(), self.worker_name, 0)
        return Session(session_id, agent, time.time(), self.worker_name, 0, True)

    def subscribe(self, *kinds, since=None):
        self.calls.append(("subscribe", {"kinds": kinds, "since": since}))
        return self._replay(kinds, since)

    async def _replay(self, kinds, since):
        for envelope in list(self.stream):
            if (since is None or envelope.seq > since) and _matches(envelope.kind, kinds):
                yield envelope

    def _session(self, session_id, method, path):
        session = self.open_sessions.get(session_id)
        if session is None:
            raise APIError(404, f"no session '{session_id}'; create it with POST /api/sessions", method, path)
        self.open_sessions[session_id] = Session(
            session.session_id, session.agent, session.created_at, session.created_by, (session.events or 0) + 1
        )

    def _next_seq(self):
        self._seq += 1
        return self._seq


def _matches(kind, kinds):
    """Whether an event kind is one of ``kinds`` (exact, or ``prefix.*``); every kind when there are none."""
    return not kinds or any(kind == k or (k.endswith(".*") and kind.startswith(k[:-1])) for k in kinds)
