"""Query and hypothesis benchmark (not a test): latency of the named queries and of discovery.

Runs against the graph the settings name (``KG_NEO4J__BOLT_PORT``, ``NEO4J_URI`` ... exactly as
``kg`` does), so it can be rerun on any graph, e.g. the baseline graph once it exists::

    .venv/bin/python bench/query_bench.py                 # the configured graph
    .venv/bin/python bench/query_bench.py build-graph     # load the dated annotated corpora first

``build-graph`` loads the annotated corpora (BioRED, BC5CDR with relations; the AIONER NER sets
for mentions) into the configured graph. PubTator files carry no dates, so each document gets a
publication year *estimated from its PMID*: PMIDs are assigned in time order, and the PMID → year
pairs of the PubMed baseline files in ``shared/data/pubmed/baseline`` give a monotone
interpolation. The years are an approximation (a year or two) that makes time-sliced evaluation
possible on a graph whose sources have no dates; the baseline graph has real ones.

Measured: every library query (20 runs each, parameters drawn from the graph), open discovery
from a well-connected chemical (20 runs, with the time split into Cypher fetch, projection and
scoring), closed discovery, and one time-sliced evaluation. Results are appended to
``bench/results/query_bench.json``.
"""

from __future__ import annotations

import argparse
import bisect
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kg.config import Settings, load_settings  # noqa: E402
from kg.model import Document  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
RESULTS = Path(__file__).resolve().parent / "results"

#: Relation-annotated corpora first: a PMID that occurs twice keeps its first (richest) record.
BENCH_CORPORA = (
    "corpora/biored/train.pubtator",
    "corpora/biored/dev.pubtator",
    "corpora/bc5cdr/train.pubtator",
    "corpora/bc5cdr/dev.pubtator",
    "corpora/aioner/BioID_Train_revision.PubTator",
    "corpora/aioner/NLMchem_Test.PubTator",
    "corpora/aioner/GNormPlus_Train.PubTator",
    "corpora/aioner/NLMgene_Train.PubTator",
    "corpora/aioner/tmVar3_Train.PubTator",
    "corpora/aioner/Linnaeus_Train.PubTator",
    "corpora/aioner/SPECIES_Train.PubTator",
)


