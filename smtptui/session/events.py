"""The events a :class:`~smtptui.session.Session` streams to its front ends.

Front ends subscribe once and render what comes; they never poll the transcript and
never touch the connection. Every event is a frozen value (``@frozen``: cheap to define
at import), safe to hand to another task or to a UI message queue. Text from the peer
is in the entries exactly as received: a front end makes it safe for its terminal
(``printable`` / ``escape_bytes``) before showing it.
"""

from __future__ import annotations

from smtptui.core.frozen import frozen

TYPE_CHECKING = False  # typing is for type checkers: not imported at start-up
if TYPE_CHECKING:
    from typing import Any

    from smtptui.core.codes import Explanation
    from smtptui.core.ehlo import Capabilities
    from smtptui.core.replies import Reply
    from smtptui.core.state import State, Transition
    from smtptui.core.transcript import Entry
    from smtptui.net.tls import TLSInfo
    from smtptui.server.app import ServerEvent

__all__ = [
    "Closed",
    "Connected",
    "Connecting",
    "DataProgress",
    "Event",
    "Failed",
    "LineSent",
    "Note",
    "RemoteLine",
    "ReplyReceived",
    "ServerLog",
    "StateChanged",
    "TLSUp",
]


@frozen
class Connecting:
    """A connection attempt started (``label``: host:port, @domain or the embedded
    server)."""

    label: str


@frozen
class Connected:
    """The TCP (or implicit TLS) connection is up; the greeting is awaited."""

    label: str
    host: str
    port: int
    address: str
    embedded: bool


@frozen
class LineSent:
    """A line went to the server (a command, a masked secret, message text, or after
    TURN one of our replies)."""

    entry: Entry


_NOT_YET: Any = object()


@frozen
class ReplyReceived:
    """A complete reply, matched to the command it answers (``transition.verb``;
    ``""`` when nothing was awaiting it: an unsolicited reply).

    Its :attr:`explanation` is worked out on first use, not when the reply arrives: a
    burst of 10,000 pipelined replies costs the reader nothing for explanations no one
    looks at (a front end explains the replies it shows)."""

    entry: Entry
    reply: Reply
    transition: Transition
    _explanation: Explanation | None = _NOT_YET  # a memo: not compared, not in the repr

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return ((self.entry, self.reply, self.transition)  # type: ignore[attr-defined]
                    == (other.entry, other.reply, other.transition))
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.entry, self.reply, self.transition))

    def __repr__(self) -> str:
        return (f"{type(self).__qualname__}(entry={self.entry!r}, reply={self.reply!r}, "
                f"transition={self.transition!r})")

    @property
    def explanation(self) -> Explanation | None:
        """What the reply code (and its enhanced code) means; None without a code."""
        found = self._explanation
        if found is _NOT_YET:
            from smtptui.core.codes import explain

            try:
                found = explain(self.reply) if self.reply.code is not None else None
            except ValueError:
                found = None
            object.__setattr__(self, "_explanation", found)  # a memo, not a change
        return found

    @property
    def unsolicited(self) -> bool:
        return not self.transition.verb


@frozen
class RemoteLine:
    """After TURN: a line the remote (now the sender) sent us; ``verb`` is the command
    it holds ("" for message text); ``expected`` the reply codes RFC 821 allows."""

    entry: Entry
    verb: str
    expected: tuple[int, ...]
    in_data: bool


@frozen
class StateChanged:
    """Where the session is now: what may and what usually comes next."""

    state: State
    description: str
    legal: tuple[str, ...]
    usual: tuple[str, ...]
    hello: str | None
    recipients: int
    transactions: int
    authenticated: bool
    tls: TLSInfo | None
    capabilities: Capabilities | None
    capabilities_before_tls: Capabilities | None
    pending: tuple[str, ...]
    sending_data: bool
    role: str


@frozen
class TLSUp:
    info: TLSInfo


@frozen
class Note:
    """A local event worth a line in the transcript (connected, TLS, data report...)."""

    entry: Entry


@frozen
class DataProgress:
    """Message octets sent so far while a message streams (``total`` when known)."""

    sent: int
    total: int | None


@frozen
class Failed:
    """A step failed: one line, ``step: reason``. Nothing typed or composed is lost."""

    step: str
    reason: str

    def __str__(self) -> str:
        return f"{self.step}: {self.reason}"


@frozen
class Closed:
    """The connection is gone (after QUIT, a failure, or a disconnect)."""

    reason: str


@frozen
class ServerLog:
    """The embedded teaching server's own log line (what it did with our session)."""

    event: ServerEvent


Event = (Connecting | Connected | LineSent | ReplyReceived | RemoteLine | StateChanged | TLSUp
         | Note | DataProgress | Failed | Closed | ServerLog)
