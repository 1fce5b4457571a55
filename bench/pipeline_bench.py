"""Full extraction pipeline benchmark (not a test): entities + normalization + relations.

Runs the configured extractor over ``--limit`` abstracts of the PubMed baseline files, spread
evenly over all of them (the files differ: 1970s abstracts are shorter than 2021 ones), in
chunks, as ``kg ingest`` does, and reports abstracts/s, peak RSS and model load time. In the same
run, as references: the entity stage alone on the same abstracts (so the relation stage's cost
reads as a ratio), and reading the abstracts.

    .venv/bin/python bench/pipeline_bench.py --limit 1000
    .venv/bin/python bench/pipeline_bench.py --limit 1000 --compare float32,bfloat16
    .venv/bin/python bench/pipeline_bench.py --limit 1000 --compare-workers 1,2,1,2
    .venv/bin/python bench/pipeline_bench.py --limit 1000 --alternate-context

``--compare`` runs each number format (``[extract] precision``) in its own process, one after
the other on the same abstracts, so each has its own peak RSS, and reports the speed ratios
against the first; ``--compare-workers`` does the same for ``[extract] workers`` (model
batches side by side, extractors/parallel.py). Both passes of a run use the configured
workers: the entity stage alone and the full pipeline.
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
from extractors.registry import load_extractor, with_workers  # noqa: E402
from kg.config import load_settings  # noqa: E402
from kg.memory import release_freed_memory  # noqa: E402
from kg.pipeline import chunk_for  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=SHARED / "pubmed" / "baseline")
    parser.add_argument("--limit", type=int, default=2000)
    parser.add_argument("--relations", default=None, help="default, or NAME:PATH")
    parser.add_argument("--first", action="store_true", help="The first abstracts, not spread.")
    parser.add_argument("--compare", help="Number formats to run one after another, e.g. "
                        "float32,bfloat16 (each in its own process).")  # fmt: skip
    parser.add_argument("--compare-workers", help="Worker counts to run one after another, "
                        "e.g. 1,2 (each in its own process).")  # fmt: skip
    parser.add_argument("--overlap", action="store_true", help="Full pass with the entity stage "
                        "of the next chunk in a second thread beside the relation stage of this "
                        "one (an experiment: bench/RESULTS.md, stop 15).")  # fmt: skip
    default_out = Path(__file__).parent / "results" / "pipeline_bench.json"
    parser.add_argument("--alternate", action="store_true", help="One process, one set of "
                        "models: each chunk run one batch at a time and in two workers, taking "
                        "turns, so that the machine's drift falls on both alike.")  # fmt: skip
    parser.add_argument("--alternate-context", action="store_true", help="One process, one "
                        "set of models: each chunk run with the relation model reading the whole "
                        "abstract and only its pair sentences, taking turns (docs/models/re.md, "
                        "stop 31).")  # fmt: skip
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args()
    if args.compare:
        compare(args, "KG_EXTRACT__PRECISION", args.compare)
        return
    if args.compare_workers:
        compare(args, "KG_EXTRACT__WORKERS", args.compare_workers)
        return

    settings = load_settings()
    if args.first:
        docs, read_s = read_docs(args.input, args.limit)
    else:
        docs, read_s = spread_docs(args.input, args.limit)
    t0 = time.perf_counter()
    extractor = load_extractor(settings, None, args.relations)
    load_s = time.perf_counter() - t0
    chunk = chunk_for(extractor, settings.extract.batch_size)  # as kg ingest hands it over
    workers = getattr(extractor, "workers", 1)
    entities = with_workers(settings, extractor.entities)
    extractor.batch(docs[:4])  # warm-up: first calls allocate
    if args.alternate:
        alternated(settings, extractor, docs, args.out)
        return
    if args.alternate_context:
        alternated_context(settings, extractor, docs, args.out)
        return

    def timed(fn) -> tuple[float, list]:
        start = time.perf_counter()
        out = []
        for a in range(0, len(docs), chunk):
            out.extend(fn(docs[a : a + chunk]))
            release_freed_memory()  # as kg.pipeline.extract_all does after each chunk
        return time.perf_counter() - start, out

    linker = getattr(extractor.entities, "linker", None)
    entities_s, _ = timed(entities.batch)
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
        "workers": workers,
        "threads_per_worker": getattr(extractor, "threads", None),
        "overlap": args.overlap,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


def alternated(settings, extractor, docs: list, out: Path) -> None:  # noqa: ANN001
    """The full pipeline one batch at a time and in two workers on the same chunks, taking
    turns (who goes first alternates), each with the linker's caches cleared first."""
    from extractors.parallel import ParallelExtractor

    inner = getattr(extractor, "inner", extractor)
    threads = __import__("torch").get_num_threads()
    batch = settings.extract.batch_size
    parallel = ParallelExtractor(inner, workers=2, threads=max(1, threads // 2), batch_size=batch)

    def one_at_a_time(part: list) -> list:
        return [d for b in range(0, len(part), batch) for d in inner.batch(part[b : b + batch])]

    runs = {"one batch at a time": one_at_a_time, "two workers": parallel.batch}
    spent, found = take_turns(runs, inner, docs, parallel.chunk)
    parallel.close()

    def key(doc) -> tuple:  # noqa: ANN001
        return doc.mentions, [(r.type, r.id1, r.id2) for r in doc.relations]

    plain, two = found.values()
    same = all(key(x) == key(y) for x, y in zip(plain, two, strict=True))
    result = {
        "documents": len(docs),
        "extractor": inner.name,
        "threads": threads,
        "chunk": parallel.chunk,
        **{f"{name}, docs/s": round(len(docs) / s, 2) for name, s in spent.items()},
        "two workers / one": round(spent["one batch at a time"] / spent["two workers"], 3),
        "same mentions and relations": same,
        "relations": sum(len(d.relations) for d in two),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


def take_turns(runs: dict, extractor, docs: list, chunk: int) -> tuple[dict, dict]:  # noqa: ANN001
    """Each chunk of ``docs`` through every run in ``runs`` (name -> function of a chunk),
    who goes first alternating, the linker's caches cleared before each: (seconds per run,
    annotated documents per run). One process and one set of models, so that the machine's
    drift falls on every run alike."""
    spent = dict.fromkeys(runs, 0.0)
    found: dict[str, list] = {name: [] for name in runs}
    linker = getattr(extractor.entities, "linker", None)
    for k, a in enumerate(range(0, len(docs), chunk)):
        names = list(runs) if k % 2 == 0 else list(reversed(runs))
        for name in names:
            if linker is not None:
                linker.clear_caches()
            start = time.perf_counter()
            annotated = runs[name](docs[a : a + chunk])
            spent[name] += time.perf_counter() - start
            found[name].extend(annotated)
            release_freed_memory()
    return spent, found


def alternated_context(settings, extractor, docs: list, out: Path) -> None:  # noqa: ANN001
    """The full pipeline with the relation model reading each abstract whole and only the
    sentences that mention an entity of a candidate pair, on the same chunks, taking turns;
    with the pieces the relation encoder reads either way."""
    from extractors.relations import CONTEXTS
    from extractors.relations.scorer import encode

    inner = getattr(extractor, "inner", extractor)
    model = inner.relations
    chosen = model.context

    def reading(context: str):  # noqa: ANN202
        def run(part: list) -> list:
            model.context = context
            return inner.batch(part)

        return run

    spent, found = take_turns(
        {c: reading(c) for c in CONTEXTS}, inner, docs, settings.extract.batch_size
    )
    model.context = chosen
    pieces = {
        c: sum(
            sum(map(len, e.segments))
            for d in found[c]
            if (e := encode(model.tokenizer, d, model.max_len, c)).pairs
        )
        for c in CONTEXTS
    }
    result = {
        "documents": len(docs),
        "extractor": inner.name,
        "threads": __import__("torch").get_num_threads(),
        "chunk": settings.extract.batch_size,
        **{f"{c}, docs/s": round(len(docs) / s, 2) for c, s in spent.items()},
        "pair_sentences / abstract, speed": round(spent["abstract"] / spent["pair_sentences"], 3),
        "relation encoder pieces": pieces,
        "pieces read, pair_sentences / abstract": round(
            pieces["pair_sentences"] / max(pieces["abstract"], 1), 3
        ),
        "relations": {c: sum(len(d.relations) for d in found[c]) for c in CONTEXTS},
        "same mentions": all(
            x.mentions == y.mentions for x, y in zip(*found.values(), strict=True)
        ),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
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


def compare(args: argparse.Namespace, variable: str, values: str) -> None:
    """Each value of a setting (its environment ``variable``) in a fresh process on the same
    abstracts, one after the other; speed ratios against the first."""
    runs = []
    for k, value in enumerate(values.split(",")):
        out = args.out.with_name(f"pipeline_bench_{k}_{value}.json")
        command = [sys.executable, __file__, "--limit", str(args.limit), "--out", str(out)]
        command += ["--input", str(args.input)] + (["--first"] if args.first else [])
        command += ["--overlap"] if args.overlap else []
        if args.relations:
            command += ["--relations", args.relations]
        env = {**os.environ, variable: value}
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
