"""The functions behind ``kg extract`` and ``kg eval``: annotate files, score against gold.

Input annotations are always dropped before the model sees a document: what is written or
scored is the model's own output.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from extractors.evaluation import (
    PRF,
    Item,
    Scope,
    in_scope,
    relation_breakdown,
    relation_item,
    relation_scope,
    score_concepts,
    score_mentions,
    score_relations,
)
from kg.errors import ConfigError, InputError
from kg.model import DeletedCitation, Document
from kg.pipeline import Extractor, chunk_for, extract_all
from kg.schema import EntityType

if TYPE_CHECKING:
    from extractors.linker import Linker

#: Output formats of ``kg extract``.
WRITERS = ("pubtator", "bioc", "jsonl")


@dataclass(slots=True)
class ExtractReport:
    documents: int = 0
    mentions: int = 0
    relations: int = 0
    failed: list[InputError] = field(default_factory=list)


def _plain(doc: Document, keep_mentions: bool = False) -> Document:
    return replace(doc, mentions=doc.mentions if keep_mentions else (), relations=())


def annotate(
    extractor: Extractor,
    items: Iterable[Document | DeletedCitation | InputError],
    report: ExtractReport,
    *,
    chunk: int = 32,
    progress: Callable[[int], None] | None = None,
    keep_mentions: bool = False,
) -> Iterator[Document]:
    """The documents of ``items`` annotated by ``extractor``; failures go to ``report``.

    Input annotations are dropped first; ``keep_mentions`` keeps the mentions (relations on
    gold entities).
    """
    chunk = chunk_for(extractor, chunk)
    pending: list[Document] = []

    def flush() -> Iterator[Document]:
        for doc in extract_all(extractor, [_plain(d, keep_mentions) for d in pending]):
            if isinstance(doc, InputError):
                report.failed.append(doc)
                continue
            report.documents += 1
            report.mentions += len(doc.mentions)
            report.relations += len(doc.relations)
            yield doc
        if progress is not None:
            progress(len(pending))
        pending.clear()

    for item in items:
        if isinstance(item, InputError):
            report.failed.append(item)
        elif isinstance(item, Document):
            pending.append(item)
            if len(pending) >= chunk:
                yield from flush()
    yield from flush()


def write_documents(docs: Iterable[Document], fmt: str, out: TextIO) -> int:
    """Write annotated documents in one of :data:`WRITERS`; returns how many were written."""
    if fmt == "pubtator":
        from loaders.files.pubtator import write_pubtator

        return write_pubtator(docs, out)
    if fmt == "jsonl":
        from loaders.files.jsonl import write_jsonl

        return write_jsonl(docs, out)
    if fmt == "bioc":
        from loaders.files.bioc import write_bioc

        return write_bioc(docs, out)
    raise ConfigError(f"unknown output format {fmt!r}", hint=f"use one of {', '.join(WRITERS)}")


def gold_documents(path: Path, fmt: str | None = None) -> list[Document]:
    """The annotated documents of a gold file; a record that cannot be read is an error."""
    from kg.readers import read_path

    docs: list[Document] = []
    for item in read_path(path, fmt):
        if isinstance(item, InputError):
            raise ConfigError(
                f"the gold file has a bad record: {item}",
                hint="fix or remove the record; scores over a partly read gold file mislead",
            )
        if isinstance(item, Document):
            docs.append(item)
    if not docs:
        raise ConfigError(f"no documents in gold file {path}", hint="check the path and format")
    return docs


#: Namespaces whose whole vocabulary the lexicon holds, so an ID of theirs it lacks is retired.
#: NCBI Gene is not one: the lexicon has the genes of a few species only, and a rat gene it
#: lacks is no retired ID (reading it as the human gene of the same name would be a species
#: error scored as right).
WHOLE_VOCABULARIES = ("MESH",)


def current_ids(gold: Sequence[Document], linker: Linker) -> dict[str, str]:
    """Retired gold MeSH IDs, each with the current MeSH ID that its gold mention texts name
    exactly (``kg eval re --current-ids``).

    Corpora keep the IDs of the year they were annotated: BC5CDR (2015) gives olanzapine as
    MESH:C076029, a supplementary concept MeSH has since made the descriptor MESH:D000077152,
    and no system linking with today's MeSH can name the old ID. An ID of a
    :data:`WHOLE_VOCABULARIES` namespace that no vocabulary has is read as a current one only
    where every gold text of it that the lexicon knows exactly names the same one; the rest
    stay as they are.
    """
    texts: dict[str, set[tuple[str, EntityType]]] = {}
    for doc in gold:
        for m in doc.mentions:
            for curie in m.ids:
                texts.setdefault(curie, set()).add((m.text, m.type))
    found: dict[str, str] = {}
    for curie, named in texts.items():
        prefix = curie.partition(":")[0]
        if prefix not in WHOLE_VOCABULARIES or linker.in_vocabulary(curie):
            continue
        now = {c for text, etype in named if (c := _named_now(linker, text, etype, prefix))}
        if len(now) == 1:
            found[curie] = now.pop()
    return found


def _named_now(linker: Linker, text: str, etype: EntityType, prefix: str) -> str | None:
    """The best exact candidate of ``text`` in namespace ``prefix`` that a vocabulary has (the
    training corpora may still rank the retired ID itself first: "venlafaxine")."""
    for candidate in linker.exact(text, etype):
        curie = candidate.curie
        if curie.partition(":")[0] == prefix and linker.in_vocabulary(curie):
            return curie
    return None


def with_ids(docs: Sequence[Document], ids: Mapping[str, str]) -> list[Document]:
    """``docs`` with every mention and relation ID that ``ids`` maps read as its value."""
    if not ids:
        return list(docs)

    def one(i: str) -> str:
        return ids.get(i, i)

    def mentions(doc: Document) -> tuple:
        return tuple(replace(m, ids=tuple(dict.fromkeys(map(one, m.ids)))) for m in doc.mentions)

    def relations(doc: Document) -> tuple:
        return tuple(replace(r, id1=one(r.id1), id2=one(r.id2)) for r in doc.relations)

    return [replace(d, mentions=mentions(d), relations=relations(d)) for d in docs]


def items_of(docs: Sequence[Document]) -> dict[str, list[Item]]:
    return {d.pmid: [(m.start, m.end, m.type, m.ids) for m in d.mentions] for d in docs}


def gold_types(docs: Sequence[Document]) -> list[EntityType]:
    """The types a gold file annotates (scoring other types would count false positives)."""
    return [t for t in EntityType if any(m.type is t for d in docs for m in d.mentions)]


def evaluate(
    gold: Sequence[Document],
    predicted: Sequence[Document],
    types: Sequence[EntityType] | None = None,
) -> tuple[dict[str, PRF], dict[str, PRF]]:
    """(strict mention scores, document concept scores) of predictions against gold."""
    wanted = list(types) if types else gold_types(gold)
    g, p = items_of(gold), items_of(predicted)
    return score_mentions(g, p, wanted), score_concepts(g, p, wanted)


def _entity_types(doc: Document) -> dict[str, EntityType]:
    return {i: m.type for m in doc.mentions for i in m.entity_ids}


@dataclass(frozen=True, slots=True)
class _Judged:
    """What relation scoring reads of gold and predicted documents: relation items and entity
    types per document, and the gold file's scope (:func:`relation_scope`)."""

    gold: dict[str, list]
    predicted: dict[str, list]
    gold_types: dict[str, dict[str, EntityType]]
    predicted_types: dict[str, dict[str, EntityType]]
    scope: Scope | None


