"""The guided mode (``smtptui lesson``), driven by Textual's Pilot against the embedded
teaching server playing each lesson's world: a learner who types it right, one who makes
a grammar mistake, a wrong-step mistake, asks for hints, steps back and restarts;
Japanese narration and the language switch; the demo (TURN and a lesson of several
sessions included); the summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from smtptui.commands.lessons import load, resolve
from smtptui.teaching.engine import VerdictKind
from smtptui.tui.guided import GuidedApp
from smtptui.tui.widgets.lesson import LessonPane

from .conftest import until

SIZE = (100, 30)


def lesson_app(ref: str, lang: str = "en", demo: float | None = None) -> GuidedApp:
    path = resolve(ref)
    assert path is not None
    return GuidedApp(load(path), lang, demo=demo)


def rows(app: GuidedApp) -> list[str]:
    return app.main.transcript.row_texts()


def has_row(app: GuidedApp, start: str) -> bool:
    return any(r.startswith(start) for r in rows(app))


def pane_text(app: GuidedApp) -> str:
    """What the lesson pane shows, joined (wrapping does not matter here)."""
    pane = app.main.query_one(LessonPane)
    parts = [str(node.render()) for node in pane.children if node.display]
    return " ".join(" ".join(parts).split())


def hint_text(app: GuidedApp) -> str:
    return str(app.main.query_one("#hint").render())


async def at_step(pilot, app: GuidedApp, n: int) -> None:
    """Wait until the lesson is at step ``n`` (1-based) with nothing pending."""
    await until(pilot, lambda: app.guide.index == n - 1 and not app.guide.replaying
                and not app.guide.engine.awaiting_reply, f"step {n}")


async def enter(pilot, app: GuidedApp, line: str) -> None:
    command = app.main.command
    command.value = line
    command.cursor_position = len(line)
    await pilot.press("enter")


async def type_step(pilot, app: GuidedApp, line: str, n_after: int) -> None:
    await enter(pilot, app, line)
    await at_step(pilot, app, n_after)


async def send_message(pilot, app: GuidedApp, text: str) -> None:
    composer = app.main.composer
    await until(pilot, lambda: composer.display, "the message editor")
    composer.editor.text = text
    await pilot.press("ctrl+j")


async def test_a_learner_who_types_it_right_gets_the_summary(data_home: Path) -> None:
    app = lesson_app("01")
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, app, 2)  # the greeting was step 1: observed, not typed
        text = pane_text(app)
        assert "Step 2 of 7" in text and "Introduce yourself" in text
        assert app.main.session is not None and app.main.session.dialect == "rfc821"
        await type_step(pilot, app, "HELO hostA", 3)
        text = pane_text(app)
        assert "Right: HELO hostA" in text and "As expected: 250 hostB" in text
        assert "Both sides now know each other's names" in text  # the step's explanation
        assert "session: greeted → ready" in text                # what the reply changed
        await type_step(pilot, app, "MAIL FROM:<send@hostA>", 4)
        await type_step(pilot, app, "RCPT TO:<recv@hostB>", 5)
        await type_step(pilot, app, "DATA", 6)
        assert "Ctrl+J sends the message" in pane_text(app)
        await send_message(pilot, app, "あんじょうよろしゅうにぃ。\n")
        await at_step(pilot, app, 7)
        await enter(pilot, app, "QUIT")
        await until(pilot, lambda: app.guide.engine.finished, "the end of the lesson")
        text = pane_text(app)
        assert "Summary" in text and "Done: 7 of 7 steps." in text
        assert "Covered • 220 hostB Simple Mail Transfer Service Ready You are hostA" in text
        assert "HELO hostA Introduce yourself •" in text
        assert "Mistakes none -- well done" in text
        assert "Hints: 0, answers shown: 0" in text
        assert "Read next • RFC 821 §3.1" in text and "RFC 1652" in text
        assert [r for r in rows(app) if r.startswith("C: ")] == [
            "C: HELO hostA", "C: MAIL FROM:<send@hostA>", "C: RCPT TO:<recv@hostB>",
            "C: DATA", "C: .  end of data: <CRLF>.<CRLF>", "C: QUIT"]
        # After the lesson the app is a normal session again: nothing is judged.
        assert app.guide.gate("NOOP") is None


async def test_a_grammar_mistake_is_not_sent_until_the_learner_insists(
        data_home: Path) -> None:
    app = lesson_app("01")
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, app, 2)
        await type_step(pilot, app, "HELO hostA", 3)
        await enter(pilot, app, "MAIL FROM: <send@hostA>")
        await pilot.pause()
        text = pane_text(app)
        assert "Not sent: no space is allowed after 'FROM:'" in text
        assert "RFC 821" in text
        assert "Enter again to send it anyway" in hint_text(app)
        assert "^" in hint_text(app).splitlines()[0]  # the caret under the space
        assert "Enter again sends it anyway" in pane_text(app)
        assert not has_row(app, "C: MAIL")
        assert app.main.command.value == "MAIL FROM: <send@hostA>"  # kept, to fix
        mistakes = app.guide.engine.summary().mistakes
        assert [m.kind for m in mistakes] == [VerdictKind.GRAMMAR]
        # Enter again: sent anyway -- the RFC 821 server answers, the step is not met.
        await pilot.press("enter")
        await until(pilot, lambda: has_row(app, "S: 501"), "the server's 501")
        await pilot.pause()
        assert app.guide.index == 2  # still the MAIL step
        text = pane_text(app)
        assert "Sent anyway, outside the lesson" in text
        assert "does not count" in text
        await type_step(pilot, app, "MAIL FROM:<send@hostA>", 4)
        assert app.guide.counts().grammar == 1 and app.guide.counts().insisted == 1


async def test_wrong_step_mistakes_hint_then_answer(data_home: Path) -> None:
    app = lesson_app("01")
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, app, 2)
        await type_step(pilot, app, "HELO hostA", 3)
        await enter(pilot, app, "RCPT TO:<recv@hostB>")  # a step too early
        await pilot.pause()
        assert "this step wants a MAIL command, not RCPT" in pane_text(app)
        assert not has_row(app, "C: RCPT")
        await type_step(pilot, app, "MAIL FROM:<send@hostA>", 4)
        await enter(pilot, app, "RCPT TO:<nobody@hostB>")  # right verb, other argument
        await pilot.pause()
        assert "right command (RCPT), but not what this step asks for" in pane_text(app)
        await pilot.press("f6")
        await pilot.pause()
        assert "? This step uses the RCPT command." in pane_text(app)
        await pilot.press("f6")
        await pilot.pause()
        assert "? Type: RCPT TO:<recv@hostB>" in pane_text(app)
        counts = app.guide.counts()
        assert (counts.wrong_step, counts.grammar) == (2, 0)
        summary = app.guide.engine.summary()
        assert (summary.hints, summary.reveals) == (1, 1)


async def test_step_back_replays_on_a_fresh_session(data_home: Path) -> None:
    app = lesson_app("01")
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, app, 2)
        await type_step(pilot, app, "HELO hostA", 3)
        await type_step(pilot, app, "MAIL FROM:<send@hostA>", 4)
        first_session, first_connector = app.session, app.guide.connector
        await pilot.press("f7")  # back to step 3 (MAIL): steps 1-2 replayed
        await at_step(pilot, app, 3)
        assert app.session is not first_session
        assert app.guide.connector is not first_connector  # a fresh server and world
        text = " ".join(" ".join(rows(app)).split())
        assert "one step back: a fresh session; steps 1-2 are replayed" in text
        assert [r for r in rows(app) if r.startswith("C: ")] == [
            "C: HELO hostA", "C: MAIL FROM:<send@hostA>", "C: HELO hostA"]
        assert "Back at step 3" in pane_text(app)
        await type_step(pilot, app, "MAIL FROM:<send@hostA>", 4)
        # Restart: from step 1 on another fresh session; the greeting passes by itself.
        await pilot.press("f9")
        await at_step(pilot, app, 2)
        assert "lesson restarted" in " ".join(rows(app))
        assert "Step 2 of 7" in pane_text(app)


async def test_japanese_narration_and_switching_language(data_home: Path) -> None:
    app = lesson_app("01", lang="ja")
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, app, 2)
        text = pane_text(app)
        assert "レッスン · はじめての SMTP" in text
        assert "ステップ 2 / 7" in text and "自己紹介をします" in text
        await enter(pilot, app, "MAIL FROM:<send@hostA>")
        await pilot.pause()
        assert "送信しませんでした: このステップで使うのは HELO コマンド" in pane_text(app)
        await pilot.press("ctrl+n")
        await pilot.pause()
        text = pane_text(app)
        assert "Step 2 of 7" in text and "Introduce yourself" in text
        assert "Language: English." in text
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert "言語: 日本語。" in pane_text(app)
        await pilot.press("f6")
        await pilot.pause()
        assert "HELO <SP> <domain>（RFC 821 §4.1.1）" in pane_text(app)


async def test_the_demo_types_the_whole_lesson(data_home: Path) -> None:
    app = lesson_app("01", demo=0.0)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.guide.engine.finished, "the demo's end")
        assert [r for r in rows(app) if r.startswith("C: ")] == [
            "C: HELO hostA", "C: MAIL FROM:<send@hostA>", "C: RCPT TO:<recv@hostB>",
            "C: DATA", "C: .  end of data: <CRLF>.<CRLF>", "C: QUIT"]
        assert any("あんじょうよろしゅうにぃ。" in r for r in rows(app))
        text = pane_text(app)
        assert "Done: 7 of 7 steps." in text and "none -- well done" in text


async def test_the_demo_answers_as_the_receiver_after_turn(data_home: Path) -> None:
    app = lesson_app("16", demo=0.0)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.guide.engine.finished, "the demo's end")
        assert has_row(app, "R: HELO USC-ISIF.ARPA")
        assert has_row(app, "C: 220 LBL-UNIX.ARPA")  # the learner's greeting, as receiver
        assert has_row(app, "C: 354 ")
        assert "Done: 10 of 10 steps." in pane_text(app)
        assert app.guide.counts().total == 0


async def test_the_demo_follows_a_lesson_of_several_sessions(data_home: Path) -> None:
    app = lesson_app("07", demo=0.0)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.guide.engine.finished, "the demo's end", timeout=40)
        text = " ".join(rows(app))
        assert "S: 220 USC-ISIE.ARPA" in text and "S: 220 BBN-VAX.ARPA" in text
        assert "the lesson's next session: connecting to" in text
        assert app.guide.connector.default_host == "BBN-VAX.ARPA"  # type: ignore[attr-defined]
        assert app.guide.counts().total == 0


async def test_the_demo_key_takes_over_and_gives_back(data_home: Path) -> None:
    app = lesson_app("05")
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, app, 2)
        app.guide.pace = 0.01  # quick, but still typing when the key stops it
        await pilot.press("ctrl+r")
        await until(pilot, lambda: app.guide.index >= 3, "the demo typing")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: not app.guide.demo_on, "the demo to stop")
        assert "Demo off: your turn." in pane_text(app)
        assert not app.guide.engine.finished


async def test_an_empty_enter_is_not_a_mistake(data_home: Path) -> None:
    app = lesson_app("01")
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, app, 2)
        await pilot.press("enter")
        await pilot.pause()
        assert app.guide.engine.summary().mistakes == ()


async def test_keys_are_in_the_palette_and_help(data_home: Path) -> None:
    from smtptui.tui.screens.dialogs import HelpScreen

    app = lesson_app("01")
    async with app.run_test(size=SIZE) as pilot:
        await at_step(pilot, app, 2)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Lesson: hint (again: the answer)" in titles
        assert "Lesson: one step back" in titles
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        help_text = str(app.screen.query_one("#help-text").render()) + " ".join(
            str(s.render()) for s in app.screen.query(".note"))
        assert "f6" in help_text and "Lesson: hint" in help_text
        assert "fresh session" in help_text  # what "back" means, said where keys are


@pytest.mark.parametrize("argv, message", [
    (["lesson", "01", "--demo", "fast"], "expected seconds per character"),
    (["lesson", "16", "127.0.0.1:25"], "needs the embedded teaching server's world"),
])
def test_lesson_command_refuses_bad_arguments(argv: list[str], message: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from smtptui.cli import main

    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        status = exc.code
    assert status == 2
    assert message in capsys.readouterr().err


async def test_the_demo_meets_a_421_and_a_554_greeting(data_home: Path) -> None:
    """Lesson 18's last hosts end or refuse the session themselves: the guided mode moves
    on to the next host's greeting without a QUIT of ours."""
    app = lesson_app("18", demo=0.0)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.guide.engine.finished, "the demo's end", timeout=60)
        text = " ".join(rows(app))
        assert "S: 451 4.3.0" in text
        assert "S: 421 closing.example" in text and "S: 554 refused.example" in text
        assert app.guide.counts().total == 0