def pmid_year_anchors(baseline: Path) -> tuple[list[int], list[float]]:
    """Monotone (PMID, year) anchors: the median year of each million PMIDs in the baseline."""
    from kg.readers import read_path

    buckets: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for path in sorted(baseline.glob("*.xml*")):
        for item in read_path(path):
            if isinstance(item, Document) and item.year and item.pmid.isdigit():
                buckets[int(item.pmid) // 1_000_000].append((int(item.pmid), item.year))
    pmids: list[int] = []
    years: list[float] = []
    for key in sorted(buckets):
        rows = sorted(buckets[key])
        pmid = rows[len(rows) // 2][0]
        year = float(statistics.median(y for _, y in rows))
        pmids.append(pmid)
        years.append(max(year, years[-1]) if years else year)  # monotone
    return pmids, years


def estimate_year(pmid: int, anchors: tuple[list[int], list[float]]) -> int:
    """Linear interpolation between the anchors, clamped at both ends."""
    xs, ys = anchors
    i = bisect.bisect_left(xs, pmid)
    if i == 0:
        return int(ys[0])
    if i == len(xs):
        return int(ys[-1])
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    return int(round(y0 + (y1 - y0) * (pmid - x0) / (x1 - x0)))


def dated_documents(anchors: tuple[list[int], list[float]]) -> Iterator[Document]:
    from kg.readers import read_path

    seen: set[str] = set()
    for rel in BENCH_CORPORA:
        path = SHARED / rel
        if not path.exists():
            print(f"skipping missing {path}", file=sys.stderr)
            continue
        for item in read_path(path, "pubtator"):
            if not isinstance(item, Document) or item.pmid in seen or not item.pmid.isdigit():
                continue
            seen.add(item.pmid)
            yield replace(item, pub_date=str(estimate_year(int(item.pmid), anchors)))


def build_graph(settings: Settings) -> dict[str, Any]:
    """Load the dated corpora into the configured graph (idempotent: a rerun changes nothing)."""
    from kg.pipeline import ingest
    from loaders.base import get_sink

    started = time.perf_counter()
    anchors = pmid_year_anchors(SHARED / "pubmed" / "baseline")
    report = ingest(
        dated_documents(anchors),
        get_sink("neo4j", settings),
        quarantine_path=Path("/tmp/kg-bench-quarantine.jsonl"),
        batch_size=settings.load.batch_size,
        use_annotations=True,
    )
    return {"documents": report.read, "sink": report.sink, "seconds": time.perf_counter() - started}


def cpu_calibration() -> float:
    """Seconds for 3M iterations of a Python loop: ~0.1 s on an idle modern core. Read every
    figure here relative to it (the machine may be shared)."""
    started = time.perf_counter()
    x = 0
    for i in range(3_000_000):
        x += i
    return time.perf_counter() - started


def timed(fn: Any, runs: int) -> dict[str, Any]:
    """One warm-up call (query planning, caches), then ``runs`` timed calls."""
    result = fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(1000 * (time.perf_counter() - started))
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(times[-1], 1),
        "result": result,
    }


_PICK = """
CALL () {
  MATCH (c:Chemical)-[r]-(:Entity)
  RETURN c.id AS chemical, c.name AS chemical_name, count(r) AS d ORDER BY d DESC, chemical LIMIT 1
}
CALL () {
  MATCH (d:Disease)<-[r:CAUSES|TREATS]-(:Chemical)
  RETURN d.id AS disease, count(r) AS n1 ORDER BY n1 DESC, disease LIMIT 1
}
CALL () {
  MATCH (d:Disease)-[r]-(:Gene)
  RETURN d.id AS gene_disease, count(r) AS n2 ORDER BY n2 DESC, gene_disease LIMIT 1
}
CALL () {
  MATCH (g:Gene)-[r]-(:Entity)
  RETURN g.id AS gene, count(r) AS n3 ORDER BY n3 DESC, gene LIMIT 1
}
CALL () {
  MATCH (s:Entity)-[r]->(o:Entity) WHERE r.evidence_count IS NOT NULL
  RETURN s.id AS subject, o.id AS object ORDER BY r.evidence_count DESC, subject LIMIT 1
}
CALL () { MATCH (p:Publication) RETURN max(p.year) AS last_year }
RETURN chemical, chemical_name, disease, gene_disease, gene, subject, object, last_year
"""


def fetch_rates(driver: Any, database: str) -> dict[str, float]:
    """Rows/s of the same rows as separate records and as one collected list."""
    query = "MATCH (p:Publication) RETURN p.pmid AS pmid, p.year AS year"
    collected = "MATCH (p:Publication) RETURN collect([p.pmid, p.year]) AS rows"
    with driver.session(database=database) as session:
        started = time.perf_counter()
        n = len(session.run(query).values())
        records = n / (time.perf_counter() - started)
        started = time.perf_counter()
        n = len(session.run(collected).single()["rows"])
        lists = n / (time.perf_counter() - started)
    return {"rows": n, "records_rows_per_s": round(records), "collect_rows_per_s": round(lists)}


def run_bench(settings: Settings, runs: int, cutoff_year: int | None) -> dict[str, Any]:
    from loaders.neo4j.connection import open_driver
    from loaders.rdf.graph import GraphPages
    from queries.hypotheses import Filters, closed_discovery, evaluate, open_discovery
    from queries.library import library, run_named

    driver = open_driver(settings)
    db = settings.neo4j.database
    out: dict[str, Any] = {
        "graph": settings.bolt_uri,
        "counts": GraphPages(driver, db).counts(),
        "cpu_calibration_s": round(cpu_calibration(), 3),
        "runs": runs,
    }
    with driver.session(database=db) as session:
        pick = session.run(_PICK).single().data()
    out["parameters_from_graph"] = pick
    params = {
        "entity_lookup": {"q": pick["chemical_name"]},
        "neighbours": {"id": pick["chemical"]},
        "edge_evidence": {"subject": pick["subject"], "object": pick["object"]},
        "chemicals_for_disease": {"disease": pick["disease"]},
        "genes_for_disease": {"disease": pick["gene_disease"]},
        "shortest_paths": {"source": pick["chemical"], "target": pick["gene"]},
        "new_since": {"since": str(pick["last_year"] - 3)},
        "co_mentioned": {"id": pick["chemical"]},
    }
    queries: dict[str, Any] = {}
    for name in library():
        given = params.get(name, {})
        t = timed(lambda n=name, g=given: run_named(driver, db, n, g)[1], runs)
        queries[name] = {**{k: v for k, v in t.items() if k != "result"}, "rows": len(t["result"])}
        queries[name]["params"] = given
    out["queries"] = queries

    discovery: dict[str, Any] = {}
    for label, filters in (
        ("open, any target", Filters()),
        ("open, target Disease", Filters.build(target_types=["Disease"])),
    ):
        t = timed(lambda f=filters: open_discovery(driver, db, pick["chemical"], filters=f), runs)
        result = t.pop("result")
        discovery[label] = {
            **t,
            "candidates": result.candidates,
            "stages_ms_last_run": {k: round(v, 1) for k, v in result.timings.stages.items()},
        }
    top = open_discovery(driver, db, pick["chemical"]).hypotheses
    if top:
        t = timed(lambda: closed_discovery(driver, db, pick["chemical"], top[0].id), runs)
        result = t.pop("result")
        discovery["closed"] = {**t, "target": top[0].id, "intermediates": result.candidates}
    out["discovery"] = discovery
    out["fetch"] = fetch_rates(driver, db)

    if cutoff_year is not None:
        started = time.perf_counter()
        ev = evaluate(driver, db, cutoff_year, filters=Filters(), ks=(10, 50, 100))
        out["evaluation"] = {**ev.to_dict(), "seconds": round(time.perf_counter() - started, 2)}
        ev2 = evaluate(
            driver,
            db,
            cutoff_year,
            filters=Filters.build(target_types=["Disease"]),
            source_types=["Chemical"],
            ks=(10, 50, 100),
        )
        out["evaluation_chemical_disease"] = ev2.to_dict()
    driver.close()
    return out


def markdown(result: dict[str, Any]) -> str:
    lines = ["| query | rows | p50 ms | p95 ms | max ms |", "|---|---|---|---|---|"]
    for name, q in result["queries"].items():
        lines.append(f"| `{name}` | {q['rows']} | {q['p50_ms']} | {q['p95_ms']} | {q['max_ms']} |")
    for name, d in result["discovery"].items():
        rows = d.get("candidates", d.get("intermediates"))
        lines.append(f"| {name} | {rows} | {d['p50_ms']} | {d['p95_ms']} | {d['max_ms']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", nargs="?", default="run", choices=("run", "build-graph"))
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--cutoff-year", type=int, default=2005)
    args = parser.parse_args(argv)
    settings = load_settings()
    if args.action == "build-graph":
        print(json.dumps(build_graph(settings), indent=2, default=str))
        return
    result = run_bench(settings, args.runs, args.cutoff_year)
    result["measured_at"] = time.strftime("%Y-%m-%d %H:%M")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "query_bench.json"
    history = json.loads(path.read_text()) if path.exists() else []
    history.append(result)
    path.write_text(json.dumps(history, indent=2, default=str) + "\n")
    print(markdown(result))
    print(json.dumps({k: result[k] for k in ("counts", "cpu_calibration_s", "fetch")}, indent=2))


if __name__ == "__main__":
    main()
