"""The protocol bookkeeping of one client connection, without I/O: shared by both drivers.

:class:`~smtptui.net.client.SMTPClient` (asyncio) and
:class:`~smtptui.net.blocking.BlockingSMTPClient` (``socket`` + ``ssl``, for one-shot
commands) move bytes; everything they must agree on lives here, once (as h11's
``Connection`` serves sync and async HTTP clients alike):

- the transcript: every line sent or received, with timestamps and reply latencies,
  secrets marked (the core's :func:`~smtptui.core.sasl.is_secret_line` decides);
- the core's :class:`~smtptui.core.state.SessionTracker` and reply parser with its caps;
- the unsolicited-reply rule (RFC 5321 §4.1.1) and the STARTTLS injection check;
- what a broken read means (a reply cut short, a peer that hung up mid-reply) and the
  ``step: reason`` text of every such failure and of a timeout;
- the message-data transcript cap and the DATA report.

Nothing here imports asyncio, socket or ssl: the drivers stay free to start cheaply.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence

from smtptui.core.commands import COMMANDS
from smtptui.core.data import DotStuffer
from smtptui.core.frozen import frozen
from smtptui.core.replies import Reply, ReplyParser
from smtptui.core.sasl import is_secret_line
from smtptui.core.state import SessionTracker, State
from smtptui.core.text import is_ip_literal
from smtptui.core.transcript import Direction, Entry, Transcript
from smtptui.net.errors import (
    ConnectError,
    ProtocolViolation,
    ServerClosed,
    StepTimeout,
    printable,
)

__all__ = [
    "DATA_TRANSCRIPT_LIMIT",
    "MAX_LINE_LENGTH",
    "MAX_REPLY_LINES",
    "MAX_REPLY_OCTETS",
    "READ_SIZE",
    "ClientConnection",
    "ConnectAttempts",
    "DataCapture",
    "DataStats",
    "ProbeOptions",
    "StartTLS",
    "Timeouts",
    "candidate_addresses",
    "format_seconds",
    "os_reason",
    "resolved_addresses",
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

TYPE_CHECKING = False  # typing is for type checkers: not imported at start-up
if TYPE_CHECKING:
    import ssl
    from typing import Literal

    StartTLS = Literal["auto", "yes", "no"]
    """When to upgrade a plain connection: when advertised, always (fail if not), never."""
else:
    StartTLS = str  # an annotation alias at run time; the values are checked where parsed

def _families() -> tuple[int, int]:
    """``socket.AF_INET`` and ``socket.AF_INET6`` without importing socket here (the
    values differ between platforms; socket is imported by every driver anyway)."""
    import socket

    return int(socket.AF_INET), int(socket.AF_INET6)


def new_parser() -> ReplyParser:
    """The reply parser with this client's caps."""
    return ReplyParser(MAX_LINE_LENGTH, MAX_REPLY_LINES, MAX_REPLY_OCTETS)


def unfinished(reply: Reply) -> bool:
    """A multi-line reply whose final line never came (its last line is ``NNN-...``)."""
    last = reply.raw.rstrip(b"\r\n").rsplit(b"\n", 1)[-1]
    return last[3:4] == b"-"


def format_seconds(value: float) -> str:
    return f"{value:.1f}" if round(value, 1) == value else f"{value:g}"


def os_reason(exc: OSError) -> str:
    """An OS error as the lower-case reason of a ``step: reason`` line."""
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


def family_of(address: str) -> int:
    """The socket family of an address literal."""
    inet, inet6 = _families()
    return inet6 if ":" in address else inet


@frozen
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


@frozen
class ProbeOptions:
    """How to connect, and probe: ``smtptui probe`` shares one across its targets; the
    sessions and one-shot commands connect with one (``session.connect.options``)."""

    helo: str
    starttls: StartTLS = "auto"
    cafile: str | None = None
    insecure: bool = False
    timeout: float | None = None              # one deadline per step; None = client defaults
    resolver: tuple[str, int] | None = None   # DNS server instead of the system's
    family: int = 0                           # 0, socket.AF_INET or socket.AF_INET6
    ptr: bool = True                          # look up the PTR of the connected address
    ssl_context: ssl.SSLContext | None = None  # prebuilt (make_tls_context); else on first use

    @property
    def timeouts(self) -> Timeouts:
        if self.timeout is None:
            return Timeouts()
        t = self.timeout
        return Timeouts(connect=t, greeting=t, reply=t, data=t)

    @property
    def dns_timeout(self) -> float:
        return 5.0 if self.timeout is None else self.timeout


