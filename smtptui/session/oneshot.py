"""A session without an event loop: the shell's pipe mode to one host.

Importing asyncio (and ssl with it) costs more than swaks' whole EHLO exchange, and a
session from a script is request and response: send a line (with ``--pipeline`` a
group), read its replies. :class:`OneShotSession` drives the blocking client
(:class:`~smtptui.net.blocking.BlockingSMTPClient`, which runs the very steps of the
asyncio one) with the interface and the events of :class:`~smtptui.session.Session`,
so the pipe driver and its output are the same for both. Its methods are coroutines
that never suspend: run the driver with :func:`run_blocking`.

What an event loop does between two commands is done when it matters instead:

- a reply is read when something awaits it (a :class:`PendingReply` is awaited);
- what the server says unprompted (a 421 before it hangs up) is taken by :meth:`poll`,
  which the input reader calls before every line and while it waits for input
  (:meth:`wait_for_input` watches the input and the server together);
- the TLS handshake after a 220 to STARTTLS happens as the reply is handled;
- after TURN, the remote's lines are read when we are about to answer one.

Reply matching, closing, failures and the transcript are the session's rules
(:mod:`smtptui.session.common`), not a copy. No autosave and no history: pipe mode
keeps neither.
"""

from __future__ import annotations

import select
import time
from collections import deque
from collections.abc import Callable, Coroutine, Generator

from smtptui.core.state import GREETING, State
from smtptui.core.transcript import Direction, Entry, Transcript
from smtptui.net.blocking import run_blocking as _run_blocking
from smtptui.net.errors import SMTPClientError
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
    Event,
    Failed,
    ReplyReceived,
    TLSUp,
)

TYPE_CHECKING = False  # typing is for type checkers: not imported at start-up
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from smtptui.core.commands import Dialect
    from smtptui.core.diagnostics import Diagnostic
    from smtptui.core.ehlo import Capabilities
    from smtptui.core.replies import Reply
    from smtptui.net.blocking import BlockingSMTPClient
    from smtptui.session.connect import Connector

    T = TypeVar("T")

__all__ = ["OneShotSession", "PendingReply", "run_blocking"]



