"""Every command, persona and world rule, over a real socket (raw lines, exact codes)."""

from __future__ import annotations

import asyncio
import base64
import ssl

import pytest

from smtptui.server.personas import PERSONAS

SU_SCORE = """\
hostname = "SU-SCORE.ARPA"
persona = "rfc821"
logged_in = ["Admin.MRC"]
max_recipients = 2

[mailboxes]
"Admin.MRC" = "Mark Crispin"
Smith = "John Smith"
Smyth = "John Smyth"
Green = "Bob Green"

[lists]
staff = ["Admin.MRC", "Green", "<x@elsewhere.test>"]

[forwards]
fred = { to = "Jones@USC-ISI.ARPA", mode = "will-forward" }
moved = { to = "gone@USC-ISI.ARPA", mode = "please-try" }

[hosts."USC-ISI.ARPA"]
mailboxes = { Jones = "Jones" }
"""


def world(persona: str, extra: str = "") -> str:
    """SU-SCORE as ``persona``; ``extra`` top-level keys first, then any [tables]."""
    top, _, tables = extra.partition("\n[")
    text = SU_SCORE.replace('persona = "rfc821"', f'persona = "{persona}"' + top, 1)
    return text + ("\n[" + tables + "\n" if tables else "")


async def transaction(c, sender="<EAK@MIT-MC.ARPA>", rcpts=("<Green@SU-SCORE.ARPA>",),
                      body=b"Subject: t\r\n\r\nhello\r\n", verb="MAIL"):
    assert await c.code(f"{verb} FROM:{sender}") == 250
    for r in rcpts:
        assert (await c.code(f"RCPT TO:{r}")) in (250, 251)
    assert await c.code("DATA") == 354
    await c.send_raw(body + b".\r\n")
    return await c.reply()


# ----------------------------------------------------------------------------- personas

async def test_rfc821_persona_words_replies_as_the_rfc(lab):
    s = await lab(world("rfc821"))
    c, greeting = await s.connect()
    assert greeting == ["220 SU-SCORE.ARPA Simple Mail Transfer Service Ready"]
    assert await c.cmd("EHLO MIT-MC.ARPA") == ["500 Syntax error, command unrecognized"]
    assert await c.cmd("HELO MIT-MC.ARPA") == ["250 SU-SCORE.ARPA"]
    assert await c.cmd("MAIL FROM:<EAK@MIT-MC.ARPA>") == ["250 OK"]
    assert await c.cmd("RCPT TO:<Nobody@SU-SCORE.ARPA>") == ["550 No such user here"]
    assert await c.cmd("RCPT TO:<Green@SU-SCORE.ARPA>") == ["250 OK"]
    assert await c.cmd("DATA") == ["354 Start mail input; end with <CRLF>.<CRLF>"]
    await c.send_raw(b"Blah\r\n.\r\n")
    assert await c.reply() == ["250 OK"]
    assert await c.cmd("NOOP") == ["250 OK"]
    assert await c.cmd("RSET") == ["250 OK"]
    assert await c.cmd("QUIT") == ["221 SU-SCORE.ARPA Service closing transmission channel"]


async def test_rfc821_minimal_answers_502_to_the_optional_commands(lab):
    s = await lab(world("rfc821-minimal"))
    c, _ = await s.connect()
    assert await c.code("HELO xyz.test") == 250
    for line in ("VRFY Smith", "EXPN staff", "HELP", "SEND FROM:<a@abc.test>",
                 "SOML FROM:<a@abc.test>", "SAML FROM:<a@abc.test>", "TURN"):
        assert await c.cmd(line) == ["502 Command not implemented"], line
    assert await c.code("EHLO xyz.test") == 500
    assert await c.code("STARTTLS") == 500
    await transaction(c)
    assert await c.code("QUIT") == 221


