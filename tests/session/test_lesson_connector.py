"""Where a guided lesson connects: a fresh embedded server with the lesson's world, or a
TARGET only for lessons that allow one."""

from __future__ import annotations

import pytest

from smtptui.commands.lessons import load, resolve
from smtptui.session import ConnectSpec, lesson_connector


def lesson(ref: str):  # type: ignore[no-untyped-def]
    path = resolve(ref)
    assert path is not None
    return load(path)


def test_each_call_is_a_fresh_embedded_server_with_the_lessons_world() -> None:
    first, second = lesson_connector(lesson("01")), lesson_connector(lesson("01"))
    assert first is not second  # a restarted lesson finds the world as written
    assert first.embedded and first.hostname == "hostB"  # type: ignore[attr-defined]
    assert first.persona == "rfc821"  # type: ignore[attr-defined]


def test_a_lesson_without_real_server_refuses_a_target() -> None:
    with pytest.raises(ValueError, match="needs the embedded teaching server's world"):
        lesson_connector(lesson("16"), ConnectSpec(target="127.0.0.1:2525"))
    target = lesson_connector(lesson("01"), ConnectSpec(target="127.0.0.1:2525"))
    assert not target.embedded


def test_default_host_picks_another_host_of_the_world() -> None:
    connector = lesson_connector(lesson("07"))
    assert connector.label(None) == "embedded server as USC-ISIE.ARPA"
    connector.default_host = "BBN-VAX.ARPA"  # type: ignore[attr-defined]
    assert connector.label(None) == "embedded server as BBN-VAX.ARPA"
