"""Incremental ingestion benchmark (not a test): PubMed files applied in order by a schedule.

Runs against its own managed Neo4j (separate home and ports, emptied first) and its own state
database, never the user's. Steps, as a user would run them:

1. ``kg schedule add pubmed -- updates STAGING --use-annotations``; the first file (baseline,
   30,000 citations) appears in STAGING and the job runs; then the second file (an update,
   20,788 citations and 20 deletions) appears and the job runs again;
2. the job runs a third time: nothing new, nothing changes;
3. a ``--full`` replay of both files (cursor forgotten): every record read again, the graph
   ends where it was;
4. the graph is emptied and the surviving records (last version of each PMID, deletions
   applied, computed here in memory) are loaded from scratch with ``kg.pipeline.ingest``;
   counts of publications, entities, relations and evidence, and a digest of every
   publication's (pmid, version, fingerprint) and every edge's aggregates, must be equal.

PubMed XML carries no annotations, so with ``--use-annotations`` the graph holds publications
only (entities, relations and evidence are 0 on both sides).

    .venv/bin/python bench/incremental_bench.py
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kg.config import load_settings  # noqa: E402
from kg.model import DeletedCitation, Document  # noqa: E402
from kg.pipeline import ingest  # noqa: E402
from kg.readers import read_path  # noqa: E402
from kg.schedule import add_job, run_job  # noqa: E402
from kg.sources import SourceSpec  # noqa: E402
from kg.sources.files import UpdateFilesSource  # noqa: E402
from kg.sources.pull import PullOptions, PullReport, pull  # noqa: E402
from loaders.neo4j import server  # noqa: E402
from loaders.neo4j.connection import open_driver  # noqa: E402
from loaders.neo4j.sink import Neo4jSink  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "pubmed" / "baseline"

COUNTS = """
CALL { MATCH (p:Publication) RETURN count(p) AS publications }
CALL { MATCH (e:Entity) RETURN count(e) AS entities }
CALL { MATCH (:Entity)-[r]->(:Entity) RETURN count(r) AS relations }
CALL { MATCH (v:Evidence) RETURN count(v) AS evidence }
CALL { MATCH ()-[m:MENTIONS]->() RETURN count(m) AS mentions }
RETURN publications, entities, relations, evidence, mentions
"""
PUBLICATIONS = "MATCH (p:Publication) RETURN p.pmid, p.version, p.fingerprint ORDER BY p.pmid"
EDGES = """
MATCH (s:Entity)-[r]->(o:Entity)
RETURN s.id, type(r), o.id, r.pmids, r.paper_count, r.evidence_count, r.first_year,
       r.last_year, r.best_score, r.confidence ORDER BY s.id, type(r), o.id
"""


def snapshot(driver) -> dict:
    """Counts, and digests of every publication's identity and every edge's aggregates."""
    out = driver.execute_query(COUNTS).records[0].data()
    for name, query in (("publications_digest", PUBLICATIONS), ("edges_digest", EDGES)):
        h = hashlib.sha256()
        for record in driver.execute_query(query).records:
            h.update(json.dumps(list(record.values()), default=str).encode())
        out[name] = h.hexdigest()[:16]
    return out


def empty(driver) -> None:
    with driver.session() as session:  # CALL IN TRANSACTIONS needs an implicit transaction
        session.run("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS").consume()


def summary(report: PullReport) -> dict:
    keys = ("status", "units_done", "read", "added", "updated", "unchanged", "deleted",
            "deletions_requested", "failed", "relations_changed", "duration_s")  # fmt: skip
    out = {k: getattr(report, k) for k in keys}
    out["documents_per_s"] = round(report.read / report.duration_s, 1) if report.read else None
    return out


def survivors(files: list[Path]) -> tuple[list[Document], int]:
    """The last version of each PMID over ``files`` in order, deletions applied."""
    kept: dict[str, Document] = {}
    deleted = 0
    for file in files:
        for item in read_path(file, "pubmed"):
            if isinstance(item, DeletedCitation):
                deleted += kept.pop(item.pmid, None) is not None
            elif isinstance(item, Document):
                known = kept.get(item.pmid)
                if known is None or known.version <= item.version:
                    kept[item.pmid] = item
    return list(kept.values()), deleted


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=Path, default=SHARED)
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--bolt-port", type=int, default=27787)
    ap.add_argument("--http-port", type=int, default=27574)
    ap.add_argument("--out", type=Path, default=Path("bench/results/incremental_bench.json"))
    args = ap.parse_args()

    base = load_settings()
    work = base.data_dir / "bench-incremental"
    shutil.rmtree(work / "state", ignore_errors=True)
    staging = work / "staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    settings = load_settings(
        overrides={
            "paths": {"data_dir": str(work / "state")},
            "neo4j": {
                "home": str(work / "neo4j"),
                "bolt_port": args.bolt_port,
                "http_port": args.http_port,
                "heap": "2g",
                "pagecache": "1g",
            },
            "load": {"batch_size": args.batch_size},
        }
    )
    files = sorted(args.files.glob("*.xml.gz"))
    assert len(files) >= 2, f"no PubMed files in {args.files}"
    server.start(settings)
    driver = open_driver(settings)
    results: dict = {"files": [f.name for f in files], "batch_size": args.batch_size}
    try:
        empty(driver)
        options = PullOptions(use_annotations=True)
        add_job(settings, "pubmed", "0 3 * * *",
                ["updates", str(staging), "--use-annotations"],
                SourceSpec("updates", {"path": str(staging)}), options)  # fmt: skip
        began = time.monotonic()
        runs = []
        for file in files:
            (staging / file.name).symlink_to(file)
            runs.append(summary(run_job(settings, "pubmed")))
            print(file.name, runs[-1], flush=True)
        total = time.monotonic() - began
        results["incremental_runs"] = runs
        read = sum(r["read"] for r in runs)
        results["incremental_total"] = {
            "seconds": round(total, 1),
            "documents_read": read,
            "documents_per_s": round(read / total, 1),
        }
        results["incremental_graph"] = incremental = snapshot(driver)
        print("incremental:", incremental, flush=True)

        again = run_job(settings, "pubmed")
        results["scheduled_again"] = summary(again)
        print("scheduled again:", results["scheduled_again"], flush=True)
        everything = PullOptions(use_annotations=True, full=True)
        replay = pull(settings, UpdateFilesSource(staging), everything)
        results["full_replay"] = summary(replay)
        results["full_replay_graph_equal"] = snapshot(driver) == incremental
        print("full replay:", results["full_replay"], flush=True)

        t0 = time.monotonic()
        docs, deleted_in_memory = survivors(files)
        empty(driver)
        scratch = ingest(
            docs,
            Neo4jSink(settings),
            quarantine_path=work / "scratch-quarantine.jsonl",
            batch_size=args.batch_size,
            use_annotations=True,
        )
        wall = time.monotonic() - t0
        results["from_scratch"] = {
            "documents": scratch.read,
            "deleted_before_load": deleted_in_memory,
            "seconds": round(wall, 1),
            "documents_per_s": round(scratch.read / wall, 1),
        }
        results["from_scratch_graph"] = fresh = snapshot(driver)
        results["equal_to_from_scratch"] = fresh == incremental
        print("from scratch:", results["from_scratch"], fresh, flush=True)
        results["peak_rss_mb_client"] = round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        )
    finally:
        driver.close()
        server.stop(settings)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    if not results.get("equal_to_from_scratch"):
        sys.exit("the incremental graph differs from the from-scratch build")


if __name__ == "__main__":
    main()
