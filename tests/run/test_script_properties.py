"""Property tests of the script parser: whatever the text, a Script or a ScriptError;
and any well-formed exchange, written in either notation, parses back to itself."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from smtptui.core.script import Command, Expect, Message, ScriptError, parse

_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF,
                              blacklist_characters="\x7f"), max_size=30)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=400))
def test_any_text_gives_a_script_or_a_script_error(text):
    try:
        parse(text, "fuzz.smtp")
    except ScriptError as exc:
        # One line, and nothing from the script reaches the terminal unescaped.
        assert str(exc).startswith("fuzz.smtp")
        assert str(exc).isprintable()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(alphabet="CSR: \t#!.0123456789-xDATQUIETURN\n", max_size=12),
                max_size=30))
def test_prefix_soup_gives_a_script_or_a_script_error(lines):
    try:
        parse("\n".join(lines), "soup.smtp")
    except ScriptError:
        pass


_VERB = st.sampled_from(["HELO x", "MAIL FROM:<a@b>", "RCPT TO:<c@d>", "NOOP", "RSET",
                         "VRFY someone", "EXPN list"])
_CODE = st.integers(200, 599).map(str)


@st.composite
def exchanges(draw):
    """A list of (command, reply lines, data lines or None) after a greeting."""
    out = []
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            reply = [draw(_CODE)]
            more = draw(st.lists(_TEXT, max_size=3))
            lines = [f"{reply[0]}-{t}" for t in more] + [f"{reply[0]} {draw(_TEXT)}"]
            out.append((draw(_VERB), [x.rstrip() for x in lines], None))
        else:
            data = draw(st.lists(_TEXT.filter(lambda t: t.strip() not in (".", "<CRLF>.<CRLF>")),
                                 max_size=5))
            out.append(("DATA", [f"354 {draw(_TEXT)}".rstrip()], data))
            out.append((None, [f"250 {draw(_TEXT)}".rstrip()], None))
    return out


def render(exchange, rfc821: bool) -> str:
    us, them = ("S", "R") if rfc821 else ("C", "S")
    lines = [f"{them}: 220 greeting"]
    for command, reply, data in exchange:
        if command is not None:
            lines.append(f"{us}: {command}")
        lines.extend(f"{them}: {r}" for r in reply)
        if data is not None:
            lines.extend(f"{us}: {d}" for d in data)
            lines.append(f"{us}: .")
    return "\n".join(lines) + "\n"


@settings(max_examples=100, deadline=None)
@given(exchanges(), st.booleans())
def test_well_formed_exchange_round_trips(exchange, rfc821):
    script = parse(render(exchange, rfc821), "x.smtp")
    steps = [s for s in script.steps[2:]]  # after the session and the greeting
    it = iter(steps)
    for command, reply, data in exchange:
        if command is not None:
            step = next(it)
            assert isinstance(step, Command) and step.text == command
        step = next(it)
        assert isinstance(step, Expect) and list(step.lines) == reply
        if data is not None:
            step = next(it)
            assert isinstance(step, Message)
            assert [p.text for p in step.parts] == data
    assert next(it, None) is None
