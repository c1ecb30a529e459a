"""DATA transparency: dot-stuffing on the way out, unstuffing on the way in.

RFC 5321 §4.5.2 (RFC 821 §4.5.2): the client doubles a period that begins a line, and
ends the message with ``<CRLF>.<CRLF>``; the server removes the extra period and stops
at that marker. Both directions stream: a message of any size passes through chunk by
chunk, holding back only the few bytes needed to decide at a chunk boundary (a CR that
may be the first half of a CRLF; a possible start of the end marker).

The work is done with ``bytes.find``/``bytes.replace``/``bytes.count``, never byte by
byte in Python, so a 100 MB message costs about as much as copying it a few times.
"""

from __future__ import annotations

import re

__all__ = [
    "MAX_LINE_OCTETS",
    "DotStuffer",
    "DotUnstuffer",
    "normalize_line_endings",
    "stuff",
    "unstuff",
]

MAX_LINE_OCTETS = 998
"""Longest text line without its CRLF: 1000 octets with it (RFC 5321 §4.5.3.1.6)."""

_WINDOW = MAX_LINE_OCTETS + 2  # a legal line plus its CRLF fits in this many octets
_END_MARKER = b"\r\n.\r\n"
_MARKER_PREFIXES = (b"\r\n.\r", b"\r\n.", b"\r\n", b"\r")  # longest first
_LINE_END = re.compile(rb"\r\n|\r|\n")


def normalize_line_endings(data: bytes) -> bytes:
    """Every CRLF, bare CR and bare LF in ``data`` as CRLF (what DotStuffer sends)."""
    return _LINE_END.sub(b"\r\n", data)


class DotStuffer:
    """Streaming encoder for the message text sent after a 354 reply.

    ``feed`` takes any chunks and returns wire bytes; ``finish`` closes an unterminated
    last line and appends the end marker. While streaming it counts what a careful
    client wants to warn about: bare CR and bare LF (normalised to CRLF, RFC 5321
    §2.3.8), 8-bit octets (need 8BITMIME, RFC 6152) and over-long lines (RFC 5321
    §4.5.3.1.6).

    ``octets`` is the message size as RFC 1870 counts it for SIZE=: the normalised
    text with CRLF line endings, without stuffed periods and without the end marker.
    ``wire_octets`` is what was actually returned for sending.
    """

    __slots__ = (
        "_at_line_start",
        "_line_flagged",
        "_line_len",
        "_pending_cr",
        "bare_cr",
        "bare_lf",
        "eight_bit",
        "finished",
        "long_lines",
        "octets",
        "unterminated",
        "wire_octets",
    )

    def __init__(self) -> None:
        self.bare_cr = 0
        self.bare_lf = 0
        self.eight_bit = False
        self.long_lines = 0
        self.octets = 0
        self.wire_octets = 0
        self.unterminated = False  # finish() had to add the last line's CRLF
        self.finished = False
        self._pending_cr = False     # the previous chunk ended in CR: CRLF or bare CR?
        self._at_line_start = True   # the next octet begins a line (the DATA line's CRLF)
        self._line_len = 0           # octets so far in the unterminated current line
        self._line_flagged = False   # the current line was already counted as too long

    def feed(self, chunk: bytes) -> bytes:
        """Encode ``chunk``; may hold back one trailing CR until the next call."""
        if self.finished:
            raise ValueError("DotStuffer.feed() after finish()")
        if self._pending_cr:
            chunk = b"\r" + chunk
            self._pending_cr = False
        if chunk.endswith(b"\r"):
            self._pending_cr = True
            chunk = chunk[:-1]
        return self._encode(chunk)

    def finish(self) -> bytes:
        """The rest of the message, a CRLF if the last line lacked one, and ``.<CRLF>``."""
        if self.finished:
            return b""
        out = b""
        if self._pending_cr:  # a CR at the very end is a bare CR
            self._pending_cr = False
            out = self._encode(b"\r")
        tail = b".\r\n"
        if not self._at_line_start:
            self.unterminated = True
            self.octets += 2
            self._line_len = 0
            self._at_line_start = True
            tail = b"\r\n" + tail
        self.wire_octets += len(tail)
        self.finished = True
        return out + tail

    def _encode(self, text: bytes) -> bytes:
        if not text:
            return b""
        crlf = text.count(b"\r\n")
        cr = text.count(b"\r") - crlf
        lf = text.count(b"\n") - crlf
        if cr or lf:
            self.bare_cr += cr
            self.bare_lf += lf
            # After the first replace every remaining CR is bare, so this order is right.
            text = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
        if not self.eight_bit and not text.isascii():
            self.eight_bit = True
        self.octets += len(text)
        self._scan_line_lengths(text)
        out = text.replace(b"\r\n.", b"\r\n..")
        if self._at_line_start and out[:1] == b".":
            out = b"." + out
        self._at_line_start = text.endswith(b"\n")
        self.wire_octets += len(out)
        return out

    def _scan_line_lengths(self, text: bytes) -> None:
        """Count lines longer than MAX_LINE_OCTETS in normalised ``text``.

        Jumps to the last LF inside each window of _WINDOW octets: every line ending
        inside the window is short enough, so a message of ordinary lines costs one
        ``rfind`` per ~1000 octets rather than a Python step per line.
        """
        size = len(text)
        first = text.find(b"\n")
        if first == -1:
            self._line_len += size
            self._flag_current_line()
            return
        # The line carried over from earlier chunks ends here (the CR precedes the LF).
        if self._line_len + first - 1 > MAX_LINE_OCTETS and not self._line_flagged:
            self.long_lines += 1
        pos = first + 1
        while size - pos >= _WINDOW:
            last = text.rfind(b"\n", pos, pos + _WINDOW)
            if last != -1:
                pos = last + 1
                continue
            self.long_lines += 1  # no line end within a whole window
            nxt = text.find(b"\n", pos + _WINDOW)
            if nxt == -1:
                self._line_len = size - pos
                self._line_flagged = True
                return
            pos = nxt + 1
        last = text.rfind(b"\n", pos)
        if last != -1:
            pos = last + 1
        self._line_len = size - pos
        self._line_flagged = False
        self._flag_current_line()

    def _flag_current_line(self) -> None:
        if self._line_len > MAX_LINE_OCTETS and not self._line_flagged:
            self.long_lines += 1
            self._line_flagged = True


