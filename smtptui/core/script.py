"""Transcript scripts (``.smtp``): the textbook C:/S: notation, parsed into steps.

A script is an SMTP exchange written the way RFC 5321 Appendix D and RFC 821
Appendix F print it, so a scenario pasted from either RFC runs as it is
(``smtptui run FILE TARGET``). Parsing is pure: text in, a :class:`Script` out, or a
:class:`ScriptError` naming the file, the line and the problem.

Format
------
Notation. A file with any ``R:`` line is in RFC 821 notation: ``S:`` is the
sender-SMTP (us), ``R:`` the receiver-SMTP (the server). Otherwise it is RFC 5321
notation: ``C:`` is the client (us), ``S:`` the server. Mixing ``C:`` and ``R:`` is
an error. The prefix may be indented (pasted RFC text is); exactly one space after
the colon is part of the prefix, everything after it is the line, kept as written.

Commands and replies. Our lines are sent, the server's lines are expectations. The
first line of a session is the server's greeting. A reply is ``NNN text``; a
multi-line reply is written as the RFCs write it (``250-...`` lines, then
``250 ...``) and counts as one reply. By default only the code must match (the text
is informational); ``x`` is a wildcard digit (``S: 2xx``). ``#!match text`` makes the
following expectations strict: same code, same number of lines, same text on each
line (trailing white space ignored); ``#!match code`` switches back.

Replies left out. A script may start with its first command (the greeting is
awaited, not checked) and may leave out the reply of any command but TURN: the reply
is awaited and shown, never checked or counted. DATA's is taken as a 354 (the lines
that follow are the message) and QUIT's as a 221. Commands in a row with no reply
written after them are sent one at a time, each after the reply to the one before.

Pipelining. Several commands in a row followed by as many replies are sent as a
group before the replies are read (RFC 2920). A group must be answered in full
before the next command, and a command that must end a group (HELO, EHLO, DATA,
VRFY, EXPN, NOOP, QUIT, AUTH; STARTTLS and TURN stand alone) must be followed by
its reply.

Message data. After ``C: DATA`` and an expected ``354`` (any ``3xx``), our lines are
message data, sent dot-stuffed, until ``C: .`` (RFC 821's ``<CRLF>.<CRLF>`` is
accepted too); a bare ``C:`` is an empty line. The lines are the message as the
recipient will read it: ``C: .hidden`` goes on the wire as ``..hidden``. A line
holding only ``.`` cannot be written inline (it would end the data); put it in an
included file. ``#!include PATH`` (between the ``354`` and the ``.``) inserts the
bytes of a file at that point, streamed in chunks, never read whole; PATH is
relative to the script's directory (``~`` expanded); bare LF line ends are sent as
CRLF and a
missing final line end is added. The reply after ``C: .`` is the reply to the data.
If the server refuses DATA at run time, the data is not sent and its expectation
is reported missed.

BDAT. ``C: BDAT <size> [LAST]`` (RFC 3030 CHUNKING) is followed by its chunk written
as our lines: each line and its CRLF count, and they must add up to exactly <size>
octets (``C: BDAT 12`` then ``C: Subject: x`` is 10 + 2). The chunk is sent as it is
-- no dot-stuffing, no end marker -- and the reply after it answers the whole chunk.

Comments and blank lines. A line whose first non-blank character is ``#`` is a
comment, except the directives ``#!include``, ``#!session`` and ``#!match``; a
first line ``#!/...`` (a shebang) is a comment too. Data lines always carry their
prefix, so a data line starting with ``#`` is simply ``C: #...``. Blank lines are
ignored everywhere (an empty data line is a bare ``C:``).

Wrapped lines. RFC 821 wraps long lines to fit the page: an unprefixed, indented
line right after one of our commands continues it (``S: RCPT`` + ``TO:<...>`` is
sent as ``RCPT TO:<...>``); right after a data line it is another data line kept
as written (a folded header field, as in RFC 821 Scenario 3). Any other line
without a prefix is an error.

Sessions. After the reply to ``QUIT``, a server line starts a new session (a new
connection; its first line is the greeting), as the multi-step RFC scenarios
are printed. ``#!session [NAME]`` starts a new session explicitly. The host a
session talks to (``Session.host_hint``) is NAME, else the first word of its
expected greeting (``220 BBN-UNIX.ARPA ...``); the embedded teaching server, whose
world has several hosts, uses it; against a TARGET every session connects to the
TARGET and the name is informational.

TURN (RFC 821 §4.1.1). After ``TURN`` and an expected ``250`` the roles swap: we
become the receiver and first send our greeting, then the remote sends commands
(expectations: the verb must match; with ``#!match text`` the whole line) and we
send the replies, and message data after our ``354`` comes from the remote until
``.``. In RFC 5321 notation the letters keep naming machines: ``C:`` lines are now
our replies, ``S:`` lines the remote's commands. In RFC 821 notation the letters
keep naming roles, so they swap machines: ``R:`` (receiver) is now us, ``S:``
(sender) the remote. A ``TURN`` answered by ``250`` swaps the roles back.

Example::

    S: 220 mx.example ESMTP
    C: EHLO client.example
    S: 250-mx.example
    S: 250 8BITMIME
    C: MAIL FROM:<a@client.example>
    S: 250 OK
    C: RCPT TO:<b@mx.example>
    S: 250 OK
    C: DATA
    S: 354 go ahead
    C: Subject: hello
    C:
    #!include body.txt
    C: .
    S: 250 OK
    C: QUIT
    S: 221 bye
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from smtptui.core.commands import COMMANDS

__all__ = [
    "Command",
    "DataLine",
    "Expect",
    "ExpectCommand",
    "ExpectMessage",
    "Include",
    "Match",
    "Message",
    "Notation",
    "Script",
    "ScriptError",
    "SendReply",
    "Session",
    "Step",
    "check_includes",
    "load",
    "parse",
]

Match = Literal["code", "text"]


class Notation(str, enum.Enum):
    RFC5321 = "rfc5321"  # C: client, S: server
    RFC821 = "rfc821"  # S: sender-SMTP, R: receiver-SMTP

    def __str__(self) -> str:
        return self.value


class ScriptError(ValueError):
    """A bad script: ``str()`` is ``"file:line: problem"`` (no line when not known)."""

    def __init__(self, filename: str, line: int | None, problem: str) -> None:
        super().__init__(filename, line, problem)
        self.filename = filename
        self.line = line
        self.problem = problem

    def __str__(self) -> str:
        if self.line:
            return f"{self.filename}:{self.line}: {self.problem}"
        return f"{self.filename}: {self.problem}"


class _ReplyLike(Protocol):
    code: int | None
    lines: tuple[str, ...]


# --- steps ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Session:
    """Start of a session: (re)connect. ``name`` comes from ``#!session NAME``."""

    line: int
    name: str | None = None
    greeting_host: str | None = None
    """First word of the expected greeting's text (``220 BBN-UNIX.ARPA ...``), if any."""

    @property
    def host_hint(self) -> str | None:
        """Which host of a world this session talks to: the name, else the greeting's."""
        return self.name or self.greeting_host


