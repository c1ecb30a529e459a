"""Paths with source routes, and where the world routes a message (no sockets)."""

from __future__ import annotations

import dataclasses

import pytest

from smtptui.core.grammar import check
from smtptui.server.delivery import MAX_TARGETS, relays_to, route
from smtptui.server.paths import Path, parse_member, parse_path, split_path_and_params
from smtptui.server.world import Forward, World, world_from_mapping


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


def _with_loops() -> World:
    """A world with a forwarding loop and a list that includes itself. The loader
    refuses both (test_world.py); routing must still end if such a world is built
    directly, so it is made without the loops and they are added after."""
    base = make_world({
        "hostname": "A.TEST",
        "relay_domains": ["*"],
        "hosts": {"B.TEST": {}, "C.TEST": {"mailboxes": {"carol": "Carol"},
                                           "logged_in": ["carol"]}},
    })
    a = dataclasses.replace(base.host, forwards={"fred": Forward("fred@B.TEST", "will-forward")},
                            lists={"all": ("carol@C.TEST", "nobody@C.TEST", "x@outside.test",
                                           "all")})
    b = dataclasses.replace(base.hosts["b.test"],
                            forwards={"fred": Forward("fred@A.TEST", "will-forward")})
    return World(a, {"b.test": b, "c.test": base.hosts["c.test"]})


LOOPY = _with_loops()


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


def test_a_list_including_itself_expands_once():
    targets = route(LOOPY, LOOPY.host, "A.TEST", parse_path("<all@A.TEST>"), "MAIL")
    loops = [t for t in targets if "includes itself" in t.reason]
    assert len(loops) == 1 and len(targets) == 4, targets


def test_expansion_work_is_bounded_whatever_the_world_holds():
    """Lists that fan out to each other 20 ways, 6 deep, name 64 million paths: each
    list still expands once, and the copies stop at MAX_TARGETS."""
    lists = {f"l{d}": tuple(f"l{d + 1}" for _ in range(20)) for d in range(6)}
    lists["l6"] = tuple(f"u{i}" for i in range(MAX_TARGETS + 50))
    world = make_world({"hostname": "A.TEST"})
    host = dataclasses.replace(world.host, lists=lists,
                               mailboxes={f"u{i}": "" for i in range(MAX_TARGETS + 50)})
    world = World(host, {})
    targets = route(world, host, "A.TEST", parse_path("<l0@A.TEST>"), "MAIL")
    assert len(targets) <= MAX_TARGETS + 1
    assert any("expansion stopped" in t.reason for t in targets)
