"""A small HTTP/1.1 client on asyncio streams: what the SDK needs to talk to the host's runtime API.

``request_json`` sends one request (a JSON body or none) and returns the status and the JSON it answered;
``open_stream`` starts a long response (Server-Sent Events) whose body ``Body.readline`` reads line by line.
Bodies may come with a Content-Length, chunked, or until the server closes. Every wait has a deadline, and
what a server sends is bounded: a line or header of more than ``MAX_LINE`` bytes, a JSON body of more than
``MAX_BODY`` bytes, a malformed status line, header or chunk size raise ``HTTPProtocolError`` at once.
``http://`` and ``https://`` (with the system's certificates) URLs. One connection per request.
"""

import asyncio
import json
import re
from urllib.parse import urlsplit

from .errors import BotyardError

MAX_LINE = 1 << 20  # one line of a head or a body (an SSE field): 1 MiB
MAX_HEAD = 256 * 1024  # a response's status line and headers together
MAX_HEADERS = 100
MAX_BODY = 16 << 20  # a JSON response
READ_SIZE = 64 * 1024
STATUS_LINE = re.compile(rb"^HTTP/1\.[01] ([1-5][0-9][0-9])(?: (.*))?$")
CHUNK_SIZE = re.compile(rb"^([0-9a-fA-F]{1,15})[ \t]*(?:;.*)?$")
USER_AGENT = "botyard-python"


class HTTPProtocolError(BotyardError):
    """The server's response is not HTTP this client reads, or is larger than it takes."""


class Endpoint:
    """Where a base URL points: scheme, host, port and path prefix."""

    def __init__(self, url):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the runtime URL is http://HOST:PORT (or https://), not {url!r}")
        self.url = url
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        try:
            self.port = parts.port or (443 if self.tls else 80)
        except ValueError:
            raise ValueError(f"the runtime URL {url!r} has a bad port") from None
        self.prefix = parts.path.rstrip("/")

    def host_header(self):
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.tls else 80
        return host if self.port == default else f"{host}:{self.port}"


class Body:
    """A response body, read in pieces (``read``) or lines (``readline``), each within ``timeout`` seconds."""

    def __init__(self, reader, headers, timeout):
        self._reader = reader
        self.timeout = timeout
        self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        self._left = None if self._chunked else content_length(headers)  # None: until the server closes
        self._chunk_left = 0
        self._done = self._left == 0
        self._pending = bytearray()

    async def read(self):
        """The next piece of the body; ``b""`` at its end."""
        if self._done:
            return b""
        try:
            async with asyncio.timeout(self.timeout):
                return await self._read()
        except TimeoutError:
            raise TimeoutError(f"nothing arrived from the server for {self.timeout:g}s") from None

    async def _read(self):
        if self._chunked:
            return await self._read_chunk()
        size = READ_SIZE if self._left is None else min(READ_SIZE, self._left)
        data = await self._reader.read(size)
        if self._left is not None:
            if not data:
                raise HTTPProtocolError(f"the body ended {self._left} bytes before its Content-Length")
            self._left -= len(data)
        self._done = not data or self._left == 0
        return data

    async def _read_chunk(self):
        if self._chunk_left == 0:
            size = chunk_size(await read_line(self._reader))
            if size == 0:
                await self._skip_trailers()
                return b""
            self._chunk_left = size
        data = await self._reader.read(min(READ_SIZE, self._chunk_left))
        if not data:
            raise HTTPProtocolError("the body ended inside a chunk")
        self._chunk_left -= len(data)
        if self._chunk_left == 0 and await read_line(self._reader) != b"":
            raise HTTPProtocolError("a chunk is not followed by CRLF")
        return data

    async def _skip_trailers(self):
        for _ in range(MAX_HEADERS + 1):
            if await read_line(self._reader) == b"":
                self._done = True
                return
        raise HTTPProtocolError("too many trailer lines after the last chunk")

    async def readline(self):
        """The next line without its LF or CRLF (bytes), or None at the end of the body."""
        while True:
            end = self._pending.find(b"\n")
            if end >= 0:
                line = bytes(self._pending[:end])
                del self._pending[: end + 1]
                return line[:-1] if line.endswith(b"\r") else line
            if len(self._pending) > MAX_LINE:
                raise HTTPProtocolError(f"a line longer than {MAX_LINE} bytes")
            data = await self.read()
            if not data:
                if self._pending:
                    line, self._pending = bytes(self._pending), bytearray()
                    return line
                return None
            self._pending += data

    async def read_all(self, limit=MAX_BODY):
        """The whole body; HTTPProtocolError past ``limit`` bytes."""
        if self._left is not None and self._left > limit:
            raise HTTPProtocolError(f"a body of {self._left} bytes; this client takes at most {limit}")
        data = bytearray()
        while piece := await self.read():
            data += piece
            if len(data) > limit:
                raise HTTPProtocolError(f"a body of more than {limit} bytes")
        return bytes(data)


