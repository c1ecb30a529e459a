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
from smtptui.core.extensions import describe
from smtptui.session.display import terminal_safe

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from smtptui.session.events import StateChanged

__all__ = ["StatePanel"]

SERVER_LOG_LINES = 8


_TITLES = {"state-facts": "Session", "state-next": "Next", "state-caps": "Server offers",
           "state-log": "Server log"}


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
    StatePanel > Static { width: 1fr; text-wrap: nowrap; text-overflow: ellipsis;
                          margin-top: 1; }
    StatePanel > #state-facts { margin-top: 0; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.snapshot: StateChanged | None = None
        self.dialect = "rfc5321"
        self.server_log: deque[str] = deque(maxlen=SERVER_LOG_LINES)

    def compose(self) -> ComposeResult:
        # One Static per section, its title the first line: half the widgets to build
        # and style at start-up of a title Static above each section's own.
        yield Static(_titled("state-facts", "not connected"), id="state-facts")
        yield Static(_titled("state-next", ""), id="state-next")
        yield Static(_titled("state-caps", "greet the server with EHLO to see its "
                             "extensions"), id="state-caps")
        yield Static(_titled("state-log", ""), id="state-log", classes="server-log")

    def _update(self, node: Static, body: Content) -> None:
        node.update(_titled(node.id or "", body))

    def show(self, snapshot: StateChanged) -> None:
        self.snapshot = snapshot
        self._facts()
        self._next()
        self._capabilities()

    def set_dialect(self, dialect: str) -> None:
        self.dialect = dialect
        self._facts()

    def add_server_log(self, text: str) -> None:
        self.server_log.append(terminal_safe(text))
        self._update(self.query_one("#state-log", Static),
                     Content("\n".join(self.server_log)).stylize("dim"))

    def _facts(self) -> None:
        s = self.snapshot
        facts = self.query_one("#state-facts", Static)
        if s is None:
            self._update(facts, Content.assemble(("not connected", "$text-warning"),
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
        self._update(facts, Content.assemble(*parts))

    def _next(self) -> None:
        s = self.snapshot
        node = self.query_one("#state-next", Static)
        if s is not None and s.sending_data:
            self._update(node, Content("compose the message below; Ctrl+J sends it")
                         .stylize("dim"))
            return
        if s is None or (not s.usual and not s.legal):
            self._update(node, Content("reconnect (F5) or open another server (Ctrl+O)"
                                       if s is None or s.state.value == "closed" else
                                       "wait for the server").stylize("dim"))
            return
        if s.sending_data:
            self._update(node, Content("compose the message below; Ctrl+J sends it")
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
        self._update(node, Content.assemble(*lines))

    def _capabilities(self) -> None:
        s = self.snapshot
        node = self.query_one("#state-caps", Static)
        caps = s.capabilities if s is not None else None
        if caps is None:
            if s is not None and s.hello == "HELO":
                self._update(node, Content("HELO: no extensions (plain RFC 821 session)")
                             .stylize("dim"))
            return
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
        self._update(node, Content.assemble(*lines).rstrip())
