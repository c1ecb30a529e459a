"""``smtptui run FILE [TARGET] [--world FILE] [--json]``: play a C:/S: script.

The script (``.smtp``, format in :mod:`smtptui.core.script`) is the textbook notation
itself; a scenario pasted from RFC 821 or RFC 5321 runs as it is. Our lines are sent,
the server's lines are expectations (the reply code must match). The exchange is
printed in the script's own notation (C:/S:, or RFC 821's S:/R:) with every expectation marked met or missed (with the
actual reply); server text is never written raw to the terminal (control characters
and escape sequences are shown escaped). ``--json`` prints one object instead:
``{"file", "ok", "steps": [{"sent", "expected", "got", "ok", ...}], "errors", "not_run"}``.

Exit status: 0 when every expectation is met, 1 when any is missed or a connection
fails (one line on stderr: ``host:port: step: reason``), 2 for a bad script or usage.

Without TARGET the script runs against the embedded teaching server, started
in-process on loopback with the world of ``--world FILE`` (default: its built-in
world); each session goes to the world host it names (``#!session NAME`` or the
greeting's host name). ``--world`` with a TARGET is a usage error.

``--starttls auto`` (the default, as for ``probe``) upgrades after the script's first
EHLO when the server advertises STARTTLS, and repeats that EHLO, so a first run against
a real server does not go out in clear text; a script that writes its own ``C:
STARTTLS`` is played as written (the connection is upgraded after its 220). ``yes``
fails when STARTTLS is not offered; ``no`` sends exactly the script. ``--helo`` is
ignored (the script says what to send).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import TYPE_CHECKING, TextIO

from smtptui.commands._style import Style
from smtptui.commands.probe import TARGET_FORMS, add_connection_arguments

if TYPE_CHECKING:
    from smtptui.core.script import Script, Session
    from smtptui.net.runner import RunResult, StepResult
    from smtptui.session.connect import Connector

PREVIEW_LINES = 20
"""Message data lines shown per DATA block (the rest is summarised)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE",
                        help="the .smtp script ('-' reads stdin), a lesson file (.toml) or a "
                             "catalogue lesson id or number")
    parser.add_argument("target", metavar="TARGET", nargs="?",
                        help=f"{TARGET_FORMS}"
                             ", @domain[:port]")
    parser.add_argument("--world", metavar="FILE",
                        help="world of the embedded teaching server (used when no TARGET "
                             "is given; default: its built-in world)")
    parser.add_argument("--json", action="store_true",
                        help='print {"file", "ok", "steps": [...]} instead of the exchange')
    add_connection_arguments(parser)


def _usage(message: str) -> int:
    print(f"smtptui run: error: {message}", file=sys.stderr)
    return 2


def load_script(path: str) -> Script:
    """The parsed script, its includes checked; ScriptError for any problem."""
    from smtptui.core.script import (
        MAX_SCRIPT_OCTETS,
        check_includes,
        load,
        parse_bytes,
    )

    if path == "-":
        script = parse_bytes(sys.stdin.buffer.read(MAX_SCRIPT_OCTETS + 1), "<stdin>",
                             os.getcwd())
    else:
        script = load(path)
    check_includes(script)
    return script


def run(args: argparse.Namespace) -> int:
    from smtptui.core.script import ScriptError

    if args.target is not None and not args.target.strip():
        # An unset variable ($HOST) must not silently mean "the embedded server".
        return _usage("TARGET is empty (omit it to use the embedded teaching server)")
    if args.file != "-":
        from smtptui.commands.lessons import play, resolve

        lesson = resolve(args.file)
        if lesson is not None:  # a lesson file or a catalogue id: play it headless
            return play(args, lesson)
    if args.target is not None and args.world is not None:
        return _usage("--world configures the embedded teaching server; it cannot be used "
                      "with a TARGET")
    try:
        script = load_script(args.file)
    except ScriptError as exc:
        print(f"smtptui run: {exc}", file=sys.stderr)
        return 2
    try:
        connector = _target_connector(args) if args.target else _embedded_connector(args)
    except ValueError as exc:
        return _usage(str(exc))
    if args.insecure:
        print(Style.for_stream(sys.stderr).warn(
            "smtptui run: warning: --insecure: TLS certificates are not verified"),
            file=sys.stderr)
    out = sys.stdout
    style = Style.for_stream(out)
    from smtptui.core.script import Notation

    printer = None if args.json else _Printer(out, style,
                                               script.notation is Notation.RFC821)
    result = asyncio.run(_play(script, connector, _starttls_for(script, args.starttls),
                               printer))
    if args.json:
        out.write(json.dumps(result.to_dict(), ensure_ascii=True) + "\n")
    else:
        assert printer is not None
        printer.summary(result)
    err_style = Style.for_stream(sys.stderr)
    from smtptui.commands.probe import tls_hint

    for error in result.errors:
        print(err_style.fail(_escape(error, 300, backslash=False) + tls_hint(error)),
              file=sys.stderr)
    return 0 if result.ok else 1