class DotUnstuffer:
    """Streaming decoder for the server side of DATA.

    ``feed`` returns message text with stuffed periods removed, up to and including the
    CRLF of the last line. Only ``<CRLF>.<CRLF>`` ends the message (RFC 5321 §4.1.1.4:
    a bare ``LF.LF`` must not); the CRLF that ended the DATA command counts, so a
    first line of ``.`` ends an empty message. After the marker ``done`` is True and
    anything received after it (pipelined commands) collects in ``trailing``.
    """

    __slots__ = ("_held", "_virtual", "done", "octets", "trailing")

    def __init__(self) -> None:
        self.done = False
        self.trailing = b""
        self.octets = 0        # message octets returned so far
        self._held = b"\r\n"   # undecided bytes; starts with the DATA line's CRLF
        self._virtual = 2      # leading bytes of _held that are not message text

    def feed(self, chunk: bytes) -> bytes:
        """Decode ``chunk``; holds back at most 4 bytes that may start the end marker."""
        if self.done:
            self.trailing += chunk
            return b""
        work = self._held + chunk
        end = work.find(_END_MARKER)
        if end != -1:
            self.done = True
            self.trailing = work[end + len(_END_MARKER):]
            self._held = b""
            return self._emit(work[: end + 2])
        keep = 0
        for prefix in _MARKER_PREFIXES:
            if work.endswith(prefix):
                keep = len(prefix)
                break
        self._held = work[len(work) - keep:] if keep else b""
        return self._emit(work[: len(work) - keep])

    def close(self) -> bytes:
        """At end of input without the marker: whatever was held back, decoded."""
        if self.done:
            return b""
        held, self._held = self._held, b""
        return self._emit(held)

    def _emit(self, text: bytes) -> bytes:
        out = text.replace(b"\r\n.", b"\r\n")
        if self._virtual:
            skip = min(self._virtual, len(out))
            self._virtual -= skip
            out = out[skip:]
        self.octets += len(out)
        return out


def stuff(data: bytes) -> bytes:
    """Whole-buffer DotStuffer: ``data`` ready to send after 354, end marker included."""
    encoder = DotStuffer()
    return encoder.feed(data) + encoder.finish()


def unstuff(data: bytes) -> bytes:
    """Whole-buffer DotUnstuffer: the message in ``data`` (up to the end marker, if any)."""
    decoder = DotUnstuffer()
    return decoder.feed(data) + decoder.close()
