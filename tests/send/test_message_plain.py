"""The plain case of smtptui.core.message, written without the email package, is the
email package's output byte for byte: for every spec it accepts, ``_plain_compose``
gives what ``_email_compose`` gives (pieces, size, flags, headers), and it declines
around the boundary of the plain case (long or non-ASCII headers and body lines, headers
the package rewrites, attachments)."""

from __future__ import annotations

import datetime
import email.headerregistry
import email.utils
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from smtptui.core import message
from smtptui.core.message import (
    Attachment,
    Composed,
    MessageSpec,
    _email_compose,
    _plain_compose,
    compose,
)

from .conftest import JAPANESE

DATE = "Tue, 02 Jan 2024 03:04:05 +0900"


def spec(**kw: object) -> MessageSpec:
    base: dict[str, object] = {
        "sender": "bob@client.test", "recipients": ("alice@lab.test",),
        "subject": "hello", "body": "one line\n", "date": DATE,
        "message_id": "<170000000000.4242.123456789.smtptui@client.test>"}
    base.update(kw)
    return MessageSpec(**base)  # type: ignore[arg-type]


def both(s: MessageSpec, eight_bit_ok: bool = True, utf8_headers: bool = False
         ) -> tuple[Composed | None, Composed | BaseException]:
    plain = _plain_compose(s, eight_bit_ok=eight_bit_ok, utf8_headers=utf8_headers)
    try:
        ref: Composed | BaseException = _email_compose(
            s, eight_bit_ok=eight_bit_ok, utf8_headers=utf8_headers)
    except Exception as exc:  # noqa: BLE001  (the package has bugs on odd input)
        ref = exc
    return plain, ref


def assert_same(plain: Composed, ref: Composed | BaseException) -> None:
    assert isinstance(ref, Composed), f"the email package refused what the plain path took: {ref!r}"
    assert plain.pieces == ref.pieces
    assert plain.size == ref.size == sum(len(p) for p in plain.pieces)  # type: ignore[arg-type]
    assert plain.eight_bit == ref.eight_bit
    assert plain.utf8_headers == ref.utf8_headers
    # The email package's header values are str subclasses; compare them as text.
    assert [(n, str(v)) for n, v in ref.headers] == list(plain.headers)
    assert all(type(v) is str for _, v in plain.headers)
    assert plain == ref


# ----------------------------------------------------------------------- strategies

ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~"
atom = st.text(alphabet=ATEXT, min_size=1, max_size=8)
dot_atom = st.lists(atom, min_size=1, max_size=3).map(".".join)
# Near misses: empty atoms (a..b, .a), specials, quoting, spaces, non-ASCII, encoded words.
odd_part = st.one_of(
    dot_atom,
    st.sampled_from(["a..b", ".a", "a.", '"q u"', "a b", "(c)a", "a[1]", "ä", "=?x?q?y?=",
                     "a,b", "a;b", "<a>", "", "[127.0.0.1]", "a\\b"]),
)
addr_spec = st.builds(lambda lp, d: f"{lp}@{d}", dot_atom, dot_atom)
odd_address = st.one_of(
    addr_spec,
    st.builds(lambda lp, d: f"{lp}@{d}", odd_part, odd_part),
    st.builds(lambda n, a: f"{n} <{a}>", st.sampled_from(["Bob", '"B. B."', "Bøb", "=?utf-8?q?B?="]),
              addr_spec),
    st.sampled_from(["postmaster", "", "a@b@c", "<a@b>", "a@b (comment)", "ü@ex.test",
                     "a@b.test,", "a@b.test, ", "group: a@b.test;"]),
)
address = st.one_of(addr_spec, addr_spec, odd_address)

DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@st.composite
def dates(draw: st.DrawFn) -> str:
    when = draw(st.datetimes(min_value=datetime.datetime(900, 1, 1),
                             max_value=datetime.datetime(9999, 12, 30)))
    minutes = draw(st.integers(-24 * 60 + 1, 24 * 60 - 1))
    tz = datetime.timezone(datetime.timedelta(minutes=minutes))
    text = email.utils.format_datetime(when.replace(tzinfo=tz, microsecond=0))
    kind = draw(st.integers(0, 9))
    if kind == 0:  # the wrong weekday
        text = draw(st.sampled_from(DAYS)) + text[3:]
    elif kind == 1:  # -0000 (no zone information)
        text = text[:-5] + "-0000"
    elif kind == 2:  # something else at one position: 99 as a day, 60 seconds, +2400 ...
        i = draw(st.integers(0, len(text) - 1))
        text = text[:i] + draw(st.sampled_from("0123456789 ,:+-xZ")) + text[i + 1:]
    elif kind == 3:
        text = draw(st.sampled_from([
            "Tue, 2 Jan 2024 03:04:05 +0900", "Tue, 02 Jan 24 03:04:05 +0900",
            "Tue, 02 Jan 2024 03:04 +0900", "02 Jan 2024 03:04:05 +0900",
            "Tue, 02 Jan 2024 03:04:05 GMT", "Tue, 02 Jan 2024 03:04:05 +0960",
            "Tue, 02 jan 2024 03:04:05 +0900", "Thu, 29 Feb 2024 00:00:00 +0000",
            "Fri, 29 Feb 2023 00:00:00 +0000", "Tue, 02 Jan 0099 03:04:05 +0900",
            "Sat, 01 Jan 2000 23:59:60 +0000", "Tue, 02 Jan 2024 03:04:05 +0900 (JST)",
            "not a date", ""]))
    return text


