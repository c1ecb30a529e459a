"""The network edge: an asyncio SMTP client driving the sans-I/O core, and DNS.

Modules: ``targets`` (TARGET parsing, pure), ``errors`` (one exception per failure kind,
``"step: reason"``), ``client`` (connections, TLS, transcript), ``dns`` (MX/A/AAAA/PTR;
imports dnspython, so import it only when a name must be resolved).
"""
