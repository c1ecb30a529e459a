"""The transcript wraps long rows to the pane instead of cutting them: continuations are
indented under the text, a reply's meaning goes on its own line when it does not fit
beside it, wide characters count two cells, and a huge reply stays one entry whose rows
are made only when shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.cells import cell_len

from smtptui.core.replies import Reply
from smtptui.core.transcript import Direction, Entry
from smtptui.session import ConnectSpec
from smtptui.tui.app import SmtpApp
from smtptui.tui.widgets.transcript import INDENT, Shown, _screen_lines, _wrap

from .conftest import until

WELCOME = "embedded teaching server smtptui.test (persona modern), on this machine only."


@pytest.mark.parametrize(("text", "first", "rest"), [
    ("250 the quick brown fox jumps over the lazy dog " * 4, 30, 28),
    ("x" * 95, 20, 18),                                  # one word longer than a line
    ("日本語のテキストはここで折り返されます。" * 3, 17, 15),  # wide: two cells each
    ("MAIL FROM:<山田太郎@例え.日本> SMTPUTF8 本文は八ビット", 21, 19),
    ("· meaning · with · dots " * 5, 25, 23),             # narrow non-ASCII
])
def test_wrap_keeps_every_character_within_the_width(text: str, first: int,
                                                     rest: int) -> None:
    pieces = _wrap(text, first, rest)
    assert cell_len(pieces[0]) <= first
    assert all(cell_len(p) <= rest for p in pieces[1:])
    # Nothing lost: the pieces are the text, less the spaces the lines were cut at.
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")


def test_a_row_that_fits_is_one_line_and_a_long_one_wraps_with_its_meaning_under() -> None:
    row = ("S: ", "success", "250 ok", "✓ done · Done: the command worked", 0)
    assert _screen_lines(row, 60) == [row[:4]]
    lines = _screen_lines(("S: ", "success", "250 " + "word " * 20,
                           "✓ done · Done: the command worked · 1 ms", 0), 40)
    assert [g for g, *_ in lines] == ["S: "] + ["   "] * (len(lines) - 1)
    assert all(cell_len(g + t) + (2 + cell_len(d) if d else 0) <= 40
               for g, _s, t, d in lines)
    assert all(t.startswith(" " * INDENT) for _g, _s, t, _d in lines[1:])
    assert lines[-1][1] == "dim" and "1 ms" in lines[-1][2]
    # In a multi-line reply the box goes on beside the continuation.
    boxed = _screen_lines(("S:┌", "success", "250-" + "x " * 40, "✓ done", 0), 30)
    assert {g for g, *_ in boxed[1:]} == {"  │"}


def rows_shown(app: SmtpApp) -> list[str]:
    return app.main.transcript.screen_texts()


@pytest.mark.parametrize("size", [(100, 30), (80, 24)])
async def test_nothing_is_cut_at_the_pane_edge(data_home: Path, size: tuple[int, int]) -> None:
    app = SmtpApp(ConnectSpec(), autosave=False)
    async with app.run_test(size=size) as pilot:
        view = app.main.transcript
        await until(pilot, lambda: any(r.startswith("S: 220") for r in view.row_texts()),
                    "the greeting")
        await pilot.pause()
        width = view.scrollable_content_region.width
        lines = rows_shown(app)
        assert all(cell_len(line) <= width for line in lines), lines
        assert len(lines) > view.rows, "long rows take more than one line"
        flat = " ".join(" ".join(lines).split())
        assert WELCOME in flat
        assert "The server is ready" in flat
        japanese = "日本語の返信テキストは画面の幅で折り返されて、途中で切れてはいけません。" * 2
        entry = Entry(Direction.SERVER, 0.0, f"250 {japanese}\r\n".encode(), f"{japanese}",
                      reply=Reply.from_text(f"250 {japanese}"))
        view.add([Shown(entry, "server")])
        await pilot.pause()
        lines = rows_shown(app)
        assert all(cell_len(line) <= width for line in lines)
        assert "".join(lines).replace(" ", "").count(japanese) == 1


async def test_a_huge_reply_is_one_entry_and_a_resize_rewraps(data_home: Path) -> None:
    app = SmtpApp(ConnectSpec(), autosave=False)
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.main.transcript
        await until(pilot, lambda: any(r.startswith("S: 220") for r in view.row_texts()),
                    "the greeting")
        lines = [f"250-{i:05d} " + ("long " * 30 if i == 5000 else "short") for i in
                 range(20_000)] + ["250 end"]
        raw = ("\r\n".join(lines) + "\r\n").encode()
        entries = len(view.shown)
        view.add([Shown(Entry(Direction.SERVER, 0.0, raw, "", reply=Reply.from_text(
            "\n".join(lines))), "server")])
        await pilot.pause()
        assert len(view.shown) == entries + 1
        assert view.row_texts()[-1] == "  └250 end"
        before = len(view.screen_texts())
        app.main.toggle_panel()  # wider pane: the one long line takes fewer lines
        await pilot.pause()
        await pilot.pause()
        after = view.screen_texts()
        assert len(after) < before
        assert after[-1] == "  └250 end"
