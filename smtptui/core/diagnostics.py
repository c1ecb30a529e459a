"""Diagnostics: what the grammar checker, reply parser and state machine report.

A diagnostic never aborts anything; it is information for the person at the keyboard.
"""

from __future__ import annotations

import enum

from smtptui.core.frozen import frozen


class Severity(str, enum.Enum):
    """ERROR: a server may reject it. WARNING: legal or commonly accepted, worth knowing.
    NOTE: valid; a fact about the form (e.g. where the grammar and the RFC's prose differ)."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"

    def __str__(self) -> str:  # "error", not "Severity.ERROR"
        return self.value


@frozen
class Diagnostic:
    """One finding about a command line, a reply or a step of the session.

    ``start``/``end`` are a 0-based half-open column span in the checked text
    (``end == start + 1`` for a single character; ``start == end`` at the end of line).
    ``rule`` names the grammar rule or RFC section, e.g. ``"RFC 5321 §4.1.2 Mailbox"``.
    """

    severity: Severity
    start: int
    end: int
    message: str
    rule: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity.value,
            "column": self.start,
            "end": self.end,
            "message": self.message,
            "rule": self.rule,
        }


def error(start: int, end: int, message: str, rule: str = "") -> Diagnostic:
    return Diagnostic(Severity.ERROR, start, end, message, rule)


def warning(start: int, end: int, message: str, rule: str = "") -> Diagnostic:
    return Diagnostic(Severity.WARNING, start, end, message, rule)
