"""The pure lesson engine: verdicts, outcomes, hints, navigation, language, summary."""

from __future__ import annotations

import textwrap

import pytest

from smtptui.teaching.engine import LessonEngine, VerdictKind
from smtptui.teaching.loader import parse_lesson

LESSON = textwrap.dedent('''
    [lesson]
    id = "t"
    title = { en = "Test", ja = "テスト" }
    summary = { en = "s", ja = "要約" }
    level = "beginner"
    rfcs = ["RFC 821 §3.1"]
    languages = ["en", "ja"]
    dialect = "rfc821"

    [[step]]
    server = "220 BBN-UNIX.ARPA Simple Mail Transfer Service Ready"
    say = { en = "Watch the greeting.", ja = "挨拶を見ます。" }
    explain = { en = "220 is ready.", ja = "220 は準備完了。" }

    [[step]]
    send = "HELO USC-ISIF.ARPA"
    accept = ["HELO {domain}"]
    reply = "250 BBN-UNIX.ARPA"
    say = { en = "Say HELO.", ja = "HELO します。" }
    hint = { en = "HELO and your name.", ja = "HELO と自分の名前。" }

    [[step]]
    send = "MAIL FROM:<Smith@USC-ISIF.ARPA>"
    reply = "250 OK"
    say = { en = "Start a mail.", ja = "メールを始めます。" }

    [[step]]
    send = "DATA"
    reply = "354 Start mail input; end with <CRLF>.<CRLF>"
    say = { en = "Data.", ja = "データ。" }

    [[step]]
    data = ["Blah blah blah...", "...etc. etc. etc."]
    reply = "250 OK"
    say = { en = "The message.", ja = "本文。" }

    [[step]]
    send = "TURN"
    reply = "250 OK"
    say = { en = "Turn.", ja = "役割交代。" }

    [[step]]
    send = "220 USC-ISIF.ARPA Simple Mail Transfer Service Ready"
    accept = ["220 {text}"]
    say = { en = "Greet.", ja = "挨拶します。" }

    [[step]]
    server = "HELO BBN-UNIX.ARPA"
    send = "250 USC-ISIF.ARPA"
    say = { en = "Answer HELO.", ja = "HELO に答えます。" }
''')


@pytest.fixture
def engine() -> LessonEngine:
    return LessonEngine(parse_lesson(LESSON, "t.toml"), "en")


def to_mail_step(e: LessonEngine) -> None:
    e.reply_received(220, ["BBN-UNIX.ARPA Simple Mail Transfer Service Ready"])
    assert e.judge("HELO USC-ISIF.ARPA").may_send
    e.reply_received(250, ["BBN-UNIX.ARPA"])


def test_greeting_step_waits_for_the_server(engine: LessonEngine) -> None:
    assert engine.current is not None and engine.current.kind == "greeting"
    v = engine.judge("HELO x.y.z")
    assert v.kind is VerdictKind.WAIT and not v.may_send
    assert engine.demo_line() is None
    out = engine.reply_received(220, ["BBN-UNIX.ARPA Simple Mail Transfer Service Ready"])
    assert out.met and out.explanation == "220 is ready." and out.step == 1
    assert engine.progress() == (2, 8)


def test_exact_line_and_pattern_pass(engine: LessonEngine) -> None:
    engine.reply_received(220, ["BBN-UNIX.ARPA Simple Mail Transfer Service Ready"])
    v = engine.judge("HELO MY-HOST.ARPA")
    assert v.kind is VerdictKind.OK and v.may_send
    assert engine.awaiting_reply
    assert engine.judge("HELO again.arpa").kind is VerdictKind.WAIT


def test_grammar_is_judged_before_the_step(engine: LessonEngine) -> None:
    to_mail_step(engine)
    v = engine.judge("MAIL FROM: <Smith@USC-ISIF.ARPA>")
    assert v.kind is VerdictKind.GRAMMAR and not v.may_send
    assert "FROM:" in v.message and "RFC 821" in v.message
    assert v.diagnostics and v.diagnostics[0].is_error


def test_wrong_verb_and_wrong_argument(engine: LessonEngine) -> None:
    to_mail_step(engine)
    v = engine.judge("RCPT TO:<Jones@BBN-UNIX.ARPA>")
    assert v.kind is VerdictKind.WRONG_VERB and "MAIL" in v.message and not v.may_send
    v = engine.judge("MAIL FROM:<Jones@USC-ISIF.ARPA>")
    assert v.kind is VerdictKind.WRONG_ARGUMENT and "MAIL FROM:<Smith@USC-ISIF.ARPA>" in v.message
    assert [m.kind for m in engine.summary().mistakes] == [VerdictKind.WRONG_VERB,
                                                           VerdictKind.WRONG_ARGUMENT]


def test_case_does_not_matter(engine: LessonEngine) -> None:
    to_mail_step(engine)
    assert engine.judge("mail from:<smith@usc-isif.arpa>").kind is VerdictKind.OK


def test_right_idea_in_rfc5321_a_warning_not_an_error() -> None:
    lesson = parse_lesson(LESSON.replace('dialect = "rfc821"', 'dialect = "rfc5321"'), "t.toml")
    e = LessonEngine(lesson, "en")
    to_mail_step(e)
    v = e.judge("MAIL FROM: <Smith@USC-ISIF.ARPA>")
    assert v.kind is VerdictKind.RIGHT_IDEA and v.may_send
    assert v.diagnostics and not v.diagnostics[0].is_error


def test_front_end_diagnostics_are_used_when_given(engine: LessonEngine) -> None:
    to_mail_step(engine)
    # No findings from the front end's checker: the line is only judged against the step.
    assert engine.judge("MAIL FROM: <Smith@USC-ISIF.ARPA>", []).kind is VerdictKind.RIGHT_IDEA


