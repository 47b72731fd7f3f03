"""``RuntimeAPI``: the host's runtime API over HTTP, for workers that run as processes of their own.

It reads ``BOTYARD_RUNTIME_URL``, ``BOTYARD_RUNTIME_TOKEN`` and ``BOTYARD_WORKER`` (``from_env``), sends every
request with ``Authorization: Bearer <token>``, and raises ``APIError`` with the host's own message for a
4xx or 5xx answer. It is also a connection for ``RuntimeClient``: ``call(method, params)`` makes a ctx call
(``state.get``, ``http.request``, ...) through ``POST /api/workers/{name}/calls``, raising the exception the
host names, exactly as over fd 3; ``send`` writes ``client.log`` lines to stderr (the worker's log).
"""

import json
import os
import sys
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from .errors import BotyardError, host_error
from .httpclient import Endpoint, HTTPProtocolError, request_json, send

# How long one request may take: a ctx call waits as long as the host allows the call (tick_timeout, 60 s).
REQUEST_TIMEOUT = 75.0
# How long opening an event stream may take, and how long it may be silent (the host pings every 20 s).
STREAM_CONNECT_TIMEOUT = 10.0
STREAM_IDLE_TIMEOUT = 45.0


class APIError(BotyardError):
    """The host refused a request: ``status`` (400, 403, 404, ...) and the host's ``message``."""

    def __init__(self, status, message, method="", path=""):
        super().__init__(f"{method} {path}: {status} {message}".strip())
        self.status = status
        self.message = message
        self.method = method
        self.path = path


class ConfigurationError(BotyardError):
    """The runtime variables are missing or malformed."""


@dataclass(frozen=True)
class Session:
    """A session of the host: ``session_id``, ``agent``, who created it and when.

    ``created`` is set by ``create_session``: False when the session existed already.
    """

    session_id: str
    agent: str | None = None
    created_at: object = None
    created_by: str | None = None
    events: int | None = None
    created: bool | None = None

    @classmethod
    def from_json(cls, data, created=None):
        if not isinstance(data, dict) or not isinstance(data.get("sessionID"), str):
            raise HTTPProtocolError(f"a session is an object with a 'sessionID', not {str(data)[:120]}")
        return cls(data["sessionID"], data.get("agent"), data.get("createdAt"), data.get("createdBy"),
                   data.get("events"), created)