@frozen
class DataStats:
    """What ``send_data`` sent (from the core's DotStuffer report)."""

    octets: int
    """Message size as RFC 1870 counts it (normalised CRLF, no stuffing, no end marker)."""
    wire_octets: int
    bare_cr: int
    bare_lf: int
    eight_bit: bool
    long_lines: int
    ended: bool = True
    """The end marker was sent (False: the message was cut short and never delivered)."""

    @classmethod
    def of(cls, stuffer: DotStuffer, ended: bool) -> DataStats:
        return cls(stuffer.octets, stuffer.wire_octets, stuffer.bare_cr, stuffer.bare_lf,
                   stuffer.eight_bit, stuffer.long_lines, ended)


# ------------------------------------------------------------------------ addresses


def candidate_addresses(host: str, family: int,
                        addresses: Sequence[str] | None) -> list[str] | None:
    """The addresses to try, in order, without duplicates, filtered by ``family``; None
    when ``host`` is a name the driver must resolve (then :func:`resolved_addresses`)."""
    inet6 = _families()[1]
    if addresses is not None:
        found = [a for a in addresses if family == 0 or family_of(a) == family]
        if not found:
            what = "IPv6" if family == inet6 else "IPv4"
            raise ConnectError("connect", f"no {what} address for {host}"
                               if addresses else f"no address for {host}")
        return list(dict.fromkeys(found))
    literal = host.split("%", 1)[0]
    if is_ip_literal(literal):
        if family and family_of(literal) != family:
            want = "IPv6" if family == inet6 else "IPv4"
            raise ConnectError("connect", f"{host} is not an {want} address")
        return [host]
    return None


def resolved_addresses(host: str, infos: Sequence[tuple[object, ...]]) -> list[str]:
    """The addresses of ``getaddrinfo`` results, in its order, without duplicates."""
    result = list(dict.fromkeys(str(info[4][0]) for info in infos))  # type: ignore[index]
    if not result:
        raise ConnectError("resolve", f"{host}: no address")
    return result


def resolve_failure(host: str, exc: BaseException, timeout: float) -> ConnectError | StepTimeout:
    """The error of a failed name resolution, whichever driver resolved."""
    if isinstance(exc, TimeoutError):
        return StepTimeout("resolve", f"{host}: timed out after {format_seconds(timeout)} s")
    strerror = getattr(exc, "strerror", None)
    if type(exc).__name__ == "gaierror":
        return ConnectError("resolve", f"{host}: {strerror or exc}")
    return ConnectError("resolve", f"{host}: {exc}")


class ConnectAttempts:
    """The addresses tried in turn and why each failed, for both drivers: every failure
    is a transcript note, and the final error names them all -- a timeout only when
    every address timed out (one policy, whichever driver connects)."""

    __slots__ = ("_failures", "_timed_out", "_transcript", "timeout")

    def __init__(self, transcript: Transcript, timeout: float) -> None:
        self._transcript = transcript
        self.timeout = timeout
        self._failures: list[str] = []
        self._timed_out = 0

    def timed_out(self, where: str) -> None:
        self._timed_out += 1
        self.failed(where, f"timed out after {format_seconds(self.timeout)} s")

    def failed(self, where: str, reason: str) -> None:
        self._failures.append(f"{reason} ({where})")
        note_to(self._transcript, f"connect to {where} failed: {reason}")

    def error(self) -> ConnectError | StepTimeout:
        """What to raise when no address answered."""
        text = "; ".join(self._failures)
        if self._timed_out == len(self._failures):
            return StepTimeout("connect", text)
        return ConnectError("connect", text)


