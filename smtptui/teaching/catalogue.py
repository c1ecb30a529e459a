"""Where the lessons are, and how a learner names one (``05``, ``5``, ``hostA-hostB``).

The catalogue is the ``NN-slug.toml`` files of one directory: ``smtptui/lessons_data``
in an installed wheel (the build maps the repository's ``lessons/`` there), else the
repository's ``lessons/`` next to the package (a source checkout or editable install).
"""

from __future__ import annotations

import re
from pathlib import Path

from smtptui.core.text import is_ascii_digits

__all__ = ["catalogue_dir", "find_lesson", "lesson_files", "slug_of"]

_FILE_RE = re.compile(r"^([0-9]{1,3})-(.+)\.toml$")


def catalogue_dir() -> Path:
    package = Path(__file__).resolve().parent.parent
    packaged = package / "lessons_data"
    if packaged.is_dir():
        return packaged
    return package.parent / "lessons"


def lesson_files(directory: Path | None = None) -> list[Path]:
    """The catalogue's lesson files, in catalogue order (by number)."""
    d = catalogue_dir() if directory is None else directory
    if not d.is_dir():
        return []
    found = [p for p in d.iterdir() if _FILE_RE.match(p.name) and p.is_file()]
    return sorted(found, key=lambda p: (int(_FILE_RE.match(p.name).group(1)), p.name))  # type: ignore[union-attr]


def slug_of(path: Path) -> str | None:
    """``05-typical-transaction.toml`` -> ``typical-transaction`` (the lesson's id)."""
    m = _FILE_RE.match(path.name)
    return m.group(2) if m else None


def find_lesson(ref: str, directory: Path | None = None) -> Path | None:
    """The catalogue file named by a number (``5``, ``05``), an id (the file's slug,
    case-insensitively) or a file stem (``05-typical-transaction``)."""
    ref = ref.strip()
    for p in lesson_files(directory):
        m = _FILE_RE.match(p.name)
        assert m is not None
        if is_ascii_digits(ref) and int(ref) == int(m.group(1)):
            return p
        if ref.lower() in (m.group(2).lower(), p.stem.lower()):
            return p
    return None
