"""``smtptui shell [TARGET]``: talk SMTP line by line, at a prompt or from a pipe.

When standard input is a terminal, a prompt (prompt_toolkit) with completion, checking,
explanations and ``/`` commands; otherwise pipe mode, which never imports prompt_toolkit
(see :mod:`smtptui.shell.pipe` for its exit status). Without TARGET the embedded
teaching server runs in-process on a free loopback port (``--persona``, ``--world``).

Exit status: 0 when the session ended normally, 1 on a connection failure, a timeout or
an unexpected close, 3 when a 5xx arrived and ``--fail-on-5xx`` is set, 2 for a usage
error.
"""

from __future__ import annotations

import argparse
import sys

from smtptui.commands.probe import TARGET_FORMS, add_connection_arguments

TYPE_CHECKING = False  # typing is for type checkers: not imported at start-up
if TYPE_CHECKING:
    from typing import Any

    from smtptui.session import OneShotSession, Session


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="TARGET", nargs="?",
                        help=f"{TARGET_FORMS}"
                             ", @domain[:port] (default: the embedded "
                             "teaching server)")
    parser.add_argument("--world", metavar="FILE",
                        help="world of the embedded teaching server (no TARGET)")
    parser.add_argument("--persona", metavar="NAME",
                        help="persona of the embedded teaching server (no TARGET): rfc821, "
                             "rfc821-minimal, sendmail-8.9, rfc5321, modern")
    parser.add_argument("--rfc", choices=("821", "5321"), default="5321",
                        help="grammar the lines are checked against (default 5321)")
    parser.add_argument("--no-autosave", dest="autosave", action="store_false",
                        help="interactive: do not save the transcript in the data directory")
    pipe = parser.add_argument_group("pipe mode (standard input is not a terminal)")
    pipe.add_argument("--pipeline", action="store_true",
                      help="send commands in RFC 2920 groups when the server advertises "
                           "PIPELINING")
    pipe.add_argument("--strict", action="store_true",
                      help="do not send a line that fails the grammar: stop with exit 2")
    pipe.add_argument("--fail-on-5xx", action="store_true",
                      help="exit 3 when any reply was a permanent failure (5xx)")
    pipe.add_argument("--json", action="store_true",
                      help="one JSON object per transcript entry instead of C:/S: lines")
    add_connection_arguments(parser)
    parser.set_defaults(starttls="no")


def _usage(message: str) -> int:
    print(f"smtptui shell: error: {message}", file=sys.stderr)
    return 2


def make_session_factory(args: argparse.Namespace, *, autosave: bool):  # type: ignore[no-untyped-def]
    """A function ``target -> Session`` with this command line's options (``/connect``
    uses it too); ValueError (a usage error, one line) for bad options."""
    from smtptui.session import Session, make_connector, options

    opts = options(helo=args.helo, starttls=args.starttls, cafile=args.cafile,
                   insecure=args.insecure, timeout=args.timeout, resolver=args.resolver,
                   family=args.family)
    world = None
    if args.world is not None:
        from smtptui.server.world import load_world

        world = load_world(args.world)  # ValueError (file:line: problem) when it is wrong
    dialect = "rfc821" if args.rfc == "821" else "rfc5321"
    history = None

    def factory(target: str | None) -> Session:
        nonlocal history
        if target is not None and (world is not None or args.persona):
            raise ValueError("--world and --persona configure the embedded teaching "
                             "server; they cannot be used with a TARGET")
        connector = make_connector(target, opts, tls=args.tls, world=world,
                                   persona=args.persona)
        session = Session(connector, dialect=dialect, helo_name=args.helo,
                          autosave=autosave, history=history)
        history = session.history  # one history for every connection of this shell
        return session

    return factory


def one_shot_session(args: argparse.Namespace) -> OneShotSession | None:
    """Pipe mode to a single host: a session over the blocking client, which never
    starts an event loop (None for the embedded server, an ``@domain`` or
    ``--resolver``: those need one). ValueError (a usage error) as the factory."""
    if args.target is None or args.world is not None or args.persona:
        return None
    from smtptui.session import OneShotSession, make_connector, options

    opts = options(helo=args.helo, starttls=args.starttls, cafile=args.cafile,
                   insecure=args.insecure, timeout=args.timeout, resolver=args.resolver,
                   family=args.family)
    connector = make_connector(args.target, opts, tls=args.tls, blocking=True)
    if not getattr(connector, "blocking", False):
        return None
    return OneShotSession(connector, dialect="rfc821" if args.rfc == "821" else "rfc5321",
                          explain=False)  # pipe mode writes the transcript, no meanings


def _checked_early(args: argparse.Namespace) -> bool:
    """Interactive: check what could be a usage error without the session layer, so the
    prompt is drawn before it is imported (the session is made behind the prompt).
    False when that cannot be done cheaply (``--world``, ``--persona``, ``--resolver``):
    then the session is made first, as before. ValueError for a usage error."""
    if args.world is not None or args.persona or args.resolver is not None:
        return False
    if args.target is not None:
        from smtptui.net.targets import parse_target

        parse_target(args.target, tls=args.tls)
    from smtptui.net.targets import check_cafile

    check_cafile(args.cafile)
    return True


def _interactive(args: argparse.Namespace) -> int:
    made: list[Any] = []

    def factory(target: str | None) -> Session:
        if not made:  # the session layer is imported here, on first use
            made.append(make_session_factory(args, autosave=args.autosave))
        return made[0](target)  # type: ignore[no-any-return]

    try:
        session = None if _checked_early(args) else factory(args.target)
    except ValueError as exc:
        return _usage(str(exc))
    if args.insecure:
        print("smtptui shell: warning: --insecure: TLS certificates are not verified",
              file=sys.stderr)
    import asyncio

    from smtptui.commands._style import use_colour
    from smtptui.shell.repl import Repl

    repl = Repl(session, factory, colour=use_colour(sys.stdout), starttls=args.starttls,
                target=args.target)
    return asyncio.run(repl.run())


def run(args: argparse.Namespace) -> int:
    if sys.stdin.isatty():
        return _interactive(args)
    try:
        one_shot = one_shot_session(args)
        if one_shot is None:
            session = make_session_factory(args, autosave=False)(args.target)
    except ValueError as exc:
        return _usage(str(exc))
    if args.insecure:
        print("smtptui shell: warning: --insecure: TLS certificates are not verified",
              file=sys.stderr)
    from smtptui.shell.pipe import PipeOptions, StdinLines, run_pipe

    pipe_options = PipeOptions(pipeline=args.pipeline, strict=args.strict,
                               fail_on_5xx=args.fail_on_5xx, json=args.json,
                               starttls=args.starttls)
    if one_shot is not None:
        from smtptui.session import run_blocking

        lines = StdinLines(sys.stdin.fileno(), wait=one_shot.wait_for_input)
        return run_blocking(run_pipe(one_shot, lines, pipe_options, sys.stdout, sys.stderr))
    import asyncio

    return asyncio.run(run_pipe(session, StdinLines(sys.stdin.fileno()), pipe_options,
                                sys.stdout, sys.stderr))


__all__ = ["add_arguments", "make_session_factory", "run"]
