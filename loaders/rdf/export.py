"""``export_rdf``: the whole graph as RDF, streamed page by page (the function behind
``kg export rdf``), and ``open_output`` shared by every exporter."""

from __future__ import annotations

import gzip
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from kg.errors import ConfigError
from loaders.rdf.graph import DEFAULT_PAGE, GraphPages
from loaders.rdf.triples import entity_block, publication_block, relation_blocks
from loaders.rdf.writers import FORMATS, NTriplesWriter, RdfWriter

if TYPE_CHECKING:
    import neo4j


@dataclass(slots=True)
class ExportReport:
    """What an export wrote, and how fast."""

    format: str
    path: str
    counts: dict[str, int] = field(default_factory=dict)
    triples: int = 0
    seconds: float = 0.0
    pages: int = 0
    unmapped_prefixes: dict[str, int] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        """Triples written per second of the whole export."""
        return self.triples / self.seconds if self.seconds else 0.0


@contextmanager
def open_output(out: Path | str) -> Iterator[TextIO]:
    """A text stream for ``out``: ``-`` is stdout; a ``.gz`` name is gzip-compressed."""
    if str(out) == "-":
        yield sys.stdout
        return
    path = Path(out)
    if path.parent and not path.parent.exists():
        raise ConfigError(f"{path.parent} does not exist", hint="create the folder first")
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8", compresslevel=3) as stream:
            yield stream
    else:
        with open(path, "w", encoding="utf-8", buffering=1 << 20) as stream:
            yield stream


def make_writer(fmt: str, stream: TextIO, graph_iri: str) -> RdfWriter:
    """The writer for ``fmt`` on ``stream`` (N-Quads into the graph ``graph_iri``)."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown RDF format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    if fmt == "nq":
        return NTriplesWriter(stream, graph=graph_iri)
    return FORMATS[fmt][0](stream)


def export_rdf(
    driver: neo4j.Driver,
    database: str,
    fmt: str,
    out: Path | str,
    *,
    evidence: bool = True,
    graph_iri: str | None = None,
    page: int = DEFAULT_PAGE,
) -> ExportReport:
    """Write entities, publications (with their mentions) and asserted edges (with reified
    provenance and, if ``evidence``, their evidence records) to ``out`` in ``fmt``."""
    pages = GraphPages(driver, database, page=page)
    report = ExportReport(format=fmt, path=str(out))
    started = time.perf_counter()
    counts = {"entities": 0, "publications": 0, "relations": 0, "evidence": 0}
    with open_output(out) as stream:
        writer = make_writer(fmt, stream, graph_iri or f"kgg:{database}")
        writer.start()
        for entity in pages.entities():
            writer.write(entity_block(entity))
            counts["entities"] += 1
        for publication in pages.publications():
            writer.write(publication_block(publication))
            counts["publications"] += 1
        for relation in pages.relations(evidence=evidence):
            for block in relation_blocks(relation, evidence=evidence):
                writer.write(block)
            counts["relations"] += 1
            counts["evidence"] += len(relation.evidence)
        writer.finish()
    report.seconds = time.perf_counter() - started
    report.triples = writer.triples
    report.counts = counts
    report.pages = pages.pages_read
    report.unmapped_prefixes = dict(writer.unmapped)
    return report
