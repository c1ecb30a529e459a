"""The client session state machine, walked through real exchanges.

Each walk is a list of steps -- ``C`` a line the client sends, ``S`` a reply from the
server, ``TLS`` the handshake completing, ``END`` the client sending <CRLF>.<CRLF> --
with the state the session is in after it. Read top to bottom, a walk is an SMTP
session as RFC 821 §4.3 and RFC 5321 §4.1.4/§4.3.2 describe it.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtptui.core.diagnostics import Severity
from smtptui.core.replies import Reply
from smtptui.core.state import (
    END_OF_DATA,
    GREETING,
    LENIENT,
    SASL_RESPONSE,
    TRANSITIONS,
    SessionTracker,
    State,
    expected_codes,
    legal_in,
)

CONNECTED, GREETED, READY = State.CONNECTED, State.GREETED, State.READY
MAIL, RCPT, DATA, AUTH = State.MAIL, State.RCPT, State.DATA, State.AUTH
TLS, TURNED, CLOSED = State.TLS, State.TURNED, State.CLOSED

Step = tuple[str, str, State]


def walk(steps: list[Step], tracker: SessionTracker | None = None) -> SessionTracker:
    tracker = tracker or SessionTracker()
    for number, (kind, text, expected) in enumerate(steps, 1):
        if kind == "C":
            tracker.command_sent(text)
        elif kind == "S":
            tracker.reply_received(Reply.from_text(text))
        elif kind == "TLS":
            tracker.tls_established()
        elif kind == "END":
            tracker.data_finished()
        else:  # pragma: no cover - a typo in a table
            raise AssertionError(kind)
        assert tracker.state is expected, f"step {number} {kind} {text!r}"
    return tracker


EHLO_250 = "250-mail.example.org\n250-PIPELINING\n250-SIZE 10240000\n250-STARTTLS\n250 8BITMIME"
EHLO_TLS = "250-mail.example.org\n250-PIPELINING\n250-AUTH PLAIN LOGIN\n250 CHUNKING"

# RFC 821 Appendix F-style plain SMTP session with HELO.
HELO_SESSION: list[Step] = [
    ("S", "220 mail.example.org Simple Mail Transfer Service Ready", GREETED),
    ("C", "HELO client.example.org", GREETED),         # state moves on the reply
    ("S", "250 mail.example.org", READY),
    ("C", "MAIL FROM:<smith@example.org>", READY),
    ("S", "250 OK", MAIL),
    ("C", "RCPT TO:<jones@example.org>", MAIL),
    ("S", "250 OK", RCPT),
    ("C", "RCPT TO:<green@example.org>", RCPT),
    ("S", "550 No such user here", RCPT),              # a refused recipient changes nothing
    ("C", "DATA", RCPT),
    ("S", "354 Start mail input; end with <CRLF>.<CRLF>", DATA),
    ("C", "Blah blah blah...", DATA),                  # message text, not a command
    ("C", ".", DATA),                                  # end of data: final reply awaited
    ("S", "250 OK", READY),
    ("C", "QUIT", READY),
    ("S", "221 mail.example.org Service closing transmission channel", CLOSED),
]

EHLO_SESSION: list[Step] = [
    ("S", "220 mail.example.org ESMTP", GREETED),
    ("C", "EHLO client.example.org", GREETED),
    ("S", EHLO_250, READY),
    ("C", "STARTTLS", READY),
    ("S", "220 2.0.0 Ready to start TLS", TLS),
    ("TLS", "", GREETED),                              # RFC 3207: start again with EHLO
    ("C", "EHLO client.example.org", GREETED),
    ("S", EHLO_TLS, READY),
    ("C", "AUTH PLAIN", READY),
    ("S", "334 ", AUTH),
    ("C", "AGFsaWNlAHNlY3JldA==", AUTH),               # a SASL response, not a command
    ("S", "235 2.7.0 Authentication successful", READY),
    ("C", "MAIL FROM:<alice@example.org> BODY=8BITMIME", READY),
    ("S", "250 2.1.0 Ok", MAIL),
    ("C", "RCPT TO:<bob@example.org>", MAIL),
    ("S", "250 2.1.5 Ok", RCPT),
    ("C", "DATA", RCPT),
    ("S", "354 End data with <CR><LF>.<CR><LF>", DATA),
    ("END", "", DATA),
    ("S", "250 2.0.0 Ok: queued as 4F2A1", READY),
    ("C", "QUIT", READY),
    ("S", "221 2.0.0 Bye", CLOSED),
]


def test_helo_session() -> None:
    tracker = walk(HELO_SESSION)
    assert tracker.hello == "HELO"
    assert tracker.transactions == 1
    assert tracker.pending == ()


def test_helo_session_flags() -> None:
    tracker = walk(HELO_SESSION[:3])
    assert (tracker.hello, tracker.esmtp, tracker.capabilities) == ("HELO", False, None)
    walk(HELO_SESSION[3:9], tracker)
    assert tracker.recipients == 1                      # 250 counted, 550 not
    assert tracker.transaction_open


def test_ehlo_session_with_starttls_and_auth() -> None:
    tracker = walk(EHLO_SESSION[:3])
    assert tracker.esmtp and tracker.capabilities is not None
    assert "STARTTLS" in tracker.capabilities and tracker.capabilities.size_limit == 10240000
    walk(EHLO_SESSION[3:6], tracker)
    # RFC 3207 §4.2: everything learnt before TLS is discarded.
    assert tracker.tls and not tracker.esmtp and tracker.capabilities is None
    assert tracker.hello is None
    walk(EHLO_SESSION[6:12], tracker)
    assert tracker.authenticated
    assert tracker.capabilities is not None and "AUTH" in tracker.capabilities
    walk(EHLO_SESSION[12:], tracker)
    assert tracker.transactions == 1


@pytest.mark.parametrize(("steps", "flags"), [
    # AUTH that fails returns to where it started, not authenticated.
    ([("C", "AUTH LOGIN", READY), ("S", "334 VXNlcm5hbWU6", AUTH),
      ("C", "YWxpY2U=", AUTH), ("S", "334 UGFzc3dvcmQ6", AUTH),
      ("C", "d3Jvbmc=", AUTH), ("S", "535 5.7.8 Authentication credentials invalid", READY)],
     {"authenticated": False}),
    # '*' cancels the exchange (RFC 4954 §4): 501, back where we were.
    ([("C", "AUTH PLAIN", READY), ("S", "334 ", AUTH), ("C", "*", AUTH),
      ("S", "501 5.0.0 AUTH aborted", READY)], {"authenticated": False}),
    # An initial response can succeed at once.
    ([("C", "AUTH PLAIN AGFsaWNlAHNlY3JldA==", READY), ("S", "235 2.7.0 OK", READY)],
     {"authenticated": True}),
    # AUTH refused outright.
    ([("C", "AUTH CRAM-MD5", READY), ("S", "504 5.5.4 Unrecognized mechanism", READY)],
     {"authenticated": False}),
])
def test_auth_exchanges(steps: list[Step], flags: dict[str, bool]) -> None:
    tracker = walk([("S", "220 x", GREETED), ("C", "EHLO c", GREETED),
                    ("S", EHLO_TLS, READY), *steps])
    for name, value in flags.items():
        assert getattr(tracker, name) is value


def test_sasl_lines_are_not_kept_in_clear() -> None:
    tracker = walk([("S", "220 x", GREETED), ("C", "EHLO c", GREETED), ("S", EHLO_TLS, READY),
                    ("C", "AUTH LOGIN", READY), ("S", "334 VXNlcm5hbWU6", AUTH),
                    ("C", "c2VjcmV0", AUTH)])
    assert tracker.pending[-1].verb == SASL_RESPONSE
    assert tracker.pending[-1].line == ""


@pytest.mark.parametrize(("name", "steps"), [
    ("RSET aborts the transaction", [
        ("C", "MAIL FROM:<a@example.org>", READY), ("S", "250 OK", MAIL),
        ("C", "RCPT TO:<b@example.org>", MAIL), ("S", "250 OK", RCPT),
        ("C", "RSET", RCPT), ("S", "250 OK", READY)]),
    ("a new EHLO resets the transaction (RFC 5321 §4.1.4)", [
        ("C", "MAIL FROM:<a@example.org>", READY), ("S", "250 OK", MAIL),
        ("C", "EHLO again.example.org", MAIL), ("S", EHLO_250, READY)]),
    ("refused MAIL leaves no transaction", [
        ("C", "MAIL FROM:<a@example.org>", READY), ("S", "553 5.1.8 bad sender", READY)]),
    ("DATA refused: still in the transaction", [
        ("C", "MAIL FROM:<a@example.org>", READY), ("S", "250 OK", MAIL),
        ("C", "RCPT TO:<b@example.org>", MAIL), ("S", "250 OK", RCPT),
        ("C", "DATA", RCPT), ("S", "451 4.3.0 try later", RCPT)]),
    ("message refused after the data: the transaction is over", [
        ("C", "MAIL FROM:<a@example.org>", READY), ("S", "250 OK", MAIL),
        ("C", "RCPT TO:<b@example.org>", MAIL), ("S", "251 User not local; will forward", RCPT),
        ("C", "DATA", RCPT), ("S", "354 go", DATA), ("END", "", DATA),
        ("S", "554 5.7.1 rejected as spam", READY)]),
    ("NOOP, HELP, VRFY, EXPN change nothing", [
        ("C", "NOOP", READY), ("S", "250 OK", READY),
        ("C", "HELP", READY), ("S", "214 see RFC 5321", READY),
        ("C", "VRFY smith", READY), ("S", "252 cannot verify", READY),
        ("C", "EXPN staff", READY), ("S", "550 access denied", READY)]),
    ("unknown verbs change nothing", [
        ("C", "XFOO", READY), ("S", "500 5.5.2 unrecognized", READY)]),
    ("BDAT keeps the transaction, BDAT LAST ends it (RFC 3030)", [
        ("C", "MAIL FROM:<a@example.org>", READY), ("S", "250 OK", MAIL),
        ("C", "RCPT TO:<b@example.org>", MAIL), ("S", "250 OK", RCPT),
        ("C", "BDAT 100", RCPT), ("S", "250 2.0.0 100 octets received", RCPT),
        ("C", "BDAT 20 LAST", RCPT), ("S", "250 2.0.0 Message accepted", READY)]),
    ("TURN swaps roles (RFC 821 §4.1.1)", [
        ("C", "TURN", READY), ("S", "250 OK", TURNED)]),
    ("TURN refused", [("C", "TURN", READY), ("S", "502 Command not implemented", READY)]),
    ("421 from any state closes", [
        ("C", "MAIL FROM:<a@example.org>", READY), ("S", "250 OK", MAIL),
        ("C", "RCPT TO:<b@example.org>", MAIL),
        ("S", "421 4.4.2 mail.example.org Error: timeout exceeded", CLOSED)]),
])
def test_transaction_walks(name: str, steps: list[Step]) -> None:
    tracker = walk([("S", "220 x", GREETED), ("C", "EHLO c", GREETED),
                    ("S", EHLO_250, READY), *steps])
    if tracker.state is READY:
        assert tracker.recipients == 0


def test_turn_makes_this_side_the_receiver() -> None:
    tracker = walk([("S", "220 x", GREETED), ("C", "HELO c", GREETED), ("S", "250 x", READY),
                    ("C", "TURN", READY), ("S", "250 OK", TURNED)])
    assert tracker.role == "server"
    assert tracker.legal_verbs() == () and tracker.usual_next() == ()
    assert "roles are swapped" in tracker.check_sequence("MAIL")[0].message


def test_rset_before_hello_stays_greeted() -> None:
    walk([("S", "220 x", GREETED), ("C", "RSET", GREETED), ("S", "250 OK", GREETED)])


def test_554_greeting_allows_only_quit() -> None:
    tracker = walk([("S", "554 5.7.1 No SMTP service here", CONNECTED)])
    assert tracker.greeting_refused
    assert tracker.legal_verbs() == ("QUIT",) == tracker.usual_next()
    assert tracker.check_sequence("QUIT") == []
    assert "554" in tracker.check_sequence("EHLO x")[0].message
    walk([("C", "EHLO c", CONNECTED), ("S", "503 5.5.1 no service", CONNECTED),
          ("C", "QUIT", CONNECTED), ("S", "221 bye", CLOSED)], tracker)


def test_421_greeting_closes() -> None:
    walk([("S", "421 4.3.2 Service not available, try later", CLOSED)])


def test_ehlo_refused_falls_back_to_helo() -> None:
    tracker = walk([("S", "220 old.example.org", GREETED), ("C", "EHLO c", GREETED),
                    ("S", "500 Command unrecognized", GREETED)])
    assert tracker.usual_next() == ("HELO",)
    walk([("C", "HELO c", GREETED), ("S", "250 old.example.org", READY)], tracker)
    assert not tracker.esmtp and tracker.usual_next() == ("MAIL",)


def test_pipelined_commands_are_answered_in_order() -> None:
    tracker = walk([("S", "220 x", GREETED), ("C", "EHLO c", GREETED), ("S", EHLO_250, READY)])
    for line in ("MAIL FROM:<a@example.org>", "RCPT TO:<b@example.org>",
                 "RCPT TO:<nobody@example.org>", "DATA"):
        assert tracker.check_sequence(line) == [], line   # a valid RFC 2920 group
        tracker.command_sent(line)
    assert [p.verb for p in tracker.pending] == ["MAIL", "RCPT", "RCPT", "DATA"]
    walk([("S", "250 2.1.0 Ok", MAIL), ("S", "250 2.1.5 Ok", RCPT),
          ("S", "550 5.1.1 unknown", RCPT), ("S", "354 go ahead", DATA)], tracker)
    assert tracker.recipients == 1 and tracker.pending == ()
    tracker.data_finished()
    tracker.command_sent("QUIT")                 # may follow the message text at once
    assert [p.verb for p in tracker.pending] == [END_OF_DATA, "QUIT"]
    walk([("S", "250 queued", READY), ("S", "221 bye", CLOSED)], tracker)


def test_pipelined_data_after_refused_recipients_follows_the_server() -> None:
    tracker = walk([("S", "220 x", GREETED), ("C", "EHLO c", GREETED), ("S", EHLO_250, READY),
                    ("C", "MAIL FROM:<a@example.org>", READY),
                    ("C", "RCPT TO:<nobody@example.org>", READY), ("C", "DATA", READY),
                    ("S", "250 Ok", MAIL), ("S", "550 unknown", MAIL),
                    ("S", "554 5.5.1 Error: no valid recipients", MAIL)])
    assert tracker.pending == ()
    # A server that says 354 anyway is followed (a lenient move, flagged as such).
    tracker.command_sent("DATA")
    transition = tracker.reply_received(Reply.from_text("354 go"))
    assert transition.lenient and tracker.state is DATA


def test_the_greeting_is_the_first_pending_reply() -> None:
    tracker = SessionTracker()
    assert [p.verb for p in tracker.pending] == [GREETING]
    tracker.command_sent("EHLO early.example.org")     # an early talker
    walk([("S", "220 x", GREETED), ("S", EHLO_250, READY)], tracker)


def test_unsolicited_421_closes() -> None:
    tracker = walk([("S", "220 x", GREETED), ("C", "HELO c", GREETED), ("S", "250 x", READY)])
    transition = tracker.reply_received(Reply.from_text("421 4.4.2 idle timeout"))
    assert transition.verb == "" and transition.after is CLOSED


def test_transition_reports_codes_outside_the_rfc_tables() -> None:
    tracker = walk([("S", "220 x", GREETED), ("C", "HELO c", GREETED), ("S", "250 x", READY),
                    ("C", "MAIL FROM:<a@example.org>", READY)])
    t = tracker.reply_received(Reply.from_text("503 5.5.1 Error: need HELO"))
    # RFC 821 §4.3 does not list 503 for MAIL; RFC 5321 §4.3.2 does.
    assert (t.verb, t.code, t.allowed_821, t.allowed_5321) == ("MAIL", 503, False, True)
    assert t.before is t.after is READY and tracker.last is t
    tracker.command_sent("TURN")
    t = tracker.reply_received(Reply.from_text("250 OK"))
    assert (t.allowed_821, t.allowed_5321, t.rule) == (True, None, "RFC 821 §4.1.1")


@pytest.mark.parametrize(("verb", "dialect", "codes"), [
    ("MAIL", "rfc821", {250, 552, 451, 452, 500, 501, 421}),
    ("mail", "rfc5321", {250, 552, 451, 452, 550, 553, 503, 455, 555, 500, 501, 421}),
    ("QUIT", "rfc821", {221, 500, 421}),                 # 421: any command may get it
    ("TURN", "rfc5321", {250, 502, 500, 503, 421}),      # dropped by 5321: 821's list
    (GREETING, "rfc821", {220, 421}),
    (GREETING, "rfc5321", {220, 554, 421}),
    (END_OF_DATA, "rfc821", {250, 552, 554, 451, 452, 421}),
    ("XFOO", "rfc821", set()),
])
def test_expected_codes(verb: str, dialect: str, codes: set[int]) -> None:
    assert expected_codes(verb, dialect) == codes  # type: ignore[arg-type]
    assert SessionTracker().expected_codes(verb, dialect) == codes  # type: ignore[arg-type]


# --- what makes sense now -------------------------------------------------------------

def test_legal_verbs_come_from_the_table() -> None:
    tracker = walk([("S", "220 x", GREETED)])
    assert tracker.legal_verbs() == ("HELO", "EHLO", "RSET", "VRFY", "EXPN", "HELP", "NOOP",
                                     "QUIT")
    assert tracker.usual_next() == ("EHLO", "HELO")
    walk([("C", "EHLO c", GREETED), ("S", EHLO_250, READY)], tracker)
    legal = tracker.legal_verbs()
    assert "MAIL" in legal and "STARTTLS" in legal       # advertised
    assert "AUTH" not in legal and "BDAT" not in legal   # not advertised
    assert "RCPT" not in legal and "DATA" not in legal   # need a transaction
    assert tracker.usual_next() == ("STARTTLS", "MAIL")  # offered TLS: take it first


@pytest.mark.parametrize(("state", "must", "must_not"), [
    (READY, {"MAIL", "SEND", "TURN", "ETRN", "AUTH"}, {"RCPT", "DATA"}),
    (MAIL, {"RCPT", "RSET", "QUIT"}, {"MAIL", "DATA", "AUTH", "STARTTLS"}),
    (RCPT, {"RCPT", "DATA", "BDAT"}, {"MAIL"}),
    (DATA, set(), {"QUIT", "RSET"}),
    (AUTH, set(), {"QUIT"}),
    (TLS, set(), {"QUIT", "EHLO"}),
    (CLOSED, set(), {"QUIT"}),
])
def test_legal_in(state: State, must: set[str], must_not: set[str]) -> None:
    legal = set(legal_in(state))
    assert must <= legal and not (must_not & legal)


def test_usual_after_a_message_is_mail_or_quit() -> None:
    tracker = walk([("S", "220 x", GREETED), *HELO_SESSION[1:14]])
    assert tracker.usual_next() == ("MAIL", "QUIT")


@pytest.mark.parametrize(("state", "usual"), [
    (MAIL, ("RCPT",)), (RCPT, ("RCPT", "DATA")),
])
def test_usual_in_a_transaction(state: State, usual: tuple[str, ...]) -> None:
    steps = [("S", "220 x", GREETED), ("C", "HELO c", GREETED), ("S", "250 x", READY),
             ("C", "MAIL FROM:<a@b.example>", READY), ("S", "250 OK", MAIL),
             ("C", "RCPT TO:<c@d.example>", MAIL), ("S", "250 OK", RCPT)]
    tracker = walk(steps[: 5 if state is MAIL else 7])
    assert tracker.usual_next() == usual


def test_tables_only_name_known_states() -> None:
    for (state, verb, klass), step in {**TRANSITIONS, **LENIENT}.items():
        assert isinstance(state, State) and verb and klass in (2, 3, 4, 5), step


# --- out-of-sequence warnings ---------------------------------------------------------

GREETED_STEPS: list[Step] = [("S", "220 x", GREETED)]
HELO_STEPS: list[Step] = [*GREETED_STEPS, ("C", "HELO c", GREETED), ("S", "250 x", READY)]
EHLO_STEPS: list[Step] = [*GREETED_STEPS, ("C", "EHLO c", GREETED), ("S", EHLO_250, READY)]
IN_MAIL: list[Step] = [*EHLO_STEPS, ("C", "MAIL FROM:<a@b.example>", READY),
                       ("S", "250 OK", MAIL)]


@pytest.mark.parametrize(("steps", "line", "expected"), [
    (HELO_STEPS, "RCPT TO:<b@example.org>",
     "RCPT before MAIL: the server will answer 503"),
    (HELO_STEPS, "DATA", "DATA before MAIL"),
    (IN_MAIL, "DATA", "DATA with no accepted recipient"),
    (GREETED_STEPS, "MAIL FROM:<a@example.org>", "MAIL before HELO/EHLO"),
    (IN_MAIL, "MAIL FROM:<a@example.org>", "MAIL inside an open transaction"),
    (IN_MAIL, "AUTH PLAIN", "AUTH after MAIL"),
    (EHLO_STEPS, "AUTH PLAIN", "AUTH not advertised"),
    (HELO_STEPS, "STARTTLS", "STARTTLS before EHLO"),
    ([*GREETED_STEPS, ("C", "EHLO c", GREETED), ("S", "250-x\n250 SIZE 100", READY)],
     "STARTTLS", "STARTTLS not advertised"),
    (EHLO_STEPS, "BDAT 10 LAST", "BDAT not advertised"),
    (IN_MAIL, "EHLO c", "EHLO inside a transaction aborts it"),
    ([*HELO_STEPS, ("C", "QUIT", READY)], "NOOP", "command after QUIT"),
    ([*HELO_STEPS, ("C", "QUIT", READY), ("S", "221 bye", CLOSED)], "NOOP",
     "command after QUIT"),
    ([], "EHLO c", "before the server's greeting"),
    ([*EHLO_STEPS, ("C", "STARTTLS", READY), ("S", "220 go", TLS)], "EHLO c",
     "TLS handshake pending"),
    ([*IN_MAIL, ("C", "RCPT TO:<c@d.example>", MAIL), ("S", "250 OK", RCPT),
      ("C", "DATA", RCPT), ("S", "354 go", DATA)], "QUIT", "message text, not the QUIT"),
    ([*EHLO_STEPS, ("C", "AUTH LOGIN", READY), ("S", "334 VXNlcm5hbWU6", AUTH)],
     "MAIL FROM:<a@b>", "SASL response"),
    ([*EHLO_STEPS, ("C", "NOOP", READY)], "MAIL FROM:<a@b>",
     "before the reply to NOOP, which must end a pipelined group"),
    ([*HELO_STEPS, ("C", "MAIL FROM:<a@b>", READY)], "RCPT TO:<c@d>",
     "did not advertise PIPELINING"),
    ([*HELO_STEPS, ("C", "MAIL FROM:<a@b>", READY), ("S", "250 OK", MAIL)], "TURN",
     "TURN inside a transaction"),
    (EHLO_STEPS, "TURN", "TURN not advertised"),
])
def test_out_of_sequence_warnings(steps: list[Step], line: str, expected: str) -> None:
    tracker = walk(steps)
    found = tracker.check_sequence(line)
    assert found, line
    assert all(d.severity is Severity.WARNING for d in found)   # never errors
    assert any(expected in d.message for d in found), [d.message for d in found]
    assert all(d.rule for d in found)
    assert found[0].start == 0 and found[0].end == len(line.split()[0])


@pytest.mark.parametrize(("steps", "line"), [
    (GREETED_STEPS, "EHLO client.example.org"),
    (HELO_STEPS, "MAIL FROM:<a@example.org>"),
    (IN_MAIL, "RCPT TO:<b@example.org>"),
    (IN_MAIL, "RSET"),
    (EHLO_STEPS, "STARTTLS"),
    (HELO_STEPS, "VRFY smith"),
    (HELO_STEPS, "NOOP"),
    ([*HELO_STEPS, ("C", "QUIT", READY)], ""),    # nothing typed yet: the first word is ""
])
def test_in_sequence_commands_get_no_warning(steps: list[Step], line: str) -> None:
    if line == "":
        assert walk(steps).check_sequence(line)[0].end == 0
        return
    assert walk(steps).check_sequence(line) == []


def test_auth_without_tls_is_warned_about() -> None:
    tracker = walk([*GREETED_STEPS, ("C", "EHLO c", GREETED), ("S", EHLO_TLS, READY)])
    messages = [d.message for d in tracker.check_sequence("AUTH PLAIN")]
    assert any("without TLS" in m for m in messages)


def test_second_starttls_and_second_auth() -> None:
    tracker = walk(EHLO_SESSION[:12])
    assert tracker.tls and tracker.authenticated
    assert "STARTTLS" not in tracker.legal_verbs() and "AUTH" not in tracker.legal_verbs()
    messages = [d.message for d in tracker.check_sequence("AUTH PLAIN")]
    assert any("after a successful AUTH" in m for m in messages)


def test_closed_tracker_ignores_everything() -> None:
    tracker = walk(HELO_SESSION)
    tracker.command_sent("NOOP")
    t = tracker.reply_received(Reply.from_text("250 OK"))
    assert tracker.state is CLOSED and t.before is t.after is CLOSED
    assert tracker.legal_verbs() == () and tracker.pending == ()


# --- whatever happens, the tracker keeps its footing -----------------------------------

_LINES = ["EHLO c", "HELO c", "MAIL FROM:<a@b>", "RCPT TO:<c@d>", "DATA", "RSET", "QUIT",
          "STARTTLS", "AUTH PLAIN", "AUTH LOGIN", "*", "BDAT 10", "BDAT 1 LAST", "TURN",
          "NOOP", ".", "x", "", "VRFY a", "SEND FROM:<a@b>", "ETRN x"]
_REPLIES = ["220 x", "221 bye", "250 ok", "251 fwd", "334 ", "235 ok", "354 go", "421 bye",
            "450 busy", "500 what", "503 sequence", "535 no", "554 no", "250-x\n250 STARTTLS",
            "250-x\n250-PIPELINING\n250 AUTH PLAIN"]
_EVENTS = st.lists(st.one_of(
    st.tuples(st.just("C"), st.sampled_from(_LINES)),
    st.tuples(st.just("S"), st.sampled_from(_REPLIES)),
    st.tuples(st.sampled_from(["TLS", "END"]), st.just("")),
), max_size=40)


@given(_EVENTS)
def test_any_event_sequence_is_followed_without_error(events: list[tuple[str, str]]) -> None:
    tracker = SessionTracker()
    for kind, text in events:
        for line in _LINES:
            assert all(d.severity is Severity.WARNING for d in tracker.check_sequence(line))
        if kind == "C":
            tracker.command_sent(text)
        elif kind == "S":
            before = tracker.state
            t = tracker.reply_received(Reply.from_text(text))
            assert (t.before, t.after) == (before, tracker.state)
        elif kind == "TLS":
            tracker.tls_established()
        else:
            tracker.data_finished()
        assert set(tracker.usual_next()) <= set(tracker.legal_verbs())
        assert tracker.recipients >= 0
        if tracker.state is CLOSED:
            assert tracker.pending == ()
        if tracker.state not in (MAIL, RCPT, DATA):
            assert tracker.recipients == 0
