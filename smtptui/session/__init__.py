"""The session layer: one UI-free facade over the network client, the embedded
teaching server and the core, which the Textual app and the shell both drive.

Front ends import from here only; they never reach ``net`` or ``server`` directly
(an import-linter contract in pyproject.toml keeps it so). ``printable`` -- the one
function that makes peer text safe for a terminal -- is re-exported here for them.
"""

from smtptui.net.errors import printable
from smtptui.session.autosave import History, private_file, script_lines
from smtptui.session.connect import (
    Connector,
    ConnectSpec,
    DomainConnector,
    EmbeddedConnector,
    MXChoice,
    connector_for,
    make_connector,
    options,
    persona_names,
)
from smtptui.session.session import Session, SessionError

__all__ = [
    "ConnectSpec",
    "Connector",
    "DomainConnector",
    "EmbeddedConnector",
    "History",
    "MXChoice",
    "Session",
    "SessionError",
    "connector_for",
    "make_connector",
    "options",
    "persona_names",
    "printable",
    "private_file",
    "script_lines",
]
