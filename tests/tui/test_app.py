"""The app, driven by Textual's Pilot against the embedded teaching server (in-process,
on the app's own loop): what a user types, what they see, and what is saved."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from smtptui.session import ConnectSpec
from smtptui.tui.app import SmtpApp
from smtptui.tui.screens.dialogs import AuthDialog, ExplainScreen, HelpScreen
from smtptui.tui.widgets.command import CommandInput
from smtptui.tui.widgets.transcript import TranscriptView

from .conftest import until

SIZE = (100, 30)


def rows(app: SmtpApp) -> list[str]:
    return app.main.transcript.row_texts()


def has_row(app: SmtpApp, start: str) -> bool:
    return any(r.startswith(start) for r in rows(app))


def styles(app: SmtpApp, start: str) -> list[str]:
    return [s for g, s, t, _d, _i in app.main.transcript.logical_rows()
            if (g + t).startswith(start)]


async def greeted(pilot, app: SmtpApp) -> None:
    await until(pilot, lambda: has_row(app, "S: 220 "), "the greeting")


async def send(pilot, app: SmtpApp, line: str, expect: str) -> None:
    """Type ``line`` (set whole: completion is tested on its own), Enter, wait for a row."""
    command = app.main.command
    command.value = line
    command.cursor_position = len(line)
    await pilot.press("enter")
    await until(pilot, lambda: has_row(app, expect), expect)


def notifications(app: SmtpApp) -> list[str]:
    return [n.message for n in app._notifications]


async def test_first_screen_says_what_to_type(data_home: Path) -> None:
    app = SmtpApp()
    async with app.run_test(size=SIZE) as pilot:
        await greeted(pilot, app)
        text = " ".join(" ".join(rows(app)).split())  # notes wrap to the view's width
        assert "embedded teaching server smtptui.test (persona modern)" in text
        assert "Type EHLO <your-name>" in text
        assert "alice / wonderland" in text
        assert isinstance(app.focused, CommandInput)
        hint = str(app.main.query_one("#hint").render())
        assert hint.startswith("next: EHLO <your-name>")
        assert app.main.panel.snapshot is not None
        assert app.main.panel.snapshot.usual == ("EHLO", "HELO")


async def test_completion_dropdown_suggestion_and_tab(data_home: Path) -> None:
    app = SmtpApp()
    async with app.run_test(size=SIZE) as pilot:
        await greeted(pilot, app)
        await pilot.press("E", "H")
        dropdown = app.main.query_one("#completions")
        assert dropdown.is_shown
        assert [c.display for c in dropdown.candidates] == ["EHLO"]
        assert "Identify the client" in dropdown.candidates[0].meaning
        assert app.main.command._suggestion == "EHLO "  # the inline ghost text
        assert "keep typing" in str(app.main.query_one("#hint").render())
        await pilot.press("tab")
        assert app.main.command.value == "EHLO "
        await send(pilot, app, "EHLO client.example", "S:┌250-smtptui.test")
        # Parameters come from the server's EHLO reply, with their meanings.
        command = app.main.command
        command.value = "MAIL FROM:<a@b.example> "
        command.cursor_position = len(command.value)
        command.refresh_assist()
        shown = [c.display for c in dropdown.candidates]
        assert "SIZE=" in shown and "BODY=" in shown
        # Addresses come from the history.
        await send(pilot, app, "MAIL FROM:<a@b.example>", "S: 250 2.1.0")
        command.value = "RCPT TO:<"
        command.cursor_position = len(command.value)
        command.refresh_assist()
        assert "a@b.example" in [c.display for c in dropdown.candidates]


async def test_the_completion_list_is_built_on_first_use_and_then_reused(
        data_home: Path) -> None:
    from smtptui.tui.widgets.command import CompletionList

    app = SmtpApp()
    async with app.run_test(size=SIZE) as pilot:
        await greeted(pilot, app)
        main = app.main
        assert not main.query(CompletionList)  # not built at start
        # Keys that only look at the list (Up, Escape, Enter on an empty line) don't build it.
        await pilot.press("up", "escape")
        await pilot.pause()
        assert not main.query(CompletionList)
        main.command.focus()
        await pilot.press("H")  # the first line with candidates builds it, above the input
        await pilot.pause()
        built = main.query_one("#completions", CompletionList)
        assert built.is_shown and built.region.height > 0
        assert built.region.bottom <= main.query_one("#input-row").region.y
        assert [c.display for c in built.candidates] == ["HELO", "HELP"]
        await pilot.press("down", "enter")  # moves in it, and Enter takes the choice
        assert main.command.value.rstrip() == "HELP"
        await pilot.press("ctrl+a", "ctrl+k", "E")  # the next time: the same widget
        await pilot.pause()
        assert main.query_one("#completions") is built and built.is_shown
        assert [c.display for c in built.candidates][:2] == ["EHLO", "EXPN"]
        assert len(main.query(CompletionList)) == 1


async def test_a_line_with_errors_is_sent_on_the_second_enter(data_home: Path) -> None:
    app = SmtpApp()
    async with app.run_test(size=SIZE) as pilot:
        await greeted(pilot, app)
        await send(pilot, app, "EHLO me.example", "S:┌250-")
        command = app.main.command
        command.value = "MAIL FROM:<broken"
        command.cursor_position = len(command.value)
        command.refresh_assist()
        hint = str(app.main.query_one("#hint").render())
        assert "^" in hint.splitlines()[0]
        caret = hint.splitlines()[0].index("^")
        assert caret == 3 + len("MAIL FROM:<broken")  # under the end, past the "C:" prompt
        assert "error: expected '@'" in hint and "RFC 5321" in hint
        await pilot.press("enter")
        assert "Enter again to send it anyway" in str(app.main.query_one("#hint").render())
        assert not has_row(app, "C: MAIL FROM:<broken")
        await pilot.press("enter")
        await until(pilot, lambda: has_row(app, "S: 501") or has_row(app, "S: 553")
                    or has_row(app, "S: 555"), "the server's answer to a broken MAIL")
        assert has_row(app, "C: MAIL FROM:<broken")


async def test_replies_are_coloured_by_class(data_home: Path) -> None:
    app = SmtpApp()
    async with app.run_test(size=SIZE) as pilot:
        await greeted(pilot, app)
        await send(pilot, app, "EHLO me.example", "S:┌250-")
        await send(pilot, app, "MAIL FROM:<alice@smtptui.test>", "S: 250 2.1.0")
        await send(pilot, app, "RCPT TO:<nobody@smtptui.test>", "S: 550")
        await send(pilot, app, "RCPT TO:<bob@smtptui.test>", "S: 250 2.1.5")
        await send(pilot, app, "DATA", "S: 354")
        view = app.main.transcript
        assert styles(app, "S: 220") == ["success"]
        assert styles(app, "S: 550") == ["error"]
        assert styles(app, "S: 354") == ["accent"]
        # The class is readable without colour: a word beside each reply.
        assert any("✗ failed" in r for r in rows(app) if r.startswith("S: 550"))
        assert any("→ go on" in r for r in rows(app) if r.startswith("S: 354"))
        # The styles come from the theme's semantic colours.
        theme = app.current_theme
        assert view._style("success").color.name.lower() != view._style("error").color.name
        assert theme.success is not None and theme.error is not None


async def test_data_composer_prefills_and_sends(data_home: Path) -> None:
    app = SmtpApp()
    async with app.run_test(size=SIZE) as pilot:
        await greeted(pilot, app)
        await send(pilot, app, "EHLO me.example", "S:┌250-")
        await send(pilot, app, "MAIL FROM:<alice@smtptui.test>", "S: 250 2.1.0")
        await send(pilot, app, "RCPT TO:<bob@smtptui.test>", "S: 250 2.1.5")
        await send(pilot, app, "DATA", "S: 354")
        composer = app.main.composer
        await until(pilot, lambda: composer.display, "the composer")
        text = composer.editor.text
        assert text.startswith("From: <alice@smtptui.test>\nTo: <bob@smtptui.test>\n")
        assert "\nSubject: \nDate: " in text and "\nMessage-ID: <" in text
        assert app.focused is composer.editor
        composer.editor.text = text.replace("Subject: ", "Subject: hello") + \
            "Hi Bob,\n.a line that starts with a dot\n"
        await pilot.pause()
        info = str(composer.query_one("#composer-info").render())
        assert "1 line(s) start with '.'" in info
        await pilot.press("ctrl+j")
        await until(pilot, lambda: has_row(app, "S: 250 2.0.0"), "the message accepted")
        assert has_row(app, "C│ Subject: hello")
        assert has_row(app, "C│ ..a line that starts with a dot")
        await until(pilot, lambda: not composer.display, "the command line back")
        assert composer.editor.text == ""


async def test_eight_bit_body_without_8bitmime_warns_and_encodes(data_home: Path) -> None:
    app = SmtpApp(ConnectSpec(persona="rfc821"))
    async with app.run_test(size=SIZE) as pilot:
        await greeted(pilot, app)
        await send(pilot, app, "HELO client.example", "S: 250")
        await send(pilot, app, "MAIL FROM:<alice@smtptui.test>", "S: 250")
        await send(pilot, app, "RCPT TO:<bob@smtptui.test>", "S: 250")
        await send(pilot, app, "DATA", "S: 354")
        composer = app.main.composer
        await until(pilot, lambda: composer.display, "the composer")
        composer.editor.text += "日本語のメールです。\n"
        await pilot.pause()
        info = composer.query_one("#composer-info")
        assert "did not advertise 8BITMIME" in str(info.render())
        assert info.has_class("warn")
        await pilot.press("f8")
        await pilot.pause()
        assert composer.editor.text.isascii()
        assert "Content-Transfer-Encoding: base64" in composer.editor.text
        assert not info.has_class("warn")


async def test_starttls_is_verified_and_auth_secret_is_masked(data_home: Path) -> None:
    app = SmtpApp()
    async with app.run_test(size=SIZE) as pilot:
        await greeted(pilot, app)
        await send(pilot, app, "EHLO me.example", "S:┌250-")
        await pilot.press("ctrl+t")
        await until(pilot, lambda: app.main.snapshot is not None
                    and app.main.snapshot.tls is not None, "TLS")
        assert app.main.snapshot.tls.verified
        facts = app.main.panel.section("facts")
        assert "TLSv1.3" in facts and "verified" in facts
        command = app.main.command
        command.value = "EHLO me.example"
        await pilot.press("enter")
        await until(pilot, lambda: app.main.snapshot.capabilities is not None
                    and "AUTH" in app.main.snapshot.capabilities, "AUTH advertised")
        caps = app.main.panel.section("caps")
        assert "(new after STARTTLS)" in caps and "STARTTLS (gone after STARTTLS)" in caps
        await pilot.press("ctrl+g")
        await until(pilot, lambda: isinstance(app.screen, AuthDialog), "the AUTH dialog")
        app.screen.query_one("#password").value = "wonderland"
        await pilot.press("enter")
        await until(pilot, lambda: has_row(app, "S: 235"), "235")
        screen_text = "\n".join(rows(app))
        assert "C: AUTH PLAIN <secret: initial response hidden>" in screen_text
        assert "AGFsaWNlAHdvbmRlcmxhbmQ=" not in screen_text
        await pilot.press("f3")  # even the raw view masks it
        assert "AGFsaWNlAHdvbmRlcmxhbmQ=" not in "\n".join(rows(app))
        autosave = app.session.autosave.path
    saved = autosave.read_text()
    assert "C: AUTH PLAIN <secret: initial response hidden>" in saved
    assert "AGFsaWNlAHdvbmRlcmxhbmQ=" not in saved and "wonderland" not in saved
    assert stat.S_IMODE(os.stat(autosave).st_mode) == 0o600
    history = (data_home / "history").read_text()
    assert "EHLO me.example" in history and "AUTH" not in history


async def test_starttls_against_aiosmtpd_verified_with_cafile(data_home: Path, starttls_server,
                                                              tls_files) -> None:
    spec = ConnectSpec(target=starttls_server.target, cafile=str(tls_files.cafile))
    app = SmtpApp(spec)
    async with app.run_test(size=SIZE) as pilot:
        await greeted(pilot, app)
        await send(pilot, app, "EHLO me.example", "S:┌250-")
        await pilot.press("ctrl+t")
        await until(pilot, lambda: app.main.snapshot.tls is not None, "TLS")
        assert app.main.snapshot.tls.verified


async def test_turn_swaps_roles_and_completes_reply_codes(data_home: Path) -> None:
    app = SmtpApp(ConnectSpec(persona="rfc821"))
    async with app.run_test(size=SIZE) as pilot:
        await greeted(pilot, app)
        await send(pilot, app, "HELO client.example", "S: 250")
        await send(pilot, app, "TURN", "S: 250")
        await until(pilot, lambda: app.main.snapshot.role == "server", "the roles swapped")
        assert str(app.main.query_one("#prompt").render()) == "R:"
        await send(pilot, app, "220 client.example ready", "R: HELO")
        command = app.main.command
        command.value = "2"
        command.cursor_position = 1
        command.refresh_assist()
        codes = [c.display for c in app.main.query_one("#completions").candidates]
        assert codes == ["250"]
        await send(pilot, app, "250 client.example", "R: QUIT")
        try:
            await send(pilot, app, "221 bye", "   disconnected")
        except AssertionError:
            print("\n".join(rows(app)), notifications(app))
            raise


async def test_server_hangup_keeps_line_transcript_and_offers_reconnect(
        data_home: Path) -> None:
    hang_up = asyncio.Event()

    async def server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 hangup.test ESMTP\r\n")
        await reader.readline()
        writer.write(b"250 hangup.test\r\n")
        await writer.drain()
        await hang_up.wait()
        writer.close()

    listener = await asyncio.start_server(server, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    app = SmtpApp(ConnectSpec(target=f"127.0.0.1:{port}"))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await greeted(pilot, app)
            await send(pilot, app, "EHLO me.example", "S: 250 hangup.test")
            command = app.main.command
            command.value = "MAIL FROM:<half-typ"
            hang_up.set()
            try:
                await until(pilot, lambda: has_row(app, "   disconnected"), "the disconnect")
            except AssertionError:
                print("\n".join(rows(app)))
                raise
            assert command.value == "MAIL FROM:<half-typ"
            shown = notifications(app)
            assert len(shown) == 1 and shown[0].startswith("idle: ")
            assert has_row(app, "C: EHLO me.example")
            assert app.bugs == 0
            hang_up.clear()
            await pilot.press("f5")
            await until(pilot, lambda: sum(r.startswith("S: 220") for r in rows(app)) == 2,
                        "the greeting after reconnecting")
    finally:
        listener.close()


async def test_failed_connection_is_one_notification(data_home: Path) -> None:
    from tests.probe.postfix import free_port

    app = SmtpApp(ConnectSpec(target=f"127.0.0.1:{free_port()}", timeout=5))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: any("connect" in m for m in notifications(app)),
                    "the failure")
        shown = notifications(app)
        assert len(shown) == 1 and "refused" in shown[0].lower()
        assert app.bugs == 0


async def test_explain_and_help_screens(data_home: Path) -> None:
    app = SmtpApp()
    async with app.run_test(size=SIZE) as pilot:
        await greeted(pilot, app)
        await send(pilot, app, "RCPT TO:<x@y.example>", "S: 503")
        await pilot.press("ctrl+up")
        assert isinstance(app.focused, TranscriptView)
        await pilot.press("enter")
        assert isinstance(app.screen, ExplainScreen)
        body = str(app.screen.query_one("#explain-text").render())
        assert "5 = permanent negative completion" in body
        assert "answers RCPT" in body
        await pilot.press("escape")
        await pilot.press("ctrl+down")
        app.main.command.value = "MAIL FROM:<"
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        assert "MAIL" in str(app.screen.query_one("#help-text").render())


async def test_raw_view_shows_exact_bytes(data_home: Path) -> None:
    app = SmtpApp()
    async with app.run_test(size=SIZE) as pilot:
        await greeted(pilot, app)
        await send(pilot, app, "NOOP", "S: 250")
        await pilot.press("f3")
        raw = rows(app)
        assert "C: NOOP\\r\\n" in raw
        assert any(r.startswith("S: 220 smtptui.test") and r.endswith("\\r\\n") for r in raw)
        await pilot.press("f3")
        assert "C: NOOP" in rows(app)


async def test_save_copy_as_swaks_and_history(data_home: Path, tmp_path: Path) -> None:
    app = SmtpApp()
    async with app.run_test(size=SIZE) as pilot:
        await greeted(pilot, app)
        await send(pilot, app, "EHLO me.example", "S:┌250-")
        await send(pilot, app, "MAIL FROM:<alice@smtptui.test>", "S: 250")
        await send(pilot, app, "RCPT TO:<bob@smtptui.test>", "S: 250")
        await pilot.press("ctrl+b")
        port = app.session.client.port
        expected = (f"swaks --server 127.0.0.1:{port} --ehlo me.example --from "
                    f"alice@smtptui.test --to bob@smtptui.test")
        assert app.clipboard == expected
        await pilot.press("ctrl+s")
        target = tmp_path / "out.smtp"
        app.screen.query_one("#path").value = str(target)
        await pilot.press("enter")
        await until(pilot, target.exists, "the saved file")
        saved = target.read_text()
        assert "C: MAIL FROM:<alice@smtptui.test>" in saved and "S: 250" in saved
        assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
        # Up walks the history.
        await pilot.press("up")
        assert app.main.command.value == "RCPT TO:<bob@smtptui.test>"
        await pilot.press("up", "down", "down")
        assert app.main.command.value == ""


async def test_connect_dialog_switches_servers_keeping_the_transcript(
        data_home: Path, plain_server) -> None:
    app = SmtpApp()
    async with app.run_test(size=SIZE) as pilot:
        await greeted(pilot, app)
        await pilot.press("ctrl+o")
        app.screen.query_one("#target").value = plain_server.target
        await pilot.press("enter")
        await until(pilot, lambda: sum(r.startswith("S: 220") for r in rows(app)) == 2,
                    "the second greeting")
        assert any("switched to" in r for r in rows(app))
        assert has_row(app, "S: 220 smtptui.test")  # the first session is still there
        await send(pilot, app, "EHLO me.example", "S:┌250-mx.test.example")


async def test_a_bug_in_a_handler_is_one_logged_line(data_home: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    app = SmtpApp()
    async with app.run_test(size=SIZE) as pilot:
        await greeted(pilot, app)

        def broken() -> None:
            raise RuntimeError("a deliberate bug")

        monkeypatch.setattr(app.main, "toggle_raw", broken)
        await pilot.press("f3")
        await pilot.pause()
        shown = notifications(app)
        assert any("unexpected RuntimeError" in m and "a deliberate bug" in m
                   for m in shown)
        assert app.bugs == 1
        assert app.is_running
        await send(pilot, app, "NOOP", "S: 250")  # the app goes on
    log = (data_home / "errors.log").read_text()
    assert "Traceback" in log and "a deliberate bug" in log


async def test_an_unrecoverable_error_ends_the_app_with_one_line(data_home: Path) -> None:
    app = SmtpApp()
    async with app.run_test(size=SIZE) as pilot:
        await greeted(pilot, app)
        try:
            raise ValueError("the layout broke")
        except ValueError as exc:
            app._handle_exception(exc)
    assert app.return_code == 1
    assert app.fatal_error is not None and "\n" not in app.fatal_error
    assert "ValueError: the layout broke" in app.fatal_error
    assert "errors.log" in app.fatal_error
    assert "Traceback" in (data_home / "errors.log").read_text()


def footer_keys(app: SmtpApp) -> list[str]:
    from textual.widgets._footer import FooterKey

    return [k.description for k in app.main.query(FooterKey)]


async def test_footer_shows_the_focused_widgets_keys_and_follows_focus(
        data_home: Path) -> None:
    app = SmtpApp()
    async with app.run_test(size=SIZE) as pilot:
        await greeted(pilot, app)
        keys = footer_keys(app)
        assert keys[:6] == ["Complete", "Help", "Dialect", "Raw", "Connect", "Save"]
        await pilot.press("ctrl+up")  # the transcript: its Enter explains
        await pilot.pause()
        assert "Explain" in footer_keys(app) and "Complete" not in footer_keys(app)
        await pilot.press("ctrl+down")
        await pilot.pause()
        assert footer_keys(app) == keys


async def test_imported_objects_are_frozen_once_per_process(data_home: Path) -> None:
    import gc

    import smtptui.tui.app as app_module

    app = SmtpApp()
    async with app.run_test(size=SIZE) as pilot:
        await greeted(pilot, app)
    assert app_module._frozen and gc.get_freeze_count() > 0
    frozen = gc.get_freeze_count()
    again = SmtpApp()
    async with again.run_test(size=SIZE) as pilot:
        await greeted(pilot, again)
    assert gc.get_freeze_count() == frozen  # a second app in the process freezes nothing


@pytest.mark.parametrize("size", [(100, 30), (80, 24), (140, 40)])
async def test_the_transcript_width_is_known_before_the_first_layout(
        data_home: Path, size: tuple[int, int]) -> None:
    """The first notes and the greeting are laid out before the screen is: for the width
    the screen expects the transcript to get (with the panel or without), which must be
    the width it gets, or the screen is laid out and rendered twice at start-up."""
    app = SmtpApp()
    async with app.run_test(size=size) as pilot:
        await greeted(pilot, app)
        view = app.main.transcript
        assert view.expected_width == view.region.width
        assert view._width == view.scrollable_content_region.width


async def test_works_at_80_by_24(data_home: Path) -> None:
    app = SmtpApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await greeted(pilot, app)
        assert not app.main.panel.display  # hidden below 100 columns; F4 shows it
        await pilot.press("f4")
        assert app.main.panel.display
        await pilot.press("f4")
        await send(pilot, app, "EHLO me.example", "S:┌250-")
        assert app.main.command.region.width > 40


async def test_no_color_keeps_reply_classes_apart(data_home: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = SmtpApp()
    async with app.run_test(size=SIZE) as pilot:
        await greeted(pilot, app)
        await send(pilot, app, "RCPT TO:<x@y.example>", "S: 503")
        assert app.no_color
        text = "\n".join(rows(app))
        assert "S: 220 smtptui.test" in text and "✓ done" in text
        assert "S: 503" in text and "✗ failed" in text


async def test_against_postfix_starttls_verified_and_a_message_sent(
        data_home: Path, postfix, tls_files) -> None:
    """The CI Postfix: STARTTLS verified with --cafile, EHLO again, a message composed and
    accepted."""
    from tests.probe.postfix import DOMAIN

    spec = ConnectSpec(target=f"127.0.0.1:{postfix.smtp_port}", cafile=str(tls_files.cafile))
    app = SmtpApp(spec)
    async with app.run_test(size=SIZE) as pilot:
        await greeted(pilot, app)
        assert has_row(app, "S: 220 mx1.lab.test ESMTP Postfix")
        await send(pilot, app, "EHLO client.test", "S:┌250-mx1.lab.test")
        await pilot.press("ctrl+t")
        await until(pilot, lambda: app.main.snapshot.tls is not None, "TLS")
        assert app.main.snapshot.tls.verified
        app.main.command.value = "EHLO client.test"
        await pilot.press("enter")
        await until(pilot, lambda: sum(r.startswith("S:┌250-mx1") for r in rows(app)) == 2,
                    "EHLO after TLS")
        await send(pilot, app, f"MAIL FROM:<tester@{DOMAIN}>", "S: 250 2.1.0")
        await send(pilot, app, f"RCPT TO:<alice@{DOMAIN}>", "S: 250 2.1.5")
        await send(pilot, app, "DATA", "S: 354")
        composer = app.main.composer
        await until(pilot, lambda: composer.display, "the composer")
        composer.editor.text = composer.editor.text.replace("Subject: ", "Subject: from the app")
        await pilot.press("ctrl+j")
        await until(pilot, lambda: has_row(app, "S: 250 2.0.0 Ok: queued as"), "queued")
