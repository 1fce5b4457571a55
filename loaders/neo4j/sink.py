"""The online Neo4j loader: batched ``UNWIND ... MERGE`` on deterministic keys.

Graph shape (docs/decisions/0002-graph-model.md):

* ``(:Publication {pmid, title, abstract, journal, pub_date, year, mesh_terms, version,
  fingerprint, input_fingerprint})``
* ``(:Entity:<Type> {id, name, type, category, synonyms, provisional})``
* ``(:Publication)-[:MENTIONS {count, starts, ends, sentences, texts, sources}]->(:Entity)``
  (``sentences``: the index of each mention's sentence, so that co-occurrence in a sentence is
  queryable apart from asserted relations)
* ``(:Entity)-[:<PREDICATE> {key, predicate, pmids, paper_count, evidence_count, first_year,
  last_year, best_score, confidence, relation_types, extractors, novel}]->(:Entity)``
* ``(:Evidence {id, relation_key, subject, predicate, object, relation_type, pmid, sentence,
  start, end, score, extractor, novel})-[:FROM]->(:Publication)``

Each batch is one transaction. A publication whose fingerprint is unchanged is skipped; a
changed or deleted one first loses its mentions and evidence; then the aggregates of every
touched edge are recomputed from the Evidence nodes, so they always equal a from-scratch build.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from kg.errors import GraphUnavailableError, LoadIncompleteError
from kg.identifiers import is_provisional
from kg.model import GraphBatch, PublicationRecord
from kg.schema import BIOLINK_CATEGORY, PREDICATES, EntityType, predicate_by_curie
from kg.sinks import WriteReport
from kg.text import sentence_at, sentence_spans

if TYPE_CHECKING:
    from neo4j import Driver, Transaction

    from kg.config import Settings
    from kg.pipeline import Namer

log = logging.getLogger(__name__)

SCHEMA_STATEMENTS: tuple[str, ...] = (
    "CREATE CONSTRAINT entity_id IF NOT EXISTS FOR (n:Entity) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT publication_pmid IF NOT EXISTS FOR (n:Publication) REQUIRE n.pmid IS UNIQUE",
    "CREATE CONSTRAINT evidence_id IF NOT EXISTS FOR (n:Evidence) REQUIRE n.id IS UNIQUE",
    "CREATE INDEX evidence_relation_key IF NOT EXISTS FOR (n:Evidence) ON (n.relation_key)",
    "CREATE INDEX entity_name IF NOT EXISTS FOR (n:Entity) ON (n.name)",
    "CREATE INDEX publication_year IF NOT EXISTS FOR (n:Publication) ON (n.year)",
    *(
        f"CREATE INDEX rel_key_{p.rel_type.lower()} IF NOT EXISTS "
        f"FOR ()-[r:{p.rel_type}]-() ON (r.key)"
        for p in PREDICATES.values()
    ),
)

_COUNTERS = (
    "nodes_created",
    "nodes_deleted",
    "relationships_created",
    "relationships_deleted",
    "properties_set",
    "labels_added",
)

_EXISTING = """
UNWIND $pmids AS pmid
MATCH (p:Publication {pmid: pmid})
RETURN p.pmid AS pmid, p.fingerprint AS fingerprint, p.version AS version,
       p.input_fingerprint AS input_fingerprint
"""

_SET_INPUT = """
UNWIND $rows AS row
MATCH (p:Publication {pmid: row.pmid})
SET p.input_fingerprint = row.input_fingerprint
"""

_OLD_RELATIONS = """
UNWIND $pmids AS pmid
MATCH (:Publication {pmid: pmid})<-[:FROM]-(ev:Evidence)
RETURN DISTINCT ev.relation_key AS key, ev.predicate AS predicate
"""

_OLD_ENTITIES = """
UNWIND $pmids AS pmid
MATCH (:Publication {pmid: pmid})-[:MENTIONS]->(e:Entity)
RETURN DISTINCT e.id AS id
"""

_CLEAR_EVIDENCE = """
UNWIND $pmids AS pmid
MATCH (:Publication {pmid: pmid})<-[:FROM]-(ev:Evidence)
DETACH DELETE ev
"""

_CLEAR_MENTIONS = """
UNWIND $pmids AS pmid
MATCH (:Publication {pmid: pmid})-[m:MENTIONS]->()
DELETE m
"""

_DELETE_PUBLICATIONS = """
UNWIND $pmids AS pmid
MATCH (p:Publication {pmid: pmid})
DETACH DELETE p
"""

_PUBLICATIONS = """
UNWIND $rows AS row
MERGE (p:Publication {pmid: row.pmid})
SET p += row.props
"""

# The type label comes from EntityType (a closed enum), never from input text.
_ENTITIES = """
UNWIND $rows AS row
MERGE (e:Entity {{id: row.id}})
ON CREATE SET e:{label}, e.name = row.name, e.type = row.type, e.category = row.category,
              e.provisional = row.provisional, e.synonyms = row.synonyms
