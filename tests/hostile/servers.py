"""Hostile SMTP servers, one behaviour each, as asyncio handlers for RawServer.

Every handler speaks to exactly one client on loopback and stops on its own; none
keeps more than a few kilobytes, so the memory a test measures is the client's.
"""

from __future__ import annotations

import asyncio
import datetime
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
HOST = "hostile.test"
GREETING = b"220 hostile.test ESMTP hostile\r\n"
CHUNK = 1 << 16


async def _send(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(data)
    await writer.drain()


async def _stream(writer: asyncio.StreamWriter, pattern: bytes, total: int) -> None:
    """``total`` octets of ``pattern`` repeated, in 64 KiB writes (nothing held)."""
    block = pattern * max(1, CHUNK // len(pattern))
    sent = 0
    while sent < total:
        piece = block[: total - sent]
        writer.write(piece)
        await writer.drain()
        sent += len(piece)


async def _command(reader: asyncio.StreamReader) -> bytes:
    """The next command's verb, upper case (b"" at EOF)."""
    line = await reader.readline()
    if not line:
        return b""
    return (line.split() or [b"?"])[0].upper()


_DEFAULTS = {b"QUIT": b"221 bye\r\n", b"DATA": b"354 go ahead\r\n"}


async def _until_quit(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      answers: dict[bytes, bytes], default: bytes = b"250 ok\r\n") -> None:
    """A polite server from here on: each verb answered from ``answers``."""
    while True:
        verb = await _command(reader)
        if not verb:
            return
        await _send(writer, answers.get(verb, _DEFAULTS.get(verb, default)))
        if verb == b"QUIT":
            return
        if verb == b"DATA" and answers.get(verb, _DEFAULTS[verb]).startswith(b"354"):
            while await reader.readline() not in (b".\r\n", b""):
                pass
            await _send(writer, b"250 queued\r\n")


def greet_then(answers: dict[bytes, bytes], greeting: bytes = GREETING) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _send(writer, greeting)
        await _until_quit(reader, writer, answers)
    return handler


async def no_greeting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(60)


async def close_after_greeting(reader: asyncio.StreamReader,
                               writer: asyncio.StreamWriter) -> None:
    await _send(writer, GREETING)


async def no_crlf(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A greeting that never ends: 10 MB without a line end, then silence."""
    await _stream(writer, b"220 " + b"x" * 60, 10 << 20)
    await asyncio.sleep(60)


def continuation_flood(lines: int) -> Handler:
    """EHLO answered by ``lines`` continuation lines, then a final line."""
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _send(writer, GREETING)
        while await _command(reader) not in (b"EHLO", b"HELO", b""):
            await _send(writer, b"250 ok\r\n")
        await _stream(writer, b"250-FLOOD\r\n", lines * 11)
        await _send(writer, b"250 end\r\n")
        await _until_quit(reader, writer, {})
    return handler


async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """One byte of the greeting at a time, slowly: each read succeeds, the step never
    ends (a per-read timeout would never fire)."""
    for byte in GREETING * 100:
        await _send(writer, bytes([byte]))
        await asyncio.sleep(0.2)


async def drip_reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Greets normally, then drips its reply to EHLO a byte at a time."""
    await _send(writer, GREETING)
    await reader.readline()
    for byte in b"250-" + b"x" * 1000 + b"\r\n":
        await _send(writer, bytes([byte]))
        await asyncio.sleep(0.2)


def ten_thousand_keywords() -> Handler:
    body = b"".join(b"250-X-KEYWORD-%05d PARAM\r\n" % i for i in range(10_000))
    return greet_then({b"EHLO": b"250-hostile.test\r\n" + body + b"250 HELP\r\n"})


def starttls_then_plain() -> Handler:
    """STARTTLS is advertised and accepted with 220, then the server goes on in plain
    text: the client's handshake reads an SMTP line where a TLS record should be."""
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _send(writer, GREETING)
        while True:
            verb = await _command(reader)
            if verb in (b"EHLO", b""):
                if not verb:
                    return
                await _send(writer, b"250-hostile.test\r\n250 STARTTLS\r\n")
            elif verb == b"STARTTLS":
                await _send(writer, b"220 go ahead\r\n250 but in plain text\r\n")
                await asyncio.sleep(30)
                return
            else:
                await _send(writer, b"250 ok\r\n")
    return handler


@dataclass
class Certificates:
    """A private CA and leaf certificates for the TLS cases (trustme)."""

    directory: Path
    ca_file: Path = field(init=False)
    contexts: dict[str, ssl.SSLContext] = field(default_factory=dict)

    def __post_init__(self) -> None:
        import trustme

        ca = trustme.CA()
        self.ca_file = self.directory / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        now = datetime.datetime.now(datetime.UTC)
        leaves = {
            "good": ca.issue_cert("127.0.0.1", HOST),
            "expired": ca.issue_cert("127.0.0.1", HOST, not_before=now - datetime.timedelta(
                days=30), not_after=now - datetime.timedelta(days=1)),
            "wrong-host": ca.issue_cert("elsewhere.example"),
            "self-signed": trustme.CA().issue_cert("127.0.0.1", HOST),  # another CA
        }
        for name, leaf in leaves.items():
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            leaf.configure_cert(ctx)
            self.contexts[name] = ctx


def starttls_with(ctx: ssl.SSLContext) -> Handler:
    """A correct STARTTLS server presenting the certificate in ``ctx``."""
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _send(writer, GREETING)
        while True:
            verb = await _command(reader)
            if not verb:
                return
            if verb == b"EHLO":
                await _send(writer, b"250-hostile.test\r\n250 STARTTLS\r\n")
            elif verb == b"STARTTLS":
                await _send(writer, b"220 go ahead\r\n")
                try:
                    await writer.start_tls(ctx)
                except (ssl.SSLError, OSError):
                    return  # the client refused our certificate: that is the point
                await _until_quit(reader, writer, {b"EHLO": b"250 hostile.test\r\n"})
                return
            elif verb == b"QUIT":
                await _send(writer, b"221 bye\r\n")
                return
            else:
                await _send(writer, b"250 ok\r\n")
    return handler


def close_during_data() -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _send(writer, GREETING)
        while await _command(reader) not in (b"DATA", b""):
            await _send(writer, b"250 ok\r\n")
        await _send(writer, b"354 go ahead\r\n")
        await reader.readline()  # the first line of the message, then gone
    return handler


def pipelined_then(extra: bytes) -> Handler:
    """A reply plus ``extra`` bytes nobody asked for, to every command."""
    return greet_then({b"EHLO": b"250 hostile.test\r\n" + extra,
                       b"HELO": b"250 hostile.test\r\n" + extra})


def last_words(reply: bytes) -> Handler:
    """Answers EHLO/HELO with ``reply`` and hangs up at once (RFC 5321 §3.8: a 421
    before closing is the server's last word, and the client must show it)."""
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _send(writer, GREETING)
        await reader.readline()
        await _send(writer, reply)
    return handler


def turn_then_drip() -> Handler:
    """Accepts TURN, then, as the new client, drips its HELO a byte at a time: each
    read succeeds, only a whole-step deadline ends it."""
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _send(writer, GREETING)
        while await _command(reader) not in (b"TURN", b""):
            await _send(writer, b"250 ok\r\n")
        await _send(writer, b"250 OK\r\n")
        await reader.readline()  # the client's 220 as the new receiver
        for byte in b"HELO hostile.test" * 20:
            await _send(writer, bytes([byte]))
            await asyncio.sleep(0.2)
    return handler
