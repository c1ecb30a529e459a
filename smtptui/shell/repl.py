"""The interactive shell: a prompt_toolkit prompt over one :class:`Session`.

The prompt says where the session is (``smtp[mx1.lab.test rcpt rcpt:2 tls]>``); Tab
completes from the core with each candidate's meaning; Enter checks the line first (an
error puts the cursor on it; Enter again sends it anyway); the toolbar shows warnings
as you type, or what usually comes next. Replies print above the prompt as they arrive
(``patch_stdout``), each with its meaning on a dimmed line. After a 354 the prompt is
``data>`` until a line with a single ``.``; inside an AUTH exchange it is ``auth>`` and
does not echo. Lines starting with ``/`` are the shell's own commands, never sent.

The prompt is drawn before the session connects: the connection (and, for the embedded
server, its start) happens in the background and its greeting prints above the prompt.
It can be drawn before the session even exists (``Repl(None, factory, target=...)``):
the session layer is imported and the session made in the background once the prompt
is on the screen, so the user sees a prompt sooner. Until then the prompt says "not
connected", and a line typed waits for the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prompt_toolkit import PromptSession, print_formatted_text
from prompt_toolkit.application import get_app_or_none
from prompt_toolkit.buffer import ValidationState
from prompt_toolkit.enums import DEFAULT_BUFFER
from prompt_toolkit.filters import has_focus
from prompt_toolkit.formatted_text import ANSI
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.patch_stdout import patch_stdout

from smtptui.core.commands import help_text, lookup
from smtptui.core.sasl import is_secret_line
from smtptui.core.state import State
from smtptui.session import SessionError, printable, private_file, script_lines
from smtptui.session.common import snapshot_of
from smtptui.session.events import (
    Closed,
    Connected,
    Failed,
    LineSent,
    Note,
    RemoteLine,
    ReplyReceived,
    StateChanged,
)
from smtptui.shell.completer import CLIENT_COMMANDS, SessionCompleter
from smtptui.shell.render import Palette, entry_display, explain_lines, prompt_label
from smtptui.shell.validator import SessionValidator

if TYPE_CHECKING:
    from prompt_toolkit.input import Input
    from prompt_toolkit.output import Output

    from smtptui.session import Session
    from smtptui.session.events import Event

__all__ = ["Repl"]

_PREFERRED_AUTH = ("CRAM-MD5", "PLAIN", "LOGIN")
"""/auth without a mechanism: the first advertised (CRAM-MD5 does not send the password)."""


class _History(InMemoryHistory):
    """Up-arrow history seeded from the session's history file; a line that carries a
    secret (``AUTH PLAIN <response>``) is never kept, not even in memory."""

    def append_string(self, string: str) -> None:
        if not is_secret_line(string, False):
            super().append_string(string)


def _bindings() -> KeyBindings:
    kb = KeyBindings()

    @kb.add("enter", filter=has_focus(DEFAULT_BUFFER))
    def _enter(event: KeyPressEvent) -> None:
        """Enter on a line that was refused: ask the validator again (it lets the same
        line through the second time) instead of prompt_toolkit's cached verdict."""
        buffer = event.current_buffer
        if buffer.validation_state is ValidationState.INVALID:
            buffer.validation_state = ValidationState.UNKNOWN
        buffer.validate_and_handle()

    return kb


