"""``ctx.bybit``: Bybit V5 through the host, with pybit's method names and keyword arguments.

The host holds the API key and secret, signs each request, keeps the block's rate limits and makes
sure an order is placed once. A worker never sees the credentials. Each method returns the dict pybit
returns (``retCode``, ``retMsg``, ``result``, ``retExtInfo``, ``time``) and raises ``BybitError`` when
Bybit answers with a non-zero ``retCode``.
"""

# pybit HTTP session methods the block serves; see docs/bybit.md for each one's endpoint.
METHODS = (
    "get_server_time",
    "get_tickers",
    "get_kline",
    "get_orderbook",
    "get_instruments_info",
    "place_order",
    "amend_order",
    "cancel_order",
    "cancel_all_orders",
    "get_open_orders",
    "get_positions",
    "set_leverage",
    "get_wallet_balance",
    "get_executions",
)


class Bybit:
    """One connected Bybit block. Methods take keyword arguments only, as pybit's do."""

    def __init__(self, conn, block):
        self._conn = conn
        self.block = block

    def _call(self, method, kwargs):
        return self._conn.call(f"bybit.{method}", {"block": self.block, "args": kwargs})

    def __repr__(self):
        return f"<Bybit block {self.block!r}>"


def _method(name):
    def method(self, **kwargs):
        return self._call(name, kwargs)

    method.__name__ = name
    method.__qualname__ = f"Bybit.{name}"
    method.__doc__ = f"pybit's ``HTTP.{name}(**kwargs)``, made by the host."
    return method


for _name in METHODS:
    setattr(Bybit, _name, _method(_name))
del _name
