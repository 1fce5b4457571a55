"""The pipeline: sources -> documents -> (extraction) -> publication records -> batches -> sink.

Two ways to get mentions and relations for a document:

* ``use_annotations``: take what the input file states (PubTator/BioC/JSONL annotations);
* an :class:`Extractor`: models find them (entities and relations issues).

Either way each document becomes a :class:`PublicationRecord`; records are batched into
:class:`GraphBatch` es and written by a sink, one transaction per batch. Bad records go to a
quarantine file with the reason; the rest proceeds.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from kg.errors import InputError, KGError, ModelNotInstalledError, SchemaError
from kg.memory import release_freed_memory
from kg.model import (
    AnnotatedRelation,
    DeletedCitation,
    Document,
    Entity,
    Evidence,
    GraphBatch,
    PublicationRecord,
    Relation,
    stable_hash,
)
from kg.schema import PREDICATES, UNDIRECTED_PREDICATE, EntityType, resolve_predicate
from kg.sinks import Sink, WriteReport
from kg.text import sentence_at, sentence_spans

log = logging.getLogger(__name__)

#: Bumped when the way records are assembled changes, so stored fingerprints go stale.
ASSEMBLY_VERSION = "2"


class Extractor(Protocol):
    """Finds mentions and relations in a document (the models' side of the pipeline)."""

    name: str

    def __call__(self, doc: Document) -> Document: ...


@dataclass(slots=True)
class Skip:
    """Part of a record left out (the record itself still loads), with the reason."""

    pmid: str
    reason: str
    detail: str


def _entity_types(doc: Document) -> dict[str, EntityType]:
    types: dict[str, EntityType] = {}
    for m in doc.mentions:
        for eid in m.entity_ids:
            types.setdefault(eid, m.type)
    return types


#: Sentences of evidence kept per model-predicted relation in one document.
MAX_EVIDENCE_SENTENCES = 3
#: A relation whose entities share no sentence is shown with the passage joining their
#: nearest mentions when it spans at most this many sentences.
MAX_EVIDENCE_PASSAGE = 3


def evidence_spans(
    doc: Document, spans: list[tuple[int, int]], id1: str, id2: str, *, limit: int, passage: bool
) -> list[tuple[str, int, int]]:
    """Up to ``limit`` sentences that mention both entities, in text order.

    With ``passage`` and no shared sentence: the shortest run of sentences from a mention of
    one entity to a mention of the other, if it is at most :data:`MAX_EVIDENCE_PASSAGE` long.
    """
    sentences: dict[str, set[int]] = {id1: set(), id2: set()}
    for m in doc.mentions:
        for eid in m.entity_ids:
            if eid in sentences:
                sentences[eid].add(sentence_at(spans, m.start))
    if not spans:
        return []
    shared = sorted(sentences[id1] & sentences[id2])
    runs = [(i, i) for i in shared[:limit]]
    if not runs and passage and sentences[id1] and sentences[id2]:
        a, b = min(
            ((x, y) for x in sentences[id1] for y in sentences[id2]),
            key=lambda p: (abs(p[0] - p[1]), min(p)),
        )
        first, last = min(a, b), max(a, b)
        if last - first < MAX_EVIDENCE_PASSAGE:
            runs = [(first, last)]
    return [(doc.text[spans[i][0] : spans[j][1]], spans[i][0], spans[j][1]) for i, j in runs]


def relation_evidence(
    doc: Document, spans: list[tuple[int, int]], rel: AnnotatedRelation
) -> list[tuple[str, int, int]]:
    """(text, start, end) of the evidence of one relation (see :func:`evidence_spans`).

    An input annotation is one statement (its first shared sentence, if any); a model's
    relation shows every sentence it rests on, up to a few, or the passage joining its ends.
    """
    predicted = rel.score is not None
    limit = MAX_EVIDENCE_SENTENCES if predicted else 1
    return evidence_spans(doc, spans, rel.id1, rel.id2, limit=limit, passage=predicted)


def assemble(doc: Document, extractor: str = "annotation") -> tuple[PublicationRecord, list[Skip]]:
    """A publication record from a document whose mentions and relations are already set."""
    doc.check_offsets()
    skips: list[Skip] = []
    mentions = tuple((eid, m) for m in doc.mentions for eid in m.entity_ids)
    types = _entity_types(doc)
    spans = list(sentence_spans(doc.text)) if doc.relations else []
    evidence: list[Evidence] = []
    for rel in doc.relations:
        if rel.id1 not in types or rel.id2 not in types:
            missing = rel.id1 if rel.id1 not in types else rel.id2
            skips.append(Skip(doc.pmid, "relation entity not mentioned", f"{rel.type} {missing}"))
            continue
        if rel.id1 == rel.id2:
            skips.append(Skip(doc.pmid, "relation of an entity to itself", rel.id1))
            continue
        try:
            resolved = resolve_predicate(rel.type, types[rel.id1], types[rel.id2])
        except SchemaError as exc:
            skips.append(Skip(doc.pmid, "relation outside the schema", exc.message))
            continue
        predicate = resolved.predicate
        if rel.score is not None and not predicate.symmetric and types[rel.id1] is types[rel.id2]:
            # A model scores pairs without order: a directed predicate between two entities of
            # one type (Conversion: derives_into) would point by accident. Say only "related".
            predicate = PREDICATES[UNDIRECTED_PREDICATE]
        subject, obj = (rel.id2, rel.id1) if resolved.swap else (rel.id1, rel.id2)
        if predicate.symmetric and obj < subject:
            subject, obj = obj, subject
        found = relation_evidence(doc, spans, rel)
        for sentence, start, end in found or [(None, None, None)]:
            evidence.append(
                Evidence(
                    relation=Relation(subject, predicate.curie, obj),
                    pmid=doc.pmid,
                    relation_type=rel.type,
                    sentence=sentence,
                    start=start,
                    end=end,
                    score=1.0 if rel.score is None else round(float(rel.score), 4),
                    extractor=extractor if rel.source == "annotation" else rel.source,
                    novel=rel.novel,
                )
            )
    fingerprint = stable_hash(
        ASSEMBLY_VERSION,
        *_text_fields(doc),
        *(f"{eid}@{m.start}-{m.end}:{m.type.value}:{m.source}" for eid, m in mentions),
        *(f"{e.key}:{e.relation_type.value}:{e.novel}:{e.score}" for e in evidence),
        length=32,
    )
    record = PublicationRecord(doc, fingerprint, mentions, tuple(evidence))
    return record, skips


def input_fingerprint(doc: Document, extractor: Extractor) -> str:
    """What extraction of ``doc`` depends on: its text fields and the extractor's identity.

    ``identity`` (set by the registry: model versions, lexicon build, settings) falls back to
    the extractor's name.
    """
    return stable_hash(
        ASSEMBLY_VERSION,
        getattr(extractor, "identity", None) or extractor.name,
        doc.pmid,
        *_text_fields(doc),
        length=32,
    )


def _text_fields(doc: Document) -> tuple[object, ...]:
    """What a document brings besides annotations, as both fingerprints hash it."""
    mesh = ",".join(doc.mesh_terms)
    return (doc.title, doc.abstract, doc.journal, doc.pub_date, doc.version, mesh)


#: An identifier's preferred name in a vocabulary, or None where the vocabulary lacks it
#: (extractors.registry.vocabulary_names gives the lexicon's).
Namer = Callable[[str], str | None]


def entities_of(record: PublicationRecord, names: Namer | None = None) -> dict[str, Entity]:
    """Entities named in a record. The name is the vocabulary's preferred name (``names``)
    where it has the identifier ("Kidney Diseases" for MESH:D007674, however the paper words
    it); else the most frequent text of the mentions that name the entity alone (a composite
    "MMP-2 and -9" or a family "MMPs" names several), else the most frequent text of any. The
    mention texts are the synonyms either way."""
    texts: dict[str, Counter[str]] = {}
    alone: dict[str, Counter[str]] = {}
    types: dict[str, EntityType] = {}
    for eid, m in record.mentions:
        texts.setdefault(eid, Counter())[m.text] += 1
        if len(m.ids) <= 1:
            alone.setdefault(eid, Counter())[m.text] += 1
        types.setdefault(eid, m.type)
    out = {}
    for eid, counts in texts.items():
        preferred = names(eid) if names is not None else None
        out[eid] = Entity(
            id=eid,
            name=preferred or (alone.get(eid) or counts).most_common(1)[0][0],
            type=types[eid],
            synonyms=tuple(sorted(counts)),
            preferred=bool(preferred),
        )
    return out


@dataclass(slots=True)
class RunReport:
    """What one ingest run did; printed at the end and returned to callers."""

    read: int = 0
    #: Documents not extracted again: the sink holds their input fingerprint already.
    reused: int = 0
    deletions: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    quarantine_file: Path | None = None
    sink: dict[str, object] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not self.quarantined


class Quarantine:
    """Appends rejected records, with where they came from and why, to a JSONL file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._fh = None

    def put(self, kind: str, error: InputError | KGError | Skip) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8")
        if isinstance(error, Skip):
            row = {
                "kind": kind,
                "record": error.pmid,
                "reason": error.reason,
                "detail": error.detail,
            }
        else:
            row = {
                "kind": kind,
                "source": getattr(error, "source", None),
                "record": getattr(error, "record", None),
                "line": getattr(error, "line", None),
                "reason": getattr(error, "reason", error.message),
                "hint": error.hint,
                "raw": getattr(error, "raw", None),
            }
        self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.count += 1

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def require_extraction(use_annotations: bool, extractor: Extractor | None) -> None:
    """Refuse, before any work, a run that has neither annotations nor a model to use."""
    if not use_annotations and extractor is None:
        raise ModelNotInstalledError(
            "no extraction model is installed, so documents cannot be annotated",
            hint="pass --use-annotations to load the annotations the input file carries "
            "(PubTator, BioC, JSONL), or configure a model in [extract]",
        )


def records(
    items: Iterable[Document | DeletedCitation | InputError],
    report: RunReport,
    quarantine: Quarantine,
    *,
    use_annotations: bool,
    extractor: Extractor | None = None,
    chunk: int = 32,
    stored_inputs: Callable[[list[str]], dict[str, str]] | None = None,
) -> Iterator[PublicationRecord | DeletedCitation]:
    """Documents to publication records; bad ones quarantined and counted, never raised.

    Documents reach the extractor in chunks of ``chunk`` (models run faster on batches); the
    order of documents and deletions is kept. With ``stored_inputs`` (the sink's), a document
    whose input fingerprint the sink holds already is not extracted again (counted as
    ``reused``); a PMID seen before in this run (a revision, a deletion) always is, since the
    stored state may not include what this run has still to write.
    """
    require_extraction(use_annotations, extractor)
    chunk = chunk_for(extractor, chunk)
    pending: list[Document] = []
    first: list[bool] = []  # per pending document: its PMID's first appearance in this run
    seen: set[str] = set()

    def reject(error: InputError) -> None:
        report.quarantined[error.reason.split(":")[0][:80]] += 1
        quarantine.put("record", error)
        log.warning("quarantined: %s", error)

    def flush() -> Iterator[PublicationRecord]:
        docs = pending[:]
        pending.clear()
        inputs: list[str | None] = [None] * len(docs)
        if use_annotations:
            annotated: list[Document | InputError] = list(docs)
            tag = "annotation"
        else:
            assert extractor is not None
            inputs = [input_fingerprint(d, extractor) for d in docs]
            if stored_inputs is not None and any(first):
                held = stored_inputs(
                    sorted({d.pmid for d, f in zip(docs, first, strict=True) if f})
                )
                keep = [
                    not f or held.get(d.pmid) != fp
                    for d, f, fp in zip(docs, first, inputs, strict=True)
                ]
                report.reused += keep.count(False)
                docs = [d for d, k in zip(docs, keep, strict=True) if k]
                inputs = [fp for fp, k in zip(inputs, keep, strict=True) if k]
            annotated = extract_all(extractor, [_without_annotations(d) for d in docs])
            tag = extractor.name
        first.clear()
        for doc, input_fp in zip(annotated, inputs, strict=True):
            if isinstance(doc, InputError):
                reject(doc)
                continue
            try:
                record, skips = assemble(doc, tag)
            except InputError as exc:
                reject(exc)
                continue
            for skip in skips:
                report.skipped[skip.reason] += 1
                quarantine.put("relation", skip)
            yield replace(record, input_fingerprint=input_fp)

    for item in items:
        if isinstance(item, InputError):
            reject(item)
            continue
        if isinstance(item, DeletedCitation):
            yield from flush()
            seen.add(item.pmid)
            report.deletions += 1
            yield item
            continue
        report.read += 1
        pending.append(item)
        first.append(item.pmid not in seen)
        seen.add(item.pmid)
        if len(pending) >= chunk:
            yield from flush()
    yield from flush()


#: What a model may raise on one odd document; the document is quarantined, the run goes on.
EXTRACTION_ERRORS = (KGError, ValueError, RuntimeError, IndexError)


def chunk_for(extractor: Extractor, chunk: int) -> int:
    """Documents to hand ``extractor`` at a time: ``chunk``, or more where the extractor asks
    for more (a parallel one's chunk keeps every worker busy, extractors/parallel.py)."""
    return max(chunk, getattr(extractor, "chunk", 0))


def extract_all(extractor: Extractor, docs: list[Document]) -> list[Document | InputError]:
    """Run the extractor on a chunk; when the chunk fails, find the document that fails.

    Afterwards the heap is trimmed if it has grown (:mod:`kg.memory`), so that a long run's
    resident memory stays flat.
    """
    try:
        return _extract_chunk(extractor, docs)
    finally:
        release_freed_memory()


def _extract_chunk(extractor: Extractor, docs: list[Document]) -> list[Document | InputError]:
    batch = getattr(extractor, "batch", None)
    if batch is not None and len(docs) > 1:
        try:
            return list(batch(docs))
        except EXTRACTION_ERRORS:
            log.warning("a chunk of %d documents failed to extract; retrying one by one", len(docs))
    out: list[Document | InputError] = []
    for doc in docs:
        try:
            out.append(extractor(doc))
        except EXTRACTION_ERRORS as exc:
            out.append(
                InputError(
                    f"extraction by {extractor.name} failed: {exc}",
                    record=doc.pmid,
                    hint="the record is quarantined; report it with the model name if it "
                    "looks like valid text",
                )
            )
    return out


def _without_annotations(doc: Document) -> Document:
    return replace(doc, mentions=(), relations=())


def batches(
    items: Iterable[PublicationRecord | DeletedCitation], size: int, names: Namer | None = None
) -> Iterator[GraphBatch]:
    """Group records into batches of ``size`` publications; a PMID appears once per batch.
    Entities are named by ``names`` where it knows them (:func:`entities_of`).

    When the same PMID comes again in one batch (a revised record in an update file), the
    batch is closed first so that the later version is written after the earlier one.
    """
    batch = GraphBatch()
    seen: set[str] = set()
    for item in items:
        pmid = item.document.pmid if isinstance(item, PublicationRecord) else item.pmid
        if pmid in seen or len(batch) >= size:
            yield batch
            batch, seen = GraphBatch(), set()
        seen.add(pmid)
        if isinstance(item, DeletedCitation):
            batch.deletions.append(item)
        else:
            batch.publications.append(item)
            for eid, entity in entities_of(item, names).items():
                known = batch.entities.get(eid)
                if known is not None:
                    synonyms = tuple(sorted(set(known.synonyms) | set(entity.synonyms)))
                    entity = replace(known, synonyms=synonyms)
                batch.entities[eid] = entity
    if len(batch):
        yield batch


def ingest(
    items: Iterable[Document | DeletedCitation | InputError],
    sink: Sink,
    *,
    quarantine_path: Path,
    batch_size: int,
    use_annotations: bool,
    extractor: Extractor | None = None,
    progress: Callable[[int], None] | None = None,
    chunk: int = 32,
    reuse: bool = True,
    names: Namer | None = None,
) -> RunReport:
    """Read, assemble, batch and write; one transaction per batch. Returns the run report.

    The sink is opened (constraints first) before the first document is read, so a
    misconfigured target fails before any work is done. ``reuse``: documents the sink holds
    with the same input fingerprint are not extracted again (an interrupted run resumes where
    it stopped); ``False`` extracts everything. ``names`` gives entities their vocabulary's
    preferred names (:func:`entities_of`).
    """
    require_extraction(use_annotations, extractor)
    report = RunReport(quarantine_file=quarantine_path)
    quarantine = Quarantine(quarantine_path)
    written = WriteReport()
    sink.open()
    try:
        stream = records(
            items,
            report,
            quarantine,
            use_annotations=use_annotations,
            extractor=extractor,
            chunk=chunk,
            stored_inputs=getattr(sink, "stored_inputs", None) if reuse else None,
        )
        done = 0
        for batch in batches(stream, batch_size, names):
            written.add(sink.write(batch))
            if progress is not None:
                progress(report.read + report.deletions - done)
                done = report.read + report.deletions
        if progress is not None and report.read + report.deletions > done:
            progress(report.read + report.deletions - done)
    finally:
        quarantine.close()
        sink.close()
        report.sink = {
            "publications_written": written.written,
            "publications_unchanged": written.unchanged + report.reused,
            "publications_not_extracted_again": report.reused,
            "publications_deleted": written.deleted,
            "batches": written.batches,
            **dict(sorted(written.counters.items())),
        }
    if not quarantine.count:
        report.quarantine_file = None
    return report
