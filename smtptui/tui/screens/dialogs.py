"""Modal screens: help, explanation, connect, MX picker, AUTH, save, file path, and the
"no abort inside DATA" choice. Each returns a value (``dismiss``); none talks to the
network."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    Label,
    OptionList,
    Select,
    Static,
)
from textual.widgets.option_list import Option

from smtptui.core.commands import COMMANDS, help_text
from smtptui.core.state import END_OF_DATA, GREETING
from smtptui.session import ConnectSpec, persona_names
from smtptui.session.autosave import private_file
from smtptui.session.display import terminal_safe
from smtptui.tui.app import Guarded
from smtptui.tui.commands import ACTIONS, LESSON_ACTIONS

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from smtptui.core.transcript import Transcript
    from smtptui.session import MXChoice
    from smtptui.tui.widgets.transcript import Shown

__all__ = ["AuthDialog", "ConnectDialog", "ExplainScreen", "HelpScreen", "MXPicker",
           "NoAbortDialog", "PathDialog", "SaveDialog"]


class Dialog(Guarded, ModalScreen[Any]):
    """A centred box; Escape closes it with None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]
    DEFAULT_CSS = """
    Dialog { align: center middle; background: $background 60%; }
    Dialog > #box {
        width: 84; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    Dialog #box-title { text-style: bold; color: $text-accent; width: 1fr; }
    Dialog .buttons { height: auto; margin-top: 1; align-horizontal: right; }
    Dialog .buttons Button { margin-left: 1; }
    Dialog .field { height: auto; margin-top: 1; }
    Dialog .field Label { width: 12; padding-top: 1; }
    Dialog .field Input, Dialog .field Select { width: 1fr; }
    Dialog .note { color: $text-muted; margin-top: 1; }
    Dialog VerticalScroll { height: auto; max-height: 22; }
    """

    def action_close(self) -> None:
        self.dismiss(None)


GUIDED_HELP = (
    "Type each step's line in the command line, as usual. The lesson judges it before "
    "anything is sent: first the grammar of the lesson's dialect, then the step. A line "
    "it refuses stays in the input to fix; Enter again sends it anyway -- the step is then "
    "not met, its reply does not count, and the lesson waits for the step's own line.\n"
    "Step back: SMTP cannot unsend a command, so a fresh session with the lesson's world "
    "starts and the steps before the previous one are replayed quickly. Restart: a fresh "
    "session from step 1. Mistakes and hints stay counted for the summary.\n")


class HelpScreen(Dialog):
    """F1: the command table's entry for a verb (or every verb and every key)."""

    def __init__(self, verb: str) -> None:
        super().__init__()
        self.verb = verb if verb in COMMANDS else ""

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            title = f"Help: {self.verb}" if self.verb else "Help: commands and keys"
            yield Static(title, id="box-title")
            with VerticalScroll():
                if self.verb:
                    spec = COMMANDS[self.verb]
                    lines = list(help_text(self.verb))
                    if spec.help:
                        lines += ["", spec.help]
                    yield Static(Content("\n".join(lines)), id="help-text")
                else:
                    yield Static(Content("\n".join(help_text(None))), id="help-text")
                keys = [f"{a.key:<10} {a.title}" for a in ACTIONS if a.key]
                if getattr(self.app, "guide", None) is not None:
                    yield Static(Content.assemble(("\nGuided lesson\n", "bold"), GUIDED_HELP,
                                                  "\n".join(f"{a.key:<10} {a.title}: {a.help}"
                                                            for a in LESSON_ACTIONS)),
                                 classes="note")
                yield Static(Content.assemble(
                    ("\nKeys\n", "bold"),
                    "Tab        complete (the highlighted candidate, or the first)\n"
                    "Up/Down    history, or move in the completion list\n"
                    "Enter      send (on a line with errors: Enter again sends it anyway)\n"
                    "Ctrl+P     every action, searchable\n" + "\n".join(keys)),
                    classes="note")
            with Horizontal(classes="buttons"):
                yield Button("Close", id="close", variant="primary")

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)


