"""EHLO capability parsing on real server replies."""

from __future__ import annotations

from smtptui.core.diagnostics import Severity
from smtptui.core.ehlo import Capabilities, parse_ehlo
from smtptui.core.extensions import describe
from smtptui.core.replies import Reply

# sendmail 8.9.1a, as captured in a 1999 session (greeting "ESMTP Sendmail 8.9.1a/3.7W").
SENDMAIL_891 = """\
250-square.csce.kyushu-u.ac.jp Hello ace.csce.kyushu-u.ac.jp [133.5.22.15], pleased to meet you
250-EXPN
250-VERB
250-8BITMIME
250-SIZE
250-DSN
250-ONEX
250-ETRN
250-XUSR
250 HELP"""

# RFC 1870 §8 example.
RFC1870 = """\
250-sigurd.innosoft.com
250-EXPN
250-HELP
250 SIZE 1000000"""

POSTFIX = """\
250-mail.example.org
250-PIPELINING
250-SIZE 52428800
250-VRFY
250-ETRN
250-STARTTLS
250-ENHANCEDSTATUSCODES
250-8BITMIME
250-DSN
250-SMTPUTF8
250 CHUNKING"""


def caps(text: str) -> Capabilities:
    return parse_ehlo(Reply.from_text(text))


def test_sendmail_891() -> None:
    c = caps(SENDMAIL_891)
    assert c.domain == "square.csce.kyushu-u.ac.jp"
    assert c.greeting == "Hello ace.csce.kyushu-u.ac.jp [133.5.22.15], pleased to meet you"
    assert [i.keyword for i in c.items] == ["EXPN", "VERB", "8BITMIME", "SIZE", "DSN", "ONEX",
                                           "ETRN", "XUSR", "HELP"]
    assert "SIZE" in c and c.size_limit is None  # advertised without a number
    for kw in ("expn", "VERB", "Onex", "XUSR", "HELP", "ETRN", "DSN", "8BITMIME"):
        assert kw in c
    assert c.eight_bit_mime and c.dsn and not c.starttls and not c.pipelining
    assert c.etrn and c.expn and c.help and c.verb and c.onex and c.xusr
    assert c.auth_mechanisms == () and c.diagnostics == ()
    assert c.get("verb") is not None and c.get("VERB").description == describe("VERB")
    assert "0xy" in c.get("VERB").description


def test_rfc1870_example() -> None:
    c = caps(RFC1870)
    assert c.domain == "sigurd.innosoft.com" and c.greeting == ""
    assert c.size_limit == 1_000_000 and c.keywords == {"EXPN", "HELP", "SIZE"}
    assert c.get("SIZE").params == ("1000000",)


def test_postfix_like() -> None:
    c = caps(POSTFIX)
    assert c.size_limit == 52_428_800
    assert c.pipelining and c.starttls and c.enhanced_status_codes and c.smtputf8
    assert c.chunking and c.dsn and c.eight_bit_mime
    assert "VRFY" in c and "ETRN" in c and "AUTH" not in c
    assert c.etrn and not c.expn and not c.verb and not c.onex and not c.xusr and not c.help
    assert len(c) == 10 and c.diagnostics == ()
    rows = c.to_list()
    assert rows[1] == {"keyword": "SIZE", "params": ["52428800"],
                       "description": describe("SIZE")}


def test_size_zero_means_no_limit() -> None:
    assert caps("250-h\n250 SIZE 0").size_limit == 0
    c = caps("250-h\n250 SIZE lots")
    assert c.size_limit is None and "not a number" in c.diagnostics[0].message


def test_auth_both_forms_merged() -> None:
    c = caps("250-h\n250-AUTH LOGIN PLAIN CRAM-MD5\n250-AUTH=LOGIN PLAIN XOAUTH2\n250 OK")
    assert c.auth_mechanisms == ("LOGIN", "PLAIN", "CRAM-MD5", "XOAUTH2")
    assert "AUTH" in c and "auth=" in c
    assert c.get("AUTH").params == ("LOGIN", "PLAIN", "CRAM-MD5")
    assert c.diagnostics == ()


def test_old_auth_form_alone() -> None:
    c = caps("250-h\n250 AUTH=LOGIN")
    assert "AUTH" in c and c.auth_mechanisms == ("LOGIN",)
    assert c.get("AUTH") is not None and c.get("AUTH").keyword == "AUTH="


def test_keywords_upper_cased_params_kept() -> None:
    c = caps("250-h greets you\n250-auth login Plain\n250 x-custom Arg")
    assert [i.keyword for i in c.items] == ["AUTH", "X-CUSTOM"]
    assert c.get("auth").params == ("login", "Plain")
    assert c.auth_mechanisms == ("login", "Plain")
    assert "X-" in c.get("X-CUSTOM").description or "Local" in c.get("X-CUSTOM").description


def test_unknown_keyword_kept() -> None:
    c = caps("250-h\n250 FUTUREEXT 1 2")
    assert c.get("FUTUREEXT").params == ("1", "2")
    assert c.get("FUTUREEXT").description.startswith("Unknown")


def test_malformed_lines_kept_with_diagnostics() -> None:
    c = caps("250-h\n250-PIPE_LINING\n250-SIZE  100\n250-\n250-DSN\n250 DSN")
    assert [i.keyword for i in c.items] == ["PIPE_LINING", "SIZE", "DSN", "DSN"]
    msgs = [d.message for d in c.diagnostics]
    assert any("'PIPE_LINING' is not a valid ehlo-keyword" in m for m in msgs)
    assert any(d.severity is Severity.ERROR for d in c.diagnostics)
    assert any("extra white space" in m for m in msgs)
    assert any("empty ehlo-line" in m for m in msgs)
    assert any("advertised twice" in m for m in msgs)
    assert c.size_limit == 100


def test_single_line_reply() -> None:
    c = caps("250 mail.example.org at your service")
    assert c.domain == "mail.example.org" and c.items == () and len(c) == 0


def test_not_a_250() -> None:
    c = parse_ehlo(Reply.from_text("502 5.5.2 Error: command not recognized"))
    assert c.items == () and c.diagnostics[0].is_error


def test_reply_diagnostics_carried() -> None:
    r = Reply.from_text("250-h\n250-SIZE 10\n251 DSN")  # mixed codes
    c = parse_ehlo(r)
    assert c.dsn and any("differs" in d.message for d in c.diagnostics)


def test_to_dict() -> None:
    d = caps(POSTFIX).to_dict()
    assert d["domain"] == "mail.example.org" and d["size_limit"] == 52428800
    assert len(d["capabilities"]) == 10
