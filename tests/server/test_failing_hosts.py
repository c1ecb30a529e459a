"""World keys that make a host fail on purpose, so a debugging lesson can show every
failure reply: ``service = "closing"`` (421 at connect), ``service = "refused"`` (554
greeting, 503 to all but QUIT) and ``temporary_failures`` (451 at RCPT)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from smtptui.server.world import WorldError, load_world

from .conftest import world_file


async def test_a_closing_host_says_421_and_hangs_up(lab) -> None:
    server = await lab('hostname = "closing.test"\nservice = "closing"\n')
    client, greeting = await server.connect()
    assert greeting == ["421 closing.test Service not available, closing transmission channel"]
    assert await asyncio.wait_for(client.reader.read(), 5) == b""
    assert any("closing (421)" in e.text for e in server.events)


async def test_a_refusing_host_answers_only_quit(lab) -> None:
    server = await lab('hostname = "refused.test"\nservice = "refused"\npersona = "rfc821"\n')
    client, greeting = await server.connect()
    assert greeting == ["554 refused.test No SMTP service here"]  # RFC 5321 §3.1
    for line in ("HELO me.test", "MAIL FROM:<a@b.test>", "NOOP"):
        assert await client.code(line) == 503
    assert await client.cmd("QUIT") == ["221 refused.test Service closing transmission channel"]
    assert await asyncio.wait_for(client.reader.read(), 5) == b""


async def test_a_refusing_host_bounds_what_it_reads(lab) -> None:
    server = await lab('hostname = "refused.test"\nservice = "refused"\n')
    client, _ = await server.connect()
    await client.send_raw(b"x" * 100_000 + b"\r\n")
    data = await asyncio.wait_for(client.reader.read(), 5)
    assert data.startswith(b"500") or data == b""  # a line too long, then closed
    client2, _ = await server.connect()
    await client2.send_raw(b"NOOP\r\n" * 60)
    replies = (await asyncio.wait_for(client2.reader.read(), 5)).split(b"\r\n")
    assert replies[-2].startswith(b"421")  # after 50 lines it closes


async def test_temporary_failures_get_451_at_rcpt(lab) -> None:
    server = await lab('hostname = "mx.test"\nmailboxes = { busy = "Busy", ok = "Ok" }\n'
                       'temporary_failures = ["busy"]\n')
    client, _ = await server.connect()
    await client.cmd("EHLO me.test")
    await client.cmd("MAIL FROM:<a@b.test>")
    assert await client.cmd("RCPT TO:<busy@mx.test>") == [
        "451 4.3.0 Requested action aborted: local error in processing"]
    assert await client.code("RCPT TO:<ok@mx.test>") == 250


@pytest.mark.parametrize(("text", "problem"), [
    ('service = "maybe"', 'must be "open", "closing"'),
    ("service = 3", "expected"),
    ('temporary_failures = ["a\\r\\nb"]', "temporary_failures"),
])
def test_bad_failure_keys_name_the_line(tmp_path: Path, text: str, problem: str) -> None:
    path = world_file(tmp_path, f'hostname = "mx.test"\n{text}\n')
    with pytest.raises(WorldError) as info:
        load_world(path)
    assert str(info.value).startswith(f"{path}:2") and problem in str(info.value)
