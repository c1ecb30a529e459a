"""The catalogue: every lesson loads, is in English and Japanese, and replays green
headless (``smtptui run LESSON``) against the embedded teaching server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from smtptui.commands.lessons import load
from smtptui.teaching.catalogue import catalogue_dir, find_lesson, lesson_files, slug_of
from smtptui.teaching.engine import LessonEngine

ROOT = Path(__file__).resolve().parents[2]
LESSONS = lesson_files()


def smtptui(*args: str, tmp_path: Path, env: dict[str, str] | None = None,
            cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    environ = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"), **(env or {}))
    return subprocess.run([sys.executable, "-m", "smtptui", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_catalogue_is_the_repositorys_lessons_directory() -> None:
    assert catalogue_dir() == ROOT / "lessons"
    numbers = [int(p.name.split("-", 1)[0]) for p in LESSONS]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert set(numbers) == set(range(1, 19))  # the 18 lessons of the catalogue


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_is_complete_in_english_and_japanese(path: Path) -> None:
    lesson = load(path)
    assert lesson.id == slug_of(path)
    assert {"en", "ja"} <= set(lesson.languages)
    assert lesson.rfcs and lesson.steps
    for step in lesson.steps:
        assert step.say.get("en") != step.say.get("ja")
    assert find_lesson(lesson.id) == path and find_lesson(str(lesson.number)) == path


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_replays_green_on_the_embedded_server(path: Path, tmp_path: Path) -> None:
    proc = smtptui("run", str(path.relative_to(ROOT)), "--json", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    lesson = load(path)
    checked = [s for s in result["steps"] if s["expected"] is not None]
    assert result["ok"] and len(checked) == lesson.script.expectations
    # lines name the lesson file, where the teacher wrote the step
    text_lines = path.read_text(encoding="utf-8").splitlines()
    for s in checked:
        assert s["line"] <= len(text_lines)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_the_engine_demo_types_every_expected_line(path: Path) -> None:
    """The demo's lines are the script's lines: what ``run`` sends is what the app's
    demo mode types, and each passes the engine's own judgement."""
    lesson = load(path)
    engine = LessonEngine(lesson, "ja")
    typed: list[str] = []
    while engine.current is not None:
        step = engine.current
        if step.kind == "greeting":
            engine.reply_received(int(step.server[0][:3]), [x[4:] for x in step.server])
            continue
        if step.kind in ("answer", "answer-data"):
            engine.remote_sent([x for x in step.server if x != "."])
        while (line := engine.demo_line()) is not None:
            verdict = engine.judge(line)
            assert verdict.may_send, (step.number, line, verdict.message)
            typed.append(line)
        if step.kind in ("command", "data"):
            code = step.reply[0][:3].replace("x", "0")
            out = engine.reply_received(int(code), [x[4:] for x in step.reply])
        else:
            out = engine.our_reply_sent()
        assert out.met, (step.number, out.message)
    assert not engine.summary().mistakes
    from smtptui.core.script import Command, DataLine, Message, SendReply

    sent: list[str] = []
    for s in lesson.script.steps:
        if isinstance(s, Command):
            sent.append(s.text)
        elif isinstance(s, Message):
            sent.extend(p.text for p in s.parts if isinstance(p, DataLine))
            sent.append(".")
        elif isinstance(s, SendReply):
            sent.extend(s.lines)
    assert typed == sent


def test_run_by_catalogue_number_and_id(tmp_path: Path) -> None:
    first = load(LESSONS[0])
    for ref in (str(first.number), first.id):
        proc = smtptui("run", ref, tmp_path=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert f"lesson {first.number:02d} {first.id}" in proc.stdout


def test_lessons_lists_the_catalogue(tmp_path: Path) -> None:
    proc = smtptui("lessons", "--json", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["id"] for r in rows] == [slug_of(p) for p in LESSONS]
    for r in rows:
        assert {"id", "title", "level", "languages", "rfcs", "file"} <= set(r)
        assert Path(r["file"]).is_file()
    ja = smtptui("lessons", tmp_path=tmp_path, env={"LANG": "ja_JP.UTF-8", "LC_ALL": ""})
    en = smtptui("lessons", "--lang", "en", tmp_path=tmp_path)
    assert ja.returncode == en.returncode == 0
    assert load(LESSONS[0]).title.get("ja") in ja.stdout
    assert load(LESSONS[0]).title.get("en") in en.stdout


def test_lessons_check(tmp_path: Path) -> None:
    good = smtptui("lessons", "--check", tmp_path=tmp_path)
    assert good.returncode == 0, good.stderr
    assert good.stdout.count(": ok (") == len(LESSONS)
    bad = tmp_path / "99-broken.toml"
    inline = next(p for p in LESSONS if load(p).world.filename == str(p))  # type: ignore[union-attr]
    text = inline.read_text(encoding="utf-8")
    helo = next(s.send for s in load(inline).steps if s.verb == "HELO")
    bad.write_text(text.replace(f'send = "{helo}"', 'send = "HELO"'), encoding="utf-8")
    proc = smtptui("lessons", "--check", str(LESSONS[0]), str(bad), tmp_path=tmp_path)
    assert proc.returncode == 1
    line = proc.stderr.strip()
    assert line.startswith(f"{bad}:") and "fails the rfc821 grammar" in line
    assert len(line.splitlines()) == 1 and "Traceback" not in line
    renamed = tmp_path / "01-other-name.toml"
    renamed.write_text(text, encoding="utf-8")
    assert "the file name says 'other-name'" in smtptui(
        "lessons", "--check", str(renamed), tmp_path=tmp_path).stderr


def test_run_lesson_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "l.toml"
    bad.write_text("[lesson]\nid = 3\n", encoding="utf-8")
    proc = smtptui("run", str(bad), tmp_path=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"smtptui run: {bad}:1:1: lesson: missing key 'title'"
    embedded_only = next(p for p in LESSONS if not load(p).real_server)
    proc = smtptui("run", str(embedded_only), "127.0.0.1:9", tmp_path=tmp_path)
    assert proc.returncode == 2 and "cannot run against a TARGET" in proc.stderr
    proc = smtptui("run", "no-such-lesson", tmp_path=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_an_unknown_lesson_is_a_usage_error(tmp_path: Path) -> None:
    proc = smtptui("lesson", "nope", tmp_path=tmp_path)
    assert proc.returncode == 2 and "no lesson 'nope'" in proc.stderr


def test_the_writing_a_lesson_example_checks_and_runs(tmp_path: Path) -> None:
    """lessons/README.md's complete example is a working lesson."""
    readme = (ROOT / "lessons" / "README.md").read_text(encoding="utf-8")
    example = readme.split("## Writing a lesson", 1)[1].split("```toml\n", 1)[1].split("```")[0]
    f = tmp_path / "01-first-mail.toml"
    f.write_text(example, encoding="utf-8")
    check = smtptui("lessons", "--check", str(f), tmp_path=tmp_path)
    assert check.returncode == 0, check.stderr
    run = smtptui("run", str(f), tmp_path=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
