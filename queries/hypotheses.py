"""Hypothesis exploration: open and closed discovery, ranking measures, time-sliced evaluation.

Swanson's ABC model over the asserted relations of the graph. *Open discovery* starts from an
entity A and proposes entities C that are linked to A through intermediates B (A–B and B–C are
asserted edges) but not directly to A. *Closed discovery* takes A and C and lists the B's that
join them, with the evidence of each hop. Edges are taken undirected: a hypothesis is "A and C
are related", whatever the predicates' directions.

Where the work happens (measured, see ``timings`` in every result and bench/query_bench.py):
Cypher pulls a small projection — A's edges, the edges of A's neighbours, degrees and mention
counts of the candidates — with every filter applied in the database; networkx holds the
projection and Python scores it. Whole-graph evaluation pulls every asserted edge once and
scores all candidate pairs in memory.

Ranking measures (``N(x)``: the neighbours of x through asserted edges that pass the predicate
and year filters; ``S = N(A) ∩ N(C)`` restricted to the intermediate types asked for;
``w(x, y)``: the distinct papers supporting any edge between x and y within the year window;
``m(x, y)``: the number of edges (distinct predicates) between x and y):

=============  ===========================================================================
shared         ``|S|``: how many intermediates join A and C.
evidence       ``Σ_{B∈S} min(w(A,B), w(B,C))``: shared neighbours weighted by evidence; a
               path is as strong as its weaker hop.
jaccard        ``|S| / |N(A) ∪ N(C)|``.
adamic_adar    ``Σ_{B∈S} 1 / ln |N(B)|``: intermediates that join few entities count more.
npmi           normalized PMI of A and C being mentioned in the same publication (within the
               window): ``ln(p(A,C) / (p(A) p(C))) / −ln p(A,C)`` with probabilities over
               publications; −1 when never co-mentioned. Counts come from ``CO_OCCURS_WITH``
               edges when the graph has them and no year window is asked for, else from
               ``MENTIONS``.
paths          ``Σ_{B∈S} m(A,B) · m(B,C)``: the number of distinct A–B–C paths when each
               predicate is its own edge.
=============  ===========================================================================

*Time slicing.* With a cutoff year Y only evidence published in or before Y counts: an edge
exists at Y when one of its papers is dated ≤ Y, and its weight counts those papers only.
``evaluate`` ranks every candidate pair of that graph and scores the ranking against the pairs
first connected *after* Y (the first paper of the first edge between them is dated > Y): ROC AUC
and precision@k per measure. A paper without a year is outside every window.
"""

from __future__ import annotations

import math
import time
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from kg.errors import KGError
from queries.library import SCHEMA_TOKENS, resolve_predicate_name

if TYPE_CHECKING:
    import neo4j
    import networkx as nx


#: The ranking measures, in the order tables show them.
MEASURES: tuple[str, ...] = ("shared", "evidence", "jaccard", "adamic_adar", "npmi", "paths")
DEFAULT_MEASURE = "adamic_adar"
#: The relationship type a co-occurrence loader writes (counts per entity pair), if present.
COOCCURRENCE_REL = "CO_OCCURS_WITH"
ASSERTED = SCHEMA_TOKENS["{{ASSERTED}}"]


