"""Lesson loader: every problem is one line ``file:line:column: problem``."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smtptui.commands.lessons import check_world, load
from smtptui.teaching.catalogue import lesson_files
from smtptui.teaching.loader import LessonError, load_lesson, parse_lesson

GOOD = textwrap.dedent('''\
    [lesson]
    id = "t"
    title = { en = "Test", ja = "テスト" }
    summary = { en = "s", ja = "要約" }
    level = "beginner"
    rfcs = ["RFC 821 §3.1"]
    languages = ["en", "ja"]
    dialect = "rfc821"

    [world]
    hostname = "BBN-UNIX.ARPA"
    persona = "rfc821"

    [[step]]
    server = "220 BBN-UNIX.ARPA Simple Mail Transfer Service Ready"
    say = { en = "Watch.", ja = "見ます。" }

    [[step]]
    send = "HELO USC-ISIF.ARPA"
    reply = "250 BBN-UNIX.ARPA"
    say.en = "Say HELO."
    say.ja = "HELO します。"
''')

ERROR_RE = re.compile(r"^(?P<file>[^\n]+?):(?P<line>\d+):(?P<col>\d+): \S[^\n]*$")


def error_of(text: str, name: str = "bad.toml") -> LessonError:
    with pytest.raises(LessonError) as info:
        parse_lesson(text, name, check_world=check_world)
    assert ERROR_RE.match(str(info.value)), str(info.value)
    return info.value


def test_the_good_lesson_loads() -> None:
    lesson = parse_lesson(GOOD, "t.toml", check_world=check_world)
    assert [s.kind for s in lesson.steps] == ["greeting", "command"]
    assert lesson.world is not None and lesson.world.base == ("world",)
    assert lesson.script.expectations == 2
    # script lines point back at the lesson file
    assert sorted(set(lesson.script_lines.values())) == [15, 19, 20]


@pytest.mark.parametrize(("old", "new", "line", "col", "words"), [
    ('level = "beginner"', 'level = "beginner"\ncolour = "red"', 6, 1, "unknown key"),
    ('level = "beginner"', "level = 3", 5, 1, "expected a string, got an integer"),
    ('level = "beginner"', 'level = "expert"', 5, 1, "must be one of"),
    ('say.ja = "HELO します。"\n', "", 21, 1, "missing the 'ja' translation"),
    ('say.ja = "HELO します。"', 'say.ja = "HELO します。"\nsay.fr = "Dites HELO."', 23, 1,
     "language 'fr' is not one of"),
    ('send = "HELO USC-ISIF.ARPA"', 'send = "HELO USC-ISIF.ARPA x"', 19, 9 + 19,
     "fails the rfc821 grammar"),
    ('send = "HELO USC-ISIF.ARPA"', 'send = "MAIL FROM: <a@bbb.arpa>"', 19, 9 + 10,
     "no space is allowed after 'FROM:'"),
    ('persona = "rfc821"', 'persona = "postfix"', 12, 1, "unknown persona 'postfix'"),
    ('reply = "250 BBN-UNIX.ARPA"\n', "", 18, 1, "missing key 'reply'"),
    ('[[step]]\nserver', '[[step]]\nsend = "NOOP"\nreply = "250 OK"\n#server', 14, 1,
     "the first step is the server's greeting"),
    ('reply = "250 BBN-UNIX.ARPA"', 'reply = "OK"', 20, 1, "the exchange does not hold together"),
    ('id = "t"', 'id = "a b"', 2, 1, "is not an id"),
    ('[world]', '[world]\nbogus = 1', 11, 1, "unknown key"),
])
def test_errors_name_line_column_and_problem(old: str, new: str, line: int, col: int,
                                              words: str) -> None:
    assert old in GOOD
    err = error_of(GOOD.replace(old, new, 1))
    assert (err.filename, err.line, err.column) == ("bad.toml", line, col), str(err)
    assert words in err.problem


def test_a_deliberately_broken_line_is_allowed_when_marked() -> None:
    text = GOOD.replace('send = "HELO USC-ISIF.ARPA"', 'send = "HELO"\nbroken = true')
    text = text.replace('reply = "250 BBN-UNIX.ARPA"', 'reply = "501 Syntax error"')
    lesson = parse_lesson(text, "t.toml")
    assert lesson.steps[1].broken


def test_toml_syntax_errors_have_a_position() -> None:
    err = error_of(GOOD.replace('level = "beginner"', 'level = "beginner'))
    assert err.line == 5 and err.column > 1 and "invalid TOML" in err.problem


def test_unknown_placeholder() -> None:
    err = error_of(GOOD.replace('reply = "250 BBN', 'accept = ["HELO {host}"]\nreply = "250 BBN'))
    assert "unknown placeholder {host}" in err.problem and err.line == 20


def test_world_file_must_stay_in_the_lessons_directory(tmp_path: Path) -> None:
    (tmp_path / "inner").mkdir()
    outside = tmp_path / "secret.toml"
    outside.write_text('hostname = "x.test"\n')
    text = GOOD.replace('[world]\nhostname = "BBN-UNIX.ARPA"\npersona = "rfc821"\n', "")
    for ref in ("../secret.toml", str(outside), "~/secret.toml"):
        f = tmp_path / "inner" / "l.toml"
        f.write_text(text.replace('dialect = "rfc821"', f'dialect = "rfc821"\nworld = "{ref}"'))
        with pytest.raises(LessonError) as info:
            load_lesson(f)
        assert "lesson's" in str(info.value) and ":9:" in str(info.value)
    link = tmp_path / "inner" / "link.toml"
    link.symlink_to(outside)
    f.write_text(text.replace('dialect = "rfc821"', 'dialect = "rfc821"\nworld = "link.toml"'))
    with pytest.raises(LessonError, match="outside the lesson's directory"):
        load_lesson(f)


def test_sibling_world_file_errors_point_into_it(tmp_path: Path) -> None:
    text = GOOD.replace('[world]\nhostname = "BBN-UNIX.ARPA"\npersona = "rfc821"\n', "")
    (tmp_path / "w.toml").write_text('hostname = "BBN-UNIX.ARPA"\n\n[mailboxes]\nJones = 3\n')
    f = tmp_path / "l.toml"
    f.write_text(text.replace('dialect = "rfc821"', 'dialect = "rfc821"\nworld = "w.toml"'))
    with pytest.raises(LessonError) as info:
        load(f)
    assert str(info.value).startswith(f"{tmp_path / 'w.toml'}:4:1: mailboxes.Jones")


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(LessonError, match=r":1:1: cannot read"):
        load_lesson(tmp_path / "missing.toml")
    f = tmp_path / "latin1.toml"
    f.write_bytes(GOOD.encode().replace("テスト".encode(), b"\xe9t\xe9"))
    with pytest.raises(LessonError, match=r":3:\d+: not valid UTF-8"):
        load_lesson(f)


# ------------------------------------------------------------------ fuzzing

CATALOGUE = [p.read_text(encoding="utf-8") for p in lesson_files()[:3]] + [GOOD]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A real lesson with one to three lines deleted, duplicated, swapped or rewritten."""
    text = draw(st.sampled_from(CATALOGUE))
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "replace", "insert", "cut"]))
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap" and i + 1 < len(lines):
            lines[i], lines[i + 1] = lines[i + 1], lines[i]
        elif op == "replace":
            lines[i] = draw(st.sampled_from([
                'send = "RCPT TO:<x>"', 'reply = 250', 'say = "x"', "[[step]]", "[world]",
                'data = ["."]', 'server = ["220 a", 3]', 'accept = ["{nope}"]', 'level = []',
                'persona = "nobody"', 'languages = ["en"]', 'match = "all"', 'x = { y = 1 }',
                'send = "TURN"', 'world = "../../etc/passwd.toml"', '"\u202e" = 1']))
        elif op == "insert":
            lines.insert(i, draw(st.text(max_size=30)))
        elif op == "cut" and lines[i]:
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i]) - 1))]
        if not lines:
            lines = [""]
    return "\n".join(lines)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_lessons_never_raise_anything_but_a_located_error(text: str) -> None:
    try:
        parse_lesson(text, "fuzz.toml", Path(__file__).parent, check_world=check_world)
    except LessonError as exc:
        m = ERROR_RE.match(str(exc))
        assert m is not None, str(exc)
        assert int(m.group("line")) >= 1 and int(m.group("col")) >= 1


@settings(max_examples=200)
@given(st.text(max_size=200))
def test_random_text_never_raises_anything_but_a_located_error(text: str) -> None:
    try:
        parse_lesson(text, "fuzz.toml", check_world=check_world)
    except LessonError as exc:
        assert ERROR_RE.match(str(exc)), str(exc)