async def test_sendmail_persona_matches_the_seed_lecture(lab):
    s = await lab(world("sendmail-8.9"))
    c, greeting = await s.connect()
    assert greeting[0].startswith("220 SU-SCORE.ARPA ESMTP Sendmail 8.9.3/8.9.3; ")
    ehlo = await c.cmd("EHLO ace.test")
    assert ehlo[0] == "250-SU-SCORE.ARPA Hello ace.test [127.0.0.1], pleased to meet you"
    assert [line[4:] for line in ehlo[1:]] == [
        "EXPN", "VERB", "8BITMIME", "SIZE 10485760", "DSN", "ONEX", "ETRN", "XUSR", "HELP"]
    assert await c.cmd("EHLO again.test") == ["503 SU-SCORE.ARPA Duplicate HELO/EHLO"]
    assert await c.cmd("RCPT TO:<Green@SU-SCORE.ARPA>") == ["503 Need MAIL before RCPT"]
    assert await c.cmd("MAIL FROM:<hatano@swlab.test> SIZE=19") == [
        "250 <hatano@swlab.test>... Sender ok"]
    assert await c.cmd("RCPT TO:<nobody@SU-SCORE.ARPA>") == [
        "550 <nobody@SU-SCORE.ARPA>... User unknown"]
    assert await c.cmd("RCPT TO:<Green@SU-SCORE.ARPA>") == [
        "250 <Green@SU-SCORE.ARPA>... Recipient ok"]
    assert await c.cmd("DATA") == ['354 Enter mail, end with "." on a line by itself']
    await c.send_raw(b"this is SMTP test.\r\n.\r\n")
    reply = await c.reply()
    assert reply[0].startswith("250 ") and reply[0].endswith(" Message accepted for delivery")
    assert await c.cmd("VERB") == ["250 Verbose mode"]
    assert await c.cmd("ONEX") == ["250 Only one transaction"]
    assert await c.cmd("XUSR") == ["250 Initial submission"]
    assert await c.cmd("ETRN lab.test") == ["250 Queuing for node lab.test started"]
    assert await c.cmd("SEND FROM:<a@abc.test>") == ["502 Command not implemented"]
    assert await c.cmd("QUIT") == ["221 SU-SCORE.ARPA closing connection"]


async def test_rfc5321_persona(lab):
    s = await lab(world("rfc5321"))
    c, greeting = await s.connect()
    assert greeting[0].startswith("220 SU-SCORE.ARPA ")
    ehlo = await c.cmd("EHLO client.test")
    assert ehlo[0] == "250-SU-SCORE.ARPA greets client.test"
    assert [x[4:] for x in ehlo[1:]] == ["8BITMIME", "SIZE 10485760", "EXPN", "HELP"]
    assert await c.code("TURN") == 502
    assert await c.code("SOML FROM:<a@abc.test>") == 502
    await transaction(c)


async def test_modern_persona_uses_enhanced_status_codes(lab):
    s = await lab(world("modern"))
    c, greeting = await s.connect()
    assert "ESMTP" in greeting[0]
    ehlo = await c.cmd("EHLO client.test")
    words = [x[4:] for x in ehlo[1:]]
    assert words[:6] == ["PIPELINING", "SIZE 10485760", "8BITMIME", "SMTPUTF8",
                         "ENHANCEDSTATUSCODES", "DSN"]
    assert "STARTTLS" in words and not any(w.startswith("AUTH") for w in words)
    assert (await c.cmd("MAIL FROM:<a@abc.test>"))[0].startswith("250 2.1.0 ")
    assert (await c.cmd("RCPT TO:<nobody@SU-SCORE.ARPA>"))[0].startswith("550 5.1.1 ")
    assert (await c.cmd("RCPT TO:<x@evil.example>"))[0].startswith("550 5.7.1 ")
    assert (await c.cmd("RCPT TO:<Green@SU-SCORE.ARPA>"))[0].startswith("250 2.1.5 ")
    assert (await c.cmd("DATA"))[0].startswith("354 ")
    await c.send_raw(b"x\r\n.\r\n")
    assert (await c.reply())[0].startswith("250 2.0.0 Ok: queued as ")
    assert await c.cmd("QUIT") == ["221 2.0.0 Bye"]


