"""``RuntimeClient``: what an event worker's handlers get, the async counterpart of ``ctx``.

``await client.state.get(key)``, ``await client.publish(kind, payload)``, ``await client.notify(title)``,
``await client.restart_worker(name)``, ``await client.http.get(url)``, and ``client.log.info(message)``
(not awaited). The checks are ``ctx``'s own (``botyard.context``), made before anything is sent.
"""

import json

from .context import Log, http_params, incr_amount, post_body, response, state_json, state_key, state_value


def event_kind(kind):
    """An event kind, checked: a non-empty str."""
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"an event kind is a non-empty str, not {kind!r}")
    return kind


def event_payload(payload):
    """An event payload, checked: a dict that JSON holds (None is ``{}``)."""
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise ValueError(f"an event payload is a dict, not {type(payload).__name__}")
    try:
        json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"the event payload is not JSON: {error}") from None
    return payload


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
        params = {"kind": event_kind(kind), "payload": event_payload(payload)}
        return (await self._conn.call("events.publish", params))["seq"]

    async def notify(self, title, body="", severity="info"):
        """Publishes a ``notify`` event (a notification for the operator); returns its ``seq``."""
        return await self.publish("notify", notify_payload(self.worker_name, title, body, severity))

    async def restart_worker(self, name):
        """Asks the host to restart the worker ``name`` (as botyard.yaml names it)."""
        await self._conn.call("workers.restart", {"name": worker_name(name)})
