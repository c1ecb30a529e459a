"""Paths with source routes, and where the world routes a message (no sockets)."""

from __future__ import annotations

import pytest

from smtptui.core.grammar import check
from smtptui.server.delivery import relays_to, route
from smtptui.server.paths import Path, parse_member, parse_path, split_path_and_params
from smtptui.server.world import World, world_from_mapping


@pytest.mark.parametrize(("text", "route_", "local", "domain"), [
    ("<Smith@USC-ISIF.ARPA>", (), "Smith", "USC-ISIF.ARPA"),
    ("<@USC-ISIE.ARPA:Jones@BBN-VAX.ARPA>", ("USC-ISIE.ARPA",), "Jones", "BBN-VAX.ARPA"),
    ("<@A.ARPA,@B.ARPA:Q-Smith@ISI-VAXA.ARPA>", ("A.ARPA", "B.ARPA"), "Q-Smith", "ISI-VAXA.ARPA"),
    ("<Postmaster>", (), "Postmaster", None),
    ('<"john doe"@x.test>', (), '"john doe"', "x.test"),
    ("<a@[127.0.0.1]>", (), "a", "[127.0.0.1]"),
    ("<Admin.MRC@SU-SCORE.ARPA>", (), "Admin.MRC", "SU-SCORE.ARPA"),
])
def test_parse_path(text, route_, local, domain):
    p = parse_path(text)
    assert p is not None and (p.route, p.local, p.domain) == (route_, local, domain)
    assert p.bracketed() == text


@pytest.mark.parametrize("text", ["Smith@x.test", "<Smith@x.test", "<@x:>",
                                  "<a b@x.test>", "<>", "", "<@x.test,a@b>"])
def test_not_a_path(text):
    assert parse_path(text) is None


@pytest.mark.parametrize("line", ["RCPT TO:<a@b@c.test>", "RCPT TO:<a@-x.test>"])
def test_the_grammar_not_the_splitter_judges_a_clients_path(line):
    # One grammar: the server refuses these with core.grammar's error (see test_syntax).
    assert any(d.is_error for d in check(line))


def test_a_quoted_local_part_is_a_name():
    assert parse_path('<"john doe"@x.test>').name == "john doe"
    assert parse_path("<Sm\\ith@USC-ISIF.ARPA>").name == "Smith"


def test_null_path_only_where_allowed():
    assert parse_path("<>", allow_null=True).is_null
    assert str(Path((), "", None)) == ""


def test_split_and_members():
    assert split_path_and_params(" <a@b.test> SIZE=10 BODY=8BITMIME") == (
        "<a@b.test>", ["SIZE=10", "BODY=8BITMIME"])
    assert parse_member("Fred Fonebone <Fonebone@USC-ISIQ.ARPA>") == (
        "Fred Fonebone", "Fonebone@USC-ISIQ.ARPA")
    assert parse_member("<joe@foo-unix.ARPA>") == ("", "joe@foo-unix.ARPA")
    assert parse_member("XYZ") == ("", "XYZ")


def make_world(data: dict) -> World:
    return world_from_mapping(data)


LOOPY = make_world({
    "hostname": "A.TEST",
    "forwards": {"fred": {"to": "fred@B.TEST", "mode": "will-forward"}},
    "relay_domains": ["*"],
    "hosts": {"B.TEST": {"forwards": {"fred": {"to": "fred@A.TEST", "mode": "will-forward"}}},
              "C.TEST": {"mailboxes": {"carol": "Carol"}, "logged_in": ["carol"]}},
    "lists": {"all": ["carol@C.TEST", "nobody@C.TEST", "x@outside.test", "all"]},
})


def test_a_forwarding_loop_ends_undeliverable_not_forever():
    [t] = route(LOOPY, LOOPY.host, "A.TEST", parse_path("<fred@A.TEST>"), "MAIL")
    assert t.where == "undeliverable" and "loop" in t.reason


def test_list_expansion_routes_each_member():
    targets = route(LOOPY, LOOPY.host, "A.TEST", parse_path("<all@A.TEST>"), "MAIL")
    delivered = [(t.host, t.box) for t in targets if t.where == "mailbox"]
    assert ("C.TEST", "carol") in delivered
    reasons = " | ".join(t.reason for t in targets if t.where == "undeliverable")
    assert "no mailbox 'nobody' here" in reasons
    assert "outside.test is outside the world" in reasons


def test_send_soml_saml_on_a_remote_world_host():
    p = parse_path("<@A.TEST:carol@C.TEST>")
    assert [t.where for t in route(LOOPY, LOOPY.host, "A.TEST", p, "SEND")] == ["terminal"]
    assert [t.where for t in route(LOOPY, LOOPY.host, "A.TEST", p, "SOML")] == ["terminal"]
    assert sorted(t.where for t in route(LOOPY, LOOPY.host, "A.TEST", p, "SAML")) == [
        "mailbox", "terminal"]
    [t] = route(LOOPY, LOOPY.host, "A.TEST", p, "MAIL")
    assert t.hops == ("A.TEST", "C.TEST")


def test_relay_star_means_world_hosts_only():
    assert relays_to(LOOPY, LOOPY.host, "c.test")
    assert not relays_to(LOOPY, LOOPY.host, "gmail.com")
