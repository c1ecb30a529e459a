"""World files: what loads, and errors that name the file, the line and the key."""

from __future__ import annotations

import pytest

from smtptui.server.app import world_as
from smtptui.server.world import WorldError, default_world, load_world, locate_key

from .conftest import world_file

FULL = """\
hostname = "USC-ISIF.ARPA"
persona = "rfc821"
banner = "Simple Mail Transfer Service Ready"
max_recipients = 3
size_limit = 5000
logged_in = ["Smith"]
relay_domains = ["*"]
max_sessions = 7

[mailboxes]
Smith = "Fred Smith"
"Jones@USC-ISIF.ARPA" = "Al Jones"

[lists]
staff = ["Smith", "Fred Fonebone <Fonebone@USC-ISIQ.ARPA>"]

[forwards]
fred = { to = "Jones@USC-ISI.ARPA", mode = "will-forward" }
mo = { to = "<mo@LBL-UNIX.ARPA>", mode = "please-try" }

[users]
alice = "wonderland"

[[queue]]
host = "LBL-UNIX.ARPA"
from = "Smith@USC-ISIF.ARPA"
to = ["mo@LBL-UNIX.ARPA"]
data = "Subject: queued\\r\\n\\r\\nhello\\r\\n"

[hosts."USC-ISI.ARPA"]
persona = "rfc5321"
mailboxes = { Jones = "Al Jones" }
"""


def test_a_full_world_loads(tmp_path):
    w = load_world(world_file(tmp_path, FULL))
    h = w.host
    assert (h.hostname, h.persona, h.max_recipients, h.size_limit) == (
        "USC-ISIF.ARPA", "rfc821", 3, 5000)
    assert w.max_sessions == 7
    # rfc821: mailbox names are case sensitive (RFC 821 §4.1.2); domains never are
    assert h.mailbox("Smith") == "Smith" and h.mailbox("smith") is None
    assert h.mailbox("Jones", "usc-isif.arpa")
    assert h.forward("fred").to == "Jones@USC-ISI.ARPA"
    assert h.forward("mo").to == "mo@LBL-UNIX.ARPA" and h.forward("mo").mode == "please-try"
    assert h.queue[0].recipients == ("mo@LBL-UNIX.ARPA",)
    assert w.find_host("usc-isi.arpa").persona == "rfc5321"
    assert w.find_host("nowhere.test") is None


def test_a_lesson_world_table_is_accepted(tmp_path):
    w = load_world(world_file(tmp_path, '[world]\nhostname = "a.test"\n[world.mailboxes]\nx = "X"\n'))
    assert w.host.hostname == "a.test" and w.host.mailbox("x") == "x"