async def test_world_banner_and_extensions_override_the_persona(lab):
    s = await lab(world("rfc821", '\nbanner = "Hi there"\nextensions = ["8BITMIME", "HELP"]'))
    c, greeting = await s.connect()
    assert greeting == ["220 SU-SCORE.ARPA Hi there"]
    assert await c.cmd("EHLO xyz.test") == ["250-SU-SCORE.ARPA", "250-8BITMIME", "250 HELP"]


def test_every_persona_has_every_text():
    keys = set(PERSONAS["rfc821"].texts)
    for p in PERSONAS.values():
        assert set(p.texts) == keys, p.name


# ----------------------------------------------------------------------------- sequence

async def test_sequence_and_syntax_errors(lab):
    s = await lab(world("rfc5321"))
    c, _ = await s.connect()
    assert await c.code("MAIL FROM:<a@abc.test>") == 503  # no HELO yet
    assert await c.code("HELO") == 501
    assert await c.code("HELO xyz.test") == 250
    assert await c.code("RCPT TO:<Green@SU-SCORE.ARPA>") == 503
    assert await c.code("DATA") == 503
    assert await c.code("MAIL FROM:a@abc.test") == 501       # no angle brackets
    assert await c.code("MAIL TO:<a@abc.test>") == 501
    assert await c.code("MAIL FROM:<a@abc.test> SIZE=10") == 501  # parameters need EHLO
    assert await c.code("MAIL FROM:<>") == 250              # the null reverse-path
    assert await c.code("MAIL FROM:<a@abc.test>") == 503      # nested MAIL
    assert await c.code("RCPT TO:<>") == 501
    assert await c.code("DATA") == 503                      # no recipient yet
    assert await c.code("RSET extra") == 501
    assert await c.code("QUIT now") == 501
    assert await c.code("FROB") == 500
    assert await c.code("") == 500
    assert await c.code("NOOP anything") == 250            # RFC 5321 allows a String
    assert await c.code("VRFY") == 501
    assert await c.code("X" * 600) == 500                   # command line too long
    assert await c.code("QUIT") == 221


async def test_esmtp_parameters(lab):
    s = await lab(world("modern", "\nsize_limit = 100"))
    c, _ = await s.connect()
    await c.cmd("EHLO xyz.test")
    assert await c.code("MAIL FROM:<a@abc.test> SIZE=101") == 552
    assert await c.code("MAIL FROM:<a@abc.test> FOO=1") == 555
    assert await c.code("MAIL FROM:<a@abc.test> BODY=9BIT") == 501
    assert await c.code("MAIL FROM:<a@abc.test> SIZE=50 BODY=8BITMIME RET=HDRS") == 250
    assert await c.code("RCPT TO:<Green@SU-SCORE.ARPA> NOTIFY=NEVER") == 250
    assert await c.code("RCPT TO:<Smith@SU-SCORE.ARPA> BOGUS=1") == 555
    assert await c.code("DATA") == 354
    await c.send_raw(b"x" * 200 + b"\r\n.\r\n")
    assert (await c.reply())[0].startswith("552 5.3.4")
    assert await c.code("NOOP") == 250  # the session goes on


# ----------------------------------------------------------------------------- VRFY/EXPN

