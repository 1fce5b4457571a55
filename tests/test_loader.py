"""The Neo4j loader against the real server: idempotence, provenance, updates, faults."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest

from kg.errors import LoadIncompleteError
from kg.model import DeletedCitation, Evidence, Relation
from kg.pipeline import assemble, ingest
from kg.schema import RelationType
from loaders.neo4j.sink import Neo4jSink
from tests.helpers import LITHIUM, make_doc

EXAMPLES = Path(__file__).parents[1] / "examples" / "demo.jsonl"

COUNTS = """
CALL { MATCH (n) RETURN count(n) AS nodes }
CALL { MATCH ()-[r]->() RETURN count(r) AS relationships }
CALL { MATCH (p:Publication) RETURN count(p) AS publications }
CALL { MATCH (e:Entity) RETURN count(e) AS entities }
CALL { MATCH (v:Evidence) RETURN count(v) AS evidence }
CALL { MATCH ()-[m:MENTIONS]->() RETURN sum(m.count) AS mentions }
RETURN nodes, relationships, publications, entities, evidence, mentions
"""

EDGES = """
MATCH (s:Entity)-[r]->(o:Entity)
RETURN s.id AS s, type(r) AS t, o.id AS o, r.paper_count AS papers, r.evidence_count AS ev,
       r.pmids AS pmids, r.first_year AS first, r.last_year AS last, r.confidence AS conf