def _judged(gold: Sequence[Document], predicted: Sequence[Document]) -> _Judged:
    g, gold_types = _relation_items(gold), {d.pmid: _entity_types(d) for d in gold}
    return _Judged(
        g,
        _relation_items(predicted),
        gold_types,
        {d.pmid: _entity_types(d) for d in predicted},
        relation_scope(g, gold_types),
    )


def evaluate_relations(gold: Sequence[Document], predicted: Sequence[Document]) -> dict[str, PRF]:
    """Document-level relation scores of predictions against gold (see ``score_relations``)."""
    j = _judged(gold, predicted)
    return score_relations(j.gold, j.predicted, j.predicted_types, j.scope)


def relations_breakdown(
    gold: Sequence[Document], predicted: Sequence[Document]
) -> dict[str, dict[str, PRF]]:
    """The scores of :func:`evaluate_relations` per entity-type pair and per relation type."""
    j = _judged(gold, predicted)
    types = {k: {**j.predicted_types.get(k, {}), **v} for k, v in j.gold_types.items()}
    return relation_breakdown(j.gold, j.predicted, types, j.scope, j.predicted_types)


#: Why a gold relation was missed or a predicted one is false (:func:`relation_losses`); the
#: kinds of "missed, one ID not given: ..." come from :func:`_missing_id`.
LOSS_FOUND = "found"
LOSS_BOTH_FOUND = "missed, both IDs given"
LOSS_BOTH_MISSING = "missed, neither ID given"
LOSS_FALSE_GOLD = "false, both IDs in the gold document"
LOSS_FALSE_OTHER = "false, an ID not in the gold document"


