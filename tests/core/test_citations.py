"""Every "RFC 821 §x", "RFC 5321 §x" and "RFC 1869 §x" the code cites names a section
that exists in that RFC's table of contents (a wrong citation is a question from the
class). The tables below are the RFCs' own section numbers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "smtptui"


def _expand(*spec: str) -> frozenset[str]:
    """"4.1.1.1-11" -> 4.1.1.1 ... 4.1.1.11; plain numbers as they are."""
    out: set[str] = set()
    for item in spec:
        if "-" in item:
            head, last = item.split("-")
            base, _, first = head.rpartition(".")
            out |= {f"{base}.{n}" if base else str(n) for n in range(int(first), int(last) + 1)}
        else:
            out.add(item)
    return frozenset(out)


TOC = {
    "821": _expand("1", "2", "3", "3.1-8", "4", "4.1", "4.1.1", "4.1.2", "4.2", "4.2.1",
                   "4.2.2", "4.3", "4.4", "4.5", "4.5.1-3", "5"),
    "5321": _expand("1", "1.1-3", "2", "2.1-4", "2.2.1-3", "2.3.1-10", "3", "3.1-10",
                    "3.5.1-4", "3.6.1-3", "3.7.1-6", "3.9.1-2", "4", "4.1", "4.1.1", "4.1.1.1-11",
                    "4.1.2-5", "4.2", "4.2.1-5", "4.3", "4.3.1-2", "4.4", "4.5", "4.5.1-5",
                    "4.5.3.1", "4.5.3.1.1-10", "4.5.3.2", "4.5.3.2.1-7", "4.5.4.1-2", "5",
                    "5.1-2", "6", "6.1-4", "7", "7.1-9", "8", "9", "10", "10.1-2"),
    "1869": _expand("1", "2", "3", "4", "4.1", "4.1.1-2", "4.2", "4.3-6", "5", "6", "7",
                    "8", "9", "10", "11"),
}
APPENDICES_5321 = _expand("A", "B", "C", "D", "D.1-4", "E", "F", "F.1-6", "G")
APPENDICES_821 = frozenset("ABCDEF")

_CITE = re.compile(r"RFC (821|5321|1869) §([0-9]+(?:\.[0-9]+)*)")
_APP = re.compile(r"RFC (821|5321),? App(?:endix|\.) ([A-G](?:\.[0-9]+)?)")


def _citations() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for m in _CITE.finditer(text):
            found.append((path.name, m.group(1), m.group(2)))
        for m in _APP.finditer(text):
            found.append((path.name, m.group(1), "App. " + m.group(2)))
    return found


CITATIONS = _citations()


def test_there_are_citations_to_check():
    assert len(CITATIONS) > 100


@pytest.mark.parametrize(("where", "rfc", "section"), sorted(set(CITATIONS)))
def test_a_cited_section_exists(where, rfc, section):
    if section.startswith("App. "):
        letter = section[5:]
        assert letter in (APPENDICES_5321 if rfc == "5321" else APPENDICES_821), (where, rfc,
                                                                                   section)
    else:
        assert section in TOC[rfc], f"{where}: RFC {rfc} has no §{section}"
