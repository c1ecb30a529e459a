"""Headless subcommands. Each module: ``add_arguments(parser)`` and ``run(args) -> int``."""
