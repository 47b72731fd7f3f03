"""ctx's own checks, made before anything is sent to the host."""

import pytest

from botyard.context import Context, Response
from botyard.errors import BlockNotConnectedError


class RecordingConnection:
    def __init__(self):
        self.calls = []
        self.sent = []

    def call(self, method, params):
        self.calls.append((method, params))
        return {"found": False, "json": None} if method == "state.get" else '7'

    def send(self, frame):
        self.sent.append(frame)


@pytest.fixture
def ctx():
    return Context(RecordingConnection(), "w", 1)


def test_a_key_over_256_bytes_is_a_value_error(ctx):
    with pytest.raises(ValueError, match="257 bytes; the limit is 256"):
        ctx.state.set("k" * 257, 1)
    assert ctx.state._conn.calls == []


def test_a_value_over_one_mebibyte_is_a_value_error(ctx):
    with pytest.raises(ValueError, match="the limit is 1 MiB"):
        ctx.state.set("big", "x" * (1 << 20))


def test_values_must_be_json(ctx):
    with pytest.raises(ValueError, match="not JSON"):
        ctx.state.set("obj", object())
    with pytest.raises(ValueError, match="not JSON"):
        ctx.state.set("nan", float("nan"))


def test_floats_and_ints_keep_their_json_form(ctx):
    ctx.state.set("price", 100.0)
    ctx.state.set("count", 3)
    assert ctx.state._conn.calls == [
        ("state.set", {"key": "price", "json": "100.0"}),
        ("state.set", {"key": "count", "json": "3"}),
    ]


def test_get_returns_the_default_when_missing(ctx):
    assert ctx.state.get("nothing", 42) == 42


def test_incr_returns_the_new_value(ctx):
    assert ctx.state.incr("n", by=2) == 7
    with pytest.raises(ValueError):
        ctx.state.incr("n", by="2")


def test_incr_refuses_integers_that_cannot_be_sent_exactly(ctx):
    with pytest.raises(ValueError, match="2\\*\\*53"):
        ctx.state.incr("n", by=2**53 + 1)


def test_an_unconnected_adapter_names_the_block_to_connect(ctx):
    with pytest.raises(BlockNotConnectedError, match="ctx.bybit needs a connected bybit block"):
        ctx.bybit
    assert not hasattr(ctx, "telegram")


def test_log_levels_become_log_frames(ctx):
    ctx.log.warn("careful")
    ctx.log.debug(3)
    assert ctx.log._conn.sent == [
        {"type": "log", "level": "warn", "message": "careful"},
        {"type": "log", "level": "debug", "message": "3"},
    ]


def test_a_response_parses_its_json():
    response = Response(200, {"content-type": "application/json"}, '{"a": [1, 2]}')
    assert response.ok and response.json() == {"a": [1, 2]}
