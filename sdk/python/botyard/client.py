"""``RuntimeClient``: what an event worker's handlers get, the async counterpart of ``ctx``.

``await client.state.get(key)``, ``await client.publish(kind, payload)``, ``await client.notify(title)``,
``await client.restart_worker(name)``, ``await client.http.get(url)``, and ``client.log.info(message)``
(not awaited). The checks are ``ctx``'s own (``botyard.context``) and the host's rules for events
(``publish_params``), made before anything is sent, so a mistake fails at once with the host's message.
"""

import json

from .context import Log, http_params, incr_amount, post_body, response, state_json, state_key, state_value


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
    """The worker's channel back to the host, passed to every handler."""

    def __init__(self, conn, worker_name):
        self._conn = conn
        self.worker_name = worker_name
        self.state = AsyncState(conn)
        self.log = Log(conn)
        self.http = AsyncHttp(conn)

    def __repr__(self):
        return f"<RuntimeClient {self.worker_name}>"

    async def publish(self, kind, payload=None):
        """Publishes an event; returns its ``seq``."""
        return (await self._conn.call("events.publish", publish_params(kind, payload)))["seq"]

    async def notify(self, title, body="", severity="info"):
        """Publishes a ``notify`` event (a notification for the operator); returns its ``seq``."""
        return await self.publish("notify", notify_payload(self.worker_name, title, body, severity))

    async def restart_worker(self, name):
        """Asks the host to restart the worker ``name`` (as botyard.yaml names it)."""
        await self._conn.call("workers.restart", {"name": worker_name(name)})
