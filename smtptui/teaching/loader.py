"""Read a lesson file (TOML) into a :class:`~smtptui.teaching.model.Lesson`.

Every problem is a :class:`LessonError` whose text is ``file:line:column: problem``: a
teacher writing a lesson must see where to look, never a traceback. The file is data:
nothing in it is evaluated; a ``world = "FILE"`` reference may only name a file in the
lesson's own directory (or below it).

The format is documented with a complete example in ``lessons/README.md``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from smtptui.core.grammar import check
from smtptui.core.script import ScriptError, parse
from smtptui.core.text import printable
from smtptui.core.tomlkeys import locate_key_column, toml_error_position
from smtptui.teaching.model import (
    DIALECTS,
    LEVELS,
    Lesson,
    LessonStep,
    Localized,
    Pattern,
    StepKind,
    WorldSource,
)

__all__ = ["LessonError", "load_lesson", "parse_lesson"]

LESSON_KEYS = ("id", "title", "summary", "level", "rfcs", "languages", "dialect",
               "real_server", "world", "match")
STEP_KEYS = ("say", "hint", "explain", "send", "accept", "data", "server", "reply",
             "match", "broken")
TOP_KEYS = ("lesson", "world", "step")
MAX_FILE_OCTETS = 1024 * 1024
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_LANG_RE = re.compile(r"^[a-z]{2,3}$")
_NUMBER_RE = re.compile(r"^([0-9]{1,3})-")
_REPLY_RE = re.compile(r"^[1-5][0-9]{2}(?:[ -]|$)")
_WORLD_ERROR_RE = re.compile(r"^(?P<file>.*?):(?P<line>[0-9]+): (?P<problem>.*)$", re.DOTALL)

WorldCheck = Callable[[WorldSource], object]
"""Builds the world from its data and raises ValueError (``file:line: problem``) if it is
wrong; the server layer provides it (``world_from_mapping``), the loader only calls it."""


class LessonError(ValueError):
    """A bad lesson: ``str()`` is ``file:line:column: problem``."""

    def __init__(self, filename: str, line: int, column: int, problem: str) -> None:
        super().__init__(filename, line, column, problem)
        self.filename, self.line, self.column, self.problem = filename, line, column, problem

    def __str__(self) -> str:
        # One line, whatever the file held: the core's one escaping function.
        return (f"{self.filename}:{self.line}:{self.column}: "
                f"{printable(self.problem, None, backslash=False)}")


def _typename(v: Any) -> str:
    return {str: "a string", int: "an integer", bool: "true/false", list: "a list",
            dict: "a table", float: "a number"}.get(type(v), type(v).__name__)


def _show_path(path: tuple[str | int, ...]) -> str:
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p + 1}]" if out == "step" else f"[{p}]"
        else:
            shown = p if re.fullmatch(r"[A-Za-z0-9_-]+", p) else repr(p)
            out += ("." if out else "") + shown
    return out


class _Reader:
    """Validation helpers that know where each key is written."""

    def __init__(self, filename: str, text: str) -> None:
        self.filename, self.text = filename, text
        self._lines = text.splitlines()

    def where(self, path: tuple[str | int, ...]) -> tuple[int, int]:
        return locate_key_column(self.text, path)

    def value_column(self, path: tuple[str | int, ...]) -> tuple[int, int]:
        """(line, column) of the first character inside a one-line string value."""
        line, col = self.where(path)
        if 0 < line <= len(self._lines):
            s = self._lines[line - 1]
            eq = s.find("=", col - 1)
            if eq != -1:
                rest = s[eq + 1:]
                k = len(rest) - len(rest.lstrip())
                quote = rest[k:k + 1]
                return line, eq + 2 + k + (1 if quote in ('"', "'") else 0)
        return line, col

    def fail(self, path: tuple[str | int, ...], problem: str, *,
             at: tuple[int, int] | None = None) -> LessonError:
        line, col = at or self.where(path)
        name = _show_path(path)
        return LessonError(self.filename, line, col, f"{name}: {problem}" if name else problem)

    def want(self, path: tuple[str | int, ...], v: Any, kind: type, what: str) -> Any:
        if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
            raise self.fail(path, f"expected {what}, got {_typename(v)}")
        return v

    def strings(self, path: tuple[str | int, ...], v: Any, *, lines: bool = True) -> tuple[str, ...]:
        self.want(path, v, list, "a list of strings")
        for i, item in enumerate(v):
            self.want(path + (i,), item, str, "a string")
            if lines and ("\n" in item or "\r" in item):
                raise self.fail(path + (i,), "one line per string (no line breaks)")
        return tuple(v)

    def keys(self, path: tuple[str | int, ...], table: Mapping[str, Any],
             known: tuple[str, ...]) -> None:
        for key in table:
            if key not in known:
                raise self.fail(path + (key,), "unknown key; known keys: " + ", ".join(known))


def load_lesson(path: str | Path, *, check_world: WorldCheck | None = None) -> Lesson:
    """Read and validate a lesson file; LessonError for every problem."""
    p = Path(path)
    name = str(path)
    try:
        with open(p, "rb") as f:  # a device such as /dev/zero has no size: read at most
            data = f.read(MAX_FILE_OCTETS + 1)
        if len(data) > MAX_FILE_OCTETS:
            raise LessonError(name, 1, 1, f"larger than {MAX_FILE_OCTETS} octets")
    except OSError as exc:
        raise LessonError(name, 1, 1, f"cannot read the lesson: {exc.strerror or exc}") from None
    text = _decode(name, data)
    return parse_lesson(text, name, p.resolve().parent, check_world=check_world,
                        number=_number_from(p.name))


def _number_from(filename: str) -> int | None:
    m = _NUMBER_RE.match(filename)
    return int(m.group(1)) if m else None


def _decode(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        raise LessonError(name, line, col, "not valid UTF-8") from None


def parse_lesson(text: str, filename: str = "<lesson>", base_dir: Path | None = None, *,
                 check_world: WorldCheck | None = None, number: int | None = None) -> Lesson:
    """Validate a lesson's TOML text. ``base_dir`` is where a ``world = "FILE"`` is
    looked up (None: the lesson may not refer to a world file)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, col, message = toml_error_position(exc)
        raise LessonError(filename, line, col, f"invalid TOML: {message}") from None
    r = _Reader(filename, text)
    r.keys((), doc, TOP_KEYS)
    if "lesson" not in doc:
        raise LessonError(filename, 1, 1, "missing the [lesson] table (id, title, ...)")
    head = r.want(("lesson",), doc["lesson"], dict, "a table")
    r.keys(("lesson",), head, LESSON_KEYS)
    for need in ("id", "title", "summary", "level", "rfcs", "languages"):
        if need not in head:
            raise r.fail(("lesson",), f"missing key {need!r}")
    lesson_id = r.want(("lesson", "id"), head["id"], str, "a string")
    if not _ID_RE.match(lesson_id):
        raise r.fail(("lesson", "id"), f"{lesson_id!r} is not an id (letters, digits, "
                     "'.', '_' and '-', at most 64)")
    languages = r.strings(("lesson", "languages"), head["languages"])
    if not languages:
        raise r.fail(("lesson", "languages"), "name at least one language, e.g. [\"en\", \"ja\"]")
    for i, lang in enumerate(languages):
        if not _LANG_RE.match(lang):
            raise r.fail(("lesson", "languages", i), f"{lang!r} is not a language code like 'en'")
    if len(set(languages)) != len(languages):
        raise r.fail(("lesson", "languages"), "a language is listed twice")

    def localized(path: tuple[str | int, ...], v: Any) -> Localized:
        r.want(path, v, dict, "a table of translations like { en = \"...\", ja = \"...\" }")
        for lang, t in v.items():
            if lang not in languages:
                raise r.fail(path + (lang,), f"language {lang!r} is not one of the lesson's "
                             f"languages ({', '.join(languages)})")
            r.want(path + (lang,), t, str, "a string")
            if not t.strip():
                raise r.fail(path + (lang,), "empty text")
        for lang in languages:
            if lang not in v:
                raise r.fail(path, f"missing the {lang!r} translation")
        return Localized(MappingProxyType({lang: v[lang].strip() for lang in languages}))

    title = localized(("lesson", "title"), head["title"])
    summary = localized(("lesson", "summary"), head["summary"])
    level = r.want(("lesson", "level"), head["level"], str, "a string")
    if level not in LEVELS:
        raise r.fail(("lesson", "level"), f"must be one of {', '.join(LEVELS)}")
    rfcs = r.strings(("lesson", "rfcs"), head["rfcs"])
    if not rfcs:
        raise r.fail(("lesson", "rfcs"), "name the RFC sections the lesson teaches")
    dialect = r.want(("lesson", "dialect"), head.get("dialect", "rfc5321"), str, "a string")
    if dialect not in DIALECTS:
        raise r.fail(("lesson", "dialect"), f"must be one of {', '.join(DIALECTS)}")
    real_server = r.want(("lesson", "real_server"), head.get("real_server", False), bool,
                         "true or false")
    default_match = _match(r, ("lesson", "match"), head.get("match", "code"))
    world = _world(r, doc, head, base_dir, filename)
    if world is not None and check_world is not None:
        _check_world(world, check_world)

    if "step" not in doc:
        raise LessonError(filename, 1, 1, "no steps: add [[step]] tables")
    raw_steps = r.want(("step",), doc["step"], list, "a list of [[step]] tables")
    if not raw_steps:
        raise r.fail(("step",), "no steps")
    steps = _steps(r, raw_steps, localized, dialect, default_match)
    script, line_map = _to_script(r, steps)
    return Lesson(
        id=lesson_id, title=title, summary=summary, level=level, rfcs=rfcs,
        languages=languages, dialect=dialect, steps=steps, world=world,  # type: ignore[arg-type]
        script=script, script_lines=MappingProxyType(line_map), path=filename,
        real_server=real_server, number=number)


