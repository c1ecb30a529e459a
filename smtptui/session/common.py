"""What both sessions decide the same way: the asyncio :class:`~smtptui.session.Session`
and the event-loop-free :class:`~smtptui.session.oneshot.OneShotSession` (pipe mode to a
single host).

Checking a line before it is sent, what goes on the wire for a typed line (dot-stuffing,
secrets), which deadline the next read gets, what an unsolicited reply and a closing
reply are called. One copy here, so the two drivers cannot drift apart. Nothing here
imports asyncio.
"""

from __future__ import annotations

import re

from smtptui.core.sasl import is_secret_line
from smtptui.core.state import END_OF_DATA, GREETING, State, expected_codes
from smtptui.core.transcript import Direction
from smtptui.session.events import LineSent, Note, StateChanged

TYPE_CHECKING = False  # typing is for type checkers: not imported at start-up
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from smtptui.core.commands import Dialect
    from smtptui.core.diagnostics import Diagnostic
    from smtptui.core.ehlo import Capabilities
    from smtptui.core.state import SessionTracker
    from smtptui.core.transcript import Entry
    from smtptui.net.connection import Timeouts
    from smtptui.net.steps import ClientSteps

__all__ = [
    "IDLE_TIMEOUT",
    "MAX_REMOTE_LINE",
    "QUIT_GRACE",
    "UNSOLICITED_NOTE",
    "SessionError",
    "check_line",
    "check_reply_line",
    "closing_reason",
    "next_read",
    "snapshot_of",
    "verb_name",
    "wire_line",
]

IDLE_TIMEOUT = 24 * 3600.0
"""When nothing is awaited the reader waits this long (the server's own idle timeout,
usually 5 minutes, ends an idle session long before)."""
MAX_REMOTE_LINE = 64 * 1024
"""After TURN: the longest line accepted from the remote."""
QUIT_GRACE = 1.0
"""After 221 (to our QUIT, or ours to the remote's after TURN), seconds we let the
peer hang up."""
UNSOLICITED_NOTE = ("unsolicited reply: no command was waiting for it (RFC 5321 §4.1.1: a "
                    "server replies only to commands; when not pipelining, later replies "
                    "may be matched to the wrong commands)")



class SessionError(Exception):
    """Something the user asked for that cannot be done now (one line, for the user)."""


_REPLY_LINE = re.compile(r"[2-5][0-9][0-9](?:[ -].*)?\Z", re.DOTALL)


def check_line(line: str, dialect: Dialect, tracker: SessionTracker | None,
               capabilities: Capabilities | None) -> list[Diagnostic]:
    """Grammar (in ``dialect``, against the advertised extensions) and sequence
    diagnostics for a command line before it is sent. Message text and SASL responses
    are not commands: only the sequence is checked."""
    if tracker is not None and (tracker.sending_data or tracker.state is State.AUTH):
        return tracker.check_sequence(line)
    from smtptui.core import grammar

    found = grammar.check(line, dialect, capabilities)
    if tracker is not None and line.strip():
        found.extend(tracker.check_sequence(line))
    return found


def check_reply_line(line: str, remote_verb: str, remote_data: bool) -> list[Diagnostic]:
    """After TURN we are the receiver: a line is one of our replies to ``remote_verb``."""
    from smtptui.core.diagnostics import error, warning

    if remote_data:
        return []
    if not _REPLY_LINE.match(line):
        return [error(0, min(len(line), 3) or 1,
                      "after TURN you are the receiver: answer with a reply, a code "
                      "of three digits (2xx-5xx) then a space and text",
                      "RFC 821 §4.2")]
    code = int(line[:3])
    allowed = expected_codes(remote_verb, "rfc821") if remote_verb else ()
    if allowed and code not in allowed:
        shown = ", ".join(str(c) for c in sorted(allowed))
        return [warning(0, 3, f"{code} is not among the replies RFC 821 "
                              f"lists for {verb_name(remote_verb)}: {shown}", "RFC 821 §4.3")]
    return []


def wire_line(line: str, tracker: SessionTracker) -> tuple[str, bool, bool]:
    """A typed line as it is sent: (the line on the wire, secret, message text). In DATA
    a leading "." is doubled (RFC 5321 §4.5.2); a SASL response or ``AUTH PLAIN`` with
    its credentials is secret (the core decides)."""
    in_data = tracker.sending_data
    wire = line
    if in_data and line.startswith(".") and line != ".":
        wire = "." + line
    secret = not in_data and is_secret_line(line, tracker.state is State.AUTH)
    return wire, secret, in_data


