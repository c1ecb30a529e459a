"""The .smtp script parser: both notations, replies, data, directives, TURN, every error."""

from __future__ import annotations

import os
import textwrap

import pytest

from smtptui.core.replies import Reply
from smtptui.core.script import (
    Command,
    DataLine,
    Expect,
    ExpectCommand,
    ExpectMessage,
    Include,
    Message,
    Notation,
    ScriptError,
    SendReply,
    Session,
    check_includes,
    load,
    parse,
)


def p(text: str, **kw):
    return parse(textwrap.dedent(text).lstrip("\n"), "t.smtp", **kw)


def kinds(script) -> list[str]:
    return [type(s).__name__ for s in script.steps]


def test_rfc5321_notation_basic_exchange():
    s = p("""
        S: 220 foo.com Simple Mail Transfer Service Ready
        C: EHLO bar.com
        S: 250-foo.com greets bar.com
        S: 250-8BITMIME
        S: 250 HELP
        C: QUIT
        S: 221 foo.com Service closing transmission channel
    """)
    assert s.notation is Notation.RFC5321
    assert s.steps == (
        Session(1, None, "foo.com"),
        Expect(1, ("220 foo.com Simple Mail Transfer Service Ready",), "220", "code", None),
        Command(2, "EHLO bar.com"),
        Expect(3, ("250-foo.com greets bar.com", "250-8BITMIME", "250 HELP"), "250", "code", 2),
        Command(6, "QUIT"),
        Expect(7, ("221 foo.com Service closing transmission channel",), "221", "code", 6),
    )
    assert s.expectations == 3


def test_rfc821_notation_pasted_with_indentation_and_blank_lines():
    s = p("""
                 R: 220 BBN-UNIX.ARPA Simple Mail Transfer Service Ready
                 S: HELO USC-ISIF.ARPA
                 R: 250 BBN-UNIX.ARPA

                 S: MAIL FROM:<Smith@USC-ISIF.ARPA>
                 R: 250 OK
    """)
    assert s.notation is Notation.RFC821
    assert kinds(s) == ["Session", "Expect", "Command", "Expect", "Command", "Expect"]
    assert s.steps[4] == Command(5, "MAIL FROM:<Smith@USC-ISIF.ARPA>")
    assert s.steps[5].answers == 5


def test_data_block_bare_line_comment_char_and_end():
    s = p("""
        S: 220 x
        C: DATA
        S: 354 go
        C: Subject: hi
        C:
        C: # not a comment
        C: .leading dot
        C:   indented
        C: .
        S: 250 OK
    """)
    msg = s.steps[4]
    assert isinstance(msg, Message)
    assert (msg.line, msg.end_line) == (4, 9)
    assert [d.text for d in msg.parts] == ["Subject: hi", "", "# not a comment",
                                           ".leading dot", "  indented"]
    assert s.steps[5] == Expect(10, ("250 OK",), "250", "code", 9)


def test_rfc821_end_of_data_written_as_crlf_dot_crlf():
    s = p("""
        R: 220 x
        S: DATA
        R: 354 Start mail input; end with <CRLF>.<CRLF>
        S: Blah blah blah...
        S: <CRLF>.<CRLF>
        R: 250 OK
    """)
    assert isinstance(s.steps[4], Message)
    assert s.steps[4].parts == (DataLine(4, "Blah blah blah..."),)


def test_data_refused_in_script_means_no_data_mode():
    s = p("""
        S: 220 x
        C: DATA
        S: 503 need RCPT
        C: QUIT
        S: 221 bye
    """)
    assert kinds(s)[3:] == ["Expect", "Command", "Expect"]


def test_comments_blank_lines_and_shebang():
    s = p("""
        #!/usr/bin/env -S smtptui run
        # a comment
          # an indented comment

        S: 220 x  # this is reply text, not a comment
    """)
    assert s.steps[1].lines == ("220 x  # this is reply text, not a comment",)


def test_include_directive_resolved_against_script_dir(tmp_path):
    s = p("""
        S: 220 x
        C: DATA
        S: 354 go
        C: Subject: big
        C:
        #!include body.txt
        #!include /abs/other.eml
        C: .
        S: 250 OK
    """, base_dir=str(tmp_path))
    msg = s.steps[4]
    assert msg.parts[2] == Include(6, str(tmp_path / "body.txt"), "body.txt")
    assert msg.parts[3] == Include(7, "/abs/other.eml", "/abs/other.eml")
    assert s.includes == (msg.parts[2], msg.parts[3])


