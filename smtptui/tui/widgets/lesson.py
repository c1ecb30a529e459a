"""The lesson pane of the guided mode: the lesson's title, where the learner is (step n
of m), the narration, the task, what happened to their last line, and at the end the
summary. It only shows what :class:`~smtptui.tui.guided.Guide` hands it; the judging
is the teaching engine's.

Wide characters (Japanese) wrap by cell width: Textual measures cells, so the pane
only has to leave wrapping on (no ``nowrap`` here, unlike the state panel).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

if TYPE_CHECKING:
    from textual.app import ComposeResult

    from smtptui.teaching.engine import Summary

__all__ = ["Feedback", "LessonPane", "MistakeCounts", "label"]

FeedbackKind = Literal["ok", "refused", "missed", "hint", "explain", "state", "note"]

_STYLE: Mapping[str, str] = {
    "ok": "$text-success",
    "refused": "bold $text-error",
    "missed": "$text-warning",
    "hint": "$text-accent",
    "explain": "",
    "state": "dim italic",
    "note": "dim",
}
_MARK: Mapping[str, str] = {
    "ok": "✓ ", "refused": "✗ ", "missed": "! ", "hint": "? ", "explain": "", "state": "",
    "note": "",
}

_LABELS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "lesson": "Lesson",
        "summary": "Summary",
        "done": "Done: {n} of {m} steps.",
        "covered": "Covered",
        "mistakes": "Mistakes",
        "grammar": "grammar",
        "wrong_step": "wrong step",
        "server": "server answered otherwise",
        "insisted": "sent anyway",
        "none": "none -- well done",
        "hints": "Hints: {hints}, answers shown: {reveals}",
        "read": "Read next",
        "again": "F9 starts again; Ctrl+Q quits.",
        "demo": "demo: the lesson types by itself (Ctrl+R stops)",
        "replay": "replaying the steps before on a fresh session...",
        "data_tip": "In the editor: Ctrl+J sends the message with its final '.'.",
        "state": "session: {before} → {after}",
    },
    "ja": {
        "lesson": "レッスン",
        "summary": "まとめ",
        "done": "{m} ステップ中 {n} ステップ完了。",
        "covered": "学んだこと",
        "mistakes": "間違い",
        "grammar": "文法",
        "wrong_step": "ステップ違い",
        "server": "サーバの応答が想定外",
        "insisted": "そのまま送信",
        "none": "なし。よくできました",
        "hints": "ヒント: {hints} 回、答えの表示: {reveals} 回",
        "read": "次に読むもの",
        "again": "F9 でもう一度、Ctrl+Q で終了。",
        "demo": "デモ: レッスンが自動で入力します（Ctrl+R で停止）",
        "replay": "新しいセッションで前のステップを再生しています...",
        "data_tip": "エディタで Ctrl+J を押すと、最後の「.」を付けて本文を送ります。",
        "state": "セッション: {before} → {after}",
    },
}


def label(lang: str, key: str, **values: object) -> str:
    """The pane's own words in ``lang`` (English for a language it does not speak)."""
    table = _LABELS.get(lang, _LABELS["en"])
    return table[key].format(**values)


@dataclass(frozen=True, slots=True)
class Feedback:
    """One line under the task: a verdict, an outcome, a hint, an explanation."""

    kind: FeedbackKind
    text: str


@dataclass(frozen=True, slots=True)
class MistakeCounts:
    grammar: int
    wrong_step: int
    server: int
    insisted: int

    @property
    def total(self) -> int:
        return self.grammar + self.wrong_step + self.server + self.insisted


