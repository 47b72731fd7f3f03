"""A fake of the host's runtime API, on loopback in a thread of its own, for the SDK's HTTP tests.

It checks bearer tokens and a worker token's scope, answers the routes the SDK uses (events, sessions,
runtime, workers, restart, ctx calls) and serves ``GET /api/events/stream`` as chunked SSE with ``since=``
replay, ``transport.gap`` for evicted events and ``transport.lagged``. ``drop_streams()`` cuts every stream;
``go_down()`` and ``come_up()`` refuse connections for a while, as a host restart does.
"""

import asyncio
import json
import threading
import time
import uuid
from urllib.parse import parse_qs, urlsplit

ADMIN = "admin-token"
RESERVED = ("turn.", "prompt.", "session.", "transport.", "capabilities.", "component.", "worker.")


class Request:
    def __init__(self, method, target, headers, body):
        parts = urlsplit(target)
        self.method, self.path, self.query = method, parts.path, parse_qs(parts.query)
        self.headers, self.body = headers, body

    def json(self):
        return json.loads(self.body) if self.body else {}


class HTTPError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


class FakeHost:
    def __init__(self, workers=None, may_restart=None):
        self.tokens = {ADMIN: None, **{token: name for name, token in (workers or {"w": "tok-w"}).items()}}
        self.may_restart = may_restart or {}
        self.events, self.seq, self.evicted_through = [], 0, 0
        self.requests = []  # (method, path, body, caller)
        self.stream_queries = []  # (kinds, since) per stream opened
        self.state, self.sessions, self.restarts = {}, {}, []
        self.port = None
        self._streams = set()  # (queue, writer) of the open streams
        self._connections = set()
        self._server = None
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    # Control, from the test's thread

    def start(self):
        self._thread.start()
        self._do(self._listen())
        return self

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def close(self):
        self._do(self._shut())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    def publish(self, kind, payload=None, source="host", session_id=None):
        return self._do(self._publish(kind, payload or {}, source, session_id))

    def drop_streams(self):
        self._do(self._drop())

    def lag_streams(self):
        self._do(self._drop(lagged=True))

    def evict(self, through):
        self.evicted_through = through

    def go_down(self):
        self._do(self._shut())

    def come_up(self):
        self._do(self._listen())

    def open_streams(self):
        return len(self._streams)

    def kinds_published(self):
        return [event["kind"] for event in list(self.events)]

    def wait_for(self, predicate, timeout=5.0):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for the fake host")
            time.sleep(0.01)

    def _do(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(5)

    # In the host's loop

    async def _listen(self):
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port or 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _shut(self):
        if self._server is not None:
            self._server.close()
            self._server = None
        await self._drop()
        for writer in list(self._connections):
            writer.close()

    async def _drop(self, lagged=False):
        for queue, writer in list(self._streams):
            queue.put_nowait("lagged" if lagged else None)

    async def _publish(self, kind, payload, source, session_id):
        self.seq += 1
        envelope = {"event_id": uuid.uuid4().hex, "seq": self.seq, "timestamp": time.time(), "kind": kind,
                    "payload": payload, "source": source}
        if session_id is not None:
            envelope["session_id"] = session_id
        self.events.append(envelope)
        for queue, _ in list(self._streams):
            queue.put_nowait(envelope)
        return envelope

    async def _serve(self, reader, writer):
        self._connections.add(writer)
        try:
            request = await read_request(reader)
            if request is None:
                return
            try:
                caller = self._authorize(request)
                if request.path == "/api/events/stream":
                    await self._stream(request, writer)
                    return
                status, body = await self._route(request, caller)
            except HTTPError as error:
                status, body = error.status, {"error": {"message": error.message}}
            write_json(writer, status, body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._connections.discard(writer)
            writer.close()

    def _authorize(self, request):
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            raise HTTPError(401, "missing bearer token")
        token = header[len("Bearer "):]
        if token not in self.tokens:
            raise HTTPError(401, "wrong bearer token")
        worker = self.tokens[token]
        self.requests.append((request.method, request.path, request.json(), worker or "operator"))
        if worker is None:
            return "operator"
        own = f"/api/workers/{worker}"
        parts = request.path.split("/")
        allowed = (request.method == "GET" and request.path in ("/api/runtime", "/api/sessions", "/api/events/stream",
                                                                 own)) or (
            request.method == "POST" and (request.path in ("/api/events", "/api/sessions", own + "/calls")
                                          or (len(parts) == 5 and parts[2] == "sessions" and parts[4] == "events")
                                          or (len(parts) == 5 and parts[4] == "restart"
                                              and parts[3] in self.may_restart.get(worker, ()))))
        if not allowed:
            raise HTTPError(403, f"worker '{worker}''s token may not {request.method} {request.path}; "
                                 "list a worker to restart under its 'may_restart:'")
        return worker

    async def _route(self, request, caller):
        method, path, parts = request.method, request.path, request.path.split("/")
        if (method, path) == ("POST", "/api/events"):
            return 200, await self._publish_request(request.json(), caller, None)
        if method == "POST" and len(parts) == 5 and parts[2] == "sessions" and parts[4] == "events":
            if parts[3] not in self.sessions:
                raise HTTPError(404, f"no session '{parts[3]}'; create it with POST /api/sessions")
            self.sessions[parts[3]]["events"] += 1
            return 200, await self._publish_request(request.json(), caller, parts[3])
        if (method, path) == ("GET", "/api/runtime"):
            return 200, {"status": "ok", "version": "0.0.0", "runtimeID": "rt-1", "uptimeSeconds": 1.5,
                         "lastSeq": self.seq, "workers": [{"name": "w", "state": "running"}]}
        if (method, path) == ("GET", "/api/sessions"):
            return 200, {"sessions": list(self.sessions.values())}
        if (method, path) == ("POST", "/api/sessions"):
            body = request.json()
            session_id = body.get("session_id") or uuid.uuid4().hex
            if session_id in self.sessions:
                return 200, {"session": self.sessions[session_id], "created": False}
            self.sessions[session_id] = {"sessionID": session_id, "agent": body.get("agent"), "createdAt": 1.0,
                                         "createdBy": caller, "events": 0}
            return 201, {"session": self.sessions[session_id], "created": True}
        if method == "GET" and len(parts) == 4 and parts[2] == "workers":
            if parts[3] not in self.tokens.values():
                raise HTTPError(404, f"no worker named '{parts[3]}'")
            return 200, {"name": parts[3], "state": "running", "reason": "started", "logPath": "/x/w.log"}
        if method == "POST" and len(parts) == 5 and parts[4] == "restart":
            self.restarts.append(parts[3])
            return 200, {"accepted": "restart", "worker": {"name": parts[3], "state": "stopping"}}
        if method == "POST" and len(parts) == 5 and parts[4] == "calls":
            return 200, self._call(parts[3], request.json())
        raise HTTPError(404, f"no route {method} {path}")

    async def _publish_request(self, body, caller, session_id):
        kind = body.get("kind")
        if not isinstance(kind, str):
            raise HTTPError(400, "'kind' is missing")
        for prefix in RESERVED:
            if kind.startswith(prefix):
                raise HTTPError(400, f"the '{prefix}' prefix is reserved for the host")
        payload = body.get("payload", {})
        if kind == "notify" and payload.get("severity", "info") not in ("info", "warning", "error", "success"):
            raise HTTPError(400, f"severity '{payload['severity']}' is not one of error, info, success, warning")
        envelope = await self._publish(kind, payload, caller, session_id)
        return {"eventID": envelope["event_id"], "seq": envelope["seq"], "source": caller}

    def _call(self, worker, body):
        method, params = body.get("method"), body.get("params", {})
        store = self.state.setdefault(worker, {})
        if method == "state.get":
            return {"result": {"found": params["key"] in store, "json": store.get(params["key"])}}
        if method == "state.set":
            try:
                json.loads(params["json"])
            except ValueError:
                return {"error": {"type": "ValueError", "message": f"state value for '{params['key']}' is not JSON"}}
            store[params["key"]] = params["json"]
            return {"result": None}
        if method == "state.incr":
            store[params["key"]] = json.dumps(json.loads(store.get(params["key"], "0")) + params["by"])
            return {"result": store[params["key"]]}
        if method == "state.keys":
            return {"result": sorted(key for key in store if key.startswith(params.get("prefix", "")))}
        return {"error": {"type": "ProtocolError", "message": f"unknown ctx call '{method}'"}}

    async def _stream(self, request, writer):
        kinds = request.query.get("kinds", [])
        since = request.headers.get("last-event-id") or (request.query.get("since") or [None])[0]
        since = None if since is None else int(since)
        self.stream_queries.append((kinds, since))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        queue = asyncio.Queue()
        self._streams.add((queue, writer))
        try:
            write_chunk(writer, b"retry: 2000\n\n")
            sent = since if since is not None else self.seq
            if since is not None and since < self.evicted_through:
                gap = {"event_id": uuid.uuid4().hex, "seq": self.evicted_through, "timestamp": time.time(),
                       "kind": "transport.gap", "source": "host",
                       "payload": {"since": since, "resumed_after": self.evicted_through,
                                   "missed": self.evicted_through - since, "reason": "evicted"}}
                write_event(writer, gap)
                sent = self.evicted_through
            for envelope in list(self.events):
                if envelope["seq"] > sent:
                    queue.put_nowait(envelope)
            while True:
                envelope = await queue.get()
                if envelope is None:
                    break  # dropped: the connection ends without the last chunk
                if envelope == "lagged":
                    write_chunk(writer, b'event: transport.lagged\ndata: {"queued":1001}\n\n')
                    write_chunk(writer, b"")
                    break
                if envelope["seq"] <= sent or (kinds and not matches(envelope["kind"], kinds)):
                    continue
                write_event(writer, envelope)
                sent = envelope["seq"]
                await writer.drain()
        finally:
            self._streams.discard((queue, writer))


def matches(kind, kinds):
    return any(kind == k or (k.endswith(".*") and kind.startswith(k[:-1])) for k in kinds)


async def read_request(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Request(method, target, headers, body)


def write_json(writer, status, body):
    data = json.dumps(body).encode()
    reason = {200: "OK", 201: "Created"}.get(status, "Error")
    writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n"
                 f"Connection: close\r\n\r\n".encode() + data)


def write_chunk(writer, data):
    writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")


def write_event(writer, envelope):
    """A ping, then one SSE event in two chunks split mid-line, so that the client's reader must join them."""
    data = f"id: {envelope['seq']}\ndata: {json.dumps(envelope)}\n\n".encode()
    write_chunk(writer, b": ping\n\n")
    write_chunk(writer, data[: len(data) // 2])
    write_chunk(writer, data[len(data) // 2:])