@dataclass(frozen=True, slots=True)
class Command:
    """A command line we send (we are the client)."""

    line: int
    text: str

    @property
    def verb(self) -> str:
        return _verb(self.text)


@dataclass(frozen=True, slots=True)
class Expect:
    """A reply the server must send: the greeting, or the reply to ``answers``."""

    line: int
    lines: tuple[str, ...]
    """The reply as written, e.g. ``("250-foo", "250 bar")``."""
    code: str
    """Three characters, digits or ``x`` wildcards: ``"250"``, ``"2xx"``."""
    match: Match = "code"
    answers: int | None = None
    """Script line of the command (or of the data's ``.``) answered; None = greeting."""
    implicit: bool = False
    """Not written in the script: the reply is awaited and shown, nothing is checked."""

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def is_greeting(self) -> bool:
        return self.answers is None

    def code_matches(self, code: int | None) -> bool:
        if code is None:
            return False
        actual = f"{code:03d}"
        return len(actual) == 3 and all(e in "xX" or e == a for e, a in zip(self.code, actual))

    def matches(self, reply: _ReplyLike) -> bool:
        """Whether ``reply`` (a core ``Reply``) meets this expectation."""
        if not self.code_matches(reply.code):
            return False
        if self.match == "code":
            return True
        expected = [_reply_text(line) for line in self.lines]
        actual = [line.rstrip() for line in reply.lines]
        return expected == actual

    def differing_lines(self, reply: _ReplyLike) -> str | None:
        """Under ``#!match code``, a multi-line expectation met by its code whose lines
        differ from the reply's (an extra ``250-VRFY``): what differs, else None. The
        first line (a greeting, EHLO's "hello") is left out: its text is expected to vary."""
        if self.match != "code" or (len(self.lines) < 2 and len(reply.lines) < 2):
            return None
        expected = [_reply_text(line) for line in self.lines[1:]]
        actual = [line.rstrip() for line in reply.lines[1:]]
        if expected == actual:
            return None
        extra = [line for line in actual if line not in expected]
        missing = [line for line in expected if line not in actual]
        parts = [f"{len(actual) + 1} lines received, {len(expected) + 1} written"]
        if extra:
            parts.append("not in the script: " + ", ".join(extra[:6]))
        if missing:
            parts.append("not received: " + ", ".join(missing[:6]))
        if not extra and not missing:
            parts.append("same lines in another order")
        return "the reply's lines differ from the script's (only the code is compared): " \
            + "; ".join(parts)