async def test_vrfy_answers_from_the_world(lab):
    s = await lab(world("rfc821"))
    c, _ = await s.connect()
    await c.cmd("HELO xyz.test")
    assert await c.cmd("VRFY Crispin") == ["250 Mark Crispin <Admin.MRC@SU-SCORE.ARPA>"]
    # RFC 821 <string>: "." is a <special>, so it is quoted with a backslash
    assert await c.cmd("VRFY Admin\\.MRC") == ["250 Mark Crispin <Admin.MRC@SU-SCORE.ARPA>"]
    assert await c.cmd("VRFY Admin.MRC") == [(
        "501 Syntax error in parameters or arguments: '.' is a <special> in RFC 821; write "
        "'\\.' to include it [RFC 821 section 4.1.2 <string>]")]
    assert await c.cmd("VRFY Green") == ["250 Bob Green <Green@SU-SCORE.ARPA>"]
    assert await c.cmd("VRFY John") == ["553 User ambiguous."]
    assert await c.cmd("VRFY Gourzenkyla") == ["550 String does not match anything."]
    assert await c.cmd("VRFY fred") == ["251 User not local; will forward to <Jones@USC-ISI.ARPA>"]
    assert await c.cmd("VRFY moved") == ["551 User not local; please try <gone@USC-ISI.ARPA>"]
    assert await c.cmd("VRFY staff") == ["550 That is a mailing list, not a user."]
    assert await c.cmd("VRFY Postmaster") == ["250 <postmaster@SU-SCORE.ARPA>"]


async def test_expn_lists_members_multiline(lab):
    s = await lab(world("rfc821"))
    c, _ = await s.connect()
    await c.cmd("HELO xyz.test")
    assert await c.cmd("EXPN staff") == [
        "250-Mark Crispin <Admin.MRC@SU-SCORE.ARPA>",
        "250-Bob Green <Green@SU-SCORE.ARPA>",
        "250 <x@elsewhere.test>",
    ]
    assert await c.cmd("EXPN Smith") == ["550 That is a user name, not a mailing list."]
    assert await c.cmd("EXPN nothing") == ["550 String does not match anything."]


async def test_help(lab):
    s = await lab(world("rfc821"))
    c, _ = await s.connect()
    help_ = await c.cmd("HELP")
    assert help_[0].startswith("214-") and help_[-1].startswith("214 ")
    assert "TURN" in " ".join(help_)
    topic = await c.cmd("HELP rcpt")
    assert topic[0] == "214-RCPT: Add one recipient (forward-path) to the transaction."
    assert "214-Syntax: RCPT <SP> TO:<forward-path> <CRLF>" in topic
    assert "214-Defined in: RFC 821 section 4.1.1" in topic  # a 1982 server knows no later RFC
    assert topic[-1] == "214 End of HELP info"
    assert await c.cmd("HELP FROB") == ['504 HELP topic "FROB" unknown']


# ----------------------------------------------------------------------------- RCPT rules

async def test_forwarding_251_delivers_to_the_new_host_and_551_refuses(lab):
    s = await lab(world("rfc821"))
    c, _ = await s.connect()
    await c.cmd("HELO LBL-UNIX.ARPA")
    await c.cmd("MAIL FROM:<mo@LBL-UNIX.ARPA>")
    assert await c.cmd("RCPT TO:<moved@SU-SCORE.ARPA>") == [
        "551 User not local; please try <gone@USC-ISI.ARPA>"]
    assert await c.cmd("RCPT TO:<fred@SU-SCORE.ARPA>") == [
        "251 User not local; will forward to <Jones@USC-ISI.ARPA>"]
    assert await c.code("DATA") == 354
    await c.send_raw(b"Subject: moved\r\n\r\nhi fred\r\n.\r\n")
    assert await c.reply() == ["250 OK"]
    assert await c.code("QUIT") == 221
    [msg] = s.messages("USC-ISI.ARPA", "Jones")
    assert msg.startswith(b"Return-Path: <@SU-SCORE.ARPA:mo@LBL-UNIX.ARPA>\r\n")
    assert msg.endswith(b"Subject: moved\r\n\r\nhi fred\r\n")


