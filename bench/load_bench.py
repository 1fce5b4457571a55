"""Online loader benchmark (not a test): relationships/s into a real Neo4j.

Runs against its own managed Neo4j (separate home and ports, emptied first), never the user's
graph. Two workloads:

1. BioRED train + dev in pre-annotated mode (real documents, real annotations);
2. a generated graph of about ``--relationships`` relationships (MENTIONS, FROM and asserted
   edges together), from synthetic documents shaped like abstracts.

Reference, measured in the same run on the same server: ``UNWIND $rows CREATE`` of the same
number of bare relationships between existing nodes — the raw write ceiling — so the figure
reads as a ratio that does not depend on the machine.

    .venv/bin/python bench/load_bench.py --relationships 1000000
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kg.config import load_settings  # noqa: E402
from kg.model import AnnotatedRelation, Document, Mention  # noqa: E402
from kg.pipeline import ingest  # noqa: E402
from kg.readers import read_path  # noqa: E402
from kg.schema import EntityType, RelationType  # noqa: E402
from loaders.neo4j import server  # noqa: E402
from loaders.neo4j.connection import open_driver  # noqa: E402
from loaders.neo4j.sink import Neo4jSink  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
PAIRS = [
    (EntityType.CHEMICAL, EntityType.DISEASE),
    (EntityType.GENE, EntityType.DISEASE),
    (EntityType.CHEMICAL, EntityType.GENE),
    (EntityType.GENE, EntityType.GENE),
]
PREFIX = {
    EntityType.CHEMICAL: "MESH:C9",
    EntityType.DISEASE: "MESH:D9",
    EntityType.GENE: "NCBIGene:9",
}


def synthetic_docs(n_docs: int, pool: int, seed: int = 7):
    """Documents with 8 mentions and 6 relations each, over ``pool`` entities per type."""
    rng = random.Random(seed)
    for i in range(n_docs):
        parts, mentions, relations, offset = [], [], [], 0
        for a_type, b_type in rng.sample(PAIRS, 4):
            for etype in (a_type, b_type):
                eid = f"{PREFIX[etype]}{rng.randrange(pool):06d}"
                name = f"{etype.value.lower()}{eid.split(':')[1]}"
                parts.append(name)
                mentions.append(Mention(offset, offset + len(name), name, etype, (eid,)))
                offset += len(name) + 1
        ids = [m.ids[0] for m in mentions]
        for j in range(0, 8, 2):
            relations.append(AnnotatedRelation(RelationType.ASSOCIATION, ids[j], ids[j + 1]))
        relations.append(AnnotatedRelation(RelationType.POSITIVE_CORRELATION, ids[0], ids[3]))
        relations.append(AnnotatedRelation(RelationType.BIND, ids[4], ids[6]))
        text = " ".join(parts)
        title, abstract = text, ""
        yield Document(
            pmid=str(80_000_000 + i),
            title=title,
            abstract=abstract,
            pub_date=str(1990 + i % 35),
            mentions=tuple(mentions),
            relations=tuple(relations),
        )


def empty(driver) -> None:
    with driver.session() as session:  # CALL ... IN TRANSACTIONS needs an implicit transaction
        session.run(
            "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"
        ).consume()


def timed_ingest(settings, items, batch_size: int, tmp: Path) -> dict:
    t0 = time.perf_counter()
    report = ingest(
        items,
        Neo4jSink(settings),
        quarantine_path=tmp / "bench-quarantine.jsonl",
        batch_size=batch_size,
        use_annotations=True,
    )
    wall = time.perf_counter() - t0
    rels = report.sink.get("relationships_created", 0)
    return {
        "documents": report.read,
        "relationships_created": rels,
        "nodes_created": report.sink.get("nodes_created", 0),
        "seconds": round(wall, 2),
        "relationships_per_s": round(rels / wall),
        "documents_per_s": round(report.read / wall, 1),
    }


def reference_create(driver, n_rels: int, n_nodes: int = 10_000, chunk: int = 20_000) -> dict:
    """Raw ceiling: bare CREATE of relationships between existing nodes, same batch style."""
    empty(driver)
    driver.execute_query("UNWIND range(0, $n - 1) AS i CREATE (:Ref {i: i})", n=n_nodes)
    driver.execute_query("CREATE INDEX ref_i IF NOT EXISTS FOR (n:Ref) ON (n.i)")
    driver.execute_query("CALL db.awaitIndexes()")
    rng = random.Random(1)
    t0 = time.perf_counter()
    done = 0
    while done < n_rels:
        rows = [
            {"a": rng.randrange(n_nodes), "b": rng.randrange(n_nodes)}
            for _ in range(min(chunk, n_rels - done))
        ]
        driver.execute_query(
            "UNWIND $rows AS row MATCH (a:Ref {i: row.a}) MATCH (b:Ref {i: row.b}) "
            "CREATE (a)-[:REF]->(b)",
            rows=rows,
        )
        done += len(rows)
    wall = time.perf_counter() - t0
    empty(driver)
    driver.execute_query("DROP INDEX ref_i IF EXISTS")
    return {
        "relationships": n_rels,
        "seconds": round(wall, 2),
        "relationships_per_s": round(n_rels / wall),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--relationships", type=int, default=1_000_000)
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--bolt-port", type=int, default=27687)
    ap.add_argument("--http-port", type=int, default=27474)
    ap.add_argument("--out", type=Path, default=Path("bench/results/load_bench.json"))
    args = ap.parse_args()

    base = load_settings()
    settings = load_settings(
        overrides={
            "neo4j": {
                "home": str(base.data_dir / "bench-neo4j"),
                "bolt_port": args.bolt_port,
                "http_port": args.http_port,
                "heap": "2g",
                "pagecache": "1g",
            }
        }
    )
    tmp = base.data_dir / "bench-tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    server.start(settings)
    driver = open_driver(settings)
    results: dict = {"batch_size": args.batch_size}
    try:
        empty(driver)
        biored = [SHARED / "corpora/biored/train.pubtator", SHARED / "corpora/biored/dev.pubtator"]
        items = [x for p in biored for x in read_path(p)]
        results["biored_train_dev"] = timed_ingest(settings, items, args.batch_size, tmp)
        print("BioRED:", results["biored_train_dev"], flush=True)

        empty(driver)
        n_docs = args.relationships // 20  # ~20 relationships per synthetic document
        pool = max(1000, n_docs // 4)
        results["generated"] = timed_ingest(
            settings, synthetic_docs(n_docs, pool), args.batch_size, tmp
        )
        print("generated:", results["generated"], flush=True)
        again = timed_ingest(settings, synthetic_docs(n_docs, pool), args.batch_size, tmp)
        results["generated_reload_unchanged"] = again
        print("reload (unchanged):", again, flush=True)

        results["reference_bare_create"] = reference_create(
            driver, results["generated"]["relationships_created"]
        )
        print("reference:", results["reference_bare_create"], flush=True)
        results["ratio_loader_to_bare_create"] = round(
            results["generated"]["relationships_per_s"]
            / results["reference_bare_create"]["relationships_per_s"],
            3,
        )
        results["peak_rss_mb_client"] = round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        )
    finally:
        driver.close()
        server.stop(settings)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
