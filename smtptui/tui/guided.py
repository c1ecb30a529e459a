"""The guided mode (``smtptui lesson``): a lesson pane beside the normal session.

The learner types into the normal command line (completion and diagnostics stay on).
Before anything is sent, :class:`Guide` hands the line to the teaching engine, which
judges it by the grammar of the lesson's dialect, then against the step. A line the
lesson refuses is not sent; Enter on it again sends it anyway, as debugging by hand is
legitimate -- the step is then *not* met, the reply it gets does not count, and the
lesson still waits for the step's own line. The replies, the remote's lines after TURN
and the greetings come back through the session's events and conclude the steps.

SMTP cannot unsend a command, so "one step back" is honest about it: a fresh session
with the lesson's world, the steps before the previous one replayed by the demo at full
speed; "restart" is the same without the replay. The demo types each line into the
command line (or the message editor) at a readable pace, so a projector shows the
completion and diagnostics a student would see.

The guide is not a widget: it holds the engine, talks to the pane and the main screen,
and reaches the network only through the app (``open``, ``action_reconnect``), like
every other front-end action.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import SystemCommand
from textual.binding import BindingType

from smtptui.core.frozen import replace
from smtptui.core.state import END_OF_DATA, GREETING
from smtptui.session import ConnectSpec, lesson_connector
from smtptui.session.events import Closed, LineSent, RemoteLine, ReplyReceived
from smtptui.teaching.engine import LessonEngine, Outcome, Verdict, VerdictKind
from smtptui.tui.app import SmtpApp
from smtptui.tui.commands import ACTIONS, LESSON_ACTIONS, bindings
from smtptui.tui.widgets.lesson import Feedback, LessonPane, MistakeCounts, label

if TYPE_CHECKING:
    from textual.screen import Screen
    from textual.timer import Timer

    from smtptui.session import Connector, Session
    from smtptui.session.events import Event
    from smtptui.teaching.model import Lesson

__all__ = ["DEMO_PACE", "Guide", "GuidedApp", "run_lesson"]

DEMO_PACE = 0.08
"""Seconds per typed character in the demo (``--demo`` without a value)."""
REPLAY_PACE = 0.0
"""The replay after a step back: as fast as the server answers."""

_TURN_KINDS = ("turn-greeting", "answer", "answer-data")

_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "confirm": "Enter again sends it anyway; the step is then not met.",
        "insisted": "Sent anyway, outside the lesson: its reply does not count, and this "
                    "step still waits for its own line. F7 steps back, F9 restarts.",
        "outside_reply": "That reply answers a line sent anyway: it does not count.",
        "closed": "The connection closed. F9 restarts the lesson on a fresh session.",
        "restarted": "--- lesson restarted: a fresh session with the lesson's world ---",
        "back": "--- one step back: a fresh session; steps 1-{n} are replayed ---",
        "back_done": "Back at step {n}: the steps before it were replayed on a fresh "
                     "session.",
        "welcome": "Guided lesson. {where} F6: a hint; F1: every key.",
        "embedded": "The embedded teaching server plays {host} (this machine only).",
        "target": "A real server: {target}.",
        "next_session": "--- the lesson's next session: connecting to {host} ---",
        "finished": "Lesson complete: the summary is in the lesson pane.",
        "one_language": "This lesson is written in {langs} only.",
        "language": "Language: English.",
        "demo_on": "Demo on: the lesson types its own lines.",
        "demo_off": "Demo off: your turn.",
        "message": "Message sent: {n} line(s), then '.'.",
    },
    "ja": {
        "confirm": "もう一度 Enter を押すとそのまま送信します（そのステップは未達成になります）。",
        "insisted": "レッスンの外でそのまま送信しました。その応答は数えず、このステップは引き続き"
                    "正しい行を待ちます。F7 で戻る、F9 で最初から。",
        "outside_reply": "この応答はそのまま送信した行へのもので、数えません。",
        "closed": "接続が閉じました。F9 で新しいセッションからレッスンをやり直せます。",
        "restarted": "--- やり直し: レッスンの世界で新しいセッション ---",
        "back": "--- 1 ステップ戻る: 新しいセッションで 1-{n} を再生 ---",
        "back_done": "ステップ {n} に戻りました。その前のステップは新しいセッションで再生しました。",
        "welcome": "ガイド付きレッスン。{where}F6: ヒント、F1: キー一覧。",
        "embedded": "教育用サーバが {host} を演じます（このマシン上だけ）。",
        "target": "実サーバ: {target}。",
        "next_session": "--- 次のセッション: {host} に接続 ---",
        "finished": "レッスン完了。まとめはレッスン欄に。",
        "one_language": "このレッスンは {langs} だけで書かれています。",
        "language": "言語: 日本語。",
        "demo_on": "デモ開始: レッスンが自分で入力します。",
        "demo_off": "デモ終了: あなたの番です。",
        "message": "本文を送信しました: {n} 行と「.」。",
    },
}


def words(lang: str, key: str, **values: object) -> str:
    return _WORDS.get(lang, _WORDS["en"])[key].format(**values)


class Guide:
    """One learner in one lesson, inside the app: engine in, pane and demo out."""

    def __init__(self, app: SmtpApp, lesson: Lesson, lang: str, spec: ConnectSpec, *,
                 demo: float | None = None,
                 make_connector: Callable[[Lesson, ConnectSpec], Connector] = lesson_connector
                 ) -> None:
        self.app = app
        self.lesson = lesson
        self.engine = LessonEngine(lesson, lang)
        self.spec = spec
        self.make_connector = make_connector
        self.connector: Connector = make_connector(lesson, spec)
        self.pane = LessonPane()
        self.feedback: list[Feedback] = []
        self.demo_on = demo is not None
        self.pace = DEMO_PACE if demo is None else max(0.0, demo)
        self.insisted = 0
        self._session: Session | None = None  # events of any other session are stale
        self._accepted: str | None = None      # the line the lesson let through, unanswered
        self._remote_message: list[str] = []   # after TURN: the remote's message so far
        self._replay_to: int | None = None     # replaying up to this step index (0-based)
        self._timer: Timer | None = None
        self._opened = 0                       # sessions opened (restart and back open one)

    # -- where we are ---------------------------------------------------------------------

    @property
    def lang(self) -> str:
        return self.engine.lang

    @property
    def index(self) -> int:
        return self.engine.progress()[0] - 1

    @property
    def replaying(self) -> bool:
        return self._replay_to is not None

    def idle_hint(self) -> str:
        """The command line's hint when nothing is typed: the step and its task."""
        if self.engine.finished:
            return label(self.lang, "again")
        return f"{self.engine.progress_text()}: {self.engine.task()}  (F6: hint)"

    # -- the main screen's hooks -------------------------------------------------------------

    def session_opened(self, session: Session) -> str:
        """A new session is on screen: check it in the lesson's dialect; the note to
        show instead of the app's generic welcome."""
        session.dialect = self.lesson.dialect
        self._session = session
        self._opened += 1
        self.refresh()
        if self._replay_to is not None:
            return words(self.lang, "back", n=self._replay_to)
        if self._opened > 1:
            return words(self.lang, "restarted")
        if self.spec.target is not None:
            where = words(self.lang, "target", target=self.spec.target)
        else:
            where = words(self.lang, "embedded",
                          host=getattr(self.connector, "hostname", "?"))
        return words(self.lang, "welcome", where=where)

    def gate(self, line: str) -> str | bool | None:
        """The learner pressed Enter on ``line``: None -- no lesson step to judge it
        (the lesson is over: free play); True -- the lesson accepts it, send it now;
        a text -- refused, not sent (the command line asks before sending it anyway)."""
        if self.engine.finished or self._session is None or not line.strip():
            return None
        verdict = self.engine.judge(line)
        self._show_verdict(verdict)
        if verdict.may_send:
            self._accepted = line
            return True
        if not self.replaying:
            self.feedback.append(Feedback("note", words(self.lang, "confirm")))
            self.refresh()
        return f"{verdict.message} {words(self.lang, 'confirm')}"

    def sent(self, line: str, forced: bool) -> None:
        """A line went to the app for sending; ``forced``: the learner insisted on a line
        the lesson refused."""
        if forced and not self.engine.finished:
            self.insisted += 1
            self.feedback = [Feedback("missed", words(self.lang, "insisted"))]
            self.refresh()

    def message(self, text: str | None) -> None:
        """The composer sends a message: in a data step, its lines are the step's."""
        step = self.engine.current
        if step is None or step.kind != "data" or self.engine.awaiting_reply:
            return
        lines = (text or "").split("\r\n")
        if lines and lines[-1] == "":
            lines.pop()
        for line in lines:
            self.engine.judge(line)
        self._show_verdict(self.engine.judge("."), words(self.lang, "message", n=len(lines)))

    def events(self, batch: Sequence[Event]) -> None:
        """The session's events, after the main screen has shown them."""
        session = self.app.session
        if session is None or session is not self._session:
            return
        changed = False
        for event in batch:
            if isinstance(event, ReplyReceived):
                changed |= self._reply(event)
            elif isinstance(event, RemoteLine):
                changed |= self._remote(event)
            elif isinstance(event, LineSent):
                changed |= self._line_sent(event)
            elif isinstance(event, Closed):
                changed |= self._closed()
        if changed:
            self.refresh()

    # -- what the session said ---------------------------------------------------------------

    def _reply(self, event: ReplyReceived) -> bool:
        step = self.engine.current
        if step is None:
            return False
        t = event.transition
        reply = event.reply
        ours = False
        if t.verb == GREETING:
            ours = step.kind == "greeting"
        elif t.verb == END_OF_DATA:
            ours = step.kind == "data" and self.engine.awaiting_reply
        elif t.verb and step.kind == "command" and self.engine.awaiting_reply:
            ours = self._accepted is not None and t.line.strip() == self._accepted.strip()
        if not ours:
            if t.verb and t.verb != GREETING and not self.replaying:
                self.feedback.append(Feedback("note", words(self.lang, "outside_reply")))
                return True
            return False
        self._accepted = None
        outcome = self.engine.reply_received(reply.code, reply.lines)
        state = None
        if t.before != t.after:
            state = label(self.lang, "state", before=t.before.value, after=t.after.value)
        self._concluded(outcome, state)
        return True

    def _remote(self, event: RemoteLine) -> bool:
        step = self.engine.current
        if step is None or step.kind not in ("answer", "answer-data"):
            return False
        if event.in_data:
            self._remote_message.append(event.entry.text)
            return False
        if event.verb == END_OF_DATA:
            lines, self._remote_message = self._remote_message, []
        else:
            lines = [event.entry.text]
        outcome = self.engine.remote_sent(lines)
        self.feedback.append(Feedback("ok" if outcome.met else "missed", outcome.message))
        self._schedule_demo()
        return True

    def _line_sent(self, event: LineSent) -> bool:
        step = self.engine.current
        if step is None or step.kind not in _TURN_KINDS or not self.engine.awaiting_reply:
            return False
        if self._accepted is None or event.entry.text.strip() != self._accepted.strip():
            return False
        self._accepted = None
        self._concluded(self.engine.our_reply_sent(), None)
        return True

    def _closed(self) -> bool:
        step = self.engine.current
        if step is None:
            return False
        if step.kind == "greeting":  # the lesson's next session (after QUIT)
            host = self._host_of(step.session)
            if host and hasattr(self.connector, "default_host"):
                self.connector.default_host = host  # type: ignore[attr-defined]
            self.app.main.local_note(words(self.lang, "next_session",
                                           host=host or self.connector.label(None)))
            self.app.action_reconnect()
            return False
        self.feedback.append(Feedback("missed", words(self.lang, "closed")))
        return True

    def _host_of(self, session_number: int) -> str | None:
        sessions = self.lesson.script.sessions
        if 0 < session_number <= len(sessions):
            return sessions[session_number - 1].host_hint
        return None

    def _show_verdict(self, verdict: Verdict, text: str | None = None) -> None:
        if verdict.kind is VerdictKind.WAIT:
            kind = "note"
        elif verdict.may_send:
            kind = "ok"
        else:
            kind = "refused"
        if not self.replaying:
            self.feedback = [Feedback(kind, text or verdict.message)]  # type: ignore[arg-type]
            self.refresh()

    def _concluded(self, outcome: Outcome, state: str | None) -> None:
        if not self.replaying:
            self.feedback.append(Feedback("ok" if outcome.met else "missed", outcome.message))
            if outcome.explanation:
                self.feedback.append(Feedback("explain", outcome.explanation))
            if state:
                self.feedback.append(Feedback("state", state))
        if self._replay_to is not None and self.index >= self._replay_to:
            self._replay_to = None
            self.feedback = [Feedback("note", words(self.lang, "back_done", n=self.index + 1))]
        if outcome.finished:
            self.demo_on = False
            self.app.main.local_note(words(self.lang, "finished"))
        self._schedule_demo()

    # -- the pane ------------------------------------------------------------------------------

    def counts(self) -> MistakeCounts:
        summary = self.engine.summary()
        kinds = [m.kind for m in summary.mistakes]
        return MistakeCounts(
            grammar=kinds.count(VerdictKind.GRAMMAR),
            wrong_step=sum(k in (VerdictKind.WRONG_VERB, VerdictKind.WRONG_ARGUMENT)
                           for k in kinds),
            server=kinds.count(None), insisted=self.insisted)

    def covered(self) -> list[str]:
        """The protocol line of each step reached: the summary's recap."""
        done = min(self.index, len(self.lesson.steps))
        out = []
        for step in self.lesson.steps[:done]:
            if step.kind == "greeting":
                out.append(step.server[0])
            elif step.kind == "data":
                out.append(f"{len(step.data)} line(s) + '.'")
            else:
                out.append(step.send or "")
        return out

    def refresh(self) -> None:
        """Redraw the pane (and the command line's idle hint) from the engine."""
        if not self.pane.is_mounted:
            return
        engine = self.engine
        if engine.finished:
            self.pane.show_summary(lang=self.lang, title=engine.title(),
                                   summary=engine.summary(), counts=self.counts(),
                                   feedback=self.feedback, covered=self.covered())
        else:
            n, m = engine.progress()
            step = engine.current
            task = engine.task()
            if step is not None and step.kind == "data":
                task += " " + label(self.lang, "data_tip")
            mode = ""
            if self.replaying:
                mode = label(self.lang, "replay")
            elif self.demo_on:
                mode = label(self.lang, "demo")
            self.pane.show_step(lang=self.lang, title=engine.title(),
                                progress=engine.progress_text(), n=n, m=m,
                                narration=engine.narration(), task=task,
                                feedback=self.feedback, mode=mode)
        try:
            self.app.main.command.refresh_assist()
        except LookupError:
            pass

    # -- keys ----------------------------------------------------------------------------------

    def hint(self) -> None:
        if self.engine.finished:
            return
        text = self.engine.hint()
        self.feedback.append(Feedback("hint", text))
        self.refresh()

    def restart(self) -> None:
        """From step 1 on a fresh session (mistakes and hints stay for the summary)."""
        self.engine.restart()
        self._reopen()

    def back(self) -> None:
        """One step back: to the previous step where the learner types, on a fresh
        session with the steps before it replayed (there is no unsending)."""
        steps = self.lesson.steps
        target = min(self.index, len(steps)) - 1
        while target >= 0 and not steps[target].learner_types:
            target -= 1
        self.engine.restart()
        self._replay_to = target if target > 0 else None
        self._reopen()

    def _reopen(self) -> None:
        self._cancel_demo()
        self._session = None
        self._accepted = None
        self._remote_message = []
        self.feedback = []
        try:
            self.connector = self.make_connector(self.lesson, self.spec)
        except ValueError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return
        self.refresh()
        self.app.open(self.spec, self.connector)

    def toggle_demo(self) -> None:
        if self.engine.finished:
            return
        self.demo_on = not self.demo_on
        self.feedback.append(Feedback("note", words(
            self.lang, "demo_on" if self.demo_on else "demo_off")))
        if self.demo_on:
            self._schedule_demo(0.0)
        else:
            self._cancel_demo()
        self.refresh()

    def switch_language(self) -> None:
        languages = self.lesson.languages
        if len(languages) < 2:
            self.app.notify(words(self.lang, "one_language", langs=", ".join(languages)))
            return
        lang = languages[(languages.index(self.lang) + 1) % len(languages)]
        self.engine.set_lang(lang)
        # What was said in the other language is history; the step itself is redrawn.
        self.feedback = [Feedback("note", words(lang, "language"))]
        self.refresh()

    # -- the demo ------------------------------------------------------------------------------

    def _schedule_demo(self, delay: float | None = None) -> None:
        if not (self.demo_on or self.replaying) or self.engine.finished:
            return
        if delay is None:
            delay = 0.02 if self.replaying else 25 * self.pace
        self._cancel_timer()
        self._timer = self.app.set_timer(max(delay, 0.01), self._demo_tick, name="lesson-demo")

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _cancel_demo(self) -> None:
        self._cancel_timer()
        self.app.workers.cancel_group(self.app, "lesson-demo")

    def _demo_tick(self) -> None:
        self._timer = None
        if not (self.demo_on or self.replaying) or self._session is None:
            return
        step = self.engine.current
        line = self.engine.demo_line()
        if step is None or line is None:
            return  # the server speaks next; its event schedules the next line
        main = self.app.main
        if step.kind == "data" and not main.composer.display:
            self._schedule_demo(0.05)  # the 354 is being shown: the editor comes next
            return
        job = self._type_message(step.data) if step.kind == "data" else self._type_line(line)
        self.app.run_worker(job, group="lesson-demo", exclusive=True, exit_on_error=False,
                            name="lesson demo")

    async def _pause(self, seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds)

    async def _type_line(self, line: str) -> None:
        pace = REPLAY_PACE if self.replaying else self.pace
        command = self.app.main.command
        command.value = ""
        if pace <= 0:
            command.value = line
            command.cursor_position = len(line)
        else:
            for ch in line:
                command.insert_text_at_cursor(ch)
                await asyncio.sleep(pace)
        await self._pause(10 * pace)
        await command.action_submit()

    async def _type_message(self, lines: Iterable[str]) -> None:
        pace = REPLAY_PACE if self.replaying else self.pace
        composer = self.app.main.composer
        editor = composer.editor
        editor.text = ""  # the lesson's message, exactly as written
        for line in lines:
            if pace <= 0:
                editor.insert(line + "\n")
                continue
            for ch in line:
                editor.insert(ch)
                await asyncio.sleep(pace)
            editor.insert("\n")
        await self._pause(10 * pace)
        composer.action_send()


