"""DATA transparency (RFC 5321 §4.5.2): dot-stuffing out, unstuffing in.

Each case is a message as the user wrote it and the exact octets that go on the wire
after the server's 354 reply.
"""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtptui.core.data import (
    MAX_LINE_OCTETS,
    DotStuffer,
    DotUnstuffer,
    normalize_line_endings,
    stuff,
    unstuff,
)

# (message as given, wire bytes after 354)
STUFFING_CASES = [
    (b"", b".\r\n"),                                        # empty message: just the end
    (b"Hi\r\n", b"Hi\r\n.\r\n"),
    (b"Hi", b"Hi\r\n.\r\n"),                                # last line closed for you
    (b".\r\n", b"..\r\n.\r\n"),                             # a lone dot is doubled
    (b".hidden\r\n", b"..hidden\r\n.\r\n"),                 # leading dot on line 1
    (b"a\r\n.b\r\n", b"a\r\n..b\r\n.\r\n"),                 # ... and on later lines
    (b"a\r\n..\r\n", b"a\r\n...\r\n.\r\n"),
    (b"a.b\r\n", b"a.b\r\n.\r\n"),                          # inner dots untouched
    (b"a\nb\n", b"a\r\nb\r\n.\r\n"),                        # bare LF -> CRLF
    (b"a\rb\r", b"a\r\nb\r\n.\r\n"),                        # bare CR -> CRLF
    (b"a\r\r\nb", b"a\r\n\r\nb\r\n.\r\n"),                  # CR then CRLF: two line ends
    (b"a\n.\nb", b"a\r\n..\r\nb\r\n.\r\n"),                 # LF.LF is stuffed, not an end
]


@pytest.mark.parametrize(("message", "wire"), STUFFING_CASES)
def test_stuff_cases(message: bytes, wire: bytes) -> None:
    assert stuff(message) == wire


@pytest.mark.parametrize(("message", "wire"), STUFFING_CASES)
def test_stuff_byte_by_byte_matches_whole(message: bytes, wire: bytes) -> None:
    encoder = DotStuffer()
    out = b"".join(encoder.feed(message[i:i + 1]) for i in range(len(message)))
    assert out + encoder.finish() == wire


def test_report_counts() -> None:
    encoder = DotStuffer()
    encoder.feed(b"Subject: caf\xc3\xa9\n")       # one bare LF, 8-bit
    encoder.feed(b"x" * (MAX_LINE_OCTETS + 1))     # too long (999 octets)
    encoder.feed(b"\r")                            # held: CR or CRLF?
    encoder.feed(b"\n" + b"y" * MAX_LINE_OCTETS)   # it was CRLF; 998 is the limit: fine
    encoder.feed(b"\rz")                           # bare CR
    encoder.finish()
    assert encoder.bare_lf == 1
    assert encoder.bare_cr == 1
    assert encoder.eight_bit is True
    assert encoder.long_lines == 1
    assert encoder.unterminated is True
    # octets: normalised text with CRLFs (the SIZE= value), no stuffing, no ".\r\n"
    assert encoder.octets == len(b"Subject: caf\xc3\xa9\r\n") + 999 + 2 + 998 + 2 + 1 + 2


def test_clean_message_reports_nothing() -> None:
    encoder = DotStuffer()
    wire = encoder.feed(b"From: a@example.org\r\n\r\n.body\r\n") + encoder.finish()
    assert (encoder.bare_cr, encoder.bare_lf, encoder.eight_bit, encoder.long_lines) == (
        0, 0, False, 0)
    assert encoder.unterminated is False
    assert encoder.octets == len(b"From: a@example.org\r\n\r\n.body\r\n")
    assert encoder.wire_octets == len(wire) == encoder.octets + 1 + 3


def test_long_line_split_over_chunks_counts_once() -> None:
    encoder = DotStuffer()
    for _ in range(10):
        encoder.feed(b"x" * 500)
    encoder.feed(b"\r\nshort\r\n" + b"y" * 2500 + b"\r\n")
    encoder.finish()
    assert encoder.long_lines == 2


def test_feed_after_finish_is_a_programming_error() -> None:
    encoder = DotStuffer()
    encoder.finish()
    assert encoder.finish() == b""
    with pytest.raises(ValueError):
        encoder.feed(b"x")


# --- the server side -------------------------------------------------------------

# (wire bytes after 354, message, bytes after the end marker or None if no end)
UNSTUFFING_CASES = [
    (b".\r\n", b"", b""),
    (b"Hi\r\n.\r\n", b"Hi\r\n", b""),
    (b"..hidden\r\n.\r\n", b".hidden\r\n", b""),
    (b"a\r\n..\r\n.\r\nQUIT\r\n", b"a\r\n.\r\n", b"QUIT\r\n"),  # pipelined QUIT kept
    (b"a\n.\nb\r\n.\r\n", b"a\n.\nb\r\n", b""),          # LF.LF is NOT the end (§4.1.1.4)
    (b"a\r\n.\nb\r\n.\r\n", b"a\r\n\nb\r\n", b""),       # ".\n" is a stuffed line, not the end
    (b"a\r\n.", b"a\r\n", None),                          # no end yet
]


@pytest.mark.parametrize(("wire", "message", "after"), UNSTUFFING_CASES)
def test_unstuff_cases(wire: bytes, message: bytes, after: bytes | None) -> None:
    decoder = DotUnstuffer()
    out = decoder.feed(wire)
    if after is None:
        assert not decoder.done
        out += decoder.close()
    else:
        assert decoder.done
        assert decoder.trailing == after
    assert out == message


