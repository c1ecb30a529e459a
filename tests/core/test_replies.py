"""The reply parser: well-formed replies, every malformation, chunking and bounds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtptui.core.diagnostics import Severity
from smtptui.core.replies import Reply, ReplyParser, parse_enhanced, parse_replies


def feed_all(data: bytes, **kw: int) -> list[Reply]:
    parser = ReplyParser(**kw)
    out = parser.feed(data)
    last = parser.close()
    return out + ([last] if last is not None else [])


def messages(reply: Reply) -> str:
    return " | ".join(d.message for d in reply.diagnostics)


# -- well-formed replies ------------------------------------------------------------------

def test_single_line_reply() -> None:
    (r,) = feed_all(b"250 OK\r\n")
    assert r.code == 250 and r.lines == ("OK",) and r.raw == b"250 OK\r\n"
    assert r.text == "OK" and r.klass == 2 and not r.is_multiline
    assert r.is_positive and not r.is_transient and not r.is_permanent
    assert r.diagnostics == () and r.enhanced is None


def test_rfc821_multiline_example() -> None:
    # RFC 821 §4.2: the "123-234 text beginning with numbers" line is a continuation.
    data = (b"250-First line\r\n250-Second line\r\n250-234 text beginning with numbers\r\n"
            b"250 The last line\r\n")
    (r,) = feed_all(data)
    assert r.code == 250
    assert r.lines == ("First line", "Second line", "234 text beginning with numbers",
                       "The last line")
    assert r.raw == data and r.is_multiline and r.diagnostics == ()


def test_bare_code_is_valid() -> None:
    # RFC 5321 §4.2: Reply-line = *( Reply-code "-" [ textstring ] CRLF )
    #                Reply-code [ SP textstring ] CRLF
    (r,) = feed_all(b"250\r\n")
    assert r.code == 250 and r.lines == ("",) and r.diagnostics == ()
    (r,) = feed_all(b"250-\r\n250\r\n")
    assert r.lines == ("", "") and r.diagnostics == ()


def test_several_replies_in_one_chunk_and_partial_tail() -> None:
    p = ReplyParser()
    out = p.feed(b"220 hi\r\n250-a\r\n250 b\r\n354 go")
    assert [r.code for r in out] == [220, 250]
    assert p.has_partial
    assert p.feed(b" ahead\r\n")[0].lines == ("go ahead",)
    assert not p.has_partial and p.close() is None


@pytest.mark.parametrize(
    ("text", "code", "enhanced"),
    [
        ("550 5.1.1 User unknown", 550, "5.1.1"),
        ("250 2.1.5 Ok", 250, "2.1.5"),
        ("421 4.7.0 Try again later", 421, "4.7.0"),
        ("235 2.7.0  Authentication Succeeded", 235, "2.7.0"),
        ("250 2.1.23", 250, "2.1.23"),          # RFC 3463's own example, at end of text
        ("550 4.1.1 class mismatch", 550, None),  # class must match the reply code
        ("550 5.01.1 leading zero", 550, None),   # sub-codes have no leading zeros
        ("550 5.1.1234 too long", 550, None),
        ("550 5.1.1User", 550, None),
        ("354 2.0.0 ignored on 3xx", 354, None),
        ("250 1.2.3.4 is an address", 250, None),
    ],
)
def test_enhanced_status_code(text: str, code: int, enhanced: str | None) -> None:
    r = Reply.from_text(text)
    assert r.code == code and r.enhanced == enhanced


def test_enhanced_class_mismatch_is_diagnosed() -> None:
    r = Reply.from_text("550 4.1.1 class mismatch")
    assert "4.1.1" in messages(r) and r.diagnostics[0].rule.startswith("RFC 2034")


def test_parse_enhanced() -> None:
    assert parse_enhanced("5.7.1 Relaying denied") == "5.7.1"
    assert parse_enhanced("x 5.7.1") is None
    assert parse_enhanced("3.1.1 x") is None


def test_from_text_accepts_crlf_and_rejects_two_replies() -> None:
    assert Reply.from_text("250-a\r\n250 b\r\n").lines == ("a", "b")
    assert Reply.from_text("250-a\n250 b").raw == b"250-a\r\n250 b\r\n"
    with pytest.raises(ValueError, match="2 replies"):
        Reply.from_text("250 a\n250 b")
    with pytest.raises(ValueError):
        Reply.from_text("")


def test_partial_reply_at_close() -> None:
    p = ReplyParser()
    assert p.feed(b"250-one\r\n250-two\r\n") == []
    r = p.close()
    assert r is not None and r.code == 250 and r.lines == ("one", "two")
    assert "closed in the middle of a reply" in messages(r) and r.has_errors


def test_unterminated_final_line_at_close() -> None:
    p = ReplyParser()
    assert p.feed(b"221 bye") == []
    r = p.close()
    assert r is not None and r.code == 221 and r.lines == ("bye",) and r.raw == b"221 bye"
    assert "no line end" in messages(r)


# -- malformations: table-driven ------------------------------------------------------------
# (wire bytes, expected code, expected lines, severity, fragment of the message)

MALFORMED = [
    (b"25x OK\r\n", None, ("25x OK",), Severity.ERROR, "three-digit reply code"),
    (b"hello\r\n", None, ("hello",), Severity.ERROR, "three-digit reply code"),
    (b"\r\n", None, ("",), Severity.ERROR, "three-digit reply code"),
    (b"600 out of range\r\n", None, ("out of range",), Severity.ERROR, "first digit must be 2-5"),
    (b"099 zero\r\n", None, ("zero",), Severity.ERROR, "first digit must be 2-5"),
    (b"050 sendmail VERB progress\r\n", None, ("sendmail VERB progress",), Severity.ERROR,
     "first digit must be 2-5"),
    (b"199 prelim\r\n", 199, ("prelim",), Severity.WARNING, "1yz"),
    (b"260 odd\r\n", 260, ("odd",), Severity.WARNING, "second digit must be 0-5"),
    (b"250OK\r\n", 250, ("OK",), Severity.ERROR, "no space or hyphen"),
    (b"250 OK\n", 250, ("OK",), Severity.WARNING, "bare LF"),
    (b"250-a\r\n251-b\r\n250 c\r\n", 250, ("a", "b", "c"), Severity.ERROR,
     "differs from the first line's 250"),
    (b"250-a\r\n550 c\r\n", 250, ("a", "c"), Severity.ERROR, "differs"),
    (b"250 a\x00b\r\n", 250, ("a\x00b",), Severity.WARNING, "NUL character at column 5"),
    (b"250 a\x1bb\r\n", 250, ("a\x1bb",), Severity.WARNING, "control character 0x1B"),
    (b"250 a\rb\r\n", 250, ("a\rb",), Severity.WARNING, "control character 0x0D"),
    (b"250 caf\xe9\r\n", 250, ("caf\ufffd",), Severity.WARNING, "not valid UTF-8"),
    (b"250 " + b"x" * 600 + b"\r\n", 250, ("x" * 600,), Severity.WARNING, "512-octet limit"),
    (b"250-a\r\nbroken\r\n", 250, ("a", "broken"), Severity.ERROR, "three-digit reply code"),
]


@pytest.mark.parametrize(("data", "code", "lines", "severity", "fragment"), MALFORMED)
def test_malformed_reply(data: bytes, code: int | None, lines: tuple[str, ...],
                         severity: Severity, fragment: str) -> None:
    replies = feed_all(data)
    assert len(replies) == 1
    (r,) = replies
    assert r.code == code and r.lines == lines and r.raw == data
    hits = [d for d in r.diagnostics if fragment in d.message]
    assert hits, messages(r)
    assert hits[0].severity is severity
    assert all(d.rule for d in r.diagnostics)


def test_valid_utf8_text_is_not_diagnosed() -> None:
    (r,) = feed_all("250 Grüße, こんにちは\r\n".encode())
    assert r.lines == ("Grüße, こんにちは",) and r.diagnostics == ()


def test_line_diagnostics_name_the_line_and_count_repeats() -> None:
    data = b"250-a\r\n250-b\n250-c\n250 d\n"
    (r,) = feed_all(data)
    (d,) = r.diagnostics
    assert d.message.startswith("line 2:") and "(and 2 more lines)" in d.message


def test_malformed_first_line_ends_the_reply() -> None:
    out = feed_all(b"garbage-line\r\n250 OK\r\n")
    assert [r.code for r in out] == [None, 250]


def test_over_long_line_is_capped_while_streaming() -> None:
    p = ReplyParser(max_line_length=100)
    assert p.feed(b"250-" + b"a" * 60) == []
    for _ in range(1000):  # 1 MB of one line: never buffered
        assert p.feed(b"b" * 1000) == []
        assert len(p._pending) <= 101
    out = p.feed(b"\r\n250 end\r\n")
    assert len(out) == 1
    r = out[0]
    assert r.code == 250 and r.lines == ("a" * 60 + "b" * 36, "end")
    assert r.raw == b"250-" + b"a" * 60 + b"b" * 36 + b"\r\n250 end\r\n"
    msg = messages(r)
    assert "the line is 1000064 octets; only the first 100 were kept, 999964 discarded" in msg
    assert "512-octet limit" in msg


def test_over_long_line_in_one_chunk_and_cr_split() -> None:
    line = b"550 " + b"z" * 300
    for eol in (b"\r\n", b"\n"):
        data = line + eol
        for cut in (len(line), len(line) + 1, 5, 150):
            p = ReplyParser(max_line_length=100)
            out = p.feed(data[:cut]) + p.feed(data[cut:])
            assert len(out) == 1
            assert out[0].raw == line[:100] + eol
            assert "304 octets; only the first 100 were kept, 204 discarded" in messages(out[0])


def test_too_many_lines_cuts_the_reply_and_skips_the_rest() -> None:
    body = b"".join(b"250-line %d\r\n" % i for i in range(50)) + b"250 last\r\n"
    p = ReplyParser(max_reply_lines=10)
    out = p.feed(body + b"221 bye\r\n")
    assert [r.code for r in out] == [250, 221]
    cut = out[0]
    assert len(cut.lines) == 10 and cut.lines[-1] == "line 9"
    assert "cut after 10 lines" in messages(cut)
    assert cut.raw == b"".join(b"250-line %d\r\n" % i for i in range(10))
    assert out[1].lines == ("bye",) and out[1].diagnostics == ()


def test_too_many_lines_in_small_chunks() -> None:
    body = b"".join(b"250-line %d\r\n" % i for i in range(50)) + b"250 last\r\n221 bye\r\n"
    p = ReplyParser(max_reply_lines=10)
    out = []
    for i in range(0, len(body), 7):
        out += p.feed(body[i : i + 7])
    assert [len(r.lines) for r in out] == [10, 1]


def test_huge_multiline_reply() -> None:
    n = 20_000
    data = b"".join(b"250-line %d\r\n" % i for i in range(n - 1)) + b"250 last\r\n"
    p = ReplyParser()
    out = []
    for i in range(0, len(data), 4096):
        out += p.feed(data[i : i + 4096])
    (r,) = out
    assert len(r.lines) == n and r.lines[123] == "line 123" and r.raw == data
    assert r.diagnostics == ()


def test_bulk_path_does_not_hide_problems() -> None:
    # Problems in the middle of a long reply must be found even on the fast path.
    lines = [b"250-line %d" % i for i in range(3000)]
    lines[1500] = b"250-bad\x07bell"
    lines[2000] = b"250-caf\xc3\xa9"
    lines[2500] = b"250-" + b"L" * 600
    data = b"".join(x + b"\r\n" for x in lines) + b"250 end\r\n"
    for size in (4096, 333, len(data)):
        p = ReplyParser()
        out = []
        for i in range(0, len(data), size):
            out += p.feed(data[i : i + size])
        (r,) = out
        assert r.lines[1500] == "bad\x07bell" and r.lines[2000] == "café"
        msg = messages(r)
        assert "line 1501: control character 0x07" in msg
        assert "line 2501:" in msg and "512-octet" in msg
        assert "UTF-8" not in msg


def test_constructor_rejects_silly_limits() -> None:
    with pytest.raises(ValueError):
        ReplyParser(max_line_length=3)
    with pytest.raises(ValueError):
        ReplyParser(max_reply_lines=0)


def test_to_dict_is_json_ready() -> None:
    import json

    r = Reply.from_text("550 5.1.1 nope\xff")
    d = json.loads(json.dumps(r.to_dict()))
    assert d["code"] == 550 and d["enhanced"] == "5.1.1" and d["lines"] == ["5.1.1 nope\xff"]


# -- properties ------------------------------------------------------------------------------

_wire = st.lists(
    st.one_of(
        st.sampled_from([b"250-", b"250 ", b"250", b"550 5.1.1 ", b"220-", b"354 ", b"25", b"\r\n",
                         b"\n", b"\r", b"-", b" ", b"\x00", b"\xff", b"\xc3\xa9", b"199 ", b"600-",
                         b"250-l\r\n" * 8, b"250-l\n" * 8, b"y" * 70]),
        st.binary(max_size=40),
    ),
    max_size=40,
).map(b"".join)


def _cuts(data: bytes, points: list[int]) -> list[bytes]:
    points = sorted({min(p, len(data)) for p in points})
    out, prev = [], 0
    for p in points + [len(data)]:
        out.append(data[prev:p])
        prev = p
    return out


def feed_chunked(data: bytes, points: list[int], **kw: int) -> list[Reply]:
    """``data`` fed in the pieces ``points`` cut it into, then closed."""
    p = ReplyParser(**kw)
    out: list[Reply] = []
    for chunk in _cuts(data, points):
        out += p.feed(chunk)
    last = p.close()
    return out + ([last] if last is not None else [])


@settings(max_examples=400, deadline=None)
@given(data=_wire, points=st.lists(st.integers(min_value=0, max_value=2000), max_size=12))
def test_any_bytes_any_chunking_same_replies(data: bytes, points: list[int]) -> None:
    whole = feed_all(data, max_line_length=64, max_reply_lines=5)
    chunked = feed_chunked(data, points, max_line_length=64, max_reply_lines=5)
    assert chunked == whole
    for r in whole:
        assert all(len(x.encode("utf-8", "surrogatepass")) <= 64 * 3 for x in r.lines)
        assert len(r.lines) <= 5


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=600))
def test_never_raises_and_raw_is_a_prefix_cover(data: bytes) -> None:
    replies = parse_replies(data)
    # Without capping, the raw bytes of the replies are exactly the input.
    assert b"".join(r.raw for r in replies) == data


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF,
                                                     exclude_characters="\x7f"),
                              max_size=30), min_size=1, max_size=30),
       code=st.integers(min_value=200, max_value=559).filter(lambda c: c % 100 < 60))
def test_round_trip_of_well_formed_replies(texts: list[str], code: int) -> None:
    wire = b"".join(b"%d-%s\r\n" % (code, t.encode()) for t in texts[:-1])
    wire += b"%d %s\r\n" % (code, texts[-1].encode())
    (r,) = feed_all(wire)
    assert r.code == code and r.lines == tuple(texts) and r.raw == wire
    assert all(d.severity is Severity.WARNING for d in r.diagnostics)


@pytest.mark.parametrize("eol", [b"\r\n", b"\n"])
def test_bulk_and_line_by_line_agree(eol: bytes) -> None:
    data = b"".join(b"250-line %d\t%s" % (i, eol) for i in range(500)) + b"250 end" + eol
    whole = feed_all(data)
    p = ReplyParser()
    bytewise = [r for i in range(len(data)) for r in p.feed(data[i : i + 1])]
    chunked = []
    p = ReplyParser()
    for i in range(0, len(data), 1000):
        chunked += p.feed(data[i : i + 1000])
    assert whole == bytewise == chunked
    assert len(whole[0].lines) == 501 and whole[0].lines[7] == "line 7\t"
    if eol == b"\n":
        (d,) = whole[0].diagnostics
        assert d.message.startswith("line 1: the line ends in a bare LF") and "500 more" in d.message


def test_exactly_max_reply_lines_is_not_cut() -> None:
    n = 1000
    data = b"".join(b"250-%d\r\n" % i for i in range(n - 1)) + b"250 end\r\n"
    (r,) = feed_all(data, max_reply_lines=n)
    assert len(r.lines) == n and r.diagnostics == ()
    out = feed_all(b"250-x\r\n" + data, max_reply_lines=n)
    assert "cut after 1000 lines" in messages(out[0]) and len(out) == 1


# --- the octet cap: a reply is read to its end, only its first octets are kept -------


def test_octet_cap_keeps_the_first_octets_and_counts_the_rest() -> None:
    line = b"250-" + b"X" * 8000 + b"\r\n"
    data = line * 1000 + b"250 end\r\n"
    p = ReplyParser(max_reply_octets=64 * 1024)
    out = []
    for i in range(0, len(data), 65536):
        out += p.feed(data[i : i + 65536])
    (r,) = out
    assert r.code == 250 and len(r.raw) <= 64 * 1024 + len(line)
    assert len(r.lines) == len(r.raw) // len(line)
    kept = len(r.lines)
    msg = messages(r)
    assert f"cut after {kept} lines" in msg
    assert f"{1000 - kept + 1} more lines ({len(data) - len(r.raw)} octets)" in msg
    (cut,) = [d for d in r.diagnostics if d.rule == "smtptui max_reply_size"]
    assert cut.severity is Severity.WARNING  # a complete reply, only shortened
    assert not p.has_partial


def test_a_cut_reply_is_delivered_only_when_its_final_line_arrives() -> None:
    p = ReplyParser(max_line_length=64, max_reply_octets=100)
    assert p.feed(b"250-" + b"a" * 50 + b"\r\n" + b"250-" + b"b" * 50 + b"\r\n") == []
    assert p.feed(b"250-more\r\n" * 1000) == [] and p.has_partial
    (r,) = p.feed(b"250 done\r\n221 bye\r\n")[:1]
    assert len(r.lines) == 2 and "1001 more lines" in messages(r)


def test_connection_closed_while_skipping_is_a_partial_reply() -> None:
    p = ReplyParser(max_line_length=64, max_reply_octets=100)
    p.feed(b"250-" + b"a" * 60 + b"\r\n" + b"250-" + b"b" * 60 + b"\r\n" + b"250-x\r\n" * 10)
    r = p.close()
    assert r is not None and r.code == 250
    msg = messages(r)
    assert "no final line" in msg and "cut after 2 lines" in msg
    assert p.close() is None and not p.has_partial


@settings(max_examples=300, deadline=None)
@given(data=_wire, points=st.lists(st.integers(min_value=0, max_value=2000), max_size=12))
def test_octet_cap_is_independent_of_chunking(data: bytes, points: list[int]) -> None:
    whole = feed_all(data, max_line_length=16, max_reply_octets=40)
    assert feed_chunked(data, points, max_line_length=16, max_reply_octets=40) == whole
    for r in whole:
        assert len(r.raw) <= 40 + 16 + 2


def test_clean_one_line_replies_and_the_ones_the_line_checks_still_see() -> None:
    # A clean one-line reply takes the one-regex path: the same reply as line by line.
    got = feed_all(b"250 2.1.0 sender ok\r\n221 bye\r\n354 \r\n")
    assert [(r.code, r.lines, r.raw, r.enhanced, r.diagnostics) for r in got] == [
        (250, ("2.1.0 sender ok",), b"250 2.1.0 sender ok\r\n", "2.1.0", ()),
        (221, ("bye",), b"221 bye\r\n", None, ()),
        (354, ("",), b"354 \r\n", None, ()),
    ]
    # Anything not clean still goes through every check.
    for raw, found in [(b"150 x\r\n", "1yz"), (b"260 x\r\n", "second digit"),
                       (b"250 a\x01b\r\n", "control character"),
                       (b"250 " + b"x" * 600 + b"\r\n", "octets, over the 512"),
                       (b"250 x\n", "bare LF"), (b"250 \xc3\xa9t\xc3\xa9\r\n", "")]:
        (r,) = feed_all(raw)
        assert found in messages(r), raw
        assert r.code == int(raw[:3])
