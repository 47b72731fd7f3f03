"""The small HTTP client against servers that answer well, badly or not at all: errors, never hangs."""

import asyncio
import time

import pytest

from botyard.httpclient import MAX_LINE, Endpoint, HTTPProtocolError, request_json, send
from botyard.runtime_api import APIError, RuntimeAPI
from botyard.stream import MAX_EVENT, read_event


async def serving(answer, hold=False):
    """A server that reads a request's head, writes ``answer`` (bytes) and closes, or keeps the line open."""

    async def serve(reader, writer):
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer)
            await writer.drain()
            if hold:
                await asyncio.sleep(30)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, Endpoint(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")


def exchange(answer, hold=False, timeout=2.0):
    async def scenario():
        server, endpoint = await serving(answer, hold)
        async with server:
            return await request_json(endpoint, "GET", "/api/runtime", "t", None, timeout)

    return asyncio.run(scenario())


def chunked(*pieces):
    return b"".join(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" for piece in pieces) + b"0\r\n\r\n"


def test_json_with_a_content_length_or_chunked():
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    assert exchange(head + b"Content-Length: 12\r\n\r\n" + b'{"a": [1,2]}') == (200, {"a": [1, 2]})
    assert exchange(head + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(b'{"a"', b': 1}')) == (200, {"a": 1})
    assert exchange(b"HTTP/1.1 403 Forbidden\r\n\r\n" + b'{"error": {"message": "no"}}') == (
        403, {"error": {"message": "no"}})  # until the server closes


def test_a_body_that_is_not_json_is_an_error_naming_the_status():
    with pytest.raises(HTTPProtocolError, match="answered 502 with a body that is not JSON: b'<html>"):
        exchange(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 6\r\n\r\n<html>")


@pytest.mark.parametrize("answer, message", [
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "a bad chunk size line"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"f" * 40 + b"\r\n", "a bad chunk size line"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcdef\r\n", "not followed by CRLF"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", "at most"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "a bad Content-Length"),
    (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP/1.1 status line"),
    (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "a malformed header line"),
    (b"HTTP/1.1 200 OK\r\nX-Big: " + b"x" * (MAX_LINE + 10), "a line longer than"),
], ids=["chunk-size-not-hex", "chunk-size-too-long", "chunk-too-long", "huge-body", "negative-length", "not-http",
        "bad-header", "huge-header"])
def test_hostile_answers_raise_clear_errors(answer, message):
    started = time.monotonic()
    with pytest.raises(HTTPProtocolError, match=message):
        exchange(answer, hold=True)
    assert time.monotonic() - started < 1.5


def test_a_body_cut_short_is_an_error():
    with pytest.raises(HTTPProtocolError, match="ended 8 bytes before its Content-Length"):
        exchange(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}")


def test_a_silent_server_times_out():
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="within 0.3s"):
        exchange(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{", hold=True, timeout=0.3)
    assert time.monotonic() - started < 1.5


def stream_of(body, hold=True):
    """The events read from an SSE response with this chunked ``body`` (the reader's error, if any)."""

    async def scenario():
        server, endpoint = await serving(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" + body, hold)
        async with server:
            response = await send(endpoint, "GET", "/api/events/stream", "t", timeout=2)
            response.body.timeout = 0.5
            events = []
            try:
                while (event := await read_event(response.body)) is not None:
                    events.append(event)
            finally:
                response.close()
            return events

    return asyncio.run(scenario())


def test_sse_events_split_across_chunks_with_comments_crlf_and_multiline_data():
    body = chunked(b"retry: 2000\n\n: ping\n\nid: 4\r\nda", b"ta: {\"a\":\r\ndata:  1}\r\n\r",
                   b"\nevent: x\ndata: y\n\n")
    events = stream_of(body, hold=False)
    assert [(e.event, e.data, e.id) for e in events] == [("message", '{"a":\n 1}', "4"), ("x", "y", None)]


def test_an_oversized_sse_line_or_event_is_an_error_not_a_hang():
    with pytest.raises(HTTPProtocolError, match="a line longer than"):
        stream_of(chunked(b"data: " + b"x" * (MAX_LINE + 100)).removesuffix(b"0\r\n\r\n"))
    many = b"".join(b"data: " + b"x" * 1000 + b"\n" for _ in range(MAX_EVENT // 1000 + 2))
    with pytest.raises(HTTPProtocolError, match="an event of more than"):
        stream_of(chunked(many).removesuffix(b"0\r\n\r\n"))


def test_a_silent_stream_times_out():
    with pytest.raises(TimeoutError, match="nothing arrived"):
        stream_of(chunked(b": ping\n\n").removesuffix(b"0\r\n\r\n"))


def test_a_refused_stream_raises_the_host_s_message():
    async def scenario():
        server, endpoint = await serving(b"HTTP/1.1 503 Unavailable\r\nContent-Length: 34\r\n\r\n"
                                         b'{"error": {"message": "shutting"}}')
        async with server:
            await RuntimeAPI(endpoint.url, "t", "w").open_stream(["a"], 3)

    with pytest.raises(APIError, match=r"GET /api/events/stream\?kinds=a&since=3: 503 shutting"):
        asyncio.run(scenario())


def test_urls_are_checked():
    with pytest.raises(ValueError, match="http://HOST:PORT"):
        Endpoint("ftp://x")
    endpoint = Endpoint("https://host.example/base/")
    assert (endpoint.tls, endpoint.port, endpoint.prefix) == (True, 443, "/base")
    assert endpoint.host_header() == "host.example"
