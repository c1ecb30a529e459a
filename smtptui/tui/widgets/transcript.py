"""The transcript view: every line each way, coloured by what it is.

A line-API widget (like Textual's ``Log``): it keeps one small tuple per screen row and
renders only the rows on screen, so a 100,000-line reply costs one list extension, not
100,000 widgets or Rich renders. The session's core ``Transcript`` stays the source of
truth; this widget keeps, per entry, what it needs to show and explain it.

Rows are ``(gutter, style, text, dim, entry)``: ``style`` names a component class whose
colour comes from the app theme's semantic variables ($success, $accent, $warning,
$error), so themes and NO_COLOR work as Textual does everywhere. Without colour, a reply's
class is still readable: its code, and a class word beside it ("done", "go on", "try
later", "failed").

Server text is shown only through :func:`terminal_safe` (escapes for control
characters); the raw view shows each entry's exact bytes with ``escape_bytes``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from smtptui.core.transcript import Direction, Entry, escape_bytes, mask
from smtptui.session.display import terminal_safe

if TYPE_CHECKING:
    from smtptui.core.codes import Explanation
    from smtptui.core.state import Transition

__all__ = ["Shown", "TranscriptView"]

Row = tuple[str, str, str, str, int]
"""(gutter, style key, text, dimmed text beside it, index of the entry it belongs to)."""

CLASS_WORDS = {2: ("success", "✓ done"), 3: ("accent", "→ go on"),
               4: ("warning", "! try later"), 5: ("error", "✗ failed"),
               1: ("accent", "… wait")}
"""Reply class -> (style, word). The word keeps classes apart without colour."""

DATA_PREVIEW = 40
"""Message text longer than this many lines is shown as its first lines and a summary."""


@dataclass(slots=True)
class Shown:
    """One transcript entry as the view knows it (what the explain screen needs)."""

    entry: Entry
    kind: str                      # "client", "server", "note", "data", "remote", "local"
    explanation: Explanation | None = None
    transition: Transition | None = None
    style: str = ""                # for notes: "note", "error", "local"
    first_row: int = 0
    rows: int = 0
    verb: str = ""                 # remote lines after TURN: the command they hold


def _safe_lines(text: str) -> list[str]:
    return [terminal_safe(line.removesuffix("\r")) for line in text.split("\n")]


def _latency(seconds: float | None) -> str:
    if seconds is None:
        return ""
    ms = seconds * 1000
    return f"{ms:.0f} ms" if ms >= 1 else f"{ms:.1f} ms"


class TranscriptView(ScrollView, can_focus=True):
    """Scrollable transcript with an entry cursor (Enter explains the entry under it)."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "transcript--gutter", "transcript--client", "transcript--success",
        "transcript--accent", "transcript--warning", "transcript--error",
        "transcript--dim", "transcript--note", "transcript--data", "transcript--remote",
        "transcript--local", "transcript--cursor", "transcript--violation",
    }
    DEFAULT_CSS = """
    TranscriptView {
        background: $surface;
        color: $foreground;
        overflow: auto auto;
        scrollbar-size-horizontal: 0;
        scrollbar-size-vertical: 1;
    }
    TranscriptView > .transcript--gutter { color: $text-muted; }
    TranscriptView > .transcript--client { color: $text-primary; text-style: bold; }
    TranscriptView > .transcript--success { color: $text-success; }
    TranscriptView > .transcript--accent { color: $text-accent; }
    TranscriptView > .transcript--warning { color: $text-warning; }
    TranscriptView > .transcript--error { color: $text-error; }
    TranscriptView > .transcript--violation { color: $text-error; text-style: italic; }
    TranscriptView > .transcript--dim { color: $text-muted; }
    TranscriptView > .transcript--note { color: $text-muted; text-style: italic; }
    TranscriptView > .transcript--local { color: $text-secondary; }
    TranscriptView > .transcript--data { color: $foreground 80%; }
    TranscriptView > .transcript--remote { color: $text-warning; text-style: bold; }
    TranscriptView > .transcript--cursor { background: $block-cursor-blurred-background; }
    TranscriptView:focus > .transcript--cursor { background: $block-cursor-background 40%; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Previous", show=False),
        Binding("down", "cursor(1)", "Next", show=False),
        Binding("home", "cursor_to(0)", "First", show=False),
        Binding("end", "cursor_to(-1)", "Last", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("enter", "explain", "Explain"),
        Binding("left", "scroll_left", "Scroll left", show=False),
        Binding("right", "scroll_right", "Scroll right", show=False),
    ]

    raw = reactive(False)
    """Show the exact bytes of each entry (CRLF, bare LF, non-printables escaped)."""

    class Explain(Message):
        """The user asked what an entry means (Enter, or a click on it)."""

        def __init__(self, shown: Shown) -> None:
            super().__init__()
            self.shown = shown

    def __init__(self, *, mask_text: Callable[[str], str] | None = None,
                 name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.shown: list[Shown] = []
        self._rows: list[Row] = []
        self._width = 0
        self._cursor: int | None = None   # index into self.shown
        self._styles: dict[str, Style] = {}
        self._mask = mask_text  # a display hook (tests mask ports and latencies)

    # -- styles ---------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = {}

    def _style(self, key: str) -> Style:
        style = self._styles.get(key)
        if style is None:
            style = self.get_component_rich_style(f"transcript--{key}", partial=True)
            self._styles[key] = style
        return style

    # -- adding entries ---------------------------------------------------------------------

    @property
    def rows(self) -> int:
        return len(self._rows)

    def row_texts(self) -> list[str]:
        """Every row as plain text (gutter, text, dim): what a reader sees, for tests."""
        return [f"{g}{t}{'  ' + d if d else ''}".rstrip() for g, _s, t, d, _i in self._rows]

    def add(self, items: Iterable[Shown]) -> None:
        """Append entries (a batch: one size update and one refresh for all of them)."""
        start = len(self._rows)
        follow = self._cursor is None or self._cursor == len(self.shown) - 1
        end_before = self.is_vertical_scroll_end or not self._rows
        new_rows: list[Row] = []
        for shown in items:
            index = len(self.shown)
            shown.first_row = start + len(new_rows)
            rows = self._rows_for(shown, index)
            shown.rows = len(rows)
            self.shown.append(shown)
            new_rows.extend(rows)
        if not new_rows:
            return
        self._rows.extend(new_rows)
        self._grow_width(new_rows)
        self.virtual_size = Size(self._width, len(self._rows))
        if follow and self._cursor is not None:
            self._cursor = None  # the cursor follows the newest entry until moved
        if end_before or self._cursor is None:
            # Now, and again once the new virtual size is laid out (the first call can
            # stop short of the end when the size grew in the same frame).
            self.scroll_end(animate=False, immediate=True, x_axis=False)
            self.call_after_refresh(self.scroll_end, animate=False, x_axis=False)
        self.refresh()

    def _grow_width(self, rows: list[Row]) -> None:
        widest = self._width
        for gutter, _s, text, dim, _i in rows:
            if text.isascii() and dim.isascii():
                n = len(gutter) + len(text) + (len(dim) + 2 if dim else 0)
            else:  # wide characters (Japanese) take two cells each
                n = cell_len(gutter) + cell_len(text) + (cell_len(dim) + 2 if dim else 0)
            widest = max(widest, n)
        self._width = widest

    def clear(self) -> None:
        self.shown.clear()
        self._rows.clear()
        self._width = 0
        self._cursor = None
        self.virtual_size = Size(0, 0)
        self.refresh()

    def watch_raw(self, _old: bool, _new: bool) -> None:
        """Rebuild every row in the other view (from the entries, the source of truth)."""
        rows: list[Row] = []
        for index, shown in enumerate(self.shown):
            shown.first_row = len(rows)
            entry_rows = self._rows_for(shown, index)
            shown.rows = len(entry_rows)
            rows.extend(entry_rows)
        self._rows = rows
        self._width = 0
        self._grow_width(rows)
        self.virtual_size = Size(self._width, len(rows))
        self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    # -- formatting -------------------------------------------------------------------------

    def _masked(self, text: str) -> str:
        return self._mask(text) if self._mask is not None and text else text

    def _rows_for(self, shown: Shown, index: int) -> list[Row]:
        if self.raw:
            return self._raw_rows(shown, index)
        kind = shown.kind
        entry = shown.entry
        if kind == "server":
            return self._reply_rows(shown, index)
        if kind == "client":
            text = mask(entry) if entry.secret else entry.text
            rows: list[Row] = [("C: ", "client", terminal_safe(text),
                                "secret: masked here and in every file" if entry.secret
                                else "", index)]
            rows.extend(self._diagnostic_rows(entry, index))
            return rows
        if kind == "data":
            return self._data_rows(entry, index)
        if kind == "remote":
            text = terminal_safe(entry.text)
            dim = f"the remote sends {shown.verb}: answer it" if shown.verb else ""
            return [("R: ", "remote", text, dim, index)]
        # notes (local events) and the app's own lines (wrapped to the view's width)
        style = shown.style or "note"
        lines = entry.text.split("\n")
        if kind == "local":
            shown = self.scrollable_content_region.width or self.app.size.width
            width = max(40, shown - 5)
            lines = [part for line in lines
                     for part in (textwrap.wrap(line, width, subsequent_indent="  ")
                                  or [""])]
        gutter = {"local": "   ", "error": " ✗ "}.get(style, " * ")
        return [(gutter, style, self._masked(terminal_safe(line)), "", index)
                for line in lines]

    def _reply_rows(self, shown: Shown, index: int) -> list[Row]:
        entry = shown.entry
        reply = entry.reply
        raw = entry.raw.decode("utf-8", "replace")
        lines = raw.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        klass = reply.klass if reply is not None else None
        style, word = CLASS_WORDS.get(klass or 0, ("error", "? no code"))
        dim = self._reply_dim(shown, word)
        n = len(lines)
        if n == 1:
            rows = [("S: ", style, terminal_safe(lines[0].removesuffix("\r")), dim, index)]
        else:
            first, *middle, last = lines
            rows = [("S:┌", style, terminal_safe(first.removesuffix("\r")), dim, index)]
            rows.extend([("  │", style, line if line.isprintable() else
                          terminal_safe(line.removesuffix("\r")), "", index)
                         for line in (m.removesuffix("\r") for m in middle)])
            rows.append(("  └", style, terminal_safe(last.removesuffix("\r")), "", index))
        rows.extend(self._violation_rows(shown, index))
        return rows

    def _reply_dim(self, shown: Shown, word: str) -> str:
        parts = [word]
        ex = shown.explanation
        if ex is not None:
            parts.append(ex.meaning.rstrip("."))
            if ex.enhanced:
                detail = ex.enhanced_detail or ex.enhanced_meaning or ""
                if detail:
                    parts.append(f"{ex.enhanced} {detail}".rstrip("."))
        if shown.transition is not None and not shown.transition.verb:
            parts.append("unsolicited")
        latency = _latency(shown.entry.latency)
        if latency:
            parts.append(self._masked(latency))
        return " · ".join(parts)

    def _violation_rows(self, shown: Shown, index: int) -> list[Row]:
        rows: list[Row] = []
        reply = shown.entry.reply
        found = list(reply.diagnostics) if reply is not None else []
        for d in found:
            rule = f" ({d.rule})" if d.rule else ""
            rows.append(("  ⚠ ", "violation", f"server broke a rule: {d.message}{rule}", "",
                         index))
        t = shown.transition
        if (t is not None and t.verb and t.code is not None and t.allowed_5321 is False
                and t.allowed_821 is False):
            rows.append(("  ⚠ ", "violation",
                         (f"{t.code} is not a reply the RFCs list for "
                          f"{t.verb.strip('<>')} (RFC 5321 §4.3.2)"), "", index))
        return rows

    def _diagnostic_rows(self, entry: Entry, index: int) -> list[Row]:
        return [("  ⚠ ", "warning" if not d.is_error else "violation",
                 f"sent with a {d.severity}: {d.message}" + (f" ({d.rule})" if d.rule else ""),
                 "", index) for d in entry.diagnostics]

    def _data_rows(self, entry: Entry, index: int) -> list[Row]:
        if entry.text == ".":
            return [("C: ", "client", ".", "end of data: <CRLF>.<CRLF>", index)]
        lines = entry.raw.decode("utf-8", "replace").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        shown_lines = lines[:DATA_PREVIEW]
        rows: list[Row] = []
        for line in shown_lines:
            line = line.removesuffix("\r")
            dim = "dot-stuffed: the receiver removes the first '.'" if line.startswith(
                "..") else ""
            rows.append(("C│ ", "data", terminal_safe(line), dim, index))
        if len(lines) > DATA_PREVIEW:
            rows.append(("C│ ", "note", (f"... {len(lines) - DATA_PREVIEW} more lines "
                                        f"({len(entry.raw)} octets in all)"), "", index))
        return rows

    def _raw_rows(self, shown: Shown, index: int) -> list[Row]:
        entry = shown.entry
        prefix = {Direction.CLIENT: "C: ", Direction.SERVER: "S: "}.get(entry.direction)
        if shown.kind == "remote":
            prefix = "R: "
        if prefix is None or not entry.raw:
            return [(" * ", shown.style or "note", self._masked(terminal_safe(line)), "",
                     index) for line in entry.text.split("\n")]
        if entry.secret:
            return [(prefix, "client", mask(entry), "secret: not shown, even raw", index)]
        style = "client" if entry.direction is Direction.CLIENT else "dim"
        if entry.direction is Direction.SERVER and entry.reply is not None:
            style = CLASS_WORDS.get(entry.reply.klass or 0, ("error", ""))[0]
        out: list[Row] = []
        # One row per line as received: each keeps its own ending, escaped (\r\n, \n).
        for chunk in entry.raw.splitlines(keepends=True):
            out.append((prefix, style, escape_bytes(chunk), "", index))
        return out

    # -- rendering --------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        index = scroll_y + y
        if index >= len(self._rows):
            return Strip.blank(width, base)
        try:
            strip = self._render_row(self._rows[index], base)
        except Exception as exc:  # noqa: BLE001 - a rendering bug must not end the app
            self.app.report_bug(exc, "rendering the transcript")  # type: ignore[attr-defined]
            strip = Strip([Segment("<this line could not be shown>", base)])
        return strip.crop_extend(scroll_x, scroll_x + width, base).apply_offsets(
            scroll_x, index)

    def _render_row(self, row: Row, base: Style) -> Strip:
        gutter, style, text, dim, entry = row
        cursor = self._cursor_entry()
        line_style = base + self._style("cursor") if entry == cursor else base
        segments = [Segment(gutter, line_style + self._style("gutter")),
                    Segment(text, line_style + self._style(style))]
        length = len(gutter) + (len(text) if text.isascii() else cell_len(text))
        if dim:
            segments.append(Segment("  " + dim, line_style + self._style("dim")))
            length += 2 + (len(dim) if dim.isascii() else cell_len(dim))
        return Strip(segments, length)

    # -- the entry cursor -------------------------------------------------------------------

    def _cursor_entry(self) -> int | None:
        if not self.has_focus:
            return self._cursor
        if self._cursor is None and self.shown:
            return len(self.shown) - 1
        return self._cursor

    @property
    def cursor_shown(self) -> Shown | None:
        at = self._cursor_entry()
        return self.shown[at] if at is not None and 0 <= at < len(self.shown) else None

    def _move_to(self, index: int) -> None:
        if not self.shown:
            return
        self._cursor = max(0, min(index, len(self.shown) - 1))
        shown = self.shown[self._cursor]
        self.scroll_to_region(Region(0, shown.first_row, 1, max(1, min(shown.rows,
                                                                       self.size.height))),
                              animate=False, immediate=True, x_axis=False)
        self.refresh()

    def action_cursor(self, delta: int) -> None:
        current = self._cursor_entry()
        self._move_to((len(self.shown) - 1 if current is None else current) + delta)

    def action_cursor_to(self, index: int) -> None:
        self._move_to(len(self.shown) - 1 if index < 0 else index)

    def action_page(self, direction: int) -> None:
        self.scroll_to(y=self.scroll_offset.y + direction * max(1, self.size.height - 1),
                       animate=False, immediate=True)
        top = self.scroll_offset.y
        for i, shown in enumerate(self.shown):
            if shown.first_row + shown.rows > top:
                self._cursor = i
                break
        self.refresh()

    def action_explain(self) -> None:
        shown = self.cursor_shown
        if shown is not None:
            self.post_message(self.Explain(shown))

    def on_click(self, event: Any) -> None:
        row = self.scroll_offset.y + event.y
        if 0 <= row < len(self._rows):
            self._cursor = self._rows[row][4]
            self.refresh()
            if getattr(event, "chain", 1) >= 2:
                self.action_explain()

    def on_resize(self) -> None:
        # A view that showed the newest rows keeps showing them when it shrinks (the
        # composer opening, the panel toggled).
        if self._cursor is None:
            self.call_after_refresh(self.scroll_end, animate=False, x_axis=False)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
