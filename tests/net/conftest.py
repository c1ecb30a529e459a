"""Real servers on loopback for the client tests.

- aiosmtpd on the test's own event loop (``loop.create_server``), plain, with STARTTLS
  (a trustme certificate), or with implicit TLS;
- "hostile" raw asyncio servers that do what a broken or malicious server does:
  drip bytes, close at once, send garbage or endless lines.

Every server listens on 127.0.0.1 (or ::1) port 0 and is closed after the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
import trustme
from aiosmtpd.smtp import SMTP, Envelope, Session

SERVER_NAME = "mx.test.invalid"


class RecordingHandler:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append(envelope)
        return "250 2.0.0 Ok: queued"


@dataclass
class Server:
    host: str
    port: int
    handler: RecordingHandler | None = None
    connections: int = 0
    received: list[bytes] = field(default_factory=list)


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def other_ca() -> trustme.CA:
    """A CA the client is never told about (a certificate "nobody" trusts)."""
    return trustme.CA()


@pytest.fixture(scope="session")
def cafile(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="session")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    """Server context: a leaf for localhost, 127.0.0.1 and ::1, signed by ``ca``."""
    cert = ca.issue_cert("localhost", "127.0.0.1", "::1", common_name="localhost")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    return ctx


@pytest.fixture(scope="session")
def self_signed_tls(other_ca: trustme.CA) -> ssl.SSLContext:
    """Server context whose chain the client cannot verify."""
    cert = other_ca.issue_cert("localhost", "127.0.0.1")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    return ctx


@pytest.fixture
async def smtpd() -> AsyncIterator[Callable[..., Awaitable[Server]]]:
    """Factory: ``await smtpd(tls_context=..., implicit=ssl_ctx, host=...)`` starts an
    aiosmtpd server on this test's loop and returns its Server record."""
    servers: list[asyncio.AbstractServer] = []
    loop = asyncio.get_running_loop()

    async def start(*, host: str = "127.0.0.1", implicit: ssl.SSLContext | None = None,
                    **smtp_kwargs: object) -> Server:
        handler = RecordingHandler()
        smtp_kwargs.setdefault("hostname", SERVER_NAME)
        smtp_kwargs.setdefault("data_size_limit", 64 * 1024 * 1024)
        record = Server(host, 0, handler)

        def factory() -> SMTP:
            record.connections += 1
            return SMTP(handler, loop=loop, **smtp_kwargs)  # type: ignore[arg-type]

        server = await loop.create_server(factory, host, 0, ssl=implicit)
        servers.append(server)
        record.port = server.sockets[0].getsockname()[1]
        return record

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[..., Awaitable[Server]]]:
    """Factory: ``await raw_server(handler)`` serves each connection with
    ``handler(reader, writer)`` -- a hand-written (usually misbehaving) server."""
    servers: list[asyncio.AbstractServer] = []
    tasks: set[asyncio.Task[None]] = set()

    async def start(handler: RawHandler, *, host: str = "127.0.0.1") -> Server:
        record = Server(host, 0)

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            record.connections += 1
            task = asyncio.current_task()
            assert task is not None
            tasks.add(task)
            try:
                await handler(reader, writer)
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()

        server = await asyncio.start_server(serve, host, 0)
        servers.append(server)
        record.port = server.sockets[0].getsockname()[1]
        return record

    yield start
    for server in servers:
        server.close()
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    for server in servers:
        await server.wait_closed()


def _ipv6_loopback_works() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


HAVE_IPV6 = _ipv6_loopback_works()
needs_ipv6 = pytest.mark.skipif(not HAVE_IPV6, reason="cannot bind ::1 (no IPv6 loopback here)")


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nobody listening (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
