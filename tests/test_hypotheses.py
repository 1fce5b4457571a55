"""Hypothesis exploration on the toy graph: every measure against hand-computed values, the
time-slicing boundary, evidence trails, the HTML page and the command."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator

import networkx as nx
import pytest
from click.testing import CliRunner

from kg.cli import main
from queries.html import render_html, subgraph
from queries.hypotheses import (
    EdgeInfo,
    Filters,
    HypothesisError,
    _add_edge,
    closed_discovery,
    evaluate,
    npmi,
    open_discovery,
    ranking_metrics,
    score_pair,
)
from tests.toygraph import B1, B2, B3, C1, C2, A, D, X, toy_driver

DB = "neo4j"
LN2, LN3, LN4 = math.log(2), math.log(3), math.log(4)


@pytest.fixture(scope="module")
def toy(neo4j_server, tmp_path_factory) -> Iterator:
    """The toy graph (tests/toygraph.py), loaded once for this module; yields a driver."""
    yield from toy_driver(neo4j_server, tmp_path_factory)


# --- measures without a server -----------------------------------------------------------------


def _graph(edges: list[tuple[str, str]]) -> nx.Graph:
    g = nx.Graph()
    for i, (x, y) in enumerate(edges):
        _add_edge(g, x, y, EdgeInfo(f"k{i}", x, y, "biolink:related_to", 1, 1.0, 2000, (str(i),)))
    return g


def test_adamic_adar_and_jaccard_equal_networkx_on_a_random_graph() -> None:
    rng = random.Random(5)
    nodes = [f"n{i}" for i in range(30)]
    g = _graph([(a, b) for a in nodes for b in nodes if a < b and rng.random() < 0.15])
    pairs = [(a, c) for a in nodes for c in nodes if a < c and not g.has_edge(a, c)]
    aa = {(a, c): s for a, c, s in nx.adamic_adar_index(g, pairs)}
    jac = {(a, c): s for a, c, s in nx.jaccard_coefficient(g, pairs)}
    for a, c in pairs:
        scores = score_pair(g, a, c, list(nx.common_neighbors(g, a, c)))
        assert scores["adamic_adar"] == pytest.approx(aa[(a, c)])
        assert scores["jaccard"] == pytest.approx(jac[(a, c)])


def test_npmi_bounds_and_value() -> None:
    assert npmi(0, 5, 5, 100) == -1.0
    assert npmi(10, 10, 10, 10) == 1.0
    assert npmi(1, 6, 3, 13) == pytest.approx(math.log(13 / 18) / math.log(13))
    # independence: p(a,c) = p(a) p(c) -> 0
    assert npmi(25, 50, 50, 100) == pytest.approx(0.0)


def test_ranking_metrics_by_hand() -> None:
    m = ranking_metrics([0.9, 0.8, 0.7, 0.6], [True, False, True, False], ks=(1, 2))
    assert m["roc_auc"] == pytest.approx(0.75)
    assert m["p@1"] == 1.0 and m["p@2"] == 0.5
    assert m["average_precision"] == pytest.approx((1 + 2 / 3) / 2)
    assert ranking_metrics([1.0, 1.0], [True, False], ks=())["roc_auc"] == 0.5
    assert math.isnan(ranking_metrics([1.0], [True], ks=())["roc_auc"])


def test_filters_check_names_against_the_schema() -> None:
    f = Filters.build(predicates=["causes", "biolink:treats"], target_types=["disease"])
    assert f.predicates == ("CAUSES", "TREATS") and f.target_types == ("Disease",)
    with pytest.raises(Exception, match="unknown predicate"):
        Filters.build(predicates=["CAUSES]->() DELETE r //"])
    with pytest.raises(Exception, match="unknown entity type"):
        Filters.build(via_types=["Gene) DETACH DELETE (n"])
    with pytest.raises(HypothesisError):
        Filters.build(since_year=2010, until_year=2000)


# --- open and closed discovery on the toy graph --------------------------------------------------


def test_open_discovery_hand_computed_scores(toy) -> None:
    result = open_discovery(toy, DB, A)
    by_id = {h.id: h for h in result.hypotheses}
    # C1 (linked in 2010), D, B1-B3 are direct neighbours: only C2 and X remain.
    assert set(by_id) == {C2, X}
    assert [h.id for h in result.hypotheses] == [C2, X]  # Adamic-Adar
    assert by_id[C2].scores == pytest.approx(
        {
            "shared": 2,
            "evidence": 2,  # min(2, 1) via B1 + min(1, 1) via B3
            "jaccard": 2 / 5,  # |{B1,B3}| / |N(A) ∪ N(C2)| = 2 / (5 + 2 - 2)
            "adamic_adar": 1 / LN4 + 1 / LN3,  # deg(B1) = 4, deg(B3) = 3
            "npmi": math.log(15 / 21) / math.log(15),  # 1 of 15 papers; A in 7, C2 in 3
            "paths": 2,
        },
        abs=1e-6,
    )
    assert by_id[X].scores == pytest.approx(
        {
            "shared": 1,
            "evidence": 1,
            "jaccard": 1 / 5,
            "adamic_adar": 1 / LN4,
            "npmi": -1,
            "paths": 1,
        },
        abs=1e-6,
    )
    assert result.cooccurrence_source == "MENTIONS"
    assert set(result.timings.stages) >= {"cypher_fetch", "projection", "scoring"}


def test_open_discovery_filters(toy) -> None:
    diseases = open_discovery(toy, DB, A, filters=Filters.build(target_types=["Disease"]))
    assert [h.id for h in diseases.hypotheses] == [C2]
    via_chem = open_discovery(toy, DB, A, filters=Filters.build(via_types=["Chemical"]))
    (h,) = via_chem.hypotheses
    assert h.id == C2 and h.via == [B3]
    # Jaccard's union still counts both common neighbours: 1 / (5 + 2 - 2).
    assert h.scores["jaccard"] == pytest.approx(1 / 5)
    assert h.scores["adamic_adar"] == pytest.approx(1 / LN3)
    assert open_discovery(toy, DB, A, filters=Filters.build(predicates=["causes"])).candidates == 0


def test_open_discovery_until_a_year_sees_the_later_discovery(toy) -> None:
    result = open_discovery(toy, DB, A, filters=Filters.build(until_year=2005), measure="paths")
    by_id = {h.id: h for h in result.hypotheses}
    assert set(by_id) == {C1, C2, X}
    assert result.hypotheses[0].id == C1  # 3 paths: B1 (1 x 1) and B2 (1 x 2 predicates)
    assert by_id[C1].scores["paths"] == 3
    assert by_id[C1].scores["evidence"] == 2  # min(2, 1) + min(1, 3)
    # Every piece of evidence in the trail is from 2005 or before.
    years = [
        ev["year"]
        for path in by_id[C1].trail
        for hop in path
        for e in hop.edges
        for ev in e["evidence"]
    ]
    assert years and max(years) <= 2005
    # A window from 2003 counts A-B1's 2003 paper only.
    late = open_discovery(toy, DB, A, filters=Filters.build(since_year=2003, until_year=2005))
    assert late.graph.edges[A, B1]["papers"] == 1


def test_evidence_trail_names_each_hop_with_sentences(toy) -> None:
    result = open_discovery(toy, DB, A, filters=Filters.build(target_types=["Disease"]))
    (c2,) = result.hypotheses
    # Both paths have a weaker hop of 1 paper; B3 (3 links) comes before B1 (4 links).
    assert [[(hop.source, hop.target) for hop in path] for path in c2.trail] == [
        [(A, B3), (B3, C2)],
        [(A, B1), (B1, C2)],
    ]
    hop = c2.trail[1][0]
    assert hop.papers == 2
    (edge,) = hop.edges
    assert edge["predicate"] == "biolink:associated_with"
    assert sorted(edge["pmids"]) == ["9000001", "9000002"]
    assert {ev["pmid"] for ev in edge["evidence"]} == {"9000001", "9000002"}
    assert all("alphamycin" in ev["sentence"] for ev in edge["evidence"])


def test_closed_discovery_lists_intermediates_with_both_hops(toy) -> None:
    result = closed_discovery(toy, DB, A, C1)
    assert [h.id for h in result.hypotheses] == [B2, B1]  # tie on papers; B2 has fewer links
    assert result.target["direct"] is True
    assert [(hop.source, hop.target) for hop in result.hypotheses[0].trail[0]] == [
        (A, B2),
        (B2, C1),
    ]
    assert result.target["scores"]["shared"] == 2
    unknown = "MESH:D999999"
    with pytest.raises(HypothesisError, match="no entity"):
        closed_discovery(toy, DB, A, unknown)


# --- time-sliced evaluation --------------------------------------------------------------------


def _evaluate(toy, cutoff: int):
    return evaluate(
        toy,
        DB,
        cutoff,
        filters=Filters.build(target_types=["Disease"]),
        source_types=["Chemical"],
        ks=(1, 2),
        keep_pairs=True,
    )


def test_evaluation_at_2005_by_hand(toy) -> None:
    result = _evaluate(toy, 2005)
    pairs = {(p["source"], p["target"]): p for p in result.pairs}
    assert {k: p["label"] for k, p in pairs.items()} == {
        (A, C1): True,  # first connected 2010
        (A, C2): False,  # never
        (B3, D): True,  # first connected 2006
    }
    assert pairs[(A, C1)]["adamic_adar"] == pytest.approx(1 / LN4 + 1 / LN2)
    assert pairs[(B3, D)]["adamic_adar"] == pytest.approx(1 / LN4)
    assert pairs[(A, C2)]["npmi"] == pytest.approx(math.log(13 / 18) / math.log(13))
    assert result.positives == 2 and result.candidates == 3 and result.sources == 2
    assert result.new_pairs == result.new_pairs_reachable == 2
    auc = {m: v["roc_auc"] for m, v in result.metrics.items()}
    assert auc == pytest.approx(
        {
            "shared": 0.25,
            "evidence": 0.25,
            "jaccard": 0.5,
            "adamic_adar": 0.25,
            "npmi": 0.0,
            "paths": 0.5,
        }
    )
    assert result.metrics["paths"]["p@1"] == 1.0  # (A, C1) has the most paths


def test_time_slicing_boundary(toy) -> None:
    # Evidence dated in the cutoff year is "before": B3-D (2006) is a candidate at 2005 and a
    # known edge at 2006; A-C1 (2010) is a positive at 2009 and known at 2010.
    at_2006 = {(p["source"], p["target"]): p["label"] for p in _evaluate(toy, 2006).pairs}
    assert at_2006 == {(A, C1): True, (A, C2): False}
    assert _evaluate(toy, 2009).positives == 1
    at_2010 = _evaluate(toy, 2010)
    assert at_2010.positives == 0 and (A, C1) not in {
        (p["source"], p["target"]) for p in at_2010.pairs
    }


# --- HTML and the command ----------------------------------------------------------------------


def test_html_page_is_offline_and_carries_the_subgraph(toy) -> None:
    result = open_discovery(toy, DB, A, filters=Filters.build(until_year=2005))
    sub = subgraph(result)
    assert {n["id"]: n["column"] for n in sub["nodes"]}[A] == 0
    assert {n["id"] for n in sub["nodes"] if n["column"] == 2} == {C1, C2, X}
    page = render_html(result)
    assert "<script src" not in page and "http://" not in page.replace(
        "http://www.w3.org/2000/svg", ""
    )
    assert "https://" not in page
    assert "alphamycin" in page and "GENEB2" in page
    data = page.split('<script id="data" type="application/json">')[1].split("</script>")[0]
    parsed = json.loads(data)
    sentences = [
        ev["sentence"] for e in parsed["edges"] for x in e["edges"] for ev in x["evidence"]
    ]
    assert any("GENEB2 and cardiopathy" in s for s in sentences)


def kg(settings, *args: str):
    return CliRunner().invoke(main, list(args), obj={"settings": settings})


def test_hypotheses_commands(toy, settings, tmp_path) -> None:
    out = tmp_path / "a.html"
    result = kg(settings, "hypotheses", "open", A, "--until-year", "2005", "--html", str(out))
    assert result.exit_code == 0, result.output
    assert "cardiopathy" in result.output and "path: alphamycin" in result.output
    assert out.read_text().startswith("<!DOCTYPE html>")
    as_json = kg(settings, "hypotheses", "closed", A, C1, "--format", "json")
    assert [h["id"] for h in json.loads(as_json.output)["hypotheses"]] == [B2, B1]
    table = kg(
        settings,
        "hypotheses",
        "evaluate",
        "--cutoff-year",
        "2005",
        "--source-type",
        "Chemical",
        "--target-type",
        "Disease",
        "--k",
        "1",
    )
    assert table.exit_code == 0, table.output
    assert "candidate pairs 3, positives 2" in table.output
    bad = kg(settings, "hypotheses", "open", A, "--predicate", "eats")
    assert bad.exit_code != 0 and "unknown predicate" in bad.output
