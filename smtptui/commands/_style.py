"""Terminal output shared by the headless commands: when to colour, and how.

One rule for every command: ANSI colour only when the stream is a terminal, never when
``NO_COLOR`` is set (no-color.org) or ``TERM=dumb``; ``FORCE_COLOR`` (force-color.org)
turns it on for a pipe, e.g. to record screenshots. ANSI codes are written by hand so
that headless commands never import rich.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing is not imported at run time: headless commands start faster
if TYPE_CHECKING:
    from typing import ClassVar, TextIO


def use_colour(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR", "") != "" or os.environ.get("TERM") == "dumb":
        return False
    if os.environ.get("FORCE_COLOR", "") not in ("", "0"):
        return True
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class Style:
    """Named ANSI styles; every method returns the text unchanged when colour is off."""

    _CODES: ClassVar[dict[str, str]] = {
        "ok": "32", "fail": "1;31", "warn": "33", "head": "1", "kw": "36",
        "dim": "2", "label": "34",
    }

    def __init__(self, colour: bool) -> None:
        self.colour = colour

    @classmethod
    def for_stream(cls, stream: TextIO) -> Style:
        return cls(use_colour(stream))

    def _wrap(self, kind: str, text: str) -> str:
        return f"\x1b[{self._CODES[kind]}m{text}\x1b[0m" if self.colour and text else text

    def ok(self, text: str) -> str:
        return self._wrap("ok", text)

    def fail(self, text: str) -> str:
        return self._wrap("fail", text)

    def warn(self, text: str) -> str:
        return self._wrap("warn", text)

    def head(self, text: str) -> str:
        return self._wrap("head", text)

    def kw(self, text: str) -> str:
        return self._wrap("kw", text)

    def dim(self, text: str) -> str:
        return self._wrap("dim", text)

    def label(self, text: str) -> str:
        return self._wrap("label", text)
