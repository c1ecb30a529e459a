"""Connecting to a TARGET: its candidates tried in order, by either driver.

Kept apart from :mod:`smtptui.net.runner` (which plays scripts) so that a one-shot
command can connect without importing the script model, the asyncio client or asyncio.
"""

from __future__ import annotations

from collections.abc import Sequence

from smtptui.core.frozen import frozen
from smtptui.net.connection import Timeouts
from smtptui.net.errors import SMTPClientError
from smtptui.net.targets import format_host_port

TYPE_CHECKING = False  # typing is for type checkers: not imported at start-up
if TYPE_CHECKING:
    import ssl
    from typing import Any

    from smtptui.core.transcript import Transcript
    from smtptui.net.steps import ClientSteps

__all__ = ["TargetConnector"]


@frozen
class TargetConnector:
    """Every session connects to the same TARGET (the script's host names are only
    informational). ``candidates``: (host, port, pre-resolved addresses or None,
    TLS server name or None), tried in order -- the MX hosts of a ``@domain`` target.
    ``blocking``: connect with the blocking client (one-shot commands, run with
    :func:`~smtptui.net.blocking.run_blocking`) instead of the asyncio one."""

    candidates: Sequence[tuple[str, int, Sequence[str] | None, str | None]]
    implicit_tls: bool = False
    ssl_context: ssl.SSLContext | None = None
    timeouts: Timeouts = Timeouts()  # frozen: one shared default is safe
    family: int = 0
    blocking: bool = False

    embedded = False  # the session layer's Connector interface: not the teaching server

    def label(self, session: Any = None) -> str:
        host, port = self.candidates[0][:2]
        return format_host_port(host, port)

    async def aclose(self) -> None:
        """Nothing to stop: a TARGET is someone else's server."""

    def client_class(self) -> type[ClientSteps]:
        if self.blocking:
            from smtptui.net.blocking import BlockingSMTPClient

            return BlockingSMTPClient
        from smtptui.net.client import SMTPClient

        return SMTPClient

    async def __call__(self, session: Any = None, *,
                       transcript: Transcript | None = None) -> Any:
        client_class: Any = self.client_class()
        failure: SMTPClientError | None = None
        for host, port, addresses, server_name in self.candidates:
            try:
                return await client_class.connect(
                    host, port, implicit_tls=self.implicit_tls, server_hostname=server_name,
                    ssl_context=self.ssl_context, timeouts=self.timeouts, family=self.family,
                    addresses=addresses, transcript=transcript,
                )
            except SMTPClientError as exc:
                failure = failure or exc
        assert failure is not None
        raise failure
