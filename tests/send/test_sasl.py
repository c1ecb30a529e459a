"""SASL responses computed for ``smtptui send --auth`` (smtptui.core.sasl)."""

from __future__ import annotations

import base64

import pytest

from smtptui.core.sasl import (
    SASLError,
    choose_mechanism,
    cram_md5_response,
    plain_initial_response,
    xoauth2_initial_response,
)


def test_cram_md5_rfc2195_example() -> None:
    # RFC 2195 §2: the server's challenge, tim / tanstaaftanstaaf, and the answer.
    challenge = base64.b64encode(b"<1896.697170952@postoffice.reston.mci.net>").decode()
    assert cram_md5_response(challenge, "tim", "tanstaaftanstaaf") == \
        "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"


def test_xoauth2_google_example() -> None:
    # The example of Google's XOAUTH2 documentation (developers.google.com/gmail/imap).
    got = xoauth2_initial_response("someuser@example.com",
                                   "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg")
    assert got == ("dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbV"
                   "RjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==")


def test_xoauth2_refuses_control_a() -> None:
    with pytest.raises(SASLError):
        xoauth2_initial_response("a\x01b", "t")


def test_plain() -> None:
    assert base64.b64decode(plain_initial_response("alice", "s3cret")) == b"\0alice\0s3cret"


@pytest.mark.parametrize(("advertised", "requested", "chosen"), [
    (("PLAIN", "LOGIN"), None, "PLAIN"),
    (("LOGIN", "CRAM-MD5", "PLAIN"), None, "CRAM-MD5"),
    (("login",), None, "LOGIN"),
    (("PLAIN",), "xoauth2", "XOAUTH2"),
    ((), "LOGIN", "LOGIN"),
])
def test_choose_mechanism(advertised: tuple[str, ...], requested: str | None,
                          chosen: str) -> None:
    assert choose_mechanism(advertised, requested) == chosen


@pytest.mark.parametrize(("advertised", "requested", "message"), [
    ((), None, "does not advertise AUTH"),
    (("GSSAPI", "XOAUTH2"), None, "no mechanism in common"),
    (("PLAIN",), "GSSAPI", "computes"),
])
def test_choose_mechanism_errors(advertised: tuple[str, ...], requested: str | None,
                                 message: str) -> None:
    with pytest.raises(SASLError, match=message):
        choose_mechanism(advertised, requested)
