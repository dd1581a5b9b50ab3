"""The `nngraph` command line: the click command, the --at and --expect parsers, signal handling."""
from .command import command, entry_point, main

__all__ = ["command", "entry_point", "main"]