class ExplainScreen(Dialog):
    """What one transcript entry means: the reply code digit by digit, the enhanced
    code, the RFC, and what it changed in the session."""

    def __init__(self, shown: Shown) -> None:
        super().__init__()
        self.shown = shown

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Static(self._title(), id="box-title")
            with VerticalScroll():
                yield Static(self._body(), id="explain-text")
            with Horizontal(classes="buttons"):
                yield Button("Close", id="close", variant="primary")

    def _title(self) -> str:
        shown = self.shown
        if shown.kind == "server" and shown.entry.reply is not None:
            return f"Reply {shown.entry.reply.code}"
        if shown.kind in ("client", "data"):
            return "Your line"
        return "Note"

    def _body(self) -> Content:
        shown = self.shown
        entry = shown.entry
        parts: list[tuple[str, str] | str] = []
        ex = shown.explanation
        if shown.kind == "server" and ex is not None:
            first = terminal_safe(entry.text.split("\n", 1)[0])
            parts += [(f"{ex.code} {first}\n\n", "bold"), (ex.meaning, ""), "\n\n",
                      ("Digits\n", "bold")]
            parts += [f"  {d}\n" for d in ex.digits]
            if ex.enhanced:
                parts += [("\nEnhanced status code ", "bold"), (ex.enhanced, "bold"), "\n",
                          f"  class:   {ex.enhanced_class_meaning or ''}\n",
                          f"  subject: {ex.enhanced_subject_meaning or ''}\n",
                          f"  detail:  {ex.enhanced_detail or ex.enhanced_meaning or ''}\n"]
            parts += [("\nDefined in ", "bold"), ex.rfc, "\n"]
            if ex.rfc_text:
                parts += [("RFC text: ", "bold"), ex.rfc_text, "\n"]
            if ex.notes:
                parts += [("Notes: ", "bold"), ex.notes, "\n"]
            t = shown.transition
            if t is not None:
                verb = {GREETING: "the greeting", END_OF_DATA: "the end of the message"}.get(
                    t.verb, t.verb or "nothing (unsolicited)")
                parts += [("\nIn this session\n", "bold"), f"  answers {verb}\n",
                          f"  state: {t.before.value} -> {t.after.value}"
                          + (f" ({t.rule})" if t.rule else "") + "\n"]
                if t.lenient:
                    parts += [(("  the server allowed a step the RFC sequence does not have"
                               "\n"), "$text-warning")]
                if t.allowed_5321 is False or t.allowed_821 is False:
                    parts += [((f"  {t.code} is not listed for this command by "
                               f"{'RFC 821' if t.allowed_821 is False else ''}"
                               f"{' and ' if (t.allowed_821 is False and t.allowed_5321 is False) else ''}"
                               f"{'RFC 5321' if t.allowed_5321 is False else ''}\n"),
                               "$text-warning")]
            if entry.latency is not None:
                parts += [f"  latency: {entry.latency * 1000:.1f} ms\n"]
            for d in (ex.diagnostics or ()):
                parts += [(f"\n{d.severity}: ", "bold $text-error"), d.message,
                          f" ({d.rule})" if d.rule else ""]
        elif shown.kind == "client":
            verb = (entry.text.split() or [""])[0].upper()
            shown_text = "(secret: masked)" if entry.secret else terminal_safe(entry.text)
            parts += [(shown_text + "\n\n", "bold")]
            parts += ["\n".join(help_text(verb)) or "not a command smtptui knows", "\n"]
            for d in entry.diagnostics:
                parts += [(f"\n{d.severity}: ", "bold $text-warning"), d.message,
                          f" ({d.rule})" if d.rule else ""]
        else:
            parts += [terminal_safe(entry.text)]
        parts += [("\n\nRaw: ", "bold"), repr(entry.raw)[:600] if not entry.secret
                  else "(secret)"]
        return Content.assemble(*parts)

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)


