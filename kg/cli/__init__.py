"""The ``kg`` command line: a thin layer over importable functions.

Each command module registers its group or command on :data:`main`; each command parses options
and calls a plain function that tests call directly.
"""

from kg.cli.app import main

__all__ = ["main"]