@pytest.mark.parametrize(("text", "expected"), [
    ('hostname = "a.test"\ncolour = "red"\n', ":2: colour: unknown key"),
    ('hostname = "a.test"\nmax_recipients = "ten"\n',
     ":2: max_recipients: expected an integer, got a string"),
    ('hostname = "a.test"\nmax_recipients = true\n', ":2: max_recipients: expected an integer"),
    ('hostname = "a.test"\npersona = "exim"\n', ":2: persona: unknown persona 'exim'"),
    ('hostname = "a.test"\n\n[mailboxes]\nbob = 3\n', ":4: mailboxes.bob: expected a string"),
    ('hostname = "a.test"\n[forwards]\nfred = { to = "x@y", mode = "later" }\n',
     ":3: forwards.fred.mode: must be one of will-forward, please-try"),
    ('hostname = "a.test"\n[hosts."b.test"]\nmailboxes = {}\nshoe = 1\n',
     ":4: hosts.\"b.test\".shoe: unknown key"),
    ('hostname = "a.test"\n[hosts."b.test"]\nmax_sessions = 3\n',
     ":3: hosts.\"b.test\".max_sessions: unknown key (only at the top level)"),
    (('hostname = "a.test"\n[[queue]]\nhost = "b.test"\nfrom = "a@a.test"\nto = "b@b.test"\n'
     'data = "x"\n'), ":5: queue[0].to: expected a list of strings"),
    ('persona = "rfc821"\n', "hostname: missing"),
    ('hostname = "a test"\n', ":1: hostname: 'a test' is not a host name"),
    ('hostname = "a.test"\nbanner = "two\\nlines"\n', ":2: banner: must be one line"),
    ('hostname = "a.test"\nlogged_in = ["x", 2]\n', ":2: logged_in[1]: expected a string"),
    ('hostname = "a.test"\nmax_recipients = 0\n', ":2: max_recipients: must be at least 1"),
    ('hostname = "a.test"\nsize_limit = 1.5\n', ":2: size_limit: expected an integer, got a number"),
    # Issue 10, item 11: every text a world puts on the wire is one printable line.
    ('hostname = "a.test"\n[mailboxes]\nalice = "Alice\\r\\n250 injected"\n',
     ":3: mailboxes.alice: must be one line of printable text; '\\\\r' at column 6"),
    ('hostname = "a.test"\n[mailboxes]\n"al\\nice" = "Alice"\n',
     ':3: mailboxes."al\\u000aice": the name must be one line of printable text'),
    ('hostname = "a.test"\n[lists]\nstaff = ["bob", "x@y.test\\r\\n250 ok"]\n',
     ":3: lists.staff[1]: must be one line of printable text"),
    ('hostname = "a.test"\n[lists]\nstaff = ["not an address"]\n',
     ":3: lists.staff[0]: 'not an address' is not a member"),
    ('hostname = "a.test"\n[lists]\n"st\\u001baff" = ["bob"]\n',
     ":3: lists.\"st\\u001baff\": the name must be one line"),
    ('hostname = "a.test"\n[forwards]\nfred = { to = "x@y.test\\n" }\n',
     ":3: forwards.fred.to: must be one line of printable text"),
    ('hostname = "a.test"\nlogged_in = ["x\\u202e"]\n', ":2: logged_in[0]: must be one line"),
    ('hostname = "a.test"\ndomains = ["a b"]\n', ":2: domains[0]: 'a b' is not a host name"),
    ('hostname = "[\\u001b[31m]"\n', ":1: hostname: '[\\\\x1b[31m]' is not a host name"),
    ('hostname = "[1.2.3.999]"\n', ":1: hostname: '[1.2.3.999]' is not a host name"),
    (('hostname = "a.test"\n[[queue]]\nhost = "b.test"\nfrom = "a@a.test\\r\\nRSET"\n'
      'to = ["b@b.test"]\ndata = "x"\n'), ":4: queue[0].from: must be one line"),
    # Item 10: a list or forward that comes back to itself, named with its whole cycle.
    ('hostname = "a.test"\n[lists]\nall = ["bob", "all"]\n',
     ":3: lists.all: the list includes itself (all@a.test -> all@a.test)"),
    (('hostname = "a.test"\n[lists]\nx = ["y"]\ny = ["z@b.test"]\n[hosts."b.test"]\n'
     'lists = { z = ["x@a.test"] }\n'),
     ":3: lists.x: the list includes itself (x@a.test -> y@a.test -> z@b.test -> x@a.test)"),
    (('hostname = "a.test"\n[forwards]\nfred = { to = "fred@b.test" }\n[hosts."b.test"]\n'
     'forwards = { fred = { to = "fred@a.test" } }\n'),
     ":3: forwards.fred: the forward comes back to itself (fred@a.test -> fred@b.test"),
    # Item 14: a STARTTLS host needs a name a certificate can hold.
    ('hostname = "#123"\n', ":1: hostname: '#123' cannot be the name in a TLS certificate"),
    ('hostname = "a.test"\n[hosts."#7"]\npersona = "modern"\n',
     ':2: hosts."#7".hostname: \'#7\' cannot be the name in a TLS certificate'),
    ('hostname = "' + "x" * 64 + '.test"\n', ":1: hostname: 'xxxx"),
])
def test_errors_name_file_line_and_key(tmp_path, text, expected):
    path = world_file(tmp_path, text)
    with pytest.raises(WorldError) as info:
        load_world(path)
    message = str(info.value)
    assert message.startswith(str(path)) and expected in message
    assert "\n" not in message


def test_bad_toml_and_missing_file_are_one_line_errors(tmp_path):
    with pytest.raises(WorldError, match=r"invalid TOML"):
        load_world(world_file(tmp_path, "hostname = \n"))
    with pytest.raises(WorldError, match=r"nothere.toml: cannot read world file"):
        load_world(tmp_path / "nothere.toml")


def test_locate_key_finds_tables_dotted_and_inline_keys():
    text = 'a = 1\n[t]\nx = 2\n[t.u]\ny.z = 3\n[[q]]\nk = 1\n[[q]]\nk = 2\nin = { p = 1,\n q = 2 }\n'
    assert locate_key(text, ("a",)) == 1
    assert locate_key(text, ("t", "x")) == 3
    assert locate_key(text, ("t", "u", "y", "z")) == 5
    assert locate_key(text, ("q", 1, "k")) == 9
    assert locate_key(text, ("q", 1, "in", "p")) == 10
    assert locate_key(text, ("nothing",)) == 1


