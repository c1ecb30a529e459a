"""Completion: what may follow the line typed so far, with what it means."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtptui.core.commands import COMMANDS, Arg
from smtptui.core.completion import KINDS, Candidate, complete
from smtptui.core.ehlo import parse_ehlo
from smtptui.core.extensions import parameters_for
from smtptui.core.replies import Reply
from smtptui.core.state import SessionTracker, State, legal_in, usual_in

CAPS = parse_ehlo(Reply.from_text(
    "250-mail.example.org\n250-PIPELINING\n250-SIZE 10240000\n250-8BITMIME\n"
    "250-AUTH PLAIN LOGIN\n250 DSN"))
HISTORY = [
    "EHLO client.example.org",
    "MAIL FROM:<alice@example.org> SIZE=100",
    "RCPT TO:<bob@example.net>",
    "RCPT TO:<Alice@example.org>",        # same mailbox, different case: listed once
    "RCPT TO:<carol@example.com> NOTIFY=NEVER",
]


def texts(line: str, **kw: object) -> list[str]:
    return [c.text for c in complete(line, **kw)]  # type: ignore[arg-type]


def applied(line: str, candidate: Candidate) -> str:
    return line[:candidate.start] + candidate.text


# (line typed, state, the first candidates' texts)
CASES = [
    # Verbs: the usual next step first, then the other legal ones, then the rest.
    ("", State.GREETED, ["EHLO ", "HELO ", "RSET", "VRFY "]),
    ("", State.RCPT, ["RCPT ", "DATA", "HELO ", "EHLO ", "RSET"]),  # HELO/EHLO reset
    ("M", State.READY, ["MAIL "]),
    ("m", State.READY, ["mail "]),                 # case follows the user
    ("Ma", State.READY, ["mail "]),
    ("S", State.READY, ["SEND ", "SOML ", "SAML ", "STARTTLS"]),
    ("R", State.MAIL, ["RCPT ", "RSET"]),
    ("XYZ", State.READY, []),
    # Templates after the verb.
    ("MAIL ", None, ["FROM:<", "FROM:<>"]),
    ("mail f", None, ["from:<", "from:<>"]),
    ("MAIL FROM:", None, ["FROM:<", "FROM:<>"]),
    ("RCPT ", None, ["TO:<"]),
    ("RCPT t", None, ["to:<"]),
    ("RCPT X", None, []),
    # Addresses used earlier, most recent first, once each.
    ("RCPT TO:<", None, ["carol@example.com>", "Alice@example.org>", "bob@example.net>"]),
    ("RCPT TO:<a", None, ["Alice@example.org>"]),
    ("RCPT TO:<example.n", None, ["bob@example.net>"]),   # then substring matches
    ("MAIL FROM:", None, ["FROM:<", "FROM:<>"]),
    ("VRFY b", None, ["bob@example.net"]),
    # Parameters after a closed path.
    ("MAIL FROM:<a@b> ", None, ["SIZE=", "BODY=", "RET=", "ENVID=", "AUTH=", "SMTPUTF8"]),
    ("MAIL FROM:<a@b> S", None, ["SIZE=", "SMTPUTF8"]),
    ("MAIL FROM:<a@b> SIZE=10 ", None, ["BODY=", "RET=", "ENVID=", "AUTH=", "SMTPUTF8"]),
    ("MAIL FROM:<a@b> BODY=", None, ["7BIT", "8BITMIME", "BINARYMIME"]),
    ("MAIL FROM:<a@b> BODY=8", None, ["8BITMIME"]),
    ("mail from:<a@b> body=8b", None, ["8bitmime"]),
    ("RCPT TO:<a@b> ", None, ["NOTIFY=", "ORCPT="]),
    ("RCPT TO:<a@b> NOTIFY=S", None, ["SUCCESS", "SUCCESS,FAILURE", "SUCCESS,FAILURE,DELAY"]),
    ("MAIL FROM:<a@b>", None, []),               # no space yet: nothing to add
    # AUTH mechanisms, HELP topics, BDAT LAST.
    ("AUTH ", None, ["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"]),
    ("AUTH P", None, ["PLAIN"]),
    ("AUTH PLAIN ", None, []),                   # a secret follows: never suggested
    ("HELP DA", None, ["DATA"]),
    ("help ma", None, ["mail"]),
    ("BDAT 100 ", None, ["LAST"]),
    ("BDAT 100 L", None, ["LAST"]),
    # Verbs without arguments take no completion.
    ("DATA ", None, []),
    ("QUIT x", None, []),
]


@pytest.mark.parametrize(("line", "state", "expected"), CASES)
def test_cases(line: str, state: State | None, expected: list[str]) -> None:
    got = texts(line, state=state, history=HISTORY)
    assert got[: len(expected)] == expected
    if not expected:
        assert got == []


def test_verbs_carry_the_table_summary() -> None:
    (mail,) = complete("MAI")
    assert mail == Candidate("MAIL ", 0, "MAIL", COMMANDS["MAIL"].summary, "verb")


def test_every_verb_is_offered_on_an_empty_line() -> None:
    assert sorted(c.display for c in complete("")) == sorted(COMMANDS)


@pytest.mark.parametrize("verb", [v for v, s in COMMANDS.items()
                                  if s.arg in (Arg.REVERSE_PATH, Arg.FORWARD_PATH)])
def test_path_templates_come_from_the_table(verb: str) -> None:
    spec = COMMANDS[verb]
    first = complete(f"{verb} ")[0]
    assert (first.text, first.kind) == (spec.templates[0], "template")
    closed = f"{verb} {spec.templates[0]}a@b.example> "
    offered = {c.text.rstrip("=") for c in complete(closed)}
    assert offered == {p.keyword for p in parameters_for(verb)}


def test_help_topics_are_every_verb_of_the_table() -> None:
    topics = complete("HELP ")
    assert [c.text for c in topics] == list(COMMANDS)
    assert all(c.kind == "topic" and c.meaning == COMMANDS[c.text].summary for c in topics)
    assert complete("NOOP ") == []            # NOOP's optional argument has no topics


def test_legal_verbs_come_first_in_every_state() -> None:
    for state in State:
        if state in (State.DATA, State.AUTH):
            continue
        verbs = [c.text.strip() for c in complete("", state)]
        legal = list(dict.fromkeys((*usual_in(state), *legal_in(state))))
        assert verbs[:len(legal)] == legal, state
        assert sorted(verbs) == sorted(COMMANDS)  # then the rest, for a debugging tool


def test_values_that_need_an_extension_are_offered_only_if_advertised() -> None:
    def bodies(ehlo: str) -> list[str]:
        caps = parse_ehlo(Reply.from_text(ehlo))
        return texts("MAIL FROM:<a@b.example> BODY=", capabilities=caps)
    assert bodies("250-mx\n250 8BITMIME") == ["7BIT", "8BITMIME"]
    assert bodies("250-mx\n250-8BITMIME\n250 BINARYMIME") == ["7BIT", "8BITMIME", "BINARYMIME"]
    assert texts("MAIL FROM:<a@b.example> BODY=") == ["7BIT", "8BITMIME", "BINARYMIME"]


def test_leading_spaces_are_kept() -> None:
    (candidate,) = complete("  QUI")
    assert candidate.start == 2 and applied("  QUI", candidate) == "  QUIT"


def test_candidates_apply_to_the_line() -> None:
    line = "MAIL FROM:<alice@example.org> BODY=8"
    (candidate,) = complete(line)
    assert applied(line, candidate) == "MAIL FROM:<alice@example.org> BODY=8BITMIME"
    assert candidate.kind == "value" and "body type" in candidate.meaning
    line = "RCPT TO:<bo"
    (candidate,) = complete(line, history=HISTORY)
    assert applied(line, candidate) == "RCPT TO:<bob@example.net>"
    assert candidate.kind == "address"


def test_advertised_parameters_only_when_capabilities_known() -> None:
    got = complete("MAIL FROM:<a@b> ", capabilities=CAPS)
    assert [c.text for c in got] == ["SIZE=", "BODY=", "RET=", "ENVID=", "AUTH="]
    assert "10240000" in got[0].meaning                  # the server's limit, explained
    assert texts("RCPT TO:<a@b> ", capabilities=CAPS) == ["NOTIFY=", "ORCPT="]


def test_auth_offers_the_advertised_mechanisms() -> None:
    assert texts("AUTH ", capabilities=CAPS) == ["PLAIN", "LOGIN"]
    assert "RFC 4616" in complete("AUTH PL", capabilities=CAPS)[0].meaning


def test_live_tracker_orders_verbs_and_supplies_capabilities() -> None:
    tracker = SessionTracker()
    tracker.reply_received(Reply.from_text("220 x"))
    tracker.command_sent("EHLO c")
    tracker.reply_received(Reply.from_text(
        "250-x\n250-STARTTLS\n250 SIZE 1000"))
    verbs = texts("", state=tracker)
    assert verbs[:2] == ["STARTTLS", "MAIL "]            # usual next first
    assert verbs.index("AUTH ") > verbs.index("QUIT")    # not advertised: last
    assert texts("MAIL FROM:<a@b> ", state=tracker) == ["SIZE="]


def test_nothing_to_complete_in_message_text_or_sasl_responses() -> None:
    assert complete("MA", State.DATA) == [] and complete("MA", State.AUTH) == []
    tracker = SessionTracker()
    for kind, text in [("S", "220 x"), ("C", "HELO c"), ("S", "250 x"),
                       ("C", "MAIL FROM:<a@b>"), ("S", "250 ok"), ("C", "RCPT TO:<c@d>"),
                       ("S", "250 ok"), ("C", "DATA"), ("S", "354 go")]:
        if kind == "C":
            tracker.command_sent(text)
        else:
            tracker.reply_received(Reply.from_text(text))
    assert complete("MA", tracker) == []
    tracker.data_finished()                      # waiting for the final reply:
    assert texts("MA", state=tracker) == ["MAIL "]   # commands may be pipelined again


def test_ehlo_offers_the_callers_local_name() -> None:
    assert texts("EHLO ", local_name="client.example.org") == ["client.example.org",
                                                               "localhost"]
    assert texts("HELO cl", local_name="client.example.org") == ["client.example.org"]
    assert texts("EHLO ") == ["localhost"]


def test_kinds() -> None:
    seen = {c.kind for line, _, _ in CASES
            for c in complete(line, history=HISTORY)}
    assert seen <= KINDS
    assert {"verb", "template", "parameter", "value", "address", "topic"} <= seen


@settings(max_examples=300)
@given(
    st.text(alphabet=st.sampled_from(list("MAILRCPTFROTHEL mailrcpto:<>@=.,-_ \t1*\x00é")),
            max_size=40) | st.text(max_size=40),
    st.sampled_from([None, *State]),
    st.booleans(),
    st.lists(st.text(max_size=30), max_size=5),
)
def test_never_raises(line: str, state: State | None, with_caps: bool,
                      history: list[str]) -> None:
    got = complete(line, state, CAPS if with_caps else None, history, local_name="h.example")
    for candidate in got:
        assert 0 <= candidate.start <= len(line)
        assert candidate.kind in KINDS
        assert candidate.display and candidate.meaning
