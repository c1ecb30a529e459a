"""Every action of the app, as data: one table feeds the key bindings, the footer, the
command palette (Ctrl+P) and the help screen, so they can never disagree."""

from __future__ import annotations

from textual.binding import Binding

from smtptui.core.frozen import frozen

__all__ = ["ACTIONS", "LESSON_ACTIONS", "Action", "bindings"]


@frozen
class Action:
    action: str          # the App action ("send_verb('NOOP')" ...)
    title: str           # palette title
    help: str            # one line: what it does and why
    key: str = ""        # key binding ("" = palette only)
    footer: bool = False  # shown in the footer
    short: str = ""      # the footer's word (default: the title)
    priority: bool = False  # wins over the focused widget's own key (the composer's)


ACTIONS: tuple[Action, ...] = (
    Action("help", "Help for the command under the cursor",
           "the command table's syntax, meaning, RFC section and replies", "f1", True, "Help"),
    Action("toggle_dialect", "Switch dialect (RFC 821 / RFC 5321)",
           "check typed lines against RFC 821 or RFC 5321 grammar", "f2", True, "Dialect"),
    Action("toggle_raw", "Raw view on/off",
           "show the exact bytes: CRLF, bare LF and non-printables escaped", "f3", True, "Raw"),
    Action("toggle_panel", "State panel on/off", "show or hide the session panel", "f4", False, "Panel"),
    Action("reconnect", "Reconnect", "connect again to the same server (the transcript "
           "goes on)", "f5", False, "Reconnect"),
    Action("connect", "Connect to another server",
           "a host, host:port, smtp://, smtps://, @domain, or the embedded server", "ctrl+o",
           True, "Connect"),
    Action("starttls", "STARTTLS", "upgrade the connection to TLS (RFC 3207)", "ctrl+t", False, "STARTTLS"),
    Action("auth", "AUTH (log in)", "authenticate; the secret is masked on screen and in "
           "every file", "ctrl+g", False, "AUTH"),
    Action("send_verb('NOOP')", "NOOP", "ask the server to do nothing (is it alive?)"),
    Action("send_verb('RSET')", "RSET", "abort the mail transaction, keep the session"),
    Action("send_verb('QUIT')", "QUIT", "end the session politely (221, then the server "
           "closes)"),
    Action("disconnect", "Disconnect now", "drop the connection without QUIT"),
    Action("save", "Save the transcript", "as a .smtp script (smtptui run replays it) or "
           "JSON", "ctrl+s", True, "Save"),
    Action("copy_swaks", "Copy the session as a swaks command line",
           "the same session as one swaks command (the password is never included)", "ctrl+b", False, "swaks"),
    Action("focus_transcript", "Go to the transcript", "select an entry; Enter explains it",
           "ctrl+up", False, "Transcript"),
    Action("focus_input", "Go to the command line", "type a command", "ctrl+down", False, "Input"),
)


LESSON_ACTIONS: tuple[Action, ...] = (
    Action("lesson_hint", "Lesson: hint (again: the answer)",
           "a hint for this step; asked twice, the line itself", "f6", True, "Hint",
           priority=True),
    Action("lesson_back", "Lesson: one step back",
           "a fresh session with the lesson's world, the steps before replayed quickly "
           "(nothing sent can be unsent)", "f7", True, "Back", priority=True),
    Action("lesson_restart", "Lesson: restart",
           "a fresh session with the lesson's world, from step 1", "f9", True, "Restart",
           priority=True),
    Action("lesson_demo", "Lesson: demo on/off",
           "the lesson types its own lines at a readable pace (for a projector)", "ctrl+r",
           True, "Demo", priority=True),
    Action("lesson_language", "Lesson: switch language (English / 日本語)",
           "narration, hints and summary in the other language; progress is kept",
           "ctrl+n", True, "EN/日本語", priority=True),
)
"""The guided mode's own keys (``smtptui lesson``): added to the app's table there."""


def bindings(actions: tuple[Action, ...] = ACTIONS) -> list[Binding]:
    return [Binding(a.key, a.action, a.short or a.title, show=a.footer, priority=a.priority)
            for a in actions if a.key]
