"""Which language to teach in when the learner did not say (``--lang``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["language_from_env", "pick_language"]


def language_from_env(environ: Mapping[str, str]) -> str:
    """``ja`` when the locale is Japanese, else ``en``.

    POSIX precedence: LC_ALL overrides LC_MESSAGES, which overrides LANG; the first one
    set and non-empty decides (``LANG=ja_JP.UTF-8`` -> ``ja``; ``LC_ALL=C`` -> ``en``).
    """
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "")
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


def pick_language(available: Sequence[str], requested: str | None,
                  environ: Mapping[str, str]) -> str:
    """``requested`` if given, else the locale's language if the lesson has it, else
    English, else the lesson's first language. ValueError for a requested language the
    lesson is not written in."""
    if requested is not None:
        if requested not in available:
            raise ValueError(f"--lang {requested}: this lesson is written in "
                             f"{', '.join(available)}")
        return requested
    wanted = language_from_env(environ)
    if wanted in available:
        return wanted
    return "en" if "en" in available else available[0]
