"""The asyncio SMTP client: streams in and out, the sans-I/O core in the middle.

The client owns sockets, deadlines and TLS; everything about the protocol -- parsing
replies, tracking the session state, parsing EHLO, dot-stuffing -- is the core's. Every
byte sent or received becomes a :class:`~smtptui.core.transcript.Entry` (with a
monotonic timestamp, and for a reply its latency since the command it answers), so the
transcript is the complete record of the session whatever front end shows it.

Failure model: every failure raises an :class:`~smtptui.net.errors.SMTPClientError`
whose text is ``"step: reason"``; nothing here prints. Each timeout is a deadline for
the whole step, so a server that drips one byte a second still times out. What a server
can make us hold is bounded: reads are capped per call, reply lines and reply length are
capped by the core's parser, and a reply over those caps is a ProtocolViolation.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from smtptui.core.transcript import Direction, Entry, Transcript
from smtptui.net.connection import (
    DATA_TRANSCRIPT_LIMIT,
    MAX_LINE_LENGTH,
    MAX_REPLY_LINES,
    MAX_REPLY_OCTETS,
    READ_SIZE,
    ClientConnection,
    ConnectAttempts,
    DataStats,
    Timeouts,
    candidate_addresses,
    family_of,
    format_seconds,
    os_reason,
    resolve_failure,
    resolved_addresses,
)
from smtptui.net.errors import (
    ConnectError,
    ServerClosed,
    StepTimeout,
    TLSFailure,
)
from smtptui.net.steps import ClientSteps, VerifyFailed
from smtptui.net.targets import format_host_port
from smtptui.net.tls import (
    TLSInfo,
    handshake_failure,
    make_tls_context,
    verify_reason,
)

__all__ = [
    "DATA_TRANSCRIPT_LIMIT",
    "MAX_LINE_LENGTH",
    "MAX_REPLY_LINES",
    "MAX_REPLY_OCTETS",
    "READ_SIZE",
    "DataStats",
    "SMTPClient",
    "TLSInfo",
    "Timeouts",
    "make_tls_context",
]

DEFAULT_TIMEOUTS = Timeouts()
CLOSE_TIMEOUT = 1.0
"""How long close() waits for an orderly shutdown (TLS close_notify) before aborting."""



class SMTPClient(ClientSteps):
    """One SMTP connection. Make it with :meth:`connect`; always :meth:`close` it
    (or use ``async with``).

    Attributes: ``transcript`` (core Transcript), ``tracker`` (core SessionTracker; it is
    replaced when an insecure STARTTLS fallback reconnects, so read it from the client
    each time), ``capabilities`` (from the last EHLO), ``tls`` (TLSInfo once TLS is up),
    ``peer`` (address, port), ``host``, ``port``, ``last_data`` (DataStats).
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        host: str,
        port: int,
        peer: tuple[str, int],
        server_hostname: str,
        ssl_context: ssl.SSLContext | None,
        timeouts: Timeouts,
        transcript: Transcript,
    ) -> None:
        self.host = host
        self.port = port
        self.peer = peer
        self.server_hostname = server_hostname
        self.ssl_context = ssl_context
        self.timeouts = timeouts
        self.tls: TLSInfo | None = None
        self.last_data: DataStats | None = None
        self._conn = ClientConnection(transcript)
        self._reader: asyncio.StreamReader | None = reader
        self._writer: asyncio.StreamWriter | None = writer
        self._line_queue: deque[bytes] = deque()  # see _hand_over_to_lines
        self._line_head = b""
        self._line_capped = False
        self._rescued = b""  # octets taken from the socket after a failed write

    # -- connecting -------------------------------------------------------------------------

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        *,
        implicit_tls: bool = False,
        server_hostname: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        family: int = 0,
        addresses: Sequence[str] | None = None,
        transcript: Transcript | None = None,
    ) -> SMTPClient:
        """Connect to ``host`` (trying each of its addresses in turn) and, for implicit
        TLS, complete the handshake. The greeting is left for :meth:`read_greeting`.

        ``addresses``: already resolved addresses to try instead of resolving ``host``;
        ``family``: 0, ``socket.AF_INET`` or ``socket.AF_INET6`` (``-4``/``-6``).
        ``server_hostname`` (SNI and certificate check) defaults to ``host``.
        """
        transcript = transcript if transcript is not None else Transcript()
        hostname = server_hostname or host.split("%", 1)[0]
        candidates = candidate_addresses(host, family, addresses)
        if candidates is None:
            candidates = await _resolve(host, port, family, timeouts.connect)
        attempts = ConnectAttempts(transcript, timeouts.connect)
        for address in candidates:
            where = format_host_port(address, port)
            try:
                async with asyncio.timeout(timeouts.connect):
                    reader, writer = await asyncio.open_connection(
                        address, port, limit=READ_SIZE, family=family_of(address))
            except TimeoutError:
                attempts.timed_out(where)
            except OSError as exc:
                attempts.failed(where, os_reason(exc))
            else:
                sock = writer.get_extra_info("peername") or (address, port)
                client = cls(
                    reader, writer, host=host, port=port, peer=(str(sock[0]), int(sock[1])),
                    server_hostname=hostname, ssl_context=ssl_context, timeouts=timeouts,
                    transcript=transcript,
                )
                await client._opened(where, implicit_tls, hostname)
                return client
        raise attempts.error()

    # -- properties -------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._writer is None

    async def _fill(self, step: str, timeout: float) -> None:
        try:
            async with asyncio.timeout(timeout):
                while not self._conn.replies:
                    await self._receive(step)
        except TimeoutError:
            raise self._conn.reply_timeout(step, timeout) from None

    async def _receive(self, step: str) -> None:
        """One read from the socket into the connection (at most READ_SIZE octets)."""
        if self._conn.eof or self._reader is None:
            raise ServerClosed(step, "the connection is closed")
        try:
            data = await self._reader.read(READ_SIZE)
        except OSError as exc:  # ssl.SSLError included
            raise self._conn.read_failed(step, exc) from None
        if not data:
            self._conn.peer_closed(step)
            return
        self._conn.received(data)

    # -- raw lines (after TURN the roles swap: the remote sends commands, we reply) ---------

    async def read_line(self, step: str, timeout: float | None = None, *,
                        max_length: int = READ_SIZE, record: bool = True) -> str:
        """The next line from the remote (without its CRLF), read raw -- not as a reply --
        within ``timeout`` (default: the reply deadline) for the whole line, so a remote
        that drips one byte a second still times out. A line longer than ``max_length``
        octets (at most READ_SIZE) is a ProtocolViolation. Recorded in the transcript.

        For the receiver's side after TURN (RFC 821 §4.1.1), where the client's reply
        parser has nothing to read; never while a reply is still pending.
        """
        conn = self._conn
        if conn.replies or conn.parser.has_partial:
            self._hand_over_to_lines()
        max_length = min(max_length, READ_SIZE)
        if self._line_queue:
            raw = self._line_queue.popleft()  # already in the transcript (as a reply)
            if len(raw) > max_length:
                self._line_too_long(step, max_length)
            return raw.decode("utf-8", "replace").removesuffix("\n").removesuffix("\r")
        if self._line_capped or len(self._line_head) > max_length:
            self._line_too_long(step, max_length)
        if timeout is None:
            timeout = self.timeouts.reply
        reader = self._reader
        if conn.eof or reader is None:
            raise ServerClosed(step, "the connection is closed")
        try:
            async with asyncio.timeout(timeout):
                raw = await reader.readuntil(b"\n")
        except TimeoutError:
            reason = f"timed out after {format_seconds(timeout)} s waiting for the remote"
            self._note(f"{step}: {reason}")
            raise StepTimeout(step, reason) from None
        except asyncio.IncompleteReadError as exc:
            conn.eof = True
            mid = exc.partial or self._line_head
            reason = "the remote closed the connection" + (" mid-line" if mid else "")
            self._note(f"{step}: {reason}")
            raise ServerClosed(step, reason) from None
        except asyncio.LimitOverrunError:
            raw = b""
            over = True
        except ssl.SSLError as exc:
            conn.eof = True
            raise ServerClosed(step, f"TLS error: {exc.reason or exc}") from None
        except OSError as exc:
            conn.eof = True
            raise ServerClosed(step, os_reason(exc)) from None
        else:
            raw, self._line_head = self._line_head + raw, b""
            over = len(raw) > max_length
        if over:
            self._line_too_long(step, max_length)
        text = raw.decode("utf-8", "replace").removesuffix("\n").removesuffix("\r")
        if record:  # a caller reading a flood of message data keeps only its start
            conn.transcript.append(Entry(Direction.SERVER, time.monotonic(), raw, text))
        return text

    async def wait_for_hangup(self, timeout: float) -> bool:
        """Discard what the remote still sends until it closes, for at most ``timeout``
        seconds; True when it closed. (After our 221 as the receiver, RFC 821 §4.1.1.)"""
        reader = self._reader
        if self._conn.eof or reader is None:
            return True
        try:
            async with asyncio.timeout(timeout):
                while await reader.read(READ_SIZE):
                    pass
        except (TimeoutError, OSError, ssl.SSLError):
            return False
        self._conn.eof = True
        return True

    async def close(self) -> None:
        """Close the connection (idempotent, never raises but cancellation, bounded in
        time). The transcript says so even when the close is cancelled half-way (its
        task stopped while the peer was slow to take the last bytes)."""
        writer = self._detach()
        if writer is None:
            return
        try:
            writer.close()
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await writer.wait_closed()
        except (TimeoutError, OSError, ssl.SSLError):
            writer.transport.abort()
        except asyncio.CancelledError:
            writer.transport.abort()
            self._note("connection closed")
            raise
        self._note("connection closed")

    def _abort(self, why: str) -> None:
        """Drop the connection at once (synchronous: usable while being cancelled)."""
        writer = self._detach()
        if writer is None:
            return
        writer.transport.abort()
        self._note(why)

    def _detach(self) -> asyncio.StreamWriter | None:
        """Forget the connection; its writer, to be closed by the caller (None: gone already)."""
        writer = self._writer
        if writer is not None:
            self._writer = None
            self._reader = None
            self._conn.eof = True
        return writer

    # -- writing ----------------------------------------------------------------------------

    async def _answered_early(self) -> bool:
        # drain() does not yield while the send buffer is low: give the loop one turn to
        # read, so a reply the server sent mid-message (552 too big, then close) is in
        # our buffer -- not lost in the kernel when the next write meets its reset.
        await asyncio.sleep(0)
        reader = self._reader
        return reader is not None and (_buffered(reader) or reader.at_eof())

    def _unread(self) -> bytes:
        # The stream refuses reads after a reset: take its buffer directly.
        buffer = getattr(self._reader, "_buffer", None)
        data = (bytes(buffer) if buffer else b"") + self._rescued
        self._rescued = b""
        if buffer:
            buffer.clear()
        return data

    def _buffered(self) -> bool:
        return _buffered(self._reader)

    def _write_raw(self, data: bytes, step: str) -> None:
        if self._writer is None or self._conn.eof and self._writer.is_closing():
            raise ServerClosed(step, "the connection is closed")
        self._writer.write(data)
        if self._writer.transport.is_closing():
            self._rescue_unread()

    def _rescue_unread(self) -> None:
        """The write just failed (the peer reset the connection): asyncio has stopped
        reading and will close the socket on the loop's next turn, dropping what the
        kernel still holds -- typically the server's last reply (552, 554) before it hung
        up. Take it now (non-blocking, bounded) for :meth:`_salvage_reply`."""
        sock = self._writer.get_extra_info("socket") if self._writer is not None else None
        fd = sock.fileno() if sock is not None else -1
        if fd < 0:
            return
        while len(self._rescued) < READ_SIZE:
            try:
                data = os.read(fd, READ_SIZE - len(self._rescued))
            except OSError:  # BlockingIOError (nothing more), ECONNRESET, ...
                return
            if not data:
                return
            self._rescued += data

    async def _drain(self, step: str, timeout: float) -> None:
        if self._writer is None:
            raise ServerClosed(step, "the connection is closed")
        try:
            async with asyncio.timeout(timeout):
                await self._writer.drain()
        except TimeoutError:
            raise self._conn.write_timeout(step, timeout) from None
        except OSError as exc:  # ssl.SSLError included
            raise self._conn.write_failed(step, exc) from None

    # -- TLS --------------------------------------------------------------------------------

    def _ssl_object(self) -> Any:
        writer = self._writer
        return writer.get_extra_info("ssl_object") if writer is not None else None

    async def _reopen(self, step: str) -> None:
        address, port = self.peer
        where = format_host_port(address, port)
        try:
            async with asyncio.timeout(self.timeouts.connect):
                reader, writer = await asyncio.open_connection(
                    address, port, limit=READ_SIZE, family=family_of(address))
        except TimeoutError:
            raise StepTimeout(step, f"reconnect timed out after "
                                    f"{format_seconds(self.timeouts.connect)} s ({where})"
                              ) from None
        except OSError as exc:
            raise ConnectError(step, f"reconnect failed: {os_reason(exc)} ({where})") from None
        self._reader, self._writer = reader, writer
        self._note(f"connected to {where}")

    async def _handshake(self, step: str, ctx: ssl.SSLContext, hostname: str) -> None:
        writer = self._writer
        if writer is None:
            raise ServerClosed(step, "the connection is closed")
        timeout = self.timeouts.connect
        try:
            async with asyncio.timeout(timeout):
                await writer.start_tls(ctx, server_hostname=hostname,
                                       ssl_handshake_timeout=timeout + 1)
        except ssl.SSLCertVerificationError as exc:
            self._abort("connection closed")
            raise VerifyFailed(verify_reason(exc)) from None
        except TimeoutError:
            reason = f"TLS handshake timed out after {format_seconds(timeout)} s"
            self._note(f"{step}: {reason}")
            self._abort("connection closed")
            raise StepTimeout(step, reason) from None
        except (OSError, EOFError) as exc:  # ssl.SSLError included
            note, reason = handshake_failure(step, exc)
            self._note(f"{step}: {note}")
            self._abort("connection closed")
            raise TLSFailure(step, reason) from None


def _buffered(reader: asyncio.StreamReader | None) -> bool:
    """True when the stream holds received octets nobody has read yet."""
    return bool(reader is not None and getattr(reader, "_buffer", b""))


async def _resolve(host: str, port: int, family: int, timeout: float) -> list[str]:
    """The addresses of a host name, from the event loop's resolver, within ``timeout``."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            infos = await loop.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM,
                                           proto=socket.IPPROTO_TCP)
    except (TimeoutError, OSError, UnicodeError) as exc:
        raise resolve_failure(host, exc, timeout) from None
    return resolved_addresses(host, infos)
