"""Tab completion at the shell prompt: the core's candidates, each with its meaning.

SMTP lines are completed by :meth:`Session.complete` (the core's ``complete``: verbs
legal now first, templates, advertised parameters, addresses used before), and each
candidate's one-line meaning is shown as ``display_meta``, so completion teaches. Lines
starting with ``/`` are the shell's own commands. Nothing is completed in message text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from smtptui.core.commands import COMMANDS

if TYPE_CHECKING:
    from smtptui.session import Session

__all__ = ["CLIENT_COMMANDS", "SessionCompleter"]

CLIENT_COMMANDS: dict[str, tuple[str, str]] = {
    "/help": ("[VERB]", "syntax, meaning, possible replies and RFC section of a command"),
    "/explain": ("CODE", "what a reply code (or enhanced code) means, digit by digit"),
    "/starttls": ("", "upgrade the connection to TLS (RFC 3207)"),
    "/auth": ("[MECH]", "log in: PLAIN, LOGIN or CRAM-MD5 computed; the password is not echoed"),
    "/data": ("FILE", "send a file as the message (DATA first if needed), streamed"),
    "/raw": ("on|off", "show the exact octets of each line (CRLF included)"),
    "/save": ("FILE", "save the transcript: replayable .smtp, or .json"),
    "/connect": ("TARGET", "close this session and connect elsewhere"),
    "/quit": ("", "end the session politely (QUIT) and leave"),
}
"""The shell's own commands: never sent to the server. name -> (arguments, meaning)."""

_MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5")


class SessionCompleter(Completer):
    """Completions for the current session (``get_session()``: it changes on /connect)."""

    def __init__(self, get_session: Callable[[], Session | None]) -> None:
        self._session = get_session
        self._paths = PathCompleter(expanduser=True)

    def get_completions(self, document: Document, complete_event: CompleteEvent
                        ) -> Iterable[Completion]:
        text = document.text_before_cursor
        session = self._session()
        if session is not None and session.snapshot().sending_data:
            return  # message text: nothing to complete
        if text.startswith("/"):
            yield from self._client_command(text, document, complete_event, session)
            return
        if session is None:
            return
        for c in session.complete(text):
            yield Completion(c.text, start_position=c.start - len(text), display=c.display,
                             display_meta=c.meaning)

    def _client_command(self, text: str, document: Document, event: CompleteEvent,
                        session: Session | None) -> Iterable[Completion]:
        name, space, arg = text.partition(" ")
        if not space:
            for command, (args, meaning) in CLIENT_COMMANDS.items():
                if command.startswith(name.lower()):
                    shown = f"{command} {args}".rstrip()
                    yield Completion(command + (" " if args else ""),
                                     start_position=-len(text), display=shown,
                                     display_meta=meaning)
            return
        name = name.lower()
        choices: Iterable[tuple[str, str]] = ()
        if name == "/help":
            choices = ((verb, spec.summary) for verb, spec in COMMANDS.items())
        elif name == "/raw":
            choices = (("on", "show raw octets"), ("off", "show lines and their meaning"))
        elif name == "/auth":
            caps = session.capabilities if session is not None else None
            offered = caps.params("AUTH") if caps is not None else ()
            choices = ((m, "advertised" if m in offered else "not advertised by this server")
                       for m in _MECHANISMS)
        elif name in ("/data", "/save"):
            sub = Document(arg, len(arg))
            yield from self._paths.get_completions(sub, event)
            return
        word = arg.lstrip()
        for value, meaning in choices:
            if value.lower().startswith(word.lower()):
                yield Completion(value, start_position=-len(word), display_meta=meaning)