def segment(value, what):
    """A path segment (a worker's name, a session id), checked and escaped."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} is a non-empty str, not {value!r}")
    return quote(value, safe="")


class RuntimeAPI:
    """The host's runtime API for one worker (``worker``: its name in botyard.yaml)."""

    def __init__(self, url, token, worker, timeout=REQUEST_TIMEOUT):
        self.endpoint = Endpoint(url)
        self.token = token
        self.worker = worker
        self.timeout = timeout

    def __repr__(self):
        return f"<RuntimeAPI {self.endpoint.url} worker={self.worker}>"

    @classmethod
    def from_env(cls, environ=None, worker=None):
        """The API the runtime variables describe; ConfigurationError naming what is missing."""
        environ = os.environ if environ is None else environ
        missing = [name for name in ("BOTYARD_RUNTIME_URL", "BOTYARD_RUNTIME_TOKEN") if not environ.get(name)]
        worker = environ.get("BOTYARD_WORKER") or worker
        if not worker:
            missing.append("BOTYARD_WORKER")
        if missing:
            raise ConfigurationError(
                f"the runtime API needs {', '.join(missing)}: the host sets them for its workers; to run a worker "
                "by hand, set BOTYARD_RUNTIME_URL, BOTYARD_RUNTIME_TOKEN (the admin token) and BOTYARD_WORKER"
            )
        try:
            return cls(environ["BOTYARD_RUNTIME_URL"], environ["BOTYARD_RUNTIME_TOKEN"], worker)
        except ValueError as error:
            raise ConfigurationError(str(error)) from None

    async def request(self, method, path, payload=None, ok=(200, 201)):
        """Sends a request; returns the JSON answer, or raises APIError with the host's message."""
        status, data = await request_json(self.endpoint, method, path, self.token, payload, self.timeout)
        if status not in ok:
            raise APIError(status, error_message(data, status), method, path)
        return data

    # The connection RuntimeClient, AsyncState and AsyncHttp use.

    async def call(self, method, params):
        """A ctx call; returns its result, or raises the exception the host names."""
        path = f"/api/workers/{segment(self.worker, 'a worker name')}/calls"
        data = await self.request("POST", path, {"method": method, "params": params})
        if not isinstance(data, dict) or not ("result" in data or "error" in data):
            raise HTTPProtocolError(f"POST {path}: an answer without 'result' or 'error': {str(data)[:120]}")
        if data.get("error") is not None:
            raise host_error(data["error"])
        return data.get("result")

    def send(self, frame):
        """``client.log`` lines: written to stderr, which the host keeps in the worker's log."""
        if frame.get("type") == "log":
            sys.stderr.write(f"[{frame.get('level', 'info')}] {frame.get('message', '')}\n")
            sys.stderr.flush()

    # The REST routes.

    async def publish(self, kind, payload, session_id=None):
        """``POST /api/events`` (or a session's): returns ``{"eventID", "seq", "source"}``."""
        path = "/api/events"
        if session_id is not None:
            path = f"/api/sessions/{segment(session_id, 'a session id')}/events"
        data = await self.request("POST", path, {"kind": kind, "payload": payload})
        if not isinstance(data, dict) or not isinstance(data.get("seq"), int):
            raise HTTPProtocolError(f"POST {path}: an answer without a 'seq': {str(data)[:120]}")
        return data

    async def runtime(self):
        """``GET /api/runtime``: status, version, runtimeID, uptimeSeconds, lastSeq, workers."""
        return await self.request("GET", "/api/runtime")

    async def worker_status(self, name):
        """``GET /api/workers/{name}``: the worker's status object."""
        return await self.request("GET", f"/api/workers/{segment(name, 'a worker name')}")

    async def sessions(self):
        """``GET /api/sessions`` as a list of ``Session``."""
        data = await self.request("GET", "/api/sessions")
        if not isinstance(data, dict) or not isinstance(data.get("sessions"), list):
            raise HTTPProtocolError(f"GET /api/sessions: an answer without 'sessions': {str(data)[:120]}")
        return [Session.from_json(item) for item in data["sessions"]]

    async def create_session(self, session_id=None, agent=None):
        """``POST /api/sessions``: the ``Session``, with ``created`` False when it existed already."""
        body = {}
        if session_id is not None:
            segment(session_id, "a session id")
            body["session_id"] = session_id
        if agent is not None:
            body["agent"] = agent
        data = await self.request("POST", "/api/sessions", body)
        if not isinstance(data, dict):
            raise HTTPProtocolError(f"POST /api/sessions: an answer that is not an object: {str(data)[:120]}")
        return Session.from_json(data.get("session"), bool(data.get("created")))

    async def restart_worker(self, name):
        """``POST /api/workers/{name}/restart``; 403 when ``may_restart:`` does not list it."""
        return await self.request("POST", f"/api/workers/{segment(name, 'a worker name')}/restart")

    async def open_stream(self, kinds=(), since=None):
        """``GET /api/events/stream``: the open ``Response`` of an SSE stream (its body read by the caller)."""
        query = [("kinds", kind) for kind in kinds]
        if since is not None:
            query.append(("since", str(int(since))))
        path = "/api/events/stream" + (f"?{urlencode(query)}" if query else "")
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        response = await send(self.endpoint, "GET", path, self.token, None, headers, STREAM_CONNECT_TIMEOUT)
        if response.status != 200:
            try:
                data = await response.body.read_all(64 * 1024)
            except (HTTPProtocolError, TimeoutError, ConnectionError):
                data = b""
            finally:
                response.close()
            raise APIError(response.status, error_message(parse_json(data), response.status), "GET", path)
        response.body.timeout = STREAM_IDLE_TIMEOUT
        return response


def parse_json(data):
    try:
        return json.loads(data)
    except ValueError:
        return None


def error_message(data, status):
    """The host's ``{"error": {"message": ...}}``, or a description of what came instead."""
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"]
    if isinstance(error, str):
        return error
    return f"(no error message; the body was {str(data)[:120]})" if data is not None else "(no error message)"
