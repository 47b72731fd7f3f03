"""The worker side of the worker protocol: newline-delimited JSON over the socket on fd 3.

See docs/protocol.md. Calls are synchronous: the worker sends ``call`` and reads frames until the
``result`` with the same id (a stale result of an interrupted call is skipped).
"""

import json
import os
import socket

from .errors import HOST_ERRORS, ProtocolError


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
        data = json.dumps(frame, separators=(",", ":"), allow_nan=False).encode() + b"\n"
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
        error = frame.get("error") or {}
        kind = HOST_ERRORS.get(error.get("type"), RuntimeError)
        from_host = getattr(kind, "from_host", None)
        if from_host is not None:
            raise from_host(error)
        raise kind(error.get("message", "ctx call failed"))

    def close(self):
        try:
            self._reader.close()
            self._sock.close()
        except OSError:
            pass
