"""SMTP replies and an incremental, sans-I/O reply parser.

The parser turns the bytes a server sends into :class:`Reply` values, whatever the
chunking. It never raises on server input: every deviation from RFC 5321 §4.2 (bad or
mixed codes, bare LF, missing space, over-long lines, invalid UTF-8, control characters)
becomes a :class:`~smtptui.core.diagnostics.Diagnostic` on the reply, because a teaching
client must show a broken server's reply *and* say what is wrong with it.

Memory is bounded: an over-long line is capped at ``max_line_length`` octets while it
streams in (the excess is discarded, never buffered), and a reply longer than
``max_reply_lines`` is cut and delivered; the rest of that reply is skipped.

Speed: the common case -- a long multi-line reply of clean ``NNN-text<CRLF>`` lines --
is consumed a whole chunk at a time by one compiled regular expression and one
``bytes.split``; per-line Python code runs only for the first and last line of a reply
and for lines that need a diagnostic.
"""

from __future__ import annotations

import re

from smtptui.core.diagnostics import Diagnostic, Severity
from smtptui.core.frozen import frozen

TYPE_CHECKING = False  # typing is for type checkers: not imported at start-up
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "MAX_REPLY_LINE",
    "Reply",
    "ReplyParser",
    "parse_enhanced",
    "parse_replies",
]

MAX_REPLY_LINE = 512
"""RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets including the code and CRLF."""
MAX_REPLY_OCTETS = 1024 * 1024
"""Octets of one reply kept by default: a hostile server's endless reply is read to its
end but only this much of it is held (a real EHLO of 10,000 keywords is ~120 KB)."""

# RFC 3463 §2 status-code = class "." subject "." detail; subject/detail 1*3digit, no
# leading zeros (the RFC's words), followed by white space or the end of the text.
_ENHANCED_RE = re.compile(r"([245])\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})(?=[ \t]|$)")
# Any d.d.d shape, to diagnose a class that does not match the reply code.
_ENHANCED_SHAPE_RE = re.compile(r"([0-9])\.([0-9]{1,3})\.([0-9]{1,3})(?=[ \t]|$)")

# Control characters other than HT (RFC 5321 textstring = 1*(%d09 / %d32-126)).
_CONTROL_RE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")

_CRLF = b"\r\n"

# Skips the remaining continuation lines of a reply that was cut at max_reply_lines.
# Octets allowed in reply text on the bulk path (ASCII; CR/LF and controls are not).
_ASCII_TEXT = b"\t" + bytes(range(0x20, 0x7F))

_SKIP_RE = re.compile(rb"(?:[^\n]{3}-[^\n]*\n)+")

# Bulk-path patterns by (code octets, max text width): at most 1000 x a few entries.
_FAST_CACHE: dict[tuple[bytes, int], re.Pattern[bytes]] = {}
_ONE_LINE_CACHE: dict[int, re.Pattern[bytes]] = {}
"""Per text width: a clean one-line reply (``250 ok``: a code of 2-5, 0-5, any digit, a
space, printable ASCII, CRLF) -- what the per-line checks would find nothing in."""


def parse_enhanced(text: str) -> str | None:
    """The RFC 3463 status code at the start of ``text`` ("5.1.1"), or None."""
    m = _ENHANCED_RE.match(text)
    return m.group(0) if m else None