def test_reply_outcome_missed(engine: LessonEngine) -> None:
    to_mail_step(engine)
    engine.judge("MAIL FROM:<Smith@USC-ISIF.ARPA>")
    out = engine.reply_received(451, ["Local error"])
    assert not out.met and "451 Local error" in out.message and "250 OK" in out.message
    assert engine.summary().mistakes[-1].kind is None


def test_text_is_compared_only_when_asked(engine: LessonEngine) -> None:
    to_mail_step(engine)
    engine.judge("MAIL FROM:<Smith@USC-ISIF.ARPA>")
    assert engine.reply_received(250, ["Sender ok"]).met  # match = "code" (the default)


def test_data_step_lines_then_dot(engine: LessonEngine) -> None:
    to_mail_step(engine)
    engine.judge("MAIL FROM:<Smith@USC-ISIF.ARPA>")
    engine.reply_received(250, ["OK"])
    engine.judge("DATA")
    engine.reply_received(354, ["Start mail input; end with <CRLF>.<CRLF>"])
    assert engine.current is not None and engine.current.kind == "data"
    typed = []
    while (line := engine.demo_line()) is not None:
        assert engine.judge(line).may_send
        typed.append(line)
    assert typed == ["Blah blah blah...", "...etc. etc. etc.", "."]
    assert engine.reply_received(250, ["OK"]).met


def play_to_turn(e: LessonEngine) -> None:
    replies = {"greeting": (220, ["BBN-UNIX.ARPA Simple Mail Transfer Service Ready"])}
    codes = {"HELO": (250, ["BBN-UNIX.ARPA"]), "MAIL": (250, ["OK"]),
             "DATA": (354, ["go"]), "TURN": (250, ["OK"])}
    while e.current is not None and e.current.kind in ("greeting", "command", "data"):
        step = e.current
        if step.kind == "greeting":
            e.reply_received(*replies["greeting"])
            continue
        while (line := e.demo_line()) is not None:
            assert e.judge(line).may_send
        e.reply_received(*(codes.get(step.verb) or (250, ["OK"])))


def test_after_turn_the_learner_replies(engine: LessonEngine) -> None:
    play_to_turn(engine)
    step = engine.current
    assert step is not None and step.kind == "turn-greeting"
    assert engine.judge("HELO me.arpa").kind is VerdictKind.GRAMMAR  # not a reply
    v = engine.judge("220 USC-ISIF.ARPA ready")
    assert v.kind is VerdictKind.OK and v.may_send
    assert engine.our_reply_sent().met
    assert engine.current is not None and engine.current.kind == "answer"
    assert engine.judge("250 USC-ISIF.ARPA").kind is VerdictKind.WAIT  # the remote first
    assert engine.remote_sent(["HELO BBN-UNIX.ARPA"]).met
    assert engine.judge("550 no").kind is VerdictKind.WRONG_ARGUMENT
    assert engine.demo_line() == "250 USC-ISIF.ARPA"
    assert engine.judge("250 USC-ISIF.ARPA").kind is VerdictKind.OK
    out = engine.our_reply_sent()
    assert out.met and out.finished and engine.finished


def test_hint_then_reveal(engine: LessonEngine) -> None:
    engine.reply_received(220, ["BBN-UNIX.ARPA Simple Mail Transfer Service Ready"])
    assert engine.hint() == "HELO and your name."
    assert engine.hint() == "Type: HELO USC-ISIF.ARPA"
    engine.judge("HELO USC-ISIF.ARPA")
    engine.reply_received(250, ["BBN-UNIX.ARPA"])
    assert "MAIL" in engine.hint()  # derived from the step: no hint written
    s = engine.summary()
    assert (s.hints, s.reveals) == (2, 1)


def test_back_and_restart(engine: LessonEngine) -> None:
    to_mail_step(engine)
    assert engine.progress()[0] == 3
    engine.back()
    assert engine.progress()[0] == 2 and not engine.awaiting_reply
    engine.restart()
    assert engine.progress()[0] == 1 and engine.current.kind == "greeting"  # type: ignore[union-attr]


def test_switching_language_keeps_progress(engine: LessonEngine) -> None:
    to_mail_step(engine)
    assert engine.narration() == "Start a mail."
    engine.set_lang("ja")
    assert engine.narration() == "メールを始めます。" and engine.progress()[0] == 3
    assert engine.progress_text() == "ステップ 3 / 8"
    v = engine.judge("RCPT TO:<a@bbb.arpa>")
    assert "MAIL" in v.message and "コマンド" in v.message
    with pytest.raises(ValueError):
        engine.set_lang("fr")


def test_summary_lists_what_was_covered(engine: LessonEngine) -> None:
    to_mail_step(engine)
    engine.judge("NOOP")
    s = engine.summary()
    assert s.covered == ("Watch the greeting.", "Say HELO.")
    assert (s.steps_done, s.steps_total) == (2, 8)
    assert s.rfcs == ("RFC 821 §3.1",) and len(s.mistakes) == 1 and s.title == "Test"


def test_finished_engine_refuses_politely(engine: LessonEngine) -> None:
    play_to_turn(engine)
    engine.judge("220 USC-ISIF.ARPA hi")
    engine.our_reply_sent()
    engine.remote_sent(["HELO BBN-UNIX.ARPA"])
    engine.judge("250 ok")
    engine.our_reply_sent()
    assert engine.finished and engine.demo_line() is None
    assert engine.judge("QUIT").kind is VerdictKind.WAIT
    assert engine.reply_received(250, ["OK"]).finished
