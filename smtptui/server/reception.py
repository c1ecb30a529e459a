"""DATA's result (RFC 821 §4.1.1 DATA, §4.1.2 and §3.6 on trace and relaying): which
copies a message makes, the trace fields each starts with, and where they are stored.

The protocol streams the text into one spool file; :func:`plan` decides, before the
354, which copies there will be (one per route through the world, plus the
undeliverable ones); :func:`store_copies` files them once the text is complete.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path as FsPath

from smtptui.server.delivery import Kind, Target, dedupe, received_line, route
from smtptui.server.paths import Path
from smtptui.server.storage import Store, copy_range, create_private
from smtptui.server.world import Host, World

TEXT_LINE_LIMIT = 1000  # octets, CRLF included (RFC 821 §4.5.3, RFC 5321 §4.5.3.1.6)

Copies = tuple[tuple[str, ...], bytes, list[Target]]
"""One spool file: the hops its copies travelled (``("_undeliverable",)`` for those that
cannot be delivered), the trace fields it starts with, and the copies it makes."""


class LineMeter:
    """Counts DATA text lines longer than :data:`TEXT_LINE_LIMIT` in a stream of chunks,
    remembering where the first one was; holds no message bytes (a 1 GB line costs
    nothing). ``split`` + ``max(map(len))`` keep it at C speed for the 100 MB benchmark."""

    __slots__ = ("counted", "first", "lines", "long", "run")

    def __init__(self) -> None:
        self.run = 0          # octets of the current, unfinished line (its CR included)
        self.lines = 0        # finished lines so far
        self.long = 0         # over-long lines so far
        self.first = 0        # 1-based number of the first over-long line, 0 if none
        self.counted = False  # the current line is already counted as over-long

    def feed(self, data: bytes) -> None:
        parts = data.split(b"\n")
        limit = TEXT_LINE_LIMIT  # too long when the text plus its CR reach 1000 octets
        head = self.run + len(parts[0])
        if head >= limit and not self.counted:
            self._hit(self.lines + 1)
            self.counted = True
        if len(parts) == 1:
            self.run = head
            return
        if max(map(len, parts[1:])) >= limit:  # rare: only then look line by line
            for i in range(1, len(parts)):
                if len(parts[i]) >= limit:
                    self._hit(self.lines + i + 1)
        self.lines += len(parts) - 1
        self.run = len(parts[-1])
        self.counted = self.run >= limit

    def _hit(self, lineno: int) -> None:
        self.long += 1
        self.first = self.first or lineno


@dataclass(frozen=True, slots=True)
class Arrival:
    """How the message came in: what its first Received: line says (RFC 821 §4.1.2,
    RFC 5321 §4.4), and the queue id and date every line of it uses."""

    helo: str               # the client's name (HELO/EHLO, or its address literal)
    ip: str
    peer_host: str | None   # the client's name as a reverse lookup gives it
    by: str                 # this host
    version: str
    proto: str              # SMTP, ESMTP, ESMTPS, ESMTPSA (RFC 3848)
    qid: str
    date: str               # in the persona's style
    short: bool             # RFC 821's short stamp (the persona's short_received)


def plan(world: World, host: Host, sender: Path, recipients: list[Path], kind: Kind,
         arrival: Arrival) -> list[Copies]:
    """Group the final copies by the hops they travel: one file per destination. Each
    starts with the Return-Path (the sender with the route back, RFC 821 §3.6) and a
    Received: line for every hop, newest first."""
    targets: list[Target] = []
    for path in recipients:
        targets += route(world, host, host.hostname, path, kind)
    targets = dedupe(targets)
    groups: dict[tuple[str, ...], list[Target]] = {}
    for t in targets:
        key = ("_undeliverable",) if t.where == "undeliverable" else t.hops
        groups.setdefault(key, []).append(t)
    # "for <...>": the RCPT as the client wrote it, when there is just one (sendmail)
    only = recipients[0] if len(recipients) == 1 else None
    rcpt = only.mailbox if only is not None else None
    copies: list[Copies] = []
    for hops, group in groups.items():
        hop_list = group[0].hops
        lines: list[bytes] = []
        for i in range(len(hop_list) - 1, 0, -1):
            lines.append(received_line(
                helo=hop_list[i - 1], ip=None, by=hop_list[i], proto="SMTP",
                qid=arrival.qid, rcpt=None, date=arrival.date, short=True))
        lines.append(received_line(
            helo=arrival.helo, ip=arrival.ip, peer_host=arrival.peer_host, by=arrival.by,
            version=arrival.version, proto=arrival.proto, qid=arrival.qid,
            rcpt=rcpt if hops[0] != "_undeliverable" else None, date=arrival.date,
            short=arrival.short))
        reverse = sender
        if not sender.is_null:
            reverse = sender.with_route(tuple(reversed(hop_list[:-1])) + sender.route)
        head = f"Return-Path: <{reverse}>\r\n".encode("utf-8", "replace")
        if hops[0] == "_undeliverable":
            for t in group:
                head += f"X-Smtptui-Undeliverable: {t.reason}\r\n".encode("utf-8", "replace")
        copies.append((hops, head + b"".join(lines), group))
    return copies


def store_copies(store: Store, plan: list[Copies], files: list[FsPath], qid: str,
                 sender: Path) -> list[str]:
    """File each copy (``files[0]`` holds the text; each other file gets it after its
    own trace fields); where each went, for the log."""
    first_head = plan[0][1]
    where: list[str] = []
    for i, (hops, head, group) in enumerate(plan):
        if i > 0:
            copy_range(files[0], files[i], len(first_head), head)
        if hops[0] == "_undeliverable":
            store.link_into(files[i], store.undeliverable())
            where.append("_undeliverable (" + "; ".join(t.reason for t in group) + ")")
            continue
        for t in group:
            if t.where == "mailbox":
                store.link_into(files[i], store.maildir(t.host, t.box))
                where.append(f"{t.host}/{t.box}")
            elif t.where == "terminal":
                write_terminal(files[i], store.terminal_log(t.host, t.box), qid, sender)
                where.append(f"{t.host} terminal of {t.box}")
    return where


def write_terminal(file: FsPath, log: FsPath, qid: str, sender: Path) -> None:
    """SEND (RFC 821 §4.1.1): the message on the user's terminal -- appended to the
    terminal log as the user would read it, without our trace fields."""
    with open(file, "rb") as f:
        text = f.read(64 * 1024)
    body = text
    while body.startswith((b"Return-Path:", b"Received:", b"\t")):
        body = body.split(b"\r\n", 1)[1] if b"\r\n" in body else b""
    stamp = time.strftime("%H:%M:%S")
    with open(create_private(log, append=True), "ab") as out:
        out.write(f"\n*** Message from {sender} at {stamp} ({qid}) ***\n".encode())
        out.write(body.replace(b"\r\n", b"\n"))
