"""Shared fixtures: ``host`` starts ``python -m botyard.runner`` against a host the test plays."""

import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import pytest

SDK = os.path.join(os.path.dirname(__file__), "..")
sys.path.insert(0, SDK)


class FakeHost:
    """Plays the host's side of the worker protocol for one runner process, over fd 3."""

    def __init__(self, tmp_path, source):
        self.script = tmp_path / "strategy.py"
        self.script.write_text(textwrap.dedent(source))
        host_end, worker_end = socket.socketpair()
        env = dict(os.environ, PYTHONPATH=SDK)
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-m", "botyard.runner"],
            pass_fds=(3, worker_end.fileno()),
            preexec_fn=lambda: os.dup2(worker_end.fileno(), 3),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        worker_end.close()
        self.sock = host_end
        self.sock.settimeout(10)
        self.reader = host_end.makefile("rb")
        self.state = {}
        self.logs = []
        self.calls = []
        self.published = 0

    def send(self, frame):
        self.sock.sendall(json.dumps(frame).encode() + b"\n")

    def recv(self):
        line = self.reader.readline()
        return json.loads(line) if line else None

    def init_frame(self):
        return {"type": "init", "v": 1, "worker": {"name": "t", "interval": 1}, "script": str(self.script)}

    def start(self, timeout=60):
        self.send(self.init_frame())
        return self.recv()

    def until(self, kind, delay_results=0.0):
        """Serves calls and logs until a frame of ``kind``."""
        while True:
            frame = self.recv()
            assert frame is not None, "the runner closed the socket"
            if frame["type"] == "log":
                self.logs.append((frame["level"], frame["message"]))
            elif frame["type"] == "call":
                time.sleep(delay_results)
                self.reply(frame, self.answer(frame))
            elif frame["type"] == kind:
                return frame
            else:
                raise AssertionError(f"unexpected frame {frame}")

    def reply(self, call, value):
        self.send({"type": "result", "id": call["id"], "ok": True, "value": value})

    def answer(self, call):
        """What this fake host answers a call (and it records every call in ``calls``)."""
        method, params = call["method"], call["params"]
        self.calls.append((method, params))
        if method == "state.get":
            found = params["key"] in self.state
            return {"found": found, "json": self.state.get(params["key"])}
        if method == "state.set":
            self.state[params["key"]] = params["json"]
            return None
        if method == "state.incr":
            value = json.loads(self.state.get(params["key"], "0")) + params["by"]
            self.state[params["key"]] = json.dumps(value)
            return self.state[params["key"]]
        if method == "events.publish":
            self.published += 1
            return {"event_id": f"e{self.published}", "seq": 100 + self.published}
        if method == "workers.restart":
            return None
        raise AssertionError(f"unexpected call {call}")

    def output(self):
        """Everything the runner printed (stdout and stderr), once it has exited."""
        return self.process.stdout.read().decode()

    def close(self):
        self.reader.close()
        self.sock.close()
        self.process.wait(timeout=10)


@pytest.fixture
def host(tmp_path):
    """``host(source)``: a ``FakeHost`` running ``source`` as strategy.py; killed at the end."""
    hosts = []

    def make(source):
        fake = FakeHost(tmp_path, source)
        hosts.append(fake)
        return fake

    yield make
    for fake in hosts:
        if fake.process.poll() is None:
            fake.process.kill()
        fake.process.wait()
