"""``strict``: the leniency warnings become errors; and notes on valid forms.

A server that is "as lenient as a real MTA" accepts what the warnings describe; a
client being checked for exactness must not send any of it.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtptui.core.diagnostics import Severity
from smtptui.core.grammar import check

LENIENCIES = [
    # line, dialect, start, end, words
    ("MAIL FROM: <a@example.org>", "rfc5321", 10, 11, "space after 'FROM:'"),
    ("RCPT TO :<a@example.org>", "rfc5321", 7, 8, "space before the ':'"),
    ("MAIL FROM:<a@example.org>  SIZE=10", "rfc5321", 26, 27, "more than one space"),
    ("MAIL  FROM:<a@example.org>", "rfc5321", 5, 6, "more than one space after the verb"),
    ("NOOP ", "rfc5321", 4, 5, "trailing space"),
    ("HELO USC-ISIF.ARPA ", "rfc821", 18, 19, "trailing space"),
    ("RCPT TO:<j\u00fcrgen@example.org>", "rfc5321", 9, 15, "need SMTPUTF8"),
    ("VRFY <a@example.org>", "rfc5321", 5, 20, "angle brackets"),
    ("AUTH plain", "rfc5321", 5, 10, "upper case"),
]


@pytest.mark.parametrize(("line", "dialect", "start", "end", "words"), LENIENCIES)
def test_a_leniency_is_a_warning_and_under_strict_an_error(line, dialect, start, end, words):
    [lenient] = [d for d in check(line, dialect) if words in d.message]
    assert lenient.severity is Severity.WARNING
    assert (lenient.start, lenient.end) == (start, end)
    [strict] = [d for d in check(line, dialect, strict=True) if words in d.message]
    assert strict.severity is Severity.ERROR
    assert (strict.start, strict.end, strict.rule) == (start, end, lenient.rule)


@pytest.mark.parametrize("line", [
    "MAIL FROM:<@USC-ISIE.ARPA:Smith@USC-ISIF.ARPA>",  # source route: a fact, not leniency
    "SEND FROM:<Smith@USC-ISIF.ARPA>",                  # obsolete, not lenient
    "MAIL FROM:<a@example.org> FOO=1",                  # unknown parameter
])
def test_other_warnings_stay_warnings_under_strict(line):
    assert not any(d.is_error for d in check(line, strict=True))
    assert any(d.severity is Severity.WARNING for d in check(line, strict=True))


def test_the_trailing_space_rule_is_rfc_5321_in_both_dialects():
    # The SHOULD-tolerate sentence is RFC 5321 §4.1.1; RFC 821 §4.1.2 has no such text.
    for dialect in ("rfc821", "rfc5321"):
        [d] = check("QUIT ", dialect)
        assert d.rule == "RFC 5321 §4.1.1"
    assert "not in RFC 821's grammar" in check("QUIT ", "rfc821")[0].message


@pytest.mark.parametrize("verb", ["MAIL", "SEND", "SOML", "SAML"])
def test_the_null_reverse_path_is_valid_rfc821_with_a_note(verb):
    [d] = check(f"{verb} FROM:<>", "rfc821")
    assert d.severity is Severity.NOTE and not d.is_error
    assert (d.start, d.end) == (10, 12)
    assert "RFC 821 §3.6" in d.rule and "RFC 1123 §5.2.9" in d.rule


def test_the_null_path_is_still_no_forward_path():
    assert check("RCPT TO:<>", "rfc821")[0].is_error


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([
    "MAIL", "RCPT", "VRFY", "NOOP", "AUTH", " ", "  ", "FROM:", "TO:", "<", ">", "@", "a",
    "example.org", "SIZE=1", "\u00fc", "PLAIN", "="]), max_size=12).map("".join),
    st.sampled_from(["rfc821", "rfc5321"]))
def test_strict_only_ever_raises_severity(line, dialect):
    """Same findings at the same spans; strict only turns some warnings into errors."""
    lenient = check(line, dialect)
    strict = check(line, dialect, strict=True)
    assert [(d.start, d.end, d.message) for d in lenient] == [
        (d.start, d.end, d.message) for d in strict]
    for a, b in zip(lenient, strict, strict=True):
        assert a.severity == b.severity or (a.severity, b.severity) == (
            Severity.WARNING, Severity.ERROR)