class Response:
    """A response's ``status``, ``headers`` (lower-case names) and ``body``; ``close()`` ends the connection."""

    def __init__(self, status, headers, body, writer):
        self.status = status
        self.headers = headers
        self.body = body
        self._writer = writer

    def close(self):
        self._writer.close()


def content_length(headers):
    """The Content-Length as an int, or None when there is none."""
    text = headers.get("content-length")
    if text is None:
        return None
    if not text.isdigit() or len(text) > 18:
        raise HTTPProtocolError(f"a bad Content-Length: {text[:40]!r}")
    return int(text)


def chunk_size(line):
    match = CHUNK_SIZE.match(line)
    if match is None:
        raise HTTPProtocolError(f"a bad chunk size line: {line[:40]!r}")
    return int(match.group(1), 16)


async def read_line(reader):
    """One CRLF- or LF-ended line of the head or of chunk framing, without its end; bounded by the stream's limit."""
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as error:
        if error.partial:
            raise HTTPProtocolError("the connection closed inside a line") from None
        raise ConnectionError("the server closed the connection") from None
    except asyncio.LimitOverrunError:
        raise HTTPProtocolError(f"a line longer than {MAX_LINE} bytes") from None
    return line.rstrip(b"\r\n")


async def read_head(reader):
    """The status code and the headers (lower-case names; repeated ones joined with ", ")."""
    status_line = await read_line(reader)
    match = STATUS_LINE.match(status_line)
    if match is None:
        raise HTTPProtocolError(f"not an HTTP/1.1 status line: {status_line[:80]!r}")
    headers = {}
    size = len(status_line)
    while line := await read_line(reader):
        size += len(line)
        if size > MAX_HEAD or len(headers) >= MAX_HEADERS:
            raise HTTPProtocolError("the response's headers are too large")
        name, colon, value = line.partition(b":")
        if not colon or not name.strip():
            raise HTTPProtocolError(f"a malformed header line: {line[:80]!r}")
        key = name.strip().decode("latin-1").lower()
        value = value.strip().decode("latin-1")
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return int(match.group(1)), headers


def encode_request(endpoint, method, path, token, body, headers):
    lines = [f"{method} {endpoint.prefix}{path} HTTP/1.1", f"Host: {endpoint.host_header()}",
             f"User-Agent: {USER_AGENT}", "Connection: close"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    for name, value in (headers or {}).items():
        if any(char in f"{name}{value}" for char in "\r\n"):
            raise ValueError(f"a header with a line break: {name!r}")
        lines.append(f"{name}: {value}")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + (body or b"")


async def send(endpoint, method, path, token=None, body=None, headers=None, timeout=30.0):
    """Connects, sends the request and reads the head, all within ``timeout``; returns the ``Response``."""

    async def exchange():
        context = None
        if endpoint.tls:
            import ssl  # only for https:// (the host's API is http:// on loopback)

            context = ssl.create_default_context()
        reader, writer = await asyncio.open_connection(endpoint.host, endpoint.port, ssl=context, limit=MAX_LINE)
        try:
            writer.write(encode_request(endpoint, method, path, token, body, headers))
            await writer.drain()
            status, response_headers = await read_head(reader)
        except BaseException:
            writer.close()
            raise
        return Response(status, response_headers, Body(reader, response_headers, timeout), writer)

    try:
        async with asyncio.timeout(timeout):
            return await exchange()
    except TimeoutError:
        raise TimeoutError(f"{method} {path}: no answer from {endpoint.url} within {timeout:g}s") from None


async def request_json(endpoint, method, path, token=None, payload=None, timeout=30.0):
    """Sends ``payload`` (JSON, or no body when None); returns ``(status, the JSON answer)`` (None for no body).

    ``timeout`` bounds the whole exchange. HTTPProtocolError when the answer is not JSON.
    """
    body = None if payload is None else json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    response = await send(endpoint, method, path, token, body, {"Accept": "application/json"}, timeout)
    try:
        try:
            async with asyncio.timeout_at(deadline):
                data = await response.body.read_all()
        except TimeoutError:
            raise TimeoutError(f"{method} {path}: the answer did not arrive within {timeout:g}s") from None
    finally:
        response.close()
    if not data.strip():
        return response.status, None
    try:
        return response.status, json.loads(data)
    except ValueError:
        raise HTTPProtocolError(
            f"{method} {path}: the host answered {response.status} with a body that is not JSON: {data[:120]!r}"
        ) from None
