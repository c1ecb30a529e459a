"""How the shell writes things down: entries, explanations, diagnostics, the prompt label.

Shared by the prompt (:mod:`.repl`) and the pipe driver (:mod:`.pipe`), so both say the
same thing the same way. Colour is a decision made once by the caller (a terminal, no
``NO_COLOR``, no ``TERM=dumb``); without it every line is plain words -- what a screen
reader should get -- and nothing here depends on colour to carry meaning.

Peer text reaches the terminal only through the core's transcript lines (control
characters escaped) or :func:`smtptui.session.printable`. No prompt_toolkit here.
"""

from __future__ import annotations

from smtptui.core.transcript import Direction, entry_lines, escape_bytes
from smtptui.session import printable

TYPE_CHECKING = False  # typing is for type checkers: not imported at start-up
if TYPE_CHECKING:
    from smtptui.core.codes import Explanation
    from smtptui.core.diagnostics import Diagnostic
    from smtptui.core.transcript import Entry
    from smtptui.session.events import StateChanged

__all__ = ["Palette", "diagnostic_line", "entry_display", "explain_lines", "prompt_label"]

DATA_PREVIEW_LINES = 20
"""Message lines shown for a streamed message (the rest is counted, not printed)."""

_CODES = {"success": "32", "info": "36", "warning": "33", "error": "1;31", "dim": "2",
          "client": "1", "note": "2;3"}


class Palette:
    """ANSI styles by role; with ``colour`` off every method returns the text as is."""

    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def paint(self, role: str, text: str) -> str:
        code = _CODES.get(role)
        if not self.colour or not code or not text:
            return text
        return f"\x1b[{code}m{text}\x1b[0m"


def _class_role(code: int | None) -> str:
    if code is None:
        return "error"
    return {2: "success", 3: "info", 4: "warning", 5: "error"}.get(code // 100, "info")


def explanation_line(explanation: Explanation) -> str:
    """One line of meaning under a reply: class, meaning, and the enhanced code's."""
    text = f"{explanation.code} {explanation.reply_class.label}: {explanation.meaning}"
    if explanation.enhanced and explanation.enhanced_meaning:
        text += f" [{explanation.enhanced}: {explanation.enhanced_meaning}]"
    return text


def entry_display(entry: Entry, palette: Palette, *, raw: bool = False,
                  explanation: Explanation | None = None, explain: bool = True) -> list[str]:
    """An entry as the user sees it: ``C:``/``S:`` lines (a reply coloured by its class),
    the reply's meaning on a dimmed line below it; ``raw`` shows the exact octets
    (CRLF included) instead, secrets still masked."""
    if raw and entry.direction is not Direction.NOTE and not entry.secret:
        prefix = "C: " if entry.direction is Direction.CLIENT else "S: "
        return [palette.paint("dim" if entry.direction is Direction.CLIENT else
                              _class_role(entry.code), prefix + escape_bytes(entry.raw))]
    lines = entry_lines(entry)
    if entry.direction is Direction.CLIENT:
        if len(lines) > DATA_PREVIEW_LINES:  # a streamed message: show its start
            more = len(lines) - DATA_PREVIEW_LINES
            lines = [*lines[:DATA_PREVIEW_LINES], f"C: ... {more} more lines"]
        return [palette.paint("client", line) for line in lines]
    if entry.direction is Direction.NOTE:
        return [palette.paint("note", line) for line in lines]
    role = _class_role(entry.code)
    out = [palette.paint(role, line) for line in lines]
    if explain and explanation is not None:
        out.append(palette.paint("dim", "   = " + explanation_line(explanation)))
    return out


def diagnostic_line(diagnostic: Diagnostic, *, where: str = "") -> str:
    """``[where: ]column N: error: message (rule)`` -- columns counted from 1, as editors do."""
    rule = f" ({diagnostic.rule})" if diagnostic.rule else ""
    head = f"{where}: " if where else ""
    message = printable(diagnostic.message, 400, backslash=False)
    return f"{head}column {diagnostic.start + 1}: {diagnostic.severity}: {message}{rule}"


def explain_lines(explanation: Explanation) -> list[str]:
    """What ``/explain CODE`` prints: the meaning, each digit, the RFC, the RFC's words."""
    e = explanation
    lines = [f"{e.code}: {e.meaning}"]
    lines += [f"  {digit}" for digit in e.digits]
    lines.append(f"  defined in: {e.rfc}")
    if e.rfc_text:
        lines.append(f"  the RFC says: {e.rfc_text}")
    if e.notes:
        lines.append(f"  note: {e.notes}")
    if e.commands:
        lines.append(f"  a reply to: {' '.join(e.commands)}")
    if e.enhanced:
        lines.append(f"  {e.enhanced}: {e.enhanced_meaning or 'unknown enhanced code'}")
        for part in (e.enhanced_class_meaning, e.enhanced_subject_meaning):
            if part:
                lines.append(f"    {part}")
    for d in e.diagnostics:
        lines.append(f"  {d.severity}: {d.message}")
    return lines


def prompt_label(snapshot: StateChanged, host: str | None) -> str:
    """``smtp[mx1.lab.test mail rcpt:2 tls]``: where the session is, in a few words."""
    parts = [printable(host, 60) if host else "not connected"]
    if host:
        parts.append(snapshot.state.name.lower())
        if snapshot.recipients:
            parts.append(f"rcpt:{snapshot.recipients}")
        if snapshot.tls is not None:
            parts.append("tls")
        if snapshot.authenticated:
            parts.append("auth")
    return f"smtp[{' '.join(parts)}]"