class ConnectDialog(Dialog):
    """Ctrl+O: another server, without leaving the app."""

    def __init__(self, current: ConnectSpec) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        c = self.current
        personas = [(p, p) for p in persona_names()]
        with Vertical(id="box"):
            yield Static("Connect to a server", id="box-title")
            yield Static("Leave the target empty for the embedded teaching server. Targets: "
                         "host, host:port, [v6]:port, smtp://host, smtps://host, @domain "
                         "(its MX hosts).", classes="note")
            with Horizontal(classes="field"):
                yield Label("Target")
                yield Input(c.target or "", placeholder="empty: embedded server",
                            id="target")
            with Horizontal(classes="field"):
                yield Label("Persona")
                yield Select(personas, value=c.persona or "modern", allow_blank=False,
                             id="persona")
            with Horizontal(classes="field"):
                yield Label("STARTTLS")
                yield Select([("type it yourself", "manual"),
                              ("auto: right after EHLO when offered", "auto"),
                              ("yes: required", "yes"), ("no", "no")],
                             value=c.starttls, allow_blank=False,
                             id="starttls")
            with Horizontal(classes="field"):
                yield Label("CA file")
                yield Input(c.cafile or "", placeholder="PEM file to trust (optional)",
                            id="cafile")
            with Horizontal(classes="field"):
                yield Checkbox("implicit TLS (smtps)", c.tls, id="tls")
                yield Checkbox("don't verify certificates", c.insecure, id="insecure")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Connect", id="connect", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#target", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#connect")
    def _connect(self) -> None:
        target = self.query_one("#target", Input).value.strip() or None
        cafile = self.query_one("#cafile", Input).value.strip() or None
        persona = self.query_one("#persona", Select).value
        starttls = self.query_one("#starttls", Select).value
        c = self.current
        spec = ConnectSpec(
            target=target, tls=self.query_one("#tls", Checkbox).value,
            starttls=str(starttls), cafile=cafile,
            insecure=self.query_one("#insecure", Checkbox).value, timeout=c.timeout,
            resolver=c.resolver, helo=c.helo, family=c.family,
            world=c.world if target is None else None,
            persona=str(persona) if target is None else None)
        self.dismiss(spec)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class MXPicker(Dialog):
    """@domain: the mail exchangers in RFC 5321 §5.1 order; pick one, or try them all."""

    def __init__(self, choices: list[MXChoice], target: str) -> None:
        super().__init__()
        self.choices = choices
        self.target = target

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Static(f"Mail exchangers of {self.target}", id="box-title")
            options: list[Option] = []
            for i, c in enumerate(self.choices):
                pref = "-" if c.preference is None else str(c.preference)
                if c.usable:
                    label = Content.assemble((f"{pref:>5}  ", "dim"), (c.host, "bold"),
                                             f":{c.port}  ",
                                             (", ".join(c.addresses), "dim"))
                else:
                    label = Content.assemble((f"{pref:>5}  ", "dim"), c.host or "(none)",
                                             ("  " + (c.error or ""), "$text-error"))
                options.append(Option(label, id=str(i), disabled=not c.usable))
            if any(c.usable for c in self.choices):
                options.append(Option(Content("try them in order (as a mail server would)"),
                                      id="any"))
            yield OptionList(*options, id="mx-list")
            yield Static("Lower preference first (RFC 5321 §5.1). Enter picks; Escape "
                         "cancels.", classes="note")

    def on_mount(self) -> None:
        self.query_one("#mx-list", OptionList).focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        ident = event.option.id or ""
        self.dismiss("any" if ident == "any" else self.choices[int(ident)])