async def test_relaying_outside_the_world_is_refused(lab):
    s = await lab(world("rfc821"))
    c, _ = await s.connect()
    await c.cmd("HELO xyz.test")
    await c.cmd("MAIL FROM:<a@xyz.test>")
    [reply] = await c.cmd("RCPT TO:<victim@gmail.com>")
    assert reply.startswith("550 Relaying denied: gmail.com is not in this world")
    [reply] = await c.cmd("RCPT TO:<@SU-SCORE.ARPA:victim@gmail.com>")
    assert reply.startswith("550 ")
    [reply] = await c.cmd("RCPT TO:<@USC-ISI.ARPA:Jones@USC-ISI.ARPA>")
    assert reply.startswith("550 ")  # USC-ISI is in the world, but SU-SCORE does not relay


async def test_source_route_relay_strips_self_prepends_reverse_path_adds_received(lab):
    s = await lab("""\
        hostname = "USC-ISIE.ARPA"
        persona = "rfc821"
        relay_domains = ["BBN-VAX.ARPA"]
        [hosts."BBN-VAX.ARPA"]
        mailboxes = { Jones = "Jones" }
        """)
    c, _ = await s.connect()
    await c.cmd("HELO MIT-AI.ARPA")
    await c.cmd("MAIL FROM:<JQP@MIT-AI.ARPA>")
    assert await c.cmd("RCPT TO:<@USC-ISIE.ARPA:Jones@BBN-VAX.ARPA>") == ["250 OK"]
    assert await c.code("DATA") == 354
    await c.send_raw(b"Subject:  The Next Meeting of the Board\r\n\r\nBill:\r\n.\r\n")
    assert await c.reply() == ["250 OK"]
    assert await c.code("QUIT") == 221
    [msg] = s.messages("BBN-VAX.ARPA", "Jones")
    lines = msg.split(b"\r\n")
    assert lines[0] == b"Return-Path: <@USC-ISIE.ARPA:JQP@MIT-AI.ARPA>"
    assert lines[1].startswith(b"Received: from USC-ISIE.ARPA by BBN-VAX.ARPA ; ")
    assert lines[2].startswith(b"Received: from MIT-AI.ARPA by USC-ISIE.ARPA ; ")
    assert msg.endswith(b"Subject:  The Next Meeting of the Board\r\n\r\nBill:\r\n")


@pytest.mark.parametrize(("persona", "code"), [("rfc821", 552), ("rfc821-minimal", 552),
                                               ("rfc5321", 452), ("modern", 452),
                                               ("sendmail-8.9", 452)])
async def test_recipient_limit(lab, persona, code):
    s = await lab(world(persona))
    c, _ = await s.connect()
    await c.cmd("HELO xyz.test")
    await c.cmd("MAIL FROM:<a@xyz.test>")
    assert await c.code("RCPT TO:<Green@SU-SCORE.ARPA>") == 250
    assert await c.code("RCPT TO:<Smith@SU-SCORE.ARPA>") == 250
    assert await c.code("RCPT TO:<Smyth@SU-SCORE.ARPA>") == code
    assert await c.code("DATA") == 354
    await c.send_raw(b"x\r\n.\r\n")
    assert await c.code("MAIL FROM:<a@xyz.test>") == 250  # a new transaction may follow
    assert await c.code("RCPT TO:<Smyth@SU-SCORE.ARPA>") == 250


async def test_one_copy_per_destination_host(lab):
    s = await lab(world("rfc821"))
    c, _ = await s.connect()
    await c.cmd("HELO xyz.test")
    await c.cmd("RSET")
    reply = await transaction(c, rcpts=("<Green@SU-SCORE.ARPA>", "<Smith@SU-SCORE.ARPA>"))
    assert reply == ["250 OK"]
    await c.cmd("QUIT")
    green = s.maildir / "su-score.arpa" / "Green" / "new"
    smith = s.maildir / "su-score.arpa" / "Smith" / "new"
    [g], [m] = list(green.iterdir()), list(smith.iterdir())
    assert g.stat().st_ino == m.stat().st_ino  # one file, linked into both Maildirs
    assert b"\tfor <" not in g.read_bytes()     # several recipients: no "for" clause