msg_id = st.one_of(
    st.builds(lambda lp, d: f"<{lp}@{d}>", dot_atom, dot_atom),
    st.builds(lambda lp, d: f"<{lp}@{d}>", odd_part, odd_part),
    st.sampled_from(["<a@b> x", "a@b", "<a@b", "<>", "", "<a@[1.2.3.4]>", "<a b@c>"]),
)

printable = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
tricky = st.sampled_from(["\r", "\n", "\r\n", "\t", "\x00", "\x0b", "\x0c", "\x1c", "\x7f",
                          "\x85", "\u2028", "é", "日", "\ud800", "=?", "?=", ":", ";", "\"",
                          "(", ")", "<", ">", "@", ",", "\\", " "])
value_text = st.lists(st.one_of(printable, printable, printable, tricky), max_size=90).map("".join)
header_value = st.one_of(
    value_text, st.text(alphabet=printable, min_size=55, max_size=80), address, dates(),
    msg_id, st.sampled_from(["1.0", "1.1", "text/html", "7bit", "x" * 72]))
header_name = st.one_of(
    st.sampled_from(["From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "subject",
                     "TO", "message-id", "Mime-Version", "Content-Type", "content-type",
                     "Content-Transfer-Encoding", "Content-Disposition", "Content-Language",
                     "Sender", "Cc", "Bcc", "Reply-To", "Resent-Date", "Resent-From",
                     "Orig-Date", "X-Test", "X-Mailer", "Comments", "Keywords",
                     "X-" + "N" * 70]),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1,
            max_size=12),
    st.sampled_from(["X Space", "X:Colon", "Ä-Name", ""]),
)
headers = st.lists(st.tuples(header_name, header_value), max_size=4).map(tuple)

line_char = st.one_of(printable, printable, printable, printable,
                      st.sampled_from(["é", "日", "\t", "\x00", "\x0b", "\x0c", "\x1c",
                                       "\x85", "\u2028", "\ufeff", "\x7f", "."]))
body_line = st.one_of(
    st.text(alphabet=line_char, max_size=30),
    st.text(alphabet=line_char, min_size=70, max_size=85),
    st.sampled_from([".", "..", ".x", "From here", "-- ", "", " ", "--smtptui-boundary",
                     "x" * 78, "x" * 79, "é" * 39, "é" * 40, "日" * 26, "日" * 27]),
)


@st.composite
def bodies(draw: st.DrawFn) -> str:
    lines = draw(st.lists(body_line, max_size=8))
    ends = draw(st.lists(st.sampled_from(["\n", "\n", "\r\n", "\r"]), min_size=len(lines),
                         max_size=len(lines)))
    text = "".join(line + end for line, end in zip(lines, ends, strict=True))
    if text and draw(st.booleans()):
        text = text.rstrip("\r\n")  # no newline at the end
    return text


wild_specs = st.builds(
    MessageSpec,
    sender=address,
    recipients=st.lists(address, min_size=1, max_size=4).map(tuple),
    subject=st.one_of(value_text, st.text(alphabet=printable, min_size=60, max_size=75)),
    body=st.one_of(bodies(), st.sampled_from(["", "\n", "x", JAPANESE, "x" * 200])),
    date=st.one_of(dates(), st.just(DATE)),
    message_id=msg_id,
    headers=headers,
    attachments=st.one_of(st.just(()), st.just((Attachment("a.txt", "text/plain", 3, "a"),))),
)

# Specs inside the plain case: each of these must be taken by the plain path.
plain_text = st.text(alphabet=printable, min_size=1, max_size=40).filter(
    lambda v: v.strip() and "=?" not in v)


