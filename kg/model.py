"""The data model that flows through every stage.

Document -> Mention -> Entity -> Relation (+ Evidence) -> GraphBatch. All frozen; every record
has a deterministic key, so every write can MERGE on it and loading twice changes nothing.

A :class:`Mention` points into its :class:`Document` by character offsets into
``document.text`` (title + " " + abstract, the PubTator convention), as a spaCy ``Span`` is a
view over its ``Doc``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from kg.errors import OffsetMismatchError
from kg.identifiers import provisional_id
from kg.schema import EntityType, RelationType


def stable_hash(*parts: object, length: int = 20) -> str:
    """A short deterministic key from its parts (SHA-1, hex)."""
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:length]


@dataclass(frozen=True, slots=True)
class Mention:
    """A span of a document's text naming an entity of one type."""

    start: int
    end: int
    text: str
    type: EntityType
    #: Normalized CURIEs (several for composite mentions); empty when unlinked.
    ids: tuple[str, ...] = ()
    score: float | None = None
    #: Who found it: ``annotation`` for input annotations, else ``extractor@version``.
    source: str = "annotation"

    @property
    def entity_ids(self) -> tuple[str, ...]:
        """The entities this mention names; a provisional key when it is unlinked."""
        return self.ids or (provisional_id(self.type, self.text),)

    def key(self, pmid: str) -> str:
        return stable_hash(pmid, self.start, self.end, self.type.value)


@dataclass(frozen=True, slots=True)
class AnnotatedRelation:
    """A document-level relation by entity IDs, as an input file or a relation model states it."""

    type: RelationType
    id1: str
    id2: str
    novel: bool | None = None
    #: A model's confidence in the relation; None for an input annotation (taken as 1.0).
    score: float | None = None
    #: Who stated it: ``annotation``, or the relation model as ``name@version``.
    source: str = "annotation"


@dataclass(frozen=True, slots=True)
class Document:
    """One citation or text. ``pmid`` is the PubMed ID, or a stable ID for other texts."""

    pmid: str
    title: str
    abstract: str = ""
    journal: str | None = None
    #: Publication date as precise as the source gives it: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``.
    pub_date: str | None = None
    mesh_terms: tuple[str, ...] = ()
    #: PubMed record version (``<PMID Version="2">``); 1 when the source has none.
    version: int = 1
    #: Where it was read from (file path, URL); provenance, not identity.
    source: str | None = None
    mentions: tuple[Mention, ...] = ()
    relations: tuple[AnnotatedRelation, ...] = ()

    @property
    def text(self) -> str:
        return f"{self.title} {self.abstract}" if self.abstract else self.title

    @property
    def year(self) -> int | None:
        if self.pub_date and self.pub_date[:4].isdigit():
            return int(self.pub_date[:4])
        return None

    def check_offsets(self) -> None:
        """Refuse any mention whose offsets do not select its text (never shift them)."""
        text = self.text
        for m in self.mentions:
            if not (0 <= m.start < m.end <= len(text)) or text[m.start : m.end] != m.text:
                found = text[m.start : m.end] if 0 <= m.start < m.end <= len(text) else ""
                raise OffsetMismatchError(
                    f"mention {m.text!r} at {m.start}-{m.end} does not match the text "
                    f"({found!r} is there)",
                    record=self.pmid,
                    source=self.source,
                    hint="fix the offsets (they count characters in title + ' ' + abstract)",
                )


@dataclass(frozen=True, slots=True)
class DeletedCitation:
    """PubMed's ``DeleteCitation``: this PMID is withdrawn and must leave the graph."""

    pmid: str
    source: str | None = None


@dataclass(frozen=True, slots=True)
class Entity:
    """A node of the graph. ``name`` is the vocabulary's preferred name where the identifier is
    in the vocabulary (``preferred``), else the text the papers name it by most often;
    ``synonyms`` are the texts of its mentions."""

    id: str
    name: str
    type: EntityType
    synonyms: tuple[str, ...] = ()
    #: ``name`` is the vocabulary's preferred name (a later write may correct an older name).
    preferred: bool = False


@dataclass(frozen=True, slots=True)
class Relation:
    """An asserted (subject, predicate, object): identity only; support lives in Evidence."""

    subject: str
    predicate: str
    object: str

    @property
    def key(self) -> str:
        return stable_hash(self.subject, self.predicate, self.object)


@dataclass(frozen=True, slots=True)
class Evidence:
    """One statement of a relation in one publication, by one extractor."""

    relation: Relation
    pmid: str
    #: The relation type as the extractor named it (BioRED's names).
    relation_type: RelationType
    sentence: str | None = None
    #: Offsets of ``sentence`` in the document text (None for document-level annotations).
    start: int | None = None
    end: int | None = None
    score: float = 1.0
    extractor: str = "annotation"
    novel: bool | None = None

    @property
    def key(self) -> str:
        return stable_hash(self.relation.key, self.pmid, self.start, self.end, self.extractor)


@dataclass(frozen=True, slots=True)
class PublicationRecord:
    """What the graph holds about one document after extraction."""

    document: Document
    #: Content fingerprint (text, annotations, extractors): an unchanged record is skipped.
    fingerprint: str
    #: (entity id, mention) for every mention, composite mentions once per entity.
    mentions: tuple[tuple[str, Mention], ...] = ()
    evidence: tuple[Evidence, ...] = ()
    #: Fingerprint of what went into extraction (text fields and the extractor's identity): a
    #: document whose input fingerprint is stored already need not be extracted again.
    input_fingerprint: str | None = None


@dataclass(slots=True)
class GraphBatch:
    """A unit of writing: publications with their mentions and evidence, plus deletions."""

    entities: dict[str, Entity] = field(default_factory=dict)
    publications: list[PublicationRecord] = field(default_factory=list)
    deletions: list[DeletedCitation] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.publications) + len(self.deletions)

    @property
    def pmids(self) -> list[str]:
        return [p.document.pmid for p in self.publications] + [d.pmid for d in self.deletions]
