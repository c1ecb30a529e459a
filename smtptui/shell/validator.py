"""Checking a line before it is sent: the session's check, the cursor put on the error.

An error keeps the line in the prompt with the cursor at the error's column and the
message in the toolbar; pressing Enter again on the unchanged line sends it anyway (a
learner may want to see what the server says to a broken command -- that is how one
learns what a 501 looks like). Warnings never block: the toolbar shows them as you type.
Message text, SASL responses and the shell's ``/`` commands are not checked here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from prompt_toolkit.document import Document
from prompt_toolkit.validation import ValidationError, Validator

if TYPE_CHECKING:
    from smtptui.core.diagnostics import Diagnostic

__all__ = ["SessionValidator"]


class SessionValidator(Validator):
    """``check(line)`` gives the diagnostics; ``active()`` says whether lines are commands
    now (not message text)."""

    def __init__(self, check: Callable[[str], list[Diagnostic]],
                 active: Callable[[], bool]) -> None:
        self._check = check
        self._active = active
        self._rejected: str | None = None

    def validate(self, document: Document) -> None:
        text = document.text
        if not self._active() or text.startswith("/") or not text.strip():
            return
        if text == self._rejected:
            self._rejected = None  # the second Enter: send it anyway
            return
        errors = [d for d in self._check(text) if d.is_error]
        if not errors:
            self._rejected = None
            return
        self._rejected = text
        first = errors[0]
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        rule = f" ({first.rule})" if first.rule else ""
        raise ValidationError(
            cursor_position=max(0, min(first.start, len(text))),
            message=f"column {first.start + 1}: {first.message}{rule}{more} "
                    "-- Enter again to send it anyway")
