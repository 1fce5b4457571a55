"""Entity extraction benchmark (not a test): abstracts/s, peak RSS and model load time.

Runs the configured extractor (recognition + propagation + linking) over ``--limit`` abstracts
of the PubMed baseline files, spread evenly over all of them (``--first``: the first ones), in
chunks as ``kg ingest`` does; ``[extract] precision`` (e.g. ``KG_EXTRACT__PRECISION=float32``)
chooses the number format. Reference, measured in
the same run: reading the same abstracts alone (the PubMed reader), so the extraction figure also
reads as a fraction of the input rate. Recognition alone is timed too, so the cost of linking
shows.

    .venv/bin/python bench/ner_bench.py --limit 2000
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from extractors.registry import load_entity_extractor  # noqa: E402
from kg.config import load_settings  # noqa: E402
from kg.model import Document  # noqa: E402
from kg.readers import read_path  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def read_docs(folder: Path, limit: int) -> tuple[list[Document], float]:
    """The first ``limit`` abstracts, and the seconds reading them took."""
    start = time.perf_counter()
    docs: list[Document] = []
    for doc in abstracts(folder):
        docs.append(doc)
        if len(docs) >= limit:
            break
    return docs, time.perf_counter() - start


def spread_docs(folder: Path, limit: int) -> tuple[list[Document], float]:
    """``limit`` abstracts evenly spaced over all of them; only those are kept in memory (a
    first pass counts), so peak RSS is the pipeline's, not the input's."""
    total = sum(1 for d in abstracts(folder))
    start = time.perf_counter()
    step = max(total / limit, 1.0)
    wanted = {int(k * step) for k in range(min(limit, total))}
    docs = [d for k, d in enumerate(abstracts(folder)) if k in wanted]
    return docs, time.perf_counter() - start


def abstracts(folder: Path) -> Iterator[Document]:
    for path in sorted(folder.glob("*.xml.gz")):
        for item in read_path(path, "pubmed"):
            if isinstance(item, Document) and item.abstract:
                yield item


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=SHARED / "pubmed" / "baseline")
    parser.add_argument("--limit", type=int, default=2000)
    parser.add_argument("--recognizer", default=None, help="default, or NAME:PATH")
    parser.add_argument("--chunk", type=int, default=None)
    parser.add_argument("--first", action="store_true", help="The first abstracts, not spread.")
    default_out = Path(__file__).parent / "results" / "ner_bench.json"
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args()

    settings = load_settings()
    sample = read_docs if args.first else spread_docs
    docs, read_s = sample(args.input, args.limit)
    chunk = args.chunk or settings.extract.batch_size
    t0 = time.perf_counter()
    extractor = load_entity_extractor(settings, args.recognizer)
    load_s = time.perf_counter() - t0
    # warm-up on a few documents (first calls allocate)
    extractor.batch(docs[:4])

    t0 = time.perf_counter()
    for a in range(0, len(docs), chunk):
        extractor.recognizer.predict([d.text for d in docs[a : a + chunk]])
    recognize_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    mentions = linked = 0
    for a in range(0, len(docs), chunk):
        for doc in extractor.batch(docs[a : a + chunk]):
            mentions += len(doc.mentions)
            linked += sum(1 for m in doc.mentions if m.ids)
    extract_s = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    result = {
        "documents": len(docs),
        "chars_per_doc": round(sum(len(d.text) for d in docs) / max(len(docs), 1)),
        "sample": "first" if args.first else "spread over all baseline abstracts",
        "precision": settings.extract.precision,
        "extractor": extractor.name,
        "model_load_s": round(load_s, 2),
        "read_docs_per_s": round(len(docs) / read_s, 1),
        "recognize_docs_per_s": round(len(docs) / recognize_s, 2),
        "extract_docs_per_s": round(len(docs) / extract_s, 2),
        "extract_vs_read": round(read_s / extract_s, 4),
        "mentions": mentions,
        "linked_fraction": round(linked / max(mentions, 1), 3),
        "peak_rss_mb": round(peak_mb),
        "threads": __import__("torch").get_num_threads(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
