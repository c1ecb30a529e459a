"""The embedded teaching server: a whole RFC 821 world on loopback, built on aiosmtpd.

``start_server(world, host, port)`` runs it on the caller's event loop;
``smtptui serve`` runs it standalone. It never opens an outbound connection.
"""

from smtptui.server.app import ServerEvent, start_server, world_as
from smtptui.server.world import World, WorldError, default_world, load_world

__all__ = ["ServerEvent", "World", "WorldError", "default_world", "load_world",
           "start_server", "world_as"]
