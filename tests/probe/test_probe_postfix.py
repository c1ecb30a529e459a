"""``smtptui probe`` against a real MTA: a private Postfix instance on a loopback port."""

from __future__ import annotations

import json

import pytest

from smtptui.cli import main

from .conftest import TLSFiles
from .postfix import (
    EHLO_KEYWORDS_PLAIN,
    EHLO_KEYWORDS_TLS,
    HOSTNAME,
    MESSAGE_SIZE_LIMIT,
    PostfixInstance,
)


def probe_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict]]:
    code = main(["probe", "--json", "--helo", "client.test", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, [json.loads(line) for line in out.splitlines()]


def keywords(ehlo: dict) -> set[str]:
    return {c["keyword"] for c in ehlo["capabilities"]}


def test_postfix_capabilities_and_verified_starttls(capsys, postfix: PostfixInstance,
                                                    tls_files: TLSFiles) -> None:
    target = f"127.0.0.1:{postfix.smtp_port}"
    code, (r,) = probe_json(capsys, target, "--cafile", str(tls_files.cafile))
    assert code == 0, r["error"]
    assert r["banner"] == {"code": 220, "text": f"{HOSTNAME} ESMTP Postfix"}
    assert r["ehlo"]["code"] == 250
    assert keywords(r["ehlo"]) == EHLO_KEYWORDS_PLAIN
    caps = {c["keyword"]: c for c in r["ehlo"]["capabilities"]}
    assert caps["SIZE"]["params"] == [str(MESSAGE_SIZE_LIMIT)]
    assert all(c["description"] for c in caps.values())
    tls = r["tls"]
    assert tls["mode"] == "starttls" and tls["verified"] is True, tls
    assert tls["verify_error"] is None and tls["version"].startswith("TLSv1.")
    assert HOSTNAME in tls["san"] or f"DNS:{HOSTNAME}" in tls["san"]
    after = r["ehlo_after_tls"]
    assert after["code"] == 250 and keywords(after) == EHLO_KEYWORDS_TLS
    assert all(isinstance(r["timings_ms"][k], float)
               for k in ("connect", "banner", "ehlo", "starttls", "total"))


def test_postfix_human_report(capsys, postfix: PostfixInstance, tls_files: TLSFiles) -> None:
    code = main(["probe", "--helo", "client.test", "--cafile", str(tls_files.cafile),
                 f"127.0.0.1:{postfix.smtp_port}"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert f"220 {HOSTNAME} ESMTP Postfix" in out
    for kw in EHLO_KEYWORDS_PLAIN:
        assert kw in out
    assert "Remote Message Queue" in out or "ETRN asks the server" in out  # a meaning per line
    assert "verified" in out and "NOT verified" not in out
    assert any(line.lstrip().startswith("- STARTTLS") for line in out.splitlines()), out


def test_postfix_without_trust_anchor_fails_verification(capsys,
                                                         postfix: PostfixInstance) -> None:
    code, (r,) = probe_json(capsys, f"127.0.0.1:{postfix.smtp_port}")
    assert code == 1
    assert r["ok"] is False and r["error"].startswith("starttls: ")
    assert keywords(r["ehlo"]) == EHLO_KEYWORDS_PLAIN  # what was learnt before TLS is kept


def test_postfix_implicit_tls_port(capsys, postfix: PostfixInstance,
                                   tls_files: TLSFiles) -> None:
    assert postfix.smtps_port is not None
    code, (r,) = probe_json(capsys, "--cafile", str(tls_files.cafile),
                            f"smtps://127.0.0.1:{postfix.smtps_port}")
    assert code == 0, r["error"]
    assert r["tls"]["mode"] == "implicit" and r["tls"]["verified"] is True
    assert keywords(r["ehlo"]) == EHLO_KEYWORDS_TLS  # no STARTTLS inside TLS
    assert r["ehlo_after_tls"] is None


def test_postfix_starttls_no(capsys, postfix: PostfixInstance) -> None:
    code, (r,) = probe_json(capsys, "--starttls", "no", f"127.0.0.1:{postfix.smtp_port}")
    assert code == 0 and r["tls"] is None
    assert keywords(r["ehlo"]) == EHLO_KEYWORDS_PLAIN
