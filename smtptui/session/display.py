"""Making peer text safe to show: the one place front ends get it from.

Whatever a server sends (greeting, reply text, a line after TURN) may hold control
characters or escape sequences meant for the user's terminal; front ends show it only
through :func:`terminal_safe`. The common case (printable text) costs one C-level check,
so a 100,000-line reply stays cheap to render.
"""

from __future__ import annotations

from smtptui.net.errors import printable

__all__ = ["terminal_safe"]


def terminal_safe(text: str) -> str:
    """``text`` with control characters, escape sequences and other non-printables shown
    as ``\\xNN`` / ``\\uNNNN`` escapes (tabs as ``\\t``); printable text is returned as is."""
    return printable(text, None, backslash=False)  # printable text returns at C speed
