"""``smtptui lessons``: the catalogue; ``--check`` validates lesson files.

Also the headless player behind ``smtptui run LESSON`` (:func:`play`): the lesson's
steps become a core script, played against the embedded server with the lesson's world
(or a TARGET, for lessons that allow it), every expectation checked.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smtptui.net.runner import Connector, StepResult
    from smtptui.teaching.model import Lesson, WorldSource


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="one object per lesson: id, title, level, languages, rfcs, file")
    parser.add_argument("--check", nargs="*", metavar="FILE",
                        help="validate lesson files (default: the whole catalogue); exit 0 "
                             "when all are valid, 1 otherwise")
    parser.add_argument("--lang", choices=("en", "ja"),
                        help="language of the titles (default: from the locale)")


def check_world(world: WorldSource) -> object:
    """The server layer's world validation, for the teaching loader."""
    from smtptui.server.world import world_from_mapping

    return world_from_mapping(world.data, world.filename, world.text, world.base)


def load(path: str | Path) -> Lesson:
    """A lesson with its world validated too (LessonError for any problem)."""
    from smtptui.teaching.loader import load_lesson

    return load_lesson(path, check_world=check_world)


def resolve(ref: str) -> Path | None:
    """A lesson named on the command line: a ``.toml`` file with a ``[lesson]`` table, or
    a catalogue id/number. None when ``ref`` is neither (e.g. a ``.smtp`` script)."""
    from smtptui.teaching.catalogue import find_lesson

    p = Path(ref)
    if ref.endswith(".toml"):
        return p if _has_lesson_table(p) else None
    if p.exists():
        return None
    return find_lesson(ref)


def _has_lesson_table(p: Path) -> bool:
    """Cheap look (no TOML parse): a ``[lesson]`` header line. A file that is not
    readable is left to the script loader's own message."""
    try:
        with p.open("rb") as f:
            head = f.read(256 * 1024)
    except OSError:
        return False
    return any(line.strip() == b"[lesson]" for line in head.splitlines())


def run(args: argparse.Namespace) -> int:
    from smtptui.teaching.catalogue import catalogue_dir, lesson_files
    from smtptui.teaching.language import language_from_env
    from smtptui.teaching.loader import LessonError

    if args.check is not None:
        files = [Path(f) for f in args.check] or lesson_files()
        return _check(files)
    lang = args.lang or language_from_env(os.environ)
    files = lesson_files()
    if not files:
        print(f"smtptui lessons: no lessons found in {catalogue_dir()}", file=sys.stderr)
        return 1
    status = 0
    for f in files:
        try:
            lesson = load(f)
        except LessonError as exc:
            print(f"smtptui lessons: {exc}", file=sys.stderr)
            status = 1
            continue
        if args.json:
            print(json.dumps(_as_json(lesson, f), ensure_ascii=False))
        else:
            shown = lang if lang in lesson.languages else lesson.languages[0]
            number = f"{lesson.number:02d}" if lesson.number is not None else "--"
            print(f"{number}  {lesson.id:<24} {lesson.level:<13} "
                  f"{','.join(lesson.languages):<6} {lesson.title.get(shown)}")
    return status


def _as_json(lesson: Lesson, path: Path) -> dict[str, object]:
    return {
        "id": lesson.id, "number": lesson.number, "title": lesson.title.get("en"),
        "titles": dict(lesson.title.texts), "level": lesson.level,
        "languages": list(lesson.languages), "rfcs": list(lesson.rfcs),
        "real_server": lesson.real_server, "file": str(path),
    }


