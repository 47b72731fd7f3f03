"""``RuntimeClient``: what an event worker's handlers get, the async counterpart of ``ctx``.

``await client.state.get(key)``, ``await client.publish(kind, payload)``, ``await client.notify(title)``,
``await client.restart_worker(name)``, ``await client.http.get(url)``, ``client.log.info(message)``
(not awaited), and over the runtime API: ``runtime()``, ``worker(name)``, ``sessions()``,
``create_session()``, ``publish(..., session_id=)`` and ``async for event in client.subscribe(kind)``.
The checks are ``ctx``'s own (``botyard.context``) and the host's rules for events (``publish_params``),
made before anything is sent, so a mistake fails at once with the host's message.
"""

import json

from .context import Log, http_params, incr_amount, post_body, response, state_json, state_key, state_value
from .runtime_api import RuntimeAPI
from .stream import Subscription


# The host's rules for what a worker publishes (Sources/WorkerHost/Events/EventEnvelope.swift, ``EventKind``).
RESERVED_PREFIXES = ("turn.", "prompt.", "session.", "transport.", "capabilities.", "component.", "worker.")
MAX_KIND_BYTES = 128
MAX_PAYLOAD_BYTES = 256 * 1024


def kind_problem(kind, publishing=True):
    """Why a worker cannot publish ``kind`` (the host's wording), or None when it can.

    With ``publishing=False`` the reserved prefixes are allowed: kinds the host itself publishes.
    """
    if not isinstance(kind, str):
        return f"publish needs a 'kind': a str like desk.fill, not {type(kind).__name__}"
    if not kind or len(kind.encode("utf-8", "surrogatepass")) > MAX_KIND_BYTES:
        return f"an event kind is 1 to {MAX_KIND_BYTES} bytes"
    if not all(32 < ord(char) < 127 for char in kind):
        return "an event kind is printable ASCII without spaces, like desk.fill"
    if publishing:
        for prefix in RESERVED_PREFIXES:
            if kind.startswith(prefix):
                return f"the '{prefix}' prefix is reserved for the host; use your own, like desk.{kind[len(prefix):]}"
    return None


def event_kind(kind, publishing=True):
    """An event kind, checked as the host checks it; ValueError with the host's message otherwise."""
    problem = kind_problem(kind, publishing)
    if problem is not None:
        raise ValueError(problem)
    return kind


def event_payload(payload):
    """An event payload, checked as the host checks it: a dict that is JSON, at most 256 KiB (None is ``{}``)."""
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise ValueError(f"an event's payload is a JSON object (a dict), not {type(payload).__name__}")
    try:
        # Compact and UTF-8, as the host measures it.
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"an event's payload is not JSON: {error}") from None
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_PAYLOAD_BYTES:
        raise ValueError(f"the payload is {size} bytes; the limit is {MAX_PAYLOAD_BYTES}")
    return payload


def publish_params(kind, payload):
    """The ``events.publish`` params, checked as the host checks them (``RuntimeClient`` and ``FakeClient``)."""
    return {"kind": event_kind(kind), "payload": event_payload(payload)}


def notify_payload(source, title, body, severity):
    """The payload of a ``notify`` event."""
    for field, value in (("title", title), ("severity", severity)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"notify {field} is a non-empty str, not {value!r}")
    if not isinstance(body, str):
        raise ValueError(f"notify body is a str, not {type(body).__name__}")
    return {"source": source, "title": title, "body": body, "severity": severity}


def worker_name(name):
    """The name of a worker to restart, checked: a non-empty str."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"a worker name is a non-empty str, not {name!r}")
    return name


class AsyncState:
    """``client.state``: ``ctx.state``, awaited: the worker's persistent JSON key-value store."""

    def __init__(self, conn):
        self._conn = conn

    async def get(self, key, default=None):
        return state_value(await self._conn.call("state.get", {"key": state_key(key)}), default)

    async def set(self, key, value):
        key = state_key(key)
        await self._conn.call("state.set", {"key": key, "json": state_json(key, value)})

    async def delete(self, key):
        return await self._conn.call("state.delete", {"key": state_key(key)})

    async def keys(self, prefix=""):
        return await self._conn.call("state.keys", {"prefix": prefix})

    async def incr(self, key, by=1):
        by = incr_amount(by)
        return json.loads(await self._conn.call("state.incr", {"key": state_key(key), "by": by}))


