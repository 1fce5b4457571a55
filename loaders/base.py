"""The registry of sinks, keyed by name (the protocol is :class:`kg.sinks.Sink`).

Backends import their heavy libraries only when chosen.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from kg.errors import ConfigError

if TYPE_CHECKING:
    from kg.config import Settings
    from kg.sinks import Sink


#: name -> "module:Class"; imported only when chosen.
SINKS: dict[str, str] = {
    "neo4j": "loaders.neo4j.sink:Neo4jSink",
}


def get_sink(name: str, settings: Settings) -> Sink:
    target = SINKS.get(name)
    if target is None:
        raise ConfigError(f"unknown sink {name!r}", hint=f"use one of {', '.join(sorted(SINKS))}")
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)(settings)
