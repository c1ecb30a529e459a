"""The command line: an input with a completion dropdown, an inline suggestion, live
grammar diagnostics under it, and history.

Everything it knows about SMTP comes from two callables the screen gives it -- the
session's ``complete(line)`` and ``check(line)`` (the core's completion and grammar) --
so the dropdown, the ghost text and the diagnostics can never disagree with ``smtptui
check`` or the shell. It posts :class:`CommandInput.Send` for a line to send; it never
sends anything itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from textual import events, on
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.reactive import Reactive
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from smtptui.core.completion import Candidate
    from smtptui.core.diagnostics import Diagnostic

__all__ = ["CommandInput", "CompletionList", "HintLine"]

MAX_SHOWN = 8
"""Candidates listed in the dropdown at once (it scrolls for more)."""


class CompletionList(OptionList, can_focus=False):
    """The dropdown: candidates with their meanings (never focused: the input drives it)."""

    DEFAULT_CSS = """
    CompletionList {
        display: none;
        height: auto;
        max-height: 10;
        border: round $accent 60%;
        padding: 0 1;
        background: $panel;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        & > .option-list--option-highlighted { background: $block-cursor-background 50%; }
    }
    CompletionList.shown { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.candidates: list[Candidate] = []
        self.navigated = False

    def show(self, candidates: Sequence[Candidate]) -> None:
        self.candidates = list(candidates)
        self.navigated = False
        self.clear_options()
        if not self.candidates:
            self.remove_class("shown")
            return
        width = max(cell_len(c.display) for c in self.candidates[:50])
        options = []
        for c in self.candidates:
            label = Content.assemble(
                (c.display.ljust(width), "bold"), "  ",
                (c.meaning, "dim"), (f"  {c.kind}", "italic dim"))
            options.append(Option(label))
        self.add_options(options)
        self.highlighted = 0
        self.add_class("shown")

    def hide(self) -> None:
        self.candidates = []
        self.navigated = False
        self.remove_class("shown")

    @property
    def is_shown(self) -> bool:
        return self.has_class("shown")

    @property
    def selected(self) -> Candidate | None:
        at = self.highlighted
        if at is None or not (0 <= at < len(self.candidates)):
            return None
        return self.candidates[at]

    def move(self, delta: int) -> None:
        if not self.candidates:
            return
        at = (self.highlighted or 0) + delta
        self.highlighted = max(0, min(at, len(self.candidates) - 1))
        self.navigated = True


class HintLine(Static):
    """Two lines under the input: a caret under the column a diagnostic points at, then
    the diagnostic with its rule -- or, with nothing to report, the usual next step."""

    DEFAULT_CSS = """
    HintLine { height: 2; padding: 0 0; color: $text-muted; text-wrap: nowrap;
               text-overflow: ellipsis; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self._showing: object = None

    def _show(self, key: object, make: Callable[[], Content]) -> None:
        """Show what ``make`` builds, unless ``key`` says it is on screen already. Its size
        is fixed (two lines, the pane's width), so a change repaints this line only:
        a keystroke must not cost a layout of the whole screen."""
        if key != self._showing:
            self._showing = key
            self.update(make(), layout=False)

    def show_hint(self, text: str) -> None:
        self._show(("hint", text), lambda: Content(text).stylize("dim"))

    def show_diagnostic(self, column: int, width: int, diag: Diagnostic, more: int,
                        confirm: bool) -> None:
        style = "bold $text-error" if diag.is_error else "bold $text-warning"
        caret = " " * max(0, column) + "^" + "~" * max(0, width - 1)
        rule = f" ({diag.rule})" if diag.rule else ""
        extra = f" (+{more} more)" if more else ""
        second: list[tuple[str, str] | str] = [(f"{diag.severity}: ", style),
                                               (diag.message + rule + extra, "")]
        if confirm:
            second = [("Enter again to send it anyway", "bold $text-warning"),
                      (f" -- {diag.severity}: {diag.message}{rule}", "dim")]
        self._show(("diagnostic", caret, style, *second),
                   lambda: Content.assemble((caret, style), "\n", *second))

    def show_message(self, text: str, style: str = "bold $text-warning") -> None:
        self._show(("message", text, style), lambda: Content.assemble((text, style)))


class CommandInput(Input):
    """The command input. Tab completes (the highlighted candidate, or the first);
    Up/Down move in the dropdown when it is open, else in the history; Enter on a line
    with errors asks once before sending it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete", "Complete", show=True),
        Binding("up", "up", "History/up", show=False),
        Binding("down", "down", "History/down", show=False),
        Binding("escape", "dismiss", "Close list", show=False),
        Binding("ctrl+space", "open_list", "List", show=False),
    ]
    DEFAULT_CSS = """
    CommandInput { border: none; height: 1; padding: 0 0; background: $surface; }
    CommandInput:focus { border: none; background-tint: $foreground 4%; }
    CommandInput > .input--suggestion { color: $text-muted 70%; }
    """

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)
    """The text's width (Input sets it on every keystroke). Nothing around the command
    line depends on it, so it repaints the line instead of laying out the whole screen
    (a layout per keystroke was most of a keystroke's cost)."""

    class Send(Message):
        """A line to send (the screen hands it to the session)."""

        def __init__(self, line: str, forced: bool) -> None:
            super().__init__()
            self.line = line
            self.forced = forced  # sent despite errors, after the second Enter

    def __init__(self, hint: HintLine, *, make_dropdown: Callable[[], CompletionList],
                 placeholder: str = "", id: str | None = None) -> None:
        """``make_dropdown``: builds the completion list and mounts it where it shows; called
        once, when there is first something to list (most lines never need it, and a
        list widget not built is one less to style and lay out at start-up)."""
        super().__init__(placeholder=placeholder, id=id, select_on_focus=False)
        self._make_dropdown = make_dropdown
        self._dropdown: CompletionList | None = None
        self.hint = hint
        self.completer: Callable[[str], list[Candidate]] = lambda _line: []
        self.checker: Callable[[str], list[Diagnostic]] = lambda _line: []
        self.history: Callable[[], Sequence[str]] = lambda: ()
        self.idle_hint: Callable[[], str] = lambda: ""
        self.gate: Callable[[str], str | bool | None] | None = None
        """A judge before sending (the guided mode's lesson): None -- no opinion, the
        usual checks; True -- send now; a text -- refused, shown, and sent only on a
        second Enter (the same "send it anyway" as for grammar errors)."""
        self.prompt_width = 0           # cells left of the input (the "C:" label)
        self.diagnostics: list[Diagnostic] = []
        self._confirm_for: str | None = None
        self._refusal = ""              # the gate's reason, while _confirm_for asks
        self._history_at: int | None = None
        self._draft = ""
        self._quiet = False             # a value set by history: no dropdown
        self._typing = False            # the only problem is the word being typed

    @property
    def dropdown(self) -> CompletionList:
        """The completion list (built and mounted on first use)."""
        if self._dropdown is None:
            self._dropdown = self._make_dropdown()
        return self._dropdown

    @property
    def shown_list(self) -> CompletionList | None:
        """The completion list if it is open, else None (never builds it)."""
        dropdown = self._dropdown
        return dropdown if dropdown is not None and dropdown.is_shown else None

    def _hide_list(self) -> None:
        if self._dropdown is not None:
            self._dropdown.hide()

    # -- keeping the dropdown, suggestion and diagnostics in step with the text -----------

    def refresh_assist(self, *, open_list: bool | None = None) -> None:
        """Recompute candidates and diagnostics for the current text (also called when
        the session state changes: what is legal, and so what is suggested, moved)."""
        value = self.value
        typed = value[: self.cursor_position]
        try:
            candidates = self.completer(typed) if typed or open_list else []
            self.diagnostics = self.checker(value) if value.strip() else []
        except Exception as exc:  # noqa: BLE001 - assistance must never cost the line
            self.app.report_bug(exc, "completing the command line")  # type: ignore[attr-defined]
            candidates, self.diagnostics = [], []
        ghost = ""
        if candidates and self.cursor_at_end:
            first = candidates[0]
            proposal = value[: first.start] + first.text
            if proposal.startswith(value) and len(proposal) > len(value):
                ghost = proposal
        self._suggestion = ghost
        self._typing = bool(candidates) and self.cursor_at_end and bool(self.diagnostics) \
            and self.diagnostics[0].end >= len(value.rstrip()) and not value.endswith(" ")
        exact = len(candidates) == 1 and value[: candidates[0].start] + candidates[
            0].text.rstrip() == value.rstrip()
        show = (open_list or (self.has_focus and typed and not self._quiet)) and not exact
        if show and candidates:
            self.dropdown.show(candidates[:200])
        else:
            self._hide_list()
        self._show_hint()

    def _show_hint(self) -> None:
        if self._refusal and self._confirm_for == self.value and not any(
                d.is_error for d in self.diagnostics):
            self.hint.show_message(self._refusal)  # else: the caret under the error
        elif self._typing and self._confirm_for != self.value:
            first = self._dropdown.selected if self._dropdown is not None else None
            shown = f": {first.display}" if first is not None else ""
            self.hint.show_hint(f"keep typing, or Tab completes{shown}")
        elif self.diagnostics:
            d = self.diagnostics[0]
            column = self.prompt_width + cell_len(self.value[: d.start]) - self.scroll_offset.x
            self.hint.show_diagnostic(column, max(1, d.end - d.start), d,
                                      len(self.diagnostics) - 1,
                                      self._confirm_for == self.value)
        else:
            self.hint.show_hint(self.idle_hint())

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input is not self:
            return
        if self._confirm_for is not None and self._confirm_for != self.value:
            self._confirm_for, self._refusal = None, ""
        self.refresh_assist()
        self._quiet = False

    def on_blur(self, _event: events.Blur) -> None:
        self._hide_list()

    # -- keys --------------------------------------------------------------------------------

    def _accept(self, candidate: Candidate) -> None:
        typed = self.value[: self.cursor_position]
        after = self.value[self.cursor_position:]
        new = typed[: candidate.start] + candidate.text
        self.value = new + after
        self.cursor_position = len(new)
        self.refresh_assist()

    def action_complete(self) -> None:
        shown = self.shown_list
        candidate = shown.selected if shown is not None else None
        if candidate is None:
            candidates = self.completer(self.value[: self.cursor_position])
            if not candidates:
                self.screen.focus_next()
                return
            if len(candidates) > 1 and shown is None:
                self.dropdown.show(candidates[:200])
                common = _common_prefix([c.text for c in candidates
                                         if c.start == candidates[0].start])
                typed = self.value[: self.cursor_position]
                if len(common) > len(typed) - candidates[0].start:
                    self._accept_text(candidates[0].start, common)
                return
            candidate = candidates[0]
        self._accept(candidate)

    def _accept_text(self, start: int, text: str) -> None:
        typed = self.value[: self.cursor_position]
        after = self.value[self.cursor_position:]
        new = typed[:start] + text
        self.value = new + after
        self.cursor_position = len(new)

    def action_open_list(self) -> None:
        self.refresh_assist(open_list=True)

    def action_dismiss(self) -> None:
        if self.shown_list is not None:
            self._hide_list()
        else:
            self.screen.focus_next()

    def action_up(self) -> None:
        shown = self.shown_list
        if shown is not None:
            shown.move(-1)
            return
        lines = self.history()
        if not lines:
            return
        if self._history_at is None:
            self._draft = self.value
            self._history_at = len(lines)
        if self._history_at > 0:
            self._history_at -= 1
            self._set_quietly(lines[self._history_at])

    def action_down(self) -> None:
        shown = self.shown_list
        if shown is not None:
            shown.move(1)
            return
        if self._history_at is None:
            return
        lines = self.history()
        self._history_at += 1
        if self._history_at >= len(lines):
            self._history_at = None
            self._set_quietly(self._draft)
        else:
            self._set_quietly(lines[self._history_at])

    def _set_quietly(self, value: str) -> None:
        self._quiet = True
        self.value = value
        self.cursor_position = len(value)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input is not self:
            return
        event.stop()
        shown = self.shown_list
        if shown is not None and shown.navigated and shown.selected is not None:
            self._accept(shown.selected)
            return
        line = self.value
        self.diagnostics = self.checker(line) if line.strip() else []
        errors = [d for d in self.diagnostics if d.is_error]
        forced = self._confirm_for == line
        judged = None if forced or self.gate is None else self.gate(line)
        if isinstance(judged, str):
            self._confirm_for, self._refusal = line, judged
            self._show_hint()
            return
        if errors and judged is not True and not forced:
            self._confirm_for = line
            self._show_hint()
            return
        self._confirm_for, self._refusal = None, ""
        self._history_at = None
        self._draft = ""
        self.post_message(self.Send(line, forced))

    def clear_line(self) -> None:
        """After a line was handed over for sending."""
        self._quiet = True
        self.value = ""
        self._hide_list()
        self.diagnostics = []
        self._show_hint()

    def verb_under_cursor(self) -> str:
        """The command the user is looking at: the highlighted candidate if it is a verb,
        else the first word of the line."""
        shown = self.shown_list
        selected = shown.selected if shown is not None else None
        if selected is not None and selected.kind == "verb":
            return selected.display.upper()
        return (self.value.split() or [""])[0].upper()


def _common_prefix(texts: Sequence[str]) -> str:
    if not texts:
        return ""
    first, last = min(texts), max(texts)
    n = 0
    while n < len(first) and n < len(last) and first[n] == last[n]:
        n += 1
    return first[:n]
