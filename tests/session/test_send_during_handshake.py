"""A line typed right after the 220 to STARTTLS waits for the handshake (RFC 3207 §4):
the shell's pipe mode and a fast typist send it before the reader has secured the
connection, and it must not go out in clear text in the middle of the handshake."""

from __future__ import annotations

from smtptui.session import Session, make_connector, options


async def test_the_line_after_starttls_waits_for_the_handshake() -> None:
    session = Session(make_connector(None, options(helo="client.test")), autosave=False)
    try:
        assert await session.connect()
        assert (await session.greeting()).code == 220
        assert (await session.command("EHLO client.test")).code == 250
        future = await session.send("STARTTLS")
        assert future is not None and (await future).code == 220
        reply = await session.command("EHLO client.test")  # at once, no starttls() helper
        assert reply is not None and reply.code == 250
        assert session.snapshot().tls is not None
        assert "AUTH" in session.capabilities  # the after-TLS EHLO, read over TLS
    finally:
        await session.aclose()
