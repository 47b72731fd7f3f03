"""Exceptions a strategy may see, and how the runners report them to the host."""

import traceback


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


def describe(error, skip_frames=1):
    """An error as the protocol reports it: type, message, traceback (without the runner's frames)."""
    text = "".join(traceback.format_exception(type(error), error, trimmed_traceback(error, skip_frames)))
    return {"type": type(error).__name__, "message": str(error), "traceback": text}


def trimmed_traceback(error, skip_frames):
    """The error's traceback without its first ``skip_frames`` frames (the runner's own)."""
    tb = error.__traceback__
    for _ in range(skip_frames):
        if tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
    return tb


def host_error(error):
    """The exception to raise for a call's ``error`` object, as the host named it."""
    error = error or {}
    kind = HOST_ERRORS.get(error.get("type"), RuntimeError)
    from_host = getattr(kind, "from_host", None)
    if from_host is not None:
        return from_host(error)
    return kind(error.get("message", "call failed"))