class HypothesisError(KGError):
    """A discovery or evaluation request cannot be answered (unknown entity, bad filter)."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class Filters:
    """What counts as an edge and which entities may play B and C.

    ``predicates``: relationship type names (``CAUSES``...) or None for every asserted one;
    ``via_types`` / ``target_types``: entity type values for B and C, None for any;
    ``since_year`` / ``until_year``: the evidence window (inclusive; None = open);
    ``min_papers``: an edge needs at least this many papers inside the window.
    """

    predicates: tuple[str, ...] | None = None
    via_types: tuple[str, ...] | None = None
    target_types: tuple[str, ...] | None = None
    since_year: int | None = None
    until_year: int | None = None
    min_papers: int = 1

    @classmethod
    def build(
        cls,
        predicates: Iterable[str] = (),
        via_types: Iterable[str] = (),
        target_types: Iterable[str] = (),
        since_year: int | None = None,
        until_year: int | None = None,
        min_papers: int = 1,
    ) -> Filters:
        """Check names against the closed schema (``biolink:causes``, ``causes``, ``Gene``...)."""
        from kg.schema import parse_entity_type

        preds = tuple(sorted({resolve_predicate_name(p) for p in predicates})) or None
        vias = tuple(sorted({parse_entity_type(t).value for t in via_types})) or None
        targets = tuple(sorted({parse_entity_type(t).value for t in target_types})) or None
        if since_year is not None and until_year is not None and since_year > until_year:
            raise HypothesisError(f"--since-year {since_year} is after --until-year {until_year}")
        if min_papers < 1:
            raise HypothesisError("--min-papers must be at least 1")
        return cls(preds, vias, targets, since_year, until_year, min_papers)

    @property
    def windowed(self) -> bool:
        """True when a year window is set."""
        return self.since_year is not None or self.until_year is not None

    def in_window(self, year: int | None) -> bool:
        """Whether a paper of this year counts (one without a year: only without a window)."""
        if not self.windowed:
            return True
        if year is None:
            return False
        lo = self.since_year if self.since_year is not None else year
        hi = self.until_year if self.until_year is not None else year
        return lo <= year <= hi

    def cypher_params(self) -> dict[str, Any]:
        """The filter values every projection query takes as parameters."""
        return {
            "preds": list(self.predicates) if self.predicates else None,
            "since": self.since_year,
            "until": self.until_year,
            "min_papers": self.min_papers,
        }


@dataclass(frozen=True, slots=True)
class EdgeInfo:
    """One asserted edge as the projection holds it (papers counted inside the window)."""

    key: str
    subject: str
    object: str
    predicate: str
    papers: int
    confidence: float | None
    first_year: int | None
    pmids: tuple[str, ...]


@dataclass(slots=True)
class Timings:
    """Milliseconds spent per stage: where the time goes."""

    stages: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the enclosed block under ``name`` (times add up across calls)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + 1000 * (time.perf_counter() - started)

    @property
    def total(self) -> float:
        """Milliseconds over all stages."""
        return sum(self.stages.values())


# ---------------------------------------------------------------------------------------------
# Ranking measures over a projected graph.


def _deg(graph: nx.Graph, node: str) -> int:
    """The node's degree in the filtered graph: the ``degree`` attribute when the projection
    does not hold all its neighbours, else its degree in ``graph``."""
    return int(graph.nodes[node].get("degree", graph.degree(node)))


def _papers(graph: nx.Graph, x: str, y: str) -> int:
    return int(graph.edges[x, y]["papers"])


def _multiplicity(graph: nx.Graph, x: str, y: str) -> int:
    return len(graph.edges[x, y]["edges"])


def npmi(n_ac: int, n_a: int, n_c: int, total: int) -> float:
    """Normalized PMI in [−1, 1] of two entities' co-mention over ``total`` publications."""
    if n_ac <= 0 or n_a <= 0 or n_c <= 0 or total <= 0:
        return -1.0
    p_ac, p_a, p_c = n_ac / total, n_a / total, n_c / total
    if p_ac >= 1.0:
        return 1.0
    return math.log(p_ac / (p_a * p_c)) / -math.log(p_ac)


def score_pair(
    graph: nx.Graph,
    a: str,
    c: str,
    via: Iterable[str],
    *,
    cooc: tuple[int, int, int, int] | None = None,
    common: int | None = None,
) -> dict[str, float]:
    """Every measure for the pair (a, c) given its intermediates ``via`` (see module doc).

    ``cooc`` is (n_ac, n_a, n_c, total) for NPMI; without it NPMI is −1. ``common`` is
    ``|N(a) ∩ N(c)|`` when ``via`` is only part of it (an intermediate-type filter); Jaccard's
    union needs the whole intersection.
    """
    shared = list(via)
    both = len(shared) if common is None else common
    union = _deg(graph, a) + _deg(graph, c) - both
    return {
        "shared": float(len(shared)),
        "evidence": float(sum(min(_papers(graph, a, b), _papers(graph, b, c)) for b in shared)),
        "jaccard": len(shared) / union if union > 0 else 0.0,
        "adamic_adar": sum(1.0 / math.log(d) for b in shared if (d := _deg(graph, b)) > 1),
        "npmi": npmi(*cooc) if cooc else -1.0,
        "paths": float(
            sum(_multiplicity(graph, a, b) * _multiplicity(graph, b, c) for b in shared)
        ),
    }


# ---------------------------------------------------------------------------------------------
# Pulling projections out of Neo4j.

_EDGE_FILTER = """($preds IS NULL OR type(r) IN $preds)
  AND ($until IS NULL OR r.first_year <= $until)
  AND ($since IS NULL OR r.last_year >= $since)
  AND r.paper_count >= $min_papers"""

# Every query returns one record with one list, ``rows``: the driver decodes a list in native
# code, about twenty times faster than the same rows as separate records (bench/query_bench.py).
_A_EDGES = f"""
MATCH (a:Entity {{id: $a}})-[r:{ASSERTED}]-(b:Entity)
WHERE ($until IS NULL OR r.first_year <= $until) AND ($since IS NULL OR r.last_year >= $since)
RETURN collect({{id: b.id, type: b.type, name: b.name, key: r.key, subject: startNode(r).id,
       object: endNode(r).id, predicate: r.predicate, rel_type: type(r), papers: r.paper_count,
       confidence: r.confidence, first_year: r.first_year, pmids: r.pmids}}) AS rows
"""

