"""The command table: every verb the issue names, every field filled, the RFC 821 facts."""

from __future__ import annotations

import re

import pytest

from smtptui.core.codes import REPLY_CODES
from smtptui.core.commands import (
    COMMANDS,
    RFC821_VERBS,
    Arg,
    Origin,
    help_text,
    lookup,
    reply_sequence,
)
from smtptui.core.grammar import check

# RFC 821 §4.3 COMMAND-REPLY SEQUENCES, written out here as the RFC prints them.
RFC821_SEQUENCES = {
    "HELO": "S: 250; E: 500, 501, 504, 421",
    "MAIL": "S: 250; F: 552, 451, 452; E: 500, 501, 421",
    "RCPT": "S: 250, 251; F: 550, 551, 552, 553, 450, 451, 452; E: 500, 501, 503, 421",
    "DATA": "I: 354; S: 250; F: 552, 554, 451, 452; E: 500, 501, 503, 421",
    "RSET": "S: 250; E: 500, 501, 504, 421",
    "SEND": "S: 250; F: 552, 451, 452; E: 500, 501, 502, 421",
    "SOML": "S: 250; F: 552, 451, 452; E: 500, 501, 502, 421",
    "SAML": "S: 250; F: 552, 451, 452; E: 500, 501, 502, 421",
    "VRFY": "S: 250, 251; F: 550, 551, 553; E: 500, 501, 502, 504, 421",
    "EXPN": "S: 250; F: 550; E: 500, 501, 502, 504, 421",
    "HELP": "S: 211, 214; E: 500, 501, 502, 504, 421",
    "NOOP": "S: 250; E: 500, 421",
    "QUIT": "S: 221; E: 500",
    "TURN": "S: 250; F: 502; E: 500, 503",
}

ISSUE_VERBS = ["HELO", "MAIL", "RCPT", "DATA", "RSET", "SEND", "SOML", "SAML", "VRFY", "EXPN",
               "HELP", "NOOP", "QUIT", "TURN", "EHLO", "STARTTLS", "AUTH", "BDAT", "ETRN",
               "VERB", "ONEX", "XUSR"]


def test_exactly_the_verbs_of_the_issue() -> None:
    assert sorted(COMMANDS) == sorted(ISSUE_VERBS)
    assert RFC821_VERBS == ("HELO", "MAIL", "RCPT", "DATA", "RSET", "SEND", "SOML", "SAML",
                            "VRFY", "EXPN", "HELP", "NOOP", "QUIT", "TURN")
    assert COMMANDS["EHLO"].origin is Origin.RFC1869
    assert {v for v, s in COMMANDS.items() if s.origin is Origin.EXTENSION} == {
        "STARTTLS", "AUTH", "BDAT", "ETRN"}
    assert {v for v, s in COMMANDS.items() if s.origin is Origin.NONSTANDARD} == {
        "VERB", "ONEX", "XUSR"}


@pytest.mark.parametrize("verb", list(COMMANDS))
def test_every_entry_has_every_field(verb: str) -> None:
    spec = COMMANDS[verb]
    assert spec.verb == verb and spec.syntax.startswith(verb)
    assert spec.syntax.rstrip().endswith("CRLF") or spec.syntax.endswith("<CRLF>")
    assert spec.summary.endswith(".") and "\n" not in spec.summary
    assert re.match(r"(RFC \d+|sendmail)", spec.rfc)
    assert isinstance(spec.arg, Arg)
    assert spec.help and len(spec.help) > 40
    assert spec.replies.get("S")
    assert set(spec.replies) <= {"I", "S", "F", "E"}
    for codes in (*spec.replies.values(), *spec.replies_5321.values()):
        for code in codes:
            assert code in REPLY_CODES, f"{verb}: {code} missing from the catalogue"


def test_rfc821_reply_sequences_are_the_rfcs() -> None:
    assert {v: reply_sequence(COMMANDS[v]) for v in RFC821_VERBS} == RFC821_SEQUENCES


def test_rfc821_minimum_set_and_rfc5321_obsolete_verbs() -> None:
    assert {v for v, s in COMMANDS.items() if s.minimum_821} == {
        "HELO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT"}   # RFC 821 §4.5.1
    assert {v for v, s in COMMANDS.items() if s.minimum_5321} == {
        "EHLO", "HELO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "VRFY"}
    assert {v for v, s in COMMANDS.items() if s.obsolete_5321} == {
        "SEND", "SOML", "SAML", "TURN"}                           # RFC 5321 App. F
    # RFC 5321 §4.3.2 gives no sequence for the verbs it dropped.
    assert all(not COMMANDS[v].replies_5321 for v in ("SEND", "SOML", "SAML", "TURN"))


@pytest.mark.parametrize("verb", list(COMMANDS))
def test_the_syntax_template_is_what_the_checker_enforces(verb: str) -> None:
    """An argument-less verb's template has no argument, and the checker agrees."""
    spec = COMMANDS[verb]
    takes_nothing = spec.arg is Arg.NONE
    template_has_no_argument = spec.syntax.split()[1] in ("<CRLF>", "CRLF")
    # NOOP: RFC 821 writes "NOOP <CRLF>"; RFC 5321 allows an ignored argument.
    assert template_has_no_argument == (takes_nothing or verb == "NOOP")
    if takes_nothing:
        dialect = "rfc821" if spec.origin is Origin.RFC821 else "rfc5321"
        assert not any(d.is_error for d in check(verb, dialect))
        assert any(d.is_error for d in check(f"{verb} extra", dialect))


def test_lookup_any_case() -> None:
    assert lookup("mail") is COMMANDS["MAIL"]
    assert lookup("Starttls") is COMMANDS["STARTTLS"]
    assert lookup("FOO") is None


@pytest.mark.parametrize("verb", list(COMMANDS))
def test_help_text_is_the_table(verb: str) -> None:
    spec = COMMANDS[verb]
    lines = help_text(verb.lower())
    assert lines[0] == f"{verb}: {spec.summary}"
    assert lines[1] == f"Syntax: {spec.syntax}"
    assert spec.help in lines
    assert any(line.endswith(reply_sequence(spec)) for line in lines)
    assert ("RFC 821 minimum set" in " ".join(lines)) == spec.minimum_821
    assert ("obsolete in RFC 5321" in " ".join(lines)) == spec.obsolete_5321


def test_help_without_topic_lists_every_verb_once() -> None:
    words = " ".join(help_text()).split()
    assert all(words.count(v) == 1 for v in COMMANDS)


def test_help_for_an_unknown_verb_is_empty() -> None:
    assert help_text("FROB") == ()
    assert help_text("") == ()


def test_pipelining_group_enders_are_in_the_table() -> None:
    # RFC 2920 §3.1, plus STARTTLS (RFC 3207 §4.2), AUTH (RFC 4954 §4) and HELO.
    assert {v for v, s in COMMANDS.items() if s.ends_pipeline} == {
        "EHLO", "DATA", "VRFY", "EXPN", "TURN", "QUIT", "NOOP", "STARTTLS", "AUTH", "HELO"}
