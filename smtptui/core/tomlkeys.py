"""Where a key is written in a TOML text: line and column, for error messages.

``tomllib`` reports positions only for syntax errors, not for values, yet a learner or a
teacher editing a world or a lesson file needs to know exactly where the problem is.
These functions scan the text for table headers, ``key =`` lines and inline-table keys.
Shared by the world loader (:mod:`smtptui.server.world`) and the lesson loader
(:mod:`smtptui.teaching.loader`), so both point at the same place.
"""

from __future__ import annotations

import re
import tomllib

__all__ = ["locate_key", "locate_key_column", "toml_error_position"]

_BARE = r"[A-Za-z0-9_-]+"
_KEYPART = rf'(?:{_BARE}|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
_DOTTED = rf"{_KEYPART}(?:\s*\.\s*{_KEYPART})*"
_HEADER_RE = re.compile(rf"^\s*(\[\[|\[)\s*({_DOTTED})\s*\]\]?")
_KEYLINE_RE = re.compile(rf"^\s*({_DOTTED})\s*=")
_INLINE_KEY_RE = re.compile(rf"[{{,]\s*({_DOTTED})\s*=")
_POSITION_RE = re.compile(r"\(at line (\d+), column (\d+)\)")


def _split_dotted(text: str) -> tuple[str, ...]:
    parts = re.findall(_KEYPART, text)
    out = []
    for p in parts:
        if p[:1] == '"':
            try:  # a basic string may hold escapes (\u001b); let TOML decode them
                p = tomllib.loads(f"k = {p}")["k"]
            except tomllib.TOMLDecodeError:
                p = p[1:-1]
        elif p[:1] == "'":
            p = p[1:-1]
        out.append(p)
    return tuple(out)


def locate_key_column(text: str, path: tuple[str | int, ...]) -> tuple[int, int]:
    """The 1-based (line, column) where ``path`` (table keys and array indexes) is
    written. Falls back to the closest enclosing key or table header, then to (1, 1)."""
    best, best_len = (1, 1), -1
    table: tuple[str | int, ...] = ()
    counters: dict[tuple, int] = {}
    target = tuple(path)
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.split("#", 1)[0] if '"' not in line and "'" not in line else line
        m = _HEADER_RE.match(stripped)
        if m:
            keys = _split_dotted(m.group(2))
            if m.group(1) == "[[":
                idx = counters.get(keys, -1) + 1
                counters[keys] = idx
                table = keys + (idx,)
            else:
                table = keys
            full = table
            column = m.start(1) + 1
        else:
            m = _KEYLINE_RE.match(stripped)
            if not m:
                continue
            full = table + _split_dotted(m.group(1))
            column = m.start(1) + 1
            # keys of inline tables on the same line
            for im in _INLINE_KEY_RE.finditer(stripped, m.end()):
                inner = full + _split_dotted(im.group(1))
                n = _common(inner, target)
                if n > best_len:
                    best, best_len = (lineno, im.start(1) + 1), n
        n = _common(full, target)
        if n > best_len:
            best, best_len = (lineno, column), n
    return best


def locate_key(text: str, path: tuple[str | int, ...]) -> int:
    """The 1-based line where ``path`` is written (see :func:`locate_key_column`)."""
    return locate_key_column(text, path)[0]


def toml_error_position(exc: tomllib.TOMLDecodeError) -> tuple[int, int, str]:
    """(line, column, message without the position) of a TOML syntax error.

    Python 3.14 gives ``lineno``/``colno``; earlier versions only put them in the text.
    """
    message = str(getattr(exc, "msg", None) or exc)
    line = getattr(exc, "lineno", None)
    col = getattr(exc, "colno", None)
    m = _POSITION_RE.search(str(exc))
    if (line is None or col is None) and m:
        line, col = int(m.group(1)), int(m.group(2))
    message = _POSITION_RE.sub("", message).strip()
    return int(line or 1), int(col or 1), message


def _common(a: tuple, b: tuple) -> int:
    """How much of ``b`` (the wanted path) the written key ``a`` locates: ``len(a)`` when
    ``a`` is a prefix of ``b``; ``len(b)`` when ``b`` is a table written through dotted
    keys inside it (``say.en = ...`` locates ``say``); else -1."""
    if len(a) > len(b):
        return len(b) if tuple(a[: len(b)]) == tuple(b) else -1
    if tuple(b[: len(a)]) != tuple(a):
        return -1
    return len(a)