def relation_losses(gold: Sequence[Document], predicted: Sequence[Document]) -> dict[str, int]:
    """Where the pairs of :func:`evaluate_relations` (pair level) go, end to end: each gold
    pair is found, missed although the entity stage gave both IDs (the relation model's miss),
    or missed because it did not give one, and then why: no mention of that entity found
    (``not recognized``), found but ``unlinked``, or ``linked to another ID``. Each false pair
    joins two entities the gold annotates (the model's error) or one the gold does not have
    (the entity stage's, mostly an ID that names the gold's entity otherwise).

    Counts of pairs, in the order to report them (found, missed, false; most first within a
    kind); the missing ID's entity type comes from the gold. With gold entities every ID is
    given, so only the first two kinds and the false ones occur."""
    j = _judged(gold, predicted)
    scoped = in_scope(j.predicted, j.predicted_types, j.scope)
    found_docs = {d.pmid: d for d in predicted}
    out: dict[str, int] = {}
    rank: dict[str, int] = {}

    def count(key: str, kind: int) -> None:
        out[key] = out.get(key, 0) + 1
        rank[key] = kind

    for doc in gold:
        mine = found_docs.get(doc.pmid)
        found_ids = {i for m in mine.mentions for i in m.ids} if mine is not None else set()
        pred_pairs = {x[0] for x in scoped.get(doc.pmid, [])}
        gold_pairs = {x[0] for x in j.gold.get(doc.pmid, [])}
        for pair in gold_pairs:
            missing = [i for i in pair if i not in found_ids]
            if pair in pred_pairs:
                count(LOSS_FOUND, 0)
            elif not missing:
                count(LOSS_BOTH_FOUND, 1)
            elif len(missing) == 2:
                count(LOSS_BOTH_MISSING, 3)
            else:
                count(_missing_id(doc, mine, missing[0]), 2)
        gold_ids = set(j.gold_types.get(doc.pmid, {}))
        for pair in pred_pairs - gold_pairs:
            count(LOSS_FALSE_GOLD if set(pair) <= gold_ids else LOSS_FALSE_OTHER, 4)
    return dict(sorted(out.items(), key=lambda kv: (rank[kv[0]], -kv[1])))


def _missing_id(gold: Document, predicted: Document | None, curie: str) -> str:
    """Why the entity stage did not give ``curie``, one of ``gold``'s IDs."""
    spans = [m for m in gold.mentions if curie in m.ids]
    etype = spans[0].type.value if spans else "entity"
    found = [
        m
        for m in (predicted.mentions if predicted is not None else ())
        for s in spans
        if m.start < s.end and s.start < m.end
    ]
    if not found:
        why = "not recognized"
    elif any(m.ids for m in found):
        why = "linked to another ID"
    else:
        why = "unlinked"
    return f"missed, one ID not given: {etype} {why}"


def _relation_items(docs: Sequence[Document]) -> dict[str, list]:
    return {
        d.pmid: [relation_item(r.id1, r.id2, r.type, r.novel) for r in d.relations] for d in docs
    }
