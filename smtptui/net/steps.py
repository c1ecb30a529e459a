"""The steps of an SMTP client, written once for both drivers.

:class:`ClientSteps` is everything a client does above the socket -- read a reply within
its deadline, send a command, EHLO/STARTTLS/QUIT, stream message data (and salvage the
server's last reply when it hangs up mid-message), the TLS handshake with the insecure
fallback's reconnect -- over a handful of I/O primitives that each driver provides:
:class:`~smtptui.net.client.SMTPClient` with asyncio streams, and
:class:`~smtptui.net.blocking.BlockingSMTPClient` with a blocking socket. The steps are
coroutines in both; the blocking driver's never suspend, so one-shot commands run them
with :func:`~smtptui.net.blocking.run_blocking` and never start an event loop.

The protocol bookkeeping is :class:`~smtptui.net.connection.ClientConnection`'s; the
TLS verdict is :mod:`smtptui.net.tls`'s. Nothing here imports asyncio, socket or ssl.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterable, Callable, Iterable
from types import TracebackType

from smtptui.core.data import DotStuffer
from smtptui.core.replies import Reply
from smtptui.net.connection import (
    ClientConnection,
    DataCapture,
    DataStats,
    Timeouts,
    new_parser,
)
from smtptui.net.errors import (
    ProtocolViolation,
    ServerClosed,
    SMTPClientError,
    TLSFailure,
)

TYPE_CHECKING = False  # typing is for type checkers: not imported at start-up
if TYPE_CHECKING:
    from ssl import SSLContext
    from typing import Any, Self

    from smtptui.core.ehlo import Capabilities
    from smtptui.core.state import SessionTracker, State
    from smtptui.core.transcript import Transcript
    from smtptui.net.tls import TLSInfo, TLSMode

__all__ = ["LINE_CAP_RULE", "ClientSteps", "VerifyFailed"]

LINE_CAP_RULE = "smtptui max_line_length"
"""The core ReplyParser's rule for a line longer than we keep (after TURN: too long)."""


class VerifyFailed(Exception):
    """Internal: the verified handshake failed on the certificate; reason attached."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ClientSteps:
    """One SMTP connection's steps over a driver's I/O primitives.

    Attributes: ``transcript`` (core Transcript), ``tracker`` (core SessionTracker; it is
    replaced when an insecure STARTTLS fallback reconnects, so read it from the client
    each time), ``capabilities`` (from the last EHLO), ``tls`` (TLSInfo once TLS is up),
    ``peer`` (address, port), ``host``, ``port``, ``last_data`` (DataStats).
    """

    host: str
    port: int
    peer: tuple[str, int]
    server_hostname: str
    ssl_context: SSLContext | None
    timeouts: Timeouts
    tls: TLSInfo | None
    last_data: DataStats | None
    _conn: ClientConnection
    _line_queue: deque[bytes]
    _line_head: bytes
    _line_capped: bool

    # -- what a driver provides ------------------------------------------------------------

    @property
    def closed(self) -> bool:
        raise NotImplementedError

    async def _fill(self, step: str, timeout: float) -> None:
        """Read until a reply is delivered, within ``timeout`` for all of it (else the
        connection's reply_timeout error)."""
        raise NotImplementedError

    def _write_raw(self, data: bytes, step: str) -> None:
        """Queue octets for the peer (ServerClosed when the connection is gone)."""
        raise NotImplementedError

    async def _drain(self, step: str, timeout: float) -> None:
        """Wait until what was queued is written, within ``timeout``."""
        raise NotImplementedError

    async def _answered_early(self) -> bool:
        """The peer sent something (or hung up) while we were writing message data."""
        raise NotImplementedError

    def _unread(self) -> bytes:
        """What the peer sent that nobody read yet, taken without waiting (to salvage a
        reply after a failed write)."""
        raise NotImplementedError

    def _buffered(self) -> bool:
        """Received octets are waiting that the connection has not been given yet."""
        raise NotImplementedError

    async def _handshake(self, step: str, ctx: SSLContext, hostname: str) -> None:
        """TLS on the current connection; VerifyFailed when only the certificate failed."""
        raise NotImplementedError

    async def _reopen(self, step: str) -> None:
        """A new plain connection to ``peer`` replacing the current one."""
        raise NotImplementedError

    def _ssl_object(self) -> Any:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    def _abort(self, why: str) -> None:
        raise NotImplementedError

    # -- properties ----------------------------------------------------------------------

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
    def reply_ready(self) -> bool:
        """A whole reply has been received and parsed: :meth:`read_reply` returns it
        without waiting for the network (a burst of pipelined replies)."""
        return bool(self._conn.replies)

    @property
    def capabilities(self) -> Capabilities | None:
        """The capabilities of the last successful EHLO (None before, after HELO, and
        after STARTTLS until the next EHLO: RFC 3207 §4.2)."""
        return self.tracker.capabilities

    @property
    def state(self) -> State:
        return self.tracker.state

    # -- after TURN: raw lines (the remote sends commands, we reply) ------------------------
    # Each driver keeps ``_line_queue`` (whole lines the reply parser held),
    # ``_line_head`` (a partial line) and ``_line_capped``, and reads with ``read_line``.

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
            if any(d.rule == LINE_CAP_RULE for d in partial.diagnostics):
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
            await self._fill(step, timeout)
        return conn.take_reply(step)

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
        if self._conn.data_before_handshake(self._buffered()):
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
        return self._conn.salvage(self._unread())

    async def _send_data_block(self, wire: bytes, capture: DataCapture) -> None:
        if not wire:
            return
        capture.add(wire)
        self._write_raw(wire, "message data")
        await self._drain("message data", self.timeouts.data)
        if await self._answered_early():
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

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- TLS --------------------------------------------------------------------------------

    async def _secure(self, step: str, hostname: str) -> None:
        """Handshake on the current connection; the insecure fallback when asked."""
        from smtptui.net.tls import (
            default_context,
            established_note,
            is_insecure,
            session_info,
            unverified_context,
        )

        ctx = self.ssl_context if self.ssl_context is not None else default_context()
        mode: TLSMode = "implicit" if step == "tls" else "starttls"
        verify_error = None
        try:
            await self._handshake(step, ctx, hostname)
        except VerifyFailed as failed:
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
        self.tls = session_info(self._ssl_object(), ctx, mode, verify_error=verify_error)
        self._note(established_note(self.tls))
        if step == "starttls":
            self._conn.tls_established()

    async def _reconnect_unverified(self, step: str, hostname: str) -> None:
        """Insecure fallback: a new connection to the same address, up to the point of
        the handshake (for STARTTLS: greeting, the same EHLO/HELO, STARTTLS)."""
        await self._reopen(step)
        conn = self._conn
        conn.reconnected()
        self.tls = None
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
            if conn.data_before_handshake(self._buffered()):
                raise ProtocolViolation(step, "data after the 220 reply, before the handshake")
        except SMTPClientError:
            await self.close()
            raise

    def _note(self, text: str) -> None:
        self._conn.note(text)

    async def _opened(self, where: str, implicit_tls: bool, hostname: str) -> None:
        """The connection to ``where`` is up (either driver): say so, do the implicit
        TLS handshake when asked (closing on failure), and await the greeting, which
        answers the connect."""
        self._note(f"connected to {where}")
        if implicit_tls:
            try:
                await self._secure("tls", hostname)
            except BaseException:
                await self.close()
                raise
        self._conn.awaiting.append(time.monotonic())
