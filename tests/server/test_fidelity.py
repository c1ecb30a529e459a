"""The 1982 world letter for letter: the server judges lines with the core's grammar,
and the RFC 821 personas answer as RFC 821 §4 says (codes from §4.3's lists only).

Byte cases against the real in-process server; read them beside RFC 821.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smtptui.core.commands import COMMANDS
from smtptui.core.grammar import check

from .test_protocol import world

# ----------------------------------------------------------------------------- one grammar

# line, code from the rfc821 persona (after HELO MIT-MC.ARPA and, for RCPT, a MAIL)
RFC821_LINES = [
    ("HELO foo bar", 501),              # one <domain>, nothing after it
    ("HELO -bad-", 501),                # <name> starts with a letter
    ("HELO a_b", 501),                  # '_' is not in <name>
    ("HELO [999.1.1.1]", 501),          # <snum> is 0-255
    ("MAIL FROM:<Smith@[999.1.1.1]>", 501),
    ("MAIL FROM: <x@xyz.ARPA>", 501),   # no space after the colon in RFC 821
    ("MAIL FROM:<x@xyz.ARPA> SIZE=10", 501),  # nothing after the path in 1982
    ("RCPT TO:<Smith>", 501),           # <mailbox> is <local-part> "@" <domain>
    ("RCPT TO:<Sm\\ith@SU-SCORE.ARPA>", 250),  # "\" quotes a character: Smith
    ("RCPT TO:<\"Smith\"@SU-SCORE.ARPA>", 250),
    ("VRFY Admin.MRC", 501),            # "." is a <special> in a <string>
    ("VRFY Admin\\.MRC", 250),
    ("NOOP now", 500),                  # §4.3: NOOP's only error is 500
    ("QUIT now", 500),                  # §4.3: QUIT's only error is 500
    ("TURN x", 500),                    # §4.3: TURN lists 500 and 503
    ("RSET x", 501),
    ("DATA x", 501),
]


@pytest.mark.parametrize(("line", "code"), RFC821_LINES)
async def test_the_rfc821_persona_judges_with_the_rfc821_grammar(lab, line, code):
    s = await lab(world("rfc821"))
    c, _ = await s.connect()
    assert await c.code("HELO MIT-MC.ARPA") == 250
    if line.startswith(("RCPT", "DATA")):
        assert await c.code("MAIL FROM:<EAK@MIT-MC.ARPA>") == 250
    if line.startswith("DATA"):
        assert await c.code("RCPT TO:<Green@SU-SCORE.ARPA>") == 250
    reply = await c.cmd(line)
    assert int(reply[0][:3]) == code, reply
    assert (code >= 500) == any(d.is_error for d in check(line, "rfc821")), line


async def test_a_syntax_reply_names_the_rule_as_check_does(lab):
    s = await lab(world("rfc821"))
    c, _ = await s.connect()
    [reply] = await c.cmd("HELO a_b")
    [d] = [d for d in check("HELO a_b", "rfc821") if d.is_error]
    # check's message and rule; a 1982 server drops check's hints in parentheses
    assert reply == ("501 Syntax error in parameters or arguments: '_' is not allowed in a "
                     "domain name [RFC 821 section 4.1.2 <name>]")
    assert d.rule == "RFC 821 §4.1.2 <name>"
    assert d.message.startswith("'_' is not allowed in a domain name (")
    assert any("HELO a_b -> 501" in e.text for e in s.events)


async def test_a_1982_server_never_speaks_of_esmtp(lab):
    s = await lab(world("rfc821"))
    c, _ = await s.connect()
    await c.cmd("HELO MIT-MC.ARPA")
    said = await c.cmd("MAIL FROM:<EAK@MIT-MC.ARPA> SIZE=10")
    said += await c.cmd("HELP MAIL")
    said += await c.cmd("HELP HELO")
    said += await c.cmd("MAIL FROM:<Smith>")
    text = " ".join(said)
    for word in ("ESMTP", "EHLO", "SIZE", "5321", "1869", "1123", "need EHLO"):
        assert word not in text, (word, said)
    assert "214-Clears the buffers and starts a new transaction" in " ".join(said)


async def test_modern_is_as_lenient_as_a_real_mta(lab):
    s = await lab(world("modern"))
    c, _ = await s.connect()
    assert await c.code("EHLO client.test") == 250
    assert await c.code("MAIL FROM: <a@client.test>") == 250   # a warning, not an error
    assert await c.code("RCPT TO:<Green@SU-SCORE.ARPA>") == 250
    assert await c.code("RCPT TO:<a@-x.test>") == 501


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["abc", "A", "1", "-", "_", ".", "[", "]", "255", "999",
                                 " ", "x", "#", "12", "MIT-MC"]), min_size=1, max_size=8))
async def test_server_and_checker_agree_on_helo(lab, pieces):
    arg = "".join(pieces).strip(" ")
    line = f"HELO {arg}" if arg else "HELO"
    s = await lab(world("rfc821"))
    c, _ = await s.connect()
    code = await c.code(line)
    assert (code == 501) == any(d.is_error for d in check(line, "rfc821")), (line, code)
    await c.close()
    s.server.close()


# ----------------------------------------------------------------------------- RFC 821 §4

async def test_mail_needs_no_helo_and_starts_a_new_transaction(lab):
    s = await lab(world("rfc821"))
    c, _ = await s.connect()
    assert await c.cmd("MAIL FROM:<EAK@MIT-MC.ARPA>") == ["250 OK"]       # §4.3: no 503
    assert await c.code("RCPT TO:<Green@SU-SCORE.ARPA>") == 250
    assert await c.cmd("MAIL FROM:<Smith@MIT-MC.ARPA>") == ["250 OK"]     # §4.1.1: clears
    assert await c.cmd("DATA") == ["503 Bad sequence of commands: need RCPT before DATA"]
    assert any("abandoned" in e.text for e in s.events)


async def test_503_texts_name_the_missing_command(lab):
    s = await lab(world("rfc821"))
    c, _ = await s.connect()
    await c.cmd("HELO MIT-MC.ARPA")
    assert await c.cmd("DATA") == [
        "503 Bad sequence of commands: need MAIL and RCPT before DATA"]
    assert await c.cmd("RCPT TO:<Green@SU-SCORE.ARPA>") == [
        "503 Bad sequence of commands: need MAIL before RCPT"]


@pytest.mark.parametrize(("persona", "extra", "code"), [
    ("rfc821", "", 550),                                   # case sensitive (RFC 821 §4.1.2)
    ("rfc821", "\ncase_sensitive_mailboxes = false", 250),
    ("modern", "", 250),                                   # as most MTAs
    ("modern", "\ncase_sensitive_mailboxes = true", 550),
])
async def test_mailbox_case(lab, persona, extra, code):
    s = await lab(world(persona, extra))
    c, _ = await s.connect()
    await c.cmd("EHLO client.test" if persona == "modern" else "HELO MIT-MC.ARPA")
    assert await c.code("MAIL FROM:<EAK@MIT-MC.ARPA>") == 250
    assert await c.code("RCPT TO:<green@SU-SCORE.ARPA>") == code
    assert await c.code("RCPT TO:<Green@SU-SCORE.ARPA>") == 250
    vrfy = "VRFY admin\\.mrc" if persona.startswith("rfc821") else 'VRFY "admin.mrc"'
    assert await c.code(vrfy) == code


SESSION_821 = [
    "NOOP", "NOOP x", "HELP", "HELP MAIL", "HELP FROB", "VRFY Smith", "VRFY John",
    "VRFY Nobody", "VRFY fred", "VRFY moved", "EXPN staff", "EXPN Smith", "VRFY",
    "RCPT TO:<Green@SU-SCORE.ARPA>", "DATA", "TURN x", "MAIL FROM:<>", "MAIL FROM:<a b>",
    "RCPT TO:<Green@SU-SCORE.ARPA>", "RCPT TO:<nobody@SU-SCORE.ARPA>",
    "RCPT TO:<fred@SU-SCORE.ARPA>", "RCPT TO:<moved@SU-SCORE.ARPA>",
    "RCPT TO:<x@elsewhere.test>", "RCPT TO:<Smith@SU-SCORE.ARPA>", "TURN", "RSET", "RSET x",
    "SEND FROM:<EAK@MIT-MC.ARPA>", "RCPT TO:<Green@SU-SCORE.ARPA>", "SOML FROM:<>",
    "RCPT TO:<Green@SU-SCORE.ARPA>", "SAML FROM:<EAK@MIT-MC.ARPA>", "HELO MIT-MC.ARPA",
    "HELO a_b", "QUIT now", "QUIT",
]


@pytest.mark.parametrize("persona", ["rfc821", "rfc821-minimal"])
async def test_every_reply_code_is_in_rfc821_section_4_3s_list(lab, persona):
    s = await lab(world(persona))
    c, _ = await s.connect()
    for line in SESSION_821:
        verb = line.split()[0]
        code = await c.code(line)
        allowed = COMMANDS[verb].allowed_codes | {421}
        assert code in allowed, (persona, line, code, sorted(allowed))


async def test_received_dates_are_rfc821_daytime(lab):
    s = await lab(world("rfc821", '\ntime_zone = "-08:00"\ntime_zone_name = "PST"'))
    c, _ = await s.connect()
    await c.cmd("HELO MIT-MC.ARPA")
    await c.cmd("MAIL FROM:<EAK@MIT-MC.ARPA>")
    await c.cmd("RCPT TO:<Green@SU-SCORE.ARPA>")
    await c.cmd("DATA")
    await c.send_raw(b"Subject: t\r\n\r\nhi\r\n.\r\n")
    assert (await c.reply()) == ["250 OK"]
    [msg] = s.messages("SU-SCORE.ARPA", "Green")
    received = msg.split(b"\r\n")[1].decode()
    # RFC 821 §4.1.2 <daytime>: <dd> <mon> <yy> <hh>:<mm>:<ss> <zone>, as Appendix F prints
    assert re.fullmatch(r"Received: from MIT-MC\.ARPA by SU-SCORE\.ARPA ; "
                        r"\d{1,2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d PST", received), received


async def test_the_8th_bit_is_cleared_where_the_world_says_so(lab):
    s = await lab(world("rfc821", "\nclear_8th_bit = true"))
    c, _ = await s.connect()
    await c.cmd("HELO MIT-MC.ARPA")
    await c.cmd("MAIL FROM:<EAK@MIT-MC.ARPA>")
    await c.cmd("RCPT TO:<Green@SU-SCORE.ARPA>")
    await c.cmd("DATA")
    await c.send_raw("héllo\r\n.\r\n".encode())
    assert (await c.reply()) == ["250 OK"]
    [msg] = s.messages("SU-SCORE.ARPA", "Green")
    assert msg.endswith(b"hC)llo\r\n")  # 0xC3 0xA9 -> 0x43 0x29
    assert any("8th bit cleared in 2 octet(s)" in e.text and "8BITMIME" in e.text
               for e in s.events)


# ----------------------------------------------------------------------------- sendmail 8.9

@pytest.mark.parametrize(("extra", "size_line"), [
    ("", "250-SIZE 10485760"),
    ("\nsize_limit = 0", "250-SIZE"),                      # RFC 1870: no limit announced
    ('\nextensions = ["SIZE", "HELP"]', "250-SIZE"),       # a world's own bare keyword
])
async def test_size_may_be_bare(lab, extra, size_line):
    s = await lab(world("sendmail-8.9", extra))
    c, _ = await s.connect()
    assert size_line in await c.cmd("EHLO ace.test")


async def test_sendmail_queue_ids_are_three_letters_and_five_digits(lab):
    s = await lab(world("sendmail-8.9", "\nprocess_id = 9919"))
    c, _ = await s.connect()
    await c.cmd("EHLO ace.test")
    ids = []
    for _ in range(2):
        await c.cmd("MAIL FROM:<a@ace.test>")
        await c.cmd("RCPT TO:<Green@SU-SCORE.ARPA>")
        await c.cmd("DATA")
        await c.send_raw(b"x\r\n.\r\n")
        [reply] = await c.reply()
        ids.append(reply.split()[1])
    assert all(re.fullmatch(r"[A-X]A[AB]09919", q) for q in ids), ids
    assert [q[1:3] for q in ids] == ["AA", "AB"]  # the process's message count


async def test_a_world_pins_the_clock_zone_name_version_and_address(lab):
    s = await lab(world("sendmail-8.9", '\nclock = "1999-11-01T00:07:25+09:00"'
                        '\ntime_zone_name = "JST"\nsoftware_version = "8.9.1a/3.7W"'
                        '\npeer_address = "133.5.22.15"'))
    c, greeting = await s.connect()
    assert re.fullmatch(r"220 SU-SCORE\.ARPA ESMTP Sendmail 8\.9\.1a/3\.7W; "
                        r"Mon, 1 Nov 1999 00:07:\d\d \+0900 \(JST\)", greeting[0]), greeting
    ehlo = await c.cmd("EHLO ace.test")
    assert ehlo[0] == "250-SU-SCORE.ARPA Hello ace.test [133.5.22.15], pleased to meet you"
