"""The session layer: one UI-free facade over the network client, the embedded
teaching server and the core, which the Textual app and the shell both drive.

Front ends import from here only; they never reach ``net`` or ``server`` directly
(an import-linter contract in pyproject.toml keeps it so).
"""

from smtptui.session.connect import (
    Connector,
    DomainConnector,
    EmbeddedConnector,
    MXChoice,
    make_connector,
)
from smtptui.session.session import Session, SessionError

__all__ = [
    "Connector",
    "DomainConnector",
    "EmbeddedConnector",
    "MXChoice",
    "Session",
    "SessionError",
    "make_connector",
]
