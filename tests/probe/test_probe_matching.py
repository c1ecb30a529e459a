"""`probe` and `run` against servers whose replies don't line up with our commands: a
multi-line reply cut short, and an unsolicited reply after the greeting. Neither may be
reported as a success (issue: reliability, items 1 and 2)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from smtptui.cli import main


async def _cut_ehlo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"220 cut.test ESMTP\r\n")
    await reader.readline()
    writer.write(b"250-cut.test\r\n250-PIPELINING\r\n")
    await writer.drain()


async def _unsolicited(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"220 odd.test ESMTP\r\n250 surprise\r\n")
    while line := await reader.readline():
        verb = line.split()[0].upper() if line.split() else b""
        writer.write(b"250-odd.test\r\n250 SIZE 1000\r\n" if verb == b"EHLO" else
                     b"221 bye\r\n" if verb == b"QUIT" else b"250 ok\r\n")
        await writer.drain()
        if verb == b"QUIT":
            return


def _probe(capsys, target: str) -> tuple[int, dict, str]:
    code = main(["probe", target, "--json", "--timeout", "3", "--starttls", "no"])
    out, err = capsys.readouterr()
    return code, json.loads(out.splitlines()[0]), err


def test_probe_cut_ehlo_is_a_failure(raw_server, capsys) -> None:
    server = raw_server(_cut_ehlo)
    code, result, _ = _probe(capsys, server.target)
    assert code == 1 and result["ok"] is False
    assert result["error"] == ("EHLO: connection closed in the middle of a multi-line reply "
                               "after 2 lines")


def test_probe_unsolicited_reply_is_a_failure(raw_server, capsys) -> None:
    server = raw_server(_unsolicited)
    code, result, _ = _probe(capsys, server.target)
    assert code == 1 and result["ok"] is False
    assert result["error"].startswith("EHLO: the server sent a reply no command was waiting")
    assert result["banner"] == "220 odd.test ESMTP" or "odd.test" in str(result["banner"])


def test_run_does_not_mark_a_shifted_reply_met(raw_server, capsys, tmp_path: Path) -> None:
    server = raw_server(_unsolicited)
    script = tmp_path / "ehlo.smtp"
    script.write_text("S: 220 odd.test ESMTP\nC: EHLO client.test\nS: 250 odd.test\n"
                      "C: QUIT\nS: 221 bye\n")
    code = main(["run", str(script), server.target, "--timeout", "3", "--json"])
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert code == 1 and result["ok"] is False
    ehlo = [s for s in result["steps"] if s["sent"] == "EHLO client.test"]
    assert not ehlo or not ehlo[0]["ok"]
    assert "no command was waiting" in err