def _match(r: _Reader, path: tuple[str | int, ...], v: Any) -> str:
    r.want(path, v, str, "a string")
    if v not in ("code", "text"):
        raise r.fail(path, "must be 'code' (compare reply codes) or 'text' (codes and text)")
    return v


# --------------------------------------------------------------------------- the world


def _world(r: _Reader, doc: Mapping[str, Any], head: Mapping[str, Any],
           base_dir: Path | None, filename: str) -> WorldSource | None:
    if "world" in doc and "world" in head:
        raise r.fail(("lesson", "world"), "the world is given twice (here and as [world])")
    if "world" in doc:
        r.want(("world",), doc["world"], dict, "a table")
        return WorldSource(MappingProxyType(doc["world"]), filename, r.text, ("world",))
    if "world" not in head:
        return None
    ref = r.want(("lesson", "world"), head["world"], str, "a file name")
    at = r.value_column(("lesson", "world"))
    if base_dir is None:
        raise r.fail(("lesson", "world"), "this lesson has no directory to read a world "
                     "file from; put the world inline as [world]", at=at)
    rel = Path(ref)
    if rel.is_absolute() or not ref or ".." in rel.parts or ref.startswith("~"):
        raise r.fail(("lesson", "world"), f"{ref!r}: a world file must be in the lesson's "
                     "own directory (a relative path without '..')", at=at)
    base = base_dir.resolve()
    target = (base / rel).resolve()
    if not target.is_relative_to(base):
        raise r.fail(("lesson", "world"), f"{ref!r} leads outside the lesson's directory",
                     at=at)
    if target.suffix != ".toml" or not target.is_file():
        raise r.fail(("lesson", "world"), f"{ref!r}: no such .toml file next to the lesson",
                     at=at)
    name = str(Path(filename).parent / rel) if filename else str(target)
    try:
        with open(target, "rb") as f:
            data = f.read(MAX_FILE_OCTETS + 1)
    except OSError as exc:
        raise r.fail(("lesson", "world"), f"cannot read {ref!r}: {exc.strerror or exc}", at=at)
    if len(data) > MAX_FILE_OCTETS:
        raise LessonError(name, 1, 1, f"larger than {MAX_FILE_OCTETS} octets")
    text = _decode(name, data)
    try:
        wdoc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, col, message = toml_error_position(exc)
        raise LessonError(name, line, col, f"invalid TOML: {message}") from None
    if "world" in wdoc and "hostname" not in wdoc and isinstance(wdoc["world"], dict):
        return WorldSource(MappingProxyType(wdoc["world"]), name, text, ("world",))
    return WorldSource(MappingProxyType(wdoc), name, text)


