"""The message ``smtptui send`` builds (smtptui.core.message): parsed back with the
standard library, so every header and part is checked as a mail reader would see it."""

from __future__ import annotations

import base64
import email
import email.policy
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtptui.commands.send import message_chunks
from smtptui.core.message import (
    Attachment,
    Base64Lines,
    MessageSpec,
    base64_size,
    compose,
    header_problem,
)

from .conftest import JAPANESE

DATE = "Tue, 02 Jan 2024 03:04:05 +0900"


def spec(**kw: object) -> MessageSpec:
    base: dict[str, object] = {
        "sender": "bob@client.test", "recipients": ("alice@lab.test", "carol@lab.test"),
        "subject": "hello", "body": "one line\n", "date": DATE, "message_id": "<1.2@client.test>"}
    base.update(kw)
    return MessageSpec(**base)  # type: ignore[arg-type]


def whole(composed) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(message_chunks(composed))


def text(part: email.message.EmailMessage) -> str:
    """The text of a part with canonical CRLF line ends read as newlines."""
    return part.get_content().replace("\r\n", "\n")


def parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def test_standard_headers_and_crlf_lines() -> None:
    c = compose(spec(), eight_bit_ok=True)
    data = whole(c)
    assert len(data) == c.size
    assert b"\n" not in data.replace(b"\r\n", b"")
    msg = parse(data)
    assert msg["From"] == "bob@client.test"
    assert msg["To"] == "alice@lab.test, carol@lab.test"
    assert msg["Date"] == DATE and msg["Message-ID"] == "<1.2@client.test>"
    assert msg["MIME-Version"] == "1.0"
    assert text(msg) == "one line\n"
    assert not c.eight_bit


def test_japanese_body_goes_8bit_when_the_server_accepts_it() -> None:
    c = compose(spec(body=JAPANESE), eight_bit_ok=True)
    data = whole(c)
    assert c.eight_bit
    assert JAPANESE.replace("\n", "\r\n").encode() in data
    assert b"Content-Transfer-Encoding: 8bit" in data
    assert text(parse(data)) == JAPANESE


def test_japanese_body_is_encoded_for_a_7bit_server() -> None:
    c = compose(spec(body=JAPANESE, subject="件名"), eight_bit_ok=False)
    data = whole(c)
    assert not c.eight_bit and data.isascii()
    assert b"Content-Transfer-Encoding: base64" in data
    msg = parse(data)
    assert text(msg) == JAPANESE
    assert msg["Subject"] == "件名"          # an RFC 2047 encoded word, decoded back
    assert b"=?utf-8?" in data


def test_utf8_headers_with_smtputf8() -> None:
    c = compose(spec(subject="件名", body=JAPANESE), eight_bit_ok=True, utf8_headers=True)
    assert "Subject: 件名\r\n".encode() in whole(c)


def test_extra_header_replaces_a_default_one_and_adds_others() -> None:
    c = compose(spec(headers=(("Subject", "mine"), ("X-Mailer", "test"))), eight_bit_ok=True)
    msg = parse(whole(c))
    assert msg.get_all("Subject") == ["mine"]
    assert msg["X-Mailer"] == "test"


def test_multipart_with_attachments_streamed(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 1000 + b"tail"
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(payload)
    other = tmp_path / "résumé.txt"
    other.write_bytes(b"")
    atts = (Attachment("report.pdf", "application/pdf", len(payload), str(pdf)),
            Attachment("résumé.txt", "text/plain", 0, str(other)))
    c = compose(spec(body=JAPANESE, attachments=atts, boundary="b-1"), eight_bit_ok=False)
    data = whole(c)
    assert len(data) == c.size
    msg = parse(data)
    assert msg.get_content_type() == "multipart/mixed"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "application/pdf",
                                                       "text/plain"]
    assert text(parts[0]) == JAPANESE
    assert parts[1].get_filename() == "report.pdf"
    assert parts[1].get_content() == payload
    assert parts[2].get_filename() == "résumé.txt"
    assert max(len(line) for line in data.split(b"\r\n")) <= 78


def test_a_file_that_changes_size_is_an_error(tmp_path: Path) -> None:
    f = tmp_path / "a.bin"
    f.write_bytes(b"x" * 10)
    att = Attachment("a.bin", "application/octet-stream", 5, str(f))
    with pytest.raises(OSError, match="changed size"):
        whole(compose(spec(attachments=(att,)), eight_bit_ok=True))


def test_body_holding_the_boundary_is_refused() -> None:
    att = Attachment("a", "text/plain", 0, "/nonexistent")
    with pytest.raises(ValueError, match="boundary"):
        compose(spec(body="--b-1\n", attachments=(att,), boundary="b-1"), eight_bit_ok=True)


@given(st.binary(max_size=600), st.integers(min_value=1, max_value=200))
def test_base64_lines_match_the_standard_encoding(data: bytes, step: int) -> None:
    enc = Base64Lines()
    out = b"".join(enc.feed(data[i:i + step]) for i in range(0, len(data), step))
    out += enc.finish()
    assert len(out) == base64_size(len(data))
    assert out.replace(b"\r\n", b"\n") == base64.encodebytes(data)


@pytest.mark.parametrize(("name", "value", "ok"), [
    ("X-Test", "1", True), ("X Test", "1", False), ("", "1", False),
    ("X-Test", "a\r\nBcc: x@y", False), ("Ünicode", "1", False),
])
def test_header_problem(name: str, value: str, ok: bool) -> None:
    assert (header_problem(name, value) is None) is ok


def test_a_header_the_email_package_cannot_write_is_one_message_error() -> None:
    from smtptui.core.message import MessageError, check_headers

    bad = spec(headers=(("From", "x:;0"),))
    with pytest.raises(MessageError, match=r"^the From header cannot be written from 'x:;0' "):
        check_headers(bad)
    with pytest.raises(MessageError, match="the From header"):
        compose(bad, eight_bit_ok=True)
    check_headers(spec(headers=(("Reply-To", "Bob <bob@x.test>"),)))  # fine
