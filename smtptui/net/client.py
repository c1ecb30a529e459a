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
import functools
import ipaddress
import os
import socket
import ssl
import time
from collections import deque
from collections.abc import AsyncIterable, Callable, Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Self

from smtptui.core.commands import COMMANDS
from smtptui.core.data import DotStuffer
from smtptui.core.replies import Reply, ReplyParser
from smtptui.core.sasl import is_secret_line
from smtptui.core.state import SessionTracker, State
from smtptui.core.transcript import Direction, Entry, Transcript
from smtptui.net.errors import (
    ConnectError,
    ProtocolViolation,
    ServerClosed,
    SMTPClientError,
    StepTimeout,
    TLSFailure,
    printable,
)
from smtptui.net.targets import format_host_port
from smtptui.net.tls import (
    TLSInfo,
    TLSMode,
    cert_summary,
    is_insecure,
    make_tls_context,
    unverified_context,
    verify_reason,
)

if TYPE_CHECKING:
    from smtptui.core.ehlo import Capabilities

__all__ = [
    "DataStats",
    "SMTPClient",
    "TLSInfo",
    "Timeouts",
    "make_tls_context",
]

READ_SIZE = 64 * 1024
"""Octets asked of the socket per read: what one read can add to memory."""
MAX_LINE_LENGTH = 8192
"""Reply line cap (16 x the RFC 5321 limit of 512, for lenient real-world servers)."""
MAX_REPLY_LINES = 100_000
"""Lines kept of one reply (an EHLO of 10,000 keywords is read whole)."""
MAX_REPLY_OCTETS = 1024 * 1024
"""Octets kept of one reply: a longer one is read to its end, the rest counted and
discarded, so what a hostile server can make us hold per reply is bounded."""
DATA_TRANSCRIPT_LIMIT = 64 * 1024
"""Message octets kept in the transcript per DATA; the rest is counted, not kept."""
CLOSE_TIMEOUT = 1.0
"""How long close() waits for an orderly shutdown (TLS close_notify) before aborting."""

# The core ReplyParser's rule for a line longer than we keep (after TURN: too long).
_LINE_CAP_RULE = "smtptui max_line_length"


def _new_parser() -> ReplyParser:
    return ReplyParser(MAX_LINE_LENGTH, MAX_REPLY_LINES, MAX_REPLY_OCTETS)


