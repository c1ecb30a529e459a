"""The transcript view: every line each way, coloured by what it is, wrapped to the pane.

A line-API widget (like Textual's ``Log`` and toolong's ``LogLines``): it renders only the
screen lines in view. Each transcript entry is one *block* of rows -- a reply's lines, a
command and its diagnostics, a note's lines -- and a 100,000-line reply is one block
whose rows are made from its lines only when they are on screen. The session's core
``Transcript`` stays the source of truth; this widget keeps, per entry, what it needs to
show and explain it.

Rows are ``(gutter, style, text, dim, entry)``: ``style`` names a component class whose
colour comes from the app theme's semantic variables ($success, $accent, $warning,
$error), so themes and NO_COLOR work as Textual does everywhere. Without colour, a reply's
class is still readable: its code, and a class word beside it ("done", "go on", "try
later", "failed").

Long rows wrap to the pane's width, continuations indented under the text; a reply's
dimmed meaning goes on its own line under it when it does not fit beside it. Wrapping is
worked out per width: a block whose widest row fits (nearly every block) costs one
comparison, and the wrapped lines are made only for rows on screen, and cached.

Server text is shown only through :func:`terminal_safe` (escapes for control
characters); the raw view shows each entry's exact bytes with ``escape_bytes``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, overload

from rich.cells import cell_len, get_character_cell_size
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
    from smtptui.session.events import ReplyReceived

__all__ = ["Shown", "TranscriptView"]

Row = tuple[str, str, str, str, int]
"""(gutter, style key, text, dimmed text beside it, index of the entry it belongs to)."""
Line = tuple[str, str, str, str]
"""One screen line: (gutter, style key, text, dimmed text beside it)."""
_NoteLines = tuple[list[Line], int, dict[int, list[int]]]
"""A note text's rows without their entry index, the widest, offsets per width."""

CLASS_WORDS = {2: ("success", "✓ done"), 3: ("accent", "→ go on"),
               4: ("warning", "! try later"), 5: ("error", "✗ failed"),
               1: ("accent", "… wait")}
"""Reply class -> (style, word). The word keeps classes apart without colour."""

DATA_PREVIEW = 40
"""Message text longer than this many lines is shown as its first lines and a summary."""
INDENT = 2
"""Continuation lines (a wrapped row, a meaning on its own line) start this many cells
further in than the text they continue."""
MIN_ROOM = 12
"""Text is wrapped to at least this many cells, however narrow the pane."""
WRAPPED_CACHE = 4096
"""Wrapped rows kept (by entry and row) before the cache starts over."""
CONTINUED = {"S:┌": "  │", "  │": "  │"}
"""The gutter under a wrapped row (a multi-line reply's box goes on; others are blank)."""


class Shown:
    """One transcript entry as the view knows it (what the explain screen needs).

    A plain slotted class, not a dataclass: building a dataclass costs about a
    millisecond at import, at every start of the app."""

    __slots__ = ("entry", "event", "kind", "style", "verb")

    def __init__(self, entry: Entry, kind: str, event: ReplyReceived | None = None,
                 style: str = "", verb: str = "") -> None:
        self.entry = entry
        self.kind = kind     # "client", "server", "note", "data", "remote", "local"
        self.event = event   # a server entry's event: explains it on demand
        self.style = style   # for notes: "note", "error", "local"
        self.verb = verb     # remote lines after TURN: the command they hold

    def _fields(self) -> tuple[object, ...]:
        return self.entry, self.kind, self.event, self.style, self.verb

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._fields() == other._fields()  # type: ignore[attr-defined]
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass was

    def __repr__(self) -> str:
        return (f"Shown(entry={self.entry!r}, kind={self.kind!r}, event={self.event!r}, "
                f"style={self.style!r}, verb={self.verb!r})")

    @property
    def explanation(self) -> Explanation | None:
        return self.event.explanation if self.event is not None else None

    @property
    def transition(self) -> Transition | None:
        return self.event.transition if self.event is not None else None


def _latency(seconds: float | None) -> str:
    if seconds is None:
        return ""
    ms = seconds * 1000
    return f"{ms:.0f} ms" if ms >= 1 else f"{ms:.1f} ms"


