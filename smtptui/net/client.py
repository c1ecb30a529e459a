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
from collections.abc import AsyncIterable, Callable, Iterable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Self

from smtptui.core.data import DotStuffer
from smtptui.core.replies import Reply
from smtptui.core.transcript import Direction, Entry, Transcript
from smtptui.net.connection import (
    DATA_TRANSCRIPT_LIMIT,
    MAX_LINE_LENGTH,
    MAX_REPLY_LINES,
    MAX_REPLY_OCTETS,
    READ_SIZE,
    ClientConnection,
    DataCapture,
    DataStats,
    Timeouts,
    candidate_addresses,
    family_of,
    format_seconds,
    new_parser,
    note_to,
    os_reason,
    resolve_failure,
    resolved_addresses,
)
from smtptui.net.errors import (
    ConnectError,
    ProtocolViolation,
    ServerClosed,
    SMTPClientError,
    StepTimeout,
    TLSFailure,
)
from smtptui.net.targets import format_host_port
from smtptui.net.tls import (
    TLSInfo,
    TLSMode,
    default_context,
    established_note,
    handshake_failure,
    is_insecure,
    make_tls_context,
    session_info,
    unverified_context,
    verify_reason,
)

if TYPE_CHECKING:
    from smtptui.core.ehlo import Capabilities
    from smtptui.core.state import SessionTracker, State

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

# The core ReplyParser's rule for a line longer than we keep (after TURN: too long).
_LINE_CAP_RULE = "smtptui max_line_length"


