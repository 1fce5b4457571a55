"""Entities, then relations between them, as one pipeline extractor.

:class:`RelationExtractor` runs an entity extractor (or keeps the mentions a document has, for
scoring relations on gold entities) and then a relation backend, and states each relation the
backend keeps as an :class:`~kg.model.AnnotatedRelation` with its score, novelty and the model
as its source. :func:`kg.pipeline.assemble` turns those into evidence with the sentences that
support them.

With a disease hierarchy (``broader``: the lexicon's :meth:`~extractors.linker.Linker.ancestors`)
it keeps the most specific disease: where a chemical is related by one type to a disease and to
a broader one (hepatitis and liver diseases), the broader is dropped. A paper that reports a
chemical inducing hepatitis names liver disease as its class, not as a second finding; curated
chemical–disease resources (CTD, BC5CDR) state the specific disease only, and the hierarchy
rolls the finding up where a query wants the class. On dev with gold entities this raised BC5CDR
chemical-induced disease F1 by 1.1 and cost BioRED 0.2 pair F1 (docs/models/re.md); other pairs
are left alone (for genes and diseases BioRED states both levels).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from extractors.relations.base import RelationBackend
from kg.model import AnnotatedRelation, Document
from kg.pipeline import Extractor
from kg.schema import EntityType

if TYPE_CHECKING:
    from extractors.relations.scorer import PairPrediction

Broader = Callable[[str], frozenset[str]]


class RelationExtractor:
    """``entities`` (None: keep the document's mentions) followed by ``relations``."""

    #: What the output depends on (models, lexicon, settings), set by the registry.
    identity: str = ""

    def __init__(
        self,
        entities: Extractor | None,
        relations: RelationBackend,
        broader: Broader | None = None,
    ) -> None:
        self.entities = entities
        self.relations = relations
        self.broader = broader
        self.source = f"{relations.name}@{relations.version}"
        first = entities.name if entities is not None else "gold-entities"
        self.name = f"{first}+{self.source}"

    def __call__(self, doc: Document) -> Document:
        return self.batch([doc])[0]

    def batch(self, docs: Sequence[Document]) -> list[Document]:
        if self.entities is not None:
            many = getattr(self.entities, "batch", None)
            docs = list(many(docs)) if many else [self.entities(d) for d in docs]
        return self.relate(docs)

    def relate(self, docs: Sequence[Document]) -> list[Document]:
        """The relation stage alone, on documents whose mentions are already found."""
        predicted = self.relations.predict(docs) if docs else []
        if self.broader is not None:
            predicted = [
                most_specific(preds, entity_types(doc), self.broader)
                for doc, preds in zip(docs, predicted, strict=True)
            ]
        return [
            replace(
                doc,
                relations=tuple(
                    AnnotatedRelation(p.type, p.id1, p.id2, p.novel, round(p.score, 4), self.source)
                    for p in preds
                ),
            )
            for doc, preds in zip(docs, predicted, strict=True)
        ]


def entity_types(doc: Document) -> dict[str, EntityType]:
    """The type of each entity ID the document's mentions name."""
    return {i: m.type for m in doc.mentions for i in m.entity_ids}


def most_specific(
    preds: Sequence[PairPrediction], types: Mapping[str, EntityType], broader: Broader
) -> list[PairPrediction]:
    """``preds`` without the chemical–disease relations whose disease is broader than another
    disease the same chemical has a relation of the same type to (module doc)."""

    def chemical_disease(p: PairPrediction) -> tuple[str, str] | None:
        pair = {types.get(p.id1): p.id1, types.get(p.id2): p.id2}
        chem, disease = pair.get(EntityType.CHEMICAL), pair.get(EntityType.DISEASE)
        return (chem, disease) if chem and disease else None

    pairs = [chemical_disease(p) for p in preds]
    diseases: defaultdict[tuple[str, object], set[str]] = defaultdict(set)
    for p, pair in zip(preds, pairs, strict=True):
        if pair:
            diseases[(pair[0], p.type)].add(pair[1])
    drop = {
        (chem, rtype, d)
        for (chem, rtype), found in diseases.items()
        if len(found) > 1
        for d in found
        if any(d in broader(other) for other in found if other != d)
    }
    return [
        p
        for p, pair in zip(preds, pairs, strict=True)
        if pair is None or (pair[0], p.type, pair[1]) not in drop
    ]
