"""The lesson model: plain frozen values built by :mod:`smtptui.teaching.loader`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from smtptui.core.script import Script

Lang = str
LEVELS = ("beginner", "intermediate", "advanced")
DIALECTS = ("rfc821", "rfc5321")
StepKind = Literal["greeting", "command", "data", "turn-greeting", "answer", "answer-data"]
"""What the learner does in a step:

- ``greeting``: nothing; the server speaks first (its greeting, pure observation);
- ``command``: type a command line; the server replies;
- ``data``: type the message lines, then ``.``; the server replies;
- ``turn-greeting``: after TURN, greet the remote as the receiver (``220 ...``);
- ``answer``: after TURN, the remote sends a command and the learner types the reply;
- ``answer-data``: after TURN, the remote sends a message and the learner replies.
"""

PLACEHOLDERS: Mapping[str, str] = {
    "domain": r"[^\s<>]+",
    "mailbox": r"[^\s<>@]+@[^\s<>@]+",
    "path": r"<[^\s<>]*>",
    "word": r"\S+",
    "text": r"[^\r\n]*",
}
"""``{name}`` in an ``accept`` pattern: what may stand there (the grammar checker still
judges the whole line first, so these only need to say where the learner is free)."""

_PLACEHOLDER_RE = re.compile(r"\{([a-z]+)\}")


@dataclass(frozen=True, slots=True)
class Localized:
    """One text in every language of its lesson."""

    texts: Mapping[Lang, str]

    def get(self, lang: Lang) -> str:
        """The text in ``lang``, else English, else any (the loader makes sure every
        language of the lesson is present, so the fallback only serves bad requests)."""
        return self.texts.get(lang) or self.texts.get("en") or next(iter(self.texts.values()))


@dataclass(frozen=True, slots=True)
class Pattern:
    """An ``accept`` pattern such as ``HELO {domain}``: literal text (compared without
    regard to case) with placeholders where the learner chooses."""

    written: str
    regex: re.Pattern[str]

    @classmethod
    def compile(cls, written: str) -> Pattern:
        """ValueError naming an unknown placeholder."""
        parts: list[str] = []
        pos = 0
        for m in _PLACEHOLDER_RE.finditer(written):
            name = m.group(1)
            if name not in PLACEHOLDERS:
                raise ValueError(f"unknown placeholder {{{name}}} (known: "
                                 + ", ".join("{" + k + "}" for k in PLACEHOLDERS) + ")")
            parts.append(re.escape(written[pos:m.start()]))
            parts.append(PLACEHOLDERS[name])
            pos = m.end()
        parts.append(re.escape(written[pos:]))
        return cls(written, re.compile("".join(parts), re.IGNORECASE))

    def matches(self, line: str) -> bool:
        return self.regex.fullmatch(line.strip()) is not None


@dataclass(frozen=True, slots=True)
class LessonStep:
    """One step. ``line`` is where its ``[[step]]`` header is in the lesson file."""

    number: int
    """1-based, as shown to the learner ("step 3 of 9")."""
    line: int
    kind: StepKind
    say: Localized
    hint: Localized | None = None
    explain: Localized | None = None
    send: str | None = None
    """The exact line the demo types and a second hint reveals."""
    accept: tuple[Pattern, ...] = ()
    """Other lines that pass (patterns); ``send`` always passes."""
    data: tuple[str, ...] = ()
    """``data`` steps: the message lines (``.`` is implied)."""
    server: tuple[str, ...] = ()
    """What the server (or after TURN, the remote) sends unprompted: the greeting, a
    command, or the message lines of ``answer-data``."""
    reply: tuple[str, ...] = ()
    """The reply expected from the server, as the RFCs print it (``x`` wildcards)."""
    match: Literal["code", "text"] = "code"
    broken: bool = False
    """The line breaks the grammar on purpose (to show the server's 500/501)."""
    session: int = 1

    @property
    def learner_types(self) -> bool:
        return self.kind != "greeting"

    @property
    def expected_code(self) -> str | None:
        return self.reply[0][:3] if self.reply else None

    @property
    def verb(self) -> str:
        """The verb of ``send`` for commands, the code for our replies after TURN."""
        if self.send is None:
            return ""
        return self.send.strip().split(" ", 1)[0].upper()

    def answer(self) -> tuple[str, ...]:
        """What the learner should type, line by line (the demo types exactly this)."""
        if self.kind == "data":
            return (*self.data, ".")
        return (self.send,) if self.send is not None else ()


@dataclass(frozen=True, slots=True)
class WorldSource:
    """The embedded server's world, still as data: the server layer builds it
    (``world_from_mapping(data, filename, text, base)``), so errors point into the
    file it was written in (the lesson itself, or its sibling world file)."""

    data: Mapping[str, Any]
    filename: str
    text: str
    base: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Lesson:
    id: str
    title: Localized
    summary: Localized
    level: str
    rfcs: tuple[str, ...]
    languages: tuple[Lang, ...]
    dialect: Literal["rfc821", "rfc5321"]
    steps: tuple[LessonStep, ...]
    world: WorldSource | None
    script: Script
    """The exchange as a core script: what ``smtptui run LESSON`` plays."""
    script_lines: Mapping[int, int]
    """Script line -> lesson file line, to report results where the teacher wrote them."""
    path: str
    real_server: bool = False
    """Whether the lesson makes sense against a real server (``smtptui lesson ID TARGET``)."""
    number: int | None = None
    """The catalogue position from the file name (``05-...toml``), if any."""

    @property
    def rfc_list(self) -> str:
        return ", ".join(self.rfcs)