_B_EDGES = f"""
UNWIND $ids AS bid
MATCH (b:Entity {{id: bid}})-[r:{ASSERTED}]-(c:Entity)
WHERE c.id <> $a AND {_EDGE_FILTER}
RETURN collect({{via: bid, id: c.id, type: c.type, name: c.name, key: r.key,
       subject: startNode(r).id, object: endNode(r).id, predicate: r.predicate,
       papers: r.paper_count, confidence: r.confidence, first_year: r.first_year,
       pmids: r.pmids}}) AS rows
"""

_DEGREES = f"""
UNWIND $ids AS id
MATCH (c:Entity {{id: id}})
WITH id, COLLECT {{
  MATCH (c)-[r:{ASSERTED}]-(x:Entity)
  WHERE {_EDGE_FILTER}
  RETURN DISTINCT x.id
}} AS neighbours
RETURN collect({{id: id, degree: size(neighbours),
                common: size([x IN neighbours WHERE x IN $around])}}) AS rows
"""

_YEARS = """
UNWIND $pmids AS pmid
MATCH (p:Publication {pmid: pmid})
RETURN collect({pmid: pmid, year: p.year}) AS rows
"""

_MENTION_COUNTS = """
UNWIND $ids AS id
MATCH (e:Entity {id: id})
WITH id, COUNT {
  MATCH (e)<-[:MENTIONS]-(p:Publication)
  WHERE ($until IS NULL OR p.year <= $until) AND ($since IS NULL OR p.year >= $since)
} AS n
RETURN collect({id: id, n: n}) AS rows
"""

_PUBLICATIONS = """
MATCH (p:Publication)
WHERE ($until IS NULL OR p.year <= $until) AND ($since IS NULL OR p.year >= $since)
RETURN [{n: count(p)}] AS rows
"""

_CO_MENTIONS = """
MATCH (a:Entity {id: $a})<-[:MENTIONS]-(p:Publication)-[:MENTIONS]->(c:Entity)
WHERE c.id IN $ids
  AND ($until IS NULL OR p.year <= $until) AND ($since IS NULL OR p.year >= $since)
WITH c.id AS id, count(DISTINCT p) AS n
RETURN collect({id: id, n: n}) AS rows
"""

_CO_OCCURS = f"""
MATCH (a:Entity {{id: $a}})-[co:{COOCCURRENCE_REL}]-(c:Entity)
WHERE c.id IN $ids
RETURN collect({{id: c.id, n: coalesce(co.paper_count, co.count, size(co.pmids), 1)}}) AS rows
"""

_HAS_COOCCURRENCE = f"""
CALL db.relationshipTypes() YIELD relationshipType
RETURN [{{present: '{COOCCURRENCE_REL}' IN collect(relationshipType)}}] AS rows
"""

_ENTITY = """
MATCH (e:Entity {id: $id})
RETURN [{id: e.id, name: e.name, type: e.type}] AS rows
"""

_TRAIL = """
UNWIND $keys AS k
CALL (k) {
  MATCH (ev:Evidence {relation_key: k})-[:FROM]->(p:Publication)
  WHERE ($until IS NULL OR p.year <= $until) AND ($since IS NULL OR p.year >= $since)
  RETURN ev.sentence AS sentence, ev.score AS score, p.pmid AS pmid, p.year AS year
  ORDER BY score DESC, year, pmid
  LIMIT $per_edge
}
RETURN collect({key: k, sentence: sentence, score: score, pmid: pmid, year: year}) AS rows
"""


def _read(session: Any, query: str, **params: Any) -> list[dict[str, Any]]:
    """The ``rows`` list of a query's one record (none: an empty list)."""

    def work(tx: Any) -> list[dict[str, Any]]:
        record = tx.run(query, params).single()
        return list(record["rows"]) if record is not None else []

    return session.execute_read(work)


def _lookup_entity(session: Any, entity_id: str) -> dict[str, Any]:
    rows = _read(session, _ENTITY, id=entity_id)
    if not rows:
        raise HypothesisError(
            f"no entity with id {entity_id!r}",
            hint="find its CURIE with: kg query entity_lookup --param q=<name>",
        )
    return rows[0]


def _windowed_papers(
    rows: list[dict[str, Any]], filters: Filters, session: Any
) -> dict[str, tuple[int, tuple[str, ...]]]:
    """key -> (papers in the window, those PMIDs); the edge's own count when no window."""
    if not filters.windowed:
        return {r["key"]: (int(r["papers"] or 0), tuple(r["pmids"] or ())) for r in rows}
    pmids = sorted({p for r in rows for p in (r["pmids"] or ())})
    years = {r["pmid"]: r["year"] for r in _read(session, _YEARS, pmids=pmids)}
    out: dict[str, tuple[int, tuple[str, ...]]] = {}
    for r in rows:
        kept = tuple(p for p in (r["pmids"] or ()) if filters.in_window(years.get(p)))
        out[r["key"]] = (len(kept), kept)
    return out


