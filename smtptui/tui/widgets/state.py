"""The state panel: where the session is, what usually comes next, and what the server
offers -- rendered from the session's :class:`StateChanged` snapshot, never computed here.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from smtptui.core.commands import COMMANDS
from smtptui.session.display import terminal_safe

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from smtptui.session.events import StateChanged

__all__ = ["StatePanel"]

SERVER_LOG_LINES = 8


_TITLES = {"facts": "Session", "next": "Next", "caps": "Server offers",
           "log": "Server log"}
_GAP = Content("\n\n")
"""Between two sections: one blank line."""


def _titled(section: str, body: Content | str) -> Content:
    """A section of the panel: its title (bold, accent colour), then ``body``."""
    return Content.assemble((_TITLES[section], "bold $text-accent"), "\n", body)


def _tls_line(tls: Any) -> tuple[str, str]:
    if tls is None:
        return "off (plain text)", "$text-warning"
    check = "verified" if tls.verified else f"NOT verified: {tls.verify_error or 'unknown'}"
    return f"{tls.version} {tls.cipher}, {check}", ("$text-success" if tls.verified
                                                     else "$text-error")


class StatePanel(VerticalScroll, can_focus=False):
    """Session facts, next steps, capabilities (and the embedded server's own log)."""

    DEFAULT_CSS = """
    StatePanel {
        width: 36;
        border-left: vkey $panel-lighten-2;
        padding: 0 1;
        background: $surface;
        scrollbar-size-vertical: 1;
    }
    StatePanel > Static { width: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.snapshot: StateChanged | None = None
        self.dialect = "rfc5321"
        self.server_log: deque[str] = deque(maxlen=SERVER_LOG_LINES)
        self._sections: dict[str, Content] = {
            "facts": _titled("facts", "not connected"),
            "next": _titled("next", ""),
            "caps": _titled("caps", "greet the server with EHLO to see its extensions"),
            "log": _titled("log", ""),
        }
        self._text = Static(self._joined(), id="state-text")
        self._shown: tuple[str, object] | None = None  # what _show() last put up

    def compose(self) -> ComposeResult:
        # One Static for the four sections, a blank line between them (as a top margin
        # on each section's own Static would look): one widget to build, style, lay out
        # and render at start-up instead of four.
        yield self._text

    def _joined(self) -> Content:
        return _GAP.join(self._sections.values())

    def section(self, name: str) -> str:
        """The plain text of a section: ``facts``, ``next``, ``caps`` or ``log``."""
        return self._sections[name].plain

    def _update(self, section: str, body: Content) -> None:
        self._sections[section] = _titled(section, body)

    def _show(self) -> None:
        joined = self._joined()
        key = (joined.plain, joined.spans)
        if key != self._shown:  # unchanged: no update, no layout of the screen
            self._shown = key
            self._text.update(joined)

    def show(self, snapshot: StateChanged) -> None:
        self.snapshot = snapshot
        self._facts()
        self._next()
        self._capabilities()
        self._show()

    def set_dialect(self, dialect: str) -> None:
        self.dialect = dialect
        self._facts()
        self._show()

    def add_server_log(self, text: str) -> None:
        self.server_log.append(terminal_safe(text))
        self._update("log", Content("\n".join(self.server_log)).stylize("dim"))
        self._show()

    def _facts(self) -> None:
        s = self.snapshot
        if s is None:
            self._update("facts", Content.assemble(("not connected", "$text-warning"),
                                                   f"\ndialect  {self.dialect}"))
            return
        tls_text, tls_style = _tls_line(s.tls)
        parts: list[tuple[str, str] | str] = [
            "state    ", (s.state.value, "bold"), "\n", (s.description, "dim italic"), "\n",
            "hello    ", (s.hello or "not yet", "" if s.hello else "dim"), "\n",
            "TLS      ", (tls_text, tls_style), "\n",
            "AUTH     ", ("yes" if s.authenticated else "no",
                          "$text-success" if s.authenticated else "dim"), "\n",
            "mail     ", (f"{s.recipients} recipient(s)" if s.state.value in (
                "mail", "rcpt", "data") else "no transaction", ""),
            f", {s.transactions} sent\n",
        ]
        if s.pending:
            waiting = ", ".join(p.strip("<>") for p in s.pending)
            parts += ["waiting  ", (waiting, "$text-accent"), "\n"]
        if s.role == "server":
            parts += [("you are the receiver (after TURN)", "bold $text-warning"), "\n"]
        parts += ["dialect  ", (self.dialect, "bold")]
        self._update("facts", Content.assemble(*parts))

    def _next(self) -> None:
        s = self.snapshot
        if s is not None and s.sending_data:
            self._update("next", Content("compose the message below; Ctrl+J sends it")
                         .stylize("dim"))
            return
        if s is None or (not s.usual and not s.legal):
            self._update("next", Content("reconnect (F5) or open another server (Ctrl+O)"
                                         if s is None or s.state.value == "closed" else
                                         "wait for the server").stylize("dim"))
            return
        if s.sending_data:
            self._update("next", Content("compose the message below; Ctrl+J sends it")
                         .stylize("dim"))
            return
        lines: list[tuple[str, str] | str] = []
        for verb in s.usual:
            spec = COMMANDS.get(verb)
            summary = spec.summary if spec is not None else ""
            lines += [(f"{verb:<9}", "bold $text-success"), (summary, "dim"), "\n"]
        others = [v for v in s.legal if v not in s.usual]
        if others:
            lines += [("also: ", "dim"), " ".join(others)]
        self._update("next", Content.assemble(*lines))

    def _capabilities(self) -> None:
        s = self.snapshot
        caps = s.capabilities if s is not None else None
        if caps is None:
            if s is not None and s.hello == "HELO":
                self._update("caps", Content("HELO: no extensions (plain RFC 821 session)")
                             .stylize("dim"))
            return
        from smtptui.core.extensions import describe  # after EHLO: not at start-up

        before = s.capabilities_before_tls if s is not None else None
        old = set(before.keywords) if before is not None else None
        lines: list[tuple[str, str] | str] = []
        for cap in caps:
            params = " ".join(terminal_safe(p) for p in cap.params)
            name = cap.keyword + (f" {params}" if params else "")
            mark = ""
            if old is not None and cap.keyword not in old:
                mark = " (new after STARTTLS)"
            lines += [(name, "bold"), (mark, "$text-success"), "\n",
                      ("  " + describe(cap.keyword), "dim"), "\n"]
        if old is not None:
            gone = sorted(old - set(caps.keywords))
            for keyword in gone:
                lines += [(keyword, "strike dim"), (" (gone after STARTTLS)", "$text-warning"),
                          "\n"]
        self._update("caps", Content.assemble(*lines).rstrip())