@pytest.mark.parametrize(("wire", "message", "after"), UNSTUFFING_CASES)
def test_unstuff_byte_by_byte(wire: bytes, message: bytes, after: bytes | None) -> None:
    decoder = DotUnstuffer()
    out = b"".join(decoder.feed(wire[i:i + 1]) for i in range(len(wire)))
    if after is None:
        out += decoder.close()
    else:
        assert decoder.trailing == after
    assert out == message
    assert decoder.octets == len(message)


def test_bytes_after_end_collect_in_trailing() -> None:
    decoder = DotUnstuffer()
    assert decoder.feed(b"x\r\n.\r\nRSET\r\n") == b"x\r\n"
    assert decoder.feed(b"QUIT\r\n") == b""
    assert decoder.trailing == b"RSET\r\nQUIT\r\n"


# --- properties --------------------------------------------------------------------

def _oracle_normalise(data: bytes) -> bytes:
    """Independent statement of the line-ending rule: CRLF, CR or LF each end a line."""
    text = re.sub(rb"\r\n|\r|\n", b"\r\n", data)
    if text and not text.endswith(b"\r\n"):
        text += b"\r\n"
    return text


# Bytes rich in the interesting octets, so the cases are not all "no dots at all".
_message_bytes = st.lists(
    st.sampled_from([b"\r", b"\n", b".", b"\r\n", b"\r\n.", b"a", b"\xff", b"\x00"])
    | st.binary(max_size=8),
    max_size=60,
).map(b"".join)


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


@given(_message_bytes, st.lists(st.integers(min_value=0), max_size=8))
def test_round_trip_equals_normalised_input(data: bytes, cuts: list[int]) -> None:
    encoder = DotStuffer()
    wire = b"".join(encoder.feed(part) for part in _split(data, cuts)) + encoder.finish()
    assert wire == stuff(data)                      # chunking changes nothing
    assert wire.endswith(b"\r\n.\r\n") or wire == b".\r\n"
    assert encoder.octets == len(_oracle_normalise(data))

    decoder = DotUnstuffer()
    decoded = b"".join(decoder.feed(part) for part in _split(wire, cuts[::-1]))
    assert decoder.done and decoder.trailing == b""
    assert decoded == _oracle_normalise(data)
    assert normalize_line_endings(data) == re.sub(rb"\r\n|\r|\n", b"\r\n", data)


@given(st.lists(_message_bytes.map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
                max_size=20))
def test_crlf_lines_round_trip_exactly(lines: list[bytes]) -> None:
    message = b"".join(line + b"\r\n" for line in lines)
    encoder = DotStuffer()
    wire = encoder.feed(message) + encoder.finish()
    assert (encoder.bare_cr, encoder.bare_lf, encoder.unterminated) == (0, 0, False)
    assert unstuff(wire) == message
    assert encoder.long_lines == sum(len(line) > MAX_LINE_OCTETS for line in lines)


@given(st.binary(max_size=200), st.lists(st.integers(min_value=0), max_size=8))
def test_unstuffer_never_raises_and_chunking_is_invisible(wire: bytes, cuts: list[int]) -> None:
    whole = DotUnstuffer()
    expected = whole.feed(wire) + whole.close()
    parts = DotUnstuffer()
    got = b"".join(parts.feed(p) for p in _split(wire, cuts)) + parts.close()
    assert got == expected
    assert parts.done == whole.done and parts.trailing == whole.trailing


@given(st.lists(st.integers(min_value=0, max_value=2500), max_size=6),
       st.lists(st.integers(min_value=0), max_size=6))
def test_long_line_count_matches_oracle(lengths: list[int], cuts: list[int]) -> None:
    message = b"".join(b"x" * n + b"\n" for n in lengths)
    encoder = DotStuffer()
    for part in _split(message, cuts):
        encoder.feed(part)
    encoder.finish()
    assert encoder.long_lines == sum(n > MAX_LINE_OCTETS for n in lengths)
    assert encoder.bare_lf == len(lengths)


@given(st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=30))
def test_streaming_holds_back_only_a_few_octets(chunks: list[bytes]) -> None:
    """No whole-message buffering, either way: after every feed, all but the last few
    octets have gone out (the encoder holds a CR that may start a CRLF; the decoder a
    possible start of the end marker)."""
    encoder = DotStuffer()
    decoder = DotUnstuffer()
    given_so_far = b""
    sent = 0
    received = b""
    for chunk in chunks:
        given_so_far += chunk
        wire = encoder.feed(chunk)
        sent += len(wire)
        received += decoder.feed(wire)
        message = normalize_line_endings(given_so_far)
        assert sent >= len(message) - 2          # a held CR; stuffing only adds
        assert message.startswith(received)      # the decoder gives the message back ...
        assert len(received) >= len(message) - 6  # ... holding at most CR + "\r\n.\r"
    received += decoder.feed(encoder.finish())
    assert decoder.done


def test_a_large_message_streams_in_constant_memory() -> None:
    encoder = DotStuffer()
    chunk = b"line of text\r\n.starts with a dot\r\n" * 100
    for _ in range(1000):              # 3.5 MB through, never more than a line held
        out = encoder.feed(chunk)
        assert len(out) >= len(chunk)  # stuffing only adds
    assert encoder.octets == len(chunk) * 1000