def _add_edge(graph: nx.Graph, x: str, y: str, edge: EdgeInfo) -> None:
    if graph.has_edge(x, y):
        data = graph.edges[x, y]
        if all(e.key != edge.key for e in data["edges"]):
            data["edges"].append(edge)
            data["pmids"] |= set(edge.pmids)
            data["papers"] = len(data["pmids"])
    else:
        graph.add_edge(x, y, edges=[edge], pmids=set(edge.pmids), papers=len(edge.pmids))


def _edge_from_row(row: dict[str, Any], papers: tuple[int, tuple[str, ...]]) -> EdgeInfo:
    return EdgeInfo(
        key=row["key"],
        subject=row["subject"],
        object=row["object"],
        predicate=row["predicate"],
        papers=papers[0],
        confidence=row["confidence"],
        first_year=row["first_year"],
        pmids=papers[1],
    )


@dataclass(slots=True)
class Projection:
    """The A-centred subgraph: A, its neighbours, their neighbours; ``direct`` = every entity
    joined to A by any asserted edge in the window (candidates exclude them)."""

    graph: nx.Graph
    source: str
    direct: set[str]
    vias: set[str]


def project(session: Any, a: str, filters: Filters, timings: Timings) -> Projection:
    """Pull A's two-hop neighbourhood with the filters applied, into a networkx graph."""
    import networkx as nx

    with timings.stage("cypher_fetch"):
        source = _lookup_entity(session, a)
        a_rows = _read(session, _A_EDGES, a=a, **filters.cypher_params())
        a_papers = _windowed_papers(a_rows, filters, session)
    with timings.stage("projection"):
        graph = nx.Graph()
        graph.add_node(a, name=source["name"], type=source["type"], role="A")
        direct: set[str] = set()
        for row in a_rows:
            papers = a_papers[row["key"]]
            if papers[0] == 0:
                continue
            direct.add(row["id"])
            allowed = filters.predicates is None or row["rel_type"] in filters.predicates
            if not allowed or papers[0] < filters.min_papers:
                continue
            graph.add_node(row["id"], name=row["name"], type=row["type"])
            _add_edge(graph, a, row["id"], _edge_from_row(row, papers))
        vias = {
            b
            for b in graph.neighbors(a)
            if filters.via_types is None or graph.nodes[b]["type"] in filters.via_types
        }
    with timings.stage("cypher_fetch"):
        b_rows = _read(session, _B_EDGES, ids=sorted(vias), a=a, **filters.cypher_params())
        b_papers = _windowed_papers(b_rows, filters, session)
    with timings.stage("projection"):
        for row in b_rows:
            papers = b_papers[row["key"]]
            if papers[0] < filters.min_papers:
                continue
            if row["id"] not in graph:
                graph.add_node(row["id"], name=row["name"], type=row["type"])
            _add_edge(graph, row["via"], row["id"], _edge_from_row(row, papers))
        # A's edges that only the predicate filter dropped still make A and C "directly linked".
        for b in vias:
            graph.nodes[b]["role"] = "B"
    return Projection(graph, a, direct, vias)


@dataclass(slots=True)
class Hop:
    """One step of an evidence trail: the edges between two entities, with top evidence."""

    source: str
    target: str
    papers: int
    edges: list[dict[str, Any]]


@dataclass(slots=True)
class Hypothesis:
    """A candidate C for A (open discovery) or an intermediate B for A and C (closed)."""

    id: str
    name: str
    type: str
    scores: dict[str, float]
    via: list[str]
    trail: list[list[Hop]] = field(default_factory=list)


@dataclass(slots=True)
class DiscoveryResult:
    """What ``open_discovery`` / ``closed_discovery`` return; ``to_dict`` for JSON."""

    kind: str
    source: dict[str, Any]
    target: dict[str, Any] | None
    measure: str
    filters: Filters
    hypotheses: list[Hypothesis]
    candidates: int
    cooccurrence_source: str
    graph: nx.Graph
    timings: Timings

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "target": self.target,
            "measure": self.measure,
            "filters": asdict(self.filters),
            "candidates": self.candidates,
            "cooccurrence_source": self.cooccurrence_source,
            "hypotheses": [asdict(h) for h in self.hypotheses],
            "timings_ms": {k: round(v, 2) for k, v in self.timings.stages.items()},
        }