def _cells(text: str) -> int:
    return len(text) if text.isascii() else cell_len(text)


def _row_cells(row: Row) -> int:
    """The cells a row takes on one line: gutter, text, and two spaces + the dim text."""
    gutter, _s, text, dim, _i = row
    return len(gutter) + _cells(text) + (2 + _cells(dim) if dim else 0)


def _wrap(text: str, first: int, rest: int) -> list[str]:
    """``text`` in pieces of at most ``first`` cells, then ``rest`` cells each: cut at the
    last space that fits (the space dropped), mid-word only when a word is longer than a
    line. Wide characters (Japanese) count two cells."""
    out: list[str] = []
    if text.isascii() or cell_len(text) == len(text):  # one cell per character
        start, room, n = 0, first, len(text)
        while n - start > room:
            cut = text.rfind(" ", start + 1, start + room + 1)
            if cut == -1:
                out.append(text[start:start + room])
                start += room
            else:
                out.append(text[start:cut])
                start = cut + 1
            room = rest
        out.append(text[start:])
        return out
    start, room, used, space, i = 0, first, 0, -1, 0
    while i < len(text):
        char = text[i]
        width = get_character_cell_size(char)
        if used + width > room:
            if space > start:
                out.append(text[start:space])
                start = space + 1
            else:
                out.append(text[start:i])
                start = i
            room, space = rest, -1
            used = cell_len(text[start:i])
            continue
        if char == " ":
            space = i
        used += width
        i += 1
    out.append(text[start:])
    return out


_heights: dict[tuple[str, str, str, int], int] = {}


def _row_height(row: Row, width: int) -> int:
    """Screen lines ``row`` takes at ``width``: 1 when it fits, else counted by wrapping
    it (remembered by text: 10,000 identical notes are wrapped once)."""
    if _row_cells(row) <= width:
        return 1
    gutter, _s, text, dim, _i = row
    key = (gutter, text, dim, width)
    height = _heights.get(key)
    if height is None:
        if len(_heights) >= WRAPPED_CACHE:
            _heights.clear()
        height = _heights[key] = len(_screen_lines(row, width))
    return height


def _screen_lines(row: Row, width: int) -> list[Line]:
    """How ``row`` shows at ``width`` cells: one line when it fits; otherwise its text
    wrapped (continuations indented) and its dim text beside the last piece if it fits
    there, else on lines of its own under it."""
    gutter, style, text, dim, _i = row
    room = max(width - len(gutter), MIN_ROOM)
    text_cells = _cells(text)
    dim_cells = _cells(dim) if dim else 0
    if text_cells + (2 + dim_cells if dim else 0) <= room:
        return [(gutter, style, text, dim)]
    under = CONTINUED.get(gutter, " " * len(gutter))
    pad = " " * INDENT
    pieces = _wrap(text, room, room - INDENT) if text_cells > room else [text]
    lines: list[Line] = [(gutter, style, pieces[0], "")]
    lines.extend((under, style, pad + piece, "") for piece in pieces[1:])
    if dim:
        last_gutter, last_style, last_text, _ = lines[-1]
        if _cells(last_text) + 2 + dim_cells <= room:
            lines[-1] = (last_gutter, last_style, last_text, dim)
        else:
            lines.extend((under, "dim", pad + piece, "")
                         for piece in _wrap(dim, room - INDENT, room - INDENT))
    return lines


