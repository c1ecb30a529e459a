"""``smtptui check``: check SMTP command lines against the RFC 821 or RFC 5321 grammar.

Output looks like a compiler diagnostic: the line, a caret line under the exact span,
then ``error: message [rule]``. Exit status 0 when no line has an error (warnings are
fine), 1 when any line has one; argparse exits 2 on usage errors.

Headless: imports only the sans-I/O core (no textual, prompt_toolkit or rich).
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from collections.abc import Iterable, Iterator

from smtptui.commands._style import use_colour
from smtptui.core.diagnostics import Diagnostic
from smtptui.core.grammar import check
from smtptui.core.limits import InputTooLong
from smtptui.core.text import printable

TYPE_CHECKING = False  # typing is not imported at run time: this command starts faster
if TYPE_CHECKING:
    from typing import TextIO

    from smtptui.core.commands import Dialect

    # The EHLO model is imported only when --ehlo-capabilities is given.
    from smtptui.core.ehlo import Capabilities

_RED = "\x1b[1;31m"
_YELLOW = "\x1b[1;33m"
_GREEN = "\x1b[32m"
_DIM = "\x1b[2m"
_RESET = "\x1b[0m"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "line", metavar="LINE", nargs="+",
        help="the command line to check (several words are joined with one space), "
             "or '-' to check every line read from standard input",
    )
    parser.add_argument(
        "--rfc", choices=("821", "5321"), default="5321",
        help="grammar to check against: the 1982 BNF of RFC 821 or the ABNF of RFC 5321 "
             "(default: 5321)",
    )
    parser.add_argument(
        "--strict", action="store_true",
        help="for checking that a client is exactly right: forms servers commonly accept "
             "(a space after FROM:, several spaces, trailing space, non-ASCII without "
             "SMTPUTF8) are errors, not warnings",
    )
    parser.add_argument(
        "--json", action="store_true",
        help='print one JSON object per line: {"line", "valid", "diagnostics"}',
    )
    parser.add_argument(
        "--ehlo-capabilities", metavar="KW,...", default=None,
        help="EHLO keywords the server advertised, comma-separated (e.g. "
             "'SIZE 10240000,8BITMIME,DSN,AUTH PLAIN LOGIN'); verbs and parameters "
             "of extensions not listed get a warning",
    )


def capabilities_from_option(spec: str) -> Capabilities:
    """The ``--ehlo-capabilities`` list as the EHLO model the rest of smtptui uses.

    Each comma-separated item is one EHLO line without its "250-" (``SIZE 1000``,
    ``AUTH PLAIN LOGIN``), so it is parsed exactly as a server's reply would be.
    """
    from smtptui.core.ehlo import parse_ehlo
    from smtptui.core.replies import Reply

    items = [item.strip() for item in spec.split(",") if item.strip()]
    lines = ["smtptui-cli", *items]
    text = "\n".join(f"250{' ' if k == len(lines) - 1 else '-'}{line}"
                     for k, line in enumerate(lines))
    return parse_ehlo(Reply.from_text(text))


def run(args: argparse.Namespace) -> int:
    dialect: Dialect = "rfc821" if args.rfc == "821" else "rfc5321"
    caps = None
    if args.ehlo_capabilities is not None:
        try:
            caps = capabilities_from_option(args.ehlo_capabilities)
        except ValueError as exc:
            print(f"smtptui check: --ehlo-capabilities: {exc}", file=sys.stderr)
            return 2
    out = sys.stdout
    if hasattr(out, "reconfigure"):
        out.reconfigure(errors="backslashreplace")
    colour = use_colour(out)
    from_stdin = args.line == ["-"]
    lines: Iterable[str] = _stdin_lines() if from_stdin else [" ".join(args.line)]
    failed = False
    try:
        failed = _check_lines(lines, dialect, caps, args, out, colour, from_stdin)
    except InputTooLong as exc:
        out.flush()
        print(f"smtptui check: {exc}", file=sys.stderr)
        return 2
    out.flush()
    return 1 if failed else 0


def _check_lines(lines: Iterable[str], dialect: Dialect, caps: Capabilities | None,
                 args: argparse.Namespace, out: TextIO, colour: bool, from_stdin: bool) -> bool:
    failed = False
    for number, line in enumerate(lines, 1):
        diagnostics = check(line, dialect, caps, strict=args.strict)
        line = _strip_eol(line)
        has_error = any(d.is_error for d in diagnostics)
        failed = failed or has_error
        if args.json:
            import json  # only for --json

            record = {
                "line": line,
                "valid": not has_error,
                "diagnostics": [d.to_dict() for d in diagnostics],
            }
            out.write(json.dumps(record) + "\n")
        else:
            out.write(render(line, diagnostics, colour=colour,
                             number=number if from_stdin else None))
    return failed


def _stdin_lines() -> Iterator[str]:
    """Lines of standard input as text.

    Bytes that are not UTF-8 become lone surrogates (``surrogateescape``, as Python
    decodes argv), so the checker can point at the exact octet and call it an error.
    """
    from smtptui.core.limits import limited_lines

    for raw in limited_lines(sys.stdin.buffer):
        yield raw.decode("utf-8", "surrogateescape")


def _strip_eol(line: str) -> str:
    if line.endswith("\n"):
        return line[:-2] if line.endswith("\r\n") else line[:-1]
    return line


def _width(shown: str) -> int:
    if len(shown) == 1 and unicodedata.east_asian_width(shown) in ("W", "F"):
        return 2
    return len(shown)


def echo_line(line: str) -> tuple[str, list[int]]:
    """The line as shown, and the display column where each character starts.

    The offsets list has ``len(line) + 1`` entries so an end-of-line span maps too.
    """
    parts: list[str] = []
    cols: list[int] = []
    col = 0
    for ch in line:
        shown = printable(ch, None, backslash=False)  # escapes, one per character
        cols.append(col)
        parts.append(shown)
        col += _width(shown)
    cols.append(col)
    return "".join(parts), cols


def render(line: str, diagnostics: list[Diagnostic], *, colour: bool = False,
           number: int | None = None) -> str:
    """Compiler-style text for one checked line."""
    prefix = "" if number is None else f"{number}: "
    if not diagnostics:
        ok = f"{_GREEN}ok{_RESET}" if colour else "ok"
        if number is None:
            return ok + "\n"
        shown, _ = echo_line(line)
        return f"{prefix}{ok}  {shown}\n"
    shown, cols = echo_line(line)
    pad = " " * len(prefix)
    chunks: list[str] = []
    for d in diagnostics:
        start = max(0, min(d.start, len(line)))
        end = max(start, min(d.end, len(line)))
        left = cols[start]
        width = max(1, cols[end] - left)
        carets = "^" + "~" * (width - 1)
        label = str(d.severity)
        rule = f" [{d.rule}]" if d.rule else ""
        if colour:
            tint = _RED if d.is_error else _YELLOW if str(d.severity) == "warning" else _DIM
            carets = f"{tint}{carets}{_RESET}"
            label = f"{tint}{label}{_RESET}"
            rule = f"{_DIM}{rule}{_RESET}" if rule else ""
        chunks.append(f"{prefix}{shown}\n{pad}{' ' * left}{carets}\n"
                      f"{pad}{label}: {d.message}{rule}\n")
    return "".join(chunks)