class AuthDialog(Dialog):
    """AUTH: mechanism, user, password (masked: shown as dots; never saved)."""

    def __init__(self, mechanisms: tuple[str, ...], *, demo: bool) -> None:
        super().__init__()
        self.mechanisms = mechanisms
        self.demo = demo

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Static("Authenticate (AUTH, RFC 4954)", id="box-title")
            with Horizontal(classes="field"):
                yield Label("Mechanism")
                yield Select([(m, m) for m in self.mechanisms], value=self.mechanisms[0],
                             allow_blank=False, id="mechanism")
            with Horizontal(classes="field"):
                yield Label("User")
                yield Input("alice" if self.demo else "", id="user")
            with Horizontal(classes="field"):
                yield Label("Password")
                yield Input("", password=True, id="password",
                            placeholder="wonderland (the demo user)" if self.demo else "")
            yield Static("The responses are computed for you and masked in the transcript, "
                         "the autosave file and every export.", classes="note")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("AUTH", id="ok", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#password" if self.demo else "#user", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        mech = str(self.query_one("#mechanism", Select).value)
        user = self.query_one("#user", Input).value
        password = self.query_one("#password", Input).value
        self.dismiss((mech, user, password))

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class SaveDialog(Dialog):
    """Save the transcript: a .smtp script (``smtptui run`` replays it) or JSON; secrets
    masked; the file readable by the user only."""

    def __init__(self, transcript: Transcript, directory: Path | None = None) -> None:
        super().__init__()
        self.transcript = transcript
        self.directory = directory or Path.cwd()

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Static("Save the transcript", id="box-title")
            with Horizontal(classes="field"):
                yield Label("File")
                yield Input(str(self.directory / "session.smtp"), id="path")
            yield Static(".smtp: a C:/S: script that `smtptui run FILE TARGET` replays; "
                         ".json: every entry with raw bytes and timing. AUTH secrets are "
                         "masked in both.", classes="note")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        path = Path(self.query_one("#path", Input).value.strip()).expanduser()
        text = (self.transcript.to_json() + "\n" if path.suffix.lower() == ".json"
                else self.transcript.to_text() + "\n")
        try:
            import os

            fd = private_file(path, "w")
            try:
                os.write(fd, text.encode("utf-8", "surrogateescape"))
            finally:
                os.close(fd)
        except OSError as exc:
            self.notify(f"{path}: {exc.strerror or exc}", title="not saved",
                        severity="error")
            return
        self.notify(f"saved {path}", title="saved")
        self.dismiss(str(path))

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class PathDialog(Dialog):
    """Ask for a file path."""

    def __init__(self, title: str, note: str) -> None:
        super().__init__()
        self.title_text = title
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Static(self.title_text, id="box-title")
            with Horizontal(classes="field"):
                yield Label("File")
                yield Input("", id="path", placeholder="path/to/message.eml")
            yield Static(self.note, classes="note")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Send", id="ok", variant="primary")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        path = Path(self.query_one("#path", Input).value.strip()).expanduser()
        if not path.is_file():
            self.notify(f"{path}: no such file", severity="error")
            return
        self.dismiss(str(path))

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class NoAbortDialog(Dialog):
    """Escape inside DATA: SMTP has no way to abort a message once 354 came."""

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Static("There is no abort inside DATA", id="box-title")
            yield Static(
                "After 354 everything up to a line with a single '.' is the message "
                "(RFC 5321 §4.1.1.4); no command can cancel it. The honest choices:\n"
                "  - send the message: once the server accepts it (250) it will be "
                "delivered;\n"
                "  - drop the connection: the server must then discard the unfinished "
                "message (RFC 5321 §4.1.1.4), and you reconnect (F5);\n"
                "  - keep editing.", classes="note")
            with Horizontal(classes="buttons"):
                yield Button("Keep editing", id="keep", variant="primary")
                yield Button("Send it", id="send")
                yield Button("Drop the connection", id="drop", variant="error")

    @on(Button.Pressed)
    def _chosen(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id if event.button.id != "keep" else None)