async def test_mail_to_a_list_reaches_members_and_never_leaves_the_world(lab):
    s = await lab(world("rfc821"))
    c, _ = await s.connect()
    await c.cmd("HELO xyz.test")
    assert await transaction(c, rcpts=("<staff@SU-SCORE.ARPA>",)) == ["250 OK"]
    await c.cmd("QUIT")
    assert len(s.messages("SU-SCORE.ARPA", "Green")) == 1
    assert len(s.messages("SU-SCORE.ARPA", "Admin.MRC")) == 1
    [dead] = list((s.maildir / "_undeliverable" / "new").iterdir())
    assert b"X-Smtptui-Undeliverable: elsewhere.test is outside the world" in dead.read_bytes()


# ----------------------------------------------------------------------------- SEND & co

async def test_send_soml_saml(lab):
    s = await lab(world("rfc821"))
    c, _ = await s.connect()
    await c.cmd("HELO MIT-MC.ARPA")
    # Green is not logged in: SEND is refused, SOML mails, SAML mails.
    assert await c.code("SEND FROM:<EAK@MIT-MC.ARPA>") == 250
    assert await c.cmd("RCPT TO:<Green@SU-SCORE.ARPA>") == ["450 User not active now"]
    assert await c.code("RSET") == 250
    assert await c.code("SOML FROM:<EAK@MIT-MC.ARPA>") == 250
    assert await c.cmd("RCPT TO:<Green@SU-SCORE.ARPA>") == [
        "250 User not active now, so will do mail."]
    assert await c.code("DATA") == 354
    await c.send_raw(b"soml to green\r\n.\r\n")
    assert await c.reply() == ["250 OK"]
    # Admin.MRC is logged in: SEND reaches the terminal, SAML both.
    assert await transaction(c, verb="SEND", rcpts=("<Admin.MRC@SU-SCORE.ARPA>",),
                             body=b"send to mrc\r\n") == ["250 OK"]
    assert await transaction(c, verb="SAML", rcpts=("<Admin.MRC@SU-SCORE.ARPA>",),
                             body=b"saml to mrc\r\n") == ["250 OK"]
    await c.cmd("QUIT")
    assert [m.endswith(b"soml to green\r\n") for m in s.messages("SU-SCORE.ARPA", "Green")] == [
        True]
    [saml] = s.messages("SU-SCORE.ARPA", "Admin.MRC")
    assert saml.endswith(b"saml to mrc\r\n")
    terminal = (s.maildir / "su-score.arpa" / "terminals" / "Admin.MRC.log").read_text()
    assert "*** Message from EAK@MIT-MC.ARPA" in terminal
    assert "send to mrc\n" in terminal and "saml to mrc\n" in terminal


# ----------------------------------------------------------------------------- TURN

async def test_turn_swaps_roles_and_delivers_the_queue(lab):
    s = await lab("""\
        hostname = "USC-ISIF.ARPA"
        persona = "rfc821"
        [[queue]]
        host = "LBL-UNIX.ARPA"
        from = "Smith@USC-ISIF.ARPA"
        to = ["mo@LBL-UNIX.ARPA", "al@LBL-UNIX.ARPA"]
        data = "Subject: waiting\\r\\n\\r\\n.leading dot\\r\\n"
        [[queue]]
        host = "ELSEWHERE.ARPA"
        from = "Smith@USC-ISIF.ARPA"
        to = ["x@ELSEWHERE.ARPA"]
        data = "not for LBL"
        """)
    c, _ = await s.connect()
    await c.cmd("HELO LBL-UNIX.ARPA")
    assert await c.cmd("TURN") == ["250 OK"]
    # We are the receiver now: greet, then answer the commands the server sends.
    assert await c.cmd("220 LBL-UNIX.ARPA Simple Mail Transfer Service Ready") == [
        "HELO USC-ISIF.ARPA"]
    assert await c.cmd("250 LBL-UNIX.ARPA") == ["MAIL FROM:<Smith@USC-ISIF.ARPA>"]
    assert await c.cmd("250 OK") == ["RCPT TO:<mo@LBL-UNIX.ARPA>"]
    assert await c.cmd("550 No such user here") == ["RCPT TO:<al@LBL-UNIX.ARPA>"]
    assert await c.cmd("250 OK") == ["DATA"]
    c.writer.write(b"354 Start mail input; end with <CRLF>.<CRLF>\r\n")
    data = b""
    while not data.endswith(b"\r\n.\r\n"):
        data += await asyncio.wait_for(c.reader.read(1000), 5)
    assert data == b"Subject: waiting\r\n\r\n..leading dot\r\n.\r\n"
    assert await c.cmd("250 OK") == ["QUIT"]
    c.writer.write(b"221 LBL-UNIX.ARPA Service closing transmission channel\r\n")
    assert await asyncio.wait_for(c.reader.read(), 5) == b""  # the server hung up
    assert any("TURN sent message 1 -> 250" in e.text for e in s.events)