class AsyncHttp:
    """``client.http``: ``ctx.http``, awaited: GET and POST, made by the host."""

    def __init__(self, conn):
        self._conn = conn

    async def _request(self, method, url, params, headers, body, timeout):
        params = http_params(method, url, params, headers, body, timeout)
        return response(await self._conn.call("http.request", params))

    async def get(self, url, params=None, headers=None, timeout=10):
        return await self._request("GET", url, params, headers, None, timeout)

    async def post(self, url, json=None, data=None, headers=None, timeout=10):
        body, headers = post_body(json, data, headers)
        return await self._request("POST", url, None, headers, body, timeout)


class RuntimeClient:
    """The worker's channel back to the host, passed to every handler.

    Under ``code:`` ``conn`` is the fd-3 connection, and the methods only the runtime API has (sessions,
    ``runtime``, ``worker``, ``subscribe``) go over HTTP with the ``BOTYARD_RUNTIME_*`` variables. A standalone
    worker (``RuntimeClient.standalone(api)``) does everything over HTTP.
    """

    def __init__(self, conn, worker_name, api=None):
        self._conn = conn
        self._api = api  # made from the environment when first needed
        self._over_http = api is not None and conn is api
        self.worker_name = worker_name
        self.state = AsyncState(conn)
        self.log = Log(conn)
        self.http = AsyncHttp(conn)

    @classmethod
    def standalone(cls, api):
        """The client of a worker that runs as a process of its own: everything through ``api`` (a RuntimeAPI)."""
        return cls(api, api.worker, api)

    def __repr__(self):
        return f"<RuntimeClient {self.worker_name}>"

    @property
    def api(self):
        """The host's runtime API (``botyard.runtime_api.RuntimeAPI``); ConfigurationError without the variables."""
        if self._api is None:
            self._api = RuntimeAPI.from_env(worker=self.worker_name)
        return self._api

    async def publish(self, kind, payload=None, session_id=None):
        """Publishes an event (to the session ``session_id``, when given); returns its ``seq``."""
        params = publish_params(kind, payload)
        if session_id is not None or self._over_http:
            return (await self.api.publish(params["kind"], params["payload"], session_id))["seq"]
        return (await self._conn.call("events.publish", params))["seq"]

    async def notify(self, title, body="", severity="info", source=None):
        """Publishes a ``notify`` event (a notification for the operator); returns its ``seq``.

        ``source`` is the worker's name unless given.
        """
        payload = notify_payload(notify_source(source, self.worker_name), title, body, severity)
        return await self.publish("notify", payload)

    async def restart_worker(self, name):
        """Asks the host to restart the worker ``name`` (as botyard.yaml names it)."""
        name = worker_name(name)
        if self._over_http:
            await self.api.restart_worker(name)
        else:
            await self._conn.call("workers.restart", {"name": name})

    async def runtime(self):
        """The host's health: ``{"status", "version", "runtimeID", "uptimeSeconds", "lastSeq", "workers"}``."""
        return await self.api.runtime()

    async def worker(self, name):
        """The status of the worker ``name`` (a worker's token reads its own only)."""
        return await self.api.worker_status(worker_name(name))

    async def sessions(self):
        """The host's sessions, as ``botyard.runtime_api.Session`` objects."""
        return await self.api.sessions()

    async def create_session(self, session_id=None, agent=None):
        """Creates a session (or finds the one with this id); ``.session_id``, ``.agent``, ``.created``."""
        return await self.api.create_session(session_id, agent)

    def subscribe(self, *kinds, since=None):
        """``async for event in client.subscribe("desk.fill", "desk.*", since=seq)``: the host's events as they
        come, across reconnections, never one twice (all kinds when none is given). See ``botyard.stream``."""
        for kind in kinds:
            event_kind(kind[:-1] if isinstance(kind, str) and kind.endswith(".*") else kind, publishing=False)
        if since is not None and (isinstance(since, bool) or not isinstance(since, int) or since < 0):
            raise ValueError(f"since is a seq (an int >= 0) or None, not {since!r}")
        return Subscription(self.api, kinds, since)


def notify_source(source, default):
    if source is None:
        return default
    if not isinstance(source, str) or not source:
        raise ValueError(f"notify source is a non-empty str, not {source!r}")
    return source
