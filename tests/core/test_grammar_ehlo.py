"""The grammar checker with a real EHLO reply (core.ehlo.Capabilities)."""

from __future__ import annotations

from smtptui.core.ehlo import parse_ehlo
from smtptui.core.grammar import check
from smtptui.core.replies import Reply

POSTFIX_LIKE = parse_ehlo(Reply.from_text(
    "250-mx.example.org\n"
    "250-PIPELINING\n"
    "250-SIZE 10240000\n"
    "250-ETRN\n"
    "250-STARTTLS\n"
    "250-AUTH PLAIN login\n"
    "250-ENHANCEDSTATUSCODES\n"
    "250-8BITMIME\n"
    "250-DSN\n"
    "250 CHUNKING"
))


def test_advertised_extensions_are_quiet() -> None:
    for line in [
        "MAIL FROM:<a@example.org> SIZE=1000 BODY=8BITMIME RET=HDRS ENVID=x1",
        "RCPT TO:<b@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.net",
        "BDAT 100 LAST", "ETRN example.org", "STARTTLS", "AUTH PLAIN", "AUTH LOGIN",
    ]:
        assert check(line, capabilities=POSTFIX_LIKE) == [], line


def test_what_the_server_did_not_offer_is_a_warning() -> None:
    def remarks(line: str) -> list[tuple[int, int, str]]:
        return [(d.start, d.end, d.severity.value)
                for d in check(line, capabilities=POSTFIX_LIKE)]

    assert remarks("MAIL FROM:<a@example.org> SMTPUTF8") == [(26, 34, "warning")]
    assert remarks("MAIL FROM:<a@example.org> SIZE=20000000") == [(31, 39, "warning")]
    assert remarks("EXPN staff") == [(0, 4, "warning")]
    assert remarks("AUTH CRAM-MD5") == [(5, 13, "warning")]
    assert remarks("MAIL FROM:<a@example.org> BODY=BINARYMIME") == [(26, 41, "warning")]