async def test_turn_needs_helo_and_no_open_transaction(lab):
    s = await lab(world("rfc821"))
    c, _ = await s.connect()
    assert await c.code("TURN") == 503
    await c.cmd("HELO xyz.test")
    await c.cmd("MAIL FROM:<a@xyz.test>")
    assert await c.code("TURN") == 503


async def test_turn_with_a_broken_receiver_ends_the_session(lab):
    s = await lab(world("rfc821"))
    c, _ = await s.connect()
    await c.cmd("HELO xyz.test")
    assert await c.code("TURN") == 250
    c.writer.write(b"hello? this is not a reply\r\n")
    assert await asyncio.wait_for(c.reader.read(), 5) == b""
    assert any("not an SMTP reply" in e.text for e in s.events)


# ----------------------------------------------------------------------------- DATA

async def test_data_unstuffs_and_accepts_pipelined_commands_after_the_dot(lab):
    s = await lab(world("modern"))
    c, _ = await s.connect()
    await c.cmd("EHLO xyz.test")
    await c.send_raw(b"MAIL FROM:<a@xyz.test>\r\nRCPT TO:<Green@SU-SCORE.ARPA>\r\nDATA\r\n")
    assert [(await c.reply())[0][:3] for _ in range(3)] == ["250", "250", "354"]
    await c.send_raw(b"..\r\n...x\r\nend\r\n.\r\nNOOP\r\nQUIT\r\n")
    assert (await c.reply())[0][:3] == "250"
    assert (await c.reply())[0][:3] == "250"
    assert (await c.reply())[0][:3] == "221"
    [msg] = s.messages("SU-SCORE.ARPA", "Green")
    assert msg.endswith(b"\r\n.\r\n..x\r\nend\r\n")  # after our trace fields
    assert msg.count(b"\r\n.\r\n") == 1


async def test_empty_message_and_dot_split_across_packets(lab):
    s = await lab(world("rfc821"))
    c, _ = await s.connect()
    await c.cmd("HELO xyz.test")
    await c.cmd("MAIL FROM:<a@xyz.test>")
    await c.cmd("RCPT TO:<Green@SU-SCORE.ARPA>")
    await c.cmd("DATA")
    for piece in (b"a\r", b"\n", b".", b".b\r\n", b"\r\n.", b"\r", b"\n"):
        await c.send_raw(piece)
        await asyncio.sleep(0.01)
    assert await c.reply() == ["250 OK"]
    await c.cmd("MAIL FROM:<a@xyz.test>")
    await c.cmd("RCPT TO:<Smith@SU-SCORE.ARPA>")
    await c.cmd("DATA")
    await c.send_raw(b".\r\n")
    assert await c.reply() == ["250 OK"]
    [msg] = s.messages("SU-SCORE.ARPA", "Green")
    assert msg.endswith(b"\r\na\r\n.b\r\n\r\n")
    [empty] = s.messages("SU-SCORE.ARPA", "Smith")
    lines = empty.split(b"\r\n")
    assert lines[-1] == b"" and [x[:9] for x in lines[:-1]] == [b"Return-Pa", b"Received:"]


