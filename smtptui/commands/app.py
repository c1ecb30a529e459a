"""``smtptui [TARGET] [options]``: open the app.

Without TARGET the app talks to the embedded teaching server (``--persona``, ``--world``
choose it), started on a free loopback port inside the app. With a TARGET it connects
there, with the same target forms and connection options as ``probe`` and ``run``; a
target spelled like a command name is written ``smtp://NAME``.

Textual is imported only here, when the app actually starts, so the headless commands
and ``--help`` stay fast.
"""

from __future__ import annotations

import argparse
import sys

from smtptui.commands.probe import TARGET_FORMS, add_connection_arguments

USAGE = "smtptui [TARGET] [--persona NAME] [--world FILE] [connection options]"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", nargs="?", metavar="TARGET",
                        help=f"{TARGET_FORMS}"
                             " or @domain (pick one of its MX hosts); "
                             "none: the embedded teaching server")
    parser.add_argument("--persona", metavar="NAME",
                        help="the embedded server's persona: modern (default), rfc821, "
                             "rfc821-minimal, sendmail-8.9, rfc5321")
    parser.add_argument("--world", metavar="FILE",
                        help="the embedded server's world (a world or lesson TOML file)")
    add_connection_arguments(parser)
    # In the app you type STARTTLS yourself unless --starttls asks for it: auto upgrades
    # right after EHLO when advertised, yes also ends the session when it is not.
    parser.set_defaults(starttls="manual")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smtptui", usage=USAGE,
        description="Open the interactive app (the embedded teaching server without "
                    "TARGET).")
    add_arguments(parser)
    return parser


def has_terminal() -> bool:
    """The app draws on a terminal: stdin and stdout must both be one."""
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def run(args: argparse.Namespace) -> int:
    from smtptui.session import ConnectSpec, connector_for

    spec = ConnectSpec(target=args.target, tls=args.tls, starttls=args.starttls,
                       cafile=args.cafile, insecure=args.insecure, timeout=args.timeout,
                       resolver=args.resolver, helo=args.helo, family=args.family,
                       world=args.world, persona=args.persona)
    try:
        connector_for(spec)  # a usage error is reported before the screen is taken
    except ValueError as exc:
        print(f"smtptui: error: {exc}", file=sys.stderr)
        return 2
    from smtptui.tui.app import run_app

    return run_app(spec)