def run_blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that drives a :class:`OneShotSession` (it never suspends) to its
    end, without an event loop."""
    return _run_blocking(coro)


class PendingReply:
    """The reply a command awaits. Awaiting it reads (blocking, within the step's
    deadline) until this reply is in; it is None when the connection ended first."""

    __slots__ = ("_session", "done", "reply")

    def __init__(self, session: OneShotSession) -> None:
        self._session = session
        self.done = False
        self.reply: Reply | None = None

    def resolve(self, reply: Reply | None) -> None:
        if not self.done:
            self.done, self.reply = True, reply

    def __await__(self) -> Generator[Any, None, Reply | None]:
        if not self.done:
            yield from self._session._read_until(self).__await__()
        return self.reply


class OneShotSession(SessionBase):
    """One SMTP session to a host over the blocking client, with the interface and the
    events of :class:`~smtptui.session.Session` that pipe mode uses. ``connector`` is a
    blocking one (``make_connector(..., blocking=True)``). ``explain=False`` leaves
    :attr:`ReplyReceived.explanation` None, for a front end that never shows it (pipe
    mode: the reply-code catalogue is not even imported)."""

    def __init__(self, connector: Connector, *, dialect: Dialect = "rfc5321",
                 explain: bool = True) -> None:
        self.connector = connector
        self.dialect: Dialect = dialect
        self.explain = explain
        self.transcript = Transcript()
        self.client: BlockingSMTPClient | None = None
        self._subscribers: list[Callable[[Event], None]] = []
        self._waiters: deque[PendingReply] = deque()
        self._replies_by_id: dict[int, Entry] = {}
        self._caps_before_tls: Capabilities | None = None
        self._closing_reason: str | None = None
        self._remote_verb = GREETING
        self._remote_data = False
        self._turn_quit = False
        self.transcript.subscribe(self._route_entry)

    # -- subscribing ------------------------------------------------------------------------


    # -- what the session knows -------------------------------------------------------------






    def check(self, line: str) -> list[Diagnostic]:
        """As :meth:`Session.check <smtptui.session.Session.check>`."""
        client = self.client
        tracker = client.tracker if client is not None else None
        if tracker is not None and tracker.state is State.TURNED:
            return check_reply_line(line, self._remote_verb, self._remote_data)
        return check_line(line, self.dialect, tracker, self.capabilities)

    # -- connecting -------------------------------------------------------------------------

    async def connect(self) -> bool:
        """Open the connection (the greeting is read when awaited: :meth:`greeting`).
        False (after a :class:`Failed` event) when it could not be opened."""
        if self.connected:
            raise SessionError("already connected: disconnect first")
        label = self.connector.label(None)
        self._emit(Connecting(label))
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
        client.strict_replies = False  # unsolicited replies are reported here
        self.client = client  # type: ignore[assignment]
        self._caps_before_tls = None
        self._remote_verb, self._remote_data, self._turn_quit = GREETING, False, False
        self._closing_reason = None
        self._waiters.clear()
        self._waiters.append(PendingReply(self))  # the greeting
        self._emit(Connected(label, client.host, client.port, client.peer[0], False))
        self._emit(self.snapshot())
        return True

    async def greeting(self) -> Reply | None:
        """The greeting (None if the connection failed first)."""
        if not self._waiters:
            return None
        return await self._waiters[0]

    async def disconnect(self, reason: str = "disconnected by the user") -> None:
        """Drop the connection now (no QUIT); what the remote sent meanwhile is taken
        first, as a reader would have."""
        client = self.client
        if client is None or client.closed:
            return
        await self.poll()
        if client.closed:
            return
        self._closing_reason = reason
        await client.close()
        self._finish(reason)

    async def aclose(self) -> None:
        await self.disconnect("session closed")
        await self.connector.aclose()

    # -- sending ----------------------------------------------------------------------------

    def _require_client(self) -> BlockingSMTPClient:
        client = self.client
        if client is None or client.closed:
            raise SessionError("not connected (reconnect to go on)")
        return client

    async def send(self, line: str, *, pipeline: bool | None = None) -> PendingReply | None:
        """As :meth:`Session.send <smtptui.session.Session.send>`: the reply to await,
        or None (message text; after TURN, our replies)."""
        if "\r" in line or "\n" in line:
            raise SessionError("a line cannot contain CR or LF (the line end is added)")
        await self.poll()
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
        return await self._send_now(client, line)

    async def _send_now(self, client: BlockingSMTPClient, line: str) -> PendingReply | None:
        tracker = client.tracker
        wire, secret, _in_data = wire_line(line, tracker)
        before = len(tracker.pending)
        handle: PendingReply | None = None
        try:
            await client.send_line(wire, secret=secret)
        except SMTPClientError as exc:
            await self._fail(exc.step, exc.reason)
            return None
        finally:
            if len(client.tracker.pending) > before:
                handle = PendingReply(self)
                self._waiters.append(handle)
        self._emit(self.snapshot())
        return handle

    async def command(self, line: str, *, pipeline: bool | None = None) -> Reply | None:
        """Send ``line`` and read its reply (None when the connection ended first)."""
        handle = await self.send(line, pipeline=pipeline)
        return None if handle is None else await handle

    async def _wait_for_answers(self) -> None:
        for handle in list(self._waiters):
            await handle

    async def settled(self) -> None:
        """Every awaited reply is in (a TLS handshake after 220 is done by then)."""
        await self._wait_for_answers()

    async def starttls(self) -> Reply | None:
        """STARTTLS; on 220 the handshake is done before this returns (TLSUp, or Failed)."""
        return await self.command("STARTTLS")

    async def quit(self) -> Reply | None:
        """QUIT; the connection is closed once the 221 is read (nothing is sent when the
        server has ended the session already)."""
        if not self.connected or self.state is State.CLOSED:
            return None
        return await self.command("QUIT")

    # -- reading ----------------------------------------------------------------------------

    async def poll(self) -> None:
        """Take what the server has sent meanwhile without waiting (a reply to a
        pipelined command, a 421 before it hangs up, after TURN the remote's lines) and
        handle it as a reader would have."""
        while (client := self.client) is not None and not client.closed:
            turned = client.tracker.state is State.TURNED
            step = self._remote_step() if turned else next_read(client.tracker,
                                                                  client.timeouts)[0]
            if not await client.take_available(step):
                return
            if not await self._read_one(client):
                return

    def wait_for_input(self, fd: int | None) -> None:
        """Before the next input line: take what the server said meanwhile; with ``fd``
        (the input must be read first), wait until it is readable, taking what the
        server says unprompted as it arrives (a 421 is reported while a script thinks).
        For :class:`~smtptui.shell.pipe.StdinLines`, outside any coroutine."""
        run_blocking(self.poll())
        while fd is not None and (client := self.client) is not None and not client.closed:
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            sock = client.fileno()
            if sock >= 0:
                poller.register(sock, select.POLLIN)
            try:
                ready = {found for found, _ in poller.poll()}
            except OSError:
                return
            if sock in ready:
                run_blocking(self.poll())
            if fd in ready:
                return

    async def _read_until(self, handle: PendingReply) -> None:
        while not handle.done:
            client = self.client
            if client is None or client.closed:
                handle.resolve(None)
                return
            await self._read_one(client)

    async def _read_one(self, client: BlockingSMTPClient) -> bool:
        """One reply (after TURN: one line of the remote) read and handled; False when
        the session ended."""
        try:
            if client.tracker.state is State.TURNED:
                return await self._read_remote(client)
            step, timeout = next_read(client.tracker, client.timeouts)
            reply = await client.read_reply(step, timeout)
            return await self._handle_reply(client, reply)
        except SMTPClientError as exc:
            if self._closing_reason is None:  # not a close we asked for
                await self._fail(exc.step, exc.reason)
            return False
        except Exception as exc:  # noqa: BLE001
            self._internal_error("reading replies", exc)
            await self._fail("internal", "the session was closed after an internal error",
                             quiet=True)
            return False

    async def _handle_reply(self, client: BlockingSMTPClient, reply: Reply) -> bool:
        tracker = client.tracker
        transition = tracker.last
        assert transition is not None
        entry = self._replies_by_id.pop(id(reply), None)
        if entry is None:  # defensive: every reply is in the transcript
            entry = Entry(Direction.SERVER, time.monotonic(), reply.raw, reply.text,
                          reply=reply)
        explanation = None
        if self.explain and reply.code is not None:
            from smtptui.core.codes import explain

            try:
                explanation = explain(reply)
            except ValueError:
                explanation = None
        self._emit(ReplyReceived(entry, reply, transition, explanation))
        if transition.verb:
            while self._waiters:
                handle = self._waiters.popleft()
                if not handle.done:
                    handle.resolve(reply)
                    break
        else:
            client.transcript.append(Entry(Direction.NOTE, time.monotonic(), b"",
                                           UNSOLICITED_NOTE))
        if transition.after is State.TLS and reply.code == 220:
            self._caps_before_tls = tracker.capabilities  # for "what changed after TLS"
            try:
                await client.secure()
            except SMTPClientError as exc:
                await self._fail(exc.step, exc.reason)
                return False
            if client.tls is not None:
                self._emit(TLSUp(client.tls))
        self._emit(self.snapshot())
        if client.tracker.state is State.CLOSED:
            code = reply.code
            why = closing_reason(code)
            if code == 221 and transition.verb == "QUIT":
                await client.wait_for_hangup(QUIT_GRACE)
            self._closing_reason = why
            await client.close()
            self._finish(why)
            return False
        return True

    # -- TURN: we are the receiver ----------------------------------------------------------

    def _remote_step(self) -> str:
        return "remote message data" if self._remote_data else "remote command"

    async def _read_remote(self, client: BlockingSMTPClient) -> bool:
        timeout = client.timeouts.data if self._remote_data else IDLE_TIMEOUT
        try:
            await client.read_line(self._remote_step(), timeout, max_length=MAX_REMOTE_LINE)
        except SMTPClientError as exc:
            if not self._turn_quit:
                await self._fail(exc.step, exc.reason)
            return False
        self._emit(self.snapshot())
        return True

    async def _send_turned_reply(self, client: BlockingSMTPClient, line: str) -> None:
        # The remote speaks first after our last answer: read until it awaits one.
        while not self._remote_verb or self._remote_data:
            if not await self._read_remote(client):
                raise SessionError("the connection is closed")
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
            await client.wait_for_hangup(QUIT_GRACE)
            self._closing_reason = "the remote said QUIT and we answered 221"
            await client.close()
            self._finish(self._closing_reason)
            return
        self._remote_verb = ""  # answered: wait for the next command
        self._emit(self.snapshot())


    # -- ending -----------------------------------------------------------------------------

    async def _fail(self, step: str, reason: str, *, quiet: bool = False) -> None:
        """A network step failed: say so once, drop the connection, keep the transcript."""
        client = self.client
        if not quiet:
            self._emit(Failed(step, reason))
        if client is not None and not client.closed:
            self._closing_reason = f"{step}: {reason}"
            await client.close()
        self._finish(f"{step}: {reason}")

    def _finish(self, reason: str) -> None:
        for handle in self._waiters:
            handle.resolve(None)
        self._waiters.clear()
        self._emit(self.snapshot())
        self._emit(Closed(reason))

    def _internal_error(self, where: str, exc: BaseException) -> None:
        from smtptui.session.autosave import log_exception

        path = log_exception(exc, where)
        shown = f" (details in {path})" if path is not None else ""
        self._emit(Failed("internal", f"unexpected {type(exc).__name__} while {where}: "
                                      f"{str(exc)[:200]}{shown}"))