def test_load_and_check_includes(tmp_path):
    script = tmp_path / "s.smtp"
    script.write_text("S: 220 x\nC: DATA\nS: 354 go\n#!include missing.txt\nC: .\nS: 250 ok\n")
    s = load(str(script))
    assert s.base_dir == str(tmp_path)
    with pytest.raises(ScriptError) as e:
        check_includes(s)
    assert str(e.value) == f"{script}:4: no such file: 'missing.txt'"
    (tmp_path / "missing.txt").write_bytes(b"hello\n")
    check_includes(s)


def test_load_errors(tmp_path):
    with pytest.raises(ScriptError) as e:
        load(str(tmp_path / "nope.smtp"))
    assert str(e.value).startswith(f"{tmp_path / 'nope.smtp'}: cannot read the script:")
    bad = tmp_path / "bad.smtp"
    bad.write_bytes(b"S: 220 x\nC: HELO \xff\n")
    with pytest.raises(ScriptError) as e:
        load(str(bad))
    assert str(e.value) == f"{bad}:2: the script is not valid UTF-8"


def test_wrapped_command_and_folded_header_as_rfc821_prints_them():
    s = p("""
                    R: 220 USC-ISIE.ARPA Simple Mail Transfer Service Ready
                    S: RCPT
                        TO:<@USC-ISIE.ARPA,@USC-ISIF.ARPA:Q-Smith@ISI-VAXA.ARPA>
                    R: 250 OK
                    S: DATA
                    R: 354 Start mail input; end with <CRLF>.<CRLF>
                    S: Received: from MIT-AI.ARPA by USC-ISIE.ARPA ;
                       2 Nov 81 22:40:10 UT
                    S: .
                    R: 250 OK
    """)
    assert s.steps[2] == Command(2, "RCPT TO:<@USC-ISIE.ARPA,@USC-ISIF.ARPA:Q-Smith@ISI-VAXA.ARPA>")
    msg = s.steps[6]
    assert msg.parts[1].text.startswith(" ") and msg.parts[1].text.strip() == "2 Nov 81 22:40:10 UT"


def test_new_session_after_quit_and_explicit_session():
    s = p("""
        R: 220 MIT-AI.ARPA Simple Mail Transfer Service Ready
        S: QUIT
        R: 221 MIT-AI.ARPA Service closing transmission channel
        R: 220 MIT-MC.ARPA Simple Mail Transfer Service Ready
        S: QUIT
        R: 221 bye
        #!session USC-ISIE.ARPA
        R: 220 relay ready
        S: NOOP
        R: 250 OK
    """)
    sessions = s.sessions
    assert [(x.line, x.name, x.host_hint) for x in sessions] == [
        (1, None, "MIT-AI.ARPA"), (4, None, "MIT-MC.ARPA"), (7, "USC-ISIE.ARPA", "USC-ISIE.ARPA")
    ]


def test_session_directive_at_top_names_the_first_session():
    s = p("""
        #!session BBN-UNIX.ARPA
        S: 220 x
    """)
    assert s.steps[0] == Session(1, "BBN-UNIX.ARPA", "x")


def test_pipelined_group():
    s = p("""
        S: 220 x
        C: MAIL FROM:<a@b>
        C: RCPT TO:<c@d>
        C: DATA
        S: 250 sender ok
        S: 250 rcpt ok
        S: 354 go
        C: .
        S: 250 ok
    """)
    assert [x.answers for x in s.steps if isinstance(x, Expect)] == [None, 2, 3, 4, 8]
    assert isinstance(s.steps[8], Message)