def test_nothing_in_a_world_is_evaluated(tmp_path):
    # Braces and percent signs are kept literally: texts from a world are never templates.
    w = load_world(world_file(tmp_path, 'hostname = "a.test"\nbanner = "{host} %s {__class__}"\n'))
    assert w.host.banner == "{host} %s {__class__}"


def test_world_as_plays_another_host(tmp_path):
    w = load_world(world_file(tmp_path, FULL))
    other = world_as(w, "usc-isi.arpa")
    assert other.host.hostname == "USC-ISI.ARPA"
    assert other.find_host("USC-ISIF.ARPA").persona == "rfc821"
    with pytest.raises(ValueError, match="no host 'x.test'"):
        world_as(w, "x.test")


def test_default_world_and_persona_override():
    w = default_world().with_persona("sendmail-8.9")
    assert w.host.persona == "sendmail-8.9"
    with pytest.raises(WorldError, match="unknown persona"):
        default_world().with_persona("qmail")


# ----------------------------------------------------------------------------- fuzzing

_KEYS = sorted({"hostname", "persona", "banner", "extensions", "max_recipients", "size_limit",
                "domains", "mailboxes", "lists", "forwards", "logged_in", "relay_domains",
                "users", "queue", "allow_plaintext_auth", "hosts", "max_sessions", "to",
                "mode", "host", "from", "data", "world"})
_HEADERS = ["[world]", "[mailboxes]", "[lists]", "[forwards]", "[users]", "[[queue]]",
            '[hosts."b.test"]', "[hosts.c]", '[hosts.""]', "[forwards.x]", "[world.hosts.d]",
            "[[world.queue]]", "[hosts.b.test]"]
_VALUES = ['"a.test"', '"rfc821"', '"will-forward"', "0", "-3", "10", "true", "1.5",
           "1979-05-27", '["x", 2]', '["a@b.test"]', "[]", "{}", '{ to = "a@b", mode = "x" }',
           '"\\u001b[2J"', '"\\u202e"', "'literal'", '"""multi\nline"""', "[[1], {a = 1}]",
           "{ a = { b = 1 } }", "inf", "nan"]


def _line():
    from hypothesis import strategies as st

    key = st.one_of(st.sampled_from(_KEYS), st.text(max_size=6).map(lambda t: f'"{t}"'
                    .replace("\\", "\\\\").replace("\n", "")), st.sampled_from(["a.b", "x"]))
    return st.one_of(
        st.sampled_from(_HEADERS),
        st.builds(lambda k, v: f"{k} = {v}", key, st.sampled_from(_VALUES)),
        st.text(max_size=20),  # junk
    )


def test_any_world_text_loads_or_is_one_clear_line(tmp_path):
    """Random TOML-ish text never escapes as a traceback: a World, or a WorldError that
    is one printable line starting with the file name."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    path = tmp_path / "fuzz.toml"

    @settings(max_examples=200, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(_line(), max_size=12))
    def check(lines):
        path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
        try:
            load_world(path)
        except WorldError as exc:
            text = str(exc)
            assert text.startswith(f"{path}"), text
            assert "\n" not in text and text.isprintable(), repr(text)

    check()


def test_a_world_that_loads_from_fuzzing_shape(tmp_path):
    # Known-good pieces combine: a lesson [world] table with hosts and a queue.
    text = ('[world]\nhostname = "a.test"\n[world.hosts."b.test"]\npersona = "rfc821"\n'
            '[[world.queue]]\nhost = "b.test"\nfrom = "x@a.test"\nto = ["y@b.test"]\n'
            'data = "hi"\n')
    w = load_world(world_file(tmp_path, text))
    assert w.find_host("B.TEST").persona == "rfc821" and len(w.host.queue) == 1


def test_names_a_certificate_cannot_hold_are_fine_without_starttls(tmp_path):
    """RFC 821's ``#number`` host is a valid name for a 1982 server, which has no TLS."""
    w = load_world(world_file(tmp_path, 'hostname = "#123"\npersona = "rfc821"\n'))
    assert w.host.hostname == "#123"
    w = load_world(world_file(tmp_path, 'hostname = "[192.0.2.1]"\n'))  # IP SAN
    assert w.host.hostname == "[192.0.2.1]"


def test_a_list_named_twice_is_not_a_loop(tmp_path):
    w = load_world(world_file(tmp_path, 'hostname = "a.test"\n[mailboxes]\nbob = ""\n'
                              '[lists]\na = ["b", "c"]\nb = ["bob"]\nc = ["b"]\n'))
    assert set(w.host.lists) == {"a", "b", "c"}