# ----------------------------------------------------------------------------- safety

async def test_session_cap_refuses_with_421(lab):
    s = await lab(world("rfc821", "\nmax_sessions = 1").replace(
        "\nmax_sessions = 1", "", 1).replace('hostname =', 'max_sessions = 1\nhostname =', 1))
    first, greeting = await s.connect()
    assert greeting[0].startswith("220 ")
    _second, greeting2 = await s.connect()
    assert greeting2 == ["421 SU-SCORE.ARPA Too many sessions, try again later"]
    assert await first.code("NOOP") == 250


async def test_starttls_then_auth_only_over_tls(lab, tls_dir):
    s = await lab(world("modern", '\n[users]\nalice = "wonder land"'))
    c, _ = await s.connect()
    ehlo = await c.cmd("EHLO xyz.test")
    assert not any("AUTH" in line for line in ehlo)
    plain = base64.b64encode(b"\0alice\0wonder land").decode()
    [reply] = await c.cmd(f"AUTH PLAIN {plain}")
    assert reply.startswith("538 5.7.11")  # never in clear text
    assert await c.code("STARTTLS") == 220
    ctx = ssl.create_default_context(cafile=str(tls_dir / "su-score.arpa.crt"))
    await c.writer.start_tls(ctx, server_hostname="SU-SCORE.ARPA")
    ehlo = await c.cmd("EHLO xyz.test")
    assert "250 AUTH PLAIN LOGIN" in ehlo or "250-AUTH PLAIN LOGIN" in ehlo
    assert not any("STARTTLS" in line for line in ehlo)
    bad = base64.b64encode(b"\0alice\0nope").decode()
    assert (await c.cmd(f"AUTH PLAIN {bad}"))[0].startswith("535")
    assert (await c.cmd(f"AUTH PLAIN {plain}"))[0].startswith("235")
    assert (await c.cmd("MAIL FROM:<alice@SU-SCORE.ARPA>"))[0].startswith("250")
    assert any("TLS established" in e.text for e in s.events)


async def test_auth_login_in_clear_text_only_when_the_world_allows_it(lab):
    s = await lab(world("rfc5321", '\nallow_plaintext_auth = true\nextensions = ["AUTH"]'
                                   '\n[users]\nbob = "pw"'))
    c, _ = await s.connect()
    assert await c.cmd("EHLO xyz.test") == ["250-SU-SCORE.ARPA greets xyz.test",
                                          "250 AUTH PLAIN LOGIN"]
    assert await c.cmd("AUTH LOGIN") == ["334 VXNlciBOYW1lAA=="]
    assert await c.cmd(base64.b64encode(b"bob").decode()) == ["334 UGFzc3dvcmQA"]
    assert (await c.cmd(base64.b64encode(b"pw").decode()))[0].startswith("235")


async def test_persona_without_starttls_or_auth_treats_them_as_unknown(lab):
    s = await lab(world("rfc5321", '\n[users]\nbob = "pw"'))
    c, _ = await s.connect()
    await c.cmd("EHLO xyz.test")
    assert await c.code("STARTTLS") == 500
    assert await c.code("AUTH PLAIN AGJvYgBwdw==") == 500


async def test_events_are_reported(lab):
    s = await lab(world("rfc821"))
    c, _ = await s.connect()
    await c.cmd("HELO xyz.test")
    await transaction(c)
    await c.cmd("QUIT")
    texts = [e.text for e in s.events]
    assert texts[0] == "connect from 127.0.0.1"
    assert "HELO xyz.test" in texts and "QUIT" in texts
    assert any(t.startswith("stored ") and "SU-SCORE.ARPA/Green" in t for t in texts)