def _unfinished(reply: Reply) -> bool:
    """A multi-line reply whose final line never came (its last line is ``NNN-...``)."""
    last = reply.raw.rstrip(b"\r\n").rsplit(b"\n", 1)[-1]
    return last[3:4] == b"-"


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Deadlines in seconds, each for a whole step (RFC 5321 §4.5.3.2 has longer ones)."""

    connect: float = 10.0
    """TCP connect (per address tried) and the TLS handshake."""
    greeting: float = 30.0
    reply: float = 60.0
    """Each reply to a command, and sending a command line."""
    data: float = 600.0
    """DATA: each block of message data written, and the final reply after the dot."""

    def __post_init__(self) -> None:
        for name in ("connect", "greeting", "reply", "data"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{name} timeout must be a positive number of seconds, "
                                 f"not {value!r}")


@dataclass(frozen=True, slots=True)
class DataStats:
    """What :meth:`SMTPClient.send_data` sent (from the core's DotStuffer report)."""

    octets: int
    """Message size as RFC 1870 counts it (normalised CRLF, no stuffing, no end marker)."""
    wire_octets: int
    bare_cr: int
    bare_lf: int
    eight_bit: bool
    long_lines: int
    ended: bool = True
    """The end marker was sent (False: the message was cut short and never delivered)."""


def _format_seconds(value: float) -> str:
    return f"{value:.1f}" if round(value, 1) == value else f"{value:g}"


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by peer"
    if isinstance(exc, ConnectionAbortedError):
        return "connection aborted"
    if isinstance(exc, BrokenPipeError):
        return "broken pipe (the server closed the connection)"
    text = exc.strerror or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _family_of(address: str) -> int:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


class _VerifyFailed(Exception):
    """Internal: the verified handshake failed on the certificate; reason attached."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _DataCapture:
    """Keeps the first DATA_TRANSCRIPT_LIMIT octets of message data as transcript
    entries cut at line ends, so an export shows whole ``C:`` lines."""

    __slots__ = ("_client", "_held", "kept", "skipped")

    def __init__(self, client: SMTPClient) -> None:
        self._client = client
        self._held = b""
        self.kept = 0
        self.skipped = 0

    def add(self, wire: bytes) -> None:
        if not wire:
            return
        room = DATA_TRANSCRIPT_LIMIT - self.kept
        if room <= 0:
            self.skipped += len(wire)
            return
        part = wire[:room]
        self.skipped += len(wire) - len(part)
        self.kept += len(part)
        data = self._held + part
        cut = data.rfind(b"\n") + 1
        if self.kept >= DATA_TRANSCRIPT_LIMIT:
            cut = len(data)
        if cut:
            self._client._record_sent(data[:cut])
        self._held = data[cut:]

    def flush(self) -> None:
        if self._held:
            self._client._record_sent(self._held)
            self._held = b""


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
        self.transcript = transcript
        self.tracker = SessionTracker()
        self.tls: TLSInfo | None = None
        self.last_data: DataStats | None = None
        self._reader: asyncio.StreamReader | None = reader
        self._writer: asyncio.StreamWriter | None = writer
        self._parser = _new_parser()
        self._replies: deque[Reply] = deque()
        self._awaiting: deque[float] = deque()   # send times of commands still unanswered
        self._eof = False
        self._hello_line: str | None = None       # replayed by the insecure STARTTLS fallback
        self._last_verb = "command"
        self._line_queue: deque[bytes] = deque()  # see _hand_over_to_lines
        self._line_head = b""
        self._line_capped = False
        self._rescued = b""  # octets taken from the socket after a failed write
        self.strict_replies = True
        """A reply that arrives while no command awaits one is a protocol violation (the
        next step fails, naming it); False: it is delivered as a reply like any other,
        for a caller that reads continuously and reports it itself (a by-hand session)."""
        self._unsolicited: Reply | None = None

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
        timeouts: Timeouts = Timeouts(),
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
        candidates = await _candidate_addresses(host, port, family, addresses, timeouts.connect)
        failures: list[str] = []
        timed_out = 0
        for address in candidates:
            where = format_host_port(address, port)
            try:
                async with asyncio.timeout(timeouts.connect):
                    reader, writer = await asyncio.open_connection(
                        address, port, limit=READ_SIZE, family=_family_of(address))
            except TimeoutError:
                timed_out += 1
                reason = f"timed out after {_format_seconds(timeouts.connect)} s"
            except OSError as exc:
                reason = _os_reason(exc)
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
                client._awaiting.append(time.monotonic())  # the greeting answers the connect
                return client
            failures.append(f"{reason} ({where})")
            _note_to(transcript, f"connect to {where} failed: {reason}")
        if timed_out == len(candidates):
            raise StepTimeout("connect", "; ".join(failures))
        raise ConnectError("connect", "; ".join(failures))

    # -- properties -------------------------------------------------------------------------

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
        self._refuse_unsolicited(step)
        if not self._replies:
            try:
                async with asyncio.timeout(timeout):
                    while not self._replies:
                        await self._receive(step)
            except TimeoutError:
                reason = f"timed out after {_format_seconds(timeout)} s waiting for the server"
                if self._parser.has_partial:
                    reason += " (a reply had started but was not finished)"
                self._note(f"{step}: {reason}")
                raise StepTimeout(step, reason) from None
        reply = self._replies.popleft()
        self._check(step, reply)
        self.tracker.reply_received(reply)
        return reply

    async def _receive(self, step: str) -> None:
        """One read from the socket into the parser (at most READ_SIZE octets)."""
        if self._eof or self._reader is None:
            raise ServerClosed(step, "the connection is closed")
        try:
            data = await self._reader.read(READ_SIZE)
        except ssl.SSLError as exc:
            self._eof = True
            self._note(f"{step}: TLS error: {exc.reason or exc}")
            raise ServerClosed(step, f"TLS error: {exc.reason or exc}") from None
        except OSError as exc:
            self._eof = True
            reason = _os_reason(exc)
            partial = self._parser.close()
            if partial is not None:  # what came before the reset is kept, never delivered
                self._record_reply(partial, deliver=False)
                n = len(partial.lines)
                reason += (f" in the middle of a reply after {n} line"
                           f"{'s' if n != 1 else ''}")
            self._note(f"{step}: {reason}")
            raise ServerClosed(step, reason) from None
        if not data:
            self._eof = True
            partial = self._parser.close()
            if partial is not None:
                if partial.code is not None and not _unfinished(partial):
                    self._record_reply(partial)
                    return  # e.g. "421 bye" without CRLF: deliver it; the next read fails
                self._record_reply(partial, deliver=False)
                if partial.code is not None:
                    n = len(partial.lines)
                    reason = (f"connection closed in the middle of a multi-line reply after "
                              f"{n} line{'s' if n != 1 else ''}")
                else:
                    reason = (f"server closed the connection in the middle of a reply: "
                              f"{printable(partial.raw)}")
                self._note(f"{step}: {reason}")
                raise ServerClosed(step, reason)
            self._note(f"{step}: the server closed the connection")
            raise ServerClosed(step, "server closed the connection")
        for reply in self._parser.feed(data):
            self._record_reply(reply)

    def _record_reply(self, reply: Reply, *, deliver: bool = True) -> None:
        now = time.monotonic()
        # While message data streams, a reply is the server refusing the message early
        # (552 too big, 554): the answer to the data, not an unsolicited one.
        unsolicited = not self._awaiting and not self.tracker.sending_data
        latency = now - self._awaiting.popleft() if self._awaiting else None
        self.transcript.append(Entry(
            Direction.SERVER, now, reply.raw, reply.text, reply=reply,
            diagnostics=reply.diagnostics, latency=latency,
        ))
        if unsolicited and self.strict_replies and deliver and self._unsolicited is None:
            # RFC 5321 §4.1.1: replies answer commands. Taking this one as the reply to
            # the next command would shift every later reply onto the wrong command, so
            # the next step fails instead (after TURN these are the remote's lines).
            self._note("unsolicited reply: no command was waiting for it")
            self._unsolicited = reply
        if deliver:
            self._replies.append(reply)

    def _refuse_unsolicited(self, step: str) -> None:
        reply = self._unsolicited
        if reply is not None:
            first = reply.raw.split(b"\n", 1)[0].removesuffix(b"\r")
            raise ProtocolViolation(
                step, f'the server sent a reply no command was waiting for ("{printable(first)}"); '
                      "later replies could be matched to the wrong commands, so the session "
                      "cannot be trusted (RFC 5321 §4.1.1)")

    @staticmethod
    def _check(step: str, reply: Reply) -> None:
        if reply.code is None:
            first = reply.raw.split(b"\n", 1)[0].removesuffix(b"\r")
            more = " ..." if b"\n" in reply.raw.rstrip(b"\r\n") else ""
            raise ProtocolViolation(step, f'not an SMTP reply: "{printable(first)}"{more}')

    # -- commands ---------------------------------------------------------------------------

    async def send_line(self, line: str, *, secret: bool = False) -> None:
        """Send one line (CRLF added). In the DATA state (after 354) lines are message
        text, sent as given, and a line "." ends the message."""
        if "\r" in line or "\n" in line:
            raise ValueError("a command line cannot contain CR or LF")
        data = line.encode("utf-8", "surrogateescape") + b"\r\n"
        in_data = self.tracker.sending_data
        # After a 334 every line is a SASL response (RFC 4954 §4): the core decides.
        secret = secret or is_secret_line(line, self.tracker.state is State.AUTH)
        verb = line.split(" ", 1)[0].upper()
        if not self._awaiting:
            self._refuse_unsolicited(verb or "command")
        if in_data:
            step = "message data"
        elif secret and (self.tracker.state is State.AUTH or verb not in COMMANDS):
            step = self._last_verb  # a SASL response: never name a step after a secret
        else:
            step = verb or "command"
            self._last_verb = step
            if step in ("EHLO", "HELO", "LHLO"):
                self._hello_line = line
        self._write(data, line, secret=secret, step=step)
        self.tracker.command_sent(line)  # in DATA, "." is the end of data for the tracker
        if not in_data or line == ".":
            self._awaiting.append(time.monotonic())
        await self._drain(step, self.timeouts.data if in_data else self.timeouts.reply)

    async def command(self, line: str, *, secret: bool = False, step: str | None = None) -> Reply:
        """Send ``line`` and read its reply. ``step`` names it in errors (default: the
        verb; for a secret line, the verb of the last command, e.g. AUTH). The line "."
        in the DATA state ends the message: its reply gets the DATA deadline."""
        in_data = self.tracker.sending_data
        await self.send_line(line, secret=secret)
        if in_data:
            return await self.read_reply(step or "end of data", self.timeouts.data)
        return await self.read_reply(step or self._last_verb)

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
        if self._replies or self._parser.has_partial:
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
        if self._eof or reader is None:
            raise ServerClosed(step, "the connection is closed")
        try:
            async with asyncio.timeout(timeout):
                raw = await reader.readuntil(b"\n")
        except TimeoutError:
            reason = f"timed out after {_format_seconds(timeout)} s waiting for the remote"
            self._note(f"{step}: {reason}")
            raise StepTimeout(step, reason) from None
        except asyncio.IncompleteReadError as exc:
            self._eof = True
            mid = exc.partial or self._line_head
            reason = "the remote closed the connection" + (" mid-line" if mid else "")
            self._note(f"{step}: {reason}")
            raise ServerClosed(step, reason) from None
        except asyncio.LimitOverrunError:
            raw = b""
            over = True
        except ssl.SSLError as exc:
            self._eof = True
            raise ServerClosed(step, f"TLS error: {exc.reason or exc}") from None
        except OSError as exc:
            self._eof = True
            raise ServerClosed(step, _os_reason(exc)) from None
        else:
            raw, self._line_head = self._line_head + raw, b""
            over = len(raw) > max_length
        if over:
            self._line_too_long(step, max_length)
        text = raw.decode("utf-8", "replace").removesuffix("\n").removesuffix("\r")
        if record:  # a caller reading a flood of message data keeps only its start
            self.transcript.append(Entry(Direction.SERVER, time.monotonic(), raw, text))
        return text

    def _line_too_long(self, step: str, max_length: int) -> None:
        reason = f"line longer than {max_length} octets"
        self._note(f"{step}: {reason}; connection dropped")
        self._abort("connection closed")
        raise ProtocolViolation(step, reason)

    def _hand_over_to_lines(self) -> None:
        """What the reply parser holds (the remote wrote ahead of us) becomes lines for
        :meth:`read_line`: whole lines are queued, a partial one starts the next line."""
        for reply in self._replies:
            self._line_queue.extend(reply.raw.splitlines(keepends=True))
        self._replies.clear()
        self._unsolicited = None  # after TURN the remote speaks first: not a violation
        partial = self._parser.close()
        if partial is not None:
            self._line_head += partial.raw
            if any(d.rule == _LINE_CAP_RULE for d in partial.diagnostics):
                self._line_capped = True  # the parser already dropped part of it
        self._parser = _new_parser()

    async def send_raw_line(self, line: str, *, step: str = "reply",
                            secret: bool = False) -> None:
        """Send one line as given (CRLF added), outside the client's command tracking:
        our replies after TURN. Recorded in the transcript; the write has the reply
        deadline. A line holding CR or LF is a ValueError."""
        if "\r" in line or "\n" in line:
            raise ValueError("a line cannot contain CR or LF")
        data = line.encode("utf-8", "surrogateescape") + b"\r\n"
        self._write(data, line, secret=secret, step=step)
        await self._drain(step, self.timeouts.reply)

    async def wait_for_hangup(self, timeout: float) -> bool:
        """Discard what the remote still sends until it closes, for at most ``timeout``
        seconds; True when it closed. (After our 221 as the receiver, RFC 821 §4.1.1.)"""
        reader = self._reader
        if self._eof or reader is None:
            return True
        try:
            async with asyncio.timeout(timeout):
                while await reader.read(READ_SIZE):
                    pass
        except (TimeoutError, OSError, ssl.SSLError):
            return False
        self._eof = True
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
        if (self._replies or self._unsolicited is not None or self._parser.has_partial
                or _buffered(self._reader)):
            # Anything the server sent after its 220 and before the handshake would be
            # read as if it came over TLS (CVE-2011-0411-style injection): refuse.
            self._note("STARTTLS: data after the 220 reply, before the TLS handshake")
            await self.close()
            raise ProtocolViolation(
                "starttls", "the server sent data after its 220 reply, before the TLS "
                            "handshake (possible injection); connection closed")
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
        if not self.tracker.sending_data:
            raise RuntimeError("send_data() needs a 354 reply to DATA first")
        stuffer = DotStuffer()
        capture = _DataCapture(self)
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
            body, marker = tail[:-3], tail[-3:]
            await self._send_data_block(body, capture)
            capture.flush()
            if capture.skipped:
                self._note(f"{capture.skipped} more octets of message data sent "
                           f"(not kept in the transcript)")
            self._write(marker, ".", step="end of data")
            ended = True
            self.tracker.data_finished()
            self._awaiting.append(time.monotonic())
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
            self.last_data = DataStats(
                stuffer.octets, stuffer.wire_octets, stuffer.bare_cr, stuffer.bare_lf,
                stuffer.eight_bit, stuffer.long_lines, ended)
        self._note_data_report(stuffer)
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
        line = f"BDAT {len(chunk)}" + (" LAST" if last else "")
        self._write(line.encode("ascii") + b"\r\n", line, step="BDAT")
        self._last_verb = "BDAT"
        self.tracker.command_sent(line)
        self._awaiting.append(time.monotonic())
        capture = _DataCapture(self)
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
        if data:
            for reply in self._parser.feed(data):
                self._record_reply(reply)
        if not self._replies:
            return None
        reply = self._replies.popleft()
        if reply.code is None:
            return None
        self.tracker.reply_received(reply)
        return reply

    async def _send_data_block(self, wire: bytes, capture: _DataCapture) -> None:
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

    def _note_data_report(self, stuffer: DotStuffer) -> None:
        parts = [f"message data: {stuffer.octets} octets"]
        if stuffer.bare_lf or stuffer.bare_cr:
            parts.append(f"{stuffer.bare_lf} bare LF and {stuffer.bare_cr} bare CR "
                         f"sent as CRLF (RFC 5321 §2.3.8)")
        if stuffer.long_lines:
            parts.append(f"{stuffer.long_lines} line(s) over 998 octets "
                         f"(RFC 5321 §4.5.3.1.6)")
        if stuffer.eight_bit:
            parts.append("8-bit data (needs 8BITMIME, RFC 6152)")
        self._note("; ".join(parts))

    async def quit(self) -> Reply | None:
        """QUIT, read the 221, close. None when the connection was already gone or the
        server hung up instead of replying."""
        if self.closed or self._eof:
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
            self._eof = True
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

    def _write(self, data: bytes, text: str, *, secret: bool = False,
               step: str = "command") -> None:
        self._write_raw(data, step)  # never name the step after the text: it may be secret
        self.transcript.append(Entry(Direction.CLIENT, time.monotonic(), data, text,
                                     secret=secret))

    def _write_raw(self, data: bytes, step: str) -> None:
        if self._writer is None or self._eof and self._writer.is_closing():
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

    def _record_sent(self, wire: bytes) -> None:
        """A transcript entry for message data already written."""
        text = wire.decode("utf-8", "replace").replace("\r\n", "\n").removesuffix("\n")
        self.transcript.append(Entry(Direction.CLIENT, time.monotonic(), wire, text))

    async def _drain(self, step: str, timeout: float) -> None:
        if self._writer is None:
            raise ServerClosed(step, "the connection is closed")
        try:
            async with asyncio.timeout(timeout):
                await self._writer.drain()
        except TimeoutError:
            reason = (f"timed out after {_format_seconds(timeout)} s: "
                      f"the server stopped reading")
            self._note(f"{step}: {reason}")
            raise StepTimeout(step, reason) from None
        except (OSError, ssl.SSLError) as exc:
            self._eof = True
            reason = (_os_reason(exc) if isinstance(exc, OSError)
                      else f"TLS error: {exc.reason or exc}")
            self._note(f"{step}: {reason}")
            raise ServerClosed(step, reason) from None

    # -- TLS --------------------------------------------------------------------------------

    async def _secure(self, step: str, hostname: str) -> None:
        """Handshake on the current connection; the insecure fallback when asked."""
        ctx = self.ssl_context if self.ssl_context is not None else _default_context()
        mode: TLSMode = "implicit" if step == "tls" else "starttls"
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
            await self._handshake(step, unverified_context(), hostname)
            self.tls = self._tls_info(mode, verified=False, verify_error=failed.reason)
        else:
            if ctx.verify_mode == ssl.CERT_NONE:
                self.tls = self._tls_info(mode, verified=False,
                                          verify_error="verification disabled")
            elif not ctx.check_hostname:
                self.tls = self._tls_info(mode, verified=False,
                                          verify_error="host name not checked")
            else:
                self.tls = self._tls_info(mode, verified=True, verify_error=None)
        info = self.tls
        self._note(f"TLS established: {info.version} {info.cipher}"
                   f" ({'verified' if info.verified else 'NOT verified: ' + str(info.verify_error)})")
        if step == "starttls":
            # RFC 3207 §4.2: forget everything learnt before TLS; a fresh parser too.
            self._parser = _new_parser()
            self._replies.clear()
            self.tracker.tls_established()

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
            reason = f"TLS handshake timed out after {_format_seconds(timeout)} s"
            self._note(f"{step}: {reason}")
            self._abort("connection closed")
            raise StepTimeout(step, reason) from None
        except ssl.SSLError as exc:
            reason = str(exc.reason or exc).replace("_", " ").lower()
            hint = ""
            if step == "tls" and "wrong version number" in reason:
                hint = " (is this a plain SMTP port? try without implicit TLS)"
            self._note(f"{step}: TLS handshake failed: {reason}")
            self._abort("connection closed")
            raise TLSFailure(step, f"TLS handshake failed: {reason}{hint}") from None
        except (OSError, EOFError) as exc:
            reason = _os_reason(exc) if isinstance(exc, OSError) else "unexpected end of stream"
            self._note(f"{step}: TLS handshake failed: {reason}")
            self._abort("connection closed")
            raise TLSFailure(step, f"TLS handshake failed: {reason}") from None

    async def _reconnect_unverified(self, step: str, hostname: str) -> None:
        """Insecure fallback: a new connection to the same address, up to the point of
        the handshake (for STARTTLS: greeting, the same EHLO/HELO, STARTTLS)."""
        address, port = self.peer
        where = format_host_port(address, port)
        try:
            async with asyncio.timeout(self.timeouts.connect):
                reader, writer = await asyncio.open_connection(
                    address, port, limit=READ_SIZE, family=_family_of(address))
        except TimeoutError:
            raise StepTimeout(step, f"reconnect timed out after "
                                    f"{_format_seconds(self.timeouts.connect)} s ({where})"
                              ) from None
        except OSError as exc:
            raise ConnectError(step, f"reconnect failed: {_os_reason(exc)} ({where})") from None
        self._reader, self._writer = reader, writer
        self._eof = False
        self._parser = _new_parser()
        self._replies.clear()
        self._awaiting.clear()
        self._unsolicited = None
        self.tracker = SessionTracker()
        self.tls = None
        self._note(f"connected to {where}")
        if step != "starttls":
            return
        self._awaiting.append(time.monotonic())
        try:
            greeting = await self.read_greeting()
            if greeting.code != 220:
                raise ProtocolViolation(step, f"reconnect: greeting {greeting.code} instead of 220")
            if self._hello_line is not None:
                hello = await self.command(self._hello_line)
                if hello.code != 250:
                    raise ProtocolViolation(step, f"reconnect: {hello.code} to {self._last_verb}")
            reply = await self.command("STARTTLS")
            if reply.code != 220:
                raise ProtocolViolation(step, f"reconnect: {reply.code} to STARTTLS")
            if self._replies or self._parser.has_partial or _buffered(self._reader):
                raise ProtocolViolation(step, "data after the 220 reply, before the handshake")
        except SMTPClientError:
            await self.close()
            raise

    def _tls_info(self, mode: TLSMode, *, verified: bool, verify_error: str | None) -> TLSInfo:
        writer = self._writer
        sslobj = writer.get_extra_info("ssl_object") if writer is not None else None
        if sslobj is None:
            return TLSInfo(mode, "", "", verified, verify_error, "", "", (), "", "")
        cipher = sslobj.cipher() or ("", "", None)
        summary = cert_summary(sslobj)
        return TLSInfo(
            mode=mode,
            version=sslobj.version() or "",
            cipher=cipher[0] or "",
            verified=verified,
            verify_error=verify_error,
            subject=summary["subject"],
            issuer=summary["issuer"],
            san=summary["san"],
            not_before=summary["not_before"],
            not_after=summary["not_after"],
            bits=cipher[2],
        )

    # -- transcript notes -------------------------------------------------------------------

    def _note(self, text: str) -> None:
        _note_to(self.transcript, text)


@functools.cache
def _default_context() -> ssl.SSLContext:
    """The verifying context used when the caller gives none (loaded once: the trust
    store costs milliseconds)."""
    return make_tls_context()


def _note_to(transcript: Transcript, text: str) -> None:
    transcript.append(Entry(Direction.NOTE, time.monotonic(), b"", text))


def _buffered(reader: asyncio.StreamReader | None) -> bool:
    """True when the stream holds received octets nobody has read yet."""
    return bool(reader is not None and getattr(reader, "_buffer", b""))


async def _candidate_addresses(
    host: str, port: int, family: int, addresses: Sequence[str] | None, timeout: float,
) -> list[str]:
    """The addresses to try, in order, without duplicates, filtered by ``family``."""
    if addresses is not None:
        found = [a for a in addresses if family == 0 or _family_of(a) == family]
        if not found:
            what = "IPv6" if family == socket.AF_INET6 else "IPv4"
            raise ConnectError("connect", f"no {what} address for {host}"
                               if addresses else f"no address for {host}")
        return list(dict.fromkeys(found))
    literal = host.split("%", 1)[0]
    if _is_ip(literal):
        if family and _family_of(literal) != family:
            want = "IPv6" if family == socket.AF_INET6 else "IPv4"
            raise ConnectError("connect", f"{host} is not an {want} address")
        return [host]
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            infos = await loop.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM,
                                           proto=socket.IPPROTO_TCP)
    except TimeoutError:
        raise StepTimeout("resolve", f"{host}: timed out after {_format_seconds(timeout)} s"
                          ) from None
    except socket.gaierror as exc:
        raise ConnectError("resolve", f"{host}: {exc.strerror or exc}") from None
    except (OSError, UnicodeError) as exc:
        raise ConnectError("resolve", f"{host}: {exc}") from None
    result = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not result:
        raise ConnectError("resolve", f"{host}: no address")
    return result
