"""Transcript export: the session written the way the RFCs write their examples."""

from __future__ import annotations

import json

import pytest

from smtptui.core.diagnostics import warning
from smtptui.core.replies import Reply
from smtptui.core.transcript import Direction, Entry, Transcript, escape_bytes, mask

C, S, NOTE = Direction.CLIENT, Direction.SERVER, Direction.NOTE


def _client(t: float, line: str, *, secret: bool = False, **kw: object) -> Entry:
    return Entry(C, t, line.encode() + b"\r\n", line, secret=secret, **kw)  # type: ignore[arg-type]


def _server(t: float, text: str, latency: float | None = None) -> Entry:
    reply = Reply.from_text(text)
    return Entry(S, t, reply.raw, text, reply=reply, latency=latency)


@pytest.fixture
def session() -> Transcript:
    """A short authenticated submission, as the network client records it."""
    transcript = Transcript()
    for entry in (
        _server(100.0, "220 mail.example.org ESMTP"),
        _client(100.5, "EHLO client.example.org"),
        _server(100.6, "250-mail.example.org\n250-AUTH PLAIN\n250 SIZE 1000", latency=0.1),
        _client(101.0, "AUTH PLAIN AGFsaWNlAHNlY3JldA==", secret=True),
        _server(101.2, "235 2.7.0 Authentication successful", latency=0.2),
        _client(102.0, "MAIL FROM:<alice@example.org>",
                diagnostics=(warning(0, 4, "just a test warning", "RFC 5321 §4.1.4"),)),
        _server(102.1, "250 OK", latency=0.1),
        _client(103.0, "DATA"),
        _server(103.1, "354 End data with <CR><LF>.<CR><LF>", latency=0.1),
        Entry(C, 103.2, b"Subject: hi\r\n\r\n..dot\r\n.\r\n", "Subject: hi\n\n..dot\n."),
        _server(103.5, "250 queued", latency=0.3),
        Entry(NOTE, 104.0, b"", "connection closed by server"),
    ):
        transcript.append(entry)
    return transcript


def test_rfc5321_notation(session: Transcript) -> None:
    assert session.to_text() == (
        "S: 220 mail.example.org ESMTP\n"
        "C: EHLO client.example.org\n"
        "S: 250-mail.example.org\n"          # one S: line per reply line
        "S: 250-AUTH PLAIN\n"
        "S: 250 SIZE 1000\n"
        "C: AUTH PLAIN <secret: initial response hidden>\n"   # never the credentials
        "S: 235 2.7.0 Authentication successful\n"
        "C: MAIL FROM:<alice@example.org>\n"
        "S: 250 OK\n"
        "C: DATA\n"
        "S: 354 End data with <CR><LF>.<CR><LF>\n"
        "C: Subject: hi\n"                   # message data: C: lines, as sent
        "C: \n"
        "C: ..dot\n"
        "C: .\n"
        "S: 250 queued\n"
        "* connection closed by server\n"
    )


def test_rfc821_notation_uses_sender_and_receiver(session: Transcript) -> None:
    lines = session.to_text("rfc821").splitlines()
    assert lines[0] == "R: 220 mail.example.org ESMTP"    # receiver-SMTP
    assert lines[1] == "S: EHLO client.example.org"       # sender-SMTP
    assert lines[-1] == "* connection closed by server"


def test_unknown_notation_is_a_clear_error(session: Transcript) -> None:
    with pytest.raises(ValueError, match="rfc5321"):
        session.to_text("rfc2821")  # type: ignore[arg-type]


def test_timestamps_are_relative_to_the_first_entry(session: Transcript) -> None:
    first, second = session.to_text(timestamps=True).splitlines()[:2]
    assert first == "[    0.000] S: 220 mail.example.org ESMTP"
    assert second == "[    0.500] C: EHLO client.example.org"


def test_json_export(session: Transcript) -> None:
    records = json.loads(session.to_json())
    assert len(records) == len(session) == 12
    assert set(records[0]) == {"direction", "t", "text", "raw", "code", "diagnostics",
                                "secret", "latency"}
    assert records[0]["direction"] == "S" and records[0]["t"] == 0
    assert records[0]["code"] == 220
    assert records[0]["raw"] == "220 mail.example.org ESMTP\\r\\n"   # escaped, printable
    assert records[1]["direction"] == "C" and records[1]["t"] == 0.5
    assert records[1]["code"] is None
    assert records[2]["latency"] == 0.1
    assert records[5]["diagnostics"] == [{
        "severity": "warning", "column": 0, "end": 4,
        "message": "just a test warning", "rule": "RFC 5321 §4.1.4"}]
    assert records[-1]["direction"] == "*"


def test_secrets_never_leave_in_clear(session: Transcript) -> None:
    exported = session.to_json() + session.to_text() + session.to_text("rfc821")
    assert "AGFsaWNlAHNlY3JldA==" not in exported
    record = json.loads(session.to_json())[3]
    assert record["secret"] is True
    assert record["text"] == record["raw"] == "AUTH PLAIN <secret: initial response hidden>"


@pytest.mark.parametrize(("text", "shown"), [
    ("AUTH PLAIN AGFsaWNl", "AUTH PLAIN <secret: initial response hidden>"),
    ("AUTH LOGIN", "AUTH LOGIN"),                         # nothing secret on the line
    ("dXNlcm5hbWU=", "<secret: AUTH response hidden>"),   # a SASL response line
    ("AUTH PLAIN\nAGFsaWNl", "<secret: AUTH response hidden>"),
    ("", "<secret: AUTH response hidden>"),
])
def test_mask(text: str, shown: str) -> None:
    assert mask(Entry(C, 0.0, text.encode(), text, secret=True)) == shown


def test_control_characters_are_escaped_in_text_export() -> None:
    hostile = b"220 evil\x1b[2J\x07 host\r\n"
    reply = Reply(220, ("evil\x1b[2J\x07 host",), hostile)
    transcript = Transcript([Entry(S, 0.0, hostile, "", reply=reply)])
    assert transcript.to_text() == "S: 220 evil\\x1b[2J\\x07 host\n"


def test_escape_bytes() -> None:
    assert escape_bytes(b"A\\b\r\n\t\x00\xff~") == "A\\\\b\\r\\n\\t\\x00\\xff~"


def test_sequence_behaviour(session: Transcript) -> None:
    assert session[0].code == 220
    assert [e.direction for e in session[-2:]] == [S, NOTE]
    assert session.entries == tuple(session)
    assert Transcript().to_text() == "" and json.loads(Transcript().to_json()) == []
    assert str(Direction.NOTE) == "*"
