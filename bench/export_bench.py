"""RDF export benchmark (not a test): triples/s per format, and the N-Triples round trip.

Runs against the graph the settings name (``KG_NEO4J__BOLT_PORT``, ``NEO4J_URI`` ... exactly as
``kg`` does), so it reruns unchanged on the baseline graph::

    .venv/bin/python bench/export_bench.py [--out-dir /tmp/kg-export-bench]

Measured: ``export_rdf`` to a file in each format (end to end: Neo4j pages, mapping,
serialization, disk), the time split between reading pages and writing, then the N-Triples file
loaded into pyoxigraph (an independent store): its size must equal the triples written, and the
SPARQL counts of entities, asserted edges, reified statements, publications, mentions and
evidence records must equal the Cypher counts. Results are appended to
``bench/results/export_bench.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.query_bench import RESULTS, cpu_calibration  # noqa: E402
from kg.config import load_settings  # noqa: E402


def split_time(driver: Any, database: str) -> dict[str, float]:
    """Seconds reading every page only, and mapping + writing N-Triples to memory only."""
    from loaders.rdf.graph import GraphPages
    from loaders.rdf.triples import entity_block, publication_block, relation_blocks
    from loaders.rdf.writers import NTriplesWriter

    pages = GraphPages(driver, database)
    started = time.perf_counter()
    entities, publications = list(pages.entities()), list(pages.publications())
    relations = list(pages.relations())
    read_s = time.perf_counter() - started
    writer = NTriplesWriter(io.StringIO())
    started = time.perf_counter()
    for e in entities:
        writer.write(entity_block(e))
    for p in publications:
        writer.write(publication_block(p))
    for r in relations:
        for block in relation_blocks(r):
            writer.write(block)
    write_s = time.perf_counter() - started
    return {
        "read_pages_s": round(read_s, 2),
        "map_and_write_s": round(write_s, 2),
        "write_triples_per_s": round(writer.triples / write_s),
    }


def round_trip(path: Path, triples: int, counts: dict[str, int]) -> dict[str, Any]:
    import pyoxigraph as ox

    from kg.schema import BIOLINK_CATEGORY, PREDICATES
    from loaders.rdf.prefixes import expand

    store = ox.Store()
    started = time.perf_counter()
    store.bulk_load(path=str(path), format=ox.RdfFormat.N_TRIPLES)
    load_s = time.perf_counter() - started
    prefixes = (
        "PREFIX biolink: <https://w3id.org/biolink/vocab/> "
        "PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> "
        f"PREFIX kgv: <{expand('kgv:x')[:-1]}> "
    )
    categories = " ".join(f"<{expand(c)}>" for c in BIOLINK_CATEGORY.values())
    predicates = " ".join(f"<{expand(p)}>" for p in PREDICATES)
    patterns = {
        "entities": f"?e a ?c VALUES ?c {{ {categories} }}",
        "relations": f"?s ?p ?o VALUES ?p {{ {predicates} }}",
        "statements": "?a a rdf:Statement",
        "publications": "?p a biolink:Publication",
        "mentions": "?p biolink:mentions ?e",
        "evidence": "?v a kgv:Evidence",
    }
    sparql = {}
    for name, where in patterns.items():
        (row,) = list(store.query(f"{prefixes} SELECT (COUNT(*) AS ?n) WHERE {{ {where} }}"))
        sparql[name] = int(row["n"].value)
    cypher = {**counts, "statements": counts["relations"]}
    return {
        "store_triples": len(store),
        "triples_written": triples,
        "load_s": round(load_s, 2),
        "sparql": sparql,
        "cypher": {k: cypher[k] for k in sparql},
        "equal": len(store) == triples and all(sparql[k] == cypher[k] for k in sparql),
    }


def main(argv: list[str] | None = None) -> None:
    from loaders.neo4j.connection import open_driver
    from loaders.rdf.export import export_rdf
    from loaders.rdf.graph import GraphPages

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out-dir", type=Path, default=Path("/tmp/kg-export-bench"))
    parser.add_argument("--formats", default="nt,ttl,jsonld,nq")
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    settings = load_settings()
    driver = open_driver(settings)
    db = settings.neo4j.database
    counts = GraphPages(driver, db).counts()
    result: dict[str, Any] = {
        "graph": settings.bolt_uri,
        "counts": counts,
        "cpu_calibration_s": round(cpu_calibration(), 3),
        "formats": {},
    }
    export_rdf(driver, db, "nt", args.out_dir / "warmup.nt")  # query planning, page cache
    for fmt in args.formats.split(","):
        out = args.out_dir / f"graph.{fmt}"
        report = export_rdf(driver, db, fmt, out)
        result["formats"][fmt] = {
            "triples": report.triples,
            "seconds": round(report.seconds, 2),
            "triples_per_s": round(report.per_second),
            "bytes": out.stat().st_size,
            "pages": report.pages,
        }
    result["split"] = split_time(driver, db)
    nt = result["formats"].get("nt")
    if nt:
        result["round_trip_nt"] = round_trip(args.out_dir / "graph.nt", nt["triples"], counts)
    driver.close()
    result["measured_at"] = time.strftime("%Y-%m-%d %H:%M")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "export_bench.json"
    history = json.loads(path.read_text()) if path.exists() else []
    history.append(result)
    path.write_text(json.dumps(history, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
