"""Entities of a document and the candidate pairs between them.

A relation joins two *entities* (identifiers), not two mentions: BioRED and BC5CDR annotate at
document level. An entity of a document is the set of its mentions (a composite mention counts
for each of its identifiers). A candidate pair is two distinct linked entities whose types the
schema allows together (:data:`kg.schema.ALLOWED_PAIRS`); pairs are unordered and kept in a
canonical order (type order of :class:`EntityType`, then identifier), so a pair has one key.

Unlinked mentions (provisional keys) take part in no candidate pair: a relation to an entity
nobody can identify is neither checkable nor mergeable across papers.
"""

from __future__ import annotations

from dataclasses import dataclass

from kg.identifiers import is_provisional
from kg.model import Document
from kg.schema import ALLOWED_PAIRS, EntityType, RelationType

_TYPE_ORDER = {t: i for i, t in enumerate(EntityType)}


@dataclass(frozen=True, slots=True)
class DocEntity:
    """One entity of a document: its identifier, type and the spans of its mentions."""

    id: str
    type: EntityType
    spans: tuple[tuple[int, int], ...]


def doc_entities(doc: Document) -> list[DocEntity]:
    """The linked entities of a document, in order of first mention."""
    spans: dict[str, list[tuple[int, int]]] = {}
    types: dict[str, EntityType] = {}
    for m in sorted(doc.mentions, key=lambda m: (m.start, m.end)):
        for eid in m.ids:
            if is_provisional(eid):
                continue
            spans.setdefault(eid, []).append((m.start, m.end))
            types.setdefault(eid, m.type)
    return [DocEntity(eid, types[eid], tuple(s)) for eid, s in spans.items()]


def pair_key(a: DocEntity, b: DocEntity) -> tuple[str, str]:
    """The canonical (first, second) identifiers of an unordered pair."""
    ka, kb = (_TYPE_ORDER[a.type], a.id), (_TYPE_ORDER[b.type], b.id)
    return (a.id, b.id) if ka <= kb else (b.id, a.id)


def type_pair(a: EntityType, b: EntityType) -> tuple[EntityType, EntityType]:
    return (a, b) if _TYPE_ORDER[a] <= _TYPE_ORDER[b] else (b, a)


def pair_name(a: EntityType, b: EntityType) -> str:
    """``Chemical-Disease``, ``Gene-Gene``: the key of an entity-type pair in a model's record."""
    first, second = type_pair(a, b)
    return f"{first.value}-{second.value}"


def _both(pair: frozenset[EntityType]) -> tuple[EntityType, EntityType]:
    a, b = (*pair, *pair)[:2]  # a frozenset of one type is the pair of that type with itself
    return type_pair(a, b)


#: Every allowed unordered type pair, in a fixed order (the model embeds its index).
TYPE_PAIRS: tuple[tuple[EntityType, EntityType], ...] = tuple(
    sorted({_both(p) for p in ALLOWED_PAIRS}, key=lambda p: (_TYPE_ORDER[p[0]], _TYPE_ORDER[p[1]]))
)
TYPE_PAIR_INDEX = {p: i for i, p in enumerate(TYPE_PAIRS)}


def candidate_pairs(entities: list[DocEntity]) -> list[tuple[int, int]]:
    """Index pairs (i, j) of entities a relation may join, in canonical order within a pair."""
    out: list[tuple[int, int]] = []
    for i, a in enumerate(entities):
        for j in range(i + 1, len(entities)):
            b = entities[j]
            if frozenset((a.type, b.type)) not in ALLOWED_PAIRS:
                continue
            first, _ = pair_key(a, b)
            out.append((i, j) if first == a.id else (j, i))
    return out


@dataclass(frozen=True, slots=True)
class GoldPair:
    type: RelationType
    novel: bool | None


def gold_pairs(doc: Document) -> dict[tuple[str, str], GoldPair]:
    """The document's annotated relations by canonical pair (the first type stated wins)."""
    types: dict[str, EntityType] = {}
    for m in doc.mentions:
        for eid in m.ids:
            types.setdefault(eid, m.type)
    out: dict[tuple[str, str], GoldPair] = {}
    for r in doc.relations:
        if r.id1 not in types or r.id2 not in types or r.id1 == r.id2:
            continue
        a = DocEntity(r.id1, types[r.id1], ())
        b = DocEntity(r.id2, types[r.id2], ())
        out.setdefault(pair_key(a, b), GoldPair(r.type, r.novel))
    return out
