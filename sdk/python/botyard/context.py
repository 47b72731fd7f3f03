"""``ctx``: what a strategy gets in ``setup``, ``tick`` and ``on_error``."""

import json
import time

from .bybit import Bybit
from .errors import BlockNotConnectedError
from .monitor import Monitor

MAX_KEY_BYTES = 256
MAX_VALUE_BYTES = 1024 * 1024

# Block types this SDK has a client for: type -> class(conn, block_name).
BLOCK_CLIENTS = {"bybit": Bybit, "monitor": Monitor}

# Adapters that need a block, and the block type each needs.
ADAPTER_BLOCKS = {
    "bybit": "bybit",
    "ig": "ig",
    "telegram": "telegram",
    "llm": "llm",
    "files": "files",
    "monitor": "monitor",
}


def state_key(key):
    """A state key, checked: a non-empty str of at most 256 UTF-8 bytes."""
    if not isinstance(key, str):
        raise ValueError(f"state key must be a str, not {type(key).__name__}")
    if not key:
        raise ValueError("state key must not be empty")
    size = len(key.encode())
    if size > MAX_KEY_BYTES:
        raise ValueError(f"state key is {size} bytes; the limit is {MAX_KEY_BYTES}")
    return key


def state_json(key, value):
    """A state value as the JSON text that is stored; ValueError when it is not JSON or over 1 MiB."""
    try:
        text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"state value for {key!r} is not JSON: {error}") from None
    size = len(text.encode())
    if size > MAX_VALUE_BYTES:
        raise ValueError(f"state value for {key!r} is {size} bytes; the limit is 1 MiB")
    return text


def incr_amount(by):
    """What ``incr`` adds, checked: a number (an int below 2**53, which JSON carries exactly)."""
    if isinstance(by, bool) or not isinstance(by, (int, float)):
        raise ValueError("incr adds a number")
    if isinstance(by, int) and abs(by) >= 2**53:
        raise ValueError("incr adds at most 2**53 at a time (larger integers cannot be sent exactly)")
    return by


def state_value(reply, default):
    """The value a ``state.get`` reply carries, or ``default`` when the key is not set."""
    if not reply["found"]:
        return default
    return json.loads(reply["json"])


class State:
    """``ctx.state``: a persistent JSON key-value store of this worker's own."""

    def __init__(self, conn):
        self._conn = conn

    def get(self, key, default=None):
        return state_value(self._conn.call("state.get", {"key": state_key(key)}), default)

    def set(self, key, value):
        key = state_key(key)
        self._conn.call("state.set", {"key": key, "json": state_json(key, value)})

    def delete(self, key):
        return self._conn.call("state.delete", {"key": state_key(key)})

    def keys(self, prefix=""):
        return self._conn.call("state.keys", {"prefix": prefix})

    def incr(self, key, by=1):
        by = incr_amount(by)
        return json.loads(self._conn.call("state.incr", {"key": state_key(key), "by": by}))


class Log:
    """``ctx.log``: lines in the worker's log file and on the host's stdout."""

    def __init__(self, conn):
        self._conn = conn

    def _write(self, level, message):
        self._conn.send({"type": "log", "level": level, "message": str(message)})

    def debug(self, message):
        self._write("debug", message)

    def info(self, message):
        self._write("info", message)

    def warn(self, message):
        self._write("warn", message)

    warning = warn

    def error(self, message):
        self._write("error", message)


class Response:
    """An HTTP response: ``status``, ``headers`` (lower-case names), ``text``, ``json()``."""

    def __init__(self, status, headers, text):
        self.status = status
        self.headers = headers
        self.text = text

    @property
    def ok(self):
        return 200 <= self.status < 400

    def json(self):
        return json.loads(self.text)

    def __repr__(self):
        return f"<Response [{self.status}]>"


def http_params(method, url, params, headers, body, timeout):
    """The params of an ``http.request`` call."""
    return {
        "method": method,
        "url": url,
        "params": {str(k): str(v) for k, v in (params or {}).items()},
        "headers": {str(k): str(v) for k, v in (headers or {}).items()},
        "body": body,
        "timeout": timeout,
    }


def post_body(json, data, headers):
    """A POST's body text and headers (with a Content-Type) from ``json=`` or ``data=``."""
    headers = dict(headers or {})
    body = None
    if json is not None:
        import json as _json

        body = _json.dumps(json, separators=(",", ":"))
        headers.setdefault("Content-Type", "application/json")
    elif data is not None:
        if isinstance(data, dict):
            from urllib.parse import urlencode

            body = urlencode(data)
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        else:
            body = data.decode() if isinstance(data, bytes) else str(data)
    return body, headers


def response(reply):
    """The ``Response`` of an ``http.request`` reply."""
    return Response(int(reply["status"]), reply["headers"], reply["text"])


class Http:
    """``ctx.http``: GET and POST, made by the host."""

    def __init__(self, conn):
        self._conn = conn

    def _request(self, method, url, params, headers, body, timeout):
        return response(self._conn.call("http.request", http_params(method, url, params, headers, body, timeout)))

    def get(self, url, params=None, headers=None, timeout=10):
        return self._request("GET", url, params, headers, None, timeout)

    def post(self, url, json=None, data=None, headers=None, timeout=10):
        body, headers = post_body(json, data, headers)
        return self._request("POST", url, None, headers, body, timeout)


class WorkerInfo:
    """``ctx.worker``: the worker's name, the running tick's number, and its interval in seconds."""

    def __init__(self, name, interval):
        self.name = name
        self.tick = 0
        self.interval = interval
        self.scheduled_at = None
        self.sent_at = None  # when the host sent the tick (Unix time): lateness = host part + delivery

    def __repr__(self):
        return f"<Worker {self.name} tick={self.tick} interval={self.interval}s>"


class Context:
    """The ``ctx`` passed to ``setup``, ``tick`` and ``on_error``.

    ``ctx.blocks`` maps each connected block's name to its client; ``ctx.bybit`` (and the other
    adapters) is the first connected block of that type, in the order of the worker's ``connect:``.
    """

    def __init__(self, conn, name, interval, blocks=()):
        self.state = State(conn)
        self.log = Log(conn)
        self.http = Http(conn)
        self.worker = WorkerInfo(name, interval)
        self.blocks = {}
        self._by_type = {}
        for block in blocks:
            client = BLOCK_CLIENTS.get(block.get("type"))
            if client is None:
                continue
            self.blocks[block["name"]] = adapter = client(conn, block["name"])
            self._by_type.setdefault(block["type"], adapter)

    def __getattr__(self, name):
        block = ADAPTER_BLOCKS.get(name)
        if block is not None:
            adapter = self.__dict__.get("_by_type", {}).get(block)
            if adapter is not None:
                return adapter
            raise BlockNotConnectedError(
                f"ctx.{name} needs a connected {block} block: declare one under 'blocks:' in botyard.yaml "
                f"and add it to this worker's 'connect:' list"
            )
        raise AttributeError(f"ctx has no attribute {name!r}")

    @staticmethod
    def now():
        return time.time()
