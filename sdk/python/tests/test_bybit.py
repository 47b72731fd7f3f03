"""ctx.bybit: pybit's names and keyword arguments become one host call; retCode errors raise BybitError."""

import pytest

from botyard import BybitError
from botyard.bybit import METHODS
from botyard.context import Context
from botyard.errors import BlockNotConnectedError
from botyard.protocol import Connection


class RecordingConnection:
    def __init__(self, value=None):
        self.calls = []
        self.value = value if value is not None else {"retCode": 0, "retMsg": "OK", "result": {}}

    def call(self, method, params):
        self.calls.append((method, params))
        return self.value


BLOCKS = [{"name": "main", "type": "bybit"}, {"name": "hedge", "type": "bybit"}, {"name": "x", "type": "smoke"}]


def test_ctx_bybit_is_the_first_connected_bybit_block():
    ctx = Context(RecordingConnection(), "w", 1, BLOCKS)
    assert ctx.bybit.block == "main"
    assert set(ctx.blocks) == {"main", "hedge"}
    assert ctx.blocks["hedge"].block == "hedge"


def test_a_method_sends_its_pybit_name_and_keyword_arguments():
    conn = RecordingConnection({"retCode": 0, "retMsg": "OK", "result": {"orderId": "1"}})
    ctx = Context(conn, "w", 1, BLOCKS)
    reply = ctx.blocks["hedge"].place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.01")
    assert reply["result"]["orderId"] == "1"
    assert conn.calls == [
        (
            "bybit.place_order",
            {
                "block": "hedge",
                "args": {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market", "qty": "0.01"},
            },
        )
    ]


def test_every_pybit_method_is_there_and_takes_keywords_only():
    ctx = Context(RecordingConnection(), "w", 1, BLOCKS)
    for name in METHODS:
        getattr(ctx.bybit, name)(category="linear")
    assert [method for method, _ in ctx.bybit._conn.calls] == [f"bybit.{name}" for name in METHODS]
    with pytest.raises(TypeError):
        ctx.bybit.get_tickers("linear")


def test_without_a_bybit_block_ctx_bybit_says_what_to_connect():
    ctx = Context(RecordingConnection(), "w", 1, [{"name": "x", "type": "smoke"}])
    with pytest.raises(BlockNotConnectedError, match="ctx.bybit needs a connected bybit block"):
        ctx.bybit


class ScriptedSocket:
    """A socket whose peer answers every call with one error frame."""

    def __init__(self, error):
        self.error = error
        self.buffer = b""

    def sendall(self, data):
        import json

        frame = json.loads(data)
        reply = {"type": "result", "id": frame["id"], "ok": False, "error": self.error}
        self.buffer += json.dumps(reply).encode() + b"\n"

    def makefile(self, mode, buffering):
        socket = self

        class Reader:
            def readline(self):
                line, _, socket.buffer = socket.buffer.partition(b"\n")
                return line + b"\n" if line else b""

        return Reader()


def test_a_bybit_error_from_the_host_carries_ret_code_and_ret_msg():
    error = {"type": "BybitError", "message": "Bybit 110007: ab not enough", "ret_code": 110007, "ret_msg": "ab not enough"}
    ctx = Context(Connection(ScriptedSocket(error)), "w", 1, BLOCKS)
    with pytest.raises(BybitError) as raised:
        ctx.bybit.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="1000")
    assert raised.value.ret_code == 110007
    assert raised.value.status_code == 110007
    assert raised.value.ret_msg == "ab not enough"
    assert "110007" in str(raised.value)
