"""ctx.monitor: checks before sending, one monitor.update per call."""

import math

import pytest

from botyard.context import Context


class RecordingConnection:
    def __init__(self):
        self.calls = []

    def call(self, method, params):
        self.calls.append((method, params))


@pytest.fixture
def ctx():
    return Context(RecordingConnection(), "w", 1, [{"name": "board", "type": "monitor"}])


def sent(ctx):
    return [params["widget"] for method, params in ctx.monitor._conn.calls]


def test_each_widget_becomes_one_update_on_the_block(ctx):
    ctx.monitor.metric("pnl", 12, unit="USDT")
    ctx.monitor.chart("price", 61000.5)
    ctx.monitor.chart("equity", {"real": 1, "paper": 2.5})
    ctx.monitor.text("note", "hello")
    ctx.monitor.status("feed", "warn", "slow")
    ctx.monitor.log("trades", "bought 1")
    ctx.monitor.remove("note")
    assert all(method == "monitor.update" and params["block"] == "board" for method, params in ctx.monitor._conn.calls)
    assert sent(ctx) == [
        {"type": "metric", "name": "pnl", "value": 12.0, "unit": "USDT"},
        {"type": "chart", "name": "price", "points": {"price": 61000.5}},
        {"type": "chart", "name": "equity", "points": {"real": 1.0, "paper": 2.5}},
        {"type": "text", "name": "note", "text": "hello"},
        {"type": "status", "name": "feed", "level": "warn", "text": "slow"},
        {"type": "log", "name": "trades", "line": "bought 1"},
        {"type": "remove", "name": "note"},
    ]


def test_dict_rows_keep_their_key_order_as_columns(ctx):
    ctx.monitor.table("positions", [{"symbol": "BTCUSDT", "size": 0.01}, {"symbol": "ETHUSDT", "pnl": -2}])
    assert sent(ctx) == [
        {
            "type": "table",
            "name": "positions",
            "columns": ["symbol", "size", "pnl"],
            "rows": [["BTCUSDT", 0.01, None], ["ETHUSDT", None, -2.0]],
        }
    ]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m: m.metric("x", math.nan), "finite"),
        (lambda m: m.metric("x", "12"), "must be a number"),
        (lambda m: m.metric("x", True), "must be a number"),
        (lambda m: m.metric("x" * 129, 1), "129 characters; the limit is 128"),
        (lambda m: m.metric("", 1), "non-empty"),
        (lambda m: m.chart("c", {"a": float("inf")}), "finite"),
        (lambda m: m.chart("c", {}), "at least one series"),
        (lambda m: m.table("t", [{"a": 1}] * 1001), "1001 rows; the limit is 1000"),
        (lambda m: m.table("t", [{"a": [1, 2]}]), "a cell is"),
        (lambda m: m.table("t", ["row"]), "must be a dict or a list"),
        (lambda m: m.status("s", "red"), "ok, warn, error"),
        (lambda m: m.text("t", 5), "must be a str"),
    ],
)
def test_bad_input_is_a_value_error_and_nothing_is_sent(ctx, call, message):
    with pytest.raises(ValueError, match=message):
        call(ctx.monitor)
    assert ctx.monitor._conn.calls == []