ON MATCH SET e.synonyms = coalesce(e.synonyms, [])
                          + [s IN row.synonyms WHERE NOT s IN coalesce(e.synonyms, [])],
             e.name = CASE WHEN row.preferred THEN row.name ELSE e.name END
"""

_ENTITY_NAMES = """
MATCH (e:Entity) WHERE e.id > $after
RETURN e.id AS id, e.name AS name ORDER BY e.id LIMIT $page
"""

_RENAME = """
UNWIND $rows AS row
MATCH (e:Entity {id: row.id})
SET e.synonyms = CASE WHEN e.name IN coalesce(e.synonyms, []) THEN e.synonyms
                      ELSE coalesce(e.synonyms, []) + e.name END,
    e.name = row.name
"""

_MENTIONS = """
UNWIND $rows AS row
MATCH (p:Publication {pmid: row.pmid})
MATCH (e:Entity {id: row.id})
MERGE (p)-[m:MENTIONS]->(e)
SET m.count = row.count, m.starts = row.starts, m.ends = row.ends, m.texts = row.texts,
    m.sources = row.sources, m.sentences = row.sentences
"""

_EVIDENCE = """
UNWIND $rows AS row
MATCH (p:Publication {pmid: row.pmid})
MERGE (ev:Evidence {id: row.id})
SET ev += row.props
MERGE (ev)-[:FROM]->(p)
"""

# The relationship type comes from the schema's predicate table.
_RELATIONS = """
UNWIND $rows AS row
MATCH (s:Entity {{id: row.subject}})
MATCH (o:Entity {{id: row.object}})
MERGE (s)-[r:{rel_type} {{key: row.key}}]->(o)
ON CREATE SET r.predicate = row.predicate
"""

# Aggregates from evidence: each paper counts once; confidence is a noisy-OR over papers of
# the best score each paper gives (docs/decisions/0002). An edge left without evidence goes.
_AGGREGATE = """
UNWIND $keys AS k
MATCH ()-[r:{rel_type} {{key: k}}]->()
CALL (k) {{
  OPTIONAL MATCH (ev:Evidence {{relation_key: k}})-[:FROM]->(p:Publication)
  WITH ev, p ORDER BY p.pmid
  RETURN count(ev) AS evidence_count, collect(DISTINCT p.pmid) AS pmids,
         min(p.year) AS first_year, max(p.year) AS last_year, max(ev.score) AS best_score,
         collect(DISTINCT ev.relation_type) AS relation_types,
         collect(DISTINCT ev.extractor) AS extractors, true IN collect(ev.novel) AS novel
}}
CALL (k) {{
  OPTIONAL MATCH (ev:Evidence {{relation_key: k}})-[:FROM]->(p:Publication)
  WITH p, max(ev.score) AS paper_score
  RETURN 1.0 - reduce(q = 1.0, s IN collect(paper_score) | q * (1.0 - s)) AS confidence
}}
SET r.pmids = pmids, r.paper_count = size(pmids), r.evidence_count = evidence_count,
    r.first_year = first_year, r.last_year = last_year, r.best_score = best_score,
    r.confidence = confidence, r.relation_types = relation_types, r.extractors = extractors,
    r.novel = novel