ORDER BY s, t, o
"""


def counts(driver) -> dict:
    return driver.execute_query(COUNTS).records[0].data()


def edges(driver) -> list[dict]:
    return [r.data() for r in driver.execute_query(EDGES).records]


def load(settings, items, tmp_path, **kw):
    sink = Neo4jSink(settings)
    return ingest(
        items,
        sink,
        quarantine_path=tmp_path / "q.jsonl",
        batch_size=kw.pop("batch_size", 2),
        use_annotations=True,
        **kw,
    )


def demo_docs():
    from kg.readers import read_path

    return list(read_path(EXAMPLES))


def test_load_twice_changes_nothing(settings, graph, tmp_path) -> None:
    first = load(settings, demo_docs(), tmp_path)
    after_first = counts(graph)
    assert after_first["publications"] == 4
    assert first.sink["publications_written"] == 4
    second = load(settings, demo_docs(), tmp_path)
    assert counts(graph) == after_first
    assert second.sink["publications_unchanged"] == 4
    assert second.sink.get("nodes_created", 0) == second.sink.get("properties_set", 0) == 0


def test_vocabulary_names_replace_text_names_and_text_never_replaces_them(
    settings, graph, tmp_path
) -> None:
    def tremor_doc(pmid: str, text: str):
        return make_doc(pmid, f"Lithium and {text}.", "", [(text, "Disease", "D014202")])

    def tremor():
        query = "MATCH (e:Entity {id: 'MESH:D014202'}) RETURN e.name AS name, e.synonyms AS syn"
        return graph.execute_query(query).records[0].data()

    load(settings, [tremor_doc("2001", "shaking")], tmp_path)  # an older graph: text names
    assert tremor() == {"name": "shaking", "syn": ["shaking"]}
    load(settings, [tremor_doc("2002", "tremors")], tmp_path, names={"MESH:D014202": "Tremor"}.get)
    assert tremor() == {"name": "Tremor", "syn": ["shaking", "tremors"]}
    load(settings, [tremor_doc("2003", "trembling")], tmp_path)  # no vocabulary at hand
    assert tremor()["name"] == "Tremor"


def test_rename_gives_an_older_graph_the_vocabulary_names(settings, graph, tmp_path) -> None:
    load(settings, demo_docs(), tmp_path)
    vocabulary = {"MESH:D007674": "Kidney Diseases", "MESH:D002945": "Cisplatin"}
    sink = Neo4jSink(settings)
    try:
        read, renamed = sink.rename_entities(vocabulary.get, page=3)  # several pages
        again = sink.rename_entities(vocabulary.get)
    finally:
        sink.close()
    total = counts(graph)["entities"]
    assert (read, renamed) == (total, 1)  # Cisplatin was named so already
    assert again == (total, 0)
    kidney = graph.execute_query(
        "MATCH (e:Entity {id: 'MESH:D007674'}) RETURN e.name AS name, e.synonyms AS syn"
    ).records[0]
    assert kidney["name"] == "Kidney Diseases" and "nephrotoxicity" in kidney["syn"]


def test_types_labels_and_constraints(settings, graph, tmp_path) -> None:
    load(settings, demo_docs(), tmp_path)
    labels = graph.execute_query(
        "MATCH (e:Entity) RETURN e.type AS type, labels(e) AS labels, count(*) AS n ORDER BY type"
    ).records
    for r in labels:
        assert sorted(r["labels"]) == sorted(["Entity", r["type"]])
    assert {r["type"] for r in labels} == {
        "CellLine",
        "Chemical",
        "Disease",
        "Gene",
        "Species",
        "Variant",
    }
    names = {r["name"] for r in graph.execute_query("SHOW CONSTRAINTS YIELD name").records}
    assert {"entity_id", "publication_pmid", "evidence_id"} <= names


def test_edges_aggregate_evidence_one_paper_counted_once(settings, graph, tmp_path) -> None:
    load(settings, demo_docs(), tmp_path)
    causes = [e for e in edges(graph) if e["t"] == "CAUSES" and e["o"] == "MESH:D007674"]
    assert causes == [
        {
            "s": "MESH:D002945",
            "t": "CAUSES",
            "o": "MESH:D007674",
            "papers": 2,
            "ev": 2,
            "pmids": ["90000001", "90000002"],
            "first": 2019,
            "last": 2021,
            "conf": 1.0,
        }
    ]
    # Two sentences of one paper support one relation: one paper, two evidence records.
    record, _ = assemble(LITHIUM, "test@1")
    rel = Relation("MESH:D008094", "biolink:causes", "MESH:D014202")
    extra = [
        Evidence(rel, "1001", RelationType.POSITIVE_CORRELATION, "s1", 0, 23, 0.6, "m@1"),
        Evidence(rel, "1001", RelationType.POSITIVE_CORRELATION, "s2", 24, 64, 0.5, "m@1"),
    ]
    record = replace(record, evidence=record.evidence + tuple(extra), fingerprint="x")
    from kg.pipeline import batches

    sink = Neo4jSink(settings)
    sink.open()
    sink.write(next(iter(batches([record], 10))))
    sink.close()
    row = [e for e in edges(graph) if e["s"] == "MESH:D008094"][0]
    assert (row["papers"], row["ev"], row["pmids"]) == (1, 3, ["1001"])
    assert row["conf"] == pytest.approx(1.0)  # the annotation's 1.0 is that paper's best
    evidence = graph.execute_query(
        "MATCH (v:Evidence {relation_key: $k})-[:FROM]->(p:Publication) "
        "RETURN v.sentence AS s, p.pmid AS pmid ORDER BY v.sentence",
        k=rel.key,
    ).records
    assert [(r["s"], r["pmid"]) for r in evidence] == [
        ("Lithium-induced tremor.", "1001"),
        ("s1", "1001"),
        ("s2", "1001"),
    ]


def test_confidence_is_noisy_or_over_papers(settings, graph, tmp_path) -> None:
    rel = Relation("MESH:D008094", "biolink:causes", "MESH:D014202")
    recs = []
    for pmid, scores in (("1", (0.5, 0.4)), ("2", (0.5,))):
        doc = replace(LITHIUM, pmid=pmid, relations=())
        record, _ = assemble(doc, "m@1")
        evs = tuple(
            Evidence(rel, pmid, RelationType.POSITIVE_CORRELATION, "s", i, i + 1, s, "m@1")
            for i, s in enumerate(scores)
        )
        recs.append(replace(record, evidence=evs))
    from kg.pipeline import batches

    sink = Neo4jSink(settings)
    sink.open()
    for b in batches(recs, 10):
        sink.write(b)
    sink.close()
    row = [e for e in edges(graph) if e["s"] == "MESH:D008094"][0]
    # Paper 1's best is 0.5 (its 0.4 does not count again), paper 2's is 0.5.
    assert row["conf"] == pytest.approx(1 - 0.5 * 0.5)
    assert (row["papers"], row["ev"]) == (2, 3)


def test_revision_and_deletion_equal_a_fresh_build(settings, graph, tmp_path) -> None:
    docs = demo_docs()
    load(settings, docs, tmp_path)
    # PMID 90000002 is revised without its relations; 90000003 is withdrawn.
    revised = replace(docs[1], version=2, relations=())
    load(settings, [revised, DeletedCitation("90000003")], tmp_path)
    incremental = (counts(graph), edges(graph))
    graph.execute_query("MATCH (n) DETACH DELETE n")
    load(settings, [docs[0], revised, docs[3]], tmp_path)
    assert (counts(graph), edges(graph)) == incremental
    assert not graph.execute_query("MATCH (p:Publication {pmid: '90000003'}) RETURN p").records
    # Metformin was only in the withdrawn paper: the entity is gone with it.
    assert not graph.execute_query("MATCH (e:Entity {id: 'MESH:D008687'}) RETURN e").records


def test_older_version_does_not_replace_newer(settings, graph, tmp_path) -> None:
    v2 = replace(LITHIUM, version=2, relations=())
    load(settings, [v2], tmp_path)
    report = load(settings, [LITHIUM], tmp_path)
    assert report.sink["publications_unchanged"] == 1
    assert graph.execute_query("MATCH ()-[r:CAUSES]->() RETURN r").records == []


def test_restart_during_load_then_completes_without_duplicates(
    neo4j_server, settings, graph, tmp_path
) -> None:
    docs = demo_docs()
    load(settings, docs, tmp_path)
    expected = (counts(graph), edges(graph))
    graph.execute_query("MATCH (n) DETACH DELETE n")

    restarted = threading.Event()

    def bounce(_n: int) -> None:
        if not restarted.is_set():
            restarted.set()
            neo4j_server.stop()
            threading.Timer(2.0, neo4j_server.start).start()

    report = load(settings, docs, tmp_path, batch_size=1, progress=bounce)
    assert restarted.is_set()
    assert report.sink["publications_written"] == 4
    assert (counts(graph), edges(graph)) == expected


def test_giving_up_names_the_batch_and_rerun_completes(
    neo4j_server, settings, graph, tmp_path
) -> None:
    docs = demo_docs()
    load(settings, docs, tmp_path)
    expected = (counts(graph), edges(graph))
    graph.execute_query("MATCH (n) DETACH DELETE n")
    impatient = settings.model_copy(
        update={
            "load": settings.load.model_copy(update={"max_attempts": 2, "retry_backoff_s": 0.1})
        }
    )
    stopped = threading.Event()

    def stop_after_first(_n: int) -> None:
        if not stopped.is_set():
            stopped.set()
            neo4j_server.stop()

    try:
        with pytest.raises(LoadIncompleteError, match=r"batch 2 \(PMIDs 90000002"):
            load(impatient, docs, tmp_path, batch_size=1, progress=stop_after_first)
    finally:
        neo4j_server.start()
    assert counts(graph)["publications"] == 1
    report = load(settings, docs, tmp_path)
    assert report.sink["publications_unchanged"] == 1
    assert (counts(graph), edges(graph)) == expected


def test_cypher_is_read_only(settings, graph, tmp_path) -> None:
    from kg.errors import KGError
    from loaders.neo4j.query import read_query

    load(settings, demo_docs(), tmp_path)
    cols, rows = read_query(
        settings,
        "MATCH (e:Entity {id: $id}) RETURN e.name AS name, e.synonyms AS syn",
        {"id": "MESH:D002945"},
    )
    assert cols == ["name", "syn"] and rows[0]["syn"] == ["Cisplatin", "cisplatin"]
    with pytest.raises(KGError, match="query refused"):
        read_query(settings, "CREATE (:Entity {id: 'x'})")
    assert counts(graph)["publications"] == 4


class Replay:
    """An extractor that gives back the demo file's annotations and counts what it was asked."""

    name = "replay@1"

    def __init__(self, docs, identity: str = "replay-a") -> None:
        self.by_pmid = {d.pmid: d for d in docs}
        self.identity = identity
        self.asked: list[str] = []

    def __call__(self, doc):
        self.asked.append(doc.pmid)
        known = self.by_pmid[doc.pmid]
        return replace(doc, mentions=known.mentions, relations=known.relations)


