"""The use-case facade both front ends drive: one SMTP session, by hand.

A :class:`Session` owns the connection (an :class:`~smtptui.net.client.SMTPClient`,
whose :class:`~smtptui.core.state.SessionTracker` follows the protocol), one
:class:`~smtptui.core.transcript.Transcript` that survives reconnects, and a stream of
frozen :mod:`events <smtptui.session.events>` that front ends subscribe to.

One task reads: while connected, a reader task takes every reply as it arrives --
pipelined, late, or unsolicited (a 421 while the user is typing) -- matches it to the
command it answers, and emits it with its transition and explanation. Each read has the
deadline of what it waits for (greeting, reply, end of data); when nothing is awaited
it waits without one, and a command sent re-arms it. The reader also does what must
happen between two reads: the TLS handshake after 220 to STARTTLS, and after TURN it
reads the remote's commands instead of replies.

Nothing here prints or raises for the network: a failure is a :class:`Failed` event
(``step: reason``) followed by :class:`Closed`; the transcript, the history and
whatever the user typed are kept. Local misuse (no connection, a line with CR/LF, a
message before 354) raises :class:`SessionError`, one line for the user.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smtptui.core.codes import explain
from smtptui.core.commands import Dialect
from smtptui.core.diagnostics import Diagnostic
from smtptui.core.sasl import (
    SASLError,
    cram_md5_response,
    login_response,
    plain_initial_response,
)
from smtptui.core.state import GREETING, State, expected_codes
from smtptui.core.transcript import Direction, Entry, Transcript
from smtptui.net.errors import SMTPClientError
from smtptui.session.autosave import Autosave, History, log_exception
from smtptui.session.common import (
    IDLE_TIMEOUT,
    MAX_REMOTE_LINE,
    QUIT_GRACE,
    UNSOLICITED_NOTE,
    SessionBase,
    SessionError,
    check_line,
    check_reply_line,
    closing_reason,
    next_read,
    wire_line,
)
from smtptui.session.events import (
    Closed,
    Connected,
    Connecting,
    DataProgress,
    Event,
    Failed,
    ReplyReceived,
    ServerLog,
    TLSUp,
)

if TYPE_CHECKING:
    from smtptui.core.completion import Candidate
    from smtptui.core.ehlo import Capabilities
    from smtptui.core.replies import Reply
    from smtptui.net.client import SMTPClient
    from smtptui.server.app import ServerEvent
    from smtptui.session.connect import Connector

__all__ = ["Session", "SessionError"]

BURST_SLICE = 64
"""Replies of a pipelined burst handled between two turns of the event loop: enough to
save a task and a wait per reply, few enough that a key press waits well under 10 ms."""


FILE_CHUNK = 256 * 1024
"""Octets read from a message file at a time."""


class Session(SessionBase):
    """One interactive SMTP session over a connector (see :func:`make_connector`).

    ``dialect`` is the grammar lines are checked against; ``helo_name`` the name
    offered for HELO/EHLO completion; ``autosave`` (default True) appends the transcript
    to the data directory as it happens; ``history`` is the persisted command history
    (None: a fresh in-memory one when autosave is off, the user's file otherwise).
    """

    def __init__(self, connector: Connector, *, dialect: Dialect = "rfc5321",
                 helo_name: str | None = None, autosave: bool | Path = True,
                 history: History | None = None) -> None:
        self.connector = connector
        self.dialect: Dialect = dialect
        self._helo_name = helo_name
        self.transcript = Transcript()
        self.client: SMTPClient | None = None
        self._subscribers: list[Callable[[Event], None]] = []
        self._reader: asyncio.Task[None] | None = None
        self._wake: asyncio.Future[None] | None = None
        self._waiters: deque[asyncio.Future[Reply | None]] = deque()
        self._handshake_done = asyncio.Event()  # cleared while the reader does a handshake
        self._handshake_done.set()
        self._replies_by_id: dict[int, Entry] = {}
        self._send_lock = asyncio.Lock()
        self._caps_before_tls: Capabilities | None = None
        self._closing_reason: str | None = None
        # After TURN (we are the receiver): the remote's last command and data mode.
        self._remote_verb = GREETING
        self._remote_data = False
        self._turn_quit = False
        self.autosave: Autosave | None = None
        self._autosave_dir = autosave if isinstance(autosave, Path) else None
        self._autosave_on = bool(autosave)
        self.history = history if history is not None else History(persist=bool(autosave))
        self.transcript.subscribe(self._on_entry)
        if getattr(connector, "embedded", False) and getattr(connector, "on_event", 1) is None:
            connector.on_event = self._on_server_event  # type: ignore[attr-defined]

    # -- subscribing ------------------------------------------------------------------------

    async def events(self) -> AsyncIterator[Event]:
        """The events as an async iterator (until :class:`Closed`), for simple clients."""
        queue: asyncio.Queue[Event] = asyncio.Queue()
        unsubscribe = self.subscribe(queue.put_nowait)
        try:
            while True:
                event = await queue.get()
                yield event
                if isinstance(event, Closed):
                    return
        finally:
            unsubscribe()

    def _on_entry(self, entry: Entry) -> None:
        if self.autosave is not None:
            self.autosave.add(entry)
            if self.autosave.error is not None:
                error_text, self.autosave = self.autosave.error, None
                self._emit(Failed("autosave", error_text))
        self._route_entry(entry)

    def _on_server_event(self, event: ServerEvent) -> None:
        self._emit(ServerLog(event))

    # -- what the session knows -------------------------------------------------------------




    @property
    def helo_name(self) -> str:
        if self._helo_name is None:
            self._helo_name = socket.gethostname() or "localhost"
        return self._helo_name



    # -- checking and completing ------------------------------------------------------------

    def check(self, line: str) -> list[Diagnostic]:
        """Grammar (in the session's dialect, against the advertised extensions) and
        sequence diagnostics for ``line``, before it is sent. Message text and SASL
        responses are not commands: nothing to check. After TURN, a reply line."""
        client = self.client
        tracker = client.tracker if client is not None else None
        if tracker is not None and tracker.state is State.TURNED:
            return check_reply_line(line, self._remote_verb, self._remote_data)
        return check_line(line, self.dialect, tracker, self.capabilities)

    def complete(self, line: str) -> list[Candidate]:
        """Completion candidates for the line typed so far, best first."""
        client = self.client
        if client is not None and client.tracker.state is State.TURNED:
            return self._complete_reply(line)
        state = client.tracker if client is not None else None
        from smtptui.core.completion import complete  # on first keystroke, not at start-up

        return complete(line, state, history=self.history.lines, local_name=self.helo_name)

    def _complete_reply(self, line: str) -> list[Candidate]:
        if self._remote_data or not self._remote_verb:
            return []
        from smtptui.core.completion import Candidate

        typed = line.lstrip()
        out = []
        for code in sorted(expected_codes(self._remote_verb, "rfc821")):
            text = str(code)
            if text.startswith(typed[:3]) and len(typed) <= 3:
                meaning = explain(code).meaning
                out.append(Candidate(f"{text} ", len(line) - len(typed), text, meaning,
                                     "value"))
        return out

    def expected_reply_codes(self) -> tuple[int, ...]:
        """After TURN: the codes RFC 821 lists for the command the remote just sent."""
        if self.state is not State.TURNED or self._remote_data or not self._remote_verb:
            return ()
        return tuple(sorted(expected_codes(self._remote_verb, "rfc821")))

    # -- connecting -------------------------------------------------------------------------

    async def connect(self) -> bool:
        """Open the connection and start reading (the greeting arrives as an event).
        False (after a :class:`Failed` event) when it could not be opened."""
        if self.connected:
            raise SessionError("already connected: disconnect first")
        label = self.connector.label(None)
        self._emit(Connecting(label))
        if self.autosave is None and self._autosave_on:
            try:
                self.autosave = Autosave(label, self._autosave_dir)
            except OSError as exc:
                self._emit(Failed("autosave", f"cannot write the transcript file: "
                                              f"{exc.strerror or exc}"))
        try:
            client = await self.connector(None, transcript=self.transcript)
        except SMTPClientError as exc:
            self._emit(Failed(exc.step, exc.reason))
            self._emit(self.snapshot())
            return False
        except Exception as exc:  # noqa: BLE001 - one line for the user, details in the log
            self._internal_error("connect", exc)
            self._emit(self.snapshot())
            return False
        client.strict_replies = False  # the reader reports unsolicited replies itself
        self.client = client
        self._caps_before_tls = None
        self._remote_verb, self._remote_data, self._turn_quit = GREETING, False, False
        self._closing_reason = None
        self._waiters.clear()
        self._replies_by_id.clear()  # a reply the last connection left unhandled
        self._waiters.append(asyncio.get_running_loop().create_future())  # the greeting
        self._emit(Connected(label, client.host, client.port, client.peer[0],
                             bool(getattr(self.connector, "embedded", False))))
        self._emit(self.snapshot())
        self._reader = asyncio.create_task(self._read_loop(client), name="smtptui-reader")
        return True

    async def greeting(self) -> Reply | None:
        """The greeting, once it arrives (None if the connection failed first)."""
        if not self._waiters:
            return None
        return await asyncio.shield(self._waiters[0])

    async def disconnect(self, reason: str = "disconnected by the user") -> None:
        """Drop the connection now (no QUIT). The transcript and history stay."""
        client = self.client
        if client is None or client.closed:
            return
        self._closing_reason = reason
        await self._stop_reader()
        await client.close()
        self._finish(reason)

    async def reconnect(self) -> bool:
        """Disconnect if needed, then connect again to the same place; the transcript goes
        on (a note marks the new connection)."""
        await self.disconnect("reconnecting")
        return await self.connect()

    async def aclose(self) -> None:
        """End everything: the connection, the embedded server, the autosave file."""
        if self.client is not None and self.state is State.CLOSED:
            # The reader is ending the connection itself (after QUIT's 221: waiting for
            # the hang-up, closing): let it finish, so its notes and Closed are emitted.
            await self._reader_finished(QUIT_GRACE + 1.0)  # the hang-up, then the close
        await self.disconnect("session closed")
        await self._stop_reader()
        with contextlib.suppress(Exception):
            await self.connector.aclose()
        if self.autosave is not None:
            self.autosave.close()
            self.autosave = None

    # -- sending ----------------------------------------------------------------------------

    def _require_client(self) -> SMTPClient:
        client = self.client
        if client is None or client.closed:
            raise SessionError("not connected (reconnect to go on)")
        return client

    async def send(self, line: str, *, pipeline: bool | None = None
                   ) -> asyncio.Future[Reply | None] | None:
        """Send one line as typed; returns the future of its reply (None for message text
        and, after TURN, for our replies).

        ``pipeline``: send at once even when earlier commands are unanswered. The default
        does so only when the server advertised PIPELINING (RFC 2920); otherwise the line
        waits for the earlier replies, as a careful client would. In DATA (after 354) the
        line is message text (dot-stuffed: a leading "." is doubled), and "." ends it.
        """
        if "\r" in line or "\n" in line:
            raise SessionError("a line cannot contain CR or LF (the line end is added)")
        client = self._require_client()
        if client.tracker.state is State.TURNED:
            await self._send_turned_reply(client, line)
            return None
        if pipeline is None:
            caps = client.tracker.capabilities
            pipeline = caps is not None and caps.pipelining
        if not pipeline:
            await self._wait_for_answers()
            client = self._require_client()
        if client.tracker.state is State.TLS:
            # 220 to STARTTLS: nothing may be sent before the handshake (RFC 3207 §4).
            await self._handshake_settled()
            client = self._require_client()
        async with self._send_lock:
            return await self._send_now(client, line)

    async def _send_now(self, client: SMTPClient, line: str
                        ) -> asyncio.Future[Reply | None] | None:
        tracker = client.tracker
        wire, secret, in_data = wire_line(line, tracker)
        if not in_data and not secret:
            self.history.add(line)
        before = len(tracker.pending)
        future: asyncio.Future[Reply | None] | None = None
        try:
            await client.send_line(wire, secret=secret)
        except SMTPClientError as exc:
            await self._fail(exc.step, exc.reason)
            return None
        finally:
            if len(client.tracker.pending) > before:
                future = asyncio.get_running_loop().create_future()
                self._waiters.append(future)
                self._rearm()
        self._emit(self.snapshot())
        return future

    async def command(self, line: str, *, pipeline: bool | None = None) -> Reply | None:
        """Send ``line`` and wait for its reply (None when the connection ended first)."""
        future = await self.send(line, pipeline=pipeline)
        if future is None:
            return None
        return await future

    async def _wait_for_answers(self) -> None:
        waiting = [f for f in self._waiters if not f.done()]
        if waiting:
            await asyncio.wait(waiting)

    async def send_message(self, text: str | None = None, *, path: str | os.PathLike[str]
                           | None = None) -> Reply | None:
        """After 354: send a whole message (``text``, or the file at ``path`` streamed in
        chunks, never read whole), dot-stuffed, then the end marker; returns the final
        reply (None when the connection ended). :class:`DataProgress` events report the
        octets sent."""
        client = self._require_client()
        if not client.tracker.sending_data:
            raise SessionError("the server has not said 354 yet: send DATA first")
        if (text is None) == (path is None):
            raise SessionError("give the message text or a file, not both")
        total: int | None
        if path is not None:
            try:
                handle = open(path, "rb")  # noqa: SIM115, ASYNC230 - closed in _file_chunks
                total = os.fstat(handle.fileno()).st_size
            except OSError as exc:
                raise SessionError(f"{path}: {exc.strerror or exc}") from None
            chunks: Iterator[bytes] = _file_chunks(handle)
        else:
            assert text is not None
            data = text.encode("utf-8", "surrogateescape")
            total = len(data)
            chunks = iter([data])
        read = 0
        last = time.monotonic()

        def counted() -> Iterator[bytes]:
            nonlocal read
            for chunk in chunks:
                read += len(chunk)
                yield chunk

        def progress(_wire_octets: int) -> None:
            # Reported in octets of the message as given (the file's size is the total),
            # not as normalised for the wire.
            nonlocal last
            now = time.monotonic()
            if now - last >= 0.05 or (total is not None and read >= total):
                last = now
                self._emit(DataProgress(read, total))

        async with self._send_lock:
            before = len(client.tracker.pending)
            try:
                await client.send_data(counted(), await_reply=False, progress=progress)
            except SMTPClientError as exc:
                await self._fail(exc.step, exc.reason)
                return None
            except OSError as exc:  # the file could not be read mid-way
                await self._fail("message data", f"{path}: {exc.strerror or exc}")
                return None
            finally:
                if len(client.tracker.pending) > before:
                    future: asyncio.Future[Reply | None] = (
                        asyncio.get_running_loop().create_future())
                    self._waiters.append(future)
                    self._rearm()
        self._emit(self.snapshot())
        if not self._waiters:
            return None
        return await self._waiters[-1]

    async def starttls(self) -> Reply | None:
        """STARTTLS; on 220 the reader performs the handshake (TLSUp, or Failed)."""
        reply = await self.command("STARTTLS")
        if reply is not None and reply.code == 220:
            await self._handshake_settled()
        return reply

    async def settled(self) -> None:
        """Until every awaited reply is in and a TLS handshake after a 220 to STARTTLS is
        done: what a front end waits for before checking its next line against the state."""
        await self._wait_for_answers()
        await self._handshake_settled()

    async def _handshake_settled(self) -> None:
        """Until the reader finished the TLS handshake after a 220 to STARTTLS (it emits
        TLSUp, or Failed)."""
        while self.connected and self.state is State.TLS:
            if self._handshake_done.is_set():
                await asyncio.sleep(0)  # the 220 is in; the reader starts the handshake next
            else:
                await self._handshake_done.wait()

    async def auth(self, mechanism: str, user: str, password: str) -> Reply | None:
        """AUTH with PLAIN, LOGIN or CRAM-MD5, the responses computed here and masked
        everywhere. Returns the final reply (235 on success)."""
        mech = mechanism.upper()
        try:
            if mech == "PLAIN":
                return await self.command(f"AUTH PLAIN {plain_initial_response(user, password)}")
            if mech == "LOGIN":
                reply = await self.command("AUTH LOGIN")
                while reply is not None and reply.code == 334:
                    _asks, answer = login_response(reply.text, user, password)
                    reply = await self.command(answer)
                return reply
            if mech == "CRAM-MD5":
                reply = await self.command("AUTH CRAM-MD5")
                if reply is None or reply.code != 334:
                    return reply
                try:
                    answer = cram_md5_response(reply.text, user, password)
                except SASLError:
                    await self.command("*")  # cancel the exchange (RFC 4954 §4)
                    raise
                return await self.command(answer)
        except SASLError as exc:
            raise SessionError(f"AUTH {mech}: {exc}") from None
        raise SessionError(f"AUTH {mechanism}: smtptui computes PLAIN, LOGIN and CRAM-MD5; "
                           "type the exchange by hand for other mechanisms")

    async def quit(self) -> Reply | None:
        """QUIT; the reader closes the connection after the 221. Nothing is sent when
        the server has ended the session already (a 221 or 421 is in and the reader is
        waiting for the hang-up): the reader is left to finish."""
        if not self.connected:
            return None
        if self.state is State.CLOSED:
            await self._reader_finished(5)
            return None
        reply = await self.command("QUIT")
        await self._reader_finished(5)
        return reply

    async def _reader_finished(self, timeout: float) -> None:
        """Wait, at most ``timeout`` seconds and without cancelling it, for the reader to
        end on its own (after a 221 it waits for the hang-up and closes). A reader that
        fails or is cancelled meanwhile ends the wait, as the timeout does."""
        reader = self._reader
        if reader is None or reader.done() or reader is asyncio.current_task():
            return
        with contextlib.suppress(asyncio.CancelledError, Exception):  # TimeoutError too
            await asyncio.wait_for(asyncio.shield(reader), timeout)

    # -- TURN: we are the receiver ----------------------------------------------------------

    async def _send_turned_reply(self, client: SMTPClient, line: str) -> None:
        if self._remote_data:
            raise SessionError("the remote is sending its message: wait for its '.'")
        async with self._send_lock:
            try:
                await client.send_raw_line(line, step="reply")
            except SMTPClientError as exc:
                await self._fail(exc.step, exc.reason)
                return
        code = line[:3]
        if code == "354":
            self._remote_data = True
        if self._remote_verb == "QUIT" and code == "221":
            self._turn_quit = True
            await self._stop_reader()  # one reader at a time: now we wait for the hang-up
            await client.wait_for_hangup(QUIT_GRACE)
            await self.disconnect("the remote said QUIT and we answered 221")
            return
        self._remote_verb = ""  # answered: wait for the next command
        self._emit(self.snapshot())


    # -- the reader -------------------------------------------------------------------------

    def _rearm(self) -> None:
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    async def _read_loop(self, client: SMTPClient) -> None:
        try:
            while not client.closed:
                if client.tracker.state is State.TURNED:
                    if not await self._read_remote(client):
                        return
                    continue
                reply = await self._next_reply(client)
                if reply is None:
                    continue  # re-armed: something was sent
                if not await self._handle_reply(client, reply):
                    return
                if not await self._drain_burst(client):
                    return
        except SMTPClientError as exc:
            if self._closing_reason is None:  # not a close we asked for
                await self._fail(exc.step, exc.reason, from_reader=True)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            self._internal_error("reading replies", exc)
            await self._fail("internal", "the session was closed after an internal error",
                             from_reader=True, quiet=True)

    async def _drain_burst(self, client: SMTPClient) -> bool:
        """Replies already received (a pipelined burst) are taken without a race and a
        wait each, one StateChanged after the burst; the loop gets a turn every
        BURST_SLICE replies, so key presses are handled while a burst is shown. False
        when the session ended."""
        taken = 0
        while client.reply_ready and not client.closed and client.tracker.state not in (
                State.TURNED, State.TLS):
            step, timeout = next_read(client.tracker, client.timeouts)
            reply = await client.read_reply(step, timeout)  # returns at once: ready
            if not await self._handle_reply(client, reply, burst=True):
                return False
            taken += 1
            if taken % BURST_SLICE == 0:
                self._emit(self.snapshot())
                await asyncio.sleep(0)
        if taken:
            self._emit(self.snapshot())
        return True

    async def _next_reply(self, client: SMTPClient) -> Reply | None:
        step, timeout = next_read(client.tracker, client.timeouts)
        read = await self._race(client.read_reply(step, timeout))
        return None if read is None else read.result()

    async def _race(self, reading: Any) -> asyncio.Future[Any] | None:
        """Run one read until it completes (its future) or something is sent (None: the
        read was cancelled, so that the next one gets the right deadline). The read is
        always finished before this returns or raises: the stream allows one reader."""
        loop = asyncio.get_running_loop()
        self._wake = wake = loop.create_future()
        read = asyncio.ensure_future(reading)
        try:
            await asyncio.wait({read, wake}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            read.cancel()
            await asyncio.wait({read})
            raise
        if read.done():
            return read
        read.cancel()
        await asyncio.wait({read})
        if read.cancelled():
            return None
        return read  # it completed while being cancelled: keep what it read

    async def _handle_reply(self, client: SMTPClient, reply: Reply, *,
                            burst: bool = False) -> bool:
        tracker = client.tracker
        transition = tracker.last
        assert transition is not None
        entry = self._replies_by_id.pop(id(reply), None)
        if entry is None:  # defensive: every reply is in the transcript
            entry = Entry(Direction.SERVER, time.monotonic(), reply.raw, reply.text,
                          reply=reply)
        self._emit(ReplyReceived(entry, reply, transition))  # explained when looked at
        if transition.verb:
            while self._waiters:
                future = self._waiters.popleft()
                if not future.done():
                    future.set_result(reply)
                    break
        else:
            client.transcript.append(Entry(Direction.NOTE, time.monotonic(), b"",
                                           UNSOLICITED_NOTE))
        if transition.after is State.TLS and reply.code == 220:
            self._caps_before_tls = tracker.capabilities  # for "what changed after TLS"
            self._handshake_done.clear()
            try:
                await client.secure()
            except SMTPClientError as exc:
                await self._fail(exc.step, exc.reason, from_reader=True)
                return False
            finally:
                self._handshake_done.set()
            if client.tls is not None:
                self._emit(TLSUp(client.tls))
        if not burst or client.tracker.state is State.CLOSED:
            self._emit(self.snapshot())  # in a burst: once at its end (_drain_burst)
        if client.tracker.state is State.CLOSED:
            code = reply.code
            why = closing_reason(code)
            if code == 221 and transition.verb == "QUIT":
                with contextlib.suppress(Exception):
                    await client.wait_for_hangup(QUIT_GRACE)
            self._closing_reason = why
            await client.close()
            self._finish(why)
            return False
        return True

    async def _read_remote(self, client: SMTPClient) -> bool:
        timeouts = client.timeouts
        timeout = timeouts.data if self._remote_data else IDLE_TIMEOUT
        step = "remote message data" if self._remote_data else "remote command"
        read = await self._race(client.read_line(step, timeout, max_length=MAX_REMOTE_LINE))
        if read is None:
            return not client.closed
        try:
            read.result()  # the entry was emitted as a RemoteLine already
        except SMTPClientError as exc:
            if self._turn_quit:
                return False
            await self._fail(exc.step, exc.reason, from_reader=True)
            return False
        self._emit(self.snapshot())
        return True

    # -- ending -----------------------------------------------------------------------------

    async def _stop_reader(self) -> None:
        reader, self._reader = self._reader, None
        if reader is None or reader is asyncio.current_task():
            return
        if not reader.done():
            reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader

    async def _fail(self, step: str, reason: str, *, from_reader: bool = False,
                    quiet: bool = False) -> None:
        """A network step failed: say so once, drop the connection, keep everything else."""
        client = self.client
        if not quiet:
            self._emit(Failed(step, reason))
        if client is not None and not client.closed:
            self._closing_reason = f"{step}: {reason}"
            if not from_reader:
                await self._stop_reader()
            await client.close()
        self._finish(f"{step}: {reason}")

    def _finish(self, reason: str) -> None:
        for future in self._waiters:
            if not future.done():
                future.set_result(None)
        self._waiters.clear()
        self._emit(self.snapshot())
        self._emit(Closed(reason))

    def _internal_error(self, where: str, exc: BaseException) -> None:
        path = log_exception(exc, where)
        shown = f" (details in {path})" if path is not None else ""
        self._emit(Failed("internal", f"unexpected {type(exc).__name__} while {where}: "
                                      f"{str(exc)[:200]}{shown}"))


def _file_chunks(handle: Any) -> Iterator[bytes]:
    with handle:
        while True:
            chunk = handle.read(FILE_CHUNK)
            if not chunk:
                return
            yield chunk