def _check_world(world: WorldSource, check_world: WorldCheck) -> None:
    """Run the server layer's validation; turn its ``file:line: problem`` into ours."""
    try:
        check_world(world)
    except ValueError as exc:
        message = str(exc)
        m = _WORLD_ERROR_RE.match(message)
        if m and m.group("file") == world.filename:
            line = int(m.group("line"))
            lines = world.text.splitlines()
            src = lines[line - 1] if 0 < line <= len(lines) else ""
            col = len(src) - len(src.lstrip()) + 1
            raise LessonError(world.filename, line, col, m.group("problem")) from None
        problem = message.removeprefix(world.filename + ": ")
        line, col = locate_key_column(world.text, world.base)
        raise LessonError(world.filename, line, col, problem) from None


# --------------------------------------------------------------------------- the steps


def _steps(r: _Reader, raw: list[Any], localized: Callable[..., Localized], dialect: str,
           default_match: str) -> tuple[LessonStep, ...]:
    out: list[LessonStep] = []
    receiver = False  # after TURN: the learner is the receiver-SMTP
    greeting_due = False
    remote_data_due = False  # after TURN, the remote's DATA was answered with 3xx
    session = 0
    for i, s in enumerate(raw):
        path: tuple[str | int, ...] = ("step", i)
        r.want(path, s, dict, "a table ([[step]])")
        r.keys(path, s, STEP_KEYS)
        line, _ = r.where(path)
        if "say" not in s:
            raise r.fail(path, "missing key 'say' (the narration)")
        say = localized(path + ("say",), s["say"])
        hint = localized(path + ("hint",), s["hint"]) if "hint" in s else None
        explain = localized(path + ("explain",), s["explain"]) if "explain" in s else None
        match = _match(r, path + ("match",), s.get("match", default_match))
        broken = r.want(path + ("broken",), s.get("broken", False), bool, "true or false")
        send = r.want(path + ("send",), s["send"], str, "a string") if "send" in s else None
        if send is not None and ("\n" in send or "\r" in send or not send.strip()):
            raise r.fail(path + ("send",), "one non-empty line")
        data = r.strings(path + ("data",), s["data"]) if "data" in s else None
        server = _lines(r, path + ("server",), s["server"], blank=remote_data_due) \
            if "server" in s else None
        reply = _lines(r, path + ("reply",), s["reply"]) if "reply" in s else None
        accept_raw = r.strings(path + ("accept",), s["accept"]) if "accept" in s else ()

        kind: StepKind
        if not receiver:
            if server is not None and send is None and data is None:
                kind = "greeting"
                if reply is not None:
                    raise r.fail(path + ("reply",), "a greeting step has the greeting in "
                                 "'server' and no 'reply'")
                session += 1
            elif send is not None and data is None and server is None:
                kind = "command"
            elif data is not None and send is None and server is None:
                kind = "data"
            else:
                raise r.fail(path, "a step has exactly one of: 'server' (the server speaks "
                             "first), 'send' (a command and its 'reply'), 'data' (message "
                             "lines and the 'reply')")
            if kind != "greeting" and reply is None:
                raise r.fail(path, "missing key 'reply' (what the server answers)")
            if session == 0:
                raise r.fail(path, "the first step is the server's greeting: "
                             "server = \"220 ...\"")
        else:
            if reply is not None or data is not None:
                bad = "reply" if reply is not None else "data"
                raise r.fail(path + (bad,), "after TURN the learner is the receiver: the "
                             "remote's line goes in 'server', the learner's reply in 'send'")
            if send is None:
                raise r.fail(path, "after TURN every step has the learner's reply in 'send'")
            if not _REPLY_RE.match(send):
                raise r.fail(path + ("send",), "after TURN the learner sends replies: "
                             "'NNN text'", at=r.value_column(path + ("send",)))
            if greeting_due:
                if server is not None:
                    raise r.fail(path + ("server",), "after TURN the learner greets first "
                                 "(send = \"220 ...\"); the remote has nothing to say yet")
                kind = "turn-greeting"
                greeting_due = False
            elif server is None:
                raise r.fail(path, "missing key 'server' (the remote's command, or its "
                             "message lines ending with '.')")
            else:
                kind = "answer-data" if remote_data_due else "answer"
                remote_data_due = False

        accept = []
        for j, written in enumerate(accept_raw):
            try:
                pattern = Pattern.compile(written)
            except ValueError as exc:
                raise r.fail(path + ("accept", j), str(exc)) from None
            if send is not None and written.split(" ", 1)[0].upper() != send.split(" ", 1)[0].upper():
                raise r.fail(path + ("accept", j), f"the pattern's first word differs from "
                             f"send's ({send.split(' ', 1)[0]!r})")
            accept.append(pattern)
        if accept and send is None:
            raise r.fail(path + ("accept",), "'accept' goes with 'send'")
        if kind == "command" and send is not None and not broken:
            errors = [d for d in check(send, dialect) if d.is_error]  # type: ignore[arg-type]
            if errors:
                ln, col = r.value_column(path + ("send",))
                d = errors[0]
                raise r.fail(path + ("send",), f"fails the {dialect} grammar: {d.message} "
                             f"({d.rule})", at=(ln, col + d.start))
        if kind == "data":
            assert data is not None
            for j, d in enumerate(data):
                if d.strip() == ".":
                    raise r.fail(path + ("data", j), "a line holding only '.' would end the "
                                 "message (the end is implied)")
        step = LessonStep(
            number=i + 1, line=line, kind=kind, say=say, hint=hint, explain=explain,
            send=send, accept=tuple(accept), data=data or (), server=server or (),
            reply=reply or (), match=match, broken=broken, session=max(session, 1))  # type: ignore[arg-type]
        out.append(step)
        # role changes
        code = reply[0][:1] if reply else ""
        if kind == "command" and step.verb == "TURN" and code == "2":
            receiver, greeting_due = True, True
        elif kind == "answer" and server and send is not None:
            remote_verb = server[0].split(" ", 1)[0].upper()
            if remote_verb in ("QUIT", "TURN") and send[:1] == "2":
                receiver = False
            remote_data_due = remote_verb == "DATA" and send[:1] == "3"
    return tuple(out)