class _ReplyRows(Sequence[Row]):
    """A reply's rows, made from its lines when asked: a 100,000-line reply stays one
    list of strings until its lines are on screen (or a test reads them)."""

    __slots__ = ("dim", "extra", "index", "lines", "plain", "style")

    def __init__(self, lines: list[str], style: str, dim: str, index: int,
                 extra: list[Row]) -> None:
        self.lines = lines
        self.style = style
        self.dim = dim
        self.index = index
        self.extra = extra  # the rule violations under the reply
        self.plain = False  # printable ASCII only: a line's cells are its length

    def __len__(self) -> int:
        return len(self.lines) + len(self.extra)

    @overload
    def __getitem__(self, i: int) -> Row: ...
    @overload
    def __getitem__(self, i: slice) -> list[Row]: ...

    def __getitem__(self, i: int | slice) -> Row | list[Row]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self.lines)
        if i < 0:
            i += len(self)
        if i >= n:
            return self.extra[i - n]
        if i < 0:
            raise IndexError(i)
        text = terminal_safe(self.lines[i].removesuffix("\r"))
        if n == 1:
            return ("S: ", self.style, text, self.dim, self.index)
        gutter = "S:┌" if i == 0 else "  └" if i == n - 1 else "  │"
        return (gutter, self.style, text, self.dim if i == 0 else "", self.index)

    def widest(self, text: str) -> int:
        """The cells of the widest row on one line (``text``: the reply decoded). Plain
        ASCII, the usual case, is measured at C speed; the +1 of a kept CR only errs
        towards checking rows that turn out to fit."""
        lines = self.lines
        flat = text.replace("\r", "").replace("\n", "")
        self.plain = flat.isascii() and flat.isprintable()
        if self.plain:
            longest = max(map(len, lines)) if lines else 0
        else:
            longest = max((_cells(terminal_safe(line.removesuffix("\r"))) for line in lines),
                          default=0)
        widest = 3 + longest
        if lines and self.dim:
            widest = max(widest, _row_cells(self[0]))
        return max([widest, *map(_row_cells, self.extra)])

    def heights(self, width: int) -> list[int]:
        """The first screen line of each row at ``width`` (and the total, last)."""
        lines, n, plain = self.lines, len(self.lines), self.plain
        offsets = [0]
        total = 0
        room = width - 3
        for i in range(len(self)):
            if plain and 0 < i < n and len(lines[i]) <= room:
                total += 1  # most lines of a long reply: they fit, no row made
            else:
                total += _row_height(self[i], width)
            offsets.append(total)
        return offsets


