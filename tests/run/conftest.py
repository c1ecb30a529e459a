"""Fixtures for `smtptui run`: real servers on loopback only.

- ``smtpd``: an in-process aiosmtpd server whose handler rejects any recipient named
  Green with ``550 No such user here`` (RFC 821 Scenario 1) and keeps the messages it
  receives (envelope and un-stuffed content).
- ``raw_server``: a bare asyncio server in its own thread driven by a per-test coroutine,
  for what aiosmtpd will not do (TURN, hanging up mid-session, hostile text).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trustme
from aiosmtpd.controller import Controller

from tests.helpers.rawserver import Handler, RawServer, raw_servers

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class RecordingHandler:
    """Rejects Green (as BBN-UNIX does in RFC 821 Scenario 1); keeps what it receives."""

    messages: list[Received] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split("@", 1)[0].lower() == "green":
            return "550 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                      bytes(envelope.original_content)))
        return "250 OK"


@dataclass
class Smtpd:
    host: str
    port: int
    handler: RecordingHandler

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"


def _start(handler: RecordingHandler, **kwargs: object) -> tuple[Controller, Smtpd]:
    c = Controller(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
    c.start()
    return c, Smtpd(c.hostname, c.port, handler)


@pytest.fixture
def smtpd() -> Iterator[Smtpd]:
    c, server = _start(RecordingHandler(), data_size_limit=64 * 1024 * 1024)
    yield server
    c.stop()


@dataclass(frozen=True)
class TLSFiles:
    cafile: Path
    server_context: object


@pytest.fixture(scope="module")
def tls_smtpd(tmp_path_factory) -> Iterator[tuple[Smtpd, Path]]:
    """aiosmtpd offering STARTTLS with a trustme certificate for 127.0.0.1; the CA file."""
    import ssl

    ca = trustme.CA(organization_name="smtptui run tests")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    d = tmp_path_factory.mktemp("tls")
    cafile = d / "ca.pem"
    ca.cert_pem.write_to_path(cafile)
    c, server = _start(RecordingHandler(), tls_context=ctx)
    yield server, cafile
    c.stop()


@pytest.fixture
def raw_server() -> Iterator[Callable[[Handler], RawServer]]:
    yield from raw_servers()