# --------------------------------------------------------------------- the connection


class ClientConnection:
    """Everything one client connection knows about the protocol, and nothing about I/O.

    A driver feeds it what it read (:meth:`received`, :meth:`peer_closed`,
    :meth:`read_failed`), asks it for the next reply (:meth:`take_reply`), and lets it
    record and account for every line before writing it (:meth:`prepare_line`).
    """

    def __init__(self, transcript: Transcript) -> None:
        self.transcript = transcript
        self.tracker = SessionTracker()
        self.parser = new_parser()
        self.replies: deque[Reply] = deque()
        self.awaiting: deque[float] = deque()  # send times of commands still unanswered
        self.eof = False
        self.hello_line: str | None = None     # replayed by the insecure STARTTLS fallback
        self.last_verb = "command"
        self.strict_replies = True
        self.unsolicited: Reply | None = None

    # -- transcript -------------------------------------------------------------------

    def note(self, text: str) -> None:
        note_to(self.transcript, text)

    def record_line(self, data: bytes, text: str, *, secret: bool = False) -> None:
        """A transcript entry for a line about to be written."""
        self.transcript.append(Entry(Direction.CLIENT, time.monotonic(), data, text,
                                     secret=secret))

    def record_sent(self, wire: bytes) -> None:
        """A transcript entry for message data already written."""
        text = wire.decode("utf-8", "replace").replace("\r\n", "\n").removesuffix("\n")
        self.transcript.append(Entry(Direction.CLIENT, time.monotonic(), wire, text))

    def data_report(self, stuffer: DotStuffer) -> None:
        parts = [f"message data: {stuffer.octets} octets"]
        if stuffer.bare_lf or stuffer.bare_cr:
            parts.append(f"{stuffer.bare_lf} bare LF and {stuffer.bare_cr} bare CR "
                         f"sent as CRLF (RFC 5321 §2.3.8)")
        if stuffer.long_lines:
            parts.append(f"{stuffer.long_lines} line(s) over 998 octets "
                         f"(RFC 5321 §4.5.3.1.6)")
        if stuffer.eight_bit:
            parts.append("8-bit data (needs 8BITMIME, RFC 6152)")
        self.note("; ".join(parts))

    # -- reading ----------------------------------------------------------------------

    def received(self, data: bytes) -> None:
        """Octets read from the peer (a non-empty read)."""
        for reply in self.parser.feed(data):
            self.record_reply(reply)

    def peer_closed(self, step: str) -> None:
        """The peer closed the connection (a read returned nothing). A final reply
        without its CRLF ("421 bye") is delivered and this returns; anything else
        raises ServerClosed naming what was cut short."""
        self.eof = True
        partial = self.parser.close()
        if partial is not None:
            if partial.code is not None and not unfinished(partial):
                self.record_reply(partial)
                return  # deliver it; the next read fails
            self.record_reply(partial, deliver=False)
            if partial.code is not None:
                n = len(partial.lines)
                reason = (f"connection closed in the middle of a multi-line reply after "
                          f"{n} line{'s' if n != 1 else ''}")
            else:
                reason = (f"server closed the connection in the middle of a reply: "
                          f"{printable(partial.raw)}")
            self.note(f"{step}: {reason}")
            raise ServerClosed(step, reason)
        self.note(f"{step}: the server closed the connection")
        raise ServerClosed(step, "server closed the connection")

    def read_failed(self, step: str, exc: OSError) -> ServerClosed:
        """The error for a read that failed (reset, ...); what came before is kept in
        the transcript but never delivered as a reply."""
        self.eof = True
        if type(exc).__name__.startswith("SSL"):
            reason = f"TLS error: {getattr(exc, 'reason', None) or exc}"
            self.note(f"{step}: {reason}")
            return ServerClosed(step, reason)
        reason = os_reason(exc)
        partial = self.parser.close()
        if partial is not None:
            self.record_reply(partial, deliver=False)
            n = len(partial.lines)
            reason += f" in the middle of a reply after {n} line{'s' if n != 1 else ''}"
        self.note(f"{step}: {reason}")
        return ServerClosed(step, reason)

    def reply_timeout(self, step: str, timeout: float) -> StepTimeout:
        reason = f"timed out after {format_seconds(timeout)} s waiting for the server"
        if self.parser.has_partial:
            reason += " (a reply had started but was not finished)"
        self.note(f"{step}: {reason}")
        return StepTimeout(step, reason)

    def write_timeout(self, step: str, timeout: float) -> StepTimeout:
        reason = f"timed out after {format_seconds(timeout)} s: the server stopped reading"
        self.note(f"{step}: {reason}")
        return StepTimeout(step, reason)

    def write_failed(self, step: str, exc: OSError) -> ServerClosed:
        self.eof = True
        reason = (f"TLS error: {getattr(exc, 'reason', None) or exc}"
                  if type(exc).__name__.startswith("SSL") else os_reason(exc))
        self.note(f"{step}: {reason}")
        return ServerClosed(step, reason)

    def record_reply(self, reply: Reply, *, deliver: bool = True) -> None:
        now = time.monotonic()
        # While message data streams, a reply is the server refusing the message early
        # (552 too big, 554): the answer to the data, not an unsolicited one.
        unsolicited = not self.awaiting and not self.tracker.sending_data
        latency = now - self.awaiting.popleft() if self.awaiting else None
        self.transcript.append(Entry(
            Direction.SERVER, now, reply.raw, reply.text, reply=reply,
            diagnostics=reply.diagnostics, latency=latency,
        ))
        if unsolicited and self.strict_replies and deliver and self.unsolicited is None:
            # RFC 5321 §4.1.1: replies answer commands. Taking this one as the reply to
            # the next command would shift every later reply onto the wrong command, so
            # the next step fails instead (after TURN these are the remote's lines).
            self.note("unsolicited reply: no command was waiting for it")
            self.unsolicited = reply
        if deliver:
            self.replies.append(reply)

    def refuse_unsolicited(self, step: str) -> None:
        reply = self.unsolicited
        if reply is not None:
            first = reply.raw.split(b"\n", 1)[0].removesuffix(b"\r")
            raise ProtocolViolation(
                step, f'the server sent a reply no command was waiting for ("{printable(first)}"); '
                      "later replies could be matched to the wrong commands, so the session "
                      "cannot be trusted (RFC 5321 §4.1.1)")

    def take_reply(self, step: str) -> Reply:
        """The next delivered reply (one must be there), checked and given to the tracker."""
        reply = self.replies.popleft()
        check_reply(step, reply)
        self.tracker.reply_received(reply)
        return reply

    def salvage(self, data: bytes) -> Reply | None:
        """A reply the server sent before the connection broke, from the octets the
        driver could still take (None when there is none)."""
        if data:
            self.received(data)
        if not self.replies:
            return None
        reply = self.replies.popleft()
        if reply.code is None:
            return None
        self.tracker.reply_received(reply)
        return reply

    # -- writing ----------------------------------------------------------------------

    def prepare_line(self, line: str, *, secret: bool = False
                     ) -> tuple[bytes, str, bool, bool]:
        """What one line about to be sent is: (wire octets, the step it names in errors,
        whether it is secret, whether it is message text). Raises ValueError for CR/LF
        in it, ProtocolViolation when an unsolicited reply is pending."""
        if "\r" in line or "\n" in line:
            raise ValueError("a command line cannot contain CR or LF")
        data = line.encode("utf-8", "surrogateescape") + b"\r\n"
        in_data = self.tracker.sending_data
        # After a 334 every line is a SASL response (RFC 4954 §4): the core decides.
        secret = secret or is_secret_line(line, self.tracker.state is State.AUTH)
        verb = line.split(" ", 1)[0].upper()
        if not self.awaiting:
            self.refuse_unsolicited(verb or "command")
        if in_data:
            step = "message data"
        elif secret and (self.tracker.state is State.AUTH or verb not in COMMANDS):
            step = self.last_verb  # a SASL response: never name a step after a secret
        else:
            step = verb or "command"
            self.last_verb = step
            if step in ("EHLO", "HELO", "LHLO"):
                self.hello_line = line
        return data, step, secret, in_data

    def line_sent(self, line: str, data: bytes, *, secret: bool, in_data: bool) -> None:
        """The line of :meth:`prepare_line` was handed to the transport."""
        self.record_line(data, line, secret=secret)
        self.tracker.command_sent(line)  # in DATA, "." is the end of data for the tracker
        if not in_data or line == ".":
            self.awaiting.append(time.monotonic())

    def bdat_sent(self, line: str, data: bytes) -> None:
        """``BDAT <size> [LAST]`` was written: recorded and awaited (the chunk follows)."""
        self.record_line(data, line)
        self.last_verb = "BDAT"
        self.tracker.command_sent(line)
        self.awaiting.append(time.monotonic())

    def end_of_data(self) -> None:
        """The end marker was written: recorded; the tracker leaves the DATA state."""
        self.record_line(b".\r\n", ".")
        self.tracker.data_finished()
        self.awaiting.append(time.monotonic())

    # -- TLS ---------------------------------------------------------------------------

    def data_before_handshake(self, buffered: bool) -> bool:
        """Anything the server sent after its 220 and before the handshake would be read
        as if it came over TLS (CVE-2011-0411-style injection)."""
        return bool(self.replies or self.unsolicited is not None or self.parser.has_partial
                    or buffered)

    def injection_refused(self) -> ProtocolViolation:
        self.note("STARTTLS: data after the 220 reply, before the TLS handshake")
        return ProtocolViolation(
            "starttls", "the server sent data after its 220 reply, before the TLS "
                        "handshake (possible injection); connection closed")

    def tls_established(self) -> None:
        """RFC 3207 §4.2: forget everything learnt before TLS; a fresh parser too."""
        self.parser = new_parser()
        self.replies.clear()
        self.tracker.tls_established()

    def reconnected(self) -> None:
        """A new connection replaces the old one (the insecure STARTTLS fallback)."""
        self.eof = False
        self.parser = new_parser()
        self.replies.clear()
        self.awaiting.clear()
        self.unsolicited = None
        self.tracker = SessionTracker()


