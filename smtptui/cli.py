"""Command-line entry point: argument parsing and dispatch.

``smtptui`` with no command (or with a TARGET, ``--persona``, ``--world`` or connection
options) opens the app; ``smtptui COMMAND ...`` runs a headless command.

Each subcommand lives in its own module under ``smtptui.commands`` and is imported only
when it runs, so ``smtptui check`` or ``smtptui --help`` never pays for Textual,
prompt_toolkit, rich or dnspython.

A subcommand module provides ``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from smtptui import __version__

# name -> (module, one-line help). Order is the order shown by --help.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "check": ("smtptui.commands.check", "check SMTP command lines against RFC 821/5321 grammar"),
    "explain": ("smtptui.commands.explain", "explain a reply code or reply line"),
    "probe": ("smtptui.commands.probe", "report the EHLO capabilities, TLS and banner of servers"),
    "run": ("smtptui.commands.run", "play a C:/S: transcript script or a lesson against a server"),
    "serve": ("smtptui.commands.serve", "run the embedded teaching SMTP server"),
    "lessons": ("smtptui.commands.lessons",
                "list the guided lessons; --check validates lesson files"),
    "lesson": ("smtptui.commands.lesson", "open a guided lesson in the app"),
    "shell": ("smtptui.commands.shell", "talk SMTP line by line: a prompt, or a script on stdin"),
    "send": ("smtptui.commands.send", "send a test message, every reply explained"),
}


def _columns() -> int:
    """The help width ``shutil.get_terminal_size`` would give (``COLUMNS``, else the
    terminal, else 80), without importing shutil: argparse makes a help formatter for
    every argument it adds, and its own width lookup imports shutil (and bz2, lzma)
    at every start, help or not."""
    import os

    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors; keep that, with a one-line message."""

    def _get_formatter(self) -> argparse.HelpFormatter:
        return self.formatter_class(prog=self.prog, width=_columns() - 2)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(load: Sequence[str] = (), *, top_help: bool = True
                 ) -> argparse.ArgumentParser:
    """The parser; subcommand arguments are loaded only for the names in ``load``.
    ``top_help=False`` (a subcommand was named first, so the top-level help cannot be
    printed) skips describing the app, whose parser costs milliseconds to build, and the
    other subcommands, which could not be reached (each costs ~0.1 ms of gettext)."""
    description = ("Talk SMTP by hand: grammar checks, explanations and test messages from "
                   "these commands; completion as you type is in the interactive shell "
                   "(smtptui shell) and the app")
    epilog = None
    if top_help:
        from smtptui.commands.app import USAGE
        from smtptui.commands.app import build_parser as app_parser

        description += (f": with no COMMAND ({USAGE}), smtptui opens the app on the "
                        "embedded teaching server (or on TARGET).")
        epilog = "The app:\n" + app_parser().format_help().split("\n", 1)[1]
    parser = _Parser(
        prog="smtptui",
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"smtptui {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module, help_text) in SUBCOMMANDS.items():
        if not top_help and name not in load:
            continue
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name in load:
            importlib.import_module(module).add_arguments(p)
    return parser


def _opens_app(argv: Sequence[str]) -> bool:
    """No COMMAND first: the app (``smtptui``, ``smtptui TARGET``, ``smtptui --persona
    X``); ``--help``/``--version`` alone stay the top-level ones."""
    if not argv:
        return True
    return not (argv[0] in SUBCOMMANDS or argv[0] in ("-h", "--help", "--version"))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if _opens_app(argv):
        from smtptui.commands import app

        parser = app.build_parser()
        parser.error = _Parser.error.__get__(parser)  # type: ignore[method-assign]
        args = parser.parse_args(argv)
        if not app.has_terminal():
            # Piped or scripted: no screen to draw on. Say what works instead.
            build_parser().print_help()
            print("smtptui: error: the app needs a terminal (stdin and stdout are not "
                  "one); the commands above work without", file=sys.stderr)
            return 2
        return _run(app, args)
    # Import only the module of the subcommand actually asked for.
    wanted = [a for a in argv if a in SUBCOMMANDS][:1]
    parser = build_parser(wanted, top_help=argv[0] not in SUBCOMMANDS)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return _run(importlib.import_module(SUBCOMMANDS[args.command][0]), args)


GC_THRESHOLD0 = 10_000
"""The collector's first-generation threshold in a smtptui process (Python's is 700)."""


def entry() -> None:
    """The console script and ``python -m smtptui``: :func:`main`, then a quick exit.

    Python's own exit tears down every module and collects every object, about 5 ms
    once the client's modules are loaded: a tenth of a one-shot ``probe`` or pipe-mode
    session, which are measured against swaks. What that teardown does that matters
    is done here -- the ``atexit`` handlers run (``weakref.finalize`` among them) and
    stdout and stderr are flushed -- then the process ends with ``os._exit``. With a
    non-daemon thread still running (Python would wait for it), or a ``SystemExit``
    from inside (a usage error, ``--help``), Python exits as usual.

    Before :func:`main`, the cyclic collector's first threshold goes from 700 to
    :data:`GC_THRESHOLD0` allocations: start-up makes tens of thousands of objects that
    live as long as the process (modules, classes, functions), and at 700 the collector
    walks them a hundred times -- about 3 ms of a ``send`` with STARTTLS. Garbage cycles
    are still collected, in larger batches. Calling :func:`main` (tests, embedding)
    changes neither."""
    import gc

    gc.set_threshold(GC_THRESHOLD0, *gc.get_threshold()[1:])
    code = main()
    threading = sys.modules.get("threading")
    if threading is not None and any(not thread.daemon and thread.is_alive()
                                     for thread in threading.enumerate()
                                     if thread is not threading.main_thread()):
        raise SystemExit(code)  # Python joins them first
    import atexit
    import os

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            # No stream, or a reader that went away (`smtptui lessons | head -1`):
            # nothing more can be written; the status is still the command's.
            pass
    os._exit(code)


def _run(module: object, args: argparse.Namespace) -> int:
    try:
        return int(module.run(args) or 0)  # type: ignore[attr-defined]
    except KeyboardInterrupt:
        print("smtptui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