def _starttls_for(script: Script, starttls: str) -> str:
    """``auto`` leaves a script that sends its own STARTTLS as written."""
    from smtptui.core.script import Command

    if starttls == "auto" and any(isinstance(step, Command) and step.verb == "STARTTLS"
                                  for step in script.steps):
        return "no"
    return starttls


async def _play(script: Script, connector: Connector, starttls: str,
                printer: _Printer | None) -> RunResult:
    from smtptui.net.runner import run_script

    on_step = printer.step if printer is not None else None
    on_session = None
    if printer is not None and len(script.sessions) > 1:
        on_session = printer.session
    try:
        return await run_script(script, await _resolve(connector), on_step=on_step,
                                starttls=starttls, on_session=on_session)  # type: ignore[arg-type]
    finally:
        await connector.aclose()  # stops the embedded server; a TARGET has nothing to stop


def _embedded_connector(args: argparse.Namespace) -> Connector:
    """No TARGET: the embedded teaching server, with ``--world FILE`` or the built-in
    world (ValueError, a usage error, for a bad world file)."""
    from smtptui.server.world import default_world, load_world

    world = load_world(args.world) if args.world else default_world()
    return _connector(args, None, world)


async def _resolve(connector: Connector) -> Connector:
    """A ``@domain`` target needs its MX hosts first (DNS), others are ready."""
    resolve = getattr(connector, "resolve", None)
    return await resolve() if resolve is not None else connector


def _target_connector(args: argparse.Namespace) -> Connector:
    """ValueError (a usage error) for a bad TARGET or option."""
    return _connector(args, args.target, None)


def _connector(args: argparse.Namespace, target: str | None, world) -> Connector:  # type: ignore[no-untyped-def]
    from smtptui.commands.probe import options_from_args
    from smtptui.session.connect import make_connector

    return make_connector(target, options_from_args(args), tls=args.tls,  # type: ignore[return-value]
                          world=world)


# ----------------------------------------------------------------------------- output


def _escape(text: str, limit: int = 2000, *, backslash: bool = True) -> str:
    """Safe for the terminal. ``backslash=False`` for our notes and errors, which quote
    server text already made printable (its ``\\x1b`` is not doubled)."""
    from smtptui.net.errors import printable

    return printable(text, limit, backslash=backslash)


_SWAPPED = frozenset({"reply-sent", "remote-command", "remote-data"})  # after TURN


def _meaning(reply: object) -> str:
    """One line on what a reply means (empty when there is no reply code)."""
    code = getattr(reply, "code", None)
    if code is None:
        return ""
    from smtptui.core.codes import explain

    try:
        e = explain(reply)  # type: ignore[arg-type]
    except ValueError:
        return ""
    if e.enhanced and e.enhanced_meaning:
        return f"{e.meaning} [{e.enhanced}: {e.enhanced_meaning}]"
    return e.meaning


