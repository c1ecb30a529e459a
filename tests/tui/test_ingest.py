"""A burst, as the benchmark sends it: one long multi-line reply, then thousands of
pipelined (unsolicited) replies at once. Every line gets its row, the view follows the
end, the virtual size (grown without a screen layout once the scrollbar is up) stays in
step with the rows, identical notes are laid out alike, and what the burst made is
collected and frozen once it is shown."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

from smtptui.core.replies import Reply
from smtptui.core.transcript import Direction, Entry
from smtptui.session import ConnectSpec
from smtptui.session.common import UNSOLICITED_NOTE
from smtptui.tui.app import SETTLE_EVENTS, SmtpApp
from smtptui.tui.widgets.transcript import Shown, _screen_lines

from .conftest import until

BIG = 5_000
PIPELINED = 3_000


async def burst_server() -> tuple[asyncio.Server, int]:
    big = b"".join(b"250-%03d\r\n" % (i % 1000) for i in range(BIG - 1)) + b"250 end\r\n"
    pipe = b"".join(b"250 %d ok\r\n" % i for i in range(PIPELINED))

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 burst.test ESMTP ready\r\n")
        while line := await reader.readline():
            if line.strip().upper() == b"BURST":
                writer.write(big + pipe)
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_a_burst_gets_every_row_and_the_view_follows_the_end(data_home: Path) -> None:
    server, port = await burst_server()
    async with server:
        app = SmtpApp(ConnectSpec(target=f"127.0.0.1:{port}"), autosave=False)
        async with app.run_test(size=(100, 30)) as pilot:
            view = app.main.transcript
            await until(pilot, lambda: any(r.startswith("S: 220") for r in view.row_texts()),
                        "the greeting")
            frozen = gc.get_freeze_count()
            app.send_line("BURST")
            last = b"250 %d ok\r\n" % (PIPELINED - 1)
            await until(pilot, lambda: view.shown and view.shown[-1].entry.raw == last
                        or any(s.entry.raw == last for s in view.shown[-3:]),
                        "the last pipelined reply")
            await pilot.pause()
            await pilot.pause()
            texts = view.row_texts()
            # the big reply: every line, in its box
            start = next(i for i, t in enumerate(texts) if t.startswith("S:┌250-000"))
            assert texts[start + 1] == "  │250-001"
            assert texts[start + BIG - 1] == "  └250 end"
            # every pipelined reply, each with its unsolicited note
            replies = [t for t in texts if t.startswith("S: 250 ") and t[7:8].isdigit()
                       and " ok" in t]
            assert len(replies) == PIPELINED
            assert replies[0].startswith("S: 250 0 ok")
            assert replies[-1].startswith(f"S: 250 {PIPELINED - 1} ok")
            notes = [t for t in texts if "unsolicited reply: no command was waiting" in t]
            assert len(notes) >= PIPELINED
            # the size kept in step without a layout per batch
            screen = view.screen_texts()
            assert view.virtual_size.height == len(screen)
            assert view.show_vertical_scrollbar
            assert view.vertical_scrollbar.window_virtual_size == len(screen)
            # the view shows the newest rows
            assert view.scroll_offset.y == view.max_scroll_y
            assert view.is_vertical_scroll_end
            # what the burst made was collected and frozen once shown
            assert app._unsettled < SETTLE_EVENTS
            assert gc.get_freeze_count() > frozen


async def test_identical_notes_are_laid_out_alike_and_rewrap(data_home: Path) -> None:
    app = SmtpApp(autosave=False)
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.main.transcript
        await until(pilot, lambda: any(r.startswith("S: 220") for r in view.row_texts()),
                    "the greeting")
        before = len(view.screen_texts())
        notes = [Shown(Entry(Direction.NOTE, 0.0, b"", UNSOLICITED_NOTE), "note")
                 for _ in range(50)]
        view.add(notes)
        await pilot.pause()
        width = view._width
        one = [f"{g}{t}{'  ' + d if d else ''}".rstrip()
               for g, _s, t, d in _screen_lines((" * ", "note", UNSOLICITED_NOTE, "", 0),
                                                width)]
        assert len(one) > 1  # it wraps at this width
        assert view.screen_texts()[before:] == one * 50
        assert view.virtual_size.height == before + 50 * len(one)
        app.main.toggle_panel()  # another width: laid out again, from the same cache
        await pilot.pause()
        await pilot.pause()
        width = view._width
        again = [f"{g}{t}{'  ' + d if d else ''}".rstrip()
                 for g, _s, t, d in _screen_lines((" * ", "note", UNSOLICITED_NOTE, "", 0),
                                                  width)]
        assert view.screen_texts()[-50 * len(again):] == again * 50
        assert view.is_vertical_scroll_end


async def test_one_line_replies_keep_their_meaning_and_violations(data_home: Path) -> None:
    app = SmtpApp(autosave=False)
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.main.transcript
        await until(pilot, lambda: any(r.startswith("S: 220") for r in view.row_texts()),
                    "the greeting")
        for text in ("250 2.1.0 sender ok", "550 no such user", "2500 x", "250 tab\there"):
            raw = (text + "\r\n").encode()
            view.add([Shown(Entry(Direction.SERVER, 0.0, raw, text,
                                  reply=Reply.from_text(text)), "server")])
        await pilot.pause()
        texts = view.row_texts()
        assert any(t.startswith("S: 250 2.1.0 sender ok  ✓ done") for t in texts)
        assert any(t.startswith("S: 550 no such user  ✗ failed") for t in texts)
        assert any(t.startswith("S: 250 tab\\there") for t in texts)  # escaped, as before


async def test_the_state_panel_is_not_updated_with_what_it_shows(data_home: Path) -> None:
    app = SmtpApp(autosave=False)
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.main.transcript
        await until(pilot, lambda: any(r.startswith("S: 220") for r in view.row_texts()),
                    "the greeting")
        await until(pilot, lambda: app.main.panel.snapshot is not None, "a state")
        panel = app.main.panel
        calls: list[object] = []
        original = panel._text.update
        panel._text.update = lambda *a, **k: (calls.append(a), original(*a, **k))
        panel.show(panel.snapshot)
        assert calls == []
        panel.add_server_log("a new line")  # something to show: shown
        assert len(calls) == 1
