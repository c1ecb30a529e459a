"""delivery.rcpt_decision: the one place that decides a RCPT (its reply key and whether
the recipient is accepted), and the same decision delivery follows (no sockets)."""

from __future__ import annotations

import pytest

from smtptui.server.delivery import USER_POLICY, Decision, rcpt_decision, route
from smtptui.server.paths import parse_path
from smtptui.server.world import World, world_from_mapping


def make(**top: object) -> World:
    """SU-SCORE (as in test_protocol) with ``top`` keys added to its main host."""
    return world_from_mapping({
        "hostname": "SU-SCORE.ARPA",
        "persona": "rfc821",
        "logged_in": ["Admin.MRC"],
        "mailboxes": {"Admin.MRC": "Mark Crispin", "Green": "Bob Green"},
        "lists": {"staff": ["Admin.MRC", "Green"]},
        "forwards": {"fred": {"to": "Jones@USC-ISI.ARPA", "mode": "will-forward"},
                     "moved": {"to": "gone@USC-ISI.ARPA", "mode": "please-try"}},
        "hosts": {"USC-ISI.ARPA": {"mailboxes": {"Jones": "Jones"}}},
        **top,
    })


PLAIN = make()
RELAY = make(relay_domains=["*"])
TEMPFAIL = make(temporary_failures=["green", "nobody"])

# (world, forward-path, kind) -> (reply key, accepted, the values the reply needs)
CASES = [
    # a mailbox, with or without the domain
    (PLAIN, "<Green@SU-SCORE.ARPA>", "MAIL", "rcpt_ok", True, {"addr": "Green@SU-SCORE.ARPA"}),
    (PLAIN, "<Green>", "MAIL", "rcpt_ok", True, {"addr": "Green"}),
    (PLAIN, "<nobody@SU-SCORE.ARPA>", "MAIL", "no_user", False,
     {"addr": "nobody@SU-SCORE.ARPA"}),
    # RFC 821 §4.5.1: every host has Postmaster, in any case, with or without a domain
    (PLAIN, "<POSTMASTER@su-score.arpa>", "MAIL", "rcpt_ok", True,
     {"addr": "POSTMASTER@su-score.arpa"}),
    (PLAIN, "<Postmaster>", "MAIL", "rcpt_ok", True, {"addr": "Postmaster"}),
    # a list
    (PLAIN, "<staff@SU-SCORE.ARPA>", "MAIL", "rcpt_ok", True, {"addr": "staff@SU-SCORE.ARPA"}),
    # RFC 821 §3.2: a user who moved: 251 (will forward) or 551 (please try)
    (PLAIN, "<fred@SU-SCORE.ARPA>", "MAIL", "will_forward", True, {"to": "Jones@USC-ISI.ARPA"}),
    (PLAIN, "<moved@SU-SCORE.ARPA>", "MAIL", "please_try", False, {"to": "gone@USC-ISI.ARPA"}),
    # relaying: to a world host only where relay_domains allow, never out of the world
    (PLAIN, "<Jones@USC-ISI.ARPA>", "MAIL", "relay_denied", False,
     {"addr": "Jones@USC-ISI.ARPA", "domain": "USC-ISI.ARPA"}),
    (RELAY, "<Jones@USC-ISI.ARPA>", "MAIL", "rcpt_ok", True, {"addr": "Jones@USC-ISI.ARPA"}),
    (RELAY, "<x@elsewhere.test>", "MAIL", "relay_denied", False,
     {"addr": "x@elsewhere.test", "domain": "elsewhere.test"}),
    # source routes (RFC 821 §3.6): the host strips itself, then decides the rest
    (PLAIN, "<@SU-SCORE.ARPA:Green@SU-SCORE.ARPA>", "MAIL", "rcpt_ok", True,
     {"addr": "Green@SU-SCORE.ARPA"}),
    (PLAIN, "<@USC-ISI.ARPA:Green@SU-SCORE.ARPA>", "MAIL", "relay_denied", False,
     {"addr": "Green@SU-SCORE.ARPA", "domain": "USC-ISI.ARPA"}),
    (RELAY, "<@SU-SCORE.ARPA,@USC-ISI.ARPA:Jones@USC-ISI.ARPA>", "MAIL", "rcpt_ok", True,
     {"addr": "Jones@USC-ISI.ARPA"}),
    (RELAY, "<@USC-ISI.ARPA:victim@evil.example>", "MAIL", "relay_denied", False,
     {"addr": "victim@evil.example", "domain": "evil.example"}),
    # RFC 821 §4.1.1: SEND, SOML and SAML to a user logged in (Admin.MRC) or not (Green)
    (PLAIN, "<Admin.MRC@SU-SCORE.ARPA>", "SEND", "rcpt_ok", True,
     {"addr": "Admin.MRC@SU-SCORE.ARPA"}),
    (PLAIN, "<Green@SU-SCORE.ARPA>", "SEND", "not_active", False,
     {"addr": "Green@SU-SCORE.ARPA"}),
    (PLAIN, "<Admin.MRC@SU-SCORE.ARPA>", "SOML", "rcpt_ok", True,
     {"addr": "Admin.MRC@SU-SCORE.ARPA"}),
    (PLAIN, "<Green@SU-SCORE.ARPA>", "SOML", "will_mail", True, {"addr": "Green@SU-SCORE.ARPA"}),
    (PLAIN, "<Admin.MRC@SU-SCORE.ARPA>", "SAML", "rcpt_ok", True,
     {"addr": "Admin.MRC@SU-SCORE.ARPA"}),
    (PLAIN, "<Green@SU-SCORE.ARPA>", "SAML", "rcpt_ok", True, {"addr": "Green@SU-SCORE.ARPA"}),
    # a world's deliberate temporary failures: 451 for the name, mailbox or not
    (TEMPFAIL, "<GREEN@SU-SCORE.ARPA>", "MAIL", "tempfail", False, {}),
    (TEMPFAIL, "<nobody@SU-SCORE.ARPA>", "SEND", "tempfail", False, {}),
    (TEMPFAIL, "<Admin.MRC@SU-SCORE.ARPA>", "MAIL", "rcpt_ok", True,
     {"addr": "Admin.MRC@SU-SCORE.ARPA"}),
]


