"""The grammar checker, table by table: read the tables to learn the SMTP command grammar.

Each row is a command line and what RFC 821 (1982) or RFC 5321 (2008) says about it.
Spans are 0-based half-open columns; an error at the end of the line has
``start == end == len(line)``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtptui.core.commands import COMMANDS, Origin
from smtptui.core.diagnostics import Diagnostic, Severity
from smtptui.core.grammar import check, split_command

HERE = Path(__file__).parent


def errors(line: str, dialect: str = "rfc5321", caps: object = None) -> list[Diagnostic]:
    return [d for d in check(line, dialect, caps) if d.severity is Severity.ERROR]  # type: ignore[arg-type]


def warnings(line: str, dialect: str = "rfc5321", caps: object = None) -> list[Diagnostic]:
    return [d for d in check(line, dialect, caps) if d.severity is Severity.WARNING]  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------
# Lines that are entirely correct: no error and no warning.
# ---------------------------------------------------------------------------------------

VALID_5321 = [
    # HELO / EHLO (RFC 5321 §4.1.1.1): a Domain; EHLO also an address literal
    "HELO mail.example.org",
    "HELO a",                                   # sub-domain = Let-dig [Ldh-str]: 1 char is fine
    "HELO 3com.example",                        # may start with a digit (RFC 1123)
    "helo Mail.Example.ORG",                    # verbs are case-insensitive
    "EHLO client.example.org",
    "EHLO [192.0.2.1]",
    "EHLO [0.0.0.0]",
    "EHLO [255.255.255.255]",
    "EHLO [IPv6:2001:db8::1]",
    "EHLO [IPv6:::1]",
    "EHLO [IPv6:::]",
    "EHLO [IPv6:2001:db8:0:0:0:0:0:1]",        # IPv6-full, 8 groups
    "EHLO [ipv6:fe80::1]",                      # ABNF literal strings are case-insensitive
    "EHLO [IPv6:1:2:3:4:5:6:192.0.2.1]",        # IPv6v4-full
    "EHLO [IPv6:::ffff:192.0.2.1]",             # IPv6v4-comp
    "EHLO [IPv6:1:2:3:4::192.0.2.1]",           # IPv6v4-comp, 4 groups: the maximum
    "EHLO [IPv6:1:2:3::4:5:6]",                 # IPv6-comp, 6 groups: the maximum
    # MAIL (§4.1.1.2) and its parameters
    "MAIL FROM:<alice@example.org>",
    "mail from:<Alice@Example.org>",
    "MAIL FROM:<>",                             # the null reverse-path, for bounces
    "MAIL FROM:<a.b.c@example.org>",
    "MAIL FROM:<user+tag@example.org>",
    "MAIL FROM:<!#$%&'*+-/=?^_`{|}~@example.org>",  # every atext character
    'MAIL FROM:<"John Smith"@example.org>',
    'MAIL FROM:<"a\\"b\\\\c"@example.org>',      # quoted-pairSMTP: \" and \\
    'MAIL FROM:<""@example.org>',                # *QcontentSMTP: may be empty
    'MAIL FROM:<"a@b"@example.org>',
    "MAIL FROM:<user@[192.0.2.1]>",
    "MAIL FROM:<user@[IPv6:2001:db8::1]>",
    "MAIL FROM:<alice@example.org> SIZE=1000",
    "MAIL FROM:<alice@example.org> SIZE=12345678901234567890",   # 20 digits
    "MAIL FROM:<alice@example.org> BODY=8BITMIME",
    "MAIL FROM:<alice@example.org> BODY=7bit",  # keywords and enumerated values: any case
    "MAIL FROM:<alice@example.org> BODY=BINARYMIME",
    "MAIL FROM:<alice@example.org> RET=HDRS ENVID=QQ314159",
    "MAIL FROM:<alice@example.org> RET=FULL",
    "MAIL FROM:<alice@example.org> ENVID=a+2Bb+3Dc",  # xtext: "+" and "=" as +2B, +3D
    "MAIL FROM:<alice@example.org> AUTH=<>",
    "MAIL FROM:<alice@example.org> AUTH=alice+40example.org",
    "MAIL FROM:<alice@example.org> SMTPUTF8",
    "MAIL FROM:<δοκιμή@παράδειγμα.δοκιμή> SMTPUTF8",  # UTF-8 mailbox declared (RFC 6531)
    "MAIL FROM:<alice@example.org> BY=3600;R",
    "MAIL FROM:<alice@example.org> MT-PRIORITY=-3",
    "MAIL FROM:<alice@example.org> REQUIRETLS",
    "MAIL FROM:<alice@example.org> XFOO=bar",  # X- parameters are private: no remark
    "MAIL FROM:<alice@example.org> size=10 body=8bitmime",
    # examples printed in the extension RFCs
    "MAIL FROM:<ned@thor.innosoft.com> SIZE=500000",           # RFC 1870
    "AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=",                          # RFC 4954
    "MAIL FROM:<e=mc2@example.com> AUTH=e+3Dmc2@example.com",   # RFC 4954
    "MAIL FROM:<john+@example.org> AUTH=<>",                    # RFC 4954
    "MAIL FROM:<pel\u00e9@example.com> SMTPUTF8",               # RFC 6531
    "MAIL FROM:<a@example.org> AUTH=e+3dmc2",  # RFC 4954 HEXDIG: either case
    # RCPT (§4.1.1.3)
    "RCPT TO:<bob@example.net>",
    "rcpt to:<Bob@Example.NET>",
    "RCPT TO:<Postmaster>",                     # the one path without a domain
    "RCPT TO:<postmaster>",                     # ... matched without regard to case
    "RCPT TO:<Postmaster@example.net>",
    "RCPT TO:<bob@example.net> NOTIFY=NEVER",
    "RCPT TO:<bob@example.net> NOTIFY=SUCCESS,FAILURE,DELAY",
    "RCPT TO:<bob@example.net> NOTIFY=delay",
    "RCPT TO:<bob@example.net> ORCPT=rfc822;bob@example.net",
    "RCPT TO:<bob@example.net> NOTIFY=FAILURE ORCPT=rfc822;bob+2Bx@example.net",
    # the verbs without arguments
    "DATA", "RSET", "QUIT", "data", "STARTTLS",
    # VRFY / EXPN: String, or local-part@domain (§3.5.3)
    "VRFY postmaster",
    "VRFY Crispin",
    'VRFY "Mark Crispin"',
    "VRFY smith@example.org",
    "EXPN Example-People",
    "EXPN staff@example.org",
    # HELP / NOOP: optional String
    "HELP", "HELP MAIL", "NOOP", "NOOP ping", 'NOOP "anything at all"',
    # AUTH (RFC 4954)
    "AUTH PLAIN",
    "AUTH LOGIN",
    "AUTH PLAIN AGFsaWNlAHNlY3JldA==",
    "AUTH PLAIN =",                             # "=" is an empty initial response
    "AUTH CRAM-MD5",
    "AUTH SCRAM-SHA-256",
    "AUTH XOAUTH2 dXNlcj1h",
    # BDAT (RFC 3030), ETRN (RFC 1985)
    "BDAT 1000",
    "BDAT 0 LAST",
    "BDAT 86 last",
    "ETRN example.org",
    "ETRN @example.org",
    "ETRN #queue1",
]


@pytest.mark.parametrize("line", VALID_5321)
def test_valid_rfc5321(line: str) -> None:
    assert check(line) == []


VALID_821 = [
    "HELO USC-ISIF.ARPA",
    "HELO hostA",                               # <name>: letter, ldh-str, let-dig
    "HELO abc",                                 # the shortest <name>
    "HELO MIT-AI.ARPA",
    "HELO [10.0.0.51]",                         # <element> "[" <dotnum> "]"
    "HELO #123",                                # <element> "#" <number>
    "HELO ISI.#456.[1.2.3.4]",                  # elements mix freely in an RFC 821 <domain>
    "MAIL FROM:<Smith@USC-ISIF.ARPA>",
    "MAIL  FROM:<Smith@USC-ISIF.ARPA>",        # §4.1.2: one or more spaces after the code
    "MAIL FROM:<Smith@[10.0.0.51]>",
    "MAIL FROM:<Smith@#1234>",
    "MAIL FROM:<Joe\\,Smith@ABC.ARPA>",         # "\" <x> quotes a special in a <string>
    'MAIL FROM:<"Joe Smith"@ABC.ARPA>',
    'MAIL FROM:<"Joe\\"Q"@ABC.ARPA>',
    "RCPT TO:<@USC-ISIE.ARPA,@USC-ISIF.ARPA:Q-Smith@ISI-VAXA.ARPA>",  # <a-d-l> source route
    "SEND FROM:<EAK@MIT-MC.ARPA>",
    "SOML FROM:<EAK@MIT-MC.ARPA>",
    "SAML FROM:<EAK@MIT-MC.ARPA>",
    "DATA", "RSET", "NOOP", "QUIT", "TURN",
    "VRFY Crispin",
    "EXPN Example-People",
    "VRFY Admin\\.MRC",                         # "." is a <special>: escape it in a <string>
    "VRFY Mark\\ Crispin",
    "HELP",
    "HELP MAIL",
]


@pytest.mark.parametrize("line", VALID_821)
def test_valid_rfc821(line: str) -> None:
    assert check(line, "rfc821") == []


def _appendix_f() -> list[tuple[str, str]]:
    rows = []
    for raw in (HERE / "appendix_f_commands.txt").read_text(encoding="utf-8").splitlines():
        if raw and not raw.startswith("#"):
            scenario, line = raw.split("\t", 1)
            rows.append((scenario, line))
    return rows


APPENDIX_F = _appendix_f()


def test_appendix_f_data_is_complete() -> None:
    assert len(APPENDIX_F) == 85
    verbs = {split_command(line)[0] for _, line in APPENDIX_F}
    assert verbs == {"HELO", "MAIL", "RCPT", "DATA", "RSET", "QUIT", "VRFY", "EXPN",
                     "SEND", "SOML"}


@pytest.mark.parametrize(("scenario", "line"), APPENDIX_F)
def test_appendix_f_lines_are_valid_rfc821(scenario: str, line: str) -> None:
    assert check(line, "rfc821") == [], scenario


@pytest.mark.parametrize(("scenario", "line"), APPENDIX_F)
def test_appendix_f_lines_have_no_rfc5321_errors(scenario: str, line: str) -> None:
    # RFC 5321 still accepts all of them; SEND/SOML and source routes draw warnings.
    assert errors(line) == [], scenario


def test_appendix_f_5321_warnings_are_source_routes_and_send() -> None:
    remarks = {d.rule for _, line in APPENDIX_F for d in check(line)}
    assert remarks == {"RFC 5321 App. F.2", "RFC 5321 App. F.6"}


# ---------------------------------------------------------------------------------------
# Errors: (line, start, end, words in the message). Only the first error is compared.
# ---------------------------------------------------------------------------------------

ERRORS_5321 = [
    # the line as a whole
    ("", 0, 0, "empty command line"),
    ("   ", 0, 3, "empty command line"),
    (" MAIL FROM:<a@b>", 0, 1, "starts with a space"),
    ("MAIL FROM:<a@b>\rRCPT", 15, 16, "bare CR"),
    ("DATA\nQUIT", 4, 5, "bare LF"),
    ("\x00DATA", 0, 1, "U+0000"),
    # verbs
    ("FOO", 0, 3, "unknown command 'FOO'"),
    ("MAILFROM:<a@b>", 0, 14, "missing space after MAIL"),
    ("MAIL\tFROM:<a@b>", 4, 5, "expected a space after MAIL"),
    ("HELLO example.org", 0, 5, "unknown command"),
    # HELO / EHLO
    ("HELO", 4, 4, "HELO needs a domain"),
    ("HELO ", 5, 5, "HELO needs a domain"),
    ("EHLO", 4, 4, "EHLO needs a domain"),
    ("HELO my_host.example", 7, 8, "'_' is not allowed"),
    ("HELO -host.example", 5, 6, "start with a letter or digit"),
    ("HELO host-.example", 9, 10, "must not end with '-'"),
    ("HELO host..example", 10, 11, "empty label"),
    ("HELO .example", 5, 6, "must not start with '.'"),
    ("HELO example.", 12, 13, "must not end with '.'"),
    ("HELO exa!mple", 8, 9, "'!' is not allowed in a domain"),
    ("HELO [192.0.2.1]", 5, 6, "address literal is not allowed here"),
    ("HELO example.org extra", 17, 22, "unexpected text after the domain"),
    ("HELO #123", 5, 9, "MUST NOT be used"),            # App. F.4
    ("EHLO [192.0.2.256]", 14, 17, "256 is out of range"),
    ("EHLO [192.0.2]", 6, 13, "4 numbers"),
    ("EHLO [192.0..1]", 12, 13, "missing number"),
    ("EHLO [192.0.2.1", 15, 15, "missing ']'"),
    ("EHLO [192.0.2.1 ]", 15, 16, "a space is not allowed in an address literal"),
    ("EHLO []", 5, 7, "empty address literal"),
    ("EHLO [1234.0.0.1]", 6, 10, "more than 3 digits"),
    ("EHLO [::1]", 6, 6, "needs the 'IPv6:' tag"),
    ("EHLO [IPv6:1::2::3]", 15, 17, "only one '::'"),
    ("EHLO [IPv6:12345::1]", 11, 16, "1 to 4 hex digits"),  # 5 hex digits: overlong group
    ("EHLO [IPv6:g::1]", 11, 12, "'g' in an IPv6 address"),
    ("EHLO [IPv6:1:2:3:4:5:6:7]", 11, 24, "8 groups"),
    ("EHLO [IPv6:1:2:3:4:5:6:7:8:9]", 11, 28, "8 groups"),
    ("EHLO [IPv6:1:2:3:4:5:6:7::]", 11, 26, "at most 6 groups"),  # RFC 5321, stricter than 4291
    ("EHLO [IPv6:1:2:3:4:5::1.2.3.4]", 11, 29, "at most 4 groups"),
    ("EHLO [IPv6:1:2:3:4:5:1.2.3.4]", 11, 28, "6 groups and an IPv4"),
    ("EHLO [IPv6::1]", 11, 12, "single ':'"),
    ("EHLO [IPv6:1:]", 12, 13, "single ':'"),
    ("EHLO [IPv6:::1.2.3.999]", 19, 22, "999 is out of range"),
    ("EHLO [IPv6:]", 11, 11, "empty IPv6"),
    ("EHLO [foo]", 6, 9, "expected an IPv4 address"),
    ("EHLO [x-tag:]", 12, 13, "content after the tag"),
    # MAIL FROM:
    ("MAIL", 4, 4, "MAIL needs FROM:<reverse-path>"),
    ("MAIL <a@example.org>", 5, 6, "expected FROM:"),
    ("MAIL TO:<a@example.org>", 5, 8, "MAIL takes FROM:, not TO:"),
    ("MAIL FROM<a@example.org>", 9, 10, "expected ':' after FROM"),
    ("MAIL FROM:", 10, 10, "expected '<'"),
    ("MAIL FROM:a@example.org", 10, 11, "angle brackets"),
    ("MAIL FROM:<a@example.org", 24, 24, "missing '>'"),   # column == len(line)
    ("MAIL FROM:<a@example.org x>", 24, 25, "expected '>'"),
    ("MAIL FROM:<a@example.org>x", 25, 26, "expected a space"),
    ("MAIL FROM:<a>", 12, 13, "needs '@' and a domain"),
    ("MAIL FROM:<Postmaster>", 21, 22, "needs '@' and a domain"),  # only RCPT has <Postmaster>
    ("MAIL FROM:<a@>", 13, 14, "expected a domain"),
    ("MAIL FROM:<@example.org>", 23, 24, "expected ',' or ':'"),
    ("MAIL FROM:<a b@example.org>", 12, 13, "a space is not allowed in a local-part"),
    ("MAIL FROM:<a(b)@example.org>", 12, 13, "'(' is not allowed in a local-part"),
    ("MAIL FROM:<.a@example.org>", 11, 12, "must not start with '.'"),
    ("MAIL FROM:<a.@example.org>", 12, 13, "must not end with '.'"),
    ("MAIL FROM:<a..b@example.org>", 13, 14, "empty atom"),
    ("MAIL FROM:<a\\b@example.org>", 12, 13, "'\\' is not allowed in a local-part"),
    ('MAIL FROM:<"abc@example.org>', 28, 28, "unterminated quoted string"),
    ('MAIL FROM:<"a\tb"@example.org>', 13, 14, "tab"),       # no HT in qtextSMTP
    ('MAIL FROM:<"a\\\x01"@example.org>', 14, 15, "cannot be quoted"),
    ('MAIL FROM:<"ab"c@example.org>', 15, 16, "'c' is not allowed in a local-part"),
    ("MAIL FROM:<a@exam_ple.org>", 17, 18, "'_' is not allowed"),
    ("MAIL FROM:<a@example.org.>", 24, 25, "must not end with '.'"),
    ("MAIL FROM:<a@[300.1.1.1]>", 14, 17, "300 is out of range"),
    ("MAIL FROM:<a@#123>", 13, 17, "MUST NOT be used"),
    # ESMTP parameters
    ("MAIL FROM:<a@example.org> SIZE=12k", 33, 34, "'k'"),
    ("MAIL FROM:<a@example.org> SIZE=123456789012345678901", 51, 52, "at most 20 digits"),
    ("MAIL FROM:<a@example.org> SIZE", 26, 30, "SIZE needs a value"),
    ("MAIL FROM:<a@example.org> SIZE=", 30, 31, "'=' without a value"),
    ("MAIL FROM:<a@example.org> SIZE=1 SIZE=2", 33, 37, "duplicate parameter SIZE"),
    ("MAIL FROM:<a@example.org> size=1 SIZE=2", 33, 37, "duplicate parameter SIZE"),
    ("MAIL FROM:<a@example.org> BODY=8BIT", 31, 35, "not one of 7BIT / 8BITMIME / BINARYMIME"),
    ("MAIL FROM:<a@example.org> RET=ALL", 30, 33, "not one of FULL / HDRS"),
    ("MAIL FROM:<a@example.org> ENVID=a+2b", 33, 36, "two upper-case hex digits"),
    ("MAIL FROM:<a@example.org> ENVID=a+", 33, 34, "two upper-case hex digits"),
    ("MAIL FROM:<a@example.org> ENVID=" + "x" * 101, 132, 133, "limit is 100"),
    ("MAIL FROM:<a@example.org> AUTH=a+b", 32, 34, "two hex digits"),
    ("MAIL FROM:<a@example.org> SMTPUTF8=yes", 34, 38, "SMTPUTF8 takes no value"),
    ("MAIL FROM:<a@example.org> NOTIFY=NEVER", 26, 32, "NOTIFY is a RCPT parameter"),
    ("MAIL FROM:<a@example.org> BY=soon", 29, 33, "by-time;by-mode"),
    ("MAIL FROM:<a@example.org> MT-PRIORITY=10", 38, 40, "from -9 to 9"),
    ("MAIL FROM:<a@example.org> SI_ZE=1", 28, 29, "'_' is not allowed in a parameter keyword"),
    ("MAIL FROM:<a@example.org> -SIZE=1", 26, 27, "'-' is not allowed in a parameter keyword"),
    ("MAIL FROM:<a@example.org> =1", 26, 27, "keyword missing"),
    ("MAIL FROM:<a@example.org> FOO=a=b", 31, 32, "'=' is not allowed in a parameter value"),
    ("MAIL FROM:<a@example.org> FOO=a\x01", 31, 32, "U+0001"),
    # RCPT TO:
    ("RCPT", 4, 4, "RCPT needs TO:<forward-path>"),
    ("RCPT FROM:<a@example.org>", 5, 10, "RCPT takes TO:, not FROM:"),
    ("RCPT TO:<>", 8, 10, "the null path <> is only a reverse-path"),
    ("RCPT TO:<a@example.org> SIZE=10", 24, 28, "SIZE is a MAIL parameter"),
    ("RCPT TO:<a@example.org> NOTIFY=NEVER,SUCCESS", 31, 36, "NEVER cannot be combined"),
    ("RCPT TO:<a@example.org> NOTIFY=SUCCESS,SUCCESS", 39, 46, "SUCCESS appears twice"),
    ("RCPT TO:<a@example.org> NOTIFY=SUCCESS,", 38, 39, "empty list item"),
    ("RCPT TO:<a@example.org> NOTIFY=SOMETIMES", 31, 40, "not SUCCESS, FAILURE or DELAY"),
    ("RCPT TO:<a@example.org> ORCPT=a@example.org", 30, 43, "addr-type;xtext"),
    ("RCPT TO:<a@example.org> ORCPT=;a@example.org", 30, 31, "address type"),
    ("RCPT TO:<a@example.org> ORCPT=rfc822;a+zz", 38, 41, "two upper-case hex digits"),
    ("RCPT TO:<a@example.org> ORCPT=rfc822;a+2b", 38, 41, "two upper-case hex digits"),
    ("RCPT TO:<a@example.org> ORCPT=rfc822;" + "x" * 488, 524, 525, "limit is 500"),
    ("RCPT TO:<@a.example,b.example:c@d.example>", 20, 21, "'@domain' after ','"),
    # SEND / SOML / SAML take a reverse-path like MAIL (and are obsolete: see warnings)
    ("SEND TO:<a@example.org>", 5, 8, "SEND takes FROM:, not TO:"),
    ("SOML FROM:<a@example.org", 24, 24, "missing '>'"),
    ("SAML FROM:<a@example.org> NOTIFY=NEVER", 26, 32, "NOTIFY is a RCPT parameter"),
    # verbs without arguments (§4.1.1: SHOULD get 501)
    ("DATA now", 5, 8, "DATA takes no argument"),
    ("RSET all", 5, 8, "RSET takes no argument"),
    ("QUIT please", 5, 11, "QUIT takes no argument"),
    ("STARTTLS now", 9, 12, "STARTTLS takes no argument"),
    ("TURN x", 5, 6, "TURN takes no argument"),
    ("VERB 1", 5, 6, "VERB takes no argument"),
    ("ONEX 1", 5, 6, "ONEX takes no argument"),
    ("XUSR 1", 5, 6, "XUSR takes no argument"),
    ("DATA\x01", 4, 5, "U+0001"),
    # VRFY / EXPN / HELP / NOOP
    ("VRFY", 4, 4, "VRFY needs an argument"),
    ("EXPN", 4, 4, "EXPN needs an argument"),
    ("VRFY Mark Crispin", 10, 17, "unexpected text"),
    ("VRFY a(b)", 6, 7, "'(' is not allowed in a String"),
    ("VRFY (a)", 5, 6, "'(' cannot start a String"),
    ("VRFY a@", 7, 7, "expected a domain"),
    ("VRFY a@b_c.example", 8, 9, "'_'"),
    ('VRFY "unterminated', 18, 18, "unterminated"),
    ("HELP MAIL FROM", 10, 14, "unexpected text"),
    ("NOOP a b", 7, 8, "unexpected text"),
    # AUTH (RFC 4954), BDAT (RFC 3030), ETRN (RFC 1985)
    ("AUTH", 4, 4, "SASL mechanism"),
    ("AUTH PL@IN", 7, 8, "'@' is not allowed in a SASL mechanism"),
    ("AUTH ABCDEFGHIJKLMNOPQRSTU", 5, 26, "1 to 20 characters"),
    ("AUTH PLAIN AGFsaWNl!", 19, 20, "'!' is not base64"),
    ("AUTH PLAIN AGFsaW", 11, 17, "not a multiple of 4"),
    ("AUTH PLAIN AG=sa", 13, 14, "only appear at the end"),
    ("AUTH PLAIN AGFs extra", 16, 21, "unexpected text"),
    ("BDAT", 4, 4, "chunk size"),
    ("BDAT ten", 5, 6, "expected the chunk size"),
    ("BDAT 10x", 7, 8, "digits only"),
    ("BDAT 10 FIRST", 8, 13, "only LAST"),
    ("BDAT 10 LAST more", 13, 17, "unexpected text"),
    ("ETRN", 4, 4, "ETRN needs a node"),
    ("ETRN #", 6, 6, "queue name"),
    ("ETRN @exa_mple.org", 9, 10, "'_'"),
    ("ETRN example.org now", 17, 20, "unexpected text"),
]


@pytest.mark.parametrize(("line", "start", "end", "words"), ERRORS_5321)
def test_errors_rfc5321(line: str, start: int, end: int, words: str) -> None:
    found = errors(line)
    assert found, f"no error for {line!r}"
    first = found[0]
    assert (first.start, first.end) == (start, end), first
    assert words in first.message, first.message
    assert first.rule.startswith(("RFC ", "sendmail")), first.rule


ERRORS_821 = [
    ("RCPT TO:<Postmaster>", 9, 19, "no domainless <Postmaster>"),
    ("RCPT TO:<x@[IPv6:2001:db8::1]>", 12, 17, "[dotnum] IPv4 only"),
    # verbs RFC 821 does not have
    ("EHLO USC-ISIF.ARPA", 0, 4, "EHLO is not in RFC 821 (EHLO is RFC 1869)"),
    ("STARTTLS", 0, 8, "not in RFC 821 (STARTTLS is RFC 3207)"),
    ("AUTH PLAIN", 0, 4, "not in RFC 821 (AUTH is RFC 4954)"),
    ("BDAT 10 LAST", 0, 4, "not in RFC 821 (BDAT is RFC 3030)"),
    ("ETRN ABC.ARPA", 0, 4, "not in RFC 821 (ETRN is RFC 1985)"),
    ("VERB", 0, 4, "non-standard"),
    ("ONEX", 0, 4, "not in RFC 821"),
    ("XUSR", 0, 4, "not in RFC 821"),
    ("XFOO", 0, 4, "unknown command 'XFOO'"),   # no X-command leniency in 1982
    ("FOOBAR", 0, 6, "four alphabetic characters"),
    # <domain> and <name>
    ("HELO ab", 5, 7, "at least 3 characters"),
    ("HELO a.bcd", 5, 6, "at least 3 characters"),
    ("HELO 3com", 5, 6, "must start with a letter"),
    ("HELO abc-", 8, 9, "must end with a letter or digit"),
    ("HELO ab_c", 7, 8, "'_' is not allowed"),
    ("HELO #", 6, 6, "decimal host number"),
    ("HELO #12a", 8, 9, "'a' is not allowed after the domain"),
    ("HELO [1.2.3.300]", 12, 15, "300 is out of range"),
    ("HELO [IPv6:::1]", 6, 11, "[dotnum] IPv4 only"),
    ("HELO " + "abc." * 16 + "abc", 5, 72, "limit is 64"),     # RFC 821 §4.5.3: 64 chars
    # <path>
    ("RCPT TO:<>", 8, 10, "cannot be empty"),
    ("MAIL FROM:<Smith@USC-ISIF.ARPA> SIZE=100", 32, 40, "nothing after the path"),
    ("MAIL FROM: <Smith@USC-ISIF.ARPA>", 10, 11, "no space is allowed after 'FROM:'"),
    ("MAIL FROM :<Smith@USC-ISIF.ARPA>", 9, 10, "no space is allowed before"),
    ("MAIL FROM:<Smith@USC-ISIF.ARPA", 30, 30, "missing '>'"),
    ("MAIL FROM:<Sm\u00efth@ABC.ARPA>", 13, 14, "non-ASCII character"),  # 7-bit only
    ('MAIL FROM:<""@ABC.ARPA>', 11, 13, "cannot be empty"),
    ("MAIL FROM:<a@b.c>", 13, 14, "at least 3 characters"),
    ("MAIL FROM:<Smith\\>", 18, 18, "expected '@'"),
    # <string>
    ("VRFY Admin.MRC", 10, 11, "'.' is a <special>"),
    ("VRFY Smith@ABC.ARPA", 10, 11, "'@' is a <special>"),
    ("VRFY Mark Crispin", 9, 10, "a space ends the <string>"),
    ("VRFY Mark\\", 9, 10, "'\\' at the end"),
    ("VRFY Mark\\\u00fc", 10, 11, "cannot be quoted"),   # <x> is ASCII only
    ("EXPN", 4, 4, "EXPN needs an argument"),
    ("HELP a.b", 6, 7, "<special>"),
    # NOOP has no argument in RFC 821
    ("NOOP ping", 5, 9, "NOOP takes no argument in RFC 821"),
    ("DATA now", 5, 8, "DATA takes no argument"),
    ("RSET all", 5, 8, "RSET takes no argument"),
    ("QUIT now", 5, 8, "QUIT takes no argument"),
    ("TURN x", 5, 6, "TURN takes no argument"),
    ("SEND FROM:<EAK@MIT-MC.ARPA> x", 28, 29, "nothing after the path"),
    ("SOML TO:<EAK@MIT-MC.ARPA>", 5, 8, "SOML takes FROM:, not TO:"),
    ("SAML FROM:<EAK>", 14, 15, "needs '@' and a domain"),
    ("VRFY", 4, 4, "VRFY needs an argument"),
    ("HELO", 4, 4, "HELO needs a domain"),
    ("MAIL", 4, 4, "MAIL needs FROM:"),
    ("RCPT TO:<a@bc>", 11, 13, "at least 3 characters"),
]


@pytest.mark.parametrize(("line", "start", "end", "words"), ERRORS_821)
def test_errors_rfc821(line: str, start: int, end: int, words: str) -> None:
    found = errors(line, "rfc821")
    assert found, f"no error for {line!r}"
    first = found[0]
    assert (first.start, first.end) == (start, end), first
    assert words in first.message, first.message
    assert first.rule.startswith("RFC 821"), first.rule


# ---------------------------------------------------------------------------------------
# Warnings: accepted (no error), but worth knowing. (line, start, end, words, rule prefix)
# ---------------------------------------------------------------------------------------

WARNINGS_5321 = [
    ("MAIL FROM: <a@example.org>", 10, 11, "space after 'FROM:'", "RFC 5321 §3.3"),
    ("MAIL FROM :<a@example.org>", 9, 10, "before the ':'", "RFC 5321 §3.3"),
    ("RCPT TO: <b@example.org>", 8, 9, "space after 'TO:'", "RFC 5321 §3.3"),
    ("MAIL  FROM:<a@example.org>", 5, 6, "more than one space after the verb", "RFC 5321"),
    ("MAIL FROM:<a@example.org>  SIZE=1", 26, 27, "more than one space between", "RFC 5321"),
    ("DATA ", 4, 5, "trailing space", "RFC 5321 §4.1.1"),
    ("MAIL FROM:<a@example.org> ", 25, 26, "trailing space", "RFC 5321 §4.1.1"),
    ("QUIT  ", 4, 6, "trailing space", "RFC 5321 §4.1.1"),
    ("SEND FROM:<a@example.org>", 0, 4, "obsolete", "RFC 5321 App. F.6"),
    ("SOML FROM:<a@example.org>", 0, 4, "obsolete", "RFC 5321 App. F.6"),
    ("SAML FROM:<a@example.org>", 0, 4, "obsolete", "RFC 5321 App. F.6"),
    ("TURN", 0, 4, "deprecated", "RFC 5321 App. F.1"),
    ("RCPT TO:<@relay.example:b@example.org>", 9, 24, "source route", "RFC 5321 App. F.2"),
    ("MAIL FROM:<@a.example,@b.example:x@example.org>", 11, 33, "source route",
     "RFC 5321 App. F.2"),
    ("MAIL FROM:<j\u00fcrgen@example.org>", 11, 17, "SMTPUTF8", "RFC 6531"),
    ("RCPT TO:<user@b\u00fccher.example>", 14, 20, "SMTPUTF8", "RFC 6531"),
    ('MAIL FROM:<"j\u00fcrgen"@example.org>', 11, 19, "SMTPUTF8", "RFC 6531"),
    ("HELO b\u00fccher.example", 5, 11, "SMTPUTF8", "RFC 6531"),
    ("VRFY j\u00fcrgen", 5, 11, "SMTPUTF8", "RFC 6531"),
    ("MAIL FROM:<a@example.org> FOO=bar", 26, 29, "unknown parameter FOO", "RFC 1869 §6"),
    ("XCLIENT ADDR=192.0.2.1", 0, 7, "X-commands are private", "RFC 5321 §4.1.5"),
    ("EHLO [x-foo:bar]", 6, 11, "not registered", "RFC 5321 §4.1.3"),
    ("AUTH plain", 5, 10, "upper case", "RFC 4422"),
    ("VRFY <smith@example.org>", 5, 24, "angle brackets", "RFC 5321 §3.5.3"),
    ("HELO " + ("a" * 64) + ".example", 5, 69, "at most 63", "RFC 1035"),
    # unknown parameters do not raise the 512-octet limit (known ones do)
    ("MAIL FROM:<a@example.org> X-BIG=" + "y" * 500, 26, 532, "only extensions the server",
     "RFC 1869 §4.1.2"),
    # sendmail's verbs are known (their syntax is checked) but in no RFC
    ("VERB", 0, 4, "VERB is not in any RFC", "RFC 5321 §2.2.2"),
    ("onex", 0, 4, "ONEX is not in any RFC", "RFC 5321 §2.2.2"),
    ("XUSR", 0, 4, "XUSR is not in any RFC", "RFC 5321 §2.2.2"),
]


@pytest.mark.parametrize(("line", "start", "end", "words", "rule"), WARNINGS_5321)
def test_warnings_rfc5321(line: str, start: int, end: int, words: str, rule: str) -> None:
    diags = check(line)
    assert [d for d in diags if d.is_error] == []
    assert len(diags) == 1, diags
    (w,) = diags
    assert w.severity is Severity.WARNING
    assert (w.start, w.end) == (start, end), w
    assert words in w.message, w.message
    assert w.rule.startswith(rule), w.rule


def test_smtputf8_parameter_allows_non_ascii_mailbox() -> None:
    assert check("MAIL FROM:<j\u00fcrgen@b\u00fccher.example> SMTPUTF8") == []
    assert len(warnings("MAIL FROM:<j\u00fcrgen@b\u00fccher.example>")) == 2


def test_several_problems_are_reported_in_column_order() -> None:
    line = "MAIL FROM: <a@example.org> SIZE=x FOO=1"
    diags = check(line)
    assert [d.severity for d in diags] == [Severity.WARNING, Severity.ERROR, Severity.WARNING]
    assert [(d.start, d.end) for d in diags] == [(10, 11), (32, 33), (34, 37)]


# ---------------------------------------------------------------------------------------
# Every verb of the command table is checked, in both dialects
# ---------------------------------------------------------------------------------------


def test_every_verb_has_valid_and_invalid_rows_in_both_dialects() -> None:
    valid_5321 = {split_command(line)[0].upper() for line in VALID_5321}
    invalid_5321 = {split_command(line)[0].upper() for line, *_ in ERRORS_5321}
    valid_821 = {split_command(line)[0].upper() for line in VALID_821}
    invalid_821 = {split_command(line)[0].upper() for line, *_ in ERRORS_821}
    warned_5321 = {split_command(line)[0].upper() for line, *_ in WARNINGS_5321}
    for verb, spec in COMMANDS.items():
        assert verb in invalid_5321, verb
        assert verb in invalid_821, verb
        if spec.origin is Origin.RFC821:
            assert verb in valid_821, verb
        if spec.obsolete_5321 or spec.origin is Origin.NONSTANDARD:
            assert verb in warned_5321, verb    # legal, but drawing a warning
        else:
            assert verb in valid_5321, verb


@pytest.mark.parametrize("verb", [v for v, s in COMMANDS.items() if s.origin is not Origin.RFC821])
def test_extension_verbs_are_errors_under_rfc821(verb: str) -> None:
    (e,) = errors(verb, "rfc821")
    assert (e.start, e.end) == (0, len(verb))
    assert f"{verb} is not in RFC 821" in e.message


@pytest.mark.parametrize("verb", list(COMMANDS))
def test_every_verb_is_case_insensitive(verb: str) -> None:
    for dialect in ("rfc821", "rfc5321"):
        assert check(verb.lower(), dialect) == check(verb, dialect)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------
# Size limits (RFC 821 §4.5.3, RFC 5321 §4.5.3.1)
# ---------------------------------------------------------------------------------------


def test_local_part_64_octets_ok_65_too_long() -> None:
    assert check(f"RCPT TO:<{'a' * 64}@example.org>") == []
    (e,) = errors(f"RCPT TO:<{'a' * 65}@example.org>")
    assert (e.start, e.end) == (9, 74)
    assert "local-part is 65 octets" in e.message
    assert e.rule == "RFC 5321 §4.5.3.1.1"


def test_local_part_limit_counts_utf8_octets() -> None:
    u = "\u00fc"                                                # 2 octets in UTF-8
    assert check(f"MAIL FROM:<{u * 32}@example.org> SMTPUTF8") == []     # 64 octets
    (e,) = errors(f"MAIL FROM:<{u * 33}@example.org> SMTPUTF8")          # 66 octets
    assert "66 octets" in e.message
    assert (e.start, e.end) == (11, 44)


def test_local_part_limit_rfc821() -> None:
    assert check(f"RCPT TO:<{'a' * 64}@ABC.ARPA>", "rfc821") == []
    (e,) = errors(f"RCPT TO:<{'a' * 65}@ABC.ARPA>", "rfc821")
    assert "65 characters" in e.message and e.rule == "RFC 821 §4.5.3"


def _domain(octets: int) -> str:
    labels, left = [], octets
    while left > 0:
        size = min(63, left)
        if left - size == 1:       # never leave a lone "." with no label after it
            size -= 2
        labels.append("a" * size)
        left -= size + 1
    name = ".".join(labels)
    assert len(name) == octets
    return name


def test_domain_255_octets_ok_256_too_long() -> None:
    assert check(f"EHLO {_domain(255)}") == []
    (e,) = errors(f"EHLO {_domain(256)}")
    assert (e.start, e.end) == (5, 261)
    assert "256 octets" in e.message and e.rule == "RFC 5321 §4.5.3.1.2"


def test_path_256_octets_ok_257_too_long() -> None:
    local = "a" * 64
    ok = f"<{local}@{_domain(256 - 64 - 3)}>"
    assert len(ok) == 256
    assert check(f"RCPT TO:{ok}") == []
    long = f"<{local}@{_domain(257 - 64 - 3)}>"
    (e,) = errors(f"RCPT TO:{long}")
    assert (e.start, e.end) == (8, 8 + 257)
    assert "path is 257 octets" in e.message and e.rule == "RFC 5321 §4.5.3.1.3"


def test_command_line_512_octets_with_crlf() -> None:
    ok = "NOOP " + "x" * 505
    assert len(ok) == 510 and check(ok) == []
    assert check(ok + "\r\n") == []               # a trailing CRLF is tolerated and dropped
    (e,) = errors(ok + "x")
    assert (e.start, e.end) == (510, 511)
    assert "513 octets with CRLF; the limit is 512" in e.message
    assert e.rule == "RFC 5321 §4.5.3.1.4"


def test_command_line_limit_counts_octets_not_characters() -> None:
    line = "NOOP " + "\u00fc" * 253                  # 5 + 506 octets = 511
    (e,) = errors(line)
    assert (e.start, e.end) == (257, 258)            # the character that crosses 510 octets


def test_command_line_limit_rfc821() -> None:
    assert check("HELP " + "x" * 505, "rfc821") == []
    (e,) = errors("HELP " + "x" * 506, "rfc821")
    assert e.rule == "RFC 821 §4.5.3" and "characters" in e.message


def test_parameters_do_not_count_towards_512() -> None:
    # RFC 1869 §4.1.2: each extension raises the limit by its parameters' length.
    line = ("MAIL FROM:<alice@example.org> SIZE=1000 RET=HDRS ENVID=" + "E" * 100
            + " AUTH=" + "a" * 400)
    assert len(line) > 512
    assert check(line) == []


def test_known_parameters_raise_the_limit_unknown_ones_do_not() -> None:
    path = "RCPT TO:<b@example.org>"
    assert check(f"{path} ORCPT=rfc822;{'a' * 480} NOTIFY=NEVER") == []
    (w,) = check(f"{path} X-A={'a' * 240} X-B={'b' * 240} NOTIFY=NEVER")
    assert w.severity is Severity.WARNING and w.start == len(path) + 1
    assert "line is 515 octets" in w.message     # 23 + 2 * (1 + 244) + CRLF


def test_auth_line_is_still_limited() -> None:
    line = "AUTH PLAIN " + "QUFB" * 125
    (e,) = errors(line)
    assert "334" in e.message and e.start == 510


# ---------------------------------------------------------------------------------------
# Capabilities: extensions the server did not advertise are warnings
# ---------------------------------------------------------------------------------------


class FakeCapabilities:
    """What the checker needs of core.ehlo.Capabilities: ``in`` and a few properties."""

    def __init__(self, *keywords: str, size: int | None = None,
                 mechanisms: tuple[str, ...] = ()) -> None:
        self.keywords = frozenset(k.upper() for k in keywords)
        self.size_limit = size
        self.auth_mechanisms = mechanisms

    def __contains__(self, keyword: str) -> bool:
        return keyword.upper() in self.keywords


CAPS = FakeCapabilities("SIZE", "8BITMIME", "PIPELINING", "STARTTLS", size=1000,
                        mechanisms=("PLAIN", "LOGIN"))


@pytest.mark.parametrize(("line", "start", "end", "words"), [
    ("BDAT 100 LAST", 0, 4, "did not advertise CHUNKING"),
    ("ETRN example.org", 0, 4, "did not advertise ETRN"),
    ("EXPN staff", 0, 4, "did not advertise EXPN"),
    ("AUTH PLAIN", 0, 4, "did not advertise AUTH"),
    ("MAIL FROM:<a@example.org> RET=HDRS", 26, 34, "did not advertise DSN"),
    ("RCPT TO:<b@example.org> NOTIFY=NEVER", 24, 36, "did not advertise DSN"),
    ("MAIL FROM:<a@example.org> BODY=BINARYMIME", 26, 41, "did not advertise BINARYMIME"),
    ("MAIL FROM:<a@example.org> SMTPUTF8", 26, 34, "did not advertise SMTPUTF8"),
    ("MAIL FROM:<a@example.org> SIZE=5000", 31, 35, "limit of 1000"),
])
def test_unadvertised_extensions_warn(line: str, start: int, end: int, words: str) -> None:
    diags = check(line, capabilities=CAPS)  # type: ignore[arg-type]
    assert [(d.severity, d.start, d.end) for d in diags] == [(Severity.WARNING, start, end)]
    assert words in diags[0].message


@pytest.mark.parametrize("line", [
    "EHLO client.example.org", "HELO client.example.org", "MAIL FROM:<a@example.org>",
    "RCPT TO:<b@example.org>", "DATA", "RSET", "NOOP", "QUIT", "VRFY postmaster",
    "STARTTLS", "MAIL FROM:<a@example.org> SIZE=999 BODY=8BITMIME",
])
def test_minimum_verbs_and_advertised_extensions_do_not_warn(line: str) -> None:
    assert check(line, capabilities=CAPS) == []  # type: ignore[arg-type]


def test_sendmail_verbs_warn_once_and_not_when_advertised() -> None:
    sendmail = FakeCapabilities("VERB", "ONEX", "XUSR")
    for verb in ("VERB", "ONEX", "XUSR"):
        assert check(verb, capabilities=sendmail) == []  # type: ignore[arg-type]
        (w,) = check(verb, capabilities=CAPS)  # type: ignore[arg-type]
        assert f"did not advertise {verb}" in w.message
        (w,) = check(verb)
        assert "not in any RFC" in w.message


def test_auth_mechanism_not_offered() -> None:
    caps = FakeCapabilities("AUTH", mechanisms=("PLAIN", "LOGIN"))
    (w,) = check("AUTH CRAM-MD5", capabilities=caps)  # type: ignore[arg-type]
    assert "offers PLAIN LOGIN" in w.message and (w.start, w.end) == (5, 13)


def test_capabilities_do_not_apply_to_rfc821() -> None:
    assert check("EXPN Staff", "rfc821", FakeCapabilities()) == []  # type: ignore[arg-type]


def test_a_plain_set_of_keywords_works_as_capabilities() -> None:
    caps = frozenset({"SIZE", "DSN"})
    assert check("MAIL FROM:<a@example.org> SIZE=10 RET=FULL", capabilities=caps) == []  # type: ignore[arg-type]
    assert len(check("BDAT 1 LAST", capabilities=caps)) == 1  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------
# Small API points
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("line", "expected"), [
    ("MAIL FROM:<a@b>", ("MAIL", "FROM:<a@b>")),
    ("mail   FROM:<a@b>", ("mail", "FROM:<a@b>")),
    ("DATA", ("DATA", "")),
    ("DATA\r\n", ("DATA", "")),
    ("QUIT\n", ("QUIT", "")),
    ("HELO ", ("HELO", "")),
    ("", ("", "")),
])
def test_split_command(line: str, expected: tuple[str, str]) -> None:
    assert split_command(line) == expected


def test_trailing_crlf_or_lf_is_tolerated() -> None:
    assert check("MAIL FROM:<a@example.org>\r\n") == []
    assert check("MAIL FROM:<a@example.org>\n") == []
    (e,) = errors("MAIL FROM:<a@example.org\r\n")
    assert e.start == e.end == 24                     # columns of the line without CRLF


def test_unknown_dialect_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="rfc2821"):
        check("DATA", "rfc2821")  # type: ignore[arg-type]


def test_case_is_preserved_in_messages_about_mailboxes() -> None:
    (e,) = errors("RCPT TO:<Smith.@Example.ORG>")
    assert e.start == 14 and "'.'" in e.message


# ---------------------------------------------------------------------------------------
# Properties: never raises, spans always inside the line
# ---------------------------------------------------------------------------------------

_PIECES = st.sampled_from([
    "MAIL", "RCPT", "HELO", "EHLO", "DATA", "VRFY", "AUTH", "BDAT", "ETRN", "NOOP", "HELP",
    "SEND", " ", "  ", "FROM:", "TO:", "<", ">", "<>", "@", ".", ",", ":", '"', "\\", "[",
    "]", "IPv6:", "::", "1", "255", "256", "a", "example", "org", "-", "_", "#", "=",
    "SIZE=", "BODY=", "NOTIFY=", "ORCPT=", "rfc822;", "+2B", "+", "SMTPUTF8", "LAST",
    "\u00fc", "\t", "\r", "\n", "\x00", "\ud800", "Postmaster", "PLAIN", "==", "x" * 70,
])


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=80), st.lists(_PIECES, max_size=25).map("".join)),
       st.sampled_from(["rfc821", "rfc5321"]),
       st.booleans())
def test_check_never_raises_and_spans_are_in_range(line: str, dialect: str,
                                                    with_caps: bool) -> None:
    diags = check(line, dialect, CAPS if with_caps else None)  # type: ignore[arg-type]
    n = len(line)
    if line.endswith("\r\n"):
        n -= 2
    elif line.endswith("\n"):
        n -= 1
    for d in diags:
        assert 0 <= d.start <= d.end <= n, (d, n)
        assert d.message and d.rule
    assert [d.start for d in diags] == sorted(d.start for d in diags)


# ---------------------------------------------------------------------------------------
# Text that is not UTF-8 (argv and stdin are decoded with surrogateescape)
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["rfc821", "rfc5321"])
@pytest.mark.parametrize(("raw", "column", "octet"), [
    (b"VRFY j\xfcrgen", 6, "0xFC"),
    (b"RCPT TO:<\xe9@example.org> NOTIFY=NEVER", 9, "0xE9"),
    (b"\xff\xfeHELO x", 0, "0xFF"),
    (b"MAIL FROM:<j\xc3\xbcrgen@example.org> SMTPUTF8 X=\xc3", 42, "0xC3"),
])
def test_octets_that_are_not_utf8_are_an_error_in_every_dialect(
        raw: bytes, column: int, octet: str, dialect: str) -> None:
    line = raw.decode("utf-8", "surrogateescape")
    (d,) = check(line, dialect)  # type: ignore[arg-type]
    assert d.is_error and (d.start, d.end) == (column, column + 1)
    assert d.message.startswith(f"octet {octet} is not valid UTF-8")
    assert "RFC 6531" in d.rule


def test_a_lone_surrogate_is_an_error() -> None:
    (d,) = check("NOOP \ud800")
    assert d.is_error and d.start == 5 and "U+D800" in d.message


def test_valid_utf8_with_smtputf8_is_still_fine() -> None:
    line = b"MAIL FROM:<j\xc3\xbcrgen@example.org> SMTPUTF8".decode("utf-8", "surrogateescape")
    assert check(line) == []