def extract_load(settings, items, tmp_path, extractor, **kw):
    return ingest(
        items,
        Neo4jSink(settings),
        quarantine_path=tmp_path / "q.jsonl",
        batch_size=2,
        use_annotations=False,
        extractor=extractor,
        chunk=2,
        **kw,
    )


def test_documents_held_with_same_input_are_not_extracted_again(settings, graph, tmp_path):
    docs = demo_docs()
    first = Replay(docs)
    extract_load(settings, docs, tmp_path, first)
    assert sorted(first.asked) == sorted(d.pmid for d in docs)
    before = (counts(graph), edges(graph))

    again = Replay(docs)
    report = extract_load(settings, docs, tmp_path, again)
    assert again.asked == []
    assert report.reused == len(docs)
    assert report.sink["publications_unchanged"] == len(docs)
    assert (counts(graph), edges(graph)) == before

    # A changed abstract is extracted again, and only it.
    edited = [replace(docs[0], abstract=docs[0].abstract + " More.")] + docs[1:]
    third = Replay(edited)
    report = extract_load(settings, edited, tmp_path, third)
    assert third.asked == [docs[0].pmid]
    assert report.sink["publications_written"] == 1

    # reuse=False runs the models on everything; nothing changes in the graph.
    forced = Replay(edited)
    report = extract_load(settings, edited, tmp_path, forced, reuse=False)
    assert sorted(forced.asked) == sorted(d.pmid for d in docs)
    assert report.reused == 0 and report.sink["publications_written"] == 0


