"""The worker side of the worker protocol: newline-delimited JSON over the socket on fd 3.

See docs/protocol.md. In tick mode (``Connection``) calls are synchronous: the worker sends ``call``
and reads frames until the ``result`` with the same id (a stale result of an interrupted call is
skipped). In event mode (``AsyncConnection``) many calls wait at once, each on a future of its own,
and the event runner routes every ``result`` to its call.
"""

import asyncio
import json
import os
import socket

from .errors import host_error

# The longest frame the host takes from a worker.
MAX_FRAME_BYTES = 4 * 1024 * 1024


def encode(frame):
    """A frame as one line of compact JSON (raises ValueError or TypeError for what JSON cannot hold)."""
    return json.dumps(frame, separators=(",", ":"), allow_nan=False).encode() + b"\n"


class Connection:
    """A frame connection to the host."""

    def __init__(self, sock):
        self._sock = sock
        self._reader = sock.makefile("rb", buffering=65536)
        self._next_id = 0
        # Non-zero while a frame is being written or a call awaits its result: a timeout alarm then waits.
        self.busy = 0
        # Called when the connection becomes idle again (the runner raises a deferred timeout there).
        self.on_idle = None

    @classmethod
    def from_fd(cls, fd=3):
        sock = socket.socket(fileno=fd)
        os.set_inheritable(sock.fileno(), False)  # children of the strategy must not hold the host's socket
        return cls(sock)

    def send(self, frame):
        data = encode(frame)
        self.busy += 1
        try:
            self._sock.sendall(data)
        finally:
            self._idle()

    def _idle(self):
        self.busy -= 1
        if self.busy == 0 and self.on_idle is not None:
            self.on_idle()

    def recv(self):
        """The next frame from the host, or ``None`` when the host closed the socket."""
        line = self._reader.readline()
        if not line:
            return None
        return json.loads(line)

    def call(self, method, params):
        """Sends a ctx call and returns its value; raises the error the host reports."""
        self._next_id += 1
        call_id = self._next_id
        self.busy += 1
        try:
            self.send({"type": "call", "id": call_id, "method": method, "params": params})
            while True:
                frame = self.recv()
                if frame is None:
                    raise ConnectionError("the host closed the connection")
                if frame.get("type") == "result" and frame.get("id") == call_id:
                    break
                if frame.get("type") == "shutdown":
                    raise SystemExit(0)
                # A stale result (an earlier call interrupted by a timeout) is skipped.
        finally:
            self._idle()
        if frame.get("ok"):
            return frame.get("value")
        raise host_error(frame.get("error"))

    def take_buffered(self):
        """Hands the socket over: the bytes read ahead but not yet returned as frames.

        Leaves the socket non-blocking (as asyncio wants it); this connection must not read again.
        """
        self._sock.setblocking(False)
        chunks = []
        while True:
            try:
                chunk = self._reader.read1(65536)
            except BlockingIOError:
                break
            if not chunk:  # nothing more without waiting (or the host closed the socket)
                break
            chunks.append(chunk)
        return b"".join(chunks)

    @property
    def socket(self):
        return self._sock

    def close(self):
        try:
            self._reader.close()
            self._sock.close()
        except OSError:
            pass


class AsyncConnection:
    """The event runner's frame connection: writes whole lines, and calls that wait concurrently.

    ``send`` encodes the whole frame before writing it, so frames never interleave; ``call`` waits
    on a future that ``resolve`` completes when the host's ``result`` with that id arrives.
    """

    def __init__(self, reader, writer):
        self._reader = reader
        self._writer = writer
        self._next_id = 0
        self._waiting = {}

    def send(self, frame):
        data = encode(frame)
        if len(data) > MAX_FRAME_BYTES:
            raise ValueError(f"a {frame.get('type')} frame of {len(data)} bytes; the host takes at most 4 MiB")
        self._writer.write(data)

    async def recv_line(self):
        """The next line from the host (bytes), or ``b""`` when the host closed the socket."""
        return await self._reader.readline()

    async def call(self, method, params):
        """Sends a call and returns its value; raises the error the host reports."""
        self._next_id += 1
        call_id = self._next_id
        future = asyncio.get_running_loop().create_future()
        self._waiting[call_id] = future
        try:
            self.send({"type": "call", "id": call_id, "method": method, "params": params})
            await self._writer.drain()  # waits while the host is not reading (flow control)
            frame = await future
        finally:
            self._waiting.pop(call_id, None)
        if frame.get("ok"):
            return frame.get("value")
        raise host_error(frame.get("error"))

    def resolve(self, frame):
        """Hands a ``result`` frame to the call waiting for it; a result nobody waits for is dropped."""
        call_id = frame.get("id")
        future = self._waiting.get(call_id) if isinstance(call_id, int) else None
        if future is not None and not future.done():
            future.set_result(frame)
