"""Snapshots of the app's screens (pytest-textual-snapshot): a change in what the user
sees shows up as an SVG diff. Deterministic: fixed size, the embedded server (its texts
are fixed), the port and latencies masked, the composer's clock fixed.

Update after an intended change: ``pytest tests/tui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import re

from smtptui.session import ConnectSpec
from smtptui.tui.app import SmtpApp

from .conftest import until

SIZE = (100, 30)
FIXED_TIME = 1_700_000_000.0


def stable(text: str) -> str:
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)
    return re.sub(r"\d+(?:\.\d+)? ms", "N ms", text)


def make_app(**spec: object) -> SmtpApp:
    return SmtpApp(ConnectSpec(**spec), mask_text=stable,  # type: ignore[arg-type]
                   fixed_time=FIXED_TIME)


def has_row(app: SmtpApp, start: str) -> bool:
    return any(r.startswith(start) for r in app.main.transcript.row_texts())


async def send(pilot, line: str, expect: str) -> None:
    app = pilot.app
    await until(pilot, lambda: has_row(app, "S: 220"), "the greeting")
    command = app.main.command
    command.value = line
    command.cursor_position = len(line)
    await pilot.press("enter")
    await until(pilot, lambda: has_row(app, expect), expect)


async def after_ehlo(pilot) -> None:
    await send(pilot, "EHLO me.example", "S:┌250-")


def test_main_screen_after_ehlo(snap_compare) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=after_ehlo)


def test_completion_dropdown_open(snap_compare) -> None:
    async def run(pilot) -> None:
        await after_ehlo(pilot)
        await pilot.press("M", "A", "I", "L", "space", "F", "R", "O", "M", ":", "<", "a",
                          "l", "i", "c", "e", "@", "s", "m", "t", "p", "t", "u", "i", ".",
                          "t", "e", "s", "t", ">", "space")

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run)


def test_validation_error(snap_compare) -> None:
    async def run(pilot) -> None:
        await after_ehlo(pilot)
        command = pilot.app.main.command
        command.value = "MAIL FROM:<alice@>"
        command.cursor_position = len(command.value)
        await pilot.press("enter")  # the first Enter asks before sending a broken line

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run)


def test_data_composer(snap_compare) -> None:
    async def run(pilot) -> None:
        await after_ehlo(pilot)
        await send(pilot, "MAIL FROM:<alice@smtptui.test>", "S: 250 2.1.0")
        await send(pilot, "RCPT TO:<bob@smtptui.test>", "S: 250 2.1.5")
        await send(pilot, "DATA", "S: 354")
        composer = pilot.app.main.composer
        await until(pilot, lambda: composer.display, "the composer")
        composer.editor.text += "こんにちは、ボブ。\n.dot line\n"

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run)


def test_connect_dialog(snap_compare) -> None:
    async def run(pilot) -> None:
        await until(pilot, lambda: has_row(pilot.app, "S: 220"), "the greeting")
        await pilot.press("ctrl+o")

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run)


def test_raw_view(snap_compare) -> None:
    async def run(pilot) -> None:
        await after_ehlo(pilot)
        await pilot.press("f3")

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run)


def test_turn_mode(snap_compare) -> None:
    async def run(pilot) -> None:
        await send(pilot, "HELO client.example", "S: 250")
        await send(pilot, "TURN", "S: 250")
        await send(pilot, "220 client.example ready", "R: HELO")
        command = pilot.app.main.command
        command.value = "2"
        command.cursor_position = 1
        command.refresh_assist()

    assert snap_compare(make_app(persona="rfc821"), terminal_size=SIZE, run_before=run)


def test_main_screen_at_80_by_24(snap_compare) -> None:
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=after_ehlo)


# -- the guided mode (smtptui lesson) ------------------------------------------------------


def lesson_app(ref: str, lang: str) -> SmtpApp:
    from smtptui.commands.lessons import load, resolve
    from smtptui.tui.guided import GuidedApp

    path = resolve(ref)
    assert path is not None
    return GuidedApp(load(path), lang, mask_text=stable, fixed_time=FIXED_TIME)


async def guided_mid_lesson(pilot) -> None:
    """Lesson 1, step 3: HELO done, then a MAIL with a space after 'FROM:' refused."""
    app = pilot.app
    await send(pilot, "HELO hostA", "S: 250 hostB")
    await until(pilot, lambda: app.guide.index == 2, "step 3")
    command = app.main.command
    command.value = "MAIL FROM: <send@hostA>"
    command.cursor_position = len(command.value)
    await pilot.press("enter")
    await until(pilot, lambda: app.guide.feedback and app.guide.feedback[0].kind == "refused",
                "the lesson's verdict")


def test_guided_mode_english(snap_compare) -> None:
    assert snap_compare(lesson_app("01", "en"), terminal_size=SIZE,
                        run_before=guided_mid_lesson)


def test_guided_mode_japanese(snap_compare) -> None:
    assert snap_compare(lesson_app("01", "ja"), terminal_size=SIZE,
                        run_before=guided_mid_lesson)


def test_guided_mode_japanese_at_80_by_24(snap_compare) -> None:
    async def run(pilot) -> None:
        await guided_mid_lesson(pilot)
        await pilot.press("f6")  # a hint, in Japanese, under the verdict
        await pilot.pause()

    assert snap_compare(lesson_app("01", "ja"), terminal_size=(80, 24), run_before=run)
