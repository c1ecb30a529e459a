"""The client-side SMTP session state machine, as tables.

RFC 821 §4.3 and RFC 5321 §4.1.4/§4.3.2 describe the session as a sequence: greeting,
HELO/EHLO, then transactions of MAIL, RCPT..., DATA, and the commands usable at any
time. Here that sequence is data: ``TRANSITIONS`` maps (state, command, reply class) to
the next state and its side effects. What the tool tells a learner -- which commands
make sense now, the usual next step, why a command is out of sequence -- is derived
from these tables, so it cannot disagree with how the tracker moves.

The tracker follows the *server*: it moves on replies, not on commands, and keeps the
commands sent but not yet answered in a FIFO because PIPELINING (RFC 2920) lets a
client send several before the first reply arrives. ``LENIENT`` holds moves the RFCs do
not sanction but real servers make (MAIL accepted before HELO, 354 to DATA with no
recipient): the tracker must follow what actually happened.

Sans-I/O: it never reads a clock or a socket; the caller reports lines sent
(``command_sent``), replies parsed (``reply_received``) and local events
(``data_finished``, ``tls_established``).
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from types import MappingProxyType

from smtptui.core.commands import COMMANDS, CommandSpec, Origin
from smtptui.core.diagnostics import Diagnostic, warning
from smtptui.core.frozen import frozen

TYPE_CHECKING = False  # typing is for type checkers: not imported at start-up
if TYPE_CHECKING:
    from typing import Literal

    from smtptui.core.commands import Dialect
    from smtptui.core.ehlo import Capabilities
    from smtptui.core.replies import Reply

__all__ = [
    "BDAT_LAST",
    "BY_CODE",
    "END_OF_DATA",
    "GREETING",
    "LENIENT",
    "SASL_RESPONSE",
    "TLS_ESTABLISHED",
    "TRANSITIONS",
    "Effect",
    "Pending",
    "SessionTracker",
    "State",
    "Step",
    "Transition",
    "expected_codes",
    "legal_in",
    "usual_in",
]


class State(enum.Enum):
    """Where the client-side session is, as the server sees it."""

    CONNECTED = "connected"   # no greeting yet (or a 554 greeting: only QUIT is useful)
    GREETED = "greeted"       # 220 seen: identify with EHLO or HELO
    READY = "ready"           # HELO/EHLO accepted, no mail transaction open
    MAIL = "mail"             # MAIL (SEND/SOML/SAML) accepted: sender given
    RCPT = "rcpt"             # at least one recipient accepted
    DATA = "data"             # 354 received: the client is sending message text
    AUTH = "auth"             # inside an AUTH exchange (334 seen): lines are SASL responses
    TLS = "tls"               # 220 to STARTTLS: TLS handshake pending
    TURNED = "turned"         # 250 to TURN: roles swapped, this side now receives
    CLOSED = "closed"         # 221 to QUIT, 421, or the connection ended

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    State.CONNECTED: "connected, waiting for the server's greeting",
    State.GREETED: "greeted: identify with EHLO (or HELO)",
    State.READY: "session open, no mail transaction",
    State.MAIL: "transaction open: sender accepted, add recipients with RCPT",
    State.RCPT: "recipients accepted: more RCPT, or DATA to send the message",
    State.DATA: "sending message text; a line with a single '.' ends it",
    State.AUTH: "inside AUTH: each line is a base64 SASL response ('*' cancels)",
    State.TLS: "STARTTLS accepted: TLS handshake pending",
    State.TURNED: "roles swapped by TURN: this side is now the receiver",
    State.CLOSED: "session closed",
}

# Pseudo-commands: things the server replies to that are not command lines.
GREETING = "<greeting>"            # the connection itself (RFC 5321 §3.1)
END_OF_DATA = "<end of data>"      # <CRLF>.<CRLF> after the message (RFC 5321 §4.1.1.4)
SASL_RESPONSE = "<SASL response>"  # a client line inside AUTH (RFC 4954 §4)
BDAT_LAST = "BDAT LAST"            # the last chunk ends the transaction (RFC 3030 §2)


class Effect(enum.Enum):
    """Side effects of a transition besides the new state."""

    GREETING_REFUSED = "greeting refused"       # 554 greeting: only QUIT is useful
    HELO = "HELO accepted"                      # plain SMTP: no extensions
    EHLO = "EHLO accepted"                      # ESMTP: capabilities parsed from the reply
    EHLO_REFUSED = "EHLO refused"               # fall back to HELO (RFC 5321 §3.2)
    NEW_TRANSACTION = "transaction started"
    RECIPIENT = "recipient accepted"
    TRANSACTION_DONE = "message accepted"
    TRANSACTION_ENDED = "transaction ended"      # aborted (RSET) or the message refused
    AUTH_START = "AUTH exchange started"
    AUTHENTICATED = "authenticated"
    SESSION_RESET = "session reset by TLS"      # RFC 3207 §4.2: forget what EHLO said
    CLOSE = "connection closing"


class _To(enum.Enum):
    """Destinations that depend on the session, not only on the row."""

    SAME = "same"          # the state does not change
    BASE = "base"          # READY, or GREETED if HELO/EHLO has not been accepted yet
    PREVIOUS = "previous"  # where the session was before AUTH started


@frozen
class Step:
    """One row of a transition table: where a reply moves the session, and why."""

    to: State | _To
    effects: tuple[Effect, ...] = ()
    rule: str = ""


_Key = tuple[State, str, int | None]
_SESSION = (State.GREETED, State.READY, State.MAIL, State.RCPT)  # commands are exchanged
_IN_TRANSACTION = (State.MAIL, State.RCPT)
_MAIL_VERBS = ("MAIL", "SEND", "SOML", "SAML")


def _rows(states: Iterable[State], verbs: Iterable[str], classes: Iterable[int],
          to: State | _To, *effects: Effect, rule: str = "") -> dict[_Key, Step]:
    step = Step(to, effects, rule)
    return {(s, v, k): step for s in states for v in verbs for k in classes}


TRANSITIONS: Mapping[_Key, Step] = MappingProxyType({
    # Connection establishment (RFC 821 §4.3; RFC 5321 §3.1, §4.3.2).
    **_rows([State.CONNECTED], [GREETING], [2], State.GREETED, rule="RFC 5321 §3.1"),
    **_rows([State.CONNECTED], [GREETING], [5], _To.SAME, Effect.GREETING_REFUSED,
            rule="RFC 5321 §3.1"),
    # HELO/EHLO open the session; repeated, they abort any transaction (RFC 5321 §4.1.4).
    **_rows(_SESSION, ["HELO"], [2], State.READY, Effect.HELO, rule="RFC 5321 §4.1.4"),
    **_rows(_SESSION, ["EHLO"], [2], State.READY, Effect.EHLO, rule="RFC 5321 §4.1.4"),
    **_rows(_SESSION, ["EHLO"], [5], _To.SAME, Effect.EHLO_REFUSED, rule="RFC 5321 §3.2"),
    # The mail transaction (RFC 821 §4.3; RFC 5321 §3.3).
    **_rows([State.READY], _MAIL_VERBS, [2], State.MAIL, Effect.NEW_TRANSACTION,
            rule="RFC 5321 §3.3"),
    **_rows(_IN_TRANSACTION, ["RCPT"], [2], State.RCPT, Effect.RECIPIENT,
            rule="RFC 5321 §3.3"),
    **_rows([State.RCPT], ["DATA"], [3], State.DATA, rule="RFC 5321 §4.1.1.4"),
    **_rows([State.DATA], [END_OF_DATA], [2], _To.BASE, Effect.TRANSACTION_DONE,
            rule="RFC 5321 §4.1.1.4"),
    **_rows([State.DATA], [END_OF_DATA], [4, 5], _To.BASE, Effect.TRANSACTION_ENDED,
            rule="RFC 5321 §4.1.1.4"),
    # CHUNKING: BDAT keeps the transaction; BDAT ... LAST completes it (RFC 3030 §2).
    **_rows([State.RCPT], ["BDAT"], [2], _To.SAME, rule="RFC 3030 §2"),
    **_rows([State.RCPT], [BDAT_LAST], [2], _To.BASE, Effect.TRANSACTION_DONE,
            rule="RFC 3030 §2"),
    # RSET aborts the transaction, keeps the session (RFC 5321 §4.1.1.5).
    **_rows(_SESSION, ["RSET"], [2], _To.BASE, Effect.TRANSACTION_ENDED,
            rule="RFC 5321 §4.1.1.5"),
    # Usable at any time, change nothing (RFC 5321 §4.1.4).
    **_rows(_SESSION, ["NOOP", "HELP", "VRFY", "EXPN"], [2], _To.SAME,
            rule="RFC 5321 §4.1.4"),
    # Session-level extensions, outside a transaction.
    **_rows([State.READY], ["STARTTLS"], [2], State.TLS, rule="RFC 3207 §4.2"),
    **_rows([State.READY], ["AUTH"], [3], State.AUTH, Effect.AUTH_START, rule="RFC 4954 §4"),
    **_rows([State.READY], ["AUTH"], [2], _To.SAME, Effect.AUTHENTICATED, rule="RFC 4954 §4"),
    **_rows([State.AUTH], [SASL_RESPONSE], [3], _To.SAME, rule="RFC 4954 §4"),
    **_rows([State.AUTH], [SASL_RESPONSE], [2], _To.PREVIOUS, Effect.AUTHENTICATED,
            rule="RFC 4954 §4"),
    **_rows([State.AUTH], [SASL_RESPONSE], [4, 5], _To.PREVIOUS, rule="RFC 4954 §4"),
    **_rows([State.READY], ["ETRN"], [2], _To.SAME, rule="RFC 1985 §5"),
    **_rows([State.READY], ["VERB", "ONEX", "XUSR"], [2], _To.SAME,
            rule="sendmail 8.9 srvrsmtp.c"),
    **_rows([State.READY], ["TURN"], [2], State.TURNED, rule="RFC 821 §4.1.1"),
    # QUIT ends it all (RFC 5321 §4.1.1.10); a refused greeting still allows QUIT.
    **_rows([State.CONNECTED, *_SESSION], ["QUIT"], [2], State.CLOSED, Effect.CLOSE,
            rule="RFC 5321 §4.1.1.10"),
})
"""(state, command, reply class) -> Step: the sequence the RFCs describe."""

LENIENT: Mapping[_Key, Step] = MappingProxyType({
    # Servers that accept MAIL without HELO, or a new MAIL inside a transaction.
    **_rows([State.GREETED, *_IN_TRANSACTION], _MAIL_VERBS, [2], State.MAIL,
            Effect.NEW_TRANSACTION, rule="RFC 5321 §4.1.4"),
    # 354 with no accepted recipient (e.g. PIPELINING and a refused RCPT).
    **_rows([State.GREETED, State.READY, State.MAIL], ["DATA"], [3], State.DATA,
            rule="RFC 5321 §3.3"),
    **_rows([State.MAIL], ["BDAT"], [2], _To.SAME, rule="RFC 3030 §2"),
    **_rows([State.MAIL], [BDAT_LAST], [2], _To.BASE, Effect.TRANSACTION_DONE,
            rule="RFC 3030 §2"),
    **_rows([State.GREETED, *_IN_TRANSACTION], ["STARTTLS"], [2], State.TLS,
            rule="RFC 3207 §4.2"),
    **_rows([State.GREETED, *_IN_TRANSACTION], ["AUTH"], [3], State.AUTH, Effect.AUTH_START,
            rule="RFC 4954 §4"),
    **_rows([State.GREETED, *_IN_TRANSACTION], ["AUTH"], [2], _To.SAME, Effect.AUTHENTICATED,
            rule="RFC 4954 §4"),
    **_rows([State.GREETED, *_IN_TRANSACTION], ["TURN"], [2], State.TURNED,
            rule="RFC 821 §4.1.1"),
    **_rows([State.CONNECTED], ["HELO"], [2], State.READY, Effect.HELO, rule="RFC 5321 §3.1"),
    **_rows([State.CONNECTED], ["EHLO"], [2], State.READY, Effect.EHLO, rule="RFC 5321 §3.1"),
    **_rows([State.TLS], ["QUIT"], [2], State.CLOSED, Effect.CLOSE, rule="RFC 5321 §4.1.1.10"),
})
"""Moves the RFCs do not describe but servers make; followed, never suggested."""

BY_CODE: Mapping[int, Step] = MappingProxyType({
    # "This may be a reply to any command if the service knows it must shut down."
    421: Step(State.CLOSED, (Effect.CLOSE,), "RFC 5321 §3.8"),
})
"""Reply codes that decide the next state whatever the command was."""

TLS_ESTABLISHED: Step = Step(State.GREETED, (Effect.SESSION_RESET,), "RFC 3207 §4.2")
"""The local event after the handshake: back to the start, EHLO required again."""


@frozen
class Pending:
    """A command sent and not yet answered (``line`` is "" for secret SASL lines)."""

    verb: str
    line: str


@frozen
class Transition:
    """What one reply did: returned by ``reply_received`` for front ends to show."""

    verb: str                  # the command (or pseudo-command) answered; "" if unsolicited
    line: str                  # the line as sent ("" for pseudo-commands and secrets)
    code: int | None
    before: State
    after: State
    rule: str                  # the RFC section behind the move ("" if nothing moved)
    lenient: bool              # the server allowed a move the RFC sequence does not have
    allowed_821: bool | None   # code listed by RFC 821 §4.3 for this verb (None: no list)
    allowed_5321: bool | None  # code listed by RFC 5321 §4.3.2 (None: no list)


# --- reply codes each command may get --------------------------------------------

_PSEUDO_CODES: dict[str, dict[str, frozenset[int]]] = {
    GREETING: {"rfc821": frozenset({220, 421}), "rfc5321": frozenset({220, 554})},
    END_OF_DATA: {"rfc821": frozenset({250, 552, 554, 451, 452}),
                  "rfc5321": frozenset({250, 552, 554, 451, 452, 450, 550})},
}


def expected_codes(verb: str, dialect: Dialect = "rfc821") -> frozenset[int]:
    """Reply codes the RFC's command-reply sequences allow for ``verb``.

    RFC 821 §4.3 by default (CommandSpec.replies), or RFC 5321 §4.3.2; verbs RFC 5321
    dropped (TURN, SEND ...) keep their RFC 821 list. 421 is always included: "any
    command may receive 421". Unknown verbs give an empty set (no list to check).
    """
    pseudo = _PSEUDO_CODES.get(verb)
    if pseudo is not None:
        return pseudo[dialect] | {421}
    if verb == SASL_RESPONSE:
        verb = "AUTH"
    elif verb == BDAT_LAST:
        verb = "BDAT"
    spec = COMMANDS.get(verb.upper())
    if spec is None:
        return frozenset()
    codes = spec.allowed_codes_5321 if dialect == "rfc5321" else frozenset()
    return (codes or spec.allowed_codes) | {421}


def _allowed(verb: str, code: int | None, dialect: Dialect) -> bool | None:
    if dialect == "rfc5321" and verb.upper() in COMMANDS and not COMMANDS[verb.upper()].replies_5321:
        return None  # RFC 5321 has no sequence for this verb
    codes = expected_codes(verb, dialect)
    if not codes or code is None:
        return None
    return code in codes


# --- which verbs make sense: derived from TRANSITIONS, filtered by gates ---------

class _Gate(enum.Enum):
    ADVERTISED = "advertised"                 # extension: only after EHLO listed it
    ADVERTISED_IF_ESMTP = "advertised-esmtp"  # RFC 821 optional verbs: listed in ESMTP
    NOT_TLS = "not-tls"
    NOT_AUTHENTICATED = "not-authenticated"


# What a verb does once: its effect cannot be repeated in one session.
_ONCE: dict[str, _Gate] = {"STARTTLS": _Gate.NOT_TLS, "AUTH": _Gate.NOT_AUTHENTICATED}


def _gates_for(spec: CommandSpec) -> tuple[_Gate, ...]:
    """Gates from the command table: extension and sendmail verbs need EHLO to list
    them; the verbs RFC 5321 made obsolete need it only in an ESMTP session."""
    gates: list[_Gate] = []
    if spec.origin in (Origin.EXTENSION, Origin.NONSTANDARD):
        gates.append(_Gate.ADVERTISED)
    elif spec.obsolete_5321:
        gates.append(_Gate.ADVERTISED_IF_ESMTP)
    if spec.verb in _ONCE:
        gates.append(_ONCE[spec.verb])
    return tuple(gates)


_GATES: dict[str, tuple[_Gate, ...]] = {
    verb: gates for verb, spec in COMMANDS.items() if (gates := _gates_for(spec))
}

_CANDIDATES: dict[State, tuple[str, ...]] = {
    state: tuple(v for v in COMMANDS
                 if any((state, key, k) in TRANSITIONS
                        for key in ((v, BDAT_LAST) if v == "BDAT" else (v,))
                        for k in (2, 3)))
    for state in State
}


def _advertised(verb: str, keywords: frozenset[str] | None) -> bool:
    keyword = COMMANDS[verb].ehlo_keyword or verb
    return keywords is None or keyword in keywords


def _gate_open(gate: _Gate, verb: str, keywords: frozenset[str] | None,
               esmtp: bool | None, tls: bool, authenticated: bool) -> bool:
    if gate is _Gate.ADVERTISED:
        return esmtp is not False and _advertised(verb, keywords)
    if gate is _Gate.ADVERTISED_IF_ESMTP:
        return not esmtp or _advertised(verb, keywords)
    if gate is _Gate.NOT_TLS:
        return not tls
    return not authenticated


def legal_in(state: State, *, capabilities: Capabilities | None = None,
             esmtp: bool | None = None, tls: bool = False,
             authenticated: bool = False) -> tuple[str, ...]:
    """Verbs the RFC sequence allows in ``state`` (command-table order).

    A verb is legal when TRANSITIONS has a positive reply for it from ``state`` and its
    gates are open: an extension needs an EHLO session that advertised it
    (``esmtp=None`` means unknown: allowed), STARTTLS not twice, AUTH not twice.
    """
    keywords = capabilities.keywords if capabilities is not None else None
    return _legal(state, keywords, esmtp, tls, authenticated)


@lru_cache(maxsize=256)
def _legal(state: State, keywords: frozenset[str] | None, esmtp: bool | None, tls: bool,
           authenticated: bool) -> tuple[str, ...]:
    return tuple(v for v in _CANDIDATES[state]
                 if all(_gate_open(g, v, keywords, esmtp, tls, authenticated)
                        for g in _GATES.get(v, ())))


_USUAL: dict[State, tuple[str, ...]] = {
    State.CONNECTED: (),           # wait for the greeting
    State.GREETED: ("EHLO", "HELO"),
    State.READY: ("MAIL",),
    State.MAIL: ("RCPT",),
    State.RCPT: ("RCPT", "DATA"),
    State.DATA: (),                # message text, then a line with "."
    State.AUTH: (),                # a SASL response
    State.TLS: (),                 # the TLS handshake
    State.TURNED: (),
    State.CLOSED: (),
}

def usual_in(state: State) -> tuple[str, ...]:
    """The usual next step(s) in ``state`` without more context (see ``usual_next``)."""
    return _USUAL[state]


# RFC 2920 §3.1, RFC 3207, RFC 4954: these end a pipelined group (their result changes
# what comes next); the command table says which.
_PIPELINE_LAST = frozenset({*(v for v, s in COMMANDS.items() if s.ends_pipeline), GREETING})


# --- out-of-sequence warnings: a requirement table ---------------------------------

_Check = Callable[["SessionTracker"], bool]  # True: the problem is present


@frozen
class _Requirement:
    problem: _Check
    message: str   # {verb} is replaced by the verb as typed (upper-cased)
    rule: str


def _no_hello(t: SessionTracker) -> bool:
    return t.hello is None


def _no_ehlo(t: SessionTracker) -> bool:
    return not t.esmtp


def _in_transaction(t: SessionTracker) -> bool:
    return t.state in _IN_TRANSACTION


def _no_transaction(t: SessionTracker) -> bool:
    return t.state not in _IN_TRANSACTION


def _no_recipient(t: SessionTracker) -> bool:
    return t.state is State.MAIL and t.recipients == 0


def _tls_on(t: SessionTracker) -> bool:
    return t.tls


def _plaintext(t: SessionTracker) -> bool:
    return not t.tls


def _authenticated(t: SessionTracker) -> bool:
    return t.authenticated


def _unadvertised(keyword: str) -> _Check:
    def check(t: SessionTracker) -> bool:
        return t.esmtp and t.capabilities is not None and keyword not in t.capabilities
    return check


def _extension_rules(verb: str) -> tuple[_Requirement, ...]:
    spec = COMMANDS[verb]
    keyword = spec.ehlo_keyword or verb
    return (
        _Requirement(_no_ehlo, "{verb} before EHLO: service extensions exist only after "
                     "the server lists them in its EHLO reply", "RFC 5321 §2.2.1"),
        _Requirement(_unadvertised(keyword), f"{{verb}} not advertised: the EHLO reply does "
                     f"not list {keyword}", spec.rfc),
    )


_MAIL_RULES = (
    _Requirement(_no_hello, "{verb} before HELO/EHLO: the server may answer 503",
                 "RFC 5321 §4.1.4"),
    _Requirement(_in_transaction, "{verb} inside an open transaction: finish it with DATA "
                 "or abort it with RSET first; the server will answer 503", "RFC 5321 §4.1.4"),
)

_REQUIREMENTS: dict[str, tuple[_Requirement, ...]] = {
    **dict.fromkeys(("MAIL",), _MAIL_RULES),
    **{v: (*_MAIL_RULES, _Requirement(_unadvertised(v), f"{{verb}} not advertised: the EHLO "
                                      f"reply does not list {v}", "RFC 1869 §4.5"))
       for v in ("SEND", "SOML", "SAML")},
    "RCPT": (
        _Requirement(_no_transaction, "RCPT before MAIL: the server will answer 503",
                     "RFC 5321 §4.1.4"),
    ),
    "DATA": (
        _Requirement(_no_transaction, "DATA before MAIL: the server will answer 503",
                     "RFC 5321 §4.1.4"),
        _Requirement(_no_recipient, "DATA with no accepted recipient: the server will "
                     "answer 503 (or 554)", "RFC 5321 §3.3"),
    ),
    "BDAT": (
        *_extension_rules("BDAT"),
        _Requirement(_no_transaction, "BDAT before MAIL: the server will answer 503",
                     "RFC 3030 §2"),
        _Requirement(_no_recipient, "BDAT with no accepted recipient: the server will "
                     "answer 503 (or 554)", "RFC 3030 §2"),
    ),
    **dict.fromkeys(("HELO", "EHLO"), (
        _Requirement(_in_transaction, "{verb} inside a transaction aborts it (like RSET)",
                     "RFC 5321 §4.1.4"),
    )),
    "STARTTLS": (
        *_extension_rules("STARTTLS"),
        _Requirement(_tls_on, "STARTTLS with TLS already active: the server will answer "
                     "503", "RFC 3207 §4.2"),
        _Requirement(_in_transaction, "STARTTLS inside a transaction: the transaction is "
                     "lost with the session reset", "RFC 3207 §4.2"),
    ),
    "AUTH": (
        *_extension_rules("AUTH"),
        _Requirement(_in_transaction, "AUTH after MAIL: AUTH is not permitted during a mail "
                     "transaction; the server will answer 503", "RFC 4954 §4"),
        _Requirement(_authenticated, "AUTH after a successful AUTH: the server will answer "
                     "503", "RFC 4954 §4"),
        _Requirement(_plaintext, "AUTH without TLS: the credentials travel only "
                     "base64-encoded, readable by anyone on the path", "RFC 4954 §14"),
    ),
    "TURN": (
        _Requirement(_no_hello, "TURN before HELO/EHLO: the server will answer 503",
                     "RFC 821 §4.1.1"),
        _Requirement(_unadvertised("TURN"), "TURN not advertised: the EHLO reply does not "
                     "list TURN", "RFC 1869 §4.5"),
        _Requirement(_in_transaction, "TURN inside a transaction: finish or RSET it first",
                     "RFC 821 §4.1.1"),
    ),
    **{v: _extension_rules(v) for v in ("ETRN", "VERB", "ONEX", "XUSR")},
}

# What any line means in a state where commands are not expected (checked first).
_STATE_WARNINGS: dict[State, tuple[str, str]] = {
    State.CLOSED: ("the session is closed: {verb} will not be read", "RFC 5321 §4.1.1.10"),
    State.TLS: (("TLS handshake pending after 220 to STARTTLS: nothing may be sent in "
                "clear now"), "RFC 3207 §4.2"),
    State.TURNED: (("roles are swapped after TURN: the other side now sends commands and "
                   "this side answers them"), "RFC 821 §4.1.1"),
}


# --- the tracker -----------------------------------------------------------------

class SessionTracker:
    """Follows one SMTP session from the client's side.

    Attributes: ``state``; ``hello`` ("HELO"/"EHLO" once accepted, else None);
    ``esmtp`` (EHLO accepted); ``capabilities`` (parsed from the EHLO reply);
    ``tls``; ``authenticated``; ``recipients`` (accepted in the open transaction);
    ``transactions`` (messages accepted); ``greeting_refused`` (554 greeting).
    """

    def __init__(self) -> None:
        self.state = State.CONNECTED
        self.hello: str | None = None
        self.esmtp = False
        self.capabilities: Capabilities | None = None
        self.tls = False
        self.authenticated = False
        self.recipients = 0
        self.transactions = 0
        self.greeting_refused = False
        self.ehlo_refused = False
        self.last: Transition | None = None
        self._pending: deque[Pending] = deque([Pending(GREETING, "")])
        self._data_done = False            # end of data sent, final reply awaited
        self._before_auth = State.READY    # where AUTH returns to
        self._closed_by_quit = False

    # -- what the front end asks ---------------------------------------------------

    @property
    def pending(self) -> tuple[Pending, ...]:
        """Commands sent and not yet answered, oldest first (PIPELINING)."""
        return tuple(self._pending)

    @property
    def role(self) -> Literal["client", "server"]:
        """After TURN the local side is the receiver (RFC 821 §4.1.1)."""
        return "server" if self.state is State.TURNED else "client"

    @property
    def transaction_open(self) -> bool:
        return self.state in (State.MAIL, State.RCPT, State.DATA)

    @property
    def sending_data(self) -> bool:
        """Lines sent now are message text (354 received, end of data not yet sent)."""
        return self.state is State.DATA and not self._data_done

    def legal_verbs(self) -> tuple[str, ...]:
        """The verbs that make sense now (derived from TRANSITIONS; see ``legal_in``)."""
        if self.state is State.CONNECTED:
            return ("QUIT",) if self.greeting_refused else ()
        return legal_in(self._base() if self.state is State.DATA and self._data_done
                        else self.state,
                        capabilities=self.capabilities, esmtp=self.esmtp, tls=self.tls,
                        authenticated=self.authenticated)

    def usual_next(self) -> tuple[str, ...]:
        """The usual next step(s) now, e.g. ("RCPT", "DATA") after a recipient."""
        state = self._base() if self.state is State.DATA and self._data_done else self.state
        if state is State.CONNECTED:
            return ("QUIT",) if self.greeting_refused else ()
        if state is State.GREETED and (self.tls or self.ehlo_refused):
            # RFC 3207 §4.2: EHLO again after TLS; RFC 5321 §3.2: fall back to HELO.
            return ("HELO",) if self.ehlo_refused else ("EHLO",)
        if state is State.READY:
            caps = self.capabilities
            if caps is not None and not self.tls and "STARTTLS" in caps:
                return ("STARTTLS", "MAIL")
            if caps is not None and self.tls and not self.authenticated and "AUTH" in caps:
                return ("AUTH", "MAIL")
            if self.transactions:
                return ("MAIL", "QUIT")
        return _USUAL[state]

    def expected_codes(self, verb: str, dialect: Dialect = "rfc821") -> frozenset[int]:
        """See the module function ``expected_codes``."""
        return expected_codes(verb, dialect)

    def check_sequence(self, verb: str) -> list[Diagnostic]:
        """Warnings (never errors) if ``verb`` -- or a whole command line -- is out of
        sequence now. The user may still send it: this is a debugging tool.

        Commands already sent but not answered are assumed to succeed, so a pipelined
        MAIL, RCPT, DATA group is not warned about.
        """
        word = verb.strip().split(maxsplit=1)[0].upper() if verb.strip() else ""
        span = len(word)

        def warn(message: str, rule: str) -> Diagnostic:
            return warning(0, span, message.format(verb=word), rule)

        if self.state is State.CLOSED:
            if self._closed_by_quit:
                return [warn("command after QUIT: the server has closed the connection",
                             "RFC 5321 §4.1.1.10")]
            return [warn(*_STATE_WARNINGS[State.CLOSED])]
        if any(p.verb == "QUIT" for p in self._pending):
            return [warn("command after QUIT: the server closes the connection after 221 "
                         "and will not read it", "RFC 5321 §4.1.1.10")]
        if self.state in _STATE_WARNINGS:
            return [warn(*_STATE_WARNINGS[self.state])]
        if self.state is State.AUTH:
            if word in COMMANDS:
                return [warn("inside an AUTH exchange this line is sent as a SASL response, "
                             "not as the {verb} command ('*' cancels the exchange)",
                             "RFC 4954 §4")]
            return []
        if self.sending_data:
            if word in COMMANDS:
                return [warn("in DATA this line is message text, not the {verb} command; "
                             "end the message with a line holding only '.'",
                             "RFC 5321 §4.1.1.4")]
            return []
        if self.state is State.CONNECTED:
            if self.greeting_refused:
                if word == "QUIT":
                    return []
                return [warn("the server refused service with its 554 greeting: it answers "
                             "503 to everything but QUIT", "RFC 5321 §3.1")]
            return [warn("{verb} before the server's greeting: wait for 220 (many servers "
                         "drop clients that talk first)", "RFC 5321 §3.1")]

        found = self._pipelining_warnings(word, warn)
        predicted = self._predicted()
        for requirement in _REQUIREMENTS.get(word, ()):
            if requirement.problem(predicted):
                found.append(warn(requirement.message, requirement.rule))
        return found

    # -- what the caller reports ---------------------------------------------------

    def command_sent(self, line: str) -> None:
        """A line went to the server: a command, a SASL response, or message text."""
        if self.state in (State.CLOSED, State.TURNED):
            return
        if self.sending_data:
            if line.rstrip("\r\n") == ".":
                self.data_finished()
            return
        if self.state is State.AUTH:
            self._pending.append(Pending(SASL_RESPONSE, ""))
            return
        words = line.split()
        verb = words[0].upper() if words else ""
        if verb == "BDAT" and len(words) > 2 and words[-1].upper() == "LAST":
            verb = BDAT_LAST
        self._pending.append(Pending(verb, line.rstrip("\r\n")))

    def reply_received(self, reply: Reply) -> Transition:
        """A complete reply arrived: answer the oldest pending command and move."""
        before = self.state
        if before in (State.CLOSED, State.TURNED):
            transition = Transition("", "", reply.code, before, before, "", False, None, None)
            self.last = transition
            return transition
        head = self._pending.popleft() if self._pending else Pending("", "")
        klass = reply.code // 100 if reply.code is not None else None
        step, lenient = self._lookup(head.verb, reply.code, klass)
        if step is not None:
            self._apply(step, reply)
        transition = Transition(
            head.verb, head.line, reply.code, before, self.state,
            step.rule if step is not None else "", lenient,
            _allowed(head.verb, reply.code, "rfc821") if head.verb else None,
            _allowed(head.verb, reply.code, "rfc5321") if head.verb else None,
        )
        self.last = transition
        return transition

    def data_finished(self) -> None:
        """The client sent <CRLF>.<CRLF>; the final reply to the message is awaited."""
        if self.state is State.DATA and not self._data_done:
            self._data_done = True
            self._pending.append(Pending(END_OF_DATA, ""))

    def tls_established(self) -> None:
        """The TLS handshake after 220 to STARTTLS completed (RFC 3207 §4.2)."""
        if self.state is State.TLS:
            self._apply(TLS_ESTABLISHED, None)

    # -- the machinery -------------------------------------------------------------

    def _lookup(self, verb: str, code: int | None,
                klass: int | None) -> tuple[Step | None, bool]:
        if code in BY_CODE:
            return BY_CODE[code], False
        key = (self.state, verb, klass)
        step = TRANSITIONS.get(key)
        if step is not None:
            return step, False
        step = LENIENT.get(key)
        return step, step is not None

    def _base(self) -> State:
        return State.READY if self.hello is not None else State.GREETED

    def _apply(self, step: Step, reply: Reply | None) -> None:
        current = self.state
        for effect in step.effects:
            _EFFECTS[effect](self, reply)
        if step.to is _To.SAME:
            target = current
        elif step.to is _To.BASE:
            target = self._base()
        elif step.to is _To.PREVIOUS:
            target = self._before_auth
        else:
            target = step.to
        self.state = target
        if target is not State.DATA:
            self._data_done = False

    def _predicted(self) -> SessionTracker:
        """A copy of the tracker as if every pending command succeeds."""
        if not self._pending:
            return self
        twin = SessionTracker.__new__(SessionTracker)
        for name in ("state", "hello", "esmtp", "capabilities", "tls", "authenticated",
                     "recipients", "transactions", "greeting_refused", "ehlo_refused",
                     "_data_done", "_before_auth", "_closed_by_quit"):
            setattr(twin, name, getattr(self, name))
        twin.last = None
        twin._pending = deque()
        for item in self._pending:
            klass = _SUCCESS_CLASS.get(item.verb) or _success_class(item.verb)
            step = TRANSITIONS.get((twin.state, item.verb, klass))
            if step is not None:
                twin._apply(step, None)
        return twin

    def _pipelining_warnings(self, word: str, warn: Callable[[str, str], Diagnostic]
                             ) -> list[Diagnostic]:
        if not self._pending:
            return []
        last = self._pending[-1].verb
        if last in _PIPELINE_LAST:
            name = "the greeting" if last == GREETING else last
            return [warn(f"{{verb}} sent before the reply to {name}, which must end a "
                         "pipelined group: wait for that reply", "RFC 2920 §3.1")]
        caps = self.capabilities
        if self.hello is not None and (caps is None or "PIPELINING" not in caps):
            return [warn("{verb} sent before the previous reply arrived, but the server "
                         "did not advertise PIPELINING", "RFC 2920 §3")]
        return []


_SUCCESS_CLASS = {GREETING: 2, END_OF_DATA: 2, SASL_RESPONSE: 2, BDAT_LAST: 2}


def _success_class(verb: str) -> int | None:
    spec = COMMANDS.get(verb)
    if spec is None:
        return None
    codes = spec.replies.get("I") or spec.replies.get("S") or ()
    return codes[0] // 100 if codes else None


# --- effects -----------------------------------------------------------------------

def _reset_transaction(t: SessionTracker) -> None:
    t.recipients = 0


def _greeting_refused(t: SessionTracker, reply: Reply | None) -> None:
    t.greeting_refused = True


def _helo(t: SessionTracker, reply: Reply | None) -> None:
    t.hello, t.esmtp, t.capabilities, t.ehlo_refused = "HELO", False, None, False
    _reset_transaction(t)


def _ehlo(t: SessionTracker, reply: Reply | None) -> None:
    t.hello, t.esmtp, t.ehlo_refused = "EHLO", True, False
    if reply is not None:  # None while predicting a pipelined group
        from smtptui.core.ehlo import parse_ehlo  # the one place that needs it
        t.capabilities = parse_ehlo(reply)
    _reset_transaction(t)


def _ehlo_refused(t: SessionTracker, reply: Reply | None) -> None:
    t.ehlo_refused = True


def _new_transaction(t: SessionTracker, reply: Reply | None) -> None:
    _reset_transaction(t)


def _recipient(t: SessionTracker, reply: Reply | None) -> None:
    t.recipients += 1


def _transaction_done(t: SessionTracker, reply: Reply | None) -> None:
    t.transactions += 1
    _reset_transaction(t)


def _transaction_ended(t: SessionTracker, reply: Reply | None) -> None:
    _reset_transaction(t)


def _auth_start(t: SessionTracker, reply: Reply | None) -> None:
    t._before_auth = t.state


def _authenticated_effect(t: SessionTracker, reply: Reply | None) -> None:
    t.authenticated = True


def _session_reset(t: SessionTracker, reply: Reply | None) -> None:
    # RFC 3207 §4.2: discard knowledge obtained before TLS; EHLO must be sent again.
    t.tls = True
    t.hello, t.esmtp, t.capabilities, t.authenticated = None, False, None, False
    t.ehlo_refused = False
    _reset_transaction(t)


def _close(t: SessionTracker, reply: Reply | None) -> None:
    t._closed_by_quit = reply is not None and reply.code == 221
    t._pending.clear()
    _reset_transaction(t)


_EFFECTS: dict[Effect, Callable[[SessionTracker, Reply | None], None]] = {
    Effect.GREETING_REFUSED: _greeting_refused,
    Effect.HELO: _helo,
    Effect.EHLO: _ehlo,
    Effect.EHLO_REFUSED: _ehlo_refused,
    Effect.NEW_TRANSACTION: _new_transaction,
    Effect.RECIPIENT: _recipient,
    Effect.TRANSACTION_DONE: _transaction_done,
    Effect.TRANSACTION_ENDED: _transaction_ended,
    Effect.AUTH_START: _auth_start,
    Effect.AUTHENTICATED: _authenticated_effect,
    Effect.SESSION_RESET: _session_reset,
    Effect.CLOSE: _close,
}