@frozen
class Reply:
    """One complete SMTP reply (all lines of a multi-line reply)."""

    code: int | None
    """The reply code; None when no usable three-digit code could be read."""
    lines: tuple[str, ...]
    """Text after "NNN-"/"NNN " of each line, decoded as UTF-8 (errors replaced), no CRLF."""
    raw: bytes
    """The exact bytes received (for a capped line: the bytes kept)."""
    enhanced: str | None = None
    """RFC 3463 status code at the start of the first line, if its class matches."""
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def klass(self) -> int | None:
        """The first digit of the code (what clients MUST act on, RFC 5321 §4.2.1)."""
        return None if self.code is None else self.code // 100

    @property
    def is_multiline(self) -> bool:
        return len(self.lines) > 1

    @property
    def is_positive(self) -> bool:
        return self.code is not None and 200 <= self.code < 400

    @property
    def is_transient(self) -> bool:
        return self.code is not None and 400 <= self.code < 500

    @property
    def is_permanent(self) -> bool:
        return self.code is not None and 500 <= self.code < 600

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.diagnostics)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (raw bytes as latin-1 text, so every byte survives)."""
        return {
            "code": self.code,
            "enhanced": self.enhanced,
            "lines": list(self.lines),
            "raw": self.raw.decode("latin-1"),
            "diagnostics": [d.to_dict() for d in self.diagnostics],
        }

    @classmethod
    def from_text(cls, text: str) -> Reply:
        """Parse one reply written as text: lines separated by "\\n" (a CR before it is
        optional), e.g. ``Reply.from_text("250-a\\n250 b")``.

        Raises ValueError when the text is empty or holds more than one reply.
        """
        replies = parse_replies(_text_to_wire(text))
        if not replies:
            raise ValueError("no reply in the text")
        if len(replies) > 1:
            raise ValueError(
                f"the text holds {len(replies)} replies, not one "
                f"(line {len(replies[0].lines) + 1} starts a new reply)"
            )
        return replies[0]


def _text_to_wire(text: str) -> bytes:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return b"".join(
        (line.removesuffix("\r")).encode("utf-8", "surrogateescape") + b"\r\n"
        for line in lines
    )


def parse_replies(data: bytes) -> list[Reply]:
    """Every reply in ``data`` (a complete transcript of server output), including a
    trailing partial one."""
    parser = ReplyParser()
    replies = parser.feed(data)
    last = parser.close()
    if last is not None:
        replies.append(last)
    return replies


# Diagnostic kinds: kind -> (severity, rule). Messages are built when a reply ends, so a
# problem repeated on 100,000 lines costs one diagnostic with a count, not 100,000.
_E, _W = Severity.ERROR, Severity.WARNING
_KINDS: dict[str, tuple[Severity, str]] = {
    "nocode": (_E, "RFC 5321 §4.2 Reply-line"),
    "range": (_E, "RFC 5321 §4.2 Reply-code"),
    "prelim": (_W, "RFC 5321 §4.2.1"),
    "second": (_W, "RFC 5321 §4.2 Reply-code"),
    "mixed": (_E, "RFC 5321 §4.2.1"),
    "nospace": (_E, "RFC 5321 §4.2 Reply-line"),
    "barelf": (_W, "RFC 5321 §2.3.8"),
    "long": (_W, "RFC 5321 §4.5.3.1.5"),
    "capped": (_W, "smtptui max_line_length"),
    "control": (_W, "RFC 5321 §4.2 textstring"),
    "nul": (_W, "RFC 5321 §4.2 textstring"),
    "utf8": (_W, "RFC 6531 §3.7.4"),
    "enhclass": (_W, "RFC 2034 §4; RFC 3463 §2"),
    "cut": (_W, "smtptui max_reply_size"),
    "noeol": (_W, "RFC 5321 §4.2 Reply-line"),
    "partial": (_E, "RFC 5321 §4.2.1"),
}


class _Issue:
    """The first occurrence of one kind of problem in a reply, and how often it recurred."""

    __slots__ = ("count", "end", "line", "message", "start")

    def __init__(self, line: int, start: int, end: int, message: str) -> None:
        self.line, self.start, self.end, self.message, self.count = line, start, end, message, 1


class ReplyParser:
    """Incremental reply parser: ``feed`` bytes as they arrive, get complete replies.

    ``max_line_length`` caps the octets kept of one line (without its line end);
    ``max_reply_lines`` caps the lines kept of one reply.
    """

    __slots__ = (
        "_code",
        "_dropped",
        "_fast",
        "_fast_head",
        "_fast_sep_s",
        "_fast_width",
        "_head",
        "_issues",
        "_last",
        "_pending",
        "_raw",
        "_size",
        "_skipped_lines",
        "_skipped_octets",
        "_skipping",
        "_texts",
        "max_line_length",
        "max_reply_lines",
        "max_reply_octets",
    )

    def __init__(self, max_line_length: int = 8192, max_reply_lines: int = 100_000,
                 max_reply_octets: int = MAX_REPLY_OCTETS) -> None:
        if max_line_length < 16:
            raise ValueError("max_line_length must be at least 16")
        if max_reply_lines < 1:
            raise ValueError("max_reply_lines must be at least 1")
        if max_reply_octets < max_line_length:
            raise ValueError("max_reply_octets must be at least max_line_length")
        self.max_line_length = max_line_length
        self.max_reply_lines = max_reply_lines
        self.max_reply_octets = max_reply_octets
        self._pending = b""      # the incomplete last line (at most max_line_length + 1 octets)
        self._dropped = 0        # octets discarded from the incomplete line (0: not capping)
        self._last = b""         # the last octet discarded (a CR may precede the LF)
        self._skipping = False   # skipping the rest of a reply cut at a cap (still counted)
        self._reset_reply()

    def _reset_reply(self) -> None:
        self._raw: list[bytes] = []
        self._texts: list[str] = []
        self._code: int | None = None
        self._head: bytes | None = None  # the first line's three code octets
        self._issues: dict[str, _Issue] = {}
        self._size = 0            # octets kept of this reply (raw, line ends included)
        self._skipped_lines = 0   # lines read and discarded after the reply was cut
        self._skipped_octets = 0
        self._fast: re.Pattern[bytes] | None = None
        self._fast_sep_s = ""
        self._fast_head = b""
        self._fast_width = 0

    @property
    def has_partial(self) -> bool:
        """True while part of a reply has been received but not its final line."""
        return bool(self._texts or self._pending or self._dropped)

    # -- input ----------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Reply]:
        """Consume ``data``; return the replies it completes (possibly none)."""
        out: list[Reply] = []
        if not data:
            return out
        data = bytes(data)
        if self._dropped:
            # Still inside an over-long line: discard up to its line end.
            i = data.find(b"\n")
            if i < 0:
                self._dropped += len(data)
                self._last = data[-1:]
                return out
            crlf = (data[i - 1 : i] if i else self._last) == b"\r"
            dropped = self._dropped + i - crlf
            line = self._pending
            self._pending, self._dropped, self._last = b"", 0, b""
            self._take_line(line, dropped, out, eol=b"\r\n" if crlf else b"\n")
            data = data[i + 1 :]
        buf = self._pending + data if self._pending else data
        end = buf.rfind(b"\n") + 1
        if end:
            self._lines(buf, end, 0, out)
            rest = buf[end:]
        else:
            rest = buf
        if len(rest) > self.max_line_length + 1:
            self._pending = rest[: self.max_line_length]
            self._dropped = len(rest) - self.max_line_length
            self._last = rest[-1:]
        else:
            self._pending = rest
        return out

    def close(self) -> Reply | None:
        """End of input: the unfinished reply, if any, with a diagnostic; then reset."""
        out: list[Reply] = []
        if self._pending or self._dropped:
            line = self._pending
            dropped = self._dropped
            if dropped and self._last == b"\r":
                dropped -= 1
            self._pending, self._dropped, self._last = b"", 0, b""
            if self._skipping:
                self._skipped_lines += 1
                self._skipped_octets += len(line) + dropped
            else:
                self._issue("noeol", len(self._texts) + 1, len(line), len(line),
                            "the last line has no line end (the connection closed)")
                self._take_line(line, dropped, out, eol=b"")
        if out:
            self._skipping = False
            return out[0]
        if self._texts:
            n = len(self._texts) + self._skipped_lines
            if self._skipping:
                self._cut_issue()
            self._skipping = False
            self._issue("partial", n, 0, 0,
                        f"the connection closed in the middle of a reply ({n} line"
                        f"{'s' if n != 1 else ''} received, no final line)")
            return self._finish()
        self._skipping = False
        self._reset_reply()
        return None

    # -- line processing ------------------------------------------------------------------

    def _lines(self, buf: bytes, end: int, pos: int, out: list[Reply]) -> None:
        """Process the complete lines in ``buf[pos:end]`` (``end`` follows a LF)."""
        take = self._take_line
        bulk = True  # (A) is tried until it fails once: a retry would rescan the buffer
        while pos < end:
            if self._fast is not None:
                # (A) The whole rest is clean continuation lines of this reply: bulk checks.
                head = self._fast_head
                if (
                    bulk
                    and buf.startswith(head, pos)
                    and buf.startswith(head, max(pos, buf.rfind(b"\n", pos, end - 1) + 1))
                ):
                    bulk = False
                    r = buf[pos:end] if pos or end < len(buf) else buf
                    # What is not text octets must be exactly one CRLF per line: no control
                    # characters, no bare CR or LF; k is then the number of lines.
                    others = r.translate(None, _ASCII_TEXT)
                    k = len(others) >> 1
                    if others == _CRLF * k and r.endswith(_CRLF):
                        eol, sep = 2, self._fast_sep_s
                    else:  # all bare LF (diagnosed below), or not clean
                        k = len(others)
                        eol, sep = 1, self._fast_sep_s[1:]
                        if others != b"\n" * k:
                            k = self.max_reply_lines
                    if (len(self._texts) + k < self.max_reply_lines
                            and self._size + len(r) < self.max_reply_octets):
                        try:
                            text = r[4:-eol].decode("ascii")
                        except UnicodeDecodeError:
                            text = ""
                        parts = text.split(sep)
                        # k parts <=> every inner line end is followed by "NNN-" of this reply.
                        if len(parts) == k and max(map(len, parts)) <= self._fast_width:
                            if eol == 1:
                                n = len(self._texts) + 1
                                self._issue("barelf", n, len(parts[0]) + 4, len(parts[0]) + 4,
                                            "the line ends in a bare LF, not CRLF", k)
                            self._texts.extend(parts)
                            self._raw.append(r)
                            self._size += len(r)
                            return
                # (B) A run of clean continuation lines, then per-line code.
                m = self._fast.match(buf, pos, end)
                if m is not None:
                    e = m.end()
                    parts = None
                    if (len(self._texts) + buf.count(b"\n", pos, e) < self.max_reply_lines
                            and self._size + (e - pos) < self.max_reply_octets):
                        try:
                            parts = buf[pos + 4 : e - 2].decode("utf-8").split(self._fast_sep_s)
                        except UnicodeDecodeError:
                            pass
                    if parts is not None:
                        self._texts.extend(parts)
                        self._raw.append(buf[pos:e])
                        self._size += e - pos
                        pos = e
                    else:
                        # Invalid UTF-8, or the reply must be cut: line by line up to the
                        # cut; the skipping path below takes the rest in bulk.
                        while pos < e and not self._skipping:
                            nl = buf.index(b"\n", pos)
                            take(buf[pos:nl], 0, out)
                            pos = nl + 1
                    continue
            elif not self._texts and not self._skipping:
                # A clean one-line reply (most replies; a pipelined burst is thousands):
                # nothing for _take_line to check, so none of its work.
                width = min(MAX_REPLY_LINE - 2, self.max_line_length) - 4
                one = _ONE_LINE_CACHE.get(width)
                if one is None and width >= 0:
                    one = _ONE_LINE_CACHE[width] = re.compile(
                        rb"[2-5][0-5][0-9] [\x20-\x7e]{0,%d}\r\n" % width)
                m = one.match(buf, pos, end) if one is not None else None
                if m is not None:
                    e = m.end()
                    head = buf[pos:pos + 3]
                    self._code, self._head = int(head), head
                    self._texts.append(buf[pos + 4:e - 2].decode("ascii"))
                    self._raw.append(buf[pos:e])
                    self._size += e - pos
                    out.append(self._finish())
                    pos = e
                    continue
            elif self._skipping:
                m = _SKIP_RE.match(buf, pos, end)
                if m is not None:
                    self._skipped_lines += buf.count(b"\n", pos, m.end())
                    self._skipped_octets += m.end() - pos
                    pos = m.end()
                    continue
            nl = buf.index(b"\n", pos)
            take(buf[pos:nl], 0, out)
            pos = nl + 1

    def _take_line(self, line: bytes, dropped: int, out: list[Reply], eol: bytes | None = None) -> None:
        """One line without its LF. ``dropped``: content octets already discarded."""
        if self._skipping:
            self._skipped_lines += 1
            # ``line`` holds its CR unless the line end was passed separately (``eol``).
            self._skipped_octets += len(line) + dropped + (1 if eol is None else len(eol))
            if line[3:4] != b"-":
                # The final line of the cut reply: now it is complete.
                self._skipping = False
                self._cut_issue()
                out.append(self._finish())
            return
        n = len(self._texts) + 1
        bare_lf = False
        if eol is None:
            if line.endswith(b"\r"):
                content, eol = line[:-1], b"\r\n"
            else:
                content, eol, bare_lf = line, b"\n", True
        else:
            content, bare_lf = line, eol == b"\n"
        cap = self.max_line_length
        size = len(content) + dropped
        kept = min(size, cap)
        if bare_lf:
            self._issue("barelf", n, kept, kept, "the line ends in a bare LF, not CRLF")
        if size > MAX_REPLY_LINE - 2:
            self._issue("long", n, min(MAX_REPLY_LINE - 2, kept), kept,
                        f"the line is {size + 2} octets, over the {MAX_REPLY_LINE}-octet limit "
                        f"for reply lines")
        if size > cap:
            self._issue("capped", n, cap, cap,
                        f"the line is {size} octets; only the first {cap} were kept, "
                        f"{size - cap} discarded")
            content = content[:cap]
        head = content[:3]
        more = False
        if len(head) == 3 and head.isdigit():
            d0, d1 = head[0], head[1]
            code: int | None = int(head)
            if not 0x32 <= d0 <= 0x35:
                if d0 == 0x31:
                    self._issue("prelim", n, 0, 1,
                                f"{head.decode()}: 1yz (positive preliminary) replies are RFC 821 "
                                f"theory only; no SMTP command uses them (RFC 5321: first digit 2-5)")
                else:
                    code = None
                    self._issue("range", n, 0, 1,
                                f"{head.decode()} is not a reply code: the first digit must be "
                                f"2-5")
            if code is not None and d1 > 0x35:
                self._issue("second", n, 1, 2,
                            f"{head.decode()}: the second digit must be 0-5 (categories x0z-x5z)")
            sep = content[3:4]
            if sep == b"-":
                more, text = True, content[4:]
            elif sep == b" ":
                text = content[4:]
            elif not sep:
                text = b""
            else:
                text = content[3:]
                self._issue("nospace", n, 3, 4,
                            f"no space or hyphen after the code {head.decode()} "
                            f"(read as the last line of the reply)")
        else:
            code, text = None, content
            head = None  # type: ignore[assignment]
            self._issue("nocode", n, 0, min(3, len(content)),
                        "the line does not start with a three-digit reply code "
                        "(read as the last line of a reply)")
        m = _CONTROL_RE.search(content)
        if m is not None:
            c = m.start()
            if content[c] == 0:
                self._issue("nul", n, c, c + 1, f"NUL character at column {c}")
            else:
                self._issue("control", n, c, c + 1,
                            f"control character 0x{content[c]:02X} at column {c}")
        if self._texts:
            if head is not None and head != self._head:
                first = self._head.decode() if self._head else "(none)"
                this = head.decode() if head else "(none)"
                self._issue("mixed", n, 0, 3,
                            f"code {this} differs from the first line's {first} (kept {first})")
        else:
            self._code, self._head = code, head
        try:
            self._texts.append(text.decode("utf-8"))
        except UnicodeDecodeError:
            self._texts.append(text.decode("utf-8", "replace"))
            self._issue("utf8", n, 0, len(content), "the text is not valid UTF-8 (shown with U+FFFD)")
        self._raw.append(content + eol)
        self._size += len(content) + len(eol)
        if not more:
            out.append(self._finish())
        elif len(self._texts) >= self.max_reply_lines or self._size >= self.max_reply_octets:
            # Keep what we have; read and count the rest until the final line arrives.
            self._skipping = True
            self._fast = None
        elif self._fast is None and self._code is not None and self._head is not None:
            width = min(MAX_REPLY_LINE - 2, self.max_line_length) - 4
            key = (self._head, width)
            pat = _FAST_CACHE.get(key)
            if pat is None:
                pat = re.compile(
                    re.escape(self._head) + rb"-[\t\x20-\x7e\x80-\xff]{0,%d}\r\n" % width
                )
                pat = re.compile(b"(?:" + pat.pattern + b")+")
                _FAST_CACHE[key] = pat
            self._fast = pat
            self._fast_sep_s = "\r\n" + self._head.decode("ascii") + "-"
            self._fast_head = self._head + b"-"
            self._fast_width = width

    def _cut_issue(self) -> None:
        n = len(self._texts)
        self._issue("cut", n, 0, 0,
                    f"the reply was cut after {n} lines ({self._size} octets kept); "
                    f"{self._skipped_lines} more line{'s' if self._skipped_lines != 1 else ''} "
                    f"({self._skipped_octets} octets) were read and discarded")

    def _issue(self, kind: str, line: int, start: int, end: int, message: str,
               count: int = 1) -> None:
        issue = self._issues.get(kind)
        if issue is None:
            issue = self._issues[kind] = _Issue(line, start, end, message)
            issue.count = count
        else:
            issue.count += count

    def _finish(self) -> Reply:
        lines = tuple(self._texts)
        code = self._code
        enhanced = None
        if code is not None:
            m = _ENHANCED_RE.match(lines[0])
            if m is not None and int(m.group(1)) == code // 100:
                enhanced = m.group(0)
            else:
                s = _ENHANCED_SHAPE_RE.match(lines[0])
                if s is not None and code // 100 != 3:
                    self._issue("enhclass", 1, 4, 4 + s.end(),
                                f"{s.group(0)} is not a valid enhanced status code for a "
                                f"{code // 100}xx reply (class must be {code // 100}, no "
                                f"leading zeros)")
        diags = tuple(self._diagnostic(kind, issue) for kind, issue in self._issues.items())
        reply = Reply(code, lines, b"".join(self._raw), enhanced, diags)
        self._reset_reply()
        return reply

    @staticmethod
    def _diagnostic(kind: str, issue: _Issue) -> Diagnostic:
        severity, rule = _KINDS[kind]
        message = f"line {issue.line}: {issue.message}"
        if issue.count > 1:
            more = issue.count - 1
            message += f" (and {more} more line{'s' if more != 1 else ''})"
        return Diagnostic(severity, issue.start, issue.end, message, rule)
