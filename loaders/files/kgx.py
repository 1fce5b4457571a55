"""Writing the graph as KGX TSV (the Biolink community's exchange format): nodes and edges.

``<stem>_nodes.tsv``: ``id  category  name  synonym  provided_by  provisional``;
``<stem>_edges.tsv``: ``id  subject  predicate  object  category  publications
knowledge_level  agent_type  primary_knowledge_source  paper_count  evidence_count  confidence
first_year  last_year  relation_types``.

Multi-valued cells join with ``|`` as KGX does (a ``|`` inside one of their values becomes
``/``); tabs and newlines inside values become spaces. Rows stream from
:class:`loaders.rdf.graph.GraphPages`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from loaders.rdf.graph import EntityRow, RelationRow
from loaders.rdf.triples import agent_type, publication_curie

NODE_COLUMNS = ("id", "category", "name", "synonym", "provided_by", "provisional")
EDGE_COLUMNS = (
    "id",
    "subject",
    "predicate",
    "object",
    "category",
    "publications",
    "knowledge_level",
    "agent_type",
    "primary_knowledge_source",
    "paper_count",
    "evidence_count",
    "confidence",
    "first_year",
    "last_year",
    "relation_types",
)
#: This graph as a knowledge source (Biolink's infores namespace).
KNOWLEDGE_SOURCE = "infores:kg-biomed"
_CLEAN = str.maketrans({"\t": " ", "\n": " ", "\r": " "})
#: Inside a multi-valued cell '|' separates values, so a value's own '|' becomes '/'.
_CLEAN_ITEM = str.maketrans({"\t": " ", "\n": " ", "\r": " ", "|": "/"})


def _cell(value: object) -> str:
    """A single-valued cell: identifiers keep every character but tabs and newlines."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).translate(_CLEAN)


def _multi(values: Iterable[str]) -> str:
    return "|".join(str(v).translate(_CLEAN_ITEM) for v in values)


def kgx_paths(out: Path) -> tuple[Path, Path]:
    """``OUT`` names a stem: ``OUT_nodes.tsv`` and ``OUT_edges.tsv`` (a folder: inside it)."""
    if out.is_dir():
        return out / "nodes.tsv", out / "edges.tsv"
    stem = str(out).removesuffix(".tsv")
    return Path(f"{stem}_nodes.tsv"), Path(f"{stem}_edges.tsv")


def _write(columns: tuple[str, ...], rows: Iterable[list[str]], out: TextIO) -> int:
    out.write("\t".join(columns) + "\n")
    n = 0
    for cells in rows:
        out.write("\t".join(cells) + "\n")
        n += 1
    return n


def write_nodes(entities: Iterable[EntityRow], out: TextIO) -> int:
    """The nodes file; returns the number of rows."""
    rows = (
        [
            _cell(e.id),
            _cell(e.category),
            _cell(e.name),
            _multi(e.synonyms),
            KNOWLEDGE_SOURCE,
            _cell(e.provisional),
        ]
        for e in entities
    )
    return _write(NODE_COLUMNS, rows, out)


def write_edges(relations: Iterable[RelationRow], out: TextIO) -> int:
    """The edges file; returns the number of rows."""
    rows = (
        [
            _cell(r.key),
            _cell(r.subject),
            _cell(r.predicate),
            _cell(r.object),
            "biolink:Association",
            _multi(publication_curie(p) for p in r.pmids),
            "knowledge_assertion",
            agent_type(r.extractors),
            KNOWLEDGE_SOURCE,
            _cell(r.paper_count),
            _cell(r.evidence_count),
            _cell(r.confidence),
            _cell(r.first_year),
            _cell(r.last_year),
            _multi(r.relation_types),
        ]
        for r in relations
    )
    return _write(EDGE_COLUMNS, rows, out)