def next_read(tracker: SessionTracker, timeouts: Timeouts) -> tuple[str, float]:
    """The step name and deadline of the next read: the oldest unanswered command's."""
    pending = tracker.pending
    if not pending:
        return "idle", IDLE_TIMEOUT
    verb = pending[0].verb
    if verb == GREETING:
        return "greeting", timeouts.greeting
    if verb == END_OF_DATA:
        return "end of data", timeouts.data
    return verb_name(verb) or "reply", timeouts.reply


def closing_reason(code: int | None) -> str:
    """Why the session ends when a reply closes it (221, 421, a 554 greeting)."""
    if code == 221:
        return "the server said 221 and closes the connection"
    return f"the server said {code} and closes the connection"


def verb_name(verb: str) -> str:
    if verb == GREETING:
        return "greeting"
    if verb == END_OF_DATA:
        return "end of data"
    return verb.strip("<>")


def snapshot_of(client: ClientSteps | None,
                caps_before_tls: Capabilities | None) -> StateChanged:
    """The state of a session's connection as the event a front end renders from."""
    if client is None:
        return StateChanged(State.CLOSED, "not connected", (), (), None, 0, 0, False,
                            None, None, caps_before_tls, (), False, "client")
    t = client.tracker
    state = t.state
    description = state.description
    if state is State.CLOSED and not client.closed:
        description = "session closing"
    return StateChanged(
        state, description, t.legal_verbs(), t.usual_next(), t.hello, t.recipients,
        t.transactions, t.authenticated, client.tls, t.capabilities,
        caps_before_tls, tuple(p.verb for p in t.pending), t.sending_data, t.role)


class SessionBase:
    """What both sessions (the asyncio :class:`~smtptui.session.Session` and the blocking
    :class:`~smtptui.session.oneshot.OneShotSession`) know the same way: where the
    session is, and how the remote's lines read after TURN. Subclasses set ``client``,
    ``connector``, ``_caps_before_tls``, ``_remote_data``, ``_remote_verb`` and
    provide ``_emit``."""

    client: Any
    connector: Any
    _caps_before_tls: Capabilities | None
    _remote_data: bool
    _remote_verb: str
    _subscribers: list[Callable[[Any], None]]
    _replies_by_id: dict[int, Entry]

    def subscribe(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        """Call ``callback(event)`` for every event from now on (synchronously, in
        order). Returns the function that unsubscribes."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def _emit(self, event: Any) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception as exc:  # noqa: BLE001 - a front-end bug must not end the session
                from smtptui.session.autosave import log_exception

                log_exception(exc, f"event subscriber {callback!r}")

    def _route_entry(self, entry: Entry) -> None:
        """A transcript entry as the event front ends get: a line sent, a note, the
        remote's line after TURN; a reply waits until it is matched to its command."""
        if entry.direction is Direction.CLIENT:
            self._emit(LineSent(entry))
        elif entry.direction is Direction.NOTE:
            self._emit(Note(entry))
        elif entry.reply is not None:
            self._replies_by_id[id(entry.reply)] = entry  # emitted once matched
        else:
            self._on_remote_line(entry)

    @property
    def connected(self) -> bool:
        return self.client is not None and not self.client.closed

    @property
    def state(self) -> State:
        return self.client.tracker.state if self.client is not None else State.CLOSED

    @property
    def capabilities(self) -> Capabilities | None:
        return self.client.tracker.capabilities if self.client is not None else None

    @property
    def label(self) -> str:
        return str(self.connector.label(None))

    def snapshot(self) -> StateChanged:
        """The current state as the event a front end renders its state panel from."""
        return snapshot_of(self.client, self._caps_before_tls)

    def _on_remote_line(self, entry: Entry) -> None:
        """After TURN: a line of the remote (a command, or message text until '.')."""
        from smtptui.session.events import RemoteLine

        text = entry.text
        if self._remote_data:
            if text == ".":
                self._remote_data = False
                self._remote_verb = END_OF_DATA
                self._emit(RemoteLine(entry, END_OF_DATA,
                                      tuple(sorted(expected_codes(END_OF_DATA, "rfc821"))),
                                      False))
            else:
                self._emit(RemoteLine(entry, "", (), True))
            return
        verb = text.split(" ", 1)[0].upper()
        self._remote_verb = verb
        self._emit(RemoteLine(entry, verb, tuple(sorted(expected_codes(verb, "rfc821"))), False))
