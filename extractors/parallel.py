"""Model batches side by side on the machine's cores (``[extract] workers``).

On two cores, two batches in flight with one torch thread each get through more abstracts than
one batch at a time with two threads: a small encoder's operators do not keep two threads busy
(the tagger's forward pass runs 1.6-1.8x faster on two threads than on one, not 2x), and while
one batch is in Python (linking, decoding) the other one computes. Each call's documents are
taken longest first, so that a batch holds abstracts of about one length and pads less.
Measured in one process, the two ways taking turns on the same chunks of 128 abstracts, two
workers ran 1.17-1.22x as fast as one batch at a time (bench/RESULTS.md, stop 20).

The mentions and relations are those of one batch at a time but for scores on a threshold: the
sums of one thread run in another order than those of two, and in bfloat16 a batch's padded
length moves the last digits of a score. Over 1,000 abstracts two workers found 13,580 mentions
and 948 relations where one batch at a time found 13,579 and 949; the dev evaluations of
`kg eval re` moved by at most 0.07 F1.

The threads share one extractor. That is safe because nothing they call changes shared state
in a way another thread could see half done: torch's inference holds no per-call state in the
modules, the linker's SQLite connection is opened for use from any thread and its caches are
``functools.lru_cache`` (thread-safe), and the fast tokenizers are only ever called without
truncation or padding, so no call changes their settings while another one reads them.

Memory is the price, and why one worker is the default (``[extract] workers = 1``). Once
workers run, the process's threads share :data:`HEAPS` glibc heaps rather than one more per
thread, and each worker's batch is followed by the heap trim of kg.memory; the benchmark's
1,000 abstracts then peaked at 2.3 GB against 1.9-2.0 GB for one worker, but `kg ingest` of
the baseline with two workers (before the trim per batch) reached 3.1 GB within 35,200 of its
50,788 citations, over issue 4's 2.5 GB (bench/RESULTS.md, stop 20). Two batches of the
longest abstracts in flight at once hold twice the activations of one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kg.memory import limit_heaps, release_freed_memory
from kg.model import Document

#: Documents per chunk a caller should hand to a parallel extractor, per worker: each worker
#: then takes its next batch as soon as it is done, so that a batch of long abstracts does
#: not leave the other worker waiting at the end of every chunk.
BATCHES_PER_WORKER = 2


#: Heaps (glibc arenas) the process's threads share once workers run: the main thread's and
#: one for the workers, rather than one more per worker (kg.memory.limit_heaps).
HEAPS = 2


def resolve_workers(workers: int, threads: int) -> int:
    """``workers`` as configured, or for 0 (``auto``): 2 where there are at least 2 threads."""
    if workers:
        return workers
    return 2 if threads >= 2 else 1


def cpu_threads(configured: int) -> int:
    """The torch threads the run has: the configured count, else torch's default."""
    if configured:
        return configured
    import torch

    return torch.get_num_threads() or os.cpu_count() or 1


class ParallelExtractor:
    """An extractor whose ``batch`` runs its documents ``batch_size`` at a time in ``workers``
    threads of ``threads`` torch threads each; the order of the documents is kept.

    Everything else (``name``, ``identity``, the stages ``entities`` and ``relations``) is the
    wrapped extractor's, so that provenance and input fingerprints do not depend on how many
    workers ran.
    """

    def __init__(self, inner: Any, *, workers: int, threads: int, batch_size: int) -> None:
        if workers < 2:
            raise ValueError("a parallel extractor needs at least 2 workers")
        self.inner = inner
        self.workers = workers
        self.threads = max(1, threads)
        self.batch_size = batch_size
        self._pool: ThreadPoolExecutor | None = None

    def __getattr__(self, attr: str) -> Any:
        # only called for what this class lacks: the wrapped extractor's own attributes
        return getattr(self.__dict__["inner"], attr)

    @property
    def chunk(self) -> int:
        """Documents per call of :meth:`batch` that keep every worker busy."""
        return self.batch_size * self.workers * BATCHES_PER_WORKER

    def _start(self) -> ThreadPoolExecutor:
        if self._pool is None:
            import torch

            limit_heaps(HEAPS)
            self._pool = ThreadPoolExecutor(
                self.workers,
                thread_name_prefix="kg-extract",
                initializer=torch.set_num_threads,
                initargs=(self.threads,),
            )
        return self._pool

    def __call__(self, doc: Document) -> Document:
        return self.batch([doc])[0]

    def batch(self, docs: Sequence[Document]) -> list[Document]:
        """The documents annotated, in order. The first error of a batch is raised (the
        pipeline then retries the chunk one document at a time, to find the bad record)."""
        step = self.batch_size
        # longest first, as the models order their own batches: each batch then holds
        # abstracts of about one length, and less of its padded size is padding
        order = sorted(range(len(docs)), key=lambda k: -len(docs[k].text))
        parts = [[docs[k] for k in order[a : a + step]] for a in range(0, len(docs), step)]
        done = [doc for part in self._start().map(self._one_batch, parts) for doc in part]
        out: list[Document] = list(docs)
        for k, doc in zip(order, done, strict=True):
            out[k] = doc
        return out

    def _one_batch(self, docs: list[Document]) -> list[Document]:
        annotated = self.inner.batch(docs)
        release_freed_memory()  # after each batch, as one batch at a time is trimmed
        return annotated

    def close(self) -> None:
        """Stop the worker threads (they also stop when the process ends)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
