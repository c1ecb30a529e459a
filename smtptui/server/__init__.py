"""The embedded teaching server: a whole RFC 821 world on loopback, built on aiosmtpd.

``start_server(world, host, port)`` runs it on the caller's event loop;
``smtptui serve`` runs it standalone. It never opens an outbound connection.

The names below are loaded on first use: reading a world file (``smtptui lessons
--check``) must not pay for importing aiosmtpd.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ServerEvent": "smtptui.server.shared",
    "start_server": "smtptui.server.app",
    "world_as": "smtptui.server.app",
    "World": "smtptui.server.world",
    "WorldError": "smtptui.server.world",
    "default_world": "smtptui.server.world",
    "load_world": "smtptui.server.world",
}

__all__ = ["ServerEvent", "World", "WorldError", "default_world", "load_world",
           "start_server", "world_as"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'smtptui.server' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
