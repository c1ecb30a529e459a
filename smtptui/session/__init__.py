"""The session layer: one UI-free facade over the network client, the embedded
teaching server and the core, which the Textual app and the shell both drive.

Front ends import from here only; they never reach ``net`` or ``server`` directly
(an import-linter contract in pyproject.toml keeps it so). ``printable`` -- the one
function that makes peer text safe for a terminal -- is re-exported here for them.

Names are imported on first use (PEP 562): ``import smtptui.session.connect`` for a
one-shot command, or the shell drawing its first prompt, must not pay for the
interactive session, its grammar, completion and autosave modules; pipe mode to one
host takes :class:`OneShotSession` (no event loop, no asyncio) and never imports them.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing is for type checkers: not imported at start-up
if TYPE_CHECKING:
    from typing import Any

    from smtptui.core.transcript import script_lines
    from smtptui.net.errors import printable
    from smtptui.session.autosave import History, private_file
    from smtptui.session.common import SessionError
    from smtptui.session.connect import (
        Connector,
        ConnectSpec,
        DomainConnector,
        EmbeddedConnector,
        MXChoice,
        connector_for,
        lesson_connector,
        make_connector,
        options,
        persona_names,
    )
    from smtptui.session.oneshot import OneShotSession, PendingReply, run_blocking
    from smtptui.session.session import Session

_WHERE = {
    "printable": "smtptui.net.errors",
    "History": "smtptui.session.autosave",
    "private_file": "smtptui.session.autosave",
    "script_lines": "smtptui.core.transcript",
    "ConnectSpec": "smtptui.session.connect",
    "Connector": "smtptui.session.connect",
    "DomainConnector": "smtptui.session.connect",
    "EmbeddedConnector": "smtptui.session.connect",
    "MXChoice": "smtptui.session.connect",
    "connector_for": "smtptui.session.connect",
    "lesson_connector": "smtptui.session.connect",
    "make_connector": "smtptui.session.connect",
    "options": "smtptui.session.connect",
    "persona_names": "smtptui.session.connect",
    "OneShotSession": "smtptui.session.oneshot",
    "PendingReply": "smtptui.session.oneshot",
    "run_blocking": "smtptui.session.oneshot",
    "Session": "smtptui.session.session",
    "SessionError": "smtptui.session.common",
}

__all__ = [
    "ConnectSpec",
    "Connector",
    "DomainConnector",
    "EmbeddedConnector",
    "History",
    "MXChoice",
    "OneShotSession",
    "PendingReply",
    "Session",
    "SessionError",
    "connector_for",
    "lesson_connector",
    "make_connector",
    "options",
    "persona_names",
    "printable",
    "private_file",
    "run_blocking",
    "script_lines",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})
