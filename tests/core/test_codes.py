"""The reply-code catalogue and explain()."""

from __future__ import annotations

import pytest

from smtptui.core.codes import (
    CATEGORIES,
    ENHANCED_CODES,
    ENHANCED_SUBJECTS,
    REPLY_CODES,
    ReplyClass,
    commands_for,
    explain,
    explain_enhanced,
    parse_enhanced,
)
from smtptui.core.replies import Reply

# RFC 821 §4.2.2 "NUMERIC ORDER LIST OF REPLY CODES" (21 codes).
RFC821_CODES = [211, 214, 220, 221, 250, 251, 354, 421, 450, 451, 452, 500, 501, 502, 503,
                504, 550, 551, 552, 553, 554]
# RFC 5321 §4.2.3 "Reply Codes in Numeric Order".
RFC5321_CODES = [211, 214, 220, 221, 250, 251, 252, 354, 421, 450, 451, 452, 455, 500, 501,
                 502, 503, 504, 550, 551, 552, 553, 554, 555]
AUTH_STARTTLS_CODES = [235, 334, 432, 454, 530, 534, 535, 538]
ETRN_CODES = [250, 251, 252, 253, 458, 459, 500, 501]
OTHER_CODES = [521, 556]

# RFC 3463 §3 enumerated codes.
RFC3463_DETAILS = {
    "X.0.0": "Other undefined Status",
    "X.1.0": "Other address status",
    "X.1.1": "Bad destination mailbox address",
    "X.1.2": "Bad destination system address",
    "X.1.3": "Bad destination mailbox address syntax",
    "X.1.4": "Destination mailbox address ambiguous",
    "X.1.5": "Destination address valid",
    "X.1.6": "Destination mailbox has moved, No forwarding address",
    "X.1.7": "Bad sender's mailbox address syntax",
    "X.1.8": "Bad sender's system address",
    "X.2.0": "Other or undefined mailbox status",
    "X.2.1": "Mailbox disabled, not accepting messages",
    "X.2.2": "Mailbox full",
    "X.2.3": "Message length exceeds administrative limit",
    "X.2.4": "Mailing list expansion problem",
    "X.3.0": "Other or undefined mail system status",
    "X.3.1": "Mail system full",
    "X.3.2": "System not accepting network messages",
    "X.3.3": "System not capable of selected features",
    "X.3.4": "Message too big for system",
    "X.3.5": "System incorrectly configured",
    "X.4.0": "Other or undefined network or routing status",
    "X.4.1": "No answer from host",
    "X.4.2": "Bad connection",
    "X.4.3": "Directory server failure",
    "X.4.4": "Unable to route",
    "X.4.5": "Mail system congestion",
    "X.4.6": "Routing loop detected",
    "X.4.7": "Delivery time expired",
    "X.5.0": "Other or undefined protocol status",
    "X.5.1": "Invalid command",
    "X.5.2": "Syntax error",
    "X.5.3": "Too many recipients",
    "X.5.4": "Invalid command arguments",
    "X.5.5": "Wrong protocol version",
    "X.6.0": "Other or undefined media error",
    "X.6.1": "Media not supported",
    "X.6.2": "Conversion required and prohibited",
    "X.6.3": "Conversion required but not supported",
    "X.6.4": "Conversion with loss performed",
    "X.6.5": "Conversion Failed",
    "X.7.0": "Other or undefined security status",
    "X.7.1": "Delivery not authorized, message refused",
    "X.7.2": "Mailing list expansion prohibited",
    "X.7.3": "Security conversion required but not possible",
    "X.7.4": "Security features not supported",
    "X.7.5": "Cryptographic failure",
    "X.7.6": "Cryptographic algorithm not supported",
    "X.7.7": "Message integrity failure",
}


@pytest.mark.parametrize(
    "code",
    sorted(set(RFC821_CODES + RFC5321_CODES + AUTH_STARTTLS_CODES + ETRN_CODES + OTHER_CODES)),
)
def test_catalogue_is_complete(code: int) -> None:
    info = REPLY_CODES[code]
    assert info.code == code and info.text and info.meaning and info.rfc.startswith("RFC")
    assert not info.meaning.lower().startswith(info.text.lower()[:20])  # own words


def test_catalogue_sources() -> None:
    assert {c for c, i in REPLY_CODES.items() if i.in_rfc821} == set(RFC821_CODES)
    assert {c for c, i in REPLY_CODES.items() if i.in_rfc5321} == set(RFC5321_CODES)
    assert REPLY_CODES[252].text.startswith("Cannot VRFY user")
    assert "RFC 1123" in REPLY_CODES[252].rfc
    assert REPLY_CODES[354].text == "Start mail input; end with <CRLF>.<CRLF>"


def test_552_versus_452_note() -> None:
    assert "452" in REPLY_CODES[552].notes and "RFC 821" in REPLY_CODES[552].notes
    assert "too many recipients" in REPLY_CODES[452].meaning


def test_rfc821_texts_kept_where_they_differ() -> None:
    assert REPLY_CODES[550].text_821 == ("Requested action not taken: mailbox unavailable "
                                         "[E.g., mailbox not found, no access]")
    assert REPLY_CODES[250].text_821 == ""


