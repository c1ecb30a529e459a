"""The session transcript: every line each way, plus local events, in order.

The transcript is the source of truth that front ends render and that users export to
share a session. Export follows the notations of the RFCs themselves -- RFC 5321's
``C:``/``S:`` (client/server) and RFC 821's ``S:``/``R:`` (sender-SMTP/receiver-SMTP) --
so an exported session reads like the examples in the standards. Secret entries (SASL
responses) are masked in every export: a transcript must be safe to paste.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Iterator, Sequence

from smtptui.core.diagnostics import Diagnostic
from smtptui.core.frozen import frozen
from smtptui.core.text import printable

TYPE_CHECKING = False  # typing is for type checkers: not imported at start-up
if TYPE_CHECKING:
    from typing import Any, Literal, overload

    from smtptui.core.replies import Reply

    Notation = Literal["rfc5321", "rfc821"]
else:
    Notation = str  # an annotation alias: the two notations are checked where used

__all__ = ["Direction", "Entry", "Notation", "Transcript", "entry_lines", "entry_record",
           "escape_bytes", "hide_tokens", "mask", "script_lines", "secret_tokens"]


class Direction(str, enum.Enum):
    """Who an entry comes from; the value is the RFC 5321 transcript prefix."""

    CLIENT = "C"
    SERVER = "S"
    NOTE = "*"   # a local event: TLS established, timeout, connection lost, ...

    def __str__(self) -> str:
        return self.value


# RFC 821 Appendix F writes S: for the sender-SMTP (our client) and R: for the receiver.
_PREFIXES: dict[str, dict[Direction, str]] = {
    "rfc5321": {Direction.CLIENT: "C: ", Direction.SERVER: "S: ", Direction.NOTE: "* "},
    "rfc821": {Direction.CLIENT: "S: ", Direction.SERVER: "R: ", Direction.NOTE: "* "},
}


@frozen
class Entry:
    """One thing that happened: a line (or reply, or data chunk) sent or received.

    ``text`` is the entry as shown, protocol lines separated by "\\n", without CRLF.
    ``raw`` is the exact bytes on the wire. ``timestamp`` is ``time.monotonic()``;
    ``latency`` (replies) is seconds since the command it answers was sent.
    """

    direction: Direction
    timestamp: float
    raw: bytes
    text: str
    reply: Reply | None = None
    diagnostics: tuple[Diagnostic, ...] = ()
    secret: bool = False
    latency: float | None = None

    @property
    def code(self) -> int | None:
        return self.reply.code if self.reply is not None else None


_AUTH_LINE = re.compile(r"(?i)(AUTH[ \t]+[A-Z0-9_-]{1,40})(?:[ \t].*)?")


def mask(entry: Entry) -> str:
    """What an export shows instead of a secret entry's text.

    An ``AUTH PLAIN <initial-response>`` line keeps its verb and mechanism (they are not
    secret and tell the reader what happened); everything else is replaced whole.
    """
    first = entry.text.split("\n", 1)[0]
    m = _AUTH_LINE.fullmatch(first)
    if m is not None and "\n" not in entry.text:
        if len(first) > len(m.group(1)):
            return f"{m.group(1)} <secret: initial response hidden>"
        return m.group(1)
    return "<secret: AUTH response hidden>"


# For raw bytes (decoded as Latin-1): every octet that is not printable ASCII.
_BYTE_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0x100))}
_BYTE_ESCAPES.update({ord("\\"): "\\\\", ord("\r"): "\\r", ord("\n"): "\\n",
                      ord("\t"): "\\t"})


def escape_bytes(raw: bytes) -> str:
    r"""``raw`` as printable ASCII: \r \n \t \\ and \xNN escapes (Python's notation)."""
    return raw.decode("latin-1").translate(_BYTE_ESCAPES)


def secret_tokens(entry: Entry) -> tuple[str, ...]:
    """What of a secret entry identifies the secret (the SASL response, the initial
    response; not "AUTH" or the mechanism): hidden wherever it appears again, since
    servers echo what they did not understand, in any later reply."""
    if not entry.secret:
        return ()
    words = entry.text.split()
    if words and words[0].upper() == "AUTH":
        words = words[2:]
    return tuple(w for w in words if len(w) >= 4)


def hide_tokens(text: str, tokens: Iterable[str]) -> str:
    """``text`` with every occurrence of each token (any case) replaced by <secret>."""
    for token in tokens:
        if token.lower() in text.lower():
            text = re.sub(re.escape(token), "<secret>", text, flags=re.IGNORECASE)
    return text


def entry_lines(entry: Entry, notation: Notation = "rfc5321",
                tokens: Iterable[str] = ()) -> list[str]:
    """One entry as prefixed transcript lines (``C: ...``, ``S: ...``, ``* ...``), secrets
    masked (``tokens``: secrets sent earlier, hidden if this entry repeats them) and
    control characters escaped: what ``to_text`` writes for it. Autosave appends these
    as each entry happens."""
    prefixes = _PREFIXES.get(notation)
    if prefixes is None:
        raise ValueError(f"unknown transcript notation {notation!r} "
                         "(expected 'rfc5321' or 'rfc821')")
    prefix = prefixes[entry.direction]
    return [prefix + line for line in _display_lines(entry, tokens)]


def script_lines(entry: Entry, tokens: Iterable[str] = ()) -> list[str]:
    """One entry as lines of a replayable ``.smtp`` script: ``C:``/``S:`` lines, secrets
    masked (``tokens``: secrets sent earlier, hidden if repeated, e.g. a transcript's
    ``secrets``), a local note as a ``#`` comment (``smtptui run`` skips it). What
    autosave appends and the shell's pipe mode and ``/save`` write."""
    lines = entry_lines(entry, tokens=tokens)
    if entry.direction is Direction.NOTE:
        lines = ["# " + line for line in lines]
    return lines


def _display_lines(entry: Entry, tokens: Iterable[str] = ()) -> list[str]:
    if entry.secret:
        return [mask(entry)]
    text = entry.text
    if (entry.reply is not None or not text) and entry.raw:
        # A reply is shown exactly as received, codes and all (one S: line per line).
        text = entry.raw.decode("utf-8", "replace").removesuffix("\n").removesuffix("\r")
    if tokens:
        text = hide_tokens(text, tokens)
    # Control and format characters would act on the terminal that shows an exported
    # file (escape sequences, bidi overrides): written escaped, tabs kept.
    return [printable(line.removesuffix("\r"), None, backslash=False, keep="\t")
            for line in text.split("\n")]


def entry_record(entry: Entry, start: float = 0.0,
                 tokens: Iterable[str] = ()) -> dict[str, Any]:
    """One entry as a JSON-ready dict (``t``: seconds since ``start``), secrets masked in
    both text and raw (``tokens``: secrets sent earlier, hidden if repeated): what
    ``to_records`` gives per entry, for streaming exports."""
    if entry.secret:
        text = raw = mask(entry)
    else:
        text = hide_tokens(entry.text, tokens)
        raw = hide_tokens(escape_bytes(entry.raw), tokens)
    return {
        "direction": entry.direction.value,
        "t": round(entry.timestamp - start, 6),
        "text": text,
        "raw": raw,
        "code": entry.code,
        "diagnostics": [d.to_dict() for d in entry.diagnostics],
        "secret": entry.secret,
        "latency": None if entry.latency is None else round(entry.latency, 6),
    }


class Transcript(Sequence[Entry]):
    """An append-only list of entries with RFC-notation and JSON export.

    It is a ``Sequence``: ``transcript[-1]``, ``transcript[n:]`` (entries added since a
    front end last looked), ``len(transcript)``, iteration.
    """

    __slots__ = ("_entries", "_listeners", "_tokens")

    def __init__(self, entries: Sequence[Entry] = ()) -> None:
        self._entries: list[Entry] = []
        self._listeners: list[Callable[[Entry], None]] = []
        self._tokens: tuple[str, ...] = ()
        for entry in entries:
            self.append(entry)

    def append(self, entry: Entry) -> None:
        self._entries.append(entry)
        if entry.secret:
            self._tokens += tuple(t for t in secret_tokens(entry) if t not in self._tokens)
        for listener in self._listeners:
            listener(entry)

    @property
    def secrets(self) -> tuple[str, ...]:
        """The secret tokens sent so far (see :func:`secret_tokens`), to hide elsewhere."""
        return self._tokens

    def extend(self, entries: Sequence[Entry]) -> None:
        for entry in entries:
            self.append(entry)

    def subscribe(self, listener: Callable[[Entry], None]) -> Callable[[], None]:
        """Call ``listener(entry)`` for every entry appended from now on (in order, at
        once); returns the function that unsubscribes. This is how a session layer
        streams entries to front ends without polling ``transcript[n:]``."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    @property
    def entries(self) -> tuple[Entry, ...]:
        """A snapshot of all entries (use slicing to get only the new ones cheaply)."""
        return tuple(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries)

    if TYPE_CHECKING:
        @overload
        def __getitem__(self, index: int) -> Entry: ...
        @overload
        def __getitem__(self, index: slice) -> list[Entry]: ...

    def __getitem__(self, index: int | slice) -> Entry | list[Entry]:
        return self._entries[index]

    def _start(self) -> float:
        return self._entries[0].timestamp if self._entries else 0.0

    def to_text(self, notation: Notation = "rfc5321", *, timestamps: bool = False) -> str:
        """The session as the RFCs write it: one prefixed line per protocol line.

        ``rfc5321``: ``C:`` client, ``S:`` server. ``rfc821``: ``S:`` sender-SMTP (the
        client), ``R:`` receiver-SMTP. Local events are ``*`` lines. With
        ``timestamps`` each line starts with seconds since the first entry.
        """
        prefixes = _PREFIXES.get(notation)
        if prefixes is None:
            raise ValueError(f"unknown transcript notation {notation!r} "
                             "(expected 'rfc5321' or 'rfc821')")
        start = self._start()
        out: list[str] = []
        for entry in self._entries:
            prefix = prefixes[entry.direction]
            if timestamps:
                prefix = f"[{entry.timestamp - start:9.3f}] {prefix}"
            out.extend(prefix + line for line in _display_lines(entry, self._tokens))
        return "\n".join(out) + ("\n" if out else "")

    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per entry; secrets masked in both text and raw."""
        start = self._start()
        return [entry_record(entry, start, self._tokens) for entry in self._entries]

    def to_json(self, *, indent: int | None = 2) -> str:
        """The transcript as a JSON array (see ``to_records`` for the fields)."""
        import json  # here: a probe or a send that prints no JSON never needs it

        return json.dumps(self.to_records(), indent=indent, ensure_ascii=False)
