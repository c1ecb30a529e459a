"""Play a parsed ``.smtp`` script (:mod:`smtptui.core.script`) against a server.

Our lines are sent, the server's lines are checked, and every check becomes a
:class:`StepResult`. A missed expectation does not stop the script (a regression test
wants to see every mismatch); a broken connection ends its session, and the steps it
did not reach are counted as not run. Nothing here prints: ``on_step`` receives each
result as it happens, so the front end can show the exchange live.

Where to connect is the caller's business: a :class:`Connector` opens the connection
of each session (:class:`TargetConnector` for a TARGET; the embedded teaching server
will provide its own, using ``Session.host_hint`` to pick the world's host).

Message data is streamed: inline lines and ``#!include`` files go through
:meth:`SMTPClient.send_data` (the core's DotStuffer) in chunks of :data:`CHUNK_SIZE`,
so a message of any size costs a few chunks of memory.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from smtptui.core.replies import Reply
from smtptui.core.script import (
    Chunk,
    Command,
    DataLine,
    Expect,
    ExpectCommand,
    ExpectMessage,
    Message,
    Script,
    SendReply,
    Session,
    Step,
)
from smtptui.core.state import State
from smtptui.core.transcript import (
    Direction,
    Entry,
    hide_tokens,
    mask,
    secret_tokens,
)
from smtptui.net.client import SMTPClient
from smtptui.net.connector import TargetConnector
from smtptui.net.errors import ProtocolViolation, ServerClosed, SMTPClientError, StepTimeout
from smtptui.net.targets import format_host_port
from smtptui.net.tls import StartTLS

__all__ = [
    "CHUNK_SIZE",
    "Connector",
    "RunResult",
    "StepResult",
    "TargetConnector",
    "message_chunks",
    "run_script",
]

CHUNK_SIZE = 256 * 1024
"""Octets read from an included file at a time (and the batch size of inline lines)."""
MAX_REMOTE_LINE = 64 * 1024
"""After TURN: the longest command or data line accepted from the remote."""
QUIT_GRACE = 1.0
"""After TURN, seconds we wait for the remote to hang up after our 221 before closing."""
KEEP_REMOTE_DATA_LINES = 1000
"""After TURN: data lines of the remote's message kept for comparison and display."""
KEEP_REMOTE_DATA_OCTETS = 64 * 1024
"""After TURN: octets of the remote's message kept in the transcript (the rest counted)."""

StepKind = Literal[
    "greeting", "command", "data", "starttls", "reply-sent", "remote-command", "remote-data"
]


@dataclass(frozen=True, slots=True)
class StepResult:
    """One step of a run. ``expected`` is None for steps that check nothing (a reply
    we sent after TURN, an automatic STARTTLS); those are always ``ok``."""

    kind: StepKind
    line: int
    """Script line of the expectation (or of what was sent)."""
    sent: str | None
    """What we sent: the command line, "." after message data, our reply."""
    expected: str | None
    """As written in the script: "250 OK", "250-a\\n250 b", a command, data lines."""
    got: str | None
    """What the server sent (reply lines with their codes), None when nothing came."""
    ok: bool
    reply: Reply | None = None
    note: str | None = None
    data_octets: int | None = None
    """Message size sent (kind "data")."""
    data_preview: tuple[str, ...] = ()
    """The message data as written (inline lines, ``#!include PATH``), for display."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sent": self.sent, "expected": self.expected, "got": self.got, "ok": self.ok,
            "kind": self.kind, "line": self.line,
        }
        if self.note is not None:
            out["note"] = self.note
        if self.data_octets is not None:
            out["data_octets"] = self.data_octets
        return out


@dataclass(frozen=True, slots=True)
class RunResult:
    filename: str
    steps: tuple[StepResult, ...]
    errors: tuple[str, ...] = ()
    """Connection failures, one line each: ``"host:port: step: reason"``."""
    not_run: int = 0
    """Expectations never checked because their session's connection was gone."""

    @property
    def met(self) -> int:
        return sum(1 for s in self.steps if s.expected is not None and s.ok)

    @property
    def missed(self) -> tuple[StepResult, ...]:
        return tuple(s for s in self.steps if not s.ok)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.not_run and all(s.ok for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.filename,
            "ok": self.ok,
            "steps": [s.to_dict() for s in self.steps],
            "errors": list(self.errors),
            "not_run": self.not_run,
        }


