"""Model batches side by side (extractors/parallel.py, ``[extract] workers``)."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from extractors.parallel import ParallelExtractor, resolve_workers
from kg.model import Document
from kg.pipeline import extract_all
from tests.helpers import make_doc


class Recording:
    """An extractor that notes which thread, with how many torch threads, ran each batch."""

    name = "recording"
    identity = "recording-1"

    def __init__(self, fail_on: str | None = None) -> None:
        self.fail_on = fail_on
        self.calls: list[tuple[str, int, list[Document]]] = []
        self.lock = threading.Lock()

    def __call__(self, doc: Document) -> Document:
        return self.batch([doc])[0]

    def batch(self, docs: list[Document]) -> list[Document]:
        import torch

        if any(d.pmid == self.fail_on for d in docs):
            raise ValueError(f"cannot read {self.fail_on}")
        with self.lock:
            self.calls.append((threading.current_thread().name, torch.get_num_threads(), docs))
        return [replace(d, title=d.title.upper()) for d in docs]


def docs(n: int) -> list[Document]:
    """Titles of differing lengths, not in order of length."""
    return [make_doc(str(1000 + k), f"title {'x' * (k * 7 % 10)}", "", []) for k in range(n)]


def test_batches_run_in_worker_threads_in_order_with_their_share_of_threads() -> None:
    inner = Recording()
    par = ParallelExtractor(inner, workers=2, threads=1, batch_size=3)
    try:
        out = par.batch(docs(10))
    finally:
        par.close()
    assert [d.pmid for d in out] == [d.pmid for d in docs(10)]
    assert all(d.title == d.title.upper() for d in out)
    assert [d.title for d in out] == [d.title.upper() for d in docs(10)]
    batches = sorted((batch for _, _, batch in inner.calls), key=len)
    assert [len(b) for b in batches] == [1, 3, 3, 3]
    # longest first: each batch holds documents of about one length, the shortest one last
    lengths = sorted(([len(d.text) for d in b] for b in batches), reverse=True)
    assert [n for b in lengths for n in b] == sorted((len(d.text) for d in docs(10)), reverse=True)
    assert all(name.startswith("kg-extract") and threads == 1 for name, threads, _ in inner.calls)
    assert par.chunk == 3 * 2 * 2  # every worker has a next batch to take
    # provenance is the wrapped extractor's: fingerprints do not depend on the workers
    assert (par.name, par.identity) == ("recording", "recording-1")


def test_a_failing_batch_is_found_document_by_document() -> None:
    """The pipeline's retry still names the bad record when the batch ran in a worker."""
    par = ParallelExtractor(Recording(fail_on="1004"), workers=2, threads=1, batch_size=2)
    try:
        with pytest.raises(ValueError, match="1004"):
            par.batch(docs(6))
        out = extract_all(par, docs(6))
    finally:
        par.close()
    failed = [d for d in out if not isinstance(d, Document)]
    assert len(out) == 6 and len(failed) == 1 and failed[0].record == "1004"


def test_workers_auto_is_two_from_two_threads() -> None:
    assert resolve_workers(0, 1) == 1
    assert resolve_workers(0, 2) == 2
    assert resolve_workers(0, 16) == 2
    assert resolve_workers(3, 2) == 3
    with pytest.raises(ValueError):
        ParallelExtractor(Recording(), workers=1, threads=2, batch_size=4)