class _Block:
    """One entry's rows and how they lie at the laid-out width."""

    __slots__ = ("height", "offsets", "rows", "widest")

    def __init__(self, rows: Sequence[Row], widest: int) -> None:
        self.rows = rows
        self.widest = widest   # cells of the widest row on one line
        self.height = 0        # screen lines at the laid-out width
        self.offsets: list[int] | None = None  # first screen line of each row (+ total)
                                               # if any wraps

    def fit(self, width: int) -> None:
        if self.widest <= width:
            self.offsets, self.height = None, len(self.rows)
            return
        rows = self.rows
        if isinstance(rows, _ReplyRows):
            offsets = rows.heights(width)
        else:
            offsets, total = [0], 0
            for row in rows:
                total += _row_height(row, width)
                offsets.append(total)
        self.offsets, self.height = offsets, offsets[-1]


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
        overflow: hidden auto;
        scrollbar-gutter: stable;
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
    ]

    raw = reactive(False, init=False)  # nothing to rebuild at mount
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
        self._blocks: list[_Block] = []
        self._starts: list[int] = []      # first screen line of each block
        self._total = 0                   # screen lines in all
        self._width = 0                   # the width blocks are laid out for
        self._wrapped: dict[tuple[int, int], list[Line]] = {}
        self._dims: dict[tuple[int | None, str | None], str] = {}
        self._notes: dict[tuple[str, str], _NoteLines] = {}
        self._cursor: int | None = None   # index into self.shown
        self._styles: dict[str, Style] = {}
        self._base: Style | None = None  # the view's style while render_lines runs
        self._mask = mask_text  # a display hook (tests mask ports and latencies)
        self.expected_width: int | None = None
        """The cells the view will be wide, when its screen knows before the first layout
        (rows added before it are laid out for that width, not the app's)."""

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

    # -- reading it back (tests, benchmarks) -----------------------------------------------

    @property
    def rows(self) -> int:
        """Rows in all (a row is one line of an entry, before wrapping)."""
        return sum(len(block.rows) for block in self._blocks)

    def logical_rows(self) -> Iterator[Row]:
        """Every row, unwrapped: ``(gutter, style, text, dim, entry index)``."""
        for block in self._blocks:
            yield from block.rows

    def row_texts(self) -> list[str]:
        """Every row as plain text (gutter, text, dim), unwrapped: what a reader sees."""
        return [f"{g}{t}{'  ' + d if d else ''}".rstrip()
                for g, _s, t, d, _i in self.logical_rows()]

    def screen_texts(self) -> list[str]:
        """Every screen line at the laid-out width, as plain text (wrapping included)."""
        return [f"{g}{t}{'  ' + d if d else ''}".rstrip()
                for _i, (g, _s, t, d) in map(self._line_at, range(self._total))]

    # -- adding entries ---------------------------------------------------------------------

    def add(self, items: Iterable[Shown]) -> None:
        """Append entries (a batch: one size update and one refresh for all of them)."""
        follow = self._cursor is None or self._cursor == len(self.shown) - 1
        end_before = self.is_vertical_scroll_end or not self._blocks
        width = self._width or self._layout_width()
        self._width = width
        shown_list, blocks, starts = self.shown, self._blocks, self._starts
        first = index = len(shown_list)
        total = self._total
        raw = self.raw
        block_for = self._block_for
        for shown in items:
            block = block_for(shown, index, raw)
            if not block.height:  # (a note's may be known already)
                if block.widest <= width:  # nearly every block: it fits, a line a row
                    block.height = len(block.rows)
                else:
                    block.fit(width)
            shown_list.append(shown)
            blocks.append(block)
            starts.append(total)
            total += block.height
            index += 1
        self._total = total
        if index == first:
            return
        self._grow(width)
        if follow and self._cursor is not None:
            self._cursor = None  # the cursor follows the newest entry until moved
        if end_before or self._cursor is None:
            # Now, and again once the new virtual size is laid out (the first call can
            # stop short of the end when the size grew in the same frame).
            self.scroll_end(animate=False, immediate=True, x_axis=False)
            self.call_after_refresh(self.scroll_end, animate=False, x_axis=False)
        self.refresh()

    def _grow(self, width: int) -> None:
        """The virtual size after rows were added. Setting ``virtual_size`` makes Textual
        lay out the whole screen (every widget, then every widget rendered again), but
        a line-API view's size only moves its scrollbar: once the scrollbar is up (the
        rows overflow the pane), the new height is set without a layout and the
        scrollbar told; a layout only when the scrollbar may appear or the width
        changed."""
        size = Size(width, self._total)
        old = self.virtual_size
        if (old.width == width and old.height <= size.height
                and self.show_vertical_scrollbar
                and old.height > self.scrollable_content_region.height):
            self.set_reactive(TranscriptView.virtual_size, size)
            self.vertical_scrollbar.window_virtual_size = size.height
        else:
            self.virtual_size = size

    def clear(self) -> None:
        self.shown.clear()
        self._blocks.clear()
        self._starts.clear()
        self._total = 0
        self._wrapped.clear()
        self._cursor = None
        self.virtual_size = Size(self._width, 0)
        self.refresh()

    def watch_raw(self, _old: bool, _new: bool) -> None:
        """Rebuild every block in the other view (from the entries, the source of truth)."""
        self._blocks = [self._block_for(shown, i) for i, shown in enumerate(self.shown)]
        self._relayout(self._width or self._layout_width())
        self.scroll_end(animate=False, immediate=True, x_axis=False)

    # -- laying out -------------------------------------------------------------------------

    def _layout_width(self) -> int:
        """The cells a line has (the scrollbar's gutter is kept even when it is hidden, so
        a growing transcript never re-wraps). Before the first layout: a guess from the
        screen (or ``expected_width``), put right on the first resize."""
        width = self.scrollable_content_region.width
        if width <= 0:
            width = (self.expected_width or self.app.size.width) \
                - self.styles.scrollbar_size_vertical
        return max(width, 1)

    def _relayout(self, width: int) -> None:
        """Lay every block out for ``width`` cells, keeping the entry at the top in view."""
        top = self.scroll_offset.y
        anchor = self._line_index(top) if 0 < top < self._total else None
        self._width = width
        self._wrapped.clear()
        starts: list[int] = []
        total = 0
        for block in self._blocks:
            starts.append(total)
            block.fit(width)
            total += block.height
        self._starts, self._total = starts, total
        self.virtual_size = Size(width, total)
        if anchor is not None and self._cursor is not None:
            entry, row = anchor
            block = self._blocks[entry]
            y = starts[entry] + (block.offsets[row] if block.offsets is not None else row)
            self.scroll_to(y=y, animate=False, immediate=True)
        self.refresh()

    def _line_index(self, y: int) -> tuple[int, int]:
        """(entry, row) of screen line ``y``."""
        entry = bisect_right(self._starts, y) - 1
        block = self._blocks[entry]
        local = y - self._starts[entry]
        if block.offsets is None:
            return entry, local
        return entry, bisect_right(block.offsets, local) - 1

    def _line_at(self, y: int) -> tuple[int, Line]:
        """The entry and the screen line at ``y`` (wrapped rows made here, and cached)."""
        entry = bisect_right(self._starts, y) - 1
        block = self._blocks[entry]
        local = y - self._starts[entry]
        offsets = block.offsets
        if offsets is None:
            gutter, style, text, dim, _i = block.rows[local]
            return entry, (gutter, style, text, dim)
        row = bisect_right(offsets, local) - 1
        lines = self._wrapped.get((entry, row))
        if lines is None:
            if len(self._wrapped) >= WRAPPED_CACHE:
                self._wrapped.clear()
            lines = _screen_lines(block.rows[row], self._width)
            self._wrapped[entry, row] = lines
        return entry, lines[local - offsets[row]]

    # -- formatting -------------------------------------------------------------------------

    def _masked(self, text: str) -> str:
        return self._mask(text) if self._mask is not None and text else text

    def _block_for(self, shown: Shown, index: int, raw: bool | None = None) -> _Block:
        if self.raw if raw is None else raw:
            rows: Sequence[Row] = self._raw_rows(shown, index)
        elif shown.kind == "server":
            return self._reply_block(shown, index)
        elif shown.kind == "note":
            lines, widest, fits = self._note_lines(shown)
            block = _Block([(*line, index) for line in lines], widest)
            width = self._width
            if widest > width > 0:  # wrapped: laid out once per text and width
                offsets = fits.get(width)
                if offsets is None:
                    block.fit(width)
                    fits[width] = block.offsets  # type: ignore[assignment]
                else:
                    block.offsets, block.height = offsets, offsets[-1]
            return block
        else:
            rows = self._rows_for(shown, index)
        return _Block(rows, max(map(_row_cells, rows), default=0))

    def _rows_for(self, shown: Shown, index: int) -> list[Row]:
        kind = shown.kind
        entry = shown.entry
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
        # notes (local events) and the app's own lines: wrapped when shown
        return [(*line, index) for line in self._note_lines(shown)[0]]

    def _note_lines(self, shown: Shown) -> _NoteLines:
        """A note's rows (without the entry index), the widest, and its screen lines' offsets
        per width it wraps at (filled in by _block_for), made once per text: a burst of
        unsolicited replies brings as many identical notes. (Offsets lists are shared by
        the blocks of one text, and never changed in place.)"""
        style = shown.style or "note"
        key = (shown.entry.text, style)
        found = self._notes.get(key)
        if found is None:
            gutter = {"local": "   ", "error": " ✗ "}.get(style, " * ")
            lines = [(gutter, style, self._masked(terminal_safe(line)), "")
                     for line in shown.entry.text.split("\n")]
            if len(self._notes) >= WRAPPED_CACHE:
                self._notes.clear()
            found = self._notes[key] = (lines, max(_row_cells((*line, 0)) for line in lines),
                                        {})
        return found

    def _reply_block(self, shown: Shown, index: int) -> _Block:
        entry = shown.entry
        reply = entry.reply
        raw = entry.raw
        code = reply.code if reply is not None else None
        style, word = CLASS_WORDS.get(code // 100 if code else 0, ("error", "? no code"))
        dim = self._reply_dim(shown, word)
        extra = self._violation_rows(shown, index)
        if raw.find(b"\n") == len(raw) - 1 and raw.endswith(b"\r\n") and raw.isascii():
            # One line of printable ASCII (a pipelined burst is thousands of them): its
            # cells are its length.
            line = raw[:-1].decode("ascii")
            if line[:-1].isprintable():
                rows = _ReplyRows([line], style, dim, index, extra)
                rows.plain = True
                widest = len(line) + 2 + (2 + _cells(dim) if dim else 0)
                if extra:
                    widest = max(widest, *map(_row_cells, extra))
                return _Block(rows, widest)
        text = raw.decode("utf-8", "replace")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        rows = _ReplyRows(lines, style, dim, index, extra)
        return _Block(rows, rows.widest(text))

    def _reply_dim(self, shown: Shown, word: str) -> str:
        """The class word, the meaning and the enhanced code's detail (worked out once per
        code and enhanced code, not per reply), then what is this reply's own."""
        reply = shown.entry.reply
        key = (reply.code, reply.enhanced) if reply is not None else (None, None)
        common = self._dims.get(key)
        if common is None:
            parts = [word]
            ex = shown.explanation
            if ex is not None:
                parts.append(ex.meaning.rstrip("."))
                if ex.enhanced:
                    detail = ex.enhanced_detail or ex.enhanced_meaning or ""
                    if detail:
                        parts.append(f"{ex.enhanced} {detail}".rstrip("."))
            common = self._dims[key] = " · ".join(parts)
        if shown.transition is not None and not shown.transition.verb:
            common += " · unsolicited"
        latency = _latency(shown.entry.latency)
        if latency:
            common += " · " + self._masked(latency)
        return common

    def _violation_rows(self, shown: Shown, index: int) -> list[Row]:
        rows: list[Row] = []
        reply = shown.entry.reply
        found = reply.diagnostics if reply is not None else ()
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

    def render_lines(self, crop: Region) -> list[Strip]:
        """The lines in ``crop``, with the view's style worked out once for all of them
        (``rich_style`` walks every ancestor's styles: a lookup per line otherwise)."""
        self._base = self.rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._base = None

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self._base or self.rich_style
        index = self.scroll_offset.y + y
        if index >= self._total:
            return Strip.blank(width, base)
        try:
            entry, line = self._line_at(index)
            strip = self._render_line(line, entry, base)
        except Exception as exc:  # noqa: BLE001 - a rendering bug must not end the app
            self.app.report_bug(exc, "rendering the transcript")  # type: ignore[attr-defined]
            strip = Strip([Segment("<this line could not be shown>", base)])
        return strip.crop_extend(0, width, base).apply_offsets(0, index)

    def _render_line(self, line: Line, entry: int, base: Style) -> Strip:
        gutter, style, text, dim = line
        line_style = base + self._style("cursor") if entry == self._cursor_entry() else base
        segments = [Segment(gutter, line_style + self._style("gutter")),
                    Segment(text, line_style + self._style(style))]
        length = len(gutter) + _cells(text)
        if dim:
            segments.append(Segment("  " + dim, line_style + self._style("dim")))
            length += 2 + _cells(dim)
        return Strip(segments, length)

    def on_resize(self) -> None:
        width = self._layout_width()
        if width != self._width:
            self._relayout(width)
        # A view that showed the newest rows keeps showing them when it shrinks (the
        # composer opening, the panel toggled).
        if self._cursor is None:
            self.call_after_refresh(self.scroll_end, animate=False, x_axis=False)

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
        first, height = self._starts[self._cursor], self._blocks[self._cursor].height
        self.scroll_to_region(Region(0, first, 1, max(1, min(height, self.size.height))),
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
        if self._total:
            self._cursor = self._line_index(min(self.scroll_offset.y, self._total - 1))[0]
        self.refresh()

    def action_explain(self) -> None:
        shown = self.cursor_shown
        if shown is not None:
            self.post_message(self.Explain(shown))

    def on_click(self, event: Any) -> None:
        y = self.scroll_offset.y + event.y
        if 0 <= y < self._total:
            self._cursor = self._line_index(y)[0]
            self.refresh()
            if getattr(event, "chain", 1) >= 2:
                self.action_explain()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
