"""What every sink is: a small protocol, and the report it returns.

A sink opens (checks its target, creates constraints), writes :class:`GraphBatch` es and reports
what it wrote, and closes. Backends are registered by name in ``loaders/base.py`` and import
their heavy libraries only when chosen.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from kg.model import GraphBatch


@dataclass(slots=True)
class WriteReport:
    """What a sink did: database counters plus per-publication outcomes."""

    counters: Counter[str] = field(default_factory=Counter)
    written: int = 0
    unchanged: int = 0
    deleted: int = 0
    batches: int = 0
    #: Of ``written``, the publications that were not in the target before.
    added: int = 0
    #: Asserted edges created, recomputed or removed (distinct relation keys per batch).
    relations_touched: int = 0

    def add(self, other: WriteReport) -> None:
        self.counters.update(other.counters)
        self.written += other.written
        self.unchanged += other.unchanged
        self.deleted += other.deleted
        self.batches += other.batches
        self.added += other.added
        self.relations_touched += other.relations_touched


class Sink(Protocol):
    """A target for batches. A sink that can also say which input fingerprints it holds
    (``stored_inputs(pmids) -> {pmid: fingerprint}``, optional) lets the pipeline skip
    documents it has extracted before."""

    name: str

    def open(self) -> None: ...

    def write(self, batch: GraphBatch) -> WriteReport: ...

    def close(self) -> None: ...
