"""``smtptui explain``: what a reply code, reply line or enhanced status code means.

    smtptui explain 354
    smtptui explain '550 5.1.1 User unknown'
    smtptui explain '250-mail.example.org\\n250 SIZE 1000'   (real or written "\\n")
    smtptui explain 5.7.1
    smtptui explain - < transcript-of-server-replies.txt

Prints the class, the meaning and RFC of the code, its digit-by-digit reading and the
enhanced code's class / subject / detail. Exit 0 when every code is one the RFCs
define; 1 when the input is not a reply code, or is a code no RFC defines (its reading
by the first digit, RFC 5321 §4.2.1, is still printed, and stderr says why); argparse
exits 2 on usage errors.

Headless: imports only the sans-I/O core (no textual, prompt_toolkit or rich).
"""

from __future__ import annotations

import argparse
import json
import re
import sys

from smtptui.commands._style import use_colour
from smtptui.core.codes import (
    ENHANCED_SUBJECTS,
    EnhancedInfo,
    Explanation,
    explain,
    explain_enhanced,
)
from smtptui.core.diagnostics import Diagnostic
from smtptui.core.replies import Reply, parse_replies
from smtptui.core.text import printable

_STYLE = {"success": "\x1b[1;32m", "info": "\x1b[1;36m", "warning": "\x1b[1;33m",
          "error": "\x1b[1;31m"}
_BOLD = "\x1b[1m"
_DIM = "\x1b[2m"
_RESET = "\x1b[0m"

_MAX_SHOWN = 12
_MAX_ERRORS = 10  # unreadable replies reported one by one; the rest are counted
_ENHANCED_ONLY = re.compile(r"^[0-9]\.[0-9]{1,3}\.[0-9]{1,3}$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "reply", metavar="CODE|REPLY", nargs="+",
        help="a reply code (354), a reply line ('550 5.1.1 User unknown'; several words "
             "are joined with one space), a multi-line reply with \\n between lines, an "
             "enhanced status code (5.1.1), or '-' to read server replies from standard input",
    )
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per reply instead of text")


class _Painter:
    def __init__(self, on: bool) -> None:
        self.on = on

    def __call__(self, text: str, style: str) -> str:
        return f"{style}{text}{_RESET}" if self.on and text else text


def _input_text(words: list[str]) -> str:
    if words == ["-"]:
        # Server bytes as they came: octets that are not UTF-8 survive the round trip
        # (surrogateescape) so the reply parser can diagnose them.
        from smtptui.core.limits import MAX_FILE_OCTETS, InputTooLong

        data = sys.stdin.buffer.read(MAX_FILE_OCTETS + 1)
        if len(data) > MAX_FILE_OCTETS:
            raise InputTooLong(f"<stdin>: more than {MAX_FILE_OCTETS} octets of replies "
                               "(stopped reading)")
        return data.decode("utf-8", "surrogateescape")
    text = " ".join(words)
    if "\n" not in text and "\\n" in text:
        text = text.replace("\\r\\n", "\n").replace("\\n", "\n")
    return text


def run(args: argparse.Namespace) -> int:
    out = sys.stdout
    if hasattr(out, "reconfigure"):
        out.reconfigure(errors="backslashreplace")
    paint = _Painter(use_colour(out))
    try:
        text = _input_text(args.reply).strip("\r\n")
    except ValueError as exc:  # InputTooLong
        print(f"explain: {exc}", file=sys.stderr)
        return 2
    stripped = text.strip()
    if not stripped:
        print("explain: no reply code or reply line given", file=sys.stderr)
        return 1
    if _ENHANCED_ONLY.match(stripped):
        return _run_enhanced(stripped, args.json, paint)
    if "\n" in stripped:
        # Several lines: one or more replies (e.g. pasted from a session).
        wire = b"".join(line.rstrip("\r").encode("utf-8", "surrogateescape") + b"\r\n"
                        for line in stripped.split("\n") if line.strip())
        replies: list[Reply | str] = list(parse_replies(wire))
    else:
        replies = [stripped]
    status = 0
    shown = 0
    unread = 0
    for number, reply in enumerate(replies, 1):
        where = f"reply {number}: " if len(replies) > 1 else ""
        try:
            e = explain(reply)
        except ValueError as exc:
            unread += 1
            if unread <= _MAX_ERRORS:
                print(f"explain: {where}{exc}", file=sys.stderr)
            status = 1
            continue
        if args.json:
            out.write(json.dumps(e.to_dict(), ensure_ascii=False) + "\n")
        else:
            if shown:
                out.write("\n")
            out.write(render(e, paint))
        shown += 1
        if not e.known:
            print(f"explain: {where}{e.code} is not a reply code RFC 821, RFC 5321 or the "
                  f"SMTP extensions define; read by its first digit it is "
                  f"{e.reply_class.label} (RFC 5321 §4.2.1)", file=sys.stderr)
            status = 1
    if unread > _MAX_ERRORS:
        print(f"explain: ... and {unread - _MAX_ERRORS} more lines that are not replies "
              f"({unread} of {len(replies)} in all)", file=sys.stderr)
    return status


