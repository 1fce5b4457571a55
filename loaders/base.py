"""What every sink is: a small protocol, and a registry keyed by name.

A sink opens (checks its target, creates constraints), writes :class:`GraphBatch` es and reports
what it wrote, and closes. Backends import their heavy libraries only when chosen.
"""

from __future__ import annotations

import importlib
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from kg.errors import ConfigError

if TYPE_CHECKING:
    from kg.config import Settings
    from kg.model import GraphBatch


@dataclass(slots=True)
class WriteReport:
    """What a sink did: database counters plus per-publication outcomes."""

    counters: Counter[str] = field(default_factory=Counter)
    written: int = 0
    unchanged: int = 0
    deleted: int = 0
    batches: int = 0

    def add(self, other: WriteReport) -> None:
        self.counters.update(other.counters)
        self.written += other.written
        self.unchanged += other.unchanged
        self.deleted += other.deleted
        self.batches += other.batches


class Sink(Protocol):
    name: str

    def open(self) -> None: ...

    def write(self, batch: GraphBatch) -> WriteReport: ...

    def close(self) -> None: ...


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
