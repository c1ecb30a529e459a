"""Replies a script leaves out (issue 11): a script may start with its first command
and write only the replies it cares about; the others are awaited and shown, never
checked, never counted."""

from __future__ import annotations

import pytest

from smtptui.cli import main
from smtptui.core.script import Command, Expect, Message, parse


def implied(text: str) -> list[tuple[int | None, str]]:
    """(line answered, code) of each implied expectation."""
    return [(s.answers, s.code) for s in parse(text, "t.smtp").steps
            if isinstance(s, Expect) and s.implicit]


@pytest.mark.parametrize(("text", "expected"), [
    ("C: HELO x", [(None, "xxx"), (1, "xxx")]),
    ("R: 220 x\nS: HELO y\nS: MAIL FROM:<a>", [(2, "xxx"), (3, "xxx")]),
    ("S: 220 x\nC: QUIT", [(2, "2xx")]),
    ("S: 220 x\nC: MAIL FROM:<a>\nC: RCPT TO:<b>\nS: 250 ok\nC: DATA",
     [(3, "xxx"), (5, "3xx")]),
    ("S: 220 x\nC: MAIL FROM:<a>\nC: STARTTLS\nS: 220 go", [(2, "xxx")]),
])
def test_left_out_replies_are_implied(text: str, expected: list[tuple[int | None, str]]) -> None:
    assert implied(text) == expected


def test_message_data_after_an_implied_354() -> None:
    script = parse("C: EHLO x\nC: MAIL FROM:<a@b>\nC: RCPT TO:<c@d>\nC: DATA\nC: Subject: hi\n"
                   "C:\nC: body\nC: .\nC: QUIT\n", "t.smtp")
    (message,) = [s for s in script.steps if isinstance(s, Message)]
    assert [p.text for p in message.parts] == ["Subject: hi", "", "body"]  # type: ignore[union-attr]
    assert script.expectations == 0
    assert [s.text for s in script.steps if isinstance(s, Command)] == [
        "EHLO x", "MAIL FROM:<a@b>", "RCPT TO:<c@d>", "DATA", "QUIT"]


def test_a_script_without_expectations_runs_and_shows_every_reply(capsys, tmp_path,
                                                                  smtpd) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "short.smtp"
    path.write_text("C: EHLO client.test\nC: MAIL FROM:<a@client.test>\nS: 250\n"
                    "C: RCPT TO:<green@lab.test>\nS: 550\nC: RCPT TO:<alice@lab.test>\n"
                    "C: DATA\nC: Subject: hi\nC:\nC: hello\nC: .\nC: QUIT\n")
    code = main(["run", str(path), smtpd.target, "--starttls", "no"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "2 of 2 expectations met" in out
    assert smtpd.handler.messages[0].rcpt_tos == ["alice@lab.test"]
    assert "S: 220 " in out and "S: 250-" in out and "S: 221 " in out  # shown, unchecked
    assert "MISS" not in out


def test_commands_without_replies_are_not_pipelined() -> None:
    steps = parse("C: EHLO x\nC: MAIL FROM:<a>\nC: RCPT TO:<b>\nC: DATA\nC: hi\nC: .\n",
                  "t.smtp").steps
    kinds = [type(s).__name__ for s in steps[2:]]
    assert kinds == ["Command", "Expect"] * 4 + ["Message", "Expect"]
