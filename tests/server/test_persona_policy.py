"""A persona is data plus small policy methods: each answers one RFC question."""

from __future__ import annotations

import pytest

from smtptui.server.personas import PERSONAS

OLD = ("rfc821", "rfc821-minimal")
NEW = ("sendmail-8.9", "rfc5321", "modern")


@pytest.mark.parametrize("name", OLD)
def test_a_1982_host_follows_rfc_821(name):
    p = PERSONAS[name]
    assert not p.needs_helo("MAIL") and not p.needs_helo("RCPT")  # §4.3: no 503 for MAIL
    assert p.needs_helo("TURN")  # TURN needs the client's name
    assert p.mail_restarts_transaction()  # §4.1.1: MAIL clears the buffers
    assert p.short_received  # §4.1.2's stamp, as Appendix F prints it
    assert p.dialect_for("MAIL") == "rfc821" and p.dialect_for("EHLO") == "rfc5321"


@pytest.mark.parametrize("name", NEW)
def test_a_later_host_wants_helo_and_refuses_nested_mail(name):
    p = PERSONAS[name]
    assert p.needs_helo("MAIL") and p.needs_helo("TURN")
    assert not p.mail_restarts_transaction()
    assert not p.short_received
    assert p.dialect_for("MAIL") == p.dialect_for("EHLO") == "rfc5321"
