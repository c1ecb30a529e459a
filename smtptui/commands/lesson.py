"""``smtptui lesson ID|FILE [TARGET] [--lang en|ja] [--demo [SECONDS]]``: the guided
mode, in the app (``smtptui.tui.app.run_lesson``). The arguments are checked before the
screen is taken. The default language follows the locale (``LANG=ja_JP.UTF-8`` ->
Japanese); ``--demo`` has the lesson type its own lines (for a teacher at a projector).
"""

from __future__ import annotations

import argparse
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
    parser.add_argument("--demo", nargs="?", type=_pace, const=0.08, metavar="SECONDS",
                        help="the lesson types its own lines, SECONDS per character "
                             "(default 0.08; steps pause 25 times that); Ctrl+R in the "
                             "app switches it on and off")
    add_connection_arguments(parser)
    # As in the app: the learner types STARTTLS when the lesson asks for it.
    parser.set_defaults(starttls="manual")


def _pace(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds per character, got {text!r}")
    if not 0 <= value <= 5:
        raise argparse.ArgumentTypeError("expected 0 to 5 seconds per character")
    return value


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
    from smtptui.tui.app import run_lesson  # Textual only now, past every usage check

    return int(run_lesson(lesson, args, lang) or 0)