class Repl:
    """The prompt loop. ``factory(target)`` makes a new session (``/connect``); with
    ``session`` None it also makes the first one, for ``target``, once the prompt is
    drawn (a ValueError from it is shown as one line, and the shell stays up)."""

    def __init__(self, session: Session | None, factory: Callable[[str | None], Session], *,
                 colour: bool, starttls: str = "no", input: Input | None = None,
                 output: Output | None = None, write: Callable[[str], None] | None = None,
                 target: str | None = None) -> None:
        self.session: Session | None = session
        self.target = target
        self.factory = factory
        self.palette = Palette(colour)
        self.raw = False
        self.host: str | None = None
        self._input = input
        self._output = output
        self._write = write or self._print
        self._echo_skip: str | None = None
        self._leaving = False
        self._unsubscribe: Callable[[], None] | None = None
        self._connecting: asyncio.Task[bool] | None = None
        self._starting: asyncio.Task[None] | None = None
        self.validator = SessionValidator(self._check, self._commands_now)
        self._history = history = _History()
        if session is not None:
            self._seed_history(session)
        self.prompt = PromptSession[str](
            message=self._message, completer=SessionCompleter(lambda: self.session),
            complete_while_typing=False,
            validator=self.validator, validate_while_typing=False,
            bottom_toolbar=self._toolbar, history=history, key_bindings=_bindings(),
            input=input, output=output)

    def _seed_history(self, session: Session) -> None:
        if not self._history.get_strings():
            for line in session.history.lines:
                self._history.append_string(line)

    def _snapshot(self) -> StateChanged:
        session = self.session
        return session.snapshot() if session is not None else snapshot_of(None, None)

    # -- output -----------------------------------------------------------------------------

    def _print(self, text: str) -> None:
        print_formatted_text(ANSI(text) if self.palette.colour else text, output=self._output)

    def say(self, *lines: str) -> None:
        for line in lines:
            self._write(line)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, Connected):
            self.host = getattr(self.session.connector, "hostname", None) or event.host
        if isinstance(event, LineSent):
            if event.entry.text == self._echo_skip and not self.raw:
                self._echo_skip = None  # typed at the prompt: it is on the screen already
            else:
                self.say(*entry_display(event.entry, self.palette, raw=self.raw))
        elif isinstance(event, ReplyReceived):
            self.say(*entry_display(event.entry, self.palette, raw=self.raw,
                                    explanation=event.explanation))
        elif isinstance(event, (Note, RemoteLine)):
            self.say(*entry_display(event.entry, self.palette, raw=self.raw))
            if isinstance(event, RemoteLine) and event.expected:
                codes = " ".join(map(str, event.expected))
                self.say(self.palette.paint("dim", f"   = answer with one of: {codes}"))
        elif isinstance(event, Failed):
            reason = printable(str(event), 2000, backslash=False)
            self.say(self.palette.paint("error", f"! {reason}"))
        elif isinstance(event, Closed):
            self.host = None
            if not self._leaving:
                    self.say(self.palette.paint("dim", "   = not connected: /connect TARGET, "
                                                   "or /quit"))
        if isinstance(event, StateChanged):
            app = get_app_or_none()
            if app is not None:
                app.invalidate()

    # -- the prompt -------------------------------------------------------------------------

    def _message(self) -> Any:
        snapshot = self._snapshot()
        if snapshot.sending_data:
            return "data> "
        if snapshot.state is State.AUTH:
            return "auth> "
        if snapshot.state is State.TURNED:
            return "reply> "
        label = prompt_label(snapshot, self.host)
        return ANSI(self.palette.paint("client", label) + "> ") if self.palette.colour else (
            label + "> ")

    def _commands_now(self) -> bool:
        return not self._snapshot().sending_data

    def _check(self, line: str) -> list[Any]:
        return self.session.check(line) if self.session is not None else []

    def _toolbar(self) -> str:
        app = get_app_or_none()
        text = app.current_buffer.text if app is not None else ""
        snapshot = self._snapshot()
        if snapshot.sending_data:
            return "message text: a line with a single '.' ends it (leading dots are doubled)"
        if text.startswith("/"):
            name = text.split(" ", 1)[0].lower()
            found = CLIENT_COMMANDS.get(name)
            return f"{name} {found[0]}: {found[1]}" if found else "shell commands: /help"
        if text.strip():
            shown = [f"col {d.start + 1} {d.severity}: {d.message}"
                     for d in self._check(text)]
            if shown:
                return printable(" | ".join(shown), 400, backslash=False)
        usual = " ".join(snapshot.usual)
        return f"{snapshot.description}" + (f" -- next: {usual}" if usual else "") + \
            " -- Tab completes, /help"

    # -- the loop ---------------------------------------------------------------------------

    async def run(self) -> int:
        """Until /quit or end of input (Ctrl-D); 0."""
        with patch_stdout(raw=True):
            if self.session is not None:
                self._attach(self.session)
            else:
                # Runs once prompt_async has drawn the prompt (it draws before it waits).
                self._starting = asyncio.ensure_future(self._start())
            try:
                while True:
                    snapshot = self._snapshot()
                    secret = snapshot.state is State.AUTH and not snapshot.sending_data
                    try:
                        if secret:
                            line = await self._ask(self._message(), password=True)
                        else:
                            line = await self.prompt.prompt_async()
                    except KeyboardInterrupt:
                        continue
                    except EOFError:
                        self._leaving = True
                        await self._quit()
                        return 0
                    if line.startswith("/") and not self._snapshot().sending_data:
                        if not await self._client_command(line):
                            return 0
                    else:
                        await self._send(line)
            finally:
                await self._close()

    async def _start(self) -> None:
        """Make the first session (the session layer is imported now, behind the prompt)."""
        await asyncio.sleep(0)
        try:
            session = self.factory(self.target)
        except ValueError as exc:
            self.say(self.palette.paint("error", f"! {exc}"))
            return
        self._seed_history(session)
        self._attach(session)

    async def _started(self) -> Session | None:
        """The session, once it is made (None when it could not be)."""
        if self._starting is not None:
            with contextlib.suppress(Exception):
                await self._starting
        return self.session

    def _attach(self, session: Session) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.session = session
        self._unsubscribe = session.subscribe(self._on_event)
        self._connecting = asyncio.ensure_future(session.connect())

    async def _ready(self) -> bool:
        if await self._started() is None:
            return False
        if self._connecting is not None:
            with contextlib.suppress(Exception):
                await self._connecting
        return self.session is not None and self.session.connected

    async def _close(self) -> None:
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
        if self.session is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self.session.aclose()

    async def _ask(self, message: Any, *, password: bool = False) -> str:
        """A one-off question with no history and no completion (user name, password)."""
        ask = PromptSession[str](input=self._input, output=self._output,
                                 history=InMemoryHistory())
        return await ask.prompt_async(message, is_password=password)

    async def _send(self, line: str) -> None:
        if not await self._ready() or self.session is None:
            self.say(self.palette.paint("error", "! not connected: /connect TARGET"))
            return
        in_data = self.session.snapshot().sending_data
        self._echo_skip = line  # on the screen already (a dot-stuffed line differs: shown)
        try:
            future = await self.session.send(line)
        except SessionError as exc:
            self.say(self.palette.paint("error", f"! {exc}"))
            return
        if future is None:
            return
        # Wait for replies that decide what the prompt is next (354, 334, 220 to STARTTLS,
        # 221); replies to MAIL, RCPT... print above the prompt when they arrive.
        spec = lookup(line.split(" ", 1)[0])
        if in_data or spec is None or spec.ends_pipeline or not self._pipelining():
            with contextlib.suppress(asyncio.CancelledError):
                await future

    def _pipelining(self) -> bool:
        caps = self.session.capabilities
        return caps is not None and caps.pipelining

    # -- the shell's own commands -----------------------------------------------------------

    async def _client_command(self, line: str) -> bool:
        """Run a ``/`` command; False when the shell should end."""
        name, _, arg = line.partition(" ")
        name, arg = name.lower(), arg.strip()
        handler = getattr(self, "_cmd_" + name[1:], None)
        if name not in CLIENT_COMMANDS or handler is None:
            self.say(f"! unknown shell command {printable(name, 40)}: /help lists them")
            return True
        try:
            result = await handler(arg)
        except SessionError as exc:
            self.say(self.palette.paint("error", f"! {exc}"))
            return True
        return result is not False

    async def _cmd_help(self, arg: str) -> None:
        if not arg:
            self.say("Shell commands (never sent to the server):")
            for command, (args, meaning) in CLIENT_COMMANDS.items():
                self.say(f"  {f'{command} {args}'.rstrip():18} {meaning}")
            self.say(*help_text(None))
            return
        lines = help_text(arg)
        if not lines:
            self.say(f"! {printable(arg, 40)}: not an SMTP command (/help lists them)")
        self.say(*lines)

    async def _cmd_explain(self, arg: str) -> None:
        if not arg:
            self.say("! /explain CODE, e.g. /explain 354 or /explain 550 5.1.1")
            return
        from smtptui.core.codes import explain

        try:
            self.say(*explain_lines(explain(arg)))
        except ValueError as exc:
            self.say(f"! {exc}")

    async def _cmd_starttls(self, arg: str) -> None:
        if await self._ready():
            await self.session.starttls()

    async def _cmd_auth(self, arg: str) -> None:
        if not await self._ready():
            return
        mech = arg.upper()
        if not mech:
            caps = self.session.capabilities
            offered = caps.params("AUTH") if caps is not None else ()
            mech = next((m for m in _PREFERRED_AUTH if m in offered), "PLAIN")
        try:
            user = await self._ask("user: ")
            password = await self._ask("password: ", password=True)
        except (KeyboardInterrupt, EOFError):
            self.say("! /auth cancelled")
            return
        await self.session.auth(mech, user, password)

    async def _cmd_data(self, arg: str) -> None:
        if not arg:
            self.say("! /data FILE")
            return
        path = os.path.expanduser(arg)
        if not os.path.isfile(path) or not os.access(path, os.R_OK):
            self.say(f"! {printable(arg, 200)}: not a readable file")
            return
        if not await self._ready():
            return
        if not self.session.snapshot().sending_data:
            reply = await self.session.command("DATA")
            if reply is None or reply.code != 354:
                return
        await self.session.send_message(path=path)

    async def _cmd_raw(self, arg: str) -> None:
        if arg.lower() not in ("on", "off"):
            self.say(f"! /raw on|off (now {'on' if self.raw else 'off'})")
            return
        self.raw = arg.lower() == "on"

    async def _cmd_save(self, arg: str) -> None:
        if not arg:
            self.say("! /save FILE (.smtp: a script smtptui run replays; .json)")
            return
        path = os.path.expanduser(arg)
        session = await self._started()
        if session is None:
            self.say("! nothing to save: no session")
            return
        transcript = session.transcript
        if path.endswith(".json"):
            text = transcript.to_json() + "\n"
        else:
            lines = [f"# smtptui shell session with {printable(session.label, 200)}",
                     "# replay: smtptui run THIS_FILE TARGET"]
            for entry in transcript:
                lines.extend(script_lines(entry, transcript.secrets))
            text = "\n".join(lines) + "\n"
        try:
            from pathlib import Path

            fd = private_file(Path(path).resolve(), "w")
            try:
                os.write(fd, text.encode("utf-8", "backslashreplace"))
            finally:
                os.close(fd)
        except OSError as exc:
            self.say(f"! {printable(arg, 200)}: {exc.strerror or exc}")
            return
        self.say(f"   = saved {len(transcript)} entries to {printable(arg, 200)} "
                 "(secrets masked)")

    async def _cmd_connect(self, arg: str) -> None:
        try:
            session = self.factory(arg or None)
        except ValueError as exc:
            self.say(f"! {exc}")
            return
        await self._quit()
        await self._close()
        self._attach(session)

    async def _cmd_quit(self, arg: str) -> bool:
        self._leaving = True
        await self._quit()
        return False

    async def _quit(self) -> None:
        if not await self._ready():
            return
        if self.session.snapshot().sending_data or self.session.state is State.TURNED:
            await self.session.disconnect()
        else:
            await self.session.quit()