class Connector(Protocol):
    """Opens the connection of one session of a script."""

    def label(self, session: Session) -> str:
        """``host:port`` for error lines when no connection could be made."""
        ...

    async def __call__(self, session: Session) -> SMTPClient: ...


def message_chunks(message: Message, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The message text of ``message`` (before dot-stuffing), in chunks: inline lines
    with CRLF, included files read ``chunk_size`` octets at a time and always ending
    with a line end. Raises OSError when an included file cannot be read."""
    batch: list[bytes] = []
    size = 0
    for part in message.parts:
        if isinstance(part, DataLine):
            line = part.text.encode("utf-8", "surrogateescape") + b"\r\n"
            batch.append(line)
            size += len(line)
            if size >= chunk_size:
                yield b"".join(batch)
                batch, size = [], 0
            continue
        if batch:
            yield b"".join(batch)
            batch, size = [], 0
        last = b"\n"
        with open(part.path, "rb") as f:
            while chunk := f.read(chunk_size):
                last = chunk[-1:]
                yield chunk
        if last not in (b"\n", b"\r"):
            yield b"\r\n"
    if batch:
        yield b"".join(batch)


def _preview(message: Message) -> tuple[str, ...]:
    return tuple(
        p.text if isinstance(p, DataLine) else f"#!include {p.written}" for p in message.parts
    )


def _reply_lines(reply: Reply) -> str:
    """The reply as the server wrote it (codes included), lines joined by "\\n"."""
    text = reply.raw.decode("utf-8", "replace")
    lines = [x.removesuffix("\r") for x in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines)


class _SessionGone(Exception):
    """The current session cannot go on: skip to the next one (``reason`` is reported
    as an error; None for a normal end such as our 221 to the remote's QUIT)."""

    def __init__(self, reason: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class _Run:
    script: Script
    connect: Connector
    on_step: Callable[[StepResult], None] | None
    starttls: StartTLS
    on_session: Callable[[Session, str], None] | None = None
    results: list[StepResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    not_run: int = 0
    client: SMTPClient | None = None
    label: str = ""
    commands: dict[int, Command] = field(default_factory=dict)
    data_accepted: bool = False
    data_reply: Reply | StepResult | None = None  # reply to the "." (or why none)
    data_message: Message | None = None
    deferred_starttls: bool = False
    auto_tls_done: bool = False
    secret_lines: set[int] = field(default_factory=set)
    """Script lines of secrets sent (AUTH initial responses, SASL responses): masked."""
    secrets: list[str] = field(default_factory=list)
    """Their texts: hidden wherever a later reply repeats them."""
    in_auth: bool = False
    """The last command was AUTH (or a SASL response) and a 3xx followed: the next
    line of ours is a SASL response, a secret (RFC 4954 §4)."""

    def emit(self, result: StepResult) -> None:
        self.results.append(result)
        if self.on_step is not None:
            self.on_step(result)

    async def play(self) -> RunResult:
        steps = self.script.steps
        sessions = [i for i, s in enumerate(steps) if isinstance(s, Session)]
        sessions.append(len(steps))
        try:
            for start, end in itertools.pairwise(sessions):
                await self.play_session(steps[start:end])
        finally:
            await self.close()
        return RunResult(self.script.filename, tuple(self.results), tuple(self.errors),
                         self.not_run)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
            self.client = None

    async def play_session(self, steps: Sequence[Step]) -> None:
        session = steps[0]
        assert isinstance(session, Session)
        await self.close()
        self.commands.clear()
        self.secret_lines.clear()
        self.in_auth = False
        self.data_accepted = self.deferred_starttls = self.auto_tls_done = False
        self.data_reply = self.data_message = None
        self.label = self.connect.label(session)
        try:
            self.client = await self.connect(session)
            self.label = format_host_port(self.client.host, self.client.port)
        except SMTPClientError as exc:
            if self.on_session is not None:
                self.on_session(session, self.label)
            self.fail(str(exc), steps[1:])
            return
        if self.on_session is not None:
            self.on_session(session, self.label)
        for index, step in enumerate(steps[1:], start=1):
            try:
                await self.play_step(step)
            except SMTPClientError as exc:
                self.fail(str(exc), steps[index + 1:], current=step)
                await self.close()
                return
            except _SessionGone as gone:
                if gone.reason:
                    self.errors.append(f"{self.label}: {gone.reason}")
                await self.close()
                self.not_run += _count_checks(steps[index + 1:])
                return

    def fail(self, reason: str, rest: Sequence[Step], current: Step | None = None) -> None:
        self.errors.append(f"{self.label}: {reason}")
        if current is not None and isinstance(current, (Expect, ExpectCommand, ExpectMessage)):
            self.emit(self.missed_result(current, f"not met: {reason}"))
        self.not_run += _count_checks(rest)

    def missed_result(self, step: Expect | ExpectCommand | ExpectMessage, note: str) -> StepResult:
        if isinstance(step, Expect):
            sent, kind = self.sent_for(step)
            return StepResult(kind, step.line, sent, step.text, None, False, note=note)
        if isinstance(step, ExpectCommand):
            return StepResult("remote-command", step.line, None, step.text, None, False, note=note)
        return StepResult("remote-data", step.line, None, "\n".join(step.lines), None, False,
                          note=note)

    def sent_for(self, step: Expect) -> tuple[str | None, StepKind]:
        if step.answers is None:
            return None, "greeting"
        if self.data_message is not None and step.answers == self.data_message.end_line:
            return ".", "data"
        command = self.commands.get(step.answers)
        if command is None:
            return None, "command"
        if command.line in self.secret_lines:
            return _masked(command.text), "command"
        return command.text, "command"

    def is_secret(self, line: str) -> bool:
        """An AUTH line with an initial response, or a SASL response: never shown."""
        from smtptui.core.sasl import is_secret_line

        client = self.client
        words = line.split()
        if words and words[0].upper() == "AUTH":
            return len(words) > 2
        return is_secret_line(line, self.in_auth or (client is not None
                                                      and client.state is State.AUTH))

    # -- one step ---------------------------------------------------------------------------

    async def play_step(self, step: Step) -> None:
        client = self.client
        assert client is not None
        if isinstance(step, Command):
            self.commands[step.line] = step
            if step.text.strip().upper() == "STARTTLS":
                self.deferred_starttls = True  # sent by client.starttls() with its reply
            else:
                secret = self.is_secret(step.text)
                if secret:
                    self.secret_lines.add(step.line)
                    self.secrets.append(step.text)
                await client.send_line(step.text, secret=secret)
        elif isinstance(step, Chunk):
            # BDAT and its chunk (RFC 3030); the reply is the next expectation's.
            self.commands[step.line] = Command(step.line, step.text)
            salvaged = await client.send_chunk(step.data(), last=step.last, await_reply=False)
            if salvaged is not None:  # the server answered and hung up mid-chunk
                raise _SessionGone(f"BDAT: the server answered {salvaged.code} and closed "
                                   "the connection during the chunk")
        elif isinstance(step, Expect):
            await self.expect(step)
        elif isinstance(step, Message):
            await self.send_message(step)
        elif isinstance(step, SendReply):
            await self.send_reply(step)
        elif isinstance(step, ExpectCommand):
            await self.expect_command(step)
        elif isinstance(step, ExpectMessage):
            await self.expect_message(step)

    async def expect(self, step: Expect) -> None:
        client = self.client
        assert client is not None
        sent, kind = self.sent_for(step)
        if kind == "data":
            got = self.data_reply
            self.data_reply = None
            if isinstance(got, StepResult):  # the data was never sent
                self.emit(StepResult("data", step.line, ".", step.text, None, False,
                                     note=got.note, data_preview=got.data_preview))
                return
            assert got is not None
            reply = got
            octets = client.last_data.octets if client.last_data else None
            ended = client.last_data is None or client.last_data.ended
            note = None if ended else (
                f"the end of data was never sent: the server answered after {octets} "
                "octets of the message, so it cannot be delivered")
            ok = step.implicit or step.matches(reply)
            self.emit(StepResult("data", step.line, "." if ended else None, _expected(step),
                                 _reply_lines(reply), ok, reply, data_octets=octets, note=note,
                                 data_preview=_preview(self.data_message)
                                 if self.data_message else ()))
            return
        if kind == "greeting":
            reply = await client.read_greeting()
        elif self.deferred_starttls and sent is not None and sent.strip().upper() == "STARTTLS":
            self.deferred_starttls = False
            reply = await client.starttls()
            kind = "starttls"
        else:
            verb = sent.split(" ", 1)[0].upper() if sent else "reply"
            if step.answers in self.secret_lines:
                verb = "AUTH"  # never name a step after a secret
            reply = await client.read_reply(verb or "reply")
        if kind == "command":
            command = self.commands.get(step.answers) if step.answers is not None else None
            is_auth = command is not None and (command.verb.upper() == "AUTH"
                                               or command.line in self.secret_lines)
            self.in_auth = is_auth and (reply.code == 334 or step.code[:1] == "3")
        ok = step.implicit or step.matches(reply)
        note = step.differing_lines(reply) if ok and not step.implicit else None
        if kind == "starttls" and reply.code == 220 and client.tls is not None:
            note = _tls_note(client)
        got = _reply_lines(reply)
        for secret in self.secrets:  # servers echo what they did not understand, any time
            got = _without_secret(got, secret)
        self.emit(StepResult("command" if kind == "starttls" else kind, step.line, sent,
                             _expected(step), got, ok, reply, note=note))
        verb = sent.split(" ", 1)[0].upper() if sent else ""
        if verb == "DATA":
            self.data_accepted = reply.code is not None and 300 <= reply.code < 400
            if self.data_accepted and step.code[0] not in "3xX":
                raise _SessionGone(
                    f"DATA: the server answered {reply.code} but the script expects "
                    f"{step.code} and has no message data to send; rest of the session skipped")
        elif verb == "TURN":
            swapped = reply.code == 250
            if swapped != (step.code[0] == "2"):
                raise _SessionGone(
                    f"TURN: the server answered {reply.code}, the script expects {step.code}: "
                    "the roles cannot follow the script; rest of the session skipped")
        elif verb == "EHLO" and reply.code == 250:
            try:
                await self.auto_starttls(sent or "")
            except SMTPClientError as exc:
                # This expectation was met and reported; the session ends here.
                raise _SessionGone(str(exc)) from None

    async def auto_starttls(self, ehlo_line: str) -> None:
        """``--starttls auto|yes``: after the script's first EHLO, upgrade and repeat it."""
        client = self.client
        assert client is not None
        if self.starttls == "no" or self.auto_tls_done or client.tls is not None:
            return
        self.auto_tls_done = True
        caps = client.capabilities
        if not (caps is not None and caps.starttls):
            if self.starttls == "yes":
                raise ProtocolViolation("starttls", "STARTTLS is not advertised (--starttls yes)")
            return
        reply = await client.starttls()
        if reply.code != 220:
            raise ProtocolViolation("starttls", f"STARTTLS refused: {_reply_lines(reply)}")
        self.emit(StepResult("starttls", 0, "STARTTLS", None, _reply_lines(reply), True, reply,
                             note=_tls_note(client)))
        again = await client.command(ehlo_line)
        self.emit(StepResult("starttls", 0, ehlo_line, None, _reply_lines(again), True, again,
                             note="EHLO again after STARTTLS (--starttls)"))

    async def send_message(self, step: Message) -> None:
        client = self.client
        assert client is not None
        self.data_message = step
        if not self.data_accepted:
            self.data_reply = StepResult(
                "data", step.end_line + 0, ".", None, None, False,
                note="message data not sent: the server did not accept DATA",
                data_preview=_preview(step))
            return
        self.data_accepted = False
        try:
            self.data_reply = await client.send_data(message_chunks(step))
        except OSError as exc:
            raise ServerClosed(
                "message data", f"cannot read an included file: {exc.strerror or exc} "
                                f"({exc.filename})") from None

    # -- after TURN: we are the receiver ------------------------------------------------------

    async def send_reply(self, step: SendReply) -> None:
        client = self.client
        assert client is not None
        for line in step.lines:
            await client.send_raw_line(line, step="reply")
        self.emit(StepResult("reply-sent", step.line, step.text, None, None, True))
        if step.answers is not None:
            cmd = self.commands.get(step.answers)
            verb = cmd.verb if cmd else ""
            if verb == "QUIT" and step.code == 221:
                # RFC 821 §4.1.1: the receiver (us) closes after its 221; give the remote
                # a moment to finish its side first, so neither end sees a reset.
                await client.wait_for_hangup(QUIT_GRACE)
                raise _SessionGone

    async def expect_command(self, step: ExpectCommand) -> None:
        client = self.client
        assert client is not None
        line = await client.read_line("remote command", max_length=MAX_REMOTE_LINE)
        self.commands[step.line] = Command(step.line, line)
        self.emit(StepResult("remote-command", step.line, None, step.text, line,
                             step.matches(line)))

    async def expect_message(self, step: ExpectMessage) -> None:
        client = self.client
        assert client is not None
        kept: list[str] = []
        count = 0
        octets = 0
        deadline = client.timeouts.data
        try:
            # One deadline for the whole message, not per line: a remote that floods
            # data lines still ends within it; only its first lines are kept.
            async with asyncio.timeout(deadline):
                while True:
                    record = octets < KEEP_REMOTE_DATA_OCTETS
                    line = await client.read_line("remote message data", deadline,
                                                  max_length=MAX_REMOTE_LINE, record=record)
                    if line == ".":
                        if not record:
                            client.transcript.append(Entry(Direction.SERVER,
                                                           time.monotonic(), b".\r\n", "."))
                        break
                    count += 1
                    octets += len(line) + 2
                    if len(kept) < KEEP_REMOTE_DATA_LINES:
                        kept.append(line[1:] if line.startswith("..") else line)
        except TimeoutError:
            reason = (f"timed out after {deadline:g} s: the remote's message did not end "
                      f"({count} lines, {octets} octets received)")
            raise StepTimeout("remote message data", reason) from None
        if octets > KEEP_REMOTE_DATA_OCTETS:
            client.transcript.append(Entry(
                Direction.NOTE, time.monotonic(), b"",
                f"remote message data: {count} lines, {octets} octets (only the first "
                f"{KEEP_REMOTE_DATA_OCTETS} octets kept in the transcript)"))
        ok = step.matches(kept) and (count <= len(kept) or step.match == "code")
        self.commands[step.end_line] = Command(step.end_line, ".")
        note = None if count <= len(kept) else f"{count} lines received, first {len(kept)} kept"
        self.emit(StepResult("remote-data", step.line, None, "\n".join(step.lines),
                             "\n".join(kept), ok, note=note))


def _masked(line: str) -> str:
    """How a secret line is shown: the core transcript's mask (``AUTH PLAIN <secret:
    initial response hidden>``, ``<secret: AUTH response hidden>``)."""
    return mask(Entry(Direction.CLIENT, 0.0, b"", line, secret=True))


def _without_secret(text: str, line: str) -> str:
    """``text`` with every word of the secret ``line`` that could identify it hidden
    (the core transcript's rule: :func:`secret_tokens`)."""
    return hide_tokens(text, secret_tokens(Entry(Direction.CLIENT, 0.0, b"", line,
                                                 secret=True)))


def _tls_note(client: SMTPClient) -> str:
    info = client.tls
    if info is None:
        return "TLS not established"
    verified = "verified" if info.verified else f"NOT verified: {info.verify_error}"
    return f"TLS established: {info.version} {info.cipher} ({verified})"


def _expected(step: Expect) -> str | None:
    """What a StepResult says was expected: None for a reply the script left out."""
    return None if step.implicit else step.text


def _count_checks(steps: Sequence[Step]) -> int:
    return sum(isinstance(s, (ExpectCommand, ExpectMessage))
               or isinstance(s, Expect) and not s.implicit for s in steps)


async def run_script(
    script: Script,
    connect: Connector,
    *,
    on_step: Callable[[StepResult], None] | None = None,
    starttls: StartTLS = "no",
    on_session: Callable[[Session, str], None] | None = None,
) -> RunResult:
    """Play ``script``; never raises for server behaviour or connection failures (they
    are in the result). ``starttls``: "no" (default: the script says exactly what is
    sent), "auto"/"yes" upgrade after the script's first EHLO and repeat that EHLO.
    ``on_step`` gets every result as it happens; ``on_session`` each session as it
    starts, with the ``host:port`` it connected to (or tried)."""
    return await _Run(script, connect, on_step, starttls, on_session).play()

