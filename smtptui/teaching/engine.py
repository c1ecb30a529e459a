"""The pure lesson engine: what the guided mode and the demo run on.

Nothing here does I/O. The front end feeds in what happens -- the learner's line
(:meth:`LessonEngine.judge`), the server's reply (:meth:`LessonEngine.reply_received`),
after TURN the remote's command or message (:meth:`LessonEngine.remote_sent`) -- and
shows what comes out: verdicts, outcomes, hints, narration, a summary.

The learner's line is judged before anything is sent: first by the grammar of the
lesson's dialect (the core checker, so the lesson and ``smtptui check`` agree), then
against the step (wrong verb, wrong argument, right idea). Only a verdict with
``may_send`` should go on the wire; the engine then waits for the reply.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

from smtptui.core.diagnostics import Diagnostic
from smtptui.core.grammar import check, split_command
from smtptui.core.script import Expect
from smtptui.core.text import is_ascii_digits
from smtptui.teaching.messages import say
from smtptui.teaching.model import Lesson, LessonStep

__all__ = ["LessonEngine", "Mistake", "Outcome", "Summary", "Verdict", "VerdictKind"]


class VerdictKind(str, enum.Enum):
    OK = "ok"
    RIGHT_IDEA = "right-idea"          # accepted: equivalent, written differently
    GRAMMAR = "grammar"                # not sent: the line breaks the grammar
    WRONG_VERB = "wrong-verb"          # not sent: another command than the step's
    WRONG_ARGUMENT = "wrong-argument"  # not sent: right command, other argument
    WAIT = "wait"                      # not sent: nothing to type in this step
    DATA = "data"                      # a message line (sent)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: VerdictKind
    message: str
    """In the engine's language."""
    may_send: bool
    diagnostics: tuple[Diagnostic, ...] = ()
    """The grammar's findings (errors for GRAMMAR, warnings otherwise)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a reply (or the remote's line after TURN) meant for the step."""

    met: bool
    message: str
    explanation: str | None
    """The step's explanation, shown once the reply is in."""
    step: int
    """The step it concluded (1-based)."""
    finished: bool
    """No step left."""


@dataclass(frozen=True, slots=True)
class Mistake:
    step: int
    line: str
    kind: VerdictKind | None
    """None for a reply the lesson did not expect (the server's doing, not the learner's)."""
    message: str


@dataclass(frozen=True, slots=True)
class Summary:
    title: str
    covered: tuple[str, ...]
    """The task of each step reached, in order."""
    steps_done: int
    steps_total: int
    mistakes: tuple[Mistake, ...]
    hints: int
    reveals: int
    rfcs: tuple[str, ...]
    """The RFC sections to read."""


@dataclass
class _Progress:
    index: int = 0
    data_sent: int = 0       # message lines already sent in a data step
    awaiting: bool = False   # the line is sent; the step waits for the reply
    remote_in: bool = False  # after TURN: the remote's line of this step has arrived
    hints: int = 0           # hint requests for the current step
    mistakes: list[Mistake] = field(default_factory=list)
    hint_total: int = 0
    reveal_total: int = 0