@dataclass(frozen=True, slots=True)
class DataLine:
    line: int
    text: str


@dataclass(frozen=True, slots=True)
class Include:
    """``#!include PATH``: the bytes of a file, streamed into the message data."""

    line: int
    path: str
    """The file to read (resolved against the script's directory)."""
    written: str
    """PATH as written in the script."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """``BDAT <size> [LAST]`` and the chunk written on the lines after it (RFC 3030 §2):
    exactly ``size`` octets, each line with its CRLF, sent as they are (no dot-stuffing,
    no end marker); the reply after it answers the whole chunk."""

    line: int
    size: int
    last: bool
    lines: tuple[DataLine, ...]

    @property
    def text(self) -> str:
        return f"BDAT {self.size}" + (" LAST" if self.last else "")

    def data(self) -> bytes:
        return b"".join(d.text.encode("utf-8") + b"\r\n" for d in self.lines)


@dataclass(frozen=True, slots=True)
class Message:
    """Message data we send after a 354, ended by ``.`` on ``end_line``."""

    line: int
    end_line: int
    parts: tuple[DataLine | Include, ...]

    @property
    def includes(self) -> tuple[Include, ...]:
        return tuple(p for p in self.parts if isinstance(p, Include))


@dataclass(frozen=True, slots=True)
class ExpectCommand:
    """After TURN: a command the remote (now the sender) must send."""

    line: int
    text: str
    match: Match = "code"

    @property
    def verb(self) -> str:
        return _verb(self.text)

    def matches(self, received: str) -> bool:
        if _verb(received) != self.verb:
            return False
        if self.match == "code":
            return True
        return _rest(received).rstrip() == _rest(self.text).rstrip()


@dataclass(frozen=True, slots=True)
class SendReply:
    """After TURN: a reply we send (our greeting when ``answers`` is None)."""

    line: int
    lines: tuple[str, ...]
    answers: int | None = None

    @property
    def code(self) -> int:
        return int(self.lines[0][:3])

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True, slots=True)
class ExpectMessage:
    """After TURN: message data the remote must send after our 354, up to ``.``."""

    line: int
    end_line: int
    lines: tuple[str, ...]
    match: Match = "code"

    def matches(self, received: Sequence[str]) -> bool:
        """Code mode: any message (the text is informational); text mode: same lines."""
        if self.match == "code":
            return True
        return [x.rstrip() for x in received] == [x.rstrip() for x in self.lines]


Step = (Session | Command | Expect | Message | Chunk | ExpectCommand | SendReply
        | ExpectMessage)


@dataclass(frozen=True, slots=True)
class Script:
    filename: str
    notation: Notation
    steps: tuple[Step, ...]
    base_dir: str | None = None

    @property
    def sessions(self) -> tuple[Session, ...]:
        return tuple(s for s in self.steps if isinstance(s, Session))

    @property
    def includes(self) -> tuple[Include, ...]:
        return tuple(i for s in self.steps if isinstance(s, Message) for i in s.includes)

    @property
    def expectations(self) -> int:
        """How many things the script checks (replies, remote commands, remote data)."""
        return sum(isinstance(s, (ExpectCommand, ExpectMessage))
                   or isinstance(s, Expect) and not s.implicit for s in self.steps)


# --- parsing -------------------------------------------------------------------------

_PREFIX_RE = re.compile(r"([CSR]):(?: ?)(.*)\Z", re.DOTALL)
_REPLY_RE = re.compile(r"([1-5][0-9xX]{2})([ -]|\Z)(.*)\Z", re.DOTALL)
_SEND_REPLY_RE = re.compile(r"([1-5][0-9]{2})([ -]|\Z)(.*)\Z", re.DOTALL)
_DIRECTIVES = ("include", "session", "match")

# RFC 2920 §3.1 (+ RFC 3207 STARTTLS, RFC 4954 AUTH, and HELO before PIPELINING is
# known): these may only be the last command of a group.
_LAST_IN_GROUP = frozenset(v for v, spec in COMMANDS.items() if spec.ends_pipeline)
# The connection changes under these: they must be alone in their group.
_ALONE = frozenset({"STARTTLS", "TURN"})


def _verb(line: str) -> str:
    return line.strip().split(" ", 1)[0].upper() if line.strip() else ""


def _rest(line: str) -> str:
    parts = line.strip().split(" ", 1)
    return parts[1] if len(parts) > 1 else ""


def _reply_text(written: str) -> str:
    """Text of a written reply line after "NNN " / "NNN-"."""
    return written[4:].rstrip()


def _short(text: str, limit: int = 50) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class _Pending:
    """A command (or the end of data) waiting for its reply."""

    index: int  # into steps
    line: int
    verb: str


@dataclass
class _Parser:
    filename: str
    base_dir: str | None
    notation: Notation
    steps: list[Step] = field(default_factory=list)
    match: Match = "code"
    turned: bool = False
    # session state: "greeting" (first line must be the greeting), "open", "closed"
    session: str = "greeting"
    session_index: int = 0
    pending: list[_Pending] = field(default_factory=list)
    answering: bool = False  # replies to the current group have started
    greeting_due: bool = False  # after TURN: we must send our greeting first
    reply_lines: list[str] = field(default_factory=list)
    reply_start: int = 0
    reply_sep_code: str = ""
    data: list[DataLine | Include] | None = None  # our message data being collected
    remote_data: list[str] | None = None  # the remote's message data (after TURN)
    data_start: int = 0
    chunk: tuple[int, int, bool] | None = None  # BDAT being collected: step, size, LAST
    chunk_lines: list[DataLine] = field(default_factory=list)
    chunk_octets: int = 0
    continuable: str | None = None  # "command" / "data": the previous line can continue
    quit_line: int = 0

    # letters -------------------------------------------------------------------
    @property
    def local(self) -> str:
        if self.notation is Notation.RFC5321:
            return "C"
        return "R" if self.turned else "S"

    @property
    def remote(self) -> str:
        if self.notation is Notation.RFC5321:
            return "S"
        return "S" if self.turned else "R"

    def fail(self, line: int | None, problem: str) -> ScriptError:
        return ScriptError(self.filename, line, problem)

    # main loop -----------------------------------------------------------------
    def run(self, text: str) -> Script:
        self.steps.append(Session(line=1))
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        for number, raw in enumerate(lines, start=1):
            line = raw.removesuffix("\r")
            cr = line.find("\r")
            if cr >= 0 and not line.lstrip().startswith("#"):
                # It would go on the wire as a line end inside the line (a second command
                # smuggled in); RFC 5321 §2.3.8 forbids a bare CR.
                raise self.fail(number, f"a bare CR at column {cr + 1}: a line cannot contain "
                                        "CR (RFC 5321 §2.3.8); split it into two lines")
            self.feed(number, line)
        self.finish(len(lines))
        return Script(self.filename, self.notation, tuple(self.steps), self.base_dir)

    def feed(self, n: int, line: str) -> None:
        stripped = line.lstrip()
        if not stripped.strip():
            self.continuable = None
            return
        if stripped.startswith("#"):
            self.continuable = None
            if stripped.startswith("#!") and not (n == 1 and stripped.startswith("#!/")):
                self.directive(n, stripped[2:].strip())
            return
        m = _PREFIX_RE.match(stripped)
        if m is None:
            if line[:1] in (" ", "\t") and self.continuable is not None:
                self.continuation(n, line)
                return
            self.continuable = None
            raise self.fail(
                n,
                f"expected '{self.local}: ...' (sent) or '{self.remote}: ...' (expected), "
                f"a '#' comment or a blank line; got {_short(line)!r}",
            )
        letter, body = m.group(1), m.group(2)
        self.continuable = None
        if letter not in (self.local, self.remote):
            raise self.fail(n, self.wrong_letter(letter))
        if letter == self.local:
            if self.turned:
                self.our_reply(n, body)
            else:
                self.our_line(n, body)
        else:
            if self.turned:
                self.remote_line(n, body)
            else:
                self.server_reply(n, body)

    def wrong_letter(self, letter: str) -> str:
        if self.notation is Notation.RFC821:
            return (
                f"'{letter}:' line in an RFC 821 notation script (it has 'R:' lines): "
                "write the sender's lines as 'S:' and the receiver's as 'R:'"
            )
        return f"unknown prefix '{letter}:' (RFC 5321 notation uses 'C:' and 'S:')"

    # directives --------------------------------------------------------------------
    def directive(self, n: int, body: str) -> None:
        word, _, arg = body.partition(" ")
        word = word.lower()
        arg = arg.strip()
        if word == "include":
            self.include(n, arg)
        elif word == "session":
            self.new_session(n, arg or None)
        elif word == "match":
            if arg not in ("code", "text"):
                raise self.fail(n, f"'#!match' takes 'code' or 'text', not {_short(arg)!r}")
            self.match = arg  # type: ignore[assignment]
        else:
            known = ", ".join(f"#!{d}" for d in _DIRECTIVES)
            raise self.fail(
                n, f"unknown directive {_short('#!' + word, 22)!r} (known: {known}; "
                "a plain comment is '# ...')"
            )

    def include(self, n: int, arg: str) -> None:
        if self.data is None and self.pending and self.pending[-1].verb == "DATA":
            self.imply_replies()  # the 354 is left out: the message starts here
        if self.data is None:
            raise self.fail(
                n,
                "'#!include' adds message data: it belongs between the 354 reply to "
                f"'{self.local}: DATA' and '{self.local}: .'",
            )
        if not arg:
            raise self.fail(n, "'#!include' needs a file path")
        path = os.path.expanduser(arg)
        if not os.path.isabs(path) and self.base_dir is not None:
            path = os.path.join(self.base_dir, path)
        self.data.append(Include(n, os.path.normpath(path), arg))

    def new_session(self, n: int, name: str | None) -> None:
        if self.reply_lines:
            raise self.unfinished_reply(n)
        if self.data is not None or self.remote_data is not None:
            raise self.fail(
                n, f"'#!session' inside message data (started on line {self.data_start})"
            )
        if self.pending:
            raise self.no_reply(self.pending[0], found="'#!session'", at=n)
        if self.greeting_due:
            raise self.fail(n, f"after TURN we must send our greeting '{self.local}: 220 ...' "
                            "before the session ends")
        current = self.steps[self.session_index]
        assert isinstance(current, Session)
        if len(self.steps) == self.session_index + 1:
            # Nothing happened in the current session yet: just name it.
            self.steps[self.session_index] = Session(n, name, current.greeting_host)
        else:
            self.session_index = len(self.steps)
            self.steps.append(Session(n, name))
        self.session = "greeting"
        self.turned = False
        self.answering = False

    # errors ----------------------------------------------------------------------
    def unfinished_reply(self, n: int) -> ScriptError:
        code = self.reply_sep_code
        return self.fail(
            n,
            f"the multi-line reply started on line {self.reply_start} is not finished: "
            f"its last line must be '{code} text' (a space after the code, not '-')",
        )

    def no_reply(self, p: _Pending, found: str, at: int | None = None) -> ScriptError:
        what = "the end of the message data" if p.verb == "." else "the command"
        return self.fail(
            at or p.line,
            f"expected a reply line '{self.remote}: NNN ...' after {what} on line "
            f"{p.line}, found {found}",
        )

    # our lines as the client -----------------------------------------------------------
    def our_line(self, n: int, body: str) -> None:
        if self.reply_lines:
            raise self.unfinished_reply(n)
        if self.chunk is not None:
            self.chunk_line(n, body)
            return
        if self.data is not None:
            if body.strip() in (".", "<CRLF>.<CRLF>"):
                self.steps.append(Message(self.data_start, n, tuple(self.data)))
                self.data = None
                self.pending.append(_Pending(len(self.steps) - 1, n, "."))
                self.answering = False
                return
            self.data.append(DataLine(n, body))
            self.continuable = "data"
            return
        if self.session == "greeting":
            self.imply_greeting(n)
        if self.session == "closed":
            raise self.fail(
                n,
                f"the session ended with QUIT (line {self.quit_line}); a new session starts "
                f"with its greeting '{self.remote}: 220 ...' or a '#!session' line",
            )
        verb = _verb(body)
        if self.pending and (self.answering or verb in _ALONE or self.pending[-1].verb
                             in _LAST_IN_GROUP or self.pending[-1].verb == "."):
            # The script does not write these replies: await them, check nothing.
            self.imply_replies()
            if self.data is not None or self.session == "closed":
                self.our_line(n, body)  # message data after an implied 354, or a new session
                return
        if self.pending:
            last = self.pending[-1]
            if self.answering:
                raise self.fail(
                    n,
                    f"expected a reply line '{self.remote}: NNN ...' for the command on line "
                    f"{self.pending[0].line} before the next command (each group of commands "
                    "is answered in full)",
                )
            if last.verb in _LAST_IN_GROUP or last.verb == ".":
                raise self.no_reply(last, found=repr(_short(f"{self.local}: {body}", 33)), at=n)
            if verb in _ALONE:
                raise self.fail(
                    n,
                    f"{verb} cannot be pipelined: the command on line {self.pending[0].line} "
                    "is still waiting for its reply",
                )
        self.steps.append(Command(n, body))
        self.pending.append(_Pending(len(self.steps) - 1, n, verb))
        self.continuable = "command"
        if verb == "BDAT":
            self.start_chunk(n, body)

    # a BDAT chunk (RFC 3030): the lines after the command, exactly SIZE octets --------
    def start_chunk(self, n: int, body: str) -> None:
        m = _BDAT_RE.fullmatch(body.strip())
        if m is None:
            raise self.fail(n, "expected 'BDAT <size>' or 'BDAT <size> LAST' with the size "
                               "in octets (RFC 3030 §2); the chunk follows on the next lines")
        size, last = int(m.group(1)), m.group(2) is not None
        if size > MAX_SCRIPT_OCTETS:
            raise self.fail(n, f"a chunk of {size} octets cannot be written in a script")
        self.continuable = None
        self.chunk, self.chunk_lines, self.chunk_octets = (len(self.steps) - 1, size, last), [], 0
        if size == 0:
            self.end_chunk()

    def chunk_line(self, n: int, body: str) -> None:
        assert self.chunk is not None
        _step, size, _last = self.chunk
        self.chunk_lines.append(DataLine(n, body))
        self.chunk_octets += len(body.encode("utf-8")) + 2
        if self.chunk_octets > size:
            start = self.steps[self.chunk[0]].line
            raise self.fail(n, f"the chunk of the BDAT on line {start} is {size} octets, but "
                               f"its lines (each with its CRLF) add up to {self.chunk_octets} "
                               "by this line")
        if self.chunk_octets == size:
            self.end_chunk()

    def end_chunk(self) -> None:
        assert self.chunk is not None
        index, size, last = self.chunk
        line = self.steps[index].line
        self.steps[index] = Chunk(line, size, last, tuple(self.chunk_lines))
        self.chunk, self.chunk_lines, self.chunk_octets = None, [], 0

    def unfinished_chunk(self, n: int) -> ScriptError:
        assert self.chunk is not None
        index, size, _ = self.chunk
        return self.fail(n, f"the chunk of the BDAT on line {self.steps[index].line} is "
                            f"{size} octets; its lines so far add up to {self.chunk_octets}")

    def continuation(self, n: int, line: str) -> None:
        if self.continuable == "command":
            last = self.steps[-1]
            assert isinstance(last, Command)
            text = last.text.rstrip() + " " + line.strip()
            self.steps[-1] = Command(last.line, text)
            self.pending[-1].verb = _verb(text)
        else:
            assert self.data is not None
            self.data.append(DataLine(n, line))

    # the server's replies (we are the client) --------------------------------------------
    def server_reply(self, n: int, body: str) -> None:
        if self.chunk is not None:
            raise self.unfinished_chunk(n)
        if self.data is not None:
            raise self.fail(
                n,
                f"the message data started on line {self.data_start} is not finished: end "
                f"it with '{self.local}: .' before the reply",
            )
        m = _REPLY_RE.match(body)
        if m is None:
            raise self.fail(
                n,
                f"expected a reply '{self.remote}: NNN text' (a three-digit code), got "
                f"{_short(body)!r}",
            )
        lines = self.reply_line(n, body, m.group(1), m.group(2), self.start_reply)
        if lines is not None:
            self.finish_reply(lines)

    def reply_line(self, n: int, body: str, code: str, sep: str,
                   start: Callable[[int, str], None]) -> tuple[str, ...] | None:
        """Add one line of a reply (``start`` opens a new one); the whole reply once its
        last line is in, else None. A multi-line reply keeps one code (RFC 821 §4.2)."""
        if self.reply_lines:
            if code != self.reply_sep_code:
                raise self.fail(
                    n,
                    f"the multi-line reply started on line {self.reply_start} with code "
                    f"{self.reply_sep_code} continues with {code}",
                )
        else:
            start(n, code)
            self.reply_start = n
            self.reply_sep_code = code
        self.reply_lines.append(body.rstrip())
        if sep == "-":
            return None
        lines = tuple(self.reply_lines)
        self.reply_lines = []
        return lines

    def start_reply(self, n: int, code: str) -> None:
        if self.session == "greeting" or self.pending:
            pass
        elif self.session == "closed":
            # A new connection, as the multi-step RFC scenarios are printed.
            self.session_index = len(self.steps)
            self.steps.append(Session(n))
            self.session = "greeting"
            self.answering = False
        else:
            raise self.fail(
                n,
                f"reply with no command waiting for it (every command so far has its reply); "
                f"write the command as '{self.local}: ...' before it",
            )

    def imply_greeting(self, n: int) -> None:
        """A script may start with its first command: the greeting is awaited, not checked."""
        self.steps.append(Expect(n, (), "xxx", self.match, None, implicit=True))
        self.session = "open"

    def imply_replies(self) -> None:
        """Replies the script leaves out (a command followed by something other than its
        reply): each is awaited and shown, nothing is checked. TURN's cannot be left out:
        the roles that follow depend on it. DATA's is taken as 354 (the lines that follow
        are the message) and QUIT's as 221 (the session ends)."""
        # Commands in a row with no reply written at all are not a pipelined group: each
        # awaits its reply before the next is sent (no PIPELINING assumed).
        sequential = not self.answering
        moved = 0
        while self.pending:
            p = self.pending[0]
            if p.verb == "TURN":
                raise self.no_reply(p, found="no reply (TURN's decides who speaks next)")
            self.reply_sep_code = {"DATA": "3xx", "QUIT": "2xx"}.get(p.verb, "xxx")
            self.reply_start = p.line
            self.finish_reply((), implicit=True)
            if sequential:
                self.steps.insert(p.index + 1 + moved, self.steps.pop())
                moved += 1

    def finish_reply(self, lines: tuple[str, ...], *, implicit: bool = False) -> None:
        code = self.reply_sep_code
        if self.session == "greeting":
            self.steps.append(Expect(self.reply_start, lines, code, self.match, None))
            self.session = "open"
            session = self.steps[self.session_index]
            assert isinstance(session, Session)
            if session.greeting_host is None and lines[0][4:].split():
                host = lines[0][4:].split(None, 1)[0]
                self.steps[self.session_index] = Session(session.line, session.name, host)
            return
        p = self.pending.pop(0)
        self.steps.append(Expect(self.reply_start, lines, code, self.match, p.line, implicit))
        self.answering = bool(self.pending)
        if self.pending:
            return
        if p.verb == "DATA" and code[0] == "3":
            self.data = []
            self.data_start = self.reply_start + max(len(lines), 1)
        elif p.verb == "TURN" and code[0] == "2":
            self.turned = True
            self.greeting_due = True
        elif p.verb == "QUIT" and code[0] == "2":
            self.session = "closed"
            self.quit_line = p.line

    # after TURN: our replies and the remote's commands ------------------------------------
    def our_reply(self, n: int, body: str) -> None:
        if self.remote_data is not None:
            raise self.fail(
                n,
                f"the remote's message data started on line {self.data_start} is not "
                f"finished: it ends with '{self.remote}: .' before our reply",
            )
        m = _SEND_REPLY_RE.match(body)
        if m is None:
            raise self.fail(
                n,
                f"after TURN our lines are replies: expected '{self.local}: NNN text' "
                f"(a three-digit code), got {_short(body)!r}",
            )
        code = m.group(1)
        lines = self.reply_line(n, body, code, m.group(2), self.start_our_reply)
        if lines is None:
            return
        if self.greeting_due:
            self.greeting_due = False
            self.steps.append(SendReply(self.reply_start, lines, None))
            return
        p = self.pending.pop(0)
        self.steps.append(SendReply(self.reply_start, lines, p.line))
        self.answering = bool(self.pending)
        if self.pending:
            return
        if p.verb == "DATA" and code[0] == "3":
            self.remote_data = []
            self.data_start = self.reply_start + len(lines)
        elif p.verb == "TURN" and code[0] == "2":
            self.turned = False
            self.session = "greeting"  # the remote, receiver again, greets us
        elif p.verb == "QUIT" and code[0] == "2":
            self.turned = False
            self.session = "closed"
            self.quit_line = p.line

    def start_our_reply(self, n: int, code: str) -> None:
        if not self.greeting_due and not self.pending:
            raise self.fail(
                n,
                "reply with no command from the remote waiting for it; after TURN the "
                f"remote's commands are written '{self.remote}: ...'",
            )

    def remote_line(self, n: int, body: str) -> None:
        if self.reply_lines:
            raise self.unfinished_reply(n)
        if self.greeting_due:
            raise self.fail(
                n,
                "after TURN and its 250 we are the receiver: we send our greeting "
                f"'{self.local}: 220 ...' first (RFC 821 §4.1.1)",
            )
        if self.remote_data is not None:
            if body.strip() in (".", "<CRLF>.<CRLF>"):
                self.steps.append(
                    ExpectMessage(self.data_start, n, tuple(self.remote_data), self.match)
                )
                self.remote_data = None
                self.pending.append(_Pending(len(self.steps) - 1, n, "."))
                self.answering = False
                return
            self.remote_data.append(body)
            return
        if self.pending:
            last = self.pending[-1]
            if self.answering or last.verb in _LAST_IN_GROUP or last.verb == ".":
                raise self.fail(
                    n,
                    f"expected our reply '{self.local}: NNN ...' to the remote's command on "
                    f"line {self.pending[0].line} first",
                )
        self.steps.append(ExpectCommand(n, body, self.match))
        self.pending.append(_Pending(len(self.steps) - 1, n, _verb(body)))

    # end of file ---------------------------------------------------------------------------
    def finish(self, last: int) -> None:
        if self.chunk is not None:
            raise self.unfinished_chunk(last)
        if self.reply_lines:
            raise self.fail(
                self.reply_start,
                f"the multi-line reply started on line {self.reply_start} is not finished "
                f"(end of file): its last line must be '{self.reply_sep_code} text'",
            )
        if self.data is not None:
            raise self.fail(
                self.data_start,
                f"the message data started on line {self.data_start} never ends: "
                f"write '{self.local}: .' after its last line",
            )
        if self.remote_data is not None:
            raise self.fail(
                self.data_start,
                f"the remote's message data started on line {self.data_start} never ends "
                f"with '{self.remote}: .'",
            )
        if self.pending:
            p = self.pending[0]
            if self.turned:
                raise self.fail(
                    p.line,
                    f"expected our reply '{self.local}: NNN ...' to the remote's command on "
                    f"line {p.line}, found the end of the file",
                )
            self.imply_replies()
        if self.greeting_due:
            raise self.fail(
                last,
                f"after TURN we must send our greeting '{self.local}: 220 ...' (end of file)",
            )
        if len(self.steps) == 1 or all(isinstance(s, Session) for s in self.steps):
            raise self.fail(
                None,
                f"no exchange in the script (expected '{self.remote}: 220 ...' greeting "
                f"and '{self.local}: ...' lines)",
            )
        if isinstance(self.steps[-1], Session):
            # A trailing '#!session' with nothing after it.
            raise self.fail(self.steps[-1].line, "a session with no exchange")


