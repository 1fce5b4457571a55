"""Entities, then relations between them, as one pipeline extractor.

:class:`RelationExtractor` runs an entity extractor (or keeps the mentions a document has, for
scoring relations on gold entities) and then a relation backend, and states each relation the
backend keeps as an :class:`~kg.model.AnnotatedRelation` with its score, novelty and the model
as its source. :func:`kg.pipeline.assemble` turns those into evidence with the sentences that
support them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from extractors.relations.base import RelationBackend
from kg.model import AnnotatedRelation, Document
from kg.pipeline import Extractor


class RelationExtractor:
    """``entities`` (None: keep the document's mentions) followed by ``relations``."""

    #: What the output depends on (models, lexicon, settings), set by the registry.
    identity: str = ""

    def __init__(self, entities: Extractor | None, relations: RelationBackend) -> None:
        self.entities = entities
        self.relations = relations
        self.source = f"{relations.name}@{relations.version}"
        first = entities.name if entities is not None else "gold-entities"
        self.name = f"{first}+{self.source}"

    def __call__(self, doc: Document) -> Document:
        return self.batch([doc])[0]

    def batch(self, docs: Sequence[Document]) -> list[Document]:
        if self.entities is not None:
            many = getattr(self.entities, "batch", None)
            docs = list(many(docs)) if many else [self.entities(d) for d in docs]
        predicted = self.relations.predict(docs) if docs else []
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
