"""The `nngraph` command line: the click command and the --at parser."""
from .command import command, entry_point, main

__all__ = ["command", "entry_point", "main"]