def _cooccurrence(
    session: Any, a: str, ids: list[str], filters: Filters
) -> tuple[dict[str, tuple[int, int, int, int]], str]:
    """(n_ac, n_a, n_c, N) per candidate, and where n_ac came from."""
    params = {"since": filters.since_year, "until": filters.until_year}
    total = _read(session, _PUBLICATIONS, **params)[0]["n"]
    counts = {r["id"]: r["n"] for r in _read(session, _MENTION_COUNTS, ids=[a, *ids], **params)}
    use_edges = not filters.windowed and _read(session, _HAS_COOCCURRENCE)[0]["present"]
    if use_edges:
        pairs = {r["id"]: r["n"] for r in _read(session, _CO_OCCURS, a=a, ids=ids)}
        origin = COOCCURRENCE_REL
    else:
        pairs = {r["id"]: r["n"] for r in _read(session, _CO_MENTIONS, a=a, ids=ids, **params)}
        origin = "MENTIONS"
    n_a = counts.get(a, 0)
    return {c: (pairs.get(c, 0), n_a, counts.get(c, 0), total) for c in ids}, origin


def _candidate_degrees(
    session: Any, graph: nx.Graph, source: str, ids: list[str], filters: Filters
) -> dict[str, int]:
    """Set each candidate's true (filtered) degree on the projection, which holds only part of
    its neighbourhood, and return ``|N(A) ∩ N(C)|`` per candidate (for Jaccard)."""
    around = list(graph.neighbors(source))
    rows = _read(session, _DEGREES, ids=ids, around=around, **filters.cypher_params())
    graph.nodes[source]["degree"] = len(around)
    common: dict[str, int] = {}
    for r in rows:
        graph.nodes[r["id"]]["degree"] = r["degree"]
        common[r["id"]] = r["common"]
    return common


def _check_measure(measure: str) -> None:
    if measure not in MEASURES:
        raise HypothesisError(f"unknown measure {measure!r}", hint=f"use one of {MEASURES}")


def _rank_key(measure: str, scores: dict[str, float], ident: str) -> tuple[float, ...]:
    """Descending by the measure, then by the others in table order, then by id."""
    return (-scores[measure], *(-scores[m] for m in MEASURES if m != measure), 0.0)


def open_discovery(
    driver: neo4j.Driver,
    database: str,
    source: str,
    *,
    filters: Filters | None = None,
    measure: str = DEFAULT_MEASURE,
    limit: int = 20,
    trail_hops: int = 3,
    evidence_per_edge: int = 2,
) -> DiscoveryResult:
    """Candidates C for ``source`` (A): two hops away through the filtered graph, not directly
    linked to A, ranked by ``measure``; each with its best intermediates and their evidence."""
    _check_measure(measure)
    filters = filters or Filters()
    timings = Timings()
    with driver.session(database=database, default_access_mode="READ") as session:
        proj = project(session, source, filters, timings)
        graph = proj.graph
        with timings.stage("scoring"):
            via_of: dict[str, list[str]] = defaultdict(list)
            for b in proj.vias:
                for c in graph.neighbors(b):
                    if c == source or c in proj.direct:
                        continue
                    if filters.target_types and graph.nodes[c]["type"] not in filters.target_types:
                        continue
                    via_of[c].append(b)
            candidates = sorted(via_of)
        with timings.stage("cypher_fetch"):
            common = _candidate_degrees(session, graph, source, candidates, filters)
            cooc, origin = _cooccurrence(session, source, candidates, filters)
        with timings.stage("scoring"):
            scored = []
            for c in candidates:
                scores = score_pair(graph, source, c, via_of[c], cooc=cooc[c], common=common.get(c))
                scored.append((_rank_key(measure, scores, c), c, scores))
            scored.sort(key=lambda t: (t[0], t[1]))
            hypotheses = [
                Hypothesis(
                    id=c,
                    name=graph.nodes[c]["name"],
                    type=graph.nodes[c]["type"],
                    scores={k: round(v, 6) for k, v in scores.items()},
                    via=_best_vias(graph, source, c, via_of[c]),
                )
                for _, c, scores in scored[:limit]
            ]
        paths = [(h, [source, b, h.id]) for h in hypotheses for b in h.via[:trail_hops]]
        _attach_trails(session, graph, paths, filters, evidence_per_edge, timings)
    return DiscoveryResult(
        kind="open",
        source={"id": source, **{k: graph.nodes[source][k] for k in ("name", "type")}},
        target=None,
        measure=measure,
        filters=filters,
        hypotheses=hypotheses,
        candidates=len(candidates),
        cooccurrence_source=origin,
        graph=graph,
        timings=timings,
    )


def _best_vias(graph: nx.Graph, a: str, c: str, vias: list[str]) -> list[str]:
    """Intermediates by the weaker hop's papers, then Adamic–Adar weight, then id."""
    return sorted(
        vias,
        key=lambda b: (
            -min(_papers(graph, a, b), _papers(graph, b, c)),
            _deg(graph, b),
            b,
        ),
    )


