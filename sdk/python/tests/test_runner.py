"""The Python runner against a host played by the test, over a real socket pair on fd 3."""

import time

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