def test_match_directive_and_wildcards():
    s = p("""
        S: 2xx x
        #!match text
        C: NOOP
        S: 250 2.0.0 OK
        #!match code
        C: NOOP
        S: 250 whatever
    """)
    greet, strict, loose = [x for x in s.steps if isinstance(x, Expect)]
    assert greet.code == "2xx" and greet.matches(Reply(220, ("hi",), b""))
    assert not greet.matches(Reply(421, ("bye",), b""))
    assert not greet.matches(Reply(None, ("garbage",), b""))
    assert strict.match == "text"
    assert strict.matches(Reply(250, ("2.0.0 OK  ",), b""))
    assert not strict.matches(Reply(250, ("2.0.0 Ok",), b""))
    assert not strict.matches(Reply(250, ("2.0.0 OK", "more"), b""))
    assert loose.matches(Reply(250, ("a", "b"), b""))
    assert not loose.matches(Reply(251, ("whatever",), b""))


TURN_5321 = """
    S: 220 BBN-UNIX.ARPA ready
    C: HELO USC-ISIF.ARPA
    S: 250 BBN-UNIX.ARPA
    C: TURN
    S: 250 OK
    C: 220 USC-ISIF.ARPA Simple Mail Transfer Service Ready
    S: HELO BBN-UNIX.ARPA
    C: 250 USC-ISIF.ARPA
    S: MAIL FROM:<Jones@BBN-UNIX.ARPA>
    C: 250 OK
    S: RCPT TO:<Smith@USC-ISIF.ARPA>
    C: 250 OK
    S: DATA
    C: 354 Start mail input; end with <CRLF>.<CRLF>
    S: Hello Smith
    S:
    S: .
    C: 250 OK
    S: QUIT
    C: 221 USC-ISIF.ARPA Service closing transmission channel
"""



def _to_821(text: str) -> str:
    """Before TURN's 250: C:->S: (sender, us), S:->R:. After it R: is us (receiver)."""
    out, turned = [], False
    for line in textwrap.dedent(text).strip().splitlines():
        letter, body = line[0], line[2:]
        ours = letter == "C"
        out.append(("R:" if turned else "S:") + body if ours else
                   ("S:" if turned else "R:") + body)
        if line == "S: 250 OK" and out[-2] == "S: TURN":
            turned = True
    return "\n".join(out)


TURN_821 = _to_821(TURN_5321)


@pytest.mark.parametrize("text", [TURN_5321, TURN_821], ids=["rfc5321", "rfc821"])
def test_turn_swaps_roles(text):
    # RFC 5321 notation: C: stays us, S: the remote. RFC 821 notation: before TURN S: is
    # us (the sender), after it R: is us (now the receiver) -- the same exchange.
    s = p(text)
    tail = s.steps[6:]
    assert tail == (
        SendReply(6, ("220 USC-ISIF.ARPA Simple Mail Transfer Service Ready",), None),
        ExpectCommand(7, "HELO BBN-UNIX.ARPA"),
        SendReply(8, ("250 USC-ISIF.ARPA",), 7),
        ExpectCommand(9, "MAIL FROM:<Jones@BBN-UNIX.ARPA>"),
        SendReply(10, ("250 OK",), 9),
        ExpectCommand(11, "RCPT TO:<Smith@USC-ISIF.ARPA>"),
        SendReply(12, ("250 OK",), 11),
        ExpectCommand(13, "DATA"),
        SendReply(14, ("354 Start mail input; end with <CRLF>.<CRLF>",), 13),
        ExpectMessage(15, 17, ("Hello Smith", "")),
        SendReply(18, ("250 OK",), 17),
        ExpectCommand(19, "QUIT"),
        SendReply(20, ("221 USC-ISIF.ARPA Service closing transmission channel",), 19),
    )


def test_turn_refused_keeps_roles():
    s = p("""
        S: 220 x
        C: TURN
        S: 502 Command not implemented
        C: QUIT
        S: 221 bye
    """)
    assert kinds(s) == ["Session", "Expect", "Command", "Expect", "Command", "Expect"]


def test_turn_back_and_remote_greets_again():
    s = p("""
        S: 220 x
        C: TURN
        S: 250 OK
        C: 220 me
        S: TURN
        C: 250 OK
        S: 220 x again
        C: QUIT
        S: 221 bye
    """)
    assert kinds(s)[4:] == ["SendReply", "ExpectCommand", "SendReply", "Expect", "Command",
                            "Expect"]
    assert s.steps[7].is_greeting