def _attach_trails(
    session: Any,
    graph: nx.Graph,
    paths: list[tuple[Hypothesis, list[str]]],
    filters: Filters,
    per_edge: int,
    timings: Timings,
) -> None:
    """Give each hypothesis its paths (node lists) as hops with the top evidence of each edge."""
    with timings.stage("evidence_trail"):
        keys = sorted(
            {
                e.key
                for _, nodes in paths
                for x, y in zip(nodes, nodes[1:], strict=False)
                for e in graph.edges[x, y]["edges"]
            }
        )
        evidence: dict[str, list[dict[str, Any]]] = defaultdict(list)
        if keys and per_edge > 0:
            rows = _read(
                session,
                _TRAIL,
                keys=keys,
                per_edge=per_edge,
                since=filters.since_year,
                until=filters.until_year,
            )
            for r in rows:
                evidence[r.pop("key")].append(r)
        for h, nodes in paths:
            h.trail.append(
                [_hop(graph, x, y, evidence) for x, y in zip(nodes, nodes[1:], strict=False)]
            )


def _hop(graph: nx.Graph, x: str, y: str, evidence: dict[str, list[dict[str, Any]]]) -> Hop:
    data = graph.edges[x, y]
    return Hop(
        source=x,
        target=y,
        papers=data["papers"],
        edges=[
            {
                "key": e.key,
                "predicate": e.predicate,
                "subject": e.subject,
                "object": e.object,
                "papers": e.papers,
                "confidence": e.confidence,
                "first_year": e.first_year,
                "pmids": list(e.pmids[:10]),
                "evidence": evidence.get(e.key, []),
            }
            for e in data["edges"]
        ],
    )


def closed_discovery(
    driver: neo4j.Driver,
    database: str,
    source: str,
    target: str,
    *,
    filters: Filters | None = None,
    limit: int = 50,
    evidence_per_edge: int = 2,
) -> DiscoveryResult:
    """The intermediates B joining ``source`` (A) and ``target`` (C), strongest first, with the
    evidence of both hops; ``scores`` holds the pair's measures and each B's share of them."""
    filters = filters or Filters()
    timings = Timings()
    with driver.session(database=database, default_access_mode="READ") as session:
        target_info = _lookup_entity(session, target)
        proj = project(session, source, filters, timings)
        graph = proj.graph
        with timings.stage("scoring"):
            vias = [b for b in proj.vias if graph.has_edge(b, target)] if target in graph else []
        with timings.stage("cypher_fetch"):
            if target not in graph:
                graph.add_node(target, name=target_info["name"], type=target_info["type"])
            common = _candidate_degrees(session, graph, source, [target], filters).get(target)
            cooc, origin = _cooccurrence(session, source, [target], filters)
        with timings.stage("scoring"):
            graph.nodes[target]["role"] = "C"
            pair = score_pair(graph, source, target, vias, cooc=cooc[target], common=common)
            hypotheses = []
            for b in _best_vias(graph, source, target, vias)[:limit]:
                share = score_pair(graph, source, target, [b], cooc=cooc[target], common=common)
                share["jaccard"] = pair["jaccard"]
                hypotheses.append(
                    Hypothesis(
                        id=b,
                        name=graph.nodes[b]["name"],
                        type=graph.nodes[b]["type"],
                        scores={k: round(v, 6) for k, v in share.items()},
                        via=[b],
                    )
                )
        paths = [(h, [source, h.id, target]) for h in hypotheses]
        _attach_trails(session, graph, paths, filters, evidence_per_edge, timings)
    return DiscoveryResult(
        kind="closed",
        source={"id": source, **{k: graph.nodes[source][k] for k in ("name", "type")}},
        target={
            **target_info,
            "scores": {k: round(v, 6) for k, v in pair.items()},
            "direct": target in proj.direct,
        },
        measure="evidence",
        filters=filters,
        hypotheses=hypotheses,
        candidates=len(vias),
        cooccurrence_source=origin,
        graph=graph,
        timings=timings,
    )


# ---------------------------------------------------------------------------------------------
# Time-sliced evaluation.

_ALL_EDGES = f"""
MATCH (s:Entity)-[r:{ASSERTED}]->(o:Entity)
RETURN collect({{subject: s.id, subject_type: s.type, subject_name: s.name, object: o.id,
       object_type: o.type, object_name: o.name, rel_type: type(r), key: r.key,
       predicate: r.predicate, pmids: r.pmids, confidence: r.confidence}}) AS rows
"""

_ALL_YEARS = "MATCH (p:Publication) RETURN collect({pmid: p.pmid, year: p.year}) AS rows"