class LessonPane(VerticalScroll, can_focus=False):
    """Title, progress, narration, task, feedback; the summary at the end."""

    DEFAULT_CSS = """
    LessonPane {
        width: 40%;
        min-width: 30;
        max-width: 60;
        border-right: vkey $panel-lighten-2;
        padding: 0 1;
        background: $surface;
        scrollbar-size-vertical: 1;
    }
    LessonPane > Static { width: 1fr; }
    LessonPane > #lesson-title { text-style: bold; color: $text-accent; }
    LessonPane > #lesson-progress { color: $text-muted; margin-bottom: 1; }
    LessonPane > #lesson-task { text-style: bold; margin-top: 1; }
    LessonPane > #lesson-feedback { margin-top: 1; }
    LessonPane > #lesson-mode { color: $text-warning; margin-top: 1; }
    """

    def __init__(self, *, id: str | None = "lesson") -> None:
        super().__init__(id=id)

    def compose(self) -> ComposeResult:
        yield Static("", id="lesson-title", markup=False)
        yield Static("", id="lesson-progress", markup=False)
        yield Static("", id="lesson-say", markup=False)
        yield Static("", id="lesson-task", markup=False)
        yield Static("", id="lesson-feedback", markup=False)
        yield Static("", id="lesson-mode", markup=False)

    def _set(self, name: str, content: Content | str) -> None:
        node = self.query_one(f"#lesson-{name}", Static)
        node.update(content)
        node.display = bool(str(content))

    def show_step(self, *, lang: str, title: str, progress: str, n: int, m: int,
                  narration: str, task: str, feedback: Sequence[Feedback],
                  mode: str = "") -> None:
        """The lesson as it stands: called after every change (cheap: a few Statics)."""
        self._set("title", f"{label(lang, 'lesson')} · {title}")
        self._set("progress", Content.assemble(progress, "  ", _bar(n - 1, m)))
        self._set("say", narration)
        self._set("task", Content.assemble(("▶\u00a0", "$text-accent"), task))
        self._set("feedback", _feedback(feedback))
        self._set("mode", mode)
        # A short terminal cannot show it all: the newest feedback wins over the top.
        if feedback:
            self.call_after_refresh(self.scroll_end, animate=False)
        else:
            self.call_after_refresh(self.scroll_home, animate=False)

    def show_summary(self, *, lang: str, title: str, summary: Summary,
                     counts: MistakeCounts, feedback: Sequence[Feedback],
                     covered: Sequence[str]) -> None:
        """The end: what was covered (each step's protocol line and the first sentence
        of its narration), the mistakes by kind, the RFC sections to read."""
        self._set("title", f"{label(lang, 'summary')} · {title}")
        self._set("progress", Content.assemble(
            label(lang, "done", n=summary.steps_done, m=summary.steps_total), "  ",
            _bar(summary.steps_done, summary.steps_total)))
        parts: list[tuple[str, str] | str] = [(label(lang, "covered") + "\n", "bold")]
        for line, what in zip(covered, summary.covered, strict=False):
            parts += ["•\u00a0", (line, "bold"), f" {_first_sentence(what)}\n"]
        parts += [("\n" + label(lang, "mistakes") + "\n", "bold")]
        if counts.total == 0:
            parts += [(label(lang, "none") + "\n", "$text-success")]
        else:
            for key, value in (("grammar", counts.grammar), ("wrong_step", counts.wrong_step),
                               ("server", counts.server), ("insisted", counts.insisted)):
                if value:
                    parts += [f"•\u00a0{label(lang, key)}: {value}\n"]
        parts += [label(lang, "hints", hints=summary.hints, reveals=summary.reveals) + "\n"]
        parts += [("\n" + label(lang, "read") + "\n", "bold")]
        parts += [f"•\u00a0{rfc}\n" for rfc in summary.rfcs]
        self._set("say", Content.assemble(*parts).rstrip())
        self._set("task", Content.assemble(("▶\u00a0", "$text-accent"), label(lang, "again")))
        self._set("feedback", _feedback(feedback))
        self._set("mode", "")


def _first_sentence(text: str) -> str:
    """Enough of a step's narration to recall it in the summary."""
    text = text.split("\n", 1)[0]
    cut = min((i for i in (text.find("。"), text.find(". "), text.find(": ")) if i >= 0),
              default=-1)
    if cut < 0:
        return text
    return text[: cut + 1] if text[cut] == "。" else text[:cut]


def _feedback(items: Sequence[Feedback]) -> Content:
    parts: list[tuple[str, str] | str] = []
    for i, item in enumerate(items):
        if i:
            parts.append("\n")
        parts.append((_MARK[item.kind] + item.text, _STYLE[item.kind]))
    return Content.assemble(*parts)


def _bar(steps_done: int, m: int, width: int = 12) -> Content:
    done = 0 if m <= 0 else round(width * min(max(steps_done, 0), m) / m)
    return Content.assemble(("━" * done, "$text-success"), ("━" * (width - done), "dim"))
