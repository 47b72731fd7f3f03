"""The Botyard worker SDK: what a strategy's ``ctx`` offers, and the runner the host starts.

Standard library only. A strategy never imports the runner; it defines ``tick(ctx)`` (and optionally
``setup(ctx)`` and ``on_error(ctx, error)``), or one ``Worker`` with async handlers (event mode), and
may import the errors below. A ``Worker`` file may also run as a process of its own (``command:``):
``worker.run()`` then runs it against the host's runtime API (``botyard.standalone``).
"""

from .client import RuntimeClient
from .errors import BlockNotConnectedError, BotyardError, BybitError, ProtocolError, TickTimeoutError
from .runtime_api import APIError
from .worker import EventEnvelope, RunInfo, Worker, current_run

PROTOCOL_VERSION = 1

__all__ = [
    "APIError",
    "BlockNotConnectedError",
    "BotyardError",
    "BybitError",
    "ProtocolError",
    "TickTimeoutError",
    "PROTOCOL_VERSION",
    "EventEnvelope",
    "RunInfo",
    "RuntimeClient",
    "Worker",
    "current_run",
]
