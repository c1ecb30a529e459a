"""Bounded reading of files and streams: whatever a user points smtptui at (a script, a
world, a lesson, standard input -- or ``/dev/zero``), what is held in memory is capped
and the user gets one line saying what was too long, never a MemoryError."""

from __future__ import annotations

import os
from collections.abc import Iterator

TYPE_CHECKING = False  # typing is not imported at run time: `smtptui check` starts faster
if TYPE_CHECKING:
    from typing import BinaryIO

__all__ = [
    "MAX_FILE_OCTETS",
    "MAX_LINE_OCTETS",
    "InputTooLong",
    "limited_lines",
    "read_limited",
]

MAX_FILE_OCTETS = 16 * 1024 * 1024
"""Scripts, worlds and lessons are read whole: at most this much."""
MAX_LINE_OCTETS = 1024 * 1024
"""A line read from standard input (an SMTP command line is at most 512 octets, a reply
line 512, a text line 1000): room for anything legitimate and for deliberately
over-long lines to be diagnosed, while an endless one is refused."""


class InputTooLong(ValueError):
    """A file or a line over its cap; the message says which and how long it may be."""


def read_limited(path: str | os.PathLike[str], limit: int = MAX_FILE_OCTETS,
                 what: str = "file") -> bytes:
    """The bytes of ``path`` if it holds at most ``limit`` octets; InputTooLong if not
    (only ``limit + 1`` octets are ever read), OSError if it cannot be read."""
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise InputTooLong(f"{os.fspath(path)}: the {what} is longer than {limit} octets")
    return data


def limited_lines(stream: BinaryIO, limit: int = MAX_LINE_OCTETS,
                  name: str = "<stdin>") -> Iterator[bytes]:
    """The lines of ``stream`` (line ends kept), each at most ``limit`` octets; a longer
    line raises InputTooLong naming its number (reading stops there)."""
    number = 0
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) > limit:
            raise InputTooLong(f"{name}:{number}: line longer than {limit} octets "
                               "(stopped reading)")
        yield line
