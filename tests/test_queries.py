"""The named query library: every query on the toy graph, parameter checking, injection."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.errors import KGError
from queries.library import (
    KINDS,
    QueryError,
    get_query,
    library,
    parse_query,
    resolve_predicate_name,
    run_named,
)
from tests.toygraph import B1, B2, B3, C1, C2, A, D, X, toy_driver

REQUIRED = {
    "entity_lookup",
    "neighbours",
    "edge_evidence",
    "chemicals_for_disease",
    "genes_for_disease",
    "shortest_paths",
    "new_since",
}


@pytest.fixture(scope="module")
def toy(neo4j_server, tmp_path_factory) -> Iterator:
    """The toy graph (tests/toygraph.py), loaded once for this module; yields a driver."""
    yield from toy_driver(neo4j_server, tmp_path_factory)


def run(driver, name: str, **params) -> list[dict]:
    return run_named(driver, "neo4j", name, params)[1]


def node_count(driver) -> int:
    return driver.execute_query("MATCH (n) RETURN count(n) AS n").records[0]["n"]


# --- the library itself (no server) ------------------------------------------------------------


def test_library_has_the_required_queries_with_headers() -> None:
    lib = library()
    assert set(lib) >= REQUIRED
    for query in lib.values():
        assert query.answers and query.examples, query.name
        assert all(p.help for p in query.params), query.name
        assert "{{" not in query.cypher
        # Every $parameter the Cypher uses is declared, and every declared one is used.
        used = set(__import__("re").findall(r"\$(\w+)", query.cypher))
        assert used == {p.name for p in query.params}, query.name


def test_asserted_token_expands_from_the_schema_only() -> None:
    from kg.schema import PREDICATES

    cypher = get_query("neighbours").cypher
    for p in PREDICATES.values():
        assert p.rel_type in cypher
    assert "MENTIONS" not in cypher.split("-[r:")[1].split("]")[0]


def test_header_parsing_defaults_ranges_and_errors() -> None:
    q = parse_query(
        "t",
        "// answers: a test\n//   that continues\n"
        "// param: n (int 1..5, default 2): how many\n"
        "// param: kind (entity_type, optional): a type\n"
        "// example: kg query t\nRETURN $n AS n, $kind AS k",
    )
    assert q.answers == "a test that continues"
    assert q.bind({}) == {"n": 2, "kind": None}
    assert q.bind({"n": "4", "kind": "chemical"}) == {"n": 4, "kind": "Chemical"}
    with pytest.raises(QueryError, match="above 5"):
        q.bind({"n": 9})
    with pytest.raises(QueryError, match="no parameter"):
        q.bind({"m": 1})
    with pytest.raises(QueryError, match="answers"):
        parse_query("bad", "MATCH (n) RETURN n")
    with pytest.raises(QueryError, match="unknown token"):
        parse_query("bad", "// answers: x\nMATCH (n:{{LABEL}}) RETURN n")
    with pytest.raises(QueryError, match="cannot read"):
        parse_query("bad", "// answers: x\n// param: n (weird): y\nRETURN $n")


def test_required_parameter_is_refused_when_missing() -> None:
    with pytest.raises(QueryError, match="needs --param q"):
        get_query("entity_lookup").bind({})


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("predicate", "CAUSES]-() DETACH DELETE n //"),
        ("predicate", "biolink:causes` MATCH (n) DETACH DELETE n"),
        ("entity_type", "Chemical) DETACH DELETE (n"),
        ("int", "5; MATCH (n) DETACH DELETE n"),
        ("date", "2020' OR 1=1"),
        ("bool", "maybe"),
    ],
)
def test_schema_and_typed_kinds_refuse_anything_else(kind: str, value: str) -> None:
    with pytest.raises(KGError):
        KINDS[kind](value)


def test_predicate_names_resolve_to_schema_relationship_types() -> None:
    assert resolve_predicate_name("biolink:causes") == "CAUSES"
    assert resolve_predicate_name("treats") == "TREATS"
    assert resolve_predicate_name("ASSOCIATED_WITH") == "ASSOCIATED_WITH"
    with pytest.raises(KGError):
        resolve_predicate_name("biolink:eats")


# --- each query on the toy graph -----------------------------------------------------------------


def test_entity_lookup_by_name_synonym_id_and_type(toy) -> None:
    rows = run(toy, "entity_lookup", q="alphamycin")
    assert rows[0]["id"] == A and rows[0]["match_rank"] == 0
    assert rows[0]["papers"] == 7  # p01-p05, p13, p16
    assert run(toy, "entity_lookup", q="amc")[0]["id"] == A  # synonym, case-insensitive
    assert run(toy, "entity_lookup", q=C1)[0]["name"] == "cardiopathy"
    genes = run(toy, "entity_lookup", q="GENE", type="Gene")
    assert {r["id"] for r in genes} == {B1, B2, X}
    assert run(toy, "entity_lookup", q="GENE", type="Disease") == []


def test_neighbours_with_evidence_counts_and_filters(toy) -> None:
    rows = run(toy, "neighbours", id=A)
    assert {r["id"]: r["papers"] for r in rows} == {B1: 2, B2: 1, B3: 1, D: 1, C1: 1}
    assert rows[0]["id"] == B1  # most papers first
    causes = run(toy, "neighbours", id=A, predicate="biolink:causes")
    assert [(r["id"], r["direction"], r["first_year"]) for r in causes] == [(C1, "out", 2010)]
    assert [r["id"] for r in run(toy, "neighbours", id=A, min_papers=2)] == [B1]
    assert {r["id"] for r in run(toy, "neighbours", id=A, type="Disease")} == {C1, D}


def test_edge_evidence_gives_sentences_pmids_years(toy) -> None:
    rows = run(toy, "edge_evidence", subject=B2, object=C1)
    assert len(rows) == 4  # three papers of associated_with, one of positively_correlated_with
    assert {r["pmid"] for r in rows} == {"9000007", "9000008", "9000009"}
    assert all(r["sentence"] and "GENEB2" in r["sentence"] for r in rows)
    assert {r["year"] for r in rows} == {2002, 2003, 2004}
    # Either direction, one predicate.
    one = run(toy, "edge_evidence", subject=C1, object=B2, predicate="positively_correlated_with")
    assert [(r["pmid"], r["relation_type"]) for r in one] == [("9000007", "Positive_Correlation")]


def test_chemicals_that_cause_or_treat_a_disease(toy) -> None:
    assert {(r["id"], r["predicate"]) for r in run(toy, "chemicals_for_disease", disease=D)} == {
        (A, "biolink:treats"),
        (B3, "biolink:causes"),
    }
    treats = run(toy, "chemicals_for_disease", disease="dermatitis", predicate="treats")
    assert [r["id"] for r in treats] == [A]


def test_genes_associated_with_a_disease(toy) -> None:
    rows = run(toy, "genes_for_disease", disease=C1)
    assert {(r["id"], r["predicate"]) for r in rows} == {
        (B2, "biolink:associated_with"),
        (B2, "biolink:positively_correlated_with"),
        (B1, "biolink:associated_with"),
    }
    assert rows[0]["id"] == B2 and rows[0]["papers"] == 3


def test_shortest_paths_go_through_asserted_relations_only(toy) -> None:
    rows = run(toy, "shortest_paths", source=X, target=D)
    assert {tuple(r["ids"]) for r in rows} == {(X, B1, A, D)}
    assert rows[0]["hops"] == 3
    assert run(toy, "shortest_paths", source=X, target=D, max_hops=2) == []
    with pytest.raises(QueryError, match="above 6"):
        run(toy, "shortest_paths", source=X, target=D, max_hops=7)


def test_new_since_a_date(toy) -> None:
    rows = run(toy, "new_since", since="2006")
    assert [(r["subject"], r["object"], r["first_date"]) for r in rows] == [
        (A, C1, "2010-06"),
        (B3, D, "2006-06"),
    ]
    assert [r["object"] for r in run(toy, "new_since", since="2006-07")] == [C1]
    assert run(toy, "new_since", since="2011") == []


def test_co_mentioned(toy) -> None:
    rows = run(toy, "co_mentioned", id=A, type="Disease")
    assert {(r["id"], r["papers"], r["related"]) for r in rows} == {
        (C1, 1, True),
        (D, 1, True),
        (C2, 1, False),
    }


# --- injection through parameters ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "' OR 1=1 //",
        "x'}) DETACH DELETE n //",
        'alphamycin"}) MATCH (n) DETACH DELETE n RETURN 1 AS id //',
        "$q",
        "{{ASSERTED}}",
    ],
)
def test_text_parameters_are_data_never_cypher(toy, text: str) -> None:
    before = node_count(toy)
    assert run(toy, "entity_lookup", q=text) == []
    assert run(toy, "neighbours", id=text) == []
    assert node_count(toy) == before


def test_cli_refuses_an_injected_predicate_before_touching_the_graph(toy) -> None:
    before = node_count(toy)
    result = CliRunner().invoke(
        main,
        ["query", "neighbours", "-p", f"id={A}", "-p", "predicate=CAUSES]-(x) DETACH DELETE x //"],
    )
    assert result.exit_code != 0
    assert "unknown predicate" in result.output
    assert node_count(toy) == before


# --- the command ---------------------------------------------------------------------------------


def test_kg_query_list_and_show() -> None:
    result = CliRunner().invoke(main, ["query", "--list"])
    assert result.exit_code == 0
    for name in REQUIRED:
        assert name in result.output
    shown = CliRunner().invoke(main, ["query", "neighbours", "--show"])
    assert "MATCH (e:Entity {id: $id})" in shown.output


def kg(settings, *args: str):
    return CliRunner().invoke(main, list(args), obj={"settings": settings})


def test_kg_query_runs_against_the_configured_graph(toy, settings) -> None:
    result = kg(settings, "query", "neighbours", "--param", f"id={A}", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {r["id"] for r in rows} == {B1, B2, B3, D, C1}
    csv_out = kg(settings, "query", "entity_lookup", "--param", "q=colitis", "--format", "csv")
    assert csv_out.output.splitlines()[1].startswith(f"{C2},Disease,colitis")
    assert C2 not in {r["id"] for r in rows}