@st.composite
def good_dates(draw: st.DrawFn) -> str:
    when = draw(st.datetimes(min_value=datetime.datetime(1970, 1, 1),
                             max_value=datetime.datetime(2100, 1, 1)))
    minutes = draw(st.integers(-18 * 60, 18 * 60))
    if draw(st.booleans()):
        minutes -= minutes % 15
    tz = datetime.timezone(datetime.timedelta(minutes=minutes))
    return email.utils.format_datetime(when.replace(tzinfo=tz, microsecond=0))


plain_atom = st.text(alphabet=ATEXT.replace("=", ""), min_size=1, max_size=8)  # no "=?"
plain_dot_atom = st.lists(plain_atom, min_size=1, max_size=3).map(".".join)
plain_addr_spec = st.builds(lambda lp, d: f"{lp}@{d}", plain_dot_atom, plain_dot_atom)
plain_line = st.text(alphabet=printable, max_size=78)
plain_8bit_line = st.text(alphabet=st.one_of(printable, st.sampled_from("éü日ß€")),
                          max_size=26)
plain_specs = st.builds(
    MessageSpec,
    sender=plain_addr_spec,  # "From: " and at most 53
    recipients=st.lists(st.builds(lambda lp, d: f"{lp}@{d}.test", plain_atom, plain_atom),
                        min_size=1, max_size=2).map(tuple),
    subject=plain_text,
    body=st.lists(st.one_of(plain_line, plain_8bit_line), max_size=6).map(
        lambda lines: "".join(line + "\n" for line in lines)),
    date=good_dates(),
    message_id=plain_addr_spec.map(lambda a: f"<{a}>"),
    headers=st.lists(st.tuples(st.sampled_from(["X-Test", "X-Mailer", "Comments", "Subject",
                                                "MIME-Version"]),
                               plain_text), max_size=4, unique_by=lambda h: h[0]).map(
        lambda hs: tuple((n, "1.0" if n == "MIME-Version" else v) for n, v in hs)),
)


FIELDS = ("sender", "recipients", "subject", "body", "date", "message_id", "headers",
          "attachments")


@st.composite
def near_plain_specs(draw: st.DrawFn) -> MessageSpec:
    """A plain spec with none, one or two of its fields drawn from the wild: the
    boundary of the plain case, from both sides."""
    plain, wild = draw(plain_specs), draw(wild_specs)
    changed = draw(st.lists(st.sampled_from(FIELDS), max_size=2, unique=True))
    return MessageSpec(**{f: getattr(wild if f in changed else plain, f) for f in FIELDS})


specs = st.one_of(near_plain_specs(), wild_specs)


# -------------------------------------------------------------------------- properties


# 400 examples per run keep the suite quick (each builds a message twice); 40,000 were
# run when the plain path was written, on Python 3.11, 3.12 and 3.13.
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs, st.booleans(), st.booleans())
@example(spec(), True, False)
@example(spec(body=""), False, False)
@example(spec(body="no newline"), False, True)
@example(spec(body=".\r\n..\rFrom x\n"), True, False)
@example(spec(body="x" * 78 + "\n"), False, False)
@example(spec(body="x" * 79 + "\n"), False, False)
@example(spec(body=JAPANESE), True, False)
@example(spec(body=JAPANESE), False, False)
@example(spec(subject=""), True, False)
@example(spec(subject=" "), True, False)
@example(spec(subject="x" * 69), True, False)  # "Subject: " + 69 = 78
@example(spec(subject="x" * 70), True, False)
@example(spec(subject="a\r\nBcc: x@y"), True, False)
@example(spec(headers=(("Content-Type", "text/html"),)), True, False)
@example(spec(headers=(("Subject", "a"), ("subject", "b"))), True, False)
@example(spec(headers=(("X-A", "a"), ("x-a", "b"))), True, False)
@example(spec(headers=(("Date", "Mon, 02 Jan 2024 03:04:05 +0900"),)), True, False)
@example(spec(headers=(("From", "Bob <bob@client.test>"),)), True, False)
@example(spec(headers=(("MIME-Version", "1.0"),)), True, False)
def test_plain_path_is_the_email_package_whenever_it_answers(
        s: MessageSpec, eight_bit_ok: bool, utf8_headers: bool) -> None:
    plain, ref = both(s, eight_bit_ok, utf8_headers)
    event("plain path" if plain is not None else "declined")
    if plain is not None:
        assert_same(plain, ref)


@settings(max_examples=500, deadline=None)
@given(plain_specs, st.booleans())
def test_plain_messages_take_the_plain_path(s: MessageSpec, utf8_headers: bool) -> None:
    eight_bit_ok = not s.body.isascii() or utf8_headers
    plain, ref = both(s, eight_bit_ok, utf8_headers)
    assert plain is not None, s
    assert_same(plain, ref)


# ----------------------------------------------------------------------- the boundary