class _Printer:
    """The exchange in the script's own notation, each expectation marked as it is
    checked: RFC 5321's C:/S: (the letters name machines), or RFC 821's S:/R: (they name
    roles: we are S:, the sender, until a TURN makes us R:)."""

    def __init__(self, out: TextIO, style: Style, rfc821: bool = False) -> None:
        self.out = out
        self.style = style
        self.rfc821 = rfc821

    def letters(self, kind: str) -> tuple[str, str]:
        """(our letter, the remote's letter) for a step of this kind."""
        if not self.rfc821:
            return "C", "S"
        return ("R", "S") if kind in _SWAPPED else ("S", "R")

    def session(self, session: Session, where: str) -> None:
        self.count = getattr(self, "count", 0) + 1
        host = f" ({session.host_hint})" if session.host_hint else ""
        if self.count > 1:
            self.out.write("\n")
        self.out.write(self.style.head(f"-- session {self.count}{host}, line {session.line}: "
                                       f"{_escape(where, 200)}") + "\n")

    def write(self, mark: str, letter: str, text: str) -> None:
        self.out.write(f"{mark} {letter}: {_escape(text)}".rstrip() + "\n")

    def step(self, r: StepResult) -> None:
        s = self.style
        blank = "    "
        ours, theirs = self.letters(r.kind)
        if r.kind == "data":
            unsent = r.got is None
            for line in r.data_preview[:PREVIEW_LINES]:
                if unsent:  # shown for reference, never sent
                    self.out.write(s.dim(f"{blank} {ours}: {_escape(line)}".rstrip()) + "\n")
                else:
                    self.write(blank, ours, line)
            if len(r.data_preview) > PREVIEW_LINES:
                self.out.write(s.dim(f"{blank} {ours}: ... {len(r.data_preview) - PREVIEW_LINES} "
                                     "more lines") + "\n")
        if r.sent is not None and r.kind != "reply-sent":
            self.write(blank, ours, r.sent)
        if r.kind == "reply-sent":
            for line in (r.sent or "").split("\n"):
                self.write(blank, ours, line)
        elif r.kind == "remote-data":
            got = (r.got or "").split("\n") if r.got else []
            for line in got[:PREVIEW_LINES]:
                self.write(blank, theirs, line)
            if len(got) > PREVIEW_LINES:
                self.out.write(s.dim(f"{blank} {theirs}: ... {len(got) - PREVIEW_LINES} more "
                                     "lines") + "\n")
            self.mark_line(r, theirs, ".")
        else:
            lines = r.got.split("\n") if r.got is not None else []
            for line in lines[:-1]:
                self.write(blank, theirs, line)
            if lines:
                self.mark_line(r, theirs, lines[-1])
            elif r.expected is not None:
                self.out.write(s.fail("MISS") + " " + s.dim(f"{theirs}: (no reply)") + "\n")
        if r.expected is not None and not r.ok:
            expected = r.expected.replace("\n", " / ")
            self.out.write(s.fail(f"     expected (line {r.line}): {_escape(expected, 200)}")
                           + "\n")
            meaning = _meaning(r.reply)
            if meaning:  # what the reply that came means, as `smtptui explain` says it
                self.out.write(s.dim(f"     {r.reply.code}: {_escape(meaning, 300)}") + "\n")
        if r.note:
            self.out.write(s.dim(f"     {_escape(r.note, 300, backslash=False)}") + "\n")

    def mark_line(self, r: StepResult, letter: str, text: str) -> None:
        s = self.style
        if r.expected is None:
            mark = "    "
        else:
            mark = s.ok("ok  ") if r.ok else s.fail("MISS")
        line = f"{letter}: {_escape(text)}"
        if r.expected is not None:
            line = s.ok(line) if r.ok else s.fail(line)
        self.out.write(f"{mark} {line}".rstrip() + "\n")

    def summary(self, result: RunResult) -> None:
        s = self.style
        missed = [x for x in result.steps if not x.ok]
        total = result.met + len(missed) + result.not_run
        parts = [f"{result.met} of {total} expectations met"]
        if missed:
            lines = ", ".join(str(x.line) for x in missed)
            parts.append(f"{len(missed)} missed (line{'s' if len(missed) > 1 else ''} {lines})")
        if result.not_run:
            parts.append(f"{result.not_run} not run")
        text = f"{result.filename}: " + "; ".join(parts)
        self.out.write((s.ok(text) if result.ok else s.fail(text)) + "\n")
        self.out.flush()
