"""Errors of the network layer: one class per kind of failure, one clear line each.

Every failure of a connection -- refused, timed out, TLS, a server that breaks the
protocol or hangs up -- is an :class:`SMTPClientError` whose ``str()`` is
``"step: reason"`` (``"greeting: server closed the connection"``), so front ends and
``--json`` output can report it without a traceback and without knowing the cause.
"""

from __future__ import annotations

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


def printable(data: bytes | str, limit: int = 80, *, backslash: bool = True) -> str:
    """Server text made safe for one line of a terminal: control characters and
    escape sequences shown escaped, cut to ``limit`` characters.

    Error messages quote what a (possibly hostile) server sent; whoever prints them
    must not be able to send escape sequences to the user's terminal through us.
    ``backslash=False`` leaves backslashes alone (harmless to a terminal): for text
    that was made printable already, so ``\x1b`` is not shown as ``\\x1b``.
    """
    if isinstance(data, bytes):
        text = data.decode("utf-8", "replace")
    else:
        text = data
    out: list[str] = []
    size = 0
    for ch in text:
        if ch == "\r":
            piece = "\\r"
        elif ch == "\n":
            piece = "\\n"
        elif ch == "\t":
            piece = "\\t"
        elif ch == "\\" and backslash:
            piece = "\\\\"
        elif ch.isprintable():
            piece = ch
        else:
            code = ord(ch)
            piece = f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
        if size + len(piece) > limit:
            out.append("...")
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)