class LessonEngine:
    """One learner going through one lesson. ``lang`` must be one of the lesson's."""

    def __init__(self, lesson: Lesson, lang: str = "en") -> None:
        self.lesson = lesson
        self.lang = self._checked(lang)
        self._p = _Progress()

    # -- where we are ---------------------------------------------------------------
    @property
    def current(self) -> LessonStep | None:
        steps = self.lesson.steps
        return steps[self._p.index] if self._p.index < len(steps) else None

    @property
    def finished(self) -> bool:
        return self.current is None

    @property
    def awaiting_reply(self) -> bool:
        """The learner's part of the step is sent; the reply decides."""
        return self._p.awaiting

    def progress(self) -> tuple[int, int]:
        """(step n, of m); n is m + 1 once finished."""
        return self._p.index + 1, len(self.lesson.steps)

    def progress_text(self) -> str:
        n, m = self.progress()
        return say(self.lang, "progress", n=min(n, m), m=m)

    def narration(self) -> str:
        step = self.current
        return say(self.lang, "finished") if step is None else step.say.get(self.lang)

    def task(self) -> str:
        """One line: what the learner does now."""
        step = self.current
        if step is None:
            return say(self.lang, "finished")
        key = {"greeting": "task_wait", "command": "task_command", "data": "task_data"}.get(
            step.kind, "task_reply")
        return say(self.lang, key)

    def title(self) -> str:
        return self.lesson.title.get(self.lang)

    # -- language ---------------------------------------------------------------------
    def set_lang(self, lang: str) -> None:
        """Switch language at any time; progress is kept."""
        self.lang = self._checked(lang)

    def _checked(self, lang: str) -> str:
        if lang not in self.lesson.languages:
            raise ValueError(f"the lesson {self.lesson.id!r} is written in "
                             f"{', '.join(self.lesson.languages)}, not {lang!r}")
        return lang

    # -- the learner's line -------------------------------------------------------------
    def judge(self, line: str, diagnostics: Sequence[Diagnostic] | None = None) -> Verdict:
        """Judge the learner's line for the current step. ``diagnostics``: the front
        end's own grammar findings (e.g. checked with the server's EHLO capabilities);
        None = check with the lesson's dialect here. A verdict with ``may_send`` is
        taken as sent."""
        step = self.current
        line = line.rstrip("\r\n")
        if step is None:
            return Verdict(VerdictKind.WAIT, say(self.lang, "finished"), False)
        if step.kind == "greeting" or self._p.awaiting:
            return Verdict(VerdictKind.WAIT, say(self.lang, "wait"), False)
        if step.kind == "data":
            return self._data_line(line)
        if step.kind in ("answer", "answer-data") and not self._p.remote_in:
            return Verdict(VerdictKind.WAIT, say(self.lang, "wait_remote"), False)
        if step.kind in ("turn-greeting", "answer", "answer-data"):
            return self._our_reply(step, line)
        return self._command(step, line, diagnostics)

    def _command(self, step: LessonStep, line: str,
                 diagnostics: Sequence[Diagnostic] | None) -> Verdict:
        assert step.send is not None
        found = list(check(line, self.lesson.dialect) if diagnostics is None else diagnostics)
        errors = tuple(d for d in found if d.is_error)
        verb = split_command(line)[0].upper()
        if verb != step.verb:
            return self._refuse(line, VerdictKind.WRONG_VERB,
                                say(self.lang, "wrong_verb", verb=step.verb,
                                    got=verb or "''"), errors)
        if errors and not step.broken:
            d = errors[0]
            return self._refuse(line, VerdictKind.GRAMMAR,
                                say(self.lang, "grammar", message=d.message, rule=d.rule,
                                    column=d.start + 1), errors)
        warnings = tuple(d for d in found if not d.is_error)
        if _same(line, step.send) or any(p.matches(line) for p in step.accept):
            message = say(self.lang, "ok", line=line)
            if warnings:
                message += " " + say(self.lang, "grammar_warning", message=warnings[0].message,
                                     rule=warnings[0].rule)
            return self._accept(VerdictKind.OK, message, warnings)
        if _normal(line) == _normal(step.send):
            message = say(self.lang, "right_idea", expected=step.send)
            if warnings:
                message += " " + say(self.lang, "grammar_warning", message=warnings[0].message,
                                     rule=warnings[0].rule)
            return self._accept(VerdictKind.RIGHT_IDEA, message, warnings)
        return self._refuse(line, VerdictKind.WRONG_ARGUMENT,
                            say(self.lang, "wrong_argument", verb=step.verb,
                                expected=step.send), warnings)

    def _our_reply(self, step: LessonStep, line: str) -> Verdict:
        assert step.send is not None
        code = line.strip()[:3]
        if not (is_ascii_digits(code) and code[0] in "12345" and line.strip()[3:4] in ("", " ", "-")):
            return self._refuse(line, VerdictKind.GRAMMAR,
                                say(self.lang, "not_a_reply", expected=step.send), ())
        if code != step.send[:3]:
            return self._refuse(line, VerdictKind.WRONG_ARGUMENT,
                                say(self.lang, "wrong_reply", code=step.send[:3], got=code), ())
        if _same(line, step.send) or any(p.matches(line) for p in step.accept):
            return self._accept(VerdictKind.OK, say(self.lang, "ok", line=line), ())
        return self._accept(VerdictKind.RIGHT_IDEA,
                            say(self.lang, "right_idea", expected=step.send), ())

    def _data_line(self, line: str) -> Verdict:
        if line == ".":
            self._p.awaiting = True
            return Verdict(VerdictKind.DATA, say(self.lang, "data_end"), True)
        self._p.data_sent += 1
        return Verdict(VerdictKind.DATA, say(self.lang, "data_line", n=self._p.data_sent), True)

    def _accept(self, kind: VerdictKind, message: str,
                diagnostics: tuple[Diagnostic, ...]) -> Verdict:
        step = self.current
        assert step is not None
        self._p.awaiting = True
        return Verdict(kind, message, True, diagnostics)

    def _refuse(self, line: str, kind: VerdictKind, message: str,
                diagnostics: tuple[Diagnostic, ...]) -> Verdict:
        self._p.mistakes.append(Mistake(self._p.index + 1, line, kind, message))
        return Verdict(kind, message, False, diagnostics)

    # -- what the other side sends ---------------------------------------------------------
    def reply_received(self, code: int | None, lines: Sequence[str]) -> Outcome:
        """The server's reply (``lines`` as a core ``Reply`` holds them: the text after
        the code) -- or its greeting, in a greeting step."""
        step = self.current
        if step is None:
            return Outcome(False, say(self.lang, "finished"), None, len(self.lesson.steps), True)
        shown = _shown(code, lines)
        if step.kind not in ("greeting", "command", "data") or not step.reply and \
                step.kind != "greeting":
            return self._conclude(step, False, shown)
        written = step.server if step.kind == "greeting" else step.reply
        expect = Expect(step.line, written, written[0][:3], step.match)
        return self._conclude(step, expect.matches(_ReplyView(code, tuple(lines))), shown)

    def remote_sent(self, lines: Sequence[str]) -> Outcome:
        """After TURN: the remote's command (one line) or its message (the lines before
        the final ``.``). The learner replies next, so the step stays current."""
        step = self.current
        if step is None or step.kind not in ("answer", "answer-data"):
            n = len(self.lesson.steps) if step is None else step.number
            return Outcome(False, say(self.lang, "wait"), None, n, step is None)
        got = " / ".join(lines)
        if step.kind == "answer":
            want = step.server[0]
            same = split_command(lines[0] if lines else "")[0].upper() == \
                split_command(want)[0].upper()
            if step.match == "text":
                same = same and (lines[0] if lines else "").strip() == want.strip()
        else:
            want = " / ".join(x for x in step.server if x != ".")
            body = [x.rstrip() for x in step.server if x != "."]
            same = step.match == "code" or [x.rstrip() for x in lines] == body
        message = say(self.lang, "met" if same else "missed", got=got, expected=want)
        self._p.remote_in = True
        if not same:
            self._p.mistakes.append(Mistake(step.number, got, None, message))
        return Outcome(same, message, None, step.number, False)

    def _conclude(self, step: LessonStep, met: bool, shown: str) -> Outcome:
        expected = " / ".join(step.server if step.kind == "greeting" else step.reply)
        message = say(self.lang, "met" if met else "missed", got=shown, expected=expected)
        if not met:
            self._p.mistakes.append(Mistake(step.number, shown, None, message))
        explanation = step.explain.get(self.lang) if step.explain else None
        self._advance()
        return Outcome(met, message, explanation, step.number, self.finished)

    def our_reply_sent(self) -> Outcome:
        """After TURN, the learner's accepted reply went out: the step is done (nothing
        answers a reply; the remote goes on with its next command)."""
        step = self.current
        if step is None:
            return Outcome(False, say(self.lang, "finished"), None, len(self.lesson.steps), True)
        if not self._p.awaiting:
            return Outcome(False, say(self.lang, "wait_remote"), None, step.number, False)
        explanation = step.explain.get(self.lang) if step.explain else None
        self._advance()
        return Outcome(True, say(self.lang, "ok", line=step.send), explanation, step.number,
                       self.finished)

    # -- help, navigation, demo ------------------------------------------------------------
    def hint(self) -> str:
        """First request: the step's hint (or one derived from it); second and later:
        the answer itself."""
        step = self.current
        if step is None:
            return say(self.lang, "finished")
        self._p.hints += 1
        if self._p.hints >= 2:
            self._p.reveal_total += 1
            return say(self.lang, "reveal", answer=" / ".join(step.answer()))
        self._p.hint_total += 1
        if step.hint is not None:
            return step.hint.get(self.lang)
        if step.kind == "greeting":
            return say(self.lang, "hint_wait")
        if step.kind == "data":
            return say(self.lang, "hint_data")
        if step.kind == "command":
            return say(self.lang, "hint_auto", verb=step.verb)
        return say(self.lang, "hint_reply", code=(step.send or "")[:3])

    def demo_line(self) -> str | None:
        """The next line the demo types for the current step (None: nothing to type,
        e.g. the server speaks, or the line is sent and the reply is awaited)."""
        step = self.current
        if step is None or step.kind == "greeting" or self._p.awaiting:
            return None
        if step.kind in ("answer", "answer-data") and not self._p.remote_in:
            return None
        if step.kind == "data":
            lines = step.answer()
            return lines[min(self._p.data_sent, len(lines) - 1)]
        return step.send

    def back(self) -> None:
        """One step back (the front end replays the session up to there)."""
        self._p.index = max(0, self._p.index - 1)
        self._reset_step()

    def restart(self) -> None:
        """From the first step; mistakes and hints are kept for the summary."""
        self._p.index = 0
        self._reset_step()

    def _advance(self) -> None:
        self._p.index += 1
        self._reset_step()

    def _reset_step(self) -> None:
        self._p.data_sent = 0
        self._p.awaiting = False
        self._p.remote_in = False
        self._p.hints = 0

    def summary(self) -> Summary:
        done = min(self._p.index, len(self.lesson.steps))
        covered = tuple(s.say.get(self.lang).split("\n", 1)[0]
                        for s in self.lesson.steps[:done])
        return Summary(self.title(), covered, done, len(self.lesson.steps),
                       tuple(self._p.mistakes), self._p.hint_total, self._p.reveal_total,
                       self.lesson.rfcs)


@dataclass(frozen=True, slots=True)
class _ReplyView:
    code: int | None
    lines: tuple[str, ...]


def _shown(code: int | None, lines: Sequence[str]) -> str:
    c = "???" if code is None else f"{code:03d}"
    return " / ".join(f"{c} {x}".rstrip() for x in lines) or c


def _same(line: str, expected: str) -> bool:
    """Equal but for the case of the letters and surrounding spaces."""
    return line.strip().casefold() == expected.strip().casefold()


def _normal(line: str) -> str:
    """Spaces collapsed and dropped around ':' (``MAIL FROM: <a>`` ~ ``MAIL FROM:<a>``)."""
    text = " ".join(line.split()).casefold()
    return text.replace(": ", ":").replace(" :", ":")
