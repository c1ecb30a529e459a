"""The locale rule: LANG=ja_JP.UTF-8 teaches in Japanese."""

from __future__ import annotations

import pytest

from smtptui.teaching.language import language_from_env, pick_language


@pytest.mark.parametrize(("env", "lang"), [
    ({}, "en"),
    ({"LANG": "ja_JP.UTF-8"}, "ja"),
    ({"LANG": "ja"}, "ja"),
    ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LANG": "ja_JP.UTF-8", "LC_ALL": "C"}, "en"),
    ({"LANG": "en_GB.UTF-8", "LC_MESSAGES": "ja_JP.eucJP"}, "ja"),
    ({"LC_ALL": "", "LANG": "ja_JP.UTF-8"}, "ja"),
    ({"LANG": "C.UTF-8"}, "en"),
])
def test_language_from_env(env: dict[str, str], lang: str) -> None:
    assert language_from_env(env) == lang


def test_pick_language() -> None:
    assert pick_language(("en", "ja"), None, {"LANG": "ja_JP.UTF-8"}) == "ja"
    assert pick_language(("en", "ja"), "en", {"LANG": "ja_JP.UTF-8"}) == "en"
    assert pick_language(("en",), None, {"LANG": "ja_JP.UTF-8"}) == "en"
    assert pick_language(("ja",), None, {}) == "ja"
    with pytest.raises(ValueError, match="written in en"):
        pick_language(("en",), "ja", {})