def test_what_smtptui_send_writes_by_default_takes_the_plain_path() -> None:
    s = spec(subject=f"test {DATE}", body="This is a test message sent with smtptui send.\n")
    for eight_bit_ok in (False, True):
        plain, ref = both(s, eight_bit_ok)
        assert plain is not None
        assert_same(plain, ref)
        assert compose(s, eight_bit_ok=eight_bit_ok) == plain


@pytest.mark.parametrize(("kw", "eight_bit_ok"), [
    ({"body": "x" * 79 + "\n"}, True),              # 7bit lines are at most 78 octets
    ({"body": "é" * 40 + "\n"}, True),              # ... octets, not characters
    ({"body": JAPANESE}, False),                     # 8-bit body, no 8BITMIME: encoded
    ({"body": "\ud800"}, True),                      # not encodable: the package's error
    ({"subject": "x" * 70}, True),                   # the Subject line would be folded
    ({"subject": "café"}, True),                     # an encoded word
    ({"subject": "=?utf-8?q?caf=C3=A9?="}, True),    # decoded by the package
    ({"subject": ""}, True),                         # written "Subject:" without a space
    ({"subject": "a\tb"}, True),
    ({"sender": "Bob <bob@client.test>"}, True),     # a display name
    ({"sender": ""}, True),
    ({"sender": "a..b@client.test"}, True),
    ({"recipients": ("ü@lab.test",)}, True),
    ({"recipients": tuple(f"user{i}@lab.test" for i in range(6))}, True),  # folded To
    ({"date": "Mon, 02 Jan 2024 03:04:05 +0900"}, True),  # rewritten with the right day
    ({"date": "Tue, 2 Jan 2024 03:04:05 +0900"}, True),
    ({"date": "garbage"}, True),                     # dropped by the package
    ({"message_id": "<a@b> trailing"}, True),        # trailing text dropped
    ({"headers": (("Content-Type", "text/html"),)}, True),  # deleted by set_content()
    ({"headers": (("X-A", "1"), ("x-a", "2"))}, True),
    ({"headers": (("Sender", "a@b.test"),)}, True),
    ({"headers": (("MIME-Version", "1.1"),)}, True),
    ({"headers": (("X Space", "v"),)}, True),
    ({"attachments": (Attachment("a.txt", "text/plain", 3, "a"),)}, True),
])
def test_the_plain_path_declines(kw: dict[str, object], eight_bit_ok: bool) -> None:
    assert _plain_compose(spec(**kw), eight_bit_ok=eight_bit_ok) is None


@pytest.mark.parametrize(("kw", "eight_bit_ok"), [
    ({"body": "x" * 78 + "\n"}, False),
    ({"body": "é" * 39 + "\n"}, True),
    ({"body": JAPANESE}, True),
    ({"body": ""}, False),
    ({"body": "no newline at the end"}, False),
    ({"body": ".\n..\r\nFrom me\r"}, False),
    ({"body": "a\x00b\x0bc\n"}, False),            # the package does not mind controls
    ({"subject": "x" * 69}, True),                   # "Subject: " + 69 = 78
    ({"subject": " spaced  out "}, True),
    ({"date": "Thu, 29 Feb 2024 23:59:59 -0000"}, True),
    ({"date": "Sat, 01 Jan 2000 00:00:00 -0330"}, True),
    ({"headers": (("subject", "replaced"), ("X-Mailer", "smtptui"))}, True),
    ({"headers": (("To", "a@b.test, c@d.test"),)}, True),
    ({"headers": (("MIME-Version", "1.0"),)}, True),
])
def test_the_plain_path_takes(kw: dict[str, object], eight_bit_ok: bool) -> None:
    s = spec(**kw)
    plain, ref = both(s, eight_bit_ok)
    assert plain is not None
    assert_same(plain, ref)


def test_the_header_classes_are_the_email_packages() -> None:
    """The plain path treats every name outside this set as unstructured."""
    registry = email.headerregistry.HeaderRegistry()
    assert message._STRUCTURED == set(registry.registry)
    for name in ("Subject", "X-Test", "Comments", "Keywords"):
        assert issubclass(registry[name], email.headerregistry.UnstructuredHeader), name


def test_compose_of_a_plain_message_imports_no_email_module() -> None:
    code = (
        "import sys\n"
        "from smtptui.core.message import MessageSpec, compose\n"
        "s = MessageSpec('bob@client.test', ('alice@lab.test',), 'hi', 'body\\n',\n"
        f"                {DATE!r}, '<1.2@client.test>')\n"
        "compose(s, eight_bit_ok=True)\n"
        "print(sorted(m for m in sys.modules if m == 'email' or m.startswith('email.')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
