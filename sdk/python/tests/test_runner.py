"""The Python runner against a host played by the test, over a real socket pair on fd 3."""

import json
import os
import socket
import subprocess
import sys
import textwrap
import time

import pytest

SDK = os.path.join(os.path.dirname(__file__), "..")


class FakeHost:
    """Plays the host's side of the worker protocol for one runner process."""

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

    def send(self, frame):
        self.sock.sendall(json.dumps(frame).encode() + b"\n")

    def recv(self):
        line = self.reader.readline()
        return json.loads(line) if line else None

    def start(self, timeout=60):
        self.send({"type": "init", "v": 1, "worker": {"name": "t", "interval": 1}, "script": str(self.script)})
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
                self.send({"type": "result", "id": frame["id"], "ok": True, "value": self.answer(frame)})
            elif frame["type"] == kind:
                return frame
            else:
                raise AssertionError(f"unexpected frame {frame}")

    def answer(self, call):
        params = call["params"]
        if call["method"] == "state.get":
            found = params["key"] in self.state
            return {"found": found, "json": self.state.get(params["key"])}
        if call["method"] == "state.set":
            self.state[params["key"]] = params["json"]
            return None
        raise AssertionError(f"unexpected call {call}")

    def close(self):
        self.reader.close()
        self.sock.close()
        self.process.wait(timeout=10)


@pytest.fixture
def host(tmp_path):
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


SEED = """
def setup(ctx):
    ctx.state.set("counter", 0)
    ctx.log.info("Worker started")

def tick(ctx):
    count = ctx.state.get("counter", 0) + 1
    ctx.state.set("counter", count)
    ctx.log.info(f"Tick #{count}")

def on_error(ctx, error):
    ctx.log.error(f"Error occurred: {error}")
"""


def test_the_seed_example_runs_unchanged(host):
    fake = host(SEED)
    assert fake.start()["type"] == "ready"
    fake.send({"type": "setup", "timeout": 5})
    assert fake.until("setup_done")["error"] is None
    for n in (1, 2, 3):
        fake.send({"type": "tick", "n": n, "timeout": 5})
        assert fake.until("tick_done") == {"type": "tick_done", "n": n, "error": None}
    assert fake.state["counter"] == "3"
    assert fake.logs == [("info", "Worker started"), ("info", "Tick #1"), ("info", "Tick #2"), ("info", "Tick #3")]
    fake.send({"type": "shutdown"})
    fake.close()
    assert fake.process.returncode == 0


def test_a_raising_tick_reports_its_traceback_after_on_error(host):
    fake = host(SEED.replace('ctx.log.info(f"Tick #{count}")', 'raise KeyError("price")'))
    fake.start()
    fake.send({"type": "tick", "n": 1, "timeout": 5})
    done = fake.until("tick_done")
    assert done["error"]["type"] == "KeyError"
    assert 'raise KeyError("price")' in done["error"]["traceback"]
    assert "runner.py" not in done["error"]["traceback"]
    assert fake.logs[-1] == ("error", "Error occurred: 'price'")


def test_a_slow_tick_raises_tick_timeout_error_inside_the_tick(host):
    fake = host("""
        import time
        def tick(ctx):
            time.sleep(5)
        def on_error(ctx, error):
            ctx.log.warn(type(error).__name__)
    """)
    fake.start()
    started = time.monotonic()
    fake.send({"type": "tick", "n": 1, "timeout": 0.3})
    done = fake.until("tick_done")
    assert time.monotonic() - started < 2
    assert done["error"]["type"] == "TickTimeoutError"
    assert fake.logs == [("warn", "TickTimeoutError")]


def test_a_timeout_during_a_call_waits_for_the_result_and_keeps_the_stream_whole(host):
    fake = host("""
        def tick(ctx):
            ctx.state.get("slow")
            ctx.state.set("after", 1)
    """)
    fake.start()
    fake.send({"type": "tick", "n": 1, "timeout": 0.2})
    done = fake.until("tick_done", delay_results=0.5)
    assert done["error"]["type"] == "TickTimeoutError"
    assert "after" not in fake.state  # the timeout was raised as soon as the call returned
    fake.send({"type": "tick", "n": 2, "timeout": 5})
    assert fake.until("tick_done")["error"] is None


def test_a_syntax_error_is_a_fatal_frame_with_the_line(host):
    fake = host("def tick(ctx):\n    x = = 1\n")
    fatal = fake.start()
    assert fatal["type"] == "fatal"
    assert fatal["error"]["type"] == "SyntaxError"
    assert fatal["error"]["line"] == 2


def test_a_script_without_tick_is_a_fatal_frame(host):
    fatal = host("def setup(ctx):\n    pass\n").start()
    assert fatal["type"] == "fatal"
    assert "defines no tick(ctx) function" in fatal["error"]["message"]


def test_a_host_of_another_protocol_version_is_refused(host):
    fake = host(SEED)
    fake.send({"type": "init", "v": 99, "worker": {"name": "t"}, "script": str(fake.script)})
    fatal = fake.recv()
    assert fatal["type"] == "fatal" and fatal["error"]["type"] == "ProtocolError"


def test_the_runner_exits_when_the_host_goes_away(host):
    fake = host(SEED)
    fake.start()
    fake.close()
    assert fake.process.returncode == 0


def test_an_exception_in_on_error_is_logged_not_fatal(host):
    fake = host("""
        def tick(ctx):
            raise ValueError("first")
        def on_error(ctx, error):
            raise RuntimeError("second")
    """)
    fake.start()
    fake.send({"type": "tick", "n": 1, "timeout": 5})
    done = fake.until("tick_done")
    assert done["error"]["type"] == "ValueError"
    assert fake.logs == [("error", "on_error raised RuntimeError: second")]
    fake.send({"type": "tick", "n": 2, "timeout": 5})
    assert fake.until("tick_done")["n"] == 2


def test_print_goes_to_the_output_pipe(host):
    fake = host("def tick(ctx):\n    print('hello from the strategy')\n")
    fake.start()
    fake.send({"type": "tick", "n": 1, "timeout": 5})
    fake.until("tick_done")
    fake.send({"type": "shutdown"})
    fake.close()
    assert b"hello from the strategy" in fake.process.stdout.read()