class GuidedApp(SmtpApp):
    """The app with a lesson beside the session, and the lesson's keys."""

    # The footer shows the lesson's keys; the session's keys stay bound (F1 lists them).
    BINDINGS: ClassVar[list[BindingType]] = bindings(
        tuple(replace(a, footer=a.action == "help") for a in ACTIONS) + LESSON_ACTIONS)

    def __init__(self, lesson: Lesson, lang: str, spec: ConnectSpec | None = None, *,
                 demo: float | None = None,
                 make_connector: Callable[[Lesson, ConnectSpec], Connector] = lesson_connector,
                 **options: Any) -> None:
        spec = spec or ConnectSpec()
        self.guide = Guide(self, lesson, lang, spec, demo=demo, make_connector=make_connector)
        super().__init__(spec, connector=self.guide.connector, side_pane=self.guide.pane,
                         **options)
        number = f"{lesson.number:02d} " if lesson.number is not None else ""
        self.TITLE = f"smtptui lesson {number}{lesson.id}"

    def action_lesson_hint(self) -> None:
        self.guide.hint()

    def action_lesson_back(self) -> None:
        self.guide.back()

    def action_lesson_restart(self) -> None:
        self.guide.restart()

    def action_lesson_demo(self) -> None:
        self.guide.toggle_demo()

    def action_lesson_language(self) -> None:
        self.guide.switch_language()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for action in LESSON_ACTIONS:
            yield SystemCommand(action.title, f"{action.help} [{action.key}]",
                                lambda a=action.action: self.run_action(a))


def spec_from_args(args: argparse.Namespace) -> ConnectSpec:
    """``smtptui lesson``'s connection options as the app's spec."""
    return ConnectSpec(target=getattr(args, "target", None), tls=getattr(args, "tls", False),
                       starttls=getattr(args, "starttls", "manual"),
                       cafile=getattr(args, "cafile", None),
                       insecure=getattr(args, "insecure", False),
                       timeout=getattr(args, "timeout", None),
                       resolver=getattr(args, "resolver", None), helo=getattr(args, "helo", None),
                       family=getattr(args, "family", 0))


def run_lesson(lesson: Lesson, args: argparse.Namespace, lang: str) -> int:
    """``smtptui lesson``: the guided mode until the learner quits; the exit status."""
    import sys

    spec = spec_from_args(args)
    try:
        app = GuidedApp(lesson, lang, spec, demo=getattr(args, "demo", None))
    except ValueError as exc:  # a target or world the session layer refuses
        print(f"smtptui lesson: {exc}", file=sys.stderr)
        return 2
    try:
        app.run()
    finally:
        if app.fatal_error:
            print(app.fatal_error, file=sys.stderr)
    return app.return_code or 0

