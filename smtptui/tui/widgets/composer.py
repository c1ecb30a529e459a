"""The message composer: after 354 the command line becomes a text editor prefilled
with headers from the envelope. It warns before sending (8-bit text the server may not
take, lines dot-stuffing will change), encodes to 7-bit on request, loads a file to
stream as the message (with a progress bar), and says honestly that SMTP has no abort
inside DATA. It posts :class:`Composer.SendMessage`; the app sends."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import ProgressBar, Static, TextArea

from smtptui.tui.compose import check_message, encode_7bit, template, to_wire_text

if TYPE_CHECKING:
    from textual.app import ComposeResult

__all__ = ["Composer"]


class Composer(Vertical):
    """Header line, warnings, the editor, and a progress bar while a message streams."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+j", "send", "Send message", show=True, priority=True),
        Binding("ctrl+l", "load", "Load file", show=True),
        Binding("f8", "encode", "7-bit encode", show=True),
        Binding("escape", "no_abort", "Abort?", show=True),
    ]
    DEFAULT_CSS = """
    Composer { display: none; height: 1fr; max-height: 60%; min-height: 8;
               border-top: solid $accent; }
    Composer #composer-title { height: 1; color: $text-accent; text-style: bold; }
    Composer #composer-info { height: auto; max-height: 3; color: $text-muted; }
    Composer #composer-info.warn { color: $text-warning; }
    Composer TextArea, Composer TextArea:focus { height: 1fr; border: none; padding: 0 1; }
    Composer ProgressBar { display: none; height: 1; }
    Composer ProgressBar.sending { display: block; }
    """

    class SendMessage(Message):
        """Send this text (or the file at ``path``) as the message."""

        def __init__(self, text: str | None, path: str | None = None) -> None:
            super().__init__()
            self.text = text
            self.path = path

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.capabilities: Any = None
        self.mail_line = ""
        self._template = ""
        self.sending = False
        self._focus_when_mounted = False
        self.display = False  # hidden until DATA (also before it is mounted)
        # Built here, not in compose: the main screen mounts the composer on first use
        # (after 354) and fills it in the same turn, before its children are mounted.
        self._info = Static("", id="composer-info")
        self._editor = TextArea("", id="editor", soft_wrap=False, show_line_numbers=False)
        self._progress = ProgressBar(total=None, show_eta=False, id="progress")

    def compose(self) -> ComposeResult:
        yield Static("Message -- Ctrl+J sends it, Ctrl+L loads a file, Esc: abort?",
                     id="composer-title")
        yield self._info
        yield self._editor
        yield self._progress

    @property
    def editor(self) -> TextArea:
        return self._editor

    def focus_editor(self) -> None:
        """Focus the editor; if it is not mounted yet (the composer was just built),
        as soon as it is."""
        if self._editor.is_mounted:
            self._editor.focus()
        else:
            self._focus_when_mounted = True

    def on_mount(self) -> None:
        # Textual mounts the composed children before the parent's Mount.
        if self._focus_when_mounted and self.display:
            self._editor.focus()

    def reset(self) -> None:
        """A new session: forget the envelope (an unsent message stays in the editor)."""
        self.sending = False
        self._progress.remove_class("sending")

    def prepare(self, mail_from: str, recipients: list[str], capabilities: Any,
                helo: str, mail_line: str) -> None:
        """After 354: prefill the headers -- unless the editor holds a message that was
        never sent (a connection lost earlier): that is kept, never overwritten."""
        self.capabilities = capabilities
        self.mail_line = mail_line
        self.sending = False
        self._progress.remove_class("sending")
        editor = self.editor
        kept = editor.text.strip() and editor.text != self._template
        domain = mail_from.rpartition("@")[2] if "@" in mail_from else helo
        now = getattr(self.app, "fixed_time", None)
        self._template = template(mail_from, recipients, domain, now=now)
        if kept:
            self.notify("your unsent message is still here: Ctrl+J sends it", timeout=6)
        else:
            editor.text = self._template
            editor.move_cursor((2, len("Subject: ")))
        self._check()

    @on(TextArea.Changed)
    def _changed(self, _event: TextArea.Changed) -> None:
        self._check()

    def _check(self) -> None:
        info = self._info
        found = check_message(self.editor.text, self.capabilities, self.mail_line)
        parts: list[str] = []
        if found.warning:
            parts.append(found.warning)
        if found.stuffed_lines:
            parts.append(f"{found.stuffed_lines} line(s) start with '.': they go out as "
                         f"'..' (dot-stuffing, RFC 5321 §4.5.2); the receiver removes it.")
        if not parts:
            parts.append("a line with a single '.' ends the message; smtptui sends it for "
                         "you (and dot-stuffs any line that starts with '.')")
        info.set_class(bool(found.warning), "warn")
        info.update(Content("\n".join(parts)))

    def action_send(self) -> None:
        if self.sending:
            self.notify("the message is being sent", severity="warning")
            return
        self.sending = True
        self.post_message(self.SendMessage(to_wire_text(self.editor.text)))

    def sent(self) -> None:
        """The message went out (the final reply came): the editor starts empty again."""
        self.editor.text = ""
        self._template = ""
        self.sending = False

    def action_encode(self) -> None:
        self.editor.text = encode_7bit(self.editor.text)
        self.notify("encoded as 7-bit: base64 body, RFC 2047 headers", timeout=4)

    def action_load(self) -> None:
        from smtptui.tui.screens.dialogs import PathDialog

        def chosen(path: str | None) -> None:
            if path:
                self.sending = True
                self.post_message(self.SendMessage(None, path))

        self.app.push_screen(PathDialog("Send a file as the message",
                                        "the file is streamed as it is (dot-stuffed), "
                                        "with a progress bar"), callback=chosen)

    def action_no_abort(self) -> None:
        from smtptui.tui.screens.dialogs import NoAbortDialog

        def chosen(choice: str | None) -> None:
            if choice == "send":
                self.action_send()
            elif choice == "drop":
                self.app.action_disconnect()  # type: ignore[attr-defined]

        self.app.push_screen(NoAbortDialog(), callback=chosen)

    def progress(self, sent: int, total: int | None) -> None:
        bar = self._progress
        bar.add_class("sending")
        bar.update(total=total, progress=sent)
