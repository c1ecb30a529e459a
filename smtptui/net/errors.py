"""Errors of the network layer: one class per kind of failure, one clear line each.

Every failure of a connection -- refused, timed out, TLS, a server that breaks the
protocol or hangs up -- is an :class:`SMTPClientError` whose ``str()`` is
``"step: reason"`` (``"greeting: server closed the connection"``), so front ends and
``--json`` output can report it without a traceback and without knowing the cause.
"""

from __future__ import annotations

from smtptui.core.text import printable  # the one escaping function; re-exported

__all__ = [
    "ConnectError",
    "ProtocolViolation",
    "SMTPClientError",
    "ServerClosed",
    "StepTimeout",
    "TLSFailure",
    "printable",
]


class SMTPClientError(Exception):
    """A failed step of an SMTP session: ``step`` names it, ``reason`` says why."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(step, reason)
        self.step = step
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.step}: {self.reason}"


class ConnectError(SMTPClientError):
    """No TCP connection could be made (refused, unreachable, name not resolved)."""


class StepTimeout(SMTPClientError):
    """A step did not complete before its deadline (the whole step, not one read)."""


class TLSFailure(SMTPClientError):
    """The TLS handshake failed, or the server certificate did not verify."""


class ProtocolViolation(SMTPClientError):
    """The server sent something that is not SMTP, or more than the limits allow."""


class ServerClosed(SMTPClientError):
    """The server closed (or reset) the connection while a reply was expected."""