def _run_enhanced(code: str, as_json: bool, paint: _Painter) -> int:
    try:
        info = explain_enhanced(code)
    except ValueError as exc:
        print(f"explain: {exc}", file=sys.stderr)
        return 1
    if as_json:
        sys.stdout.write(json.dumps(_enhanced_dict(info), ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(_render_enhanced_only(info, paint))
    subject = int(info.code.split(".")[1])
    if subject not in ENHANCED_SUBJECTS:
        print(f"explain: {info.code}: subject {subject} is not defined by RFC 3463 (subjects "
              f"{min(ENHANCED_SUBJECTS)}-{max(ENHANCED_SUBJECTS)})", file=sys.stderr)
        return 1
    return 0


def _enhanced_dict(info: EnhancedInfo) -> dict[str, object]:
    return {
        "enhanced": info.code, "meaning": info.meaning, "class_meaning": info.class_meaning,
        "subject_meaning": info.subject_meaning, "detail_meaning": info.detail_meaning,
        "rfc": info.rfc, "known": info.known,
        "diagnostics": [d.to_dict() for d in info.diagnostics],
    }


def _row(label: str, value: str, paint: _Painter) -> str:
    lines = value.split("\n")
    head = f"  {paint(f'{label:<11}', _DIM)}{lines[0]}\n"
    return head + "".join(f"  {'':<11}{line}\n" for line in lines[1:])


def _diag_lines(diags: tuple[Diagnostic, ...], paint: _Painter) -> str:
    out = []
    for d in diags:
        style = _STYLE["error"] if d.is_error else _STYLE["warning"]
        rule = f" [{d.rule}]" if d.rule else ""
        out.append(f"  {paint(str(d.severity) + ':', style)} {d.message}{paint(rule, _DIM)}\n")
    return "".join(out)


def render(e: Explanation, paint: _Painter | None = None) -> str:
    """The human-readable explanation (colour codes only if ``paint`` is on)."""
    paint = paint or _Painter(False)
    style = _STYLE[e.style]
    if e.reply is not None:
        shown = e.reply.lines[:_MAX_SHOWN]
        header = "\n".join(
            paint(str(e.code), style) + ("-" if i < len(e.reply.lines) - 1 else " ")
            + printable(line, None, backslash=False, keep="\t")
            for i, line in enumerate(shown)
        )
        if len(e.reply.lines) > _MAX_SHOWN:
            header += "\n" + paint(f"... {len(e.reply.lines) - _MAX_SHOWN} more lines", _DIM)
    else:
        # The RFC line names RFC 821 first: show RFC 821's words here, and RFC 5321's
        # below, labelled, since its "(See Section 3.4)" means RFC 5321's sections.
        first = e.rfc_text_821 if e.rfc.startswith("RFC 821") and e.rfc_text_821 else e.rfc_text
        if first is e.rfc_text and not e.rfc.startswith("RFC 5321") and _SEE.search(first):
            first = _SEE.sub("", first)  # its "See Section" is RFC 5321's: shown below
        header = paint(str(e.code), style) + (f" {first}" if first else "")
    parts = [header + "\n"]
    parts.append(_row("class", paint(f"{e.code // 100}yz {e.reply_class.label}", style)
                      + f": {e.reply_class.meaning}", paint))
    parts.append(_row("meaning", e.meaning, paint))
    parts.append(_row("RFC", e.rfc, paint))
    if e.rfc_text and e.reply is not None:
        parts.append(_row("RFC text", e.rfc_text_821 or e.rfc_text, paint))
    if (e.rfc_text_821 and e.rfc_text != e.rfc_text_821) or (
            e.reply is None and e.rfc_text and not e.rfc.startswith("RFC 5321")
            and _SEE.search(e.rfc_text)):
        parts.append(_row("RFC 5321", e.rfc_text, paint))
    parts.append(_row("digits", "\n".join(e.digits), paint))
    if e.commands or e.greeting:
        when = ("the connection greeting" + (", " if e.commands else "")) if e.greeting else ""
        parts.append(_row("replies to", when + " ".join(e.commands), paint))
    if e.notes:
        parts.append(_row("notes", e.notes, paint))
    if e.enhanced:
        cls, subject, detail = e.enhanced.split(".")
        parts.append(_row("enhanced", f"{e.enhanced} {e.enhanced_meaning}", paint))
        parts.append(_row("", f"class   {cls} = {e.enhanced_class_meaning}", paint))
        parts.append(_row("", f"subject {subject} = {e.enhanced_subject_meaning}", paint))
        parts.append(_row("", f"detail  {detail} = "
                              + (e.enhanced_detail or "not enumerated: read the subject "
                                                      "(RFC 3463 §2)"), paint))
    parts.append(_diag_lines(e.diagnostics, paint))
    return "".join(parts)


_SEE = re.compile(r" \([Ss]ee Section [0-9.]+\)")


def _render_enhanced_only(info: EnhancedInfo, paint: _Painter) -> str:
    klass, subject, detail = info.code.split(".")
    style = {"2": _STYLE["success"], "4": _STYLE["warning"]}.get(klass, _STYLE["error"])
    parts = [paint(info.code, style) + f" {info.meaning}\n"]
    parts.append(_row("class", f"{klass} = {info.class_meaning}", paint))
    parts.append(_row("subject", f"{subject} = {info.subject_meaning}", paint))
    parts.append(_row("detail", f"{detail} = " + (info.detail_meaning or
                                                   "not enumerated: read the subject"), paint))
    parts.append(_row("RFC", info.rfc, paint))
    parts.append(_diag_lines(info.diagnostics, paint))
    return "".join(parts)
