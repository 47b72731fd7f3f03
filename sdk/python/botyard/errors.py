"""Exceptions a strategy may see."""


class BotyardError(Exception):
    """Base of Botyard's own errors."""


class TickTimeoutError(BotyardError):
    """The tick ran past its ``tick_timeout``; raised inside the tick, then passed to ``on_error``."""


class ProtocolError(BotyardError):
    """The host and the worker disagree about the worker protocol."""


class BlockNotConnectedError(AttributeError):
    """The strategy used ``ctx.<adapter>`` without an edge to a block of that type."""


class BybitError(BotyardError):
    """Bybit answered with a non-zero ``retCode`` (pybit raises ``InvalidRequestError`` there).

    ``ret_code`` and ``ret_msg`` are Bybit's; ``status_code`` repeats ``ret_code`` as pybit names it.
    """

    def __init__(self, message, ret_code=None, ret_msg=None):
        super().__init__(message)
        self.message = message
        self.ret_code = ret_code
        self.ret_msg = ret_msg
        self.status_code = ret_code

    @classmethod
    def from_host(cls, error):
        return cls(error.get("message", "Bybit request failed"), error.get("ret_code"), error.get("ret_msg"))


# Errors the host reports by name, raised in the worker as these types.
HOST_ERRORS = {
    "ValueError": ValueError,
    "KeyError": KeyError,
    "TimeoutError": TimeoutError,
    "ConnectionError": ConnectionError,
    "RuntimeError": RuntimeError,
    "BlockNotConnectedError": BlockNotConnectedError,
    "ProtocolError": ProtocolError,
    "BybitError": BybitError,
}
