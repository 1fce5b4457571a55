"""Full extraction pipeline benchmark (not a test): entities + normalization + relations.

Runs the configured extractor over ``--limit`` abstracts of the PubMed baseline files, spread
evenly over all of them (the files differ: 1970s abstracts are shorter than 2021 ones), in
chunks, as ``kg ingest`` does, and reports abstracts/s, peak RSS and model load time. In the same
run, as references: the entity stage alone on the same abstracts (so the relation stage's cost
reads as a ratio), and reading the abstracts.

    .venv/bin/python bench/pipeline_bench.py --limit 1000
    .venv/bin/python bench/pipeline_bench.py --limit 1000 --compare float32,bfloat16

``--compare`` runs each number format (``[extract] precision``) in its own process, one after
the other on the same abstracts, so each has its own peak RSS, and reports the speed ratios
against the first.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ner_bench import SHARED, read_docs, spread_docs  # noqa: E402
from extractors.precision import resolve  # noqa: E402
from extractors.registry import load_extractor  # noqa: E402
from kg.config import load_settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=SHARED / "pubmed" / "baseline")
    parser.add_argument("--limit", type=int, default=2000)
    parser.add_argument("--relations", default=None, help="default, or NAME:PATH")
    parser.add_argument("--first", action="store_true", help="The first abstracts, not spread.")
    parser.add_argument("--compare", help="Number formats to run one after another, e.g. "
                        "float32,bfloat16 (each in its own process).")  # fmt: skip
    parser.add_argument("--overlap", action="store_true", help="Full pass with the entity stage "
                        "of the next chunk in a second thread beside the relation stage of this "
                        "one (an experiment: bench/RESULTS.md, stop 15).")  # fmt: skip
    default_out = Path(__file__).parent / "results" / "pipeline_bench.json"
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args()
    if args.compare:
        compare(args)
        return

    settings = load_settings()
    if args.first:
        docs, read_s = read_docs(args.input, args.limit)
    else:
        docs, read_s = spread_docs(args.input, args.limit)
    chunk = settings.extract.batch_size
    t0 = time.perf_counter()
    extractor = load_extractor(settings, None, args.relations)
    load_s = time.perf_counter() - t0
    extractor.batch(docs[:4])  # warm-up: first calls allocate

    def timed(fn) -> tuple[float, list]:
        start = time.perf_counter()
        out = []
        for a in range(0, len(docs), chunk):
            out.extend(fn(docs[a : a + chunk]))
        return time.perf_counter() - start, out

    linker = getattr(extractor.entities, "linker", None)
    entities_s, _ = timed(extractor.entities.batch)
    if linker is not None:  # the full pass links the same mentions as cold as the first did
        linker.clear_caches()
    if args.overlap:
        full_s, annotated = overlapped(extractor, docs, chunk)
    else:
        full_s, annotated = timed(extractor.batch)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    by_type = Counter(r.type.value for d in annotated for r in d.relations)
    result = {
        "documents": len(docs),
        "sample": "first" if args.first else "spread over all baseline abstracts",
        "precision": settings.extract.precision,
        "resolved_precision": resolve(settings.extract.precision, settings.cache_dir),
        "chars_per_doc": round(sum(len(d.text) for d in docs) / max(len(docs), 1)),
        "extractor": extractor.name,
        "model_load_s": round(load_s, 2),
        "read_docs_per_s": round(len(docs) / read_s, 1),
        "entities_docs_per_s": round(len(docs) / entities_s, 2),
        "pipeline_docs_per_s": round(len(docs) / full_s, 2),
        "pipeline_vs_entities": round(entities_s / full_s, 3),
        "mentions": sum(len(d.mentions) for d in annotated),
        "relations": sum(by_type.values()),
        "relations_by_type": dict(by_type.most_common()),
        "peak_rss_mb": round(peak_mb),
        "threads": __import__("torch").get_num_threads(),
        "overlap": args.overlap,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


def overlapped(extractor, docs: list, chunk: int) -> tuple[float, list]:  # noqa: ANN001
    """The full pass with chunk i+1's entity stage in a worker thread while chunk i's relation
    stage runs (torch releases the GIL inside its operators, so the two can share the cores)."""
    from concurrent.futures import ThreadPoolExecutor

    chunks = [docs[a : a + chunk] for a in range(0, len(docs), chunk)]
    start = time.perf_counter()
    out: list = []
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(extractor.entities.batch, chunks[0]) if chunks else None
        for k in range(len(chunks)):
            found = pending.result()
            if k + 1 < len(chunks):
                pending = pool.submit(extractor.entities.batch, chunks[k + 1])
            out.extend(extractor.relate(found))
    return time.perf_counter() - start, out


def compare(args: argparse.Namespace) -> None:
    """Each precision in a fresh process on the same abstracts; ratios against the first."""
    runs = []
    for precision in args.compare.split(","):
        out = args.out.with_name(f"pipeline_bench_{precision}.json")
        command = [sys.executable, __file__, "--limit", str(args.limit), "--out", str(out)]
        command += ["--input", str(args.input)] + (["--first"] if args.first else [])
        command += ["--overlap"] if args.overlap else []
        if args.relations:
            command += ["--relations", args.relations]
        env = {**os.environ, "KG_EXTRACT__PRECISION": precision}
        subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
        runs.append(json.loads(out.read_text(encoding="utf-8")))
        out.unlink()
    base = runs[0]
    for run in runs:
        for stage in ("pipeline", "entities"):
            speed = f"{stage}_docs_per_s"
            run[f"{stage}_vs_first"] = round(run[speed] / base[speed], 3)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()