def note_to(transcript: Transcript, text: str) -> None:
    transcript.append(Entry(Direction.NOTE, time.monotonic(), b"", text))


def check_reply(step: str, reply: Reply) -> None:
    """A reply without a code is garbage, not a reply; a reply whose lines carry
    different codes (``250-a`` then ``550 b``) says two things at once, and taking either
    would be a guess (RFC 5321 §4.2.1: every line has the same code): ProtocolViolation."""
    if reply.code is None:
        first = reply.raw.split(b"\n", 1)[0].removesuffix(b"\r")
        more = " ..." if b"\n" in reply.raw.rstrip(b"\r\n") else ""
        raise ProtocolViolation(step, f'not an SMTP reply: "{printable(first)}"{more}')
    if len(reply.lines) > 1:
        raw = reply.raw
        head = raw[:3]
        after = raw.count(b"\n") - raw.endswith(b"\n")  # lines that follow a LF
        if head.isdigit() and raw.count(b"\n" + head) == after:
            return  # every line starts with the first line's code (checked at C speed)
        codes = list(dict.fromkeys(
            line[:3] for line in reply.raw.split(b"\n") if line[:3].isdigit()))
        if len(codes) > 1:
            shown = " then ".join(c.decode("ascii") for c in codes[:3])
            raise ProtocolViolation(step, f"the lines of the reply carry different codes "
                                          f"({shown}): RFC 5321 §4.2.1 wants one code per "
                                          "reply, so what the server meant is unknown")


class DataCapture:
    """Keeps the first DATA_TRANSCRIPT_LIMIT octets of message data as transcript
    entries cut at line ends, so an export shows whole ``C:`` lines."""

    __slots__ = ("_conn", "_held", "kept", "skipped")

    def __init__(self, conn: ClientConnection) -> None:
        self._conn = conn
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
            self._conn.record_sent(data[:cut])
        self._held = data[cut:]

    def flush(self) -> None:
        if self._held:
            self._conn.record_sent(self._held)
            self._held = b""