def _lines(r: _Reader, path: tuple[str | int, ...], v: Any, *,
           blank: bool = False) -> tuple[str, ...]:
    """A reply or server text: a string (multi-line replies on several lines) or a list.
    ``blank``: message lines (after TURN), where an empty line is part of the message."""
    if isinstance(v, list):
        lines = r.strings(path, v)
    else:
        r.want(path, v, str, "a string or a list of lines")
        lines = tuple(v.strip("\n").split("\n"))
    lines = tuple(x.rstrip("\r") for x in lines)
    if not lines or not (blank or all(x.strip() for x in lines)):
        raise r.fail(path, "empty line in a reply or server text")
    return lines


# --------------------------------------------------------------------------- the script


def _to_script(r: _Reader, steps: tuple[LessonStep, ...]):  # type: ignore[no-untyped-def]
    """The exchange as ``.smtp`` text (RFC 5321 notation: C: us, S: the server), parsed
    by the core's script parser, which checks the order (a reply for each command, data
    only after 354, ...). Returns the Script and script line -> lesson line."""
    out: list[str] = []
    where: list[tuple[int, int]] = []  # per script line: (lesson line, column)
    match = "code"

    def emit(text: str, path: tuple[str | int, ...]) -> None:
        out.append(text)
        where.append(r.where(path))

    def set_match(m: str, path: tuple[str | int, ...]) -> None:
        nonlocal match
        if m != match:
            emit(f"#!match {m}", path)
            match = m

    greeted = quit_sent = False
    for i, s in enumerate(steps):
        p: tuple[str | int, ...] = ("step", i)
        if s.kind == "greeting":
            if greeted and not quit_sent:
                # The server ended the last session itself (a 421 or 554 greeting, say):
                # this greeting is a new connection all the same.
                emit("#!session", p)
            greeted, quit_sent = True, False
            set_match(s.match, p)
            for x in s.server:
                emit(f"S: {x}", p + ("server",))
        elif s.kind == "command":
            quit_sent = s.send.strip().upper() == "QUIT"
            emit(f"C: {s.send}", p + ("send",))
            set_match(s.match, p)
            for x in s.reply:
                emit(f"S: {x}", p + ("reply",))
        elif s.kind == "data":
            for x in s.data:
                emit(f"C: {x}".rstrip(" ") if x == "" else f"C: {x}", p + ("data",))
            emit("C: .", p + ("data",))
            set_match(s.match, p)
            for x in s.reply:
                emit(f"S: {x}", p + ("reply",))
        else:
            set_match(s.match, p)
            if s.kind == "answer-data":
                for x in s.server:
                    emit(f"S: {x}", p + ("server",))
                if s.server[-1] != ".":
                    emit("S: .", p + ("server",))
            elif s.kind == "answer":
                emit(f"S: {s.server[0]}", p + ("server",))
            emit(f"C: {s.send}", p + ("send",))
    try:
        script = parse("\n".join(out) + "\n", r.filename)
    except ScriptError as exc:
        line, col = where[exc.line - 1] if exc.line and exc.line <= len(where) else (1, 1)
        raise LessonError(r.filename, line, col, f"the exchange does not hold together: "
                          f"{exc.problem}") from None
    return script, {n: where[n - 1][0] for n in range(1, len(where) + 1)}
