"""The main screen: transcript, command line (or the message composer in DATA), state
panel. It renders session events and hands what the user typed to the app; it never
speaks SMTP itself."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, Label

from smtptui.core.commands import COMMANDS
from smtptui.core.state import END_OF_DATA
from smtptui.core.transcript import Direction, Entry
from smtptui.session.display import terminal_safe
from smtptui.session.events import (
    Closed,
    Connected,
    Connecting,
    DataProgress,
    Failed,
    LineSent,
    Note,
    RemoteLine,
    ReplyReceived,
    ServerLog,
    StateChanged,
    TLSUp,
)
from smtptui.tui.app import Guarded
from smtptui.tui.widgets.command import CommandInput, CompletionList, HintLine
from smtptui.tui.widgets.footer import KeysFooter
from smtptui.tui.widgets.state import StatePanel
from smtptui.tui.widgets.transcript import Shown, TranscriptView

if TYPE_CHECKING:
    from textual.widget import Widget

    from smtptui.session import ConnectSpec, Session
    from smtptui.session.events import Event
    from smtptui.tui.app import SmtpApp
    from smtptui.tui.guided import Guide
    from smtptui.tui.widgets.composer import Composer

__all__ = ["MainScreen"]

NARROW = 100
"""Below this many columns the state panel starts hidden (F4 shows it)."""

_ADDRESS = re.compile(r"<([^<>]*)>")


class MainScreen(Guarded, Screen[None]):
    """Transcript + command line + state panel."""

    app: SmtpApp  # type: ignore[assignment]
    AUTO_FOCUS = "#command"
    """Where focus goes when the screen comes up (on_mount focuses it too). Textual's
    default, the first focusable widget, is the transcript: its keys would be shown, the
    footer built for them and then rebuilt once the command line takes focus."""

    def __init__(self, side_pane: Widget | None = None) -> None:
        super().__init__()
        self.side_pane = side_pane
        self.session: Session | None = None
        self.snapshot: StateChanged | None = None
        self.starttls_wanted: str | bool = False
        self._data_mode = False
        self._turned = False
        self._prompt_text = "C:"  # the #prompt label's text
        self._panel_user: bool | None = None  # the user's F4 choice overrides the width
        self.mail_from: str | None = None
        self.recipients: list[str] = []
        self.banner = ""
        self.guide: Guide | None = None  # the guided mode's lesson (smtptui lesson)
        self._composer: Composer | None = None  # mounted on first use: see composer
        self._transcript: TranscriptView  # made in compose

    def compose(self) -> ComposeResult:
        # The transcript is kept: it is there (empty) from the screen's first moment, not
        # only once its container has mounted it.
        self._transcript = TranscriptView(id="transcript", mask_text=self.app.mask_text)
        yield Header(icon="✉")
        with Horizontal(id="body"):
            if self.side_pane is not None:
                yield self.side_pane
            with Vertical(id="main"):
                yield self._transcript
                hint = HintLine(id="hint")
                with Horizontal(id="input-row"):
                    yield Label("C:", id="prompt")
                    yield CommandInput(hint, make_dropdown=self._make_dropdown, id="command",
                                       placeholder="type an SMTP command (Tab completes)")
                yield hint
            yield StatePanel(id="state")
        yield KeysFooter()

    # -- widgets ---------------------------------------------------------------------------

    def _make_dropdown(self) -> CompletionList:
        """The completion list, mounted above the command line when first needed."""
        dropdown = CompletionList(id="completions")
        self.query_one("#main").mount(dropdown, before="#input-row")
        return dropdown

    @property
    def transcript(self) -> TranscriptView:
        return self._transcript

    @property
    def command(self) -> CommandInput:
        return self.query_one("#command", CommandInput)

    @property
    def composer(self) -> Composer:
        """The message composer (hidden until DATA). It is built and mounted on first use,
        not at start-up: a text editor and its companions are a good part of the screen's
        widgets, and most sessions reach DATA late or never."""
        composer = self._composer
        if composer is None:
            from smtptui.tui.widgets.composer import Composer

            composer = self._composer = Composer(id="composer")
            if self.app.is_headless:  # tests and screenshots: no blinking cursor to catch
                composer.editor.cursor_blink = False
            self.query_one("#main").mount(composer, after="#hint")
        return composer

    @property
    def panel(self) -> StatePanel:
        return self.query_one("#state", StatePanel)

    def on_mount(self) -> None:
        command = self.command
        command.prompt_width = 3
        command.completer = self._complete
        command.checker = self._check
        command.history = self._history
        command.idle_hint = self._idle_hint
        self.guide = getattr(self.app, "guide", None)
        if self.guide is not None:
            command.gate = self.guide.gate
        command.focus()
        if self.app.is_headless:  # tests and screenshots: no blinking cursor to catch
            command.cursor_blink = False
        self._layout_panel(self.size.width)
        self.panel.set_dialect("rfc5321")
        if self.side_pane is not None:
            # Notes wrap to the transcript's width, known once the pane is laid out.
            self.call_after_refresh(self.app.screen_ready.set)
        else:
            # The first notes and the greeting are in before the first layout: they wrap
            # to the width the transcript will have (the screen's, less the panel's fixed
            # width when it shows), so it need not re-wrap them, and the screen need not
            # be laid out and rendered again, once it is laid out.
            panel, width = self.panel, self.panel.styles.width
            taken = (width.cells or 0) if panel.display and width is not None else 0
            self.transcript.expected_width = self.size.width - taken
            self.app.screen_ready.set()

    def on_resize(self, event: Any) -> None:
        self._layout_panel(event.size.width)

    def _layout_panel(self, width: int) -> None:
        # Beside a lesson pane the transcript needs the room: the panel waits for F4.
        narrow = NARROW + (50 if self.side_pane is not None else 0)
        show = self._panel_user if self._panel_user is not None else width >= narrow
        self.panel.display = show

    def toggle_panel(self) -> None:
        self._panel_user = not self.panel.display
        self.panel.display = self._panel_user

    def toggle_raw(self) -> None:
        view = self.transcript
        view.raw = not view.raw
        self.notify("raw view: exact bytes, CRLF shown as \\r\\n" if view.raw
                    else "normal view", timeout=3)

    def toggle_dialect(self) -> None:
        session = self.session
        dialect = "rfc821" if (session.dialect if session else self.panel.dialect) == \
            "rfc5321" else "rfc5321"
        if session is not None:
            session.dialect = dialect  # type: ignore[assignment]
        self.panel.set_dialect(dialect)
        self.command.refresh_assist()
        self.notify(f"checking lines against {dialect.upper()}", timeout=3)

    def focus_transcript(self) -> None:
        self.transcript.focus()

    def focus_input(self) -> None:
        (self.composer.editor if self._data_mode else self.command).focus()

    def verb_under_cursor(self) -> str:
        if self.focused is self.transcript and self.transcript.cursor_shown is not None:
            shown = self.transcript.cursor_shown
            if shown.kind == "client":
                return (shown.entry.text.split() or [""])[0].upper()
            if shown.transition is not None and shown.transition.verb:
                return shown.transition.verb
        return self.command.verb_under_cursor()

    # -- what the command line asks the session --------------------------------------------

    def _complete(self, line: str) -> list[Any]:
        session = self.session
        if session is None:
            return []
        return session.complete(line)

    def _check(self, line: str) -> list[Any]:
        session = self.session
        if session is None:
            return []
        return session.check(line)

    def _history(self) -> Sequence[str]:
        session = self.session
        return session.history.lines if session is not None else ()

    def _idle_hint(self) -> str:
        s = self.snapshot
        if self.session is None:
            return "not connected -- Ctrl+O opens a server"
        if s is None or s.state.value == "connected":
            return "waiting for the server's greeting..."
        if s.state.value == "closed":
            return "not connected -- F5 reconnects, Ctrl+O opens another server"
        if s.role == "server":
            codes = ", ".join(str(c) for c in self.session.expected_reply_codes())
            return f"you are the receiver: answer with a reply ({codes or 'code'} + text)"
        if self.guide is not None:
            return self.guide.idle_hint()
        if s.usual:
            first = s.usual[0]
            example = {"EHLO": "EHLO <your-name>", "HELO": "HELO <your-name>",
                       "MAIL": "MAIL FROM:<you@example.org>",
                       "RCPT": "RCPT TO:<someone@example.org>"}.get(first, first)
            more = " or ".join(s.usual[1:])
            return (f"next: {example}" + (f" (or {more})" if more else "")
                    + " -- Tab completes, F1 explains, Ctrl+P lists every action")
        return "Tab completes, F1 explains, Ctrl+P lists every action"

    @on(CommandInput.Send)
    def _send(self, message: CommandInput.Send) -> None:
        line = message.line
        if not line.strip() and not self._turned:
            return
        self.command.clear_line()
        self.app.send_line(line)
        if self.guide is not None:
            self.guide.sent(line, message.forced)

    @on(TranscriptView.Explain)
    def _explain(self, message: TranscriptView.Explain) -> None:
        from smtptui.tui.screens.dialogs import ExplainScreen

        self.app.push_screen(ExplainScreen(message.shown))

    # -- sessions --------------------------------------------------------------------------

    def session_opened(self, session: Session, spec: ConnectSpec) -> None:
        old = self.session
        self.session = session
        self.snapshot = None
        self._data_mode = self._turned = False
        self.mail_from, self.recipients = None, []
        self.banner = ""
        if self._composer is not None:
            self._composer.reset()
        self._show_mode()
        if self.guide is not None:
            self.local_note(self.guide.session_opened(session), "local")
        else:
            if old is not None or self.transcript.shown:
                self.local_note(f"--- switched to {spec.describe()} ---", "local")
            self._welcome(session, spec)
        self.app.sub_title = spec.describe()
        self.app.title = f"smtptui: {session.label}"
        self.panel.set_dialect(session.dialect)
        self.command.refresh_assist()

    def no_session(self, spec: ConnectSpec, reason: str) -> None:
        self.local_note(f"cannot connect to {spec.describe()}: {reason}", "error")

    def _welcome(self, session: Session, spec: ConnectSpec) -> None:
        connector = session.connector
        if getattr(connector, "embedded", False):
            host = getattr(connector, "hostname", "the embedded server")
            persona = getattr(connector, "persona", "")
            users = getattr(getattr(getattr(connector, "world", None), "host", None),
                            "users", {}) or {}
            demo = ""
            if users:
                user, password = next(iter(users.items()))
                demo = (f"\nDemo user for AUTH (after STARTTLS): {user} / {password}"
                        " -- Ctrl+G opens the AUTH dialog.")
            self.local_note(
                f"Welcome to smtptui. You are talking to the embedded teaching server "
                f"{host} (persona {persona}), on this machine only.\n"
                f"Type EHLO <your-name> and press Enter once it greets you. Tab completes, "
                f"F1 explains the command under the cursor, Ctrl+P lists every action."
                f"{demo}", "local")
        else:
            self.local_note(
                f"Connecting to {spec.describe()}. Type EHLO <your-name> once it greets you;"
                f" Tab completes, F1 explains, Ctrl+P lists every action.", "local")

    def local_note(self, text: str, style: str = "local") -> None:
        """A line of the app's own (not part of the SMTP session) in the transcript."""
        entry = Entry(Direction.NOTE, 0.0, b"", text)
        self.transcript.add([Shown(entry, "local", style=style)])

    # -- session events --------------------------------------------------------------------

    def apply_events(self, batch: Sequence[Event]) -> None:
        """Render a batch of session events: rows appended in one go, the state panel and
        the header updated once."""
        items: list[Shown] = []
        snapshot: StateChanged | None = None
        for event in batch:
            if isinstance(event, ReplyReceived):
                items.append(Shown(event.entry, "server", event))
                self._on_reply(event)
            elif isinstance(event, LineSent):
                kind = "data" if self._data_mode else "client"
                items.append(Shown(event.entry, kind))
            elif isinstance(event, StateChanged):
                snapshot = event
                self._data_mode = event.sending_data
            elif isinstance(event, Note):
                items.append(Shown(event.entry, "note"))
            elif isinstance(event, RemoteLine):
                items.append(Shown(event.entry, "remote", verb=event.verb))
            elif isinstance(event, DataProgress):
                self.composer.progress(event.sent, event.total)
            elif isinstance(event, ServerLog):
                self.panel.add_server_log(event.event.text)
            elif isinstance(event, Failed):
                reason = terminal_safe(event.reason)
                noted = any(i.kind == "note" and i.entry.text.endswith(reason[-40:])
                            for i in items[-3:])
                if not noted:  # the session notes most failures itself
                    items.append(Shown(Entry(Direction.NOTE, 0.0, b"",
                                             f"{event.step}: {reason}"),
                                       "local", style="error"))
                if self._composer is not None:
                    self._composer.sending = False
                self.notify(terminal_safe(str(event)), title="failed", severity="error",
                            timeout=10, markup=False)
            elif isinstance(event, Closed):
                items.append(Shown(Entry(Direction.NOTE, 0.0, b"",
                                         f"disconnected ({terminal_safe(event.reason)}): "
                                         "F5 reconnects; the transcript stays"), "local",
                                   style="local"))
                if self._composer is not None:
                    self._composer.sending = False
            elif isinstance(event, TLSUp):
                info = event.info
                verified = "verified" if info.verified else "NOT verified"
                self.notify(f"TLS up: {info.version} {info.cipher} ({verified})",
                            title="STARTTLS", severity="information" if info.verified
                            else "warning", timeout=4)
            elif isinstance(event, Connecting | Connected):
                pass
        if items:
            self.transcript.add(items)
        if snapshot is not None and snapshot != self.snapshot:
            self._on_state(snapshot)  # a burst of replies that changed nothing costs nothing
        if self.guide is not None:
            self.guide.events(batch)  # after the rows: the verdict follows the reply

    def _on_reply(self, event: ReplyReceived) -> None:
        t = event.transition
        reply = event.reply
        if t.verb == "<greeting>" and reply.lines:
            self.banner = terminal_safe(reply.lines[0])[:60]
        code = reply.code or 0
        if 200 <= code < 300 and t.line:
            found = _ADDRESS.search(t.line)
            if t.verb in ("MAIL", "SEND", "SOML", "SAML"):
                self.mail_from = found.group(1) if found else ""
                self.recipients = []
            elif t.verb == "RCPT" and found:
                self.recipients.append(found.group(1))
        if t.verb in ("RSET", "HELO", "EHLO") and 200 <= code < 300:
            self.mail_from, self.recipients = None, []
        if t.verb == "EHLO" and code == 250 and self.starttls_wanted:
            wanted, self.starttls_wanted = self.starttls_wanted, False
            caps = self.session.capabilities if self.session is not None else None
            if caps is not None and caps.starttls:
                self.local_note(f"--starttls {wanted}: upgrading to TLS now", "local")
                self.app.action_starttls()
            elif wanted == "yes":
                self.notify("the server did not advertise STARTTLS (--starttls yes): "
                            "ending the session", severity="error", timeout=10)
                self.app.action_send_verb("QUIT")
        if t.verb == END_OF_DATA and self._composer is not None:
            if 200 <= code < 300:
                self._composer.sent()  # delivered: the next message starts empty
            else:
                self._composer.sending = False  # refused: the text stays to fix and resend
        if code == 354 and t.verb == "DATA":
            self.composer.prepare(self.mail_from or "", self.recipients,
                                  self.session.capabilities if self.session else None,
                                  self.session.helo_name if self.session else "localhost",
                                  self._mail_line())

    def _mail_line(self) -> str:
        session = self.session
        if session is None:
            return ""
        for entry in reversed(session.transcript):
            if entry.direction is Direction.CLIENT and entry.text[:4].upper() == "MAIL":
                return entry.text
        return ""

    def _on_state(self, snapshot: StateChanged) -> None:
        self.snapshot = snapshot
        if self._composer is None and snapshot.state.value in ("mail", "rcpt", "data"):
            _ = self.composer  # a transaction is open: build the editor before its 354
        self.panel.show(snapshot)
        tls = snapshot.tls
        tls_text = (f"TLS {tls.version}" + ("" if tls.verified else " (unverified)")
                    if tls is not None else "no TLS")
        banner = f"{self.banner} · " if self.banner else ""
        state = "closed" if snapshot.state.value == "closed" else snapshot.state.value
        self.app.sub_title = f"{banner}{tls_text} · {state}"
        was_turned = self._turned
        self._turned = snapshot.role == "server"
        if self._turned and not was_turned:
            self.notify("TURN: the roles are swapped -- you are the receiver now; answer "
                        "each command with a reply code and text", title="TURN", timeout=8)
        self._show_mode()
        self.command.refresh_assist()

    def _show_mode(self) -> None:
        composing = self._data_mode
        self.query_one("#input-row").display = not composing
        self.query_one("#hint").display = not composing
        if composing or self._composer is not None:
            self.composer.display = composing
        prompt_text = "R:" if self._turned else "C:"
        if prompt_text != self._prompt_text:  # an update lays the screen out again
            self._prompt_text = prompt_text
            self.query_one("#prompt", Label).update(prompt_text)
        command = self.command
        command.placeholder = ("you are the receiver: type a reply, e.g. 250 OK"
                               if self._turned else "type an SMTP command (Tab completes)")
        if composing and not self.composer.editor.has_focus:
            self.composer.focus_editor()
        elif not composing and self.focused is not None and self._composer is not None \
                and self.focused.parent is self._composer:
            command.focus()

    # -- composer --------------------------------------------------------------------------

    def on_composer_send_message(self, message: Composer.SendMessage) -> None:
        # By name, not @on(Composer.SendMessage): the composer's module loads on first use.
        if self.guide is not None:
            self.guide.message(message.text)
        self.app.send_message(message.text, message.path)

    def command_summary(self, verb: str) -> str:
        spec = COMMANDS.get(verb.upper())
        return spec.summary if spec is not None else ""