def test_other_models_extract_again_and_same_output_only_renews_the_note(
    settings, graph, tmp_path
) -> None:
    docs = demo_docs()
    extract_load(settings, docs, tmp_path, Replay(docs, "replay-a"))
    before = (counts(graph), edges(graph))
    other = Replay(docs, "replay-b")
    report = extract_load(settings, docs, tmp_path, other)
    assert len(other.asked) == len(docs)
    assert report.sink["publications_written"] == 0
    assert (counts(graph), edges(graph)) == before
    # The stored input fingerprints are now model b's: a third run extracts nothing.
    third = Replay(docs, "replay-b")
    extract_load(settings, docs, tmp_path, third)
    assert third.asked == []


def test_a_pmid_deleted_then_readded_in_one_run_is_extracted(settings, graph, tmp_path) -> None:
    docs = demo_docs()
    extract_load(settings, docs, tmp_path, Replay(docs))
    again = Replay(docs)
    report = extract_load(settings, [DeletedCitation(docs[0].pmid), docs[0]], tmp_path, again)
    assert again.asked == [docs[0].pmid]
    assert report.reused == 0
    found = graph.execute_query(
        "MATCH (p:Publication {pmid: $pmid}) RETURN p.pmid", pmid=docs[0].pmid
    ).records
    assert len(found) == 1
