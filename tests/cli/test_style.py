"""One colour rule for every headless command (smtptui.commands._style)."""

from __future__ import annotations

import io

import pytest

from smtptui.commands._style import Style, use_colour


class _TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("env", "tty", "expected"),
    [
        ({}, True, True),                                   # a terminal: colour
        ({}, False, False),                                 # a pipe: plain
        ({"NO_COLOR": "1"}, True, False),                   # no-color.org wins
        ({"TERM": "dumb"}, True, False),
        ({"FORCE_COLOR": "1"}, False, True),                # force-color.org, e.g. screenshots
        ({"FORCE_COLOR": "0"}, False, False),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False, False),
        ({"NO_COLOR": ""}, True, True),                     # empty NO_COLOR is unset
    ],
)
def test_use_colour(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], tty: bool,
                    expected: bool) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    stream = _TTY() if tty else io.StringIO()
    assert use_colour(stream) is expected


def test_closed_stream_is_not_a_terminal() -> None:
    stream = io.StringIO()
    stream.close()
    assert use_colour(stream) is False


def test_style_wraps_only_when_colour_is_on() -> None:
    assert Style(True).fail("x") == "\x1b[1;31mx\x1b[0m"
    assert Style(False).fail("x") == "x"
    assert Style(True).ok("") == ""