WITH r, evidence_count
WHERE evidence_count = 0
DELETE r
"""

_ORPHANS = """
UNWIND $ids AS id
MATCH (e:Entity {id: id})
WHERE NOT (e)--()
DELETE e
"""


def ensure_schema(driver: Driver, database: str) -> None:
    """Uniqueness constraints and indexes, before the first write. Idempotent."""
    with driver.session(database=database) as session:
        for statement in SCHEMA_STATEMENTS:
            session.run(statement).consume()


def _publication_props(record: PublicationRecord) -> dict[str, Any]:
    doc = record.document
    return {
        "title": doc.title,
        "abstract": doc.abstract,
        "journal": doc.journal,
        "pub_date": doc.pub_date,
        "year": doc.year,
        "mesh_terms": list(doc.mesh_terms),
        "version": doc.version,
        "source": doc.source,
        "fingerprint": record.fingerprint,
        "input_fingerprint": record.input_fingerprint,
    }


def _mention_rows(records: list[PublicationRecord]) -> list[dict[str, Any]]:
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for record in records:
        pmid = record.document.pmid
        spans = list(sentence_spans(record.document.text)) if record.mentions else []
        for eid, m in record.mentions:
            row = rows.setdefault(
                (pmid, eid),
                {
                    "pmid": pmid,
                    "id": eid,
                    "starts": [],
                    "ends": [],
                    "sentences": [],
                    "texts": [],
                    "sources": [],
                },
            )
            row["starts"].append(m.start)
            row["ends"].append(m.end)
            row["sentences"].append(sentence_at(spans, m.start))
            if m.text not in row["texts"]:
                row["texts"].append(m.text)
            if m.source not in row["sources"]:
                row["sources"].append(m.source)
    for row in rows.values():
        row["count"] = len(row["starts"])
    return list(rows.values())


def _evidence_rows(records: list[PublicationRecord]) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for record in records:
        for ev in record.evidence:
            rows[ev.key] = {
                "id": ev.key,
                "pmid": ev.pmid,
                "props": {
                    "relation_key": ev.relation.key,
                    "subject": ev.relation.subject,
                    "predicate": ev.relation.predicate,
                    "object": ev.relation.object,
                    "relation_type": ev.relation_type.value,
                    "pmid": ev.pmid,
                    "sentence": ev.sentence,
                    "start": ev.start,
                    "end": ev.end,
                    "score": ev.score,
                    "extractor": ev.extractor,
                    "novel": ev.novel,
                },
            }
    return list(rows.values())


class Neo4jSink:
    """Writes :class:`GraphBatch` es to Neo4j; retries transient failures with backoff."""

    name = "neo4j"

    def __init__(self, settings: Settings, driver: Driver | None = None) -> None:
        self.settings = settings
        self.database = settings.neo4j.database
        self._driver = driver
        self._own_driver = driver is None
        self._batch_no = 0

    @property
    def driver(self) -> Driver:
        if self._driver is None:
            from loaders.neo4j.connection import open_driver

            self._driver = open_driver(self.settings)
        return self._driver

    def open(self) -> None:
        self._run_with_retries(
            "creating constraints", lambda: ensure_schema(self.driver, self.database)
        )

    def stored_inputs(self, pmids: list[str]) -> dict[str, str]:
        """The input fingerprints stored for these PMIDs (those that have one)."""
        return self._run_with_retries(
            "reading stored fingerprints", lambda: _stored_inputs(self.driver, self.database, pmids)
        )

    def close(self) -> None:
        if self._own_driver and self._driver is not None:
            self._driver.close()
            self._driver = None

    def write(self, batch: GraphBatch) -> WriteReport:
        self._batch_no += 1
        pmids = batch.pmids
        what = f"batch {self._batch_no} (PMIDs {pmids[0]} .. {pmids[-1]})" if pmids else "batch"

        def attempt() -> WriteReport:
            # An explicit transaction: this loop, not the driver, owns the retry policy.
            with (
                self.driver.session(database=self.database) as session,
                session.begin_transaction() as tx,
            ):
                report = _write_batch(tx, batch)
                tx.commit()
                return report

        report = self._run_with_retries(what, attempt)
        report.batches = 1
        return report

    def rename_entities(self, names: Namer, page: int = 5000) -> tuple[int, int]:
        """Give every entity the vocabulary's preferred name where ``names`` knows its ID and
        the graph holds another (a graph built before entities were named so, or with an
        older lexicon); the old name stays among the synonyms. Page by page in ID order, each
        page its own transaction, so an interrupted run is simply run again. Returns
        (entities read, entities renamed)."""
        read = renamed = 0
        after = ""
        while True:
            rows = self._run_with_retries(
                "reading entity names",
                lambda a=after: self.driver.execute_query(
                    _ENTITY_NAMES, after=a, page=page, database_=self.database
                ).records,
            )
            if not rows:
                return read, renamed
            read += len(rows)
            after = rows[-1]["id"]
            changes = [
                {"id": r["id"], "name": name}
                for r in rows
                if (name := names(r["id"])) and name != r["name"]
            ]
            if changes:
                self._run_with_retries(
                    "renaming entities",
                    lambda c=changes: self.driver.execute_query(
                        _RENAME, rows=c, database_=self.database
                    ),
                )
                renamed += len(changes)

    def _run_with_retries(self, what: str, fn: Any) -> Any:
        from neo4j.exceptions import DriverError, Neo4jError

        cfg = self.settings.load
        for attempt in range(1, cfg.max_attempts + 1):
            try:
                return fn()
            except (DriverError, Neo4jError, GraphUnavailableError, OSError) as exc:
                retryable = isinstance(exc, GraphUnavailableError | OSError) or (
                    hasattr(exc, "is_retryable") and exc.is_retryable()
                )
                if not retryable:
                    raise
                if attempt == cfg.max_attempts:
                    raise LoadIncompleteError(
                        f"{what} did not commit after {attempt} attempts: {exc}",
                        hint="earlier batches are in the graph; re-run the same command once "
                        "the database is back: it completes the load without duplicates",
                    ) from exc
                delay = min(cfg.retry_backoff_max_s, cfg.retry_backoff_s * 2 ** (attempt - 1))
                delay *= 0.5 + random.random() / 2
                log.warning("%s failed (%s); retry %d in %.1fs", what, exc, attempt, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")


def _stored_inputs(driver: Driver, database: str, pmids: list[str]) -> dict[str, str]:
    with driver.session(database=database) as session:
        rows = session.run(_EXISTING, pmids=pmids)
        return {r["pmid"]: r["input_fingerprint"] for r in rows if r["input_fingerprint"]}


def _write_batch(tx: Transaction, batch: GraphBatch) -> WriteReport:
    """The whole batch in one transaction. Safe to retry: it reads the state it depends on."""
    counters: Counter[str] = Counter()

    def run(query: str, **params: Any) -> list[Any]:
        result = tx.run(query, **params)
        records = list(result)
        summary = result.consume().counters
        for name in _COUNTERS:
            counters[name] += getattr(summary, name)
        return records

    stored = {
        r["pmid"]: (r["fingerprint"], r["version"], r["input_fingerprint"])
        for r in run(_EXISTING, pmids=[p.document.pmid for p in batch.publications])
    }
    changed: list[PublicationRecord] = []
    unchanged = 0
    refreshed: list[dict[str, Any]] = []
    for record in batch.publications:
        fingerprint, version, input_fp = stored.get(record.document.pmid, (None, None, None))
        if fingerprint == record.fingerprint or (version or 0) > record.document.version:
            unchanged += 1
            if fingerprint == record.fingerprint and input_fp != record.input_fingerprint:
                # Same output from other inputs (another extractor identity, say): only the
                # note of what produced it changes.
                pmid = record.document.pmid
                refreshed.append({"pmid": pmid, "input_fingerprint": record.input_fingerprint})
        else:
            changed.append(record)
    if refreshed:
        run(_SET_INPUT, rows=refreshed)
    deleted = [d.pmid for d in batch.deletions]
    replaced = [r.document.pmid for r in changed if r.document.pmid in stored] + deleted

    touched: dict[str, set[str]] = defaultdict(set)  # predicate -> relation keys
    orphans: set[str] = set()
    if replaced:
        for r in run(_OLD_RELATIONS, pmids=replaced):
            touched[r["predicate"]].add(r["key"])
        orphans.update(r["id"] for r in run(_OLD_ENTITIES, pmids=replaced))
        run(_CLEAR_EVIDENCE, pmids=replaced)
        run(_CLEAR_MENTIONS, pmids=replaced)
    deleted_count = 0
    if deleted:
        deleted_count = len(run(_DELETE_PUBLICATIONS + " RETURN pmid", pmids=deleted))

    if changed:
        run(
            _PUBLICATIONS,
            rows=[{"pmid": r.document.pmid, "props": _publication_props(r)} for r in changed],
        )
        needed = {eid for r in changed for eid, _ in r.mentions}
        by_type: dict[EntityType, list[dict[str, Any]]] = defaultdict(list)
        for eid in sorted(needed):
            entity = batch.entities[eid]
            by_type[entity.type].append(
                {
                    "id": eid,
                    "name": entity.name,
                    "type": entity.type.value,
                    "category": BIOLINK_CATEGORY[entity.type],
                    "provisional": is_provisional(eid),
                    "synonyms": list(entity.synonyms),
                    "preferred": entity.preferred,
                }
            )
        for etype, rows in by_type.items():
            run(_ENTITIES.format(label=EntityType(etype).value), rows=rows)
        run(_MENTIONS, rows=_mention_rows(changed))
        run(_EVIDENCE, rows=_evidence_rows(changed))
        relations: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        for record in changed:
            for ev in record.evidence:
                rel = ev.relation
                relations[rel.predicate][rel.key] = {
                    "key": rel.key,
                    "subject": rel.subject,
                    "object": rel.object,
                    "predicate": rel.predicate,
                }
                touched[rel.predicate].add(rel.key)
        for predicate, rows_by_key in relations.items():
            rel_type = predicate_by_curie(predicate).rel_type
            run(_RELATIONS.format(rel_type=rel_type), rows=list(rows_by_key.values()))

    for predicate, keys in touched.items():
        rel_type = predicate_by_curie(predicate).rel_type
        run(_AGGREGATE.format(rel_type=rel_type), keys=sorted(keys))
    if orphans:
        run(_ORPHANS, ids=sorted(orphans))

    return WriteReport(
        counters=counters,
        written=len(changed),
        unchanged=unchanged,
        deleted=deleted_count,
        added=sum(1 for r in changed if r.document.pmid not in stored),
        relations_touched=sum(len(keys) for keys in touched.values()),
    )
