"""``smtptui lesson ID|FILE [TARGET] [--lang en|ja]``: the guided mode, in the app.

The guided mode lives in the Textual app (``smtptui.tui.app.run_lesson``). Until the
app exists this command validates its arguments, then says so and exits 2. The default
language follows the locale (``LANG=ja_JP.UTF-8`` -> Japanese).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys

from smtptui.commands.probe import add_connection_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("lesson", metavar="ID|FILE",
                        help="a catalogue lesson (number or id, see 'smtptui lessons') or a "
                             "lesson file")
    parser.add_argument("target", metavar="TARGET", nargs="?",
                        help="a real server, for lessons that allow it (default: the "
                             "embedded teaching server with the lesson's world)")
    parser.add_argument("--lang", choices=("en", "ja"),
                        help="language of the narration (default: from the locale)")
    add_connection_arguments(parser)


def _fail(message: str) -> int:
    print(f"smtptui lesson: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from smtptui.commands.lessons import load, resolve
    from smtptui.teaching.language import pick_language
    from smtptui.teaching.loader import LessonError

    path = resolve(args.lesson)
    if path is None:
        return _fail(f"no lesson {args.lesson!r} (see 'smtptui lessons')")
    try:
        lesson = load(path)
    except LessonError as exc:
        return _fail(str(exc))
    if args.target is not None and not lesson.real_server:
        return _fail(f"lesson {lesson.id!r} needs the embedded teaching server's world; "
                     "it cannot run against a TARGET")
    try:
        lang = pick_language(lesson.languages, args.lang, os.environ)
    except ValueError as exc:
        return _fail(str(exc))
    run_lesson = None
    if importlib.util.find_spec("smtptui.tui") is not None:
        # The app exists before its guided mode does: ask for the entry point itself.
        run_lesson = getattr(importlib.import_module("smtptui.tui.app"), "run_lesson", None)
    if run_lesson is None:
        return _fail("the guided mode needs the app (not built yet); "
                     f"'smtptui run {args.lesson}' plays the lesson headless")
    return int(run_lesson(lesson, args, lang) or 0)
