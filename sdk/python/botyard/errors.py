"""Exceptions a strategy may see."""


class BotyardError(Exception):
    """Base of Botyard's own errors."""


class TickTimeoutError(BotyardError):
    """The tick ran past its ``tick_timeout``; raised inside the tick, then passed to ``on_error``."""


class ProtocolError(BotyardError):
    """The host and the worker disagree about the worker protocol."""


class BlockNotConnectedError(AttributeError):
    """The strategy used ``ctx.<adapter>`` without an edge to a block of that type."""


# Errors the host reports by name, raised in the worker as these types.
HOST_ERRORS = {
    "ValueError": ValueError,
    "KeyError": KeyError,
    "TimeoutError": TimeoutError,
    "ConnectionError": ConnectionError,
    "RuntimeError": RuntimeError,
    "BlockNotConnectedError": BlockNotConnectedError,
    "ProtocolError": ProtocolError,
}
