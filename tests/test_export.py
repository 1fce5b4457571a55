"""Exports of the toy graph: RDF round trip through pyoxigraph (SPARQL counts equal Cypher
counts), provenance, IRIs, keyset paging, KGX, PubTator and BioC round trips."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.schema import BIOLINK_CATEGORY, PREDICATES
from loaders.rdf.export import export_rdf
from loaders.rdf.graph import GraphPages
from loaders.rdf.prefixes import expand
from tests.toygraph import B2, C1, A, toy_documents, toy_driver

DB = "neo4j"
BIOLINK = "https://w3id.org/biolink/vocab/"
OX_FORMATS = {
    "nt": ox.RdfFormat.N_TRIPLES,
    "nq": ox.RdfFormat.N_QUADS,
    "ttl": ox.RdfFormat.TURTLE,
    "jsonld": ox.RdfFormat.JSON_LD,
}


@pytest.fixture(scope="module")
def toy(neo4j_server, tmp_path_factory) -> Iterator:
    """The toy graph (tests/toygraph.py), loaded once for this module; yields a driver."""
    yield from toy_driver(neo4j_server, tmp_path_factory)


def cypher_counts(driver) -> dict[str, int]:
    return GraphPages(driver, DB).counts()


def sparql_count(store: ox.Store, where: str) -> int:
    prefixes = (
        f"PREFIX biolink: <{BIOLINK}> PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> "
        f"PREFIX kgv: <{expand('kgv:x')[:-1]}> "
    )
    query = f"{prefixes} SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}"
    (row,) = list(store.query(query, use_default_graph_as_union=True))
    return int(row["n"].value)


def load_store(path: Path, fmt: str) -> ox.Store:
    store = ox.Store()
    store.bulk_load(path=str(path), format=OX_FORMATS[fmt])
    return store


# --- IRIs ----------------------------------------------------------------------------------------


def test_iris_come_from_the_biolink_prefix_map() -> None:
    assert expand("MESH:D008094") == "http://id.nlm.nih.gov/mesh/D008094"
    assert expand("NCBIGene:672") == "http://identifiers.org/ncbigene/672"
    assert expand("NCBITaxon:9606") == "http://purl.obolibrary.org/obo/NCBITaxon_9606"
    assert expand("biolink:causes") == BIOLINK + "causes"
    # Characters the IRI grammar forbids are percent-encoded, so the IRI is valid and unique.
    assert (
        expand("tmVar:c|SUB|C|1012|T") == "https://w3id.org/kg-biomed/tmvar/c%7CSUB%7CC%7C1012%7CT"
    )
    from kg.errors import SchemaError

    with pytest.raises(SchemaError, match="no IRI namespace"):
        expand("NOSUCHPREFIX:1")


# --- the RDF round trip --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["nt", "ttl", "nq", "jsonld"])
def test_rdf_round_trip_counts_equal_cypher_counts(toy, tmp_path, fmt: str) -> None:
    out = tmp_path / f"graph.{fmt}"
    report = export_rdf(toy, DB, fmt, out, page=3)  # small pages: many keyset boundaries
    store = load_store(out, fmt)
    assert len(store) == report.triples  # every triple parsed, none merged or lost
    counts = cypher_counts(toy)
    categories = " ".join(f"<{expand(c)}>" for c in BIOLINK_CATEGORY.values())
    predicates = " ".join(f"<{expand(p)}>" for p in PREDICATES)
    assert sparql_count(store, f"?e a ?c VALUES ?c {{ {categories} }}") == counts["entities"]
    assert sparql_count(store, f"?s ?p ?o VALUES ?p {{ {predicates} }}") == counts["relations"]
    assert sparql_count(store, "?a a rdf:Statement") == counts["relations"]
    assert sparql_count(store, "?p a biolink:Publication") == counts["publications"]
    assert sparql_count(store, "?p biolink:mentions ?e") == counts["mentions"]
    assert sparql_count(store, "?v a kgv:Evidence") == counts["evidence"]
    assert report.counts["relations"] == counts["relations"] == 12
    assert report.unmapped_prefixes == {}


def test_rdf_edge_provenance_is_queryable(toy, tmp_path) -> None:
    out = tmp_path / "graph.nt"
    export_rdf(toy, DB, "nt", out)
    store = load_store(out, "nt")
    query = f"""
    PREFIX biolink: <{BIOLINK}> PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
    PREFIX kgv: <{expand("kgv:x")[:-1]}>
    SELECT ?pmid ?n ?conf ?papers ?text WHERE {{
      ?a rdf:subject <{expand(C1)}> ; rdf:predicate biolink:associated_with ;
         rdf:object <{expand(B2)}> ; biolink:evidence_count ?n ; kgv:confidence ?conf ;
         kgv:paper_count ?papers ; biolink:publications ?pmid ; kgv:evidence ?ev .
      ?ev biolink:supporting_text ?text .
    }}"""
    rows = list(store.query(query))  # a symmetric predicate stores its ends sorted: C1, B2
    assert {r["pmid"].value.rsplit("/", 1)[1] for r in rows} == {"9000007", "9000008", "9000009"}
    assert {int(r["n"].value) for r in rows} == {3}
    assert {int(r["papers"].value) for r in rows} == {3}
    assert {float(r["conf"].value) for r in rows} == {1.0}
    assert all("GENEB2" in r["text"].value for r in rows)
    # The plain triple is there too, for queries that ignore provenance.
    ask = f"ASK {{ <{expand(A)}> <{BIOLINK}causes> <{expand(C1)}> }}"
    assert store.query(ask)


def test_rdflib_parses_turtle_and_jsonld(toy, tmp_path) -> None:
    import rdflib

    sizes = {}
    for fmt, rdflib_format in (("ttl", "turtle"), ("jsonld", "json-ld"), ("nt", "nt")):
        out = tmp_path / f"g.{fmt}"
        report = export_rdf(toy, DB, fmt, out)
        g = rdflib.Graph()
        g.parse(out, format=rdflib_format)
        sizes[fmt] = (len(g), report.triples)
    assert len({s for s in sizes.values()}) == 1, sizes
    assert sizes["ttl"][0] == sizes["ttl"][1]


def test_keyset_pages_cover_everything_once(toy) -> None:
    small = GraphPages(toy, DB, page=2)
    ids = [e.id for e in small.entities()]
    assert ids == sorted(ids) and len(ids) == len(set(ids)) == cypher_counts(toy)["entities"]
    assert small.pages_read >= len(ids) // 2
    keys = [r.key for r in GraphPages(toy, DB, page=1).relations()]
    assert len(keys) == len(set(keys)) == 12


def test_gzip_and_named_graph(toy, tmp_path) -> None:
    import gzip

    out = tmp_path / "g.nq.gz"
    export_rdf(toy, DB, "nq", out, graph_iri="kgg:toy")
    with gzip.open(out, "rt") as stream:
        line = stream.readline()
    assert line.rstrip().endswith("<https://w3id.org/kg-biomed/graph/toy> .")


# --- KGX, PubTator, BioC -------------------------------------------------------------------------


def kg(settings, *args: str):
    return CliRunner().invoke(main, list(args), obj={"settings": settings})


def test_kgx_nodes_and_edges(toy, settings, tmp_path) -> None:
    result = kg(settings, "export", "kgx", str(tmp_path / "toy"))
    assert result.exit_code == 0, result.output
    with open(tmp_path / "toy_nodes.tsv") as f:
        nodes = list(csv.DictReader(f, delimiter="\t"))
    with open(tmp_path / "toy_edges.tsv") as f:
        edges = list(csv.DictReader(f, delimiter="\t"))
    counts = cypher_counts(toy)
    assert len(nodes) == counts["entities"] and len(edges) == counts["relations"]
    alpha = next(n for n in nodes if n["id"] == A)
    assert alpha["category"] == "biolink:ChemicalEntity"
    assert set(alpha["synonym"].split("|")) == {"AMC", "alphamycin"}
    b2c1 = next(
        e
        for e in edges
        if {e["subject"], e["object"]} == {B2, C1} and e["predicate"] == "biolink:associated_with"
    )
    assert b2c1["publications"].split("|") == ["PMID:9000007", "PMID:9000008", "PMID:9000009"]
    assert b2c1["agent_type"] == "manual_agent" and b2c1["paper_count"] == "3"


def _annotations(docs) -> dict[str, tuple[set, set]]:
    return {
        d.pmid: (
            {(m.start, m.end, m.type.value, m.ids) for m in d.mentions},
            {(r.type.value, frozenset((r.id1, r.id2))) for r in d.relations},
        )
        for d in docs
    }


@pytest.mark.parametrize(("fmt", "reader"), [("pubtator", "pubtator"), ("bioc", "bioc-xml")])
def test_annotation_exports_read_back_the_same(toy, settings, tmp_path, fmt, reader) -> None:
    from kg.model import Document
    from kg.readers import read_path

    out = tmp_path / f"toy.{fmt}"
    result = kg(settings, "export", fmt, str(out))
    assert result.exit_code == 0, result.output
    back = [d for d in read_path(out, reader) if isinstance(d, Document)]
    assert _annotations(back) == _annotations(toy_documents())
    years = {d.pmid: d.year for d in back}
    if fmt == "bioc":
        assert years["9000013"] == 2010


def test_export_rdf_command(toy, settings, tmp_path) -> None:
    out = tmp_path / "g.ttl"
    result = kg(settings, "export", "rdf", "--format", "ttl", str(out))
    assert result.exit_code == 0, result.output
    assert "triples" in result.output
    assert len(load_store(out, "ttl")) > 0
