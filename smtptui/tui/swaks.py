"""Copy the session as a swaks command line: the same conversation, repeatable from a
shell with the tool every mail administrator has. Built from the transcript (what was
actually sent) and the connection options; the password is never included (swaks asks
for it)."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from smtptui.core.transcript import Direction

if TYPE_CHECKING:
    from collections.abc import Sequence

    from smtptui.core.transcript import Transcript
    from smtptui.session import ConnectSpec

__all__ = ["swaks_command"]


def _address(arg: str) -> str:
    start, end = arg.find("<"), arg.find(">")
    return arg[start + 1:end] if 0 <= start < end else arg.split(":", 1)[-1].strip()


def swaks_command(transcript: Transcript, spec: ConnectSpec,
                  server: tuple[str, int] | None, *, auth_user: str | None = None,
                  auth_mechanism: str | None = None,
                  messages: Sequence[str] = ()) -> str:
    """One swaks command line for the session so far (the last transaction's envelope)."""
    argv = ["swaks"]
    if server is not None:
        host, port = server
        shown = f"[{host}]" if ":" in host else host
        argv += ["--server", f"{shown}:{port}"]
    elif spec.target:
        argv += ["--server", spec.target]
    helo = mail_from = None
    recipients: list[str] = []
    starttls = False
    for entry in transcript:
        if entry.direction is not Direction.CLIENT or entry.secret:
            continue
        text = entry.text
        verb, _, rest = text.partition(" ")
        verb = verb.upper()
        if verb in ("EHLO", "HELO") and rest.strip():
            helo = rest.strip()
        elif verb == "MAIL":
            mail_from, recipients = _address(rest), []
        elif verb == "RCPT":
            recipients.append(_address(rest))
        elif verb == "STARTTLS":
            starttls = True
    if helo:
        argv += ["--ehlo", helo]
    if mail_from is not None:
        argv += ["--from", mail_from or "<>"]
    if recipients:
        argv += ["--to", ",".join(recipients)]
    if spec.tls:
        argv.append("--tlsc")
    elif starttls:
        argv.append("--tls")
    if spec.cafile:
        argv += ["--tls-ca-path", spec.cafile, "--tls-verify"]
    if auth_mechanism:
        argv += ["--auth", auth_mechanism]
        if auth_user:
            argv += ["--auth-user", auth_user]
    if messages:
        argv += ["--data", messages[-1].replace("\r\n", "\n")]
    return " ".join(shlex.quote(a) for a in argv)