@pytest.mark.parametrize(("world", "text", "kind", "key", "accepted", "values"), CASES)
def test_rcpt_decision(world, text, kind, key, accepted, values):
    path = parse_path(text)
    assert path is not None
    d = rcpt_decision(world, world.host, path, kind)
    assert (d.key, d.accepted, dict(d.values)) == (key, accepted, values)


@pytest.mark.parametrize(("world", "text", "kind", "key", "accepted", "values"),
                         [c for c in CASES if c[0] is not TEMPFAIL and c[3] != "relay_denied"])
def test_delivery_follows_the_same_decision(world, text, kind, key, accepted, values):
    # What RCPT accepts gets a copy; what it refuses would be undeliverable.
    path = parse_path(text)
    targets = route(world, world.host, world.host.hostname, path, kind)
    delivered = [t for t in targets if t.where != "undeliverable"]
    assert bool(delivered) == accepted, targets
    if not accepted:
        assert all(t.where == "undeliverable" for t in targets)


@pytest.mark.parametrize(("kind", "logged_in", "where"), [
    ("MAIL", False, ["mailbox"]), ("MAIL", True, ["mailbox"]),
    ("SEND", True, ["terminal"]),
    ("SOML", False, ["mailbox"]), ("SOML", True, ["terminal"]),
    ("SAML", False, ["mailbox"]), ("SAML", True, ["mailbox", "terminal"]),
])
def test_a_users_copies_go_where_the_policy_says(kind, logged_in, where):
    user = "Admin.MRC" if logged_in else "Green"
    path = parse_path(f"<{user}@SU-SCORE.ARPA>")
    d = rcpt_decision(PLAIN, PLAIN.host, path, kind)
    assert list(d.copies) == where == list(USER_POLICY[kind, logged_in][1])
    targets = route(PLAIN, PLAIN.host, PLAIN.host.hostname, path, kind)
    assert [(t.box, t.where) for t in targets] == [(user, w) for w in where]


def test_a_list_and_a_forward_say_what_they_lead_to():
    staff = rcpt_decision(PLAIN, PLAIN.host, parse_path("<staff@SU-SCORE.ARPA>"), "MAIL")
    assert staff == Decision("rcpt_ok", True, {"addr": "staff@SU-SCORE.ARPA"},
                             mailing_list="staff")
    fred = rcpt_decision(PLAIN, PLAIN.host, parse_path("<fred@SU-SCORE.ARPA>"), "MAIL")
    assert fred.forward_to == "Jones@USC-ISI.ARPA"
    targets = route(PLAIN, PLAIN.host, PLAIN.host.hostname, parse_path("<fred>"), "MAIL")
    assert [(t.host, t.box, t.where) for t in targets] == [("USC-ISI.ARPA", "Jones", "mailbox")]