def _detect_notation(lines: Iterable[str]) -> Notation:
    for raw in lines:
        if raw.lstrip().startswith("R:"):
            return Notation.RFC821
    return Notation.RFC5321


_BDAT_RE = re.compile(r"(?i)BDAT[ \t]+([0-9]{1,12})(?:[ \t]+(LAST))?")

MAX_SCRIPT_OCTETS = 16 * 1024 * 1024
"""A script is read whole, so it is bounded (``run /dev/zero`` must not eat the memory);
large message data belongs in an ``#!include`` file, which is streamed."""


def parse(text: str, filename: str = "<script>", base_dir: str | None = None) -> Script:
    """Parse a script. ``base_dir`` resolves relative ``#!include`` paths.

    Raises :class:`ScriptError` (``"file:line: problem"``) for any mistake.
    """
    notation = _detect_notation(text.split("\n"))
    return _Parser(filename, base_dir, notation).run(text)


def load(path: str) -> Script:
    """Read and parse a script file (UTF-8); ``-`` is not handled here (the caller reads
    stdin). Every problem, including an unreadable file, is a :class:`ScriptError`."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_SCRIPT_OCTETS + 1)
    except OSError as exc:
        raise ScriptError(path, None, f"cannot read the script: {exc.strerror or exc}") from None
    return parse_bytes(data, path, os.path.dirname(os.path.abspath(path)))


def parse_bytes(data: bytes, filename: str, base_dir: str | None = None) -> Script:
    """Parse a script read as at most ``MAX_SCRIPT_OCTETS + 1`` octets (from a file or
    standard input): too long, or not UTF-8, is a :class:`ScriptError`."""
    if len(data) > MAX_SCRIPT_OCTETS:
        raise ScriptError(filename, None, f"the script is longer than {MAX_SCRIPT_OCTETS} "
                                          "octets; put message data in a file and use "
                                          "#!include FILE")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ScriptError(filename, line, "the script is not valid UTF-8") from None
    return parse(text, filename, base_dir)


def check_includes(script: Script) -> None:
    """Raise :class:`ScriptError` for the first ``#!include`` file that cannot be read,
    so a bad path is reported before anything is sent."""
    for inc in script.includes:
        if os.path.isdir(inc.path):
            raise ScriptError(script.filename, inc.line, f"{inc.written!r} is a directory")
        if not os.path.isfile(inc.path):
            raise ScriptError(script.filename, inc.line, f"no such file: {inc.written!r}")
        if not os.access(inc.path, os.R_OK):
            raise ScriptError(script.filename, inc.line, f"cannot read {inc.written!r}")