def _check(files: list[Path]) -> int:
    from smtptui.teaching.catalogue import slug_of
    from smtptui.teaching.loader import LessonError

    if not files:
        print("smtptui lessons: no lesson files to check", file=sys.stderr)
        return 1
    bad = 0
    for f in files:
        try:
            lesson = load(f)
        except LessonError as exc:
            print(str(exc), file=sys.stderr)
            bad += 1
            continue
        slug = slug_of(f)
        if slug is not None and slug != lesson.id:
            print(f"{f}:1:1: the file name says {slug!r} but [lesson] id is {lesson.id!r}",
                  file=sys.stderr)
            bad += 1
            continue
        print(f"{f}: ok ({len(lesson.steps)} steps, {lesson.script.expectations} "
              f"expectations, {', '.join(lesson.languages)})")
    return 1 if bad else 0


# ------------------------------------------------------------------ smtptui run LESSON


def play(args: argparse.Namespace, path: Path) -> int:
    """``smtptui run LESSON [TARGET] [--json]``: the lesson typed by itself, every
    expectation checked. Same output and exit codes as a script run."""
    import asyncio

    from smtptui.commands._style import Style
    from smtptui.commands.run import _escape, _play, _starttls_for
    from smtptui.teaching.loader import LessonError

    try:
        lesson = load(path)
    except LessonError as exc:
        print(f"smtptui run: {exc}", file=sys.stderr)
        return 2
    if args.world is not None:
        return _usage("a lesson brings its own world; --world cannot be used with it")
    if args.target is not None and not lesson.real_server:
        return _usage(f"lesson {lesson.id!r} needs the embedded teaching server's world; "
                      "it cannot run against a TARGET (run it without one)")
    try:
        connector = _connector(args, lesson)
    except ValueError as exc:
        return _usage(str(exc))
    out = sys.stdout
    printer = None if args.json else _LessonPrinter(out, Style.for_stream(out), lesson)
    result = asyncio.run(_play(lesson.script, connector,
                               _starttls_for(lesson.script, args.starttls), printer))
    result = _relined(result, lesson)
    if args.json:
        out.write(json.dumps(result.to_dict(), ensure_ascii=True) + "\n")
    else:
        assert printer is not None
        printer.summary(result)
    err = Style.for_stream(sys.stderr)
    for error in result.errors:
        print(err.fail(_escape(error, 300, backslash=False)), file=sys.stderr)
    return 0 if result.ok else 1


def _usage(message: str) -> int:
    print(f"smtptui run: error: {message}", file=sys.stderr)
    return 2


def _connector(args: argparse.Namespace, lesson: Lesson) -> Connector:
    """The one place lessons choose where to connect: a TARGET, or the embedded server
    playing the lesson's world (``smtptui.session.connect``, as ``smtptui run`` does)."""
    from smtptui.commands.run import _connector as connector_for
    from smtptui.server.world import default_world

    world = None
    if args.target is None:
        world = default_world() if lesson.world is None else check_world(lesson.world)
    return connector_for(args, args.target, world)


def _relined(result, lesson: Lesson):  # type: ignore[no-untyped-def]
    """Results name lines of the lesson file, not of the script made from it."""
    from dataclasses import replace

    return replace(result, filename=lesson.path,
                   steps=tuple(_reline(s, lesson) for s in result.steps))


def _reline(step: StepResult, lesson: Lesson) -> StepResult:
    from dataclasses import replace

    return replace(step, line=lesson.script_lines.get(step.line, step.line))


class _LessonPrinter:
    """run's printer, with the lesson's title first and lesson-file line numbers."""

    def __init__(self, out, style, lesson: Lesson) -> None:  # type: ignore[no-untyped-def]
        from smtptui.commands.run import _Printer

        self._inner = _Printer(out, style)
        self._lesson = lesson
        number = f"{lesson.number:02d} " if lesson.number is not None else ""
        out.write(style.head(f"-- lesson {number}{lesson.id}: {lesson.title.get('en')}")
                  + "\n")

    def session(self, session, where: str) -> None:  # type: ignore[no-untyped-def]
        self._inner.session(session, where)

    def step(self, r: StepResult) -> None:
        self._inner.step(_reline(r, self._lesson))

    def summary(self, result) -> None:  # type: ignore[no-untyped-def]
        self._inner.summary(result)