class _VerifyFailed(Exception):
    """Internal: the verified handshake failed on the certificate; reason attached."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SMTPClient:
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
        failures: list[str] = []
        timed_out = 0
        for address in candidates:
            where = format_host_port(address, port)
            try:
                async with asyncio.timeout(timeouts.connect):
                    reader, writer = await asyncio.open_connection(
                        address, port, limit=READ_SIZE, family=family_of(address))
            except TimeoutError:
                timed_out += 1
                reason = f"timed out after {format_seconds(timeouts.connect)} s"
            except OSError as exc:
                reason = os_reason(exc)
            else:
                sock = writer.get_extra_info("peername") or (address, port)
                client = cls(
                    reader, writer, host=host, port=port, peer=(str(sock[0]), int(sock[1])),
                    server_hostname=hostname, ssl_context=ssl_context, timeouts=timeouts,
                    transcript=transcript,
                )
                client._note(f"connected to {where}")
                if implicit_tls:
                    try:
                        await client._secure("tls", hostname)
                    except BaseException:
                        await client.close()
                        raise
                client._conn.awaiting.append(time.monotonic())  # the greeting answers it
                return client
            failures.append(f"{reason} ({where})")
            note_to(transcript, f"connect to {where} failed: {reason}")
        if timed_out == len(candidates):
            raise StepTimeout("connect", "; ".join(failures))
        raise ConnectError("connect", "; ".join(failures))

    # -- properties -------------------------------------------------------------------------

    @property
    def transcript(self) -> Transcript:
        return self._conn.transcript

    @property
    def tracker(self) -> SessionTracker:
        """The core's session tracker (replaced by the insecure fallback's reconnect:
        read it from the client each time)."""
        return self._conn.tracker

    @property
    def strict_replies(self) -> bool:
        """A reply that arrives while no command awaits one is a protocol violation (the
        next step fails, naming it); False: it is delivered as a reply like any other,
        for a caller that reads continuously and reports it itself (a by-hand session)."""
        return self._conn.strict_replies

    @strict_replies.setter
    def strict_replies(self, value: bool) -> None:
        self._conn.strict_replies = value

    @property
    def capabilities(self) -> Capabilities | None:
        """The capabilities of the last successful EHLO (None before, after HELO, and
        after STARTTLS until the next EHLO: RFC 3207 §4.2)."""
        return self.tracker.capabilities

    @property
    def closed(self) -> bool:
        return self._writer is None

    @property
    def state(self) -> State:
        return self.tracker.state

    # -- replies ----------------------------------------------------------------------------

    async def read_greeting(self) -> Reply:
        """The server's opening reply (220, or 554 "no service"), within the greeting
        deadline. Garbage instead of a reply is a ProtocolViolation."""
        return await self.read_reply("greeting", self.timeouts.greeting)

    async def read_reply(self, step: str, timeout: float | None = None) -> Reply:
        """The next reply, within ``timeout`` (default: the reply deadline) for the whole
        reply. Raises StepTimeout, ServerClosed or ProtocolViolation (no reply code, or a
        reply over the size caps -- the reply is still in the transcript)."""
        if timeout is None:
            timeout = self.timeouts.reply
        conn = self._conn
        conn.refuse_unsolicited(step)
        if not conn.replies:
            try:
                async with asyncio.timeout(timeout):
                    while not conn.replies:
                        await self._receive(step)
            except TimeoutError:
                raise conn.reply_timeout(step, timeout) from None
        return conn.take_reply(step)

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

    # -- commands ---------------------------------------------------------------------------

    async def send_line(self, line: str, *, secret: bool = False) -> None:
        """Send one line (CRLF added). In the DATA state (after 354) lines are message
        text, sent as given, and a line "." ends the message."""
        conn = self._conn
        data, step, secret, in_data = conn.prepare_line(line, secret=secret)
        self._write_raw(data, step)  # never name the step after the text: it may be secret
        conn.line_sent(line, data, secret=secret, in_data=in_data)
        await self._drain(step, self.timeouts.data if in_data else self.timeouts.reply)

    async def command(self, line: str, *, secret: bool = False, step: str | None = None) -> Reply:
        """Send ``line`` and read its reply. ``step`` names it in errors (default: the
        verb; for a secret line, the verb of the last command, e.g. AUTH). The line "."
        in the DATA state ends the message: its reply gets the DATA deadline."""
        in_data = self.tracker.sending_data
        await self.send_line(line, secret=secret)
        if in_data:
            return await self.read_reply(step or "end of data", self.timeouts.data)
        return await self.read_reply(step or self._conn.last_verb)

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

    def _line_too_long(self, step: str, max_length: int) -> None:
        reason = f"line longer than {max_length} octets"
        self._note(f"{step}: {reason}; connection dropped")
        self._abort("connection closed")
        raise ProtocolViolation(step, reason)

    def _hand_over_to_lines(self) -> None:
        """What the reply parser holds (the remote wrote ahead of us) becomes lines for
        :meth:`read_line`: whole lines are queued, a partial one starts the next line."""
        conn = self._conn
        for reply in conn.replies:
            self._line_queue.extend(reply.raw.splitlines(keepends=True))
        conn.replies.clear()
        conn.unsolicited = None  # after TURN the remote speaks first: not a violation
        partial = conn.parser.close()
        if partial is not None:
            self._line_head += partial.raw
            if any(d.rule == _LINE_CAP_RULE for d in partial.diagnostics):
                self._line_capped = True  # the parser already dropped part of it
        conn.parser = new_parser()

    async def send_raw_line(self, line: str, *, step: str = "reply",
                            secret: bool = False) -> None:
        """Send one line as given (CRLF added), outside the client's command tracking:
        our replies after TURN. Recorded in the transcript; the write has the reply
        deadline. A line holding CR or LF is a ValueError."""
        if "\r" in line or "\n" in line:
            raise ValueError("a line cannot contain CR or LF")
        data = line.encode("utf-8", "surrogateescape") + b"\r\n"
        self._write_raw(data, step)
        self._conn.record_line(data, line, secret=secret)
        await self._drain(step, self.timeouts.reply)

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

    async def ehlo(self, name: str) -> Reply:
        """EHLO; on 250 ``capabilities`` holds the parsed extensions."""
        return await self.command(f"EHLO {name}")

    async def helo(self, name: str) -> Reply:
        return await self.command(f"HELO {name}")

    async def starttls(self, server_hostname: str | None = None) -> Reply:
        """STARTTLS (RFC 3207); on 220 the TLS handshake follows and ``tls`` is set.

        Capabilities are discarded: send EHLO again. Raises TLSFailure when the
        handshake or verification fails (the connection is then closed).
        """
        reply = await self.command("STARTTLS")
        if reply.code != 220:
            return reply
        await self.secure(server_hostname)
        return reply

    async def secure(self, server_hostname: str | None = None) -> None:
        """The TLS handshake after a 220 reply to STARTTLS was read (by :meth:`starttls`,
        or by a caller that reads replies itself, such as an interactive session).

        Raises ProtocolViolation when the server sent anything after its 220 (a plain
        text injection), TLSFailure when the handshake or verification fails; the
        connection is then closed."""
        if self._conn.data_before_handshake(_buffered(self._reader)):
            error = self._conn.injection_refused()
            await self.close()
            raise error
        await self._secure("starttls", server_hostname or self.server_hostname)

    async def send_data(self, chunks: Iterable[bytes] | AsyncIterable[bytes], *,
                        await_reply: bool = True,
                        progress: Callable[[int], None] | None = None) -> Reply | None:
        """After a 354 to DATA: stream ``chunks`` through the core's DotStuffer (never
        holding the whole message), send the end marker, read the final reply within
        the DATA deadline. ``last_data`` reports what was sent.

        ``await_reply=False``: return None after the end marker is written, leaving the
        final reply to a caller that reads replies itself. ``progress(octets)`` is called
        after each block written with the message octets sent so far."""
        conn = self._conn
        if not conn.tracker.sending_data:
            raise RuntimeError("send_data() needs a 354 reply to DATA first")
        stuffer = DotStuffer()
        capture = DataCapture(conn)
        ended = False
        try:
            if isinstance(chunks, AsyncIterable):
                async for chunk in chunks:
                    await self._send_data_block(stuffer.feed(chunk), capture)
                    if progress is not None:
                        progress(stuffer.octets)
            else:
                for chunk in chunks:
                    await self._send_data_block(stuffer.feed(chunk), capture)
                    if progress is not None:
                        progress(stuffer.octets)
            tail = stuffer.finish()
            await self._send_data_block(tail[:-3], capture)
            capture.flush()
            if capture.skipped:
                self._note(f"{capture.skipped} more octets of message data sent "
                           f"(not kept in the transcript)")
            self._write_raw(b".\r\n", "end of data")
            conn.end_of_data()
            ended = True
            await self._drain("end of data", self.timeouts.data)
        except ServerClosed:
            # The server may have said why before it hung up (552 too big, 554 ...).
            capture.flush()
            reply = self._salvage_reply()
            await self.close()
            if reply is None:
                raise
            return reply
        except BaseException:
            # A message cut short (the chunks raised, a deadline, cancellation) must never
            # be delivered: no end marker is sent, the connection is dropped instead.
            self._abort("message data not completed: connection dropped so that the "
                        "partial message is not delivered")
            raise
        finally:
            self.last_data = DataStats.of(stuffer, ended)
        conn.data_report(stuffer)
        if not await_reply:
            return None
        return await self.read_reply("end of data", self.timeouts.data)

    async def send_chunk(self, chunk: bytes, *, last: bool,
                         await_reply: bool = True) -> Reply | None:
        """``BDAT <size> [LAST]`` and exactly those octets (RFC 3030 §2): no dot-stuffing,
        no end marker, the chunk as given. The reply (read within the DATA deadline)
        answers the whole chunk; ``await_reply=False`` leaves it to the caller (BDAT
        may be pipelined). The first DATA_TRANSCRIPT_LIMIT octets are kept in the
        transcript, the rest counted in a note."""
        conn = self._conn
        line = f"BDAT {len(chunk)}" + (" LAST" if last else "")
        data = line.encode("ascii") + b"\r\n"
        self._write_raw(data, "BDAT")
        conn.bdat_sent(line, data)
        capture = DataCapture(conn)
        capture.add(chunk)
        capture.flush()
        if capture.skipped:
            self._note(f"{capture.skipped} more octets of the chunk sent "
                       f"(not kept in the transcript)")
        try:
            if chunk:
                self._write_raw(chunk, "BDAT")
            await self._drain("BDAT", self.timeouts.data)
        except ServerClosed:
            reply = self._salvage_reply()
            await self.close()
            if reply is None:
                raise
            return reply
        if not await_reply:
            return None
        return await self.read_reply("BDAT", self.timeouts.data)

    def _salvage_reply(self) -> Reply | None:
        """A reply the server sent before the connection broke, if one was received
        (the stream refuses reads after a reset, so take its buffer directly)."""
        buffer = getattr(self._reader, "_buffer", None)
        data = (bytes(buffer) if buffer else b"") + self._rescued
        self._rescued = b""
        if buffer:
            buffer.clear()
        return self._conn.salvage(data)

    async def _send_data_block(self, wire: bytes, capture: DataCapture) -> None:
        if not wire:
            return
        capture.add(wire)
        self._write_raw(wire, "message data")
        await self._drain("message data", self.timeouts.data)
        # drain() does not yield while the send buffer is low: give the loop one turn to
        # read, so a reply the server sent mid-message (552 too big, then close) is in
        # our buffer -- not lost in the kernel when the next write meets its reset.
        await asyncio.sleep(0)
        reader = self._reader
        if reader is not None and (_buffered(reader) or reader.at_eof()):
            self._note("message data: the server answered before the end of the message")
            raise ServerClosed("message data", "the server answered before the end of the "
                                               "message")

    async def quit(self) -> Reply | None:
        """QUIT, read the 221, close. None when the connection was already gone or the
        server hung up instead of replying."""
        if self.closed or self._conn.eof:
            await self.close()
            return None
        try:
            return await self.command("QUIT")
        except ServerClosed:
            return None
        finally:
            await self.close()

    async def close(self) -> None:
        """Close the connection (idempotent, never raises, bounded in time)."""
        writer = self._detach()
        if writer is None:
            return
        try:
            writer.close()
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await writer.wait_closed()
        except (TimeoutError, OSError, ssl.SSLError):
            writer.transport.abort()
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

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- writing ----------------------------------------------------------------------------

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

    async def _secure(self, step: str, hostname: str) -> None:
        """Handshake on the current connection; the insecure fallback when asked."""
        ctx = self.ssl_context if self.ssl_context is not None else default_context()
        mode: TLSMode = "implicit" if step == "tls" else "starttls"
        verify_error = None
        try:
            await self._handshake(step, ctx, hostname)
        except _VerifyFailed as failed:
            if not is_insecure(ctx):
                self._note(f"{step}: certificate verify failed: {failed.reason}")
                await self.close()
                raise TLSFailure(step, f"certificate verify failed: {failed.reason}") from None
            self._note(f"{step}: certificate verify failed: {failed.reason}; "
                       f"reconnecting without verification (insecure)")
            await self._reconnect_unverified(step, hostname)
            ctx = unverified_context()
            await self._handshake(step, ctx, hostname)
            verify_error = failed.reason
        writer = self._writer
        sslobj = writer.get_extra_info("ssl_object") if writer is not None else None
        self.tls = session_info(sslobj, ctx, mode, verify_error=verify_error)
        self._note(established_note(self.tls))
        if step == "starttls":
            self._conn.tls_established()

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
            raise _VerifyFailed(verify_reason(exc)) from None
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

    async def _reconnect_unverified(self, step: str, hostname: str) -> None:
        """Insecure fallback: a new connection to the same address, up to the point of
        the handshake (for STARTTLS: greeting, the same EHLO/HELO, STARTTLS)."""
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
        conn = self._conn
        conn.reconnected()
        self.tls = None
        self._note(f"connected to {where}")
        if step != "starttls":
            return
        conn.awaiting.append(time.monotonic())
        try:
            greeting = await self.read_greeting()
            if greeting.code != 220:
                raise ProtocolViolation(step, f"reconnect: greeting {greeting.code} instead of 220")
            if conn.hello_line is not None:
                hello = await self.command(conn.hello_line)
                if hello.code != 250:
                    raise ProtocolViolation(step, f"reconnect: {hello.code} to {conn.last_verb}")
            reply = await self.command("STARTTLS")
            if reply.code != 220:
                raise ProtocolViolation(step, f"reconnect: {reply.code} to STARTTLS")
            if conn.data_before_handshake(_buffered(self._reader)):
                raise ProtocolViolation(step, "data after the 220 reply, before the handshake")
        except SMTPClientError:
            await self.close()
            raise

    # -- transcript notes -------------------------------------------------------------------

    def _note(self, text: str) -> None:
        self._conn.note(text)


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
