"""The Textual app: the bridge from a :class:`~smtptui.session.Session` to the screen.

The app owns the session and does three things with it, nothing more:

- it subscribes once and hands the session's events to the main screen in batches
  (events arrive synchronously from the session's reader; a 100,000-line reply or 10,000
  pipelined replies become one screen update per batch, not one per line);
- it runs every network step (connect, send, STARTTLS, AUTH, DATA) in a worker that
  reports back only through those events, so no screen method speaks SMTP;
- it keeps anything unexpected off the screen: a bug in a handler is logged to
  ``errors.log`` in the user data directory and shown as one line; the session, the typed
  line, the composed message and the transcript stay.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import BindingType
from textual.message import Message

from smtptui.session import ConnectSpec, Session, SessionError, connector_for
from smtptui.session.autosave import log_exception
from smtptui.tui.commands import ACTIONS, bindings

if TYPE_CHECKING:
    from textual.screen import Screen
    from textual.widget import Widget

    from smtptui.session import Connector, MXChoice
    from smtptui.session.autosave import History
    from smtptui.session.events import Event
    from smtptui.teaching.model import Lesson
    from smtptui.tui.screens.main import MainScreen

__all__ = ["SmtpApp", "run_app", "run_lesson"]

FLUSH_INTERVAL = 0.02
"""Seconds events wait to be shown together: fast enough to look immediate, slow enough
that a burst of replies (pipelining, a hostile server) costs one screen update per
interval instead of one per reply."""
BURST_INTERVAL = 0.1
"""The interval while a burst lasts (the last batch was large): fewer frames to render,
and the keyboard stays responsive."""
BURST_EVENTS = 64
QUIET = 0.003
"""Seconds without a new event after which the session is taken to be waiting for the
network: what came is shown then, not at the end of the interval (the last batch of a
burst, a single reply)."""
FLUSH_BUDGET = 0.008
"""Seconds of showing events per turn of the loop: a burst of 20,000 events is shown in
slices, with key presses and frames between them, not in one 150 ms stall."""
FLUSH_SLICE = 512
"""Events shown between two looks at the clock."""
SETTLE_EVENTS = 2048
"""After this many events shown, once the queue is empty, what they made is settled:
collected once, then frozen (:func:`_settle`)."""


_frozen = False


def _freeze_imported_objects() -> None:
    """Once per process, just before the first screen is built: move every object the
    imports made (Textual's and ours: modules, classes, functions, tables, the parsed
    stylesheet) to the collector's permanent generation (:func:`gc.freeze`). They live as
    long as the app anyway; this way no full collection walks them again -- the first
    one otherwise fell in the first frame, about 15 ms of start-up -- and later ones only
    walk what the session made. (Textual pauses the collector during smooth scrolling,
    ``App.PAUSE_GC_ON_SCROLL``, for the same reason: a full collection is a visible
    stall.)"""
    global _frozen
    if not _frozen:
        _frozen = True
        import gc

        gc.freeze()


def _settle() -> None:
    """After a burst is shown (thousands of replies and notes, each a few objects the
    transcript keeps for the rest of the session): one full collection of what was
    made since the last freeze -- cyclic garbage among it is freed, none is kept -- and
    then the survivors go to the permanent generation with the imports. Without it,
    every full collection walks the whole transcript again (a pipelined burst of
    10,000 replies: about 25 ms each, several per burst); with it, each object is
    walked about once. Objects are still freed by their reference counts when the
    transcript lets them go."""
    import gc

    gc.collect()
    gc.freeze()


class Guarded:
    """Mixin: an exception in one of our handlers becomes one logged line, and the widget
    keeps working (Textual's default ends the app with a traceback on screen)."""

    async def _dispatch_message(self, message: Message) -> None:
        try:
            await super()._dispatch_message(message)  # type: ignore[misc]
        except (asyncio.CancelledError, KeyboardInterrupt):
            raise
        except Exception as exc:
            app = self.app  # type: ignore[attr-defined]
            where = f"{type(self).__name__} handling {type(message).__name__}"
            if isinstance(app, SmtpApp):
                app.report_bug(exc, where)
            else:
                raise


class SmtpApp(Guarded, App[int]):
    """smtptui's terminal app: one SMTP session by hand, completed, checked, explained."""

    CSS_PATH = Path(__file__).with_name("smtptui.tcss")
    TITLE = "smtptui"
    BINDINGS: ClassVar[list[BindingType]] = bindings()
    ENABLE_COMMAND_PALETTE = True

    def __init__(self, spec: ConnectSpec | None = None, *, connector: Connector | None = None,
                 autosave: bool | Path = True, history: History | None = None,
                 mask_text: Callable[[str], str] | None = None,
                 fixed_time: float | None = None,
                 side_pane: Widget | None = None) -> None:
        """``spec``: where to connect (default: the embedded teaching server); or a ready
        ``connector`` (tests, benchmarks). ``mask_text``: a display hook applied to
        local notes and latencies, ``fixed_time`` the composer's Date and Message-ID
        (stable snapshots and screenshots). ``side_pane``: an optional widget
        shown beside the transcript (a lesson, later)."""
        super().__init__()
        self.spec = spec or ConnectSpec()
        self._connector = connector
        self._autosave = autosave
        self._history = history
        self.mask_text = mask_text
        self.fixed_time = fixed_time
        self.side_pane = side_pane
        self.session: Session | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._pending: list[Event] = []
        self._flush_scheduled = False
        self._showing = False
        self._last_batch = 0
        self._unsettled = 0  # events shown since the last _settle()
        self._received = 0   # events the session has sent (for _check_quiet)
        self._flush_timer: Any = None
        self._unmounted = False
        self.screen_ready = asyncio.Event()  # set by the main screen once it is mounted
        self.fatal_error: str | None = None
        self.auth_user: str | None = None     # for copy-as-swaks (never the password)
        self.auth_mechanism: str | None = None
        self.message_texts: list[str] = []    # composed messages sent (for swaks)
        self.bugs = 0

    # -- start and stop ---------------------------------------------------------------------

    def get_default_screen(self) -> Screen:
        """The main screen is the app's first screen (not pushed over Textual's empty
        default one: a second screen to build, style and lay out before the first frame)."""
        from smtptui.tui.screens.main import MainScreen

        _freeze_imported_objects()
        return MainScreen(side_pane=self.side_pane)

    def on_mount(self) -> None:
        # The connection starts while the screen is still being built: the greeting is
        # often in before the first frame, and shown with it.
        self.open(self.spec, self._connector)

    @property
    def main(self) -> MainScreen:
        from smtptui.tui.screens.main import MainScreen

        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        raise LookupError("the main screen is not up")

    def open(self, spec: ConnectSpec, connector: Connector | None = None) -> None:
        """Switch to ``spec`` (closing the current session; its transcript stays on screen
        and in its autosave file) and connect."""
        if connector is None:
            try:
                connector = connector_for(spec)
            except ValueError as exc:
                self.notify(str(exc), title="cannot connect", severity="error", timeout=10)
                self.main.no_session(spec, str(exc))
                return
        self.spec = spec
        self.run_worker(self._open(spec, connector), group="connect", exclusive=True,
                        exit_on_error=False, name="connect")

    async def _open(self, spec: ConnectSpec, connector: Connector) -> None:
        try:
            await self._close_session()
            session = Session(connector, helo_name=spec.helo, autosave=self._autosave,
                              history=self._history)
            self.session = session
            self._showing = False  # events wait until the screen has said who we talk to
            self._unsubscribe = session.subscribe(self._on_session_event)
            mx = getattr(connector, "mx", None)
            picking = mx is not None and getattr(connector, "_chosen", None) is None
            connecting = None if picking else asyncio.ensure_future(session.connect())
            await self.screen_ready.wait()
            self.main.session_opened(session, spec)
            self._showing = True
            self._flush_events()
            if connecting is not None:
                await connecting
            else:
                choices = await mx()
                choice = await self._pick_mx(choices)
                if choice is None:
                    self.main.local_note("no mail exchanger chosen: nothing to connect to "
                                         "(Ctrl+O opens another server)", "error")
                    return
                if choice != "any":
                    connector.choose(choice)  # type: ignore[attr-defined]
                await session.connect()
            if session.connected and spec.starttls in ("auto", "yes"):
                self.main.starttls_wanted = spec.starttls
        except Exception as exc:  # noqa: BLE001
            self.report_bug(exc, "connecting")

    async def _pick_mx(self, choices: list[MXChoice]) -> MXChoice | str | None:
        from smtptui.tui.screens.dialogs import MXPicker

        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.push_screen(MXPicker(choices, self.spec.target or ""),
                         callback=lambda r: future.done() or future.set_result(r))
        return await future

    async def _close_session(self) -> None:
        session, self.session = self.session, None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if session is not None:
            self._flush_events()
            try:
                await session.aclose()
            except Exception as exc:  # noqa: BLE001
                log_exception(exc, "closing the session")

    def on_unmount(self) -> None:
        self._unmounted = True  # events from a session still closing are not shown
        if self._flush_timer is not None:
            self._flush_timer.stop()

    async def action_quit(self) -> None:
        await self._close_session()
        self.exit(0)

    # -- the bridge -------------------------------------------------------------------------

    def _on_session_event(self, event: Event) -> None:
        """Called synchronously by the session for every event: queue it, and have the
        screen take the whole queue at once when the loop gets to it."""
        self._pending.append(event)
        self._received += 1
        if not self._flush_scheduled and not self._unmounted:
            self._flush_scheduled = True
            interval = BURST_INTERVAL if self._last_batch >= BURST_EVENTS else FLUSH_INTERVAL
            self._flush_timer = self.set_timer(interval, self._flush_events,
                                               name="session-events")
            asyncio.get_running_loop().call_later(QUIET, self._check_quiet, self._received)

    def _check_quiet(self, seen: int) -> None:
        """While a flush waits for its timer: once no event came for QUIET seconds (the
        session waits for the network, or is done), show what came now. A burst still
        being read keeps the interval."""
        if not self._flush_scheduled or self._unmounted or self._flush_timer is None:
            return
        if self._received != seen:
            asyncio.get_running_loop().call_later(QUIET, self._check_quiet, self._received)
            return
        self._flush_timer.stop()
        self.call_later(self._flush_events)

    def _flush_events(self) -> None:
        self._flush_scheduled = False
        if not self._pending or not self._showing:
            return
        pending, self._pending = self._pending, []
        self._last_batch = len(pending)
        start = time.perf_counter()
        done = 0
        while done < len(pending):
            batch = pending[done:done + FLUSH_SLICE]
            done += len(batch)
            try:
                self.main.apply_events(batch)
            except Exception as exc:  # noqa: BLE001
                self.report_bug(exc, "showing session events")
            if time.perf_counter() - start > FLUSH_BUDGET:
                break
        if done < len(pending):  # the rest on the next turn, ahead of newer events
            self._pending[:0] = pending[done:]
            self._flush_scheduled = True
            self.call_later(self._flush_events)
        self._unsettled += done
        if self._unsettled >= SETTLE_EVENTS and not self._pending:
            self._unsettled = 0
            _settle()

    # -- network steps, each in a worker ----------------------------------------------------

    def spawn(self, what: str, job: Callable[[], Awaitable[Any]], *,
              group: str = "send") -> None:
        """Run one network step in a worker; it reports through session events. A local
        refusal (not connected, not in DATA ...) is one notification."""

        async def run() -> None:
            try:
                await job()
            except SessionError as exc:
                self.notify(str(exc), title=what, severity="warning")
            except Exception as exc:  # noqa: BLE001
                self.report_bug(exc, what)

        self.run_worker(run(), group=group, exit_on_error=False, name=what)

    def require_session(self) -> Session | None:
        if self.session is None:
            self.notify("no session: Ctrl+O connects to a server", severity="warning")
        return self.session

    def send_line(self, line: str) -> None:
        session = self.require_session()
        if session is None:
            return
        self.spawn("send", lambda: session.send(line))

    def action_send_verb(self, verb: str) -> None:
        self.send_line(verb)

    def action_starttls(self) -> None:
        session = self.require_session()
        if session is not None:
            self.spawn("STARTTLS", session.starttls)

    def action_disconnect(self) -> None:
        session = self.require_session()
        if session is not None:
            self.spawn("disconnect", session.disconnect)

    def action_reconnect(self) -> None:
        session = self.session
        if session is None:
            self.open(self.spec)
            return
        self.spawn("reconnect", session.reconnect, group="connect")

    def send_message(self, text: str | None = None, path: str | None = None) -> None:
        session = self.require_session()
        if session is None:
            return
        if text is not None:
            self.message_texts.append(text)
        self.spawn("message", lambda: session.send_message(text, path=path))

    def do_auth(self, mechanism: str, user: str, password: str) -> None:
        session = self.require_session()
        if session is None:
            return
        self.auth_user, self.auth_mechanism = user, mechanism
        self.spawn("AUTH", lambda: session.auth(mechanism, user, password))

    # -- dialogs and views ------------------------------------------------------------------

    def action_help(self) -> None:
        from smtptui.tui.screens.dialogs import HelpScreen

        self.push_screen(HelpScreen(self.main.verb_under_cursor()))

    def action_toggle_dialect(self) -> None:
        self.main.toggle_dialect()

    def action_toggle_raw(self) -> None:
        self.main.toggle_raw()

    def action_toggle_panel(self) -> None:
        self.main.toggle_panel()

    def action_focus_transcript(self) -> None:
        self.main.focus_transcript()

    def action_focus_input(self) -> None:
        self.main.focus_input()

    def action_connect(self) -> None:
        from smtptui.tui.screens.dialogs import ConnectDialog

        def chosen(spec: ConnectSpec | None) -> None:
            if spec is not None:
                self.open(spec)

        self.push_screen(ConnectDialog(self.spec), callback=chosen)

    def action_auth(self) -> None:
        from smtptui.tui.screens.dialogs import AuthDialog

        session = self.require_session()
        if session is None:
            return
        caps = session.capabilities
        mechanisms = tuple(m for m in (caps.auth_mechanisms if caps is not None else ())
                           if m.upper() in ("PLAIN", "LOGIN", "CRAM-MD5")) or (
            "PLAIN", "LOGIN", "CRAM-MD5")
        demo = self.spec.embedded and self.spec.world is None

        def done(result: tuple[str, str, str] | None) -> None:
            if result is not None:
                self.do_auth(*result)

        self.push_screen(AuthDialog(mechanisms, demo=demo), callback=done)

    def action_save(self) -> None:
        from smtptui.tui.screens.dialogs import SaveDialog

        session = self.require_session()
        if session is not None:
            self.push_screen(SaveDialog(session.transcript))

    def action_copy_swaks(self) -> None:
        from smtptui.tui.swaks import swaks_command

        session = self.require_session()
        if session is None:
            return
        command = swaks_command(session.transcript, self.spec, self._server_address(),
                                auth_user=self.auth_user, auth_mechanism=self.auth_mechanism,
                                messages=self.message_texts)
        self.copy_to_clipboard(command)
        self.main.local_note(f"swaks command (copied to the clipboard):\n{command}", "local")
        self.notify("copied the session as a swaks command line", title="swaks")

    def _server_address(self) -> tuple[str, int] | None:
        session = self.session
        client = session.client if session is not None else None
        if client is None:
            return None
        return client.host, client.port

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for action in ACTIONS:
            key = f" [{action.key}]" if action.key else ""
            yield SystemCommand(action.title, action.help + key,
                                lambda a=action.action: self.run_action(a))

    # -- never a traceback on screen --------------------------------------------------------

    def report_bug(self, exc: BaseException, where: str) -> None:
        """An unexpected exception: logged with its traceback, shown as one line."""
        self.bugs += 1
        try:
            path = log_exception(exc, where)
            shown = f" (details in {path})" if path is not None else ""
            text = str(exc).splitlines()[0][:160] if str(exc) else ""
            self.notify(f"unexpected {type(exc).__name__} while {where}: {text}{shown}",
                        title="smtptui bug", severity="error", timeout=12, markup=False)
        except Exception:  # noqa: BLE001, S110 - reporting must never raise
            pass

    def _handle_exception(self, error: Exception) -> None:
        """Textual calls this for an exception outside our guarded handlers (rendering,
        layout): the app cannot go on safely, so it ends -- with one line, never a
        traceback; the transcript was autosaved as it happened."""
        self._return_code = 1
        original = getattr(error, "error", error)  # WorkerFailed wraps the real one
        path = log_exception(original, "the app (fatal)")
        where = f"; details in {path}" if path is not None else ""
        self.fatal_error = (f"smtptui: unexpected {type(original).__name__}: "
                            f"{str(original).splitlines()[0][:200] if str(original) else ''}"
                            f"{where}")
        self._close_messages_no_wait()


def run_app(spec: ConnectSpec) -> int:
    """Run the app until the user quits; returns the exit status."""
    app = SmtpApp(spec)
    try:
        app.run()
    finally:
        if app.fatal_error:
            import sys

            print(app.fatal_error, file=sys.stderr)
    return app.return_code or 0


def run_lesson(lesson: Lesson, args: Any, lang: str) -> int:
    """``smtptui lesson``: the guided mode (:mod:`smtptui.tui.guided`)."""
    from smtptui.tui.guided import run_lesson as run_guided

    return run_guided(lesson, args, lang)