def test_digit_tables() -> None:
    assert [c.digit for c in ReplyClass] == [1, 2, 3, 4, 5]
    assert ReplyClass.POSITIVE_COMPLETION.label == "positive completion"
    assert [c.style for c in ReplyClass] == ["info", "success", "info", "warning", "error"]
    assert sorted(CATEGORIES) == [0, 1, 2, 3, 4, 5]
    assert CATEGORIES[5][0] == "mail system" and CATEGORIES[0][0] == "syntax"


@pytest.mark.parametrize(("key", "name"), sorted(RFC3463_DETAILS.items()))
def test_every_rfc3463_detail_code(key: str, name: str) -> None:
    assert ENHANCED_CODES[key] == name
    _, subject, detail = key.split(".")
    e = explain_enhanced(f"5.{subject}.{detail}")
    assert e.known and e.detail_meaning == name and e.meaning == name
    assert e.subject_meaning == ENHANCED_SUBJECTS[int(subject)]
    assert e.class_meaning.startswith("Permanent Failure")


def test_later_enhanced_codes() -> None:
    assert ENHANCED_CODES["X.7.8"] == "Authentication credentials invalid"
    assert ENHANCED_CODES["X.6.7"].startswith("Non-ASCII addresses")


def test_unknown_detail_falls_back_to_subject() -> None:
    e = explain_enhanced("4.2.99")
    assert not e.known and e.detail_meaning is None
    assert e.meaning == "Mailbox Status" and e.class_meaning.startswith("Persistent Transient")
    assert "subject" in e.rfc


def test_enhanced_usage_rule() -> None:
    assert any("permanent failures only" in d.message
               for d in explain_enhanced("4.1.1").diagnostics)
    assert explain_enhanced("5.1.1").diagnostics == ()


@pytest.mark.parametrize("bad", ["3.1.1", "5.1", "5.1.1.1", "x", "5.1234.1"])
def test_enhanced_bad_shapes(bad: str) -> None:
    with pytest.raises(ValueError, match="not an enhanced status code"):
        explain_enhanced(bad)


def test_parse_enhanced_reexported() -> None:
    assert parse_enhanced("5.7.1 denied") == "5.7.1"


# -- explain -------------------------------------------------------------------------------

def test_explain_reply_line() -> None:
    e = explain("550 5.1.1 User unknown")
    assert e.code == 550 and e.known and e.reply_class is ReplyClass.PERMANENT_NEGATIVE
    assert e.style == "error" and "mailbox" in e.meaning
    assert e.enhanced == "5.1.1" and e.enhanced_meaning == "Bad destination mailbox address"
    assert e.enhanced_detail == "Bad destination mailbox address"
    assert e.enhanced_subject_meaning == "Addressing Status"
    assert e.enhanced_class_meaning is not None
    assert e.enhanced_class_meaning.startswith("Permanent Failure")
    assert e.digits[0].startswith("5 = permanent negative completion")
    assert e.digits[1].startswith("5 = mail system")
    assert e.reply is not None and e.reply.lines == ("5.1.1 User unknown",)
    assert "RCPT" in e.commands and e.diagnostics == ()


def test_explain_int_and_digit_string() -> None:
    for given in (354, "354", " 354\n"):
        e = explain(given)
        assert e.code == 354 and e.reply_class is ReplyClass.POSITIVE_INTERMEDIATE
        assert e.style == "info" and e.rfc_text.startswith("Start mail input")
        assert e.enhanced is None and e.commands == ("DATA",)


def test_explain_reply_object_and_multiline() -> None:
    r = Reply.from_text("250-mail.example.org\n250-SIZE 1000\n250 HELP")
    assert explain(r).code == 250 and explain(r).style == "success"
    e = explain("250-mail.example.org\n250 HELP")
    assert e.reply is not None and e.reply.lines == ("mail.example.org", "HELP")


def test_unknown_codes_by_first_digit() -> None:
    e = explain(432 + 1)  # 433: not assigned
    assert not e.known and e.reply_class is ReplyClass.TRANSIENT_NEGATIVE
    assert e.style == "warning" and "first digit" in e.rfc
    e = explain("299 something")
    assert not e.known and e.code == 299 and e.diagnostics  # second digit 9
    e = explain(150)
    assert e.reply_class is ReplyClass.POSITIVE_PRELIMINARY
    assert any("1yz" in d.message for d in e.diagnostics)


@pytest.mark.parametrize("bad", ["99x", "600", "099", "hello", "", "25", "5501 x", 42, 600,
                                 "050 verbose"])
def test_explain_rejects_non_codes(bad: object) -> None:
    with pytest.raises(ValueError, match=r"is not a reply code \(three digits, first 2-5\)"):
        explain(bad)  # type: ignore[arg-type]


def test_explain_carries_reply_diagnostics() -> None:
    e = explain("550 4.1.1 mismatched class")
    assert e.enhanced is None and e.diagnostics


def test_commands_for() -> None:
    assert commands_for(354) == ("DATA",)
    assert "AUTH" in commands_for(334)
    assert commands_for(299) == ()


def test_to_dict() -> None:
    d = explain("535 5.7.8 Authentication credentials invalid").to_dict()
    assert d["code"] == 535 and d["style"] == "error" and d["enhanced"] == "5.7.8"
    assert d["enhanced_meaning"] == "Authentication credentials invalid"


def test_greeting_codes() -> None:
    assert explain(220).greeting and explain(554).greeting and explain(521).greeting
    assert explain(421).greeting and not explain(250).greeting
    assert explain(221).commands == ("QUIT",)