_MENTIONS_UNTIL = """
UNWIND $ids AS id
MATCH (e:Entity {id: id})<-[:MENTIONS]-(p:Publication)
WHERE p.year <= $until
WITH id, collect(p.pmid) AS pmids
RETURN collect({id: id, pmids: pmids}) AS rows
"""


@dataclass(slots=True)
class EvaluationResult:
    """Per measure: ROC AUC, average precision and precision@k against the later pairs."""

    cutoff_year: int
    filters: Filters
    source_types: tuple[str, ...] | None
    sources: int
    candidates: int
    positives: int
    new_pairs: int
    new_pairs_reachable: int
    base_rate: float
    ks: tuple[int, ...]
    metrics: dict[str, dict[str, float]]
    timings: Timings
    #: Every scored pair (``keep_pairs=True``): source, target, label, scores.
    pairs: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["timings_ms"] = {k: round(v, 2) for k, v in self.timings.stages.items()}
        del out["timings"]
        return out


def ranking_metrics(
    scores: list[float], labels: list[bool], ks: Iterable[int], tiebreak: list[int] | None = None
) -> dict[str, float]:
    """ROC AUC (ties count one half), average precision and precision@k of a ranking.

    AUC is the Mann–Whitney statistic over average ranks, so tied scores are neither rewarded
    nor punished. Precision@k and AP order by score, ties by ``tiebreak`` (a fixed hash of the
    pair, so equal scores land in an arbitrary but reproducible order).
    """
    n = len(scores)
    n_pos = sum(labels)
    n_neg = n - n_pos
    out: dict[str, float] = {}
    order = sorted(range(n), key=lambda i: scores[i])
    ranks = [0.0] * n
    i = 0
    while i < n:
        j = i
        while j + 1 < n and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for t in range(i, j + 1):
            ranks[order[t]] = (i + j) / 2 + 1
        i = j + 1
    if n_pos and n_neg:
        pos_rank_sum = sum(r for r, y in zip(ranks, labels, strict=True) if y)
        out["roc_auc"] = (pos_rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    else:
        out["roc_auc"] = float("nan")
    ties = tiebreak or list(range(n))
    ranking = sorted(range(n), key=lambda i: (-scores[i], ties[i]))
    hits = 0
    ap = 0.0
    for position, idx in enumerate(ranking, start=1):
        if labels[idx]:
            hits += 1
            ap += hits / position
    out["average_precision"] = ap / n_pos if n_pos else float("nan")
    for k in ks:
        top = ranking[:k]
        out[f"p@{k}"] = sum(labels[i] for i in top) / k if k > 0 else float("nan")
    return out


def evaluate(
    driver: neo4j.Driver,
    database: str,
    cutoff_year: int,
    *,
    filters: Filters | None = None,
    source_types: Iterable[str] = (),
    ks: Iterable[int] = (10, 50, 100),
    max_sources: int | None = None,
    keep_pairs: bool = False,
) -> EvaluationResult:
    """Rank every candidate pair of the graph as it was at ``cutoff_year`` and score each measure
    against the pairs first connected after it.

    Candidate pairs: A of ``source_types`` (any type when empty) and C of the filters'
    ``target_types``, joined through at least one intermediate of ``via_types``, with no asserted
    edge (any predicate) between them by the cutoff. A positive is a candidate pair whose first
    edge with the filtered predicates has its first paper after the cutoff. ``max_sources``
    evaluates a fixed, hash-chosen subset of sources on a large graph.
    """
    import networkx as nx

    from kg.schema import parse_entity_type

    base = filters or Filters()
    # The graph "as of" the cutoff: evidence up to and including the cutoff year.
    filters = Filters(
        base.predicates,
        base.via_types,
        base.target_types,
        base.since_year,
        cutoff_year,
        base.min_papers,
    )
    sources_allowed = tuple(sorted({parse_entity_type(t).value for t in source_types})) or None
    ks = tuple(ks)
    timings = Timings()
    with driver.session(database=database, default_access_mode="READ") as session:
        with timings.stage("cypher_fetch"):
            years = {r["pmid"]: r["year"] for r in _read(session, _ALL_YEARS)}
            edge_rows = _read(session, _ALL_EDGES)
        with timings.stage("projection"):
            graph = nx.Graph()
            direct: dict[str, set[str]] = defaultdict(set)
            first_year: dict[frozenset[str], int] = {}
            entity_type: dict[str, str] = {}
            for row in edge_rows:
                s, o = row["subject"], row["object"]
                entity_type[s], entity_type[o] = row["subject_type"], row["object_type"]
                dated = [y for p in row["pmids"] or () if (y := years.get(p)) is not None]
                if not dated:
                    continue
                kept = tuple(p for p in row["pmids"] if filters.in_window(years.get(p)))
                if kept:
                    direct[s].add(o)
                    direct[o].add(s)
                if filters.predicates and row["rel_type"] not in filters.predicates:
                    continue
                pair = frozenset((s, o))
                first_year[pair] = min(first_year.get(pair, 9999), min(dated))
                if len(kept) < filters.min_papers:
                    continue
                graph.add_node(s, type=row["subject_type"], name=row["subject_name"])
                graph.add_node(o, type=row["object_type"], name=row["object_name"])
                edge = EdgeInfo(
                    row["key"],
                    s,
                    o,
                    row["predicate"],
                    len(kept),
                    row["confidence"],
                    min(dated),
                    kept,
                )
                _add_edge(graph, s, o, edge)
            sources = sorted(
                n
                for n, t in graph.nodes(data="type")
                if sources_allowed is None or t in sources_allowed
            )
            if max_sources is not None and len(sources) > max_sources:
                sources = sorted(sources, key=lambda n: zlib.crc32(n.encode()))[:max_sources]
                sources.sort()
        with timings.stage("candidates"):
            via_of: dict[tuple[str, str], list[str]] = defaultdict(list)
            source_set = set(sources)
            for a in sources:
                for b in graph.neighbors(a):
                    if filters.via_types and graph.nodes[b]["type"] not in filters.via_types:
                        continue
                    for c in graph.neighbors(b):
                        if c == a or c in direct[a]:
                            continue
                        if (
                            filters.target_types
                            and graph.nodes[c]["type"] not in filters.target_types
                        ):
                            continue
                        if (
                            c in source_set
                            and c < a
                            and (
                                filters.target_types is None
                                or graph.nodes[a]["type"] in filters.target_types
                            )
                        ):
                            continue  # the pair (c, a) is scored from c's side
                        via_of[(a, c)].append(b)
            pairs = sorted(via_of)
        with timings.stage("cypher_fetch"):
            ids = sorted({x for pair in pairs for x in pair})
            mentions = {
                r["id"]: set(r["pmids"])
                for r in _read(session, _MENTIONS_UNTIL, until=cutoff_year, ids=ids)
            }
            total = _read(session, _PUBLICATIONS, since=None, until=cutoff_year)[0]["n"]
        with timings.stage("scoring"):
            labels: list[bool] = []
            kept: list[dict[str, Any]] = []
            table: dict[str, list[float]] = {m: [] for m in MEASURES}
            empty: set[str] = set()
            for a, c in pairs:
                ma, mc = mentions.get(a, empty), mentions.get(c, empty)
                cooc = (len(ma & mc), len(ma), len(mc), total)
                common = None
                if filters.via_types:
                    common = len(set(graph.adj[a]) & set(graph.adj[c]))
                scores = score_pair(graph, a, c, via_of[(a, c)], cooc=cooc, common=common)
                for m in MEASURES:
                    table[m].append(scores[m])
                labels.append(first_year.get(frozenset((a, c)), 0) > cutoff_year)
                if keep_pairs:
                    kept.append({"source": a, "target": c, "label": labels[-1], **scores})
            tiebreak = [zlib.crc32(f"{a}\x1f{c}".encode()) for a, c in pairs]
            metrics = {m: ranking_metrics(table[m], labels, ks, tiebreak) for m in MEASURES}
        new_pairs, reachable = _new_pairs(
            first_year, entity_type, graph, cutoff_year, sources_allowed, filters.target_types
        )
    positives = sum(labels)
    return EvaluationResult(
        cutoff_year=cutoff_year,
        filters=filters,
        source_types=sources_allowed,
        sources=len(sources),
        candidates=len(pairs),
        positives=positives,
        new_pairs=new_pairs,
        new_pairs_reachable=reachable,
        base_rate=positives / len(pairs) if pairs else float("nan"),
        ks=ks,
        metrics=metrics,
        timings=timings,
        pairs=kept,
    )


def _new_pairs(
    first_year: dict[frozenset[str], int],
    entity_type: dict[str, str],
    graph: nx.Graph,
    cutoff_year: int,
    source_types: tuple[str, ...] | None,
    target_types: tuple[str, ...] | None,
) -> tuple[int, int]:
    """Pairs of the asked types first connected after the cutoff, and how many of them had
    both ends in the graph at the cutoff (the rest no ranking could have proposed)."""

    def fits(x: str, y: str) -> bool:
        return (source_types is None or entity_type[x] in source_types) and (
            target_types is None or entity_type[y] in target_types
        )

    new = reachable = 0
    for pair, year in first_year.items():
        if year <= cutoff_year or len(pair) != 2:
            continue
        a, c = sorted(pair)
        if fits(a, c) or fits(c, a):
            new += 1
            reachable += a in graph and c in graph
    return new, reachable