def test_expect_command_matching():
    loose = ExpectCommand(1, "MAIL FROM:<a@b>")
    assert loose.matches("mail FROM:<other@b>") and not loose.matches("RCPT TO:<a@b>")
    strict = ExpectCommand(1, "MAIL FROM:<a@b>", "text")
    assert strict.matches("mail FROM:<a@b>") and not strict.matches("MAIL FROM:<x@b>")
    assert ExpectMessage(1, 2, ("a",)).matches(["b"])
    assert not ExpectMessage(1, 2, ("a",), "text").matches(["b"])


# Scripts that were errors before replies could be left out (issue 11) are in
# test_script_implied.py.
ERRORS = [
    ("S: 220 x\nC: TURN\nC: HELO y",
     ("t.smtp:2: expected a reply line 'S: NNN ...' after the command on line 2, found no "
      "reply (TURN's decides who speaks next)")),
    ("S: 220 x\nC: DATA\nC: Subject: oops",
     ("t.smtp:3: the message data started on line 3 never ends: write 'C: .' after its last "
      "line")),
    ("R: 220 x\nS: RCPT TO:<Jones@USC-ISI.ARPA>\nR: OK",
     "t.smtp:3: expected a reply 'R: NNN text' (a three-digit code), got 'OK'"),
    ("S: 220 x\nC: EXPN list\nS: 250-a\nS: 251 b",
     "t.smtp:4: the multi-line reply started on line 3 with code 250 continues with 251"),
    ("S: 220 x\nC: EXPN list\nS: 250-a\nC: QUIT",
     ("t.smtp:4: the multi-line reply started on line 3 is not finished: its last line must "
     "be '250 text' (a space after the code, not '-')")),
    ("S: 220 x\nC: EXPN list\nS: 250-a",
     ("t.smtp:3: the multi-line reply started on line 3 is not finished (end of file): its "
     "last line must be '250 text'")),
    ("S: 220 x\nS: 250 y",
     ("t.smtp:2: reply with no command waiting for it (every command so far has its reply); "
     "write the command as 'C: ...' before it")),
    ("S: 220 x\nStep 1 -- Source Host to Relay Host",
     ("t.smtp:2: expected 'C: ...' (sent) or 'S: ...' (expected), a '#' comment or a blank "
     "line; got 'Step 1 -- Source Host to Relay Host'")),
    ("R: 220 x\nC: HELO y",
     ("t.smtp:2: 'C:' line in an RFC 821 notation script (it has 'R:' lines): write the "
     "sender's lines as 'S:' and the receiver's as 'R:'")),
    ("S: 220 x\n#!includ body", ("t.smtp:2: unknown directive '#!includ' (known: #!include, "
     "#!session, #!match; a plain comment is '# ...')")),
    ("S: 220 x\n#!include body",
     ("t.smtp:2: '#!include' adds message data: it belongs between the 354 reply to "
     "'C: DATA' and 'C: .'")),
    ("S: 220 x\nC: DATA\nS: 354 go\n#!include", "t.smtp:4: '#!include' needs a file path"),
    ("S: 220 x\n#!match exact", "t.smtp:2: '#!match' takes 'code' or 'text', not 'exact'"),
    ("S: 220 x\nC: DATA\nS: 354 go\nC: hello",
     ("t.smtp:4: the message data started on line 4 never ends: write 'C: .' after its last "
     "line")),
    ("S: 220 x\nC: DATA\nS: 354 go\nC: hello\nS: 250 ok",
     ("t.smtp:5: the message data started on line 4 is not finished: end it with 'C: .' "
     "before the reply")),
    ("S: 220 x\nC: DATA\nS: 354 go\nC: hello\n#!session", ("t.smtp:5: '#!session' inside "
     "message data (started on line 4)")),
    ("S: 220 x\nC: QUIT\nS: 221 bye\nC: NOOP",
     ("t.smtp:4: the session ended with QUIT (line 2); a new session starts with its greeting "
     "'S: 220 ...' or a '#!session' line")),
    ("S: 220 x\nC: TURN\nS: 250 OK\nS: HELO remote",
     ("t.smtp:4: after TURN and its 250 we are the receiver: we send our greeting "
     "'C: 220 ...' first (RFC 821 §4.1.1)")),
    ("S: 220 x\nC: TURN\nS: 250 OK", ("t.smtp:3: after TURN we must send our greeting "
     "'C: 220 ...' (end of file)")),
    ("S: 220 x\nC: TURN\nS: 250 OK\nC: 220 me\nS: HELO r\nC: OK",
     ("t.smtp:6: after TURN our lines are replies: expected 'C: NNN text' (a three-digit "
     "code), got 'OK'")),
    ("S: 220 x\nC: TURN\nS: 250 OK\nC: 220 me\nC: 250 extra",
     ("t.smtp:5: reply with no command from the remote waiting for it; after TURN the "
     "remote's commands are written 'S: ...'")),
    ("S: 220 x\nC: TURN\nS: 250 OK\nC: 220 me\nS: HELO r",
     ("t.smtp:5: expected our reply 'C: NNN ...' to the remote's command on line 5, found "
     "the end of the file")),
    ("S: 220 x\nC: TURN\nS: 250 OK\nC: 220 me\nS: DATA\nC: 354 go\nS: hi\nC: 250 ok",
     ("t.smtp:8: the remote's message data started on line 7 is not finished: it ends with "
     "'S: .' before our reply")),
    ("S: 220 x\nC: TURN\nS: 250 OK\nC: 220 me\nS: DATA\nC: 354 go\n#!include f",
     ("t.smtp:7: '#!include' adds message data: it belongs between the 354 reply to "
     "'C: DATA' and 'C: .'")),
    ("# only a comment\n", ("t.smtp: no exchange in the script (expected 'S: 220 ...' "
     "greeting and 'C: ...' lines)")),
    ("S: 220 x\n#!session other", "t.smtp:2: a session with no exchange"),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_errors_name_file_line_and_problem(text, message):
    with pytest.raises(ScriptError) as e:
        parse(text, "t.smtp")
    assert str(e.value) == message


def test_crlf_script_file(tmp_path):
    f = tmp_path / "crlf.smtp"
    f.write_bytes(b"S: 220 x\r\nC: DATA\r\nS: 354 go\r\nC: a\r\nC:\r\nC: .\r\nS: 250 ok\r\n")
    s = load(str(f))
    assert [d.text for d in s.steps[4].parts] == ["a", ""]


def test_example_scripts_in_repository_parse():
    here = os.path.join(os.path.dirname(__file__), "scripts")
    names = [n for n in os.listdir(here) if n.endswith(".smtp")]
    assert names
    for name in names:
        s = load(os.path.join(here, name))
        check_includes(s)


# -- BDAT (RFC 3030): the chunk is written on the lines after the command ------------------

def test_bdat_chunks_are_collected_by_octets() -> None:
    from smtptui.core.script import Chunk

    s = parse("S: 220 x\nC: EHLO a\nS: 250\nC: MAIL FROM:<a@b.c>\nS: 250\nC: RCPT TO:<d@e.f>\n"
              "S: 250\nC: BDAT 12\nC: Subject: x\nS: 250\nC: BDAT 6 LAST\nC: body\nS: 250\n"
              "C: BDAT 0 LAST\nS: 250\n")
    chunks = [st for st in s.steps if isinstance(st, Chunk)]
    assert [(c.size, c.last, c.data()) for c in chunks] == [
        (12, False, b"Subject: x\r\n"), (6, True, b"body\r\n"), (0, True, b"")]
    assert chunks[0].text == "BDAT 12" and chunks[1].line == 11


@pytest.mark.parametrize(("text", "problem"), [
    ("C: BDAT 5 LAST\nC: too long\n", "add up to 10 by this line"),
    ("C: BDAT 40 LAST\nC: short\nS: 250\n", "is 40 octets; its lines so far add up to 7"),
    ("C: BDAT many\n", "expected 'BDAT <size>'"),
    ("C: BDAT 40 LAST\nC: never ends\n", "is 40 octets"),
])
def test_bdat_errors_name_the_line(text: str, problem: str) -> None:
    head = "S: 220 x\nC: EHLO a\nS: 250\nC: MAIL FROM:<a@b.c>\nS: 250\nC: RCPT TO:<d@e.f>\nS: 250\n"
    with pytest.raises(ScriptError) as info:
        parse(head + text, "t.smtp")
    assert problem in str(info.value) and str(info.value).startswith("t.smtp:")
