"""One incremental pull: a source's pending units through the pipeline into the graph.

For each unit, in order: read its records, write them (``kg.pipeline.ingest``, one transaction
per batch), and only then commit the unit's cursor. A run that fails (E-utilities gone, Neo4j
stopped, an update file cut short) leaves the cursor at the last unit that fully committed and
records the failure; running it again completes it, and the loader's fingerprints make the
repeated part change nothing. A lock per source (``fcntl``) keeps two runs of the same source
from overlapping. Every run but a dry run is recorded, with its report, in the state database.

A dry run writes each batch in a transaction that is rolled back, so its report is what the
loader would have done — with one caveat: batches do not see each other's changes.
"""

from __future__ import annotations

import fcntl
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg.errors import InputError, KGError, ModelNotInstalledError
from kg.model import GraphBatch
from kg.pipeline import Extractor, Namer, RunReport, ingest
from kg.readers import Item
from kg.sinks import Sink, WriteReport
from kg.sources import Source, SourceError, is_truncation
from kg.sources.state import StateStore, now_iso

if TYPE_CHECKING:
    from neo4j import Driver

    from kg.config import Settings


class BusyError(KGError):
    """Another run holds the lock of this source or job."""

    transient = True
    exit_code = 75  # EX_TEMPFAIL: cron and systemd read it as "try later"


class PullFailedError(KGError):
    """A pull stopped before its end; ``report`` says how far it got."""

    def __init__(self, cause: BaseException, report: PullReport) -> None:
        message = (
            cause.message if isinstance(cause, KGError) else f"{type(cause).__name__}: {cause}"
        )
        super().__init__(
            f"pull of {report.source} failed: {message}",
            hint=getattr(cause, "hint", None)
            or "run the same pull again: it resumes after the last committed unit",
        )
        self.report = report
        self.transient = getattr(cause, "transient", False)
        self.exit_code = getattr(cause, "exit_code", 1)


@dataclass(slots=True)
class PullReport:
    """What one pull did; stored with the run and shown by ``kg schedule history``."""

    source: str
    job: str | None = None
    dry_run: bool = False
    status: str = "running"
    started_at: str = field(default_factory=now_iso)
    duration_s: float = 0.0
    units_done: int = 0
    units_failed: list[str] = field(default_factory=list)
    read: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    #: Of ``unchanged``, the records not extracted again (same text, same models).
    reused: int = 0
    deleted: int = 0
    deletions_requested: int = 0
    failed: int = 0
    relations_changed: int = 0
    relations_skipped: int = 0
    quarantine_file: str | None = None
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    counters: dict[str, int] = field(default_factory=dict)

    def absorb(self, run: RunReport) -> None:
        """Add one unit's ingest report."""
        self.read += run.read
        self.deletions_requested += run.deletions
        self.failed += sum(run.quarantined.values())
        self.reused += run.reused
        self.relations_skipped += sum(run.skipped.values())

    def settle(self, written: WriteReport, seconds: float) -> None:
        """Fill in the sink's totals and the duration."""
        self.added = written.added
        self.updated = written.written - written.added
        self.unchanged = written.unchanged + self.reused
        self.deleted = written.deleted
        self.relations_changed = written.relations_touched
        self.counters = dict(sorted(written.counters.items()))
        self.duration_s = round(seconds, 3)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deleted)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class _HeldSink:
    """The real sink, opened once for the whole pull (not once per unit); adds up reports."""

    def __init__(self, inner: Sink) -> None:
        self.inner = inner
        self.name = inner.name
        self.total = WriteReport()
        self._open = False

    def open(self) -> None:
        if not self._open:
            self.inner.open()
            self._open = True

    def write(self, batch: GraphBatch) -> WriteReport:
        report = self.inner.write(batch)
        self.total.add(report)
        return report

    def stored_inputs(self, pmids: list[str]) -> dict[str, str]:
        known = getattr(self.inner, "stored_inputs", None)
        return known(pmids) if known is not None else {}

    def close(self) -> None:
        """Left open between units; :meth:`release` closes it."""

    def release(self) -> None:
        if self._open:
            self._open = False
            self.inner.close()


class RollbackSink:
    """Neo4j, but every batch's transaction is rolled back: a report of what would change."""

    name = "neo4j-dry-run"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._driver: Driver | None = None

    def open(self) -> None:
        from loaders.neo4j.connection import open_driver

        if self._driver is None:
            self._driver = open_driver(self.settings)

    def write(self, batch: GraphBatch) -> WriteReport:
        from loaders.neo4j.sink import _write_batch

        assert self._driver is not None, "open() first"
        with self._driver.session(database=self.settings.neo4j.database) as session:
            tx = session.begin_transaction()
            try:
                return _write_batch(tx, batch)
            finally:
                tx.rollback()

    def stored_inputs(self, pmids: list[str]) -> dict[str, str]:
        from loaders.neo4j.sink import _stored_inputs

        assert self._driver is not None, "open() first"
        return _stored_inputs(self._driver, self.settings.neo4j.database, pmids)

    def close(self) -> None:
        if self._driver is not None:
            self._driver.close()
            self._driver = None


@contextmanager
def exclusive(settings: Settings, name: str, label: str | None = None) -> Iterator[Path]:
    """Hold ``<data_dir>/locks/<name>.lock`` or raise :class:`BusyError` at once.

    ``label`` names what is locked in the error (default: ``name``).

    The lock is the kernel's (``flock``): it goes with the process, so a killed run never
    leaves a stale lock behind.
    """
    folder = settings.data_dir / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{re.sub(r'[^A-Za-z0-9._-]+', '_', name)}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise BusyError(
                f"{label or name} is already running (process {holder})",
                hint="wait for it to finish; runs of the same source or job never overlap",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield path
    finally:
        os.close(fd)  # releases the lock


def source_lock_name(key: str) -> str:
    """The lock name of a source's state key (keys hold paths and queries)."""
    return "source-" + re.sub(r"[^A-Za-z0-9._-]+", "_", key)[-120:]


def resolve_extractor(
    settings: Settings, use_annotations: bool, extractor: Extractor | None
) -> Extractor | None:
    """The extractor a run uses: none with annotations, else the one given or installed."""
    if use_annotations or extractor is not None:
        return extractor
    try:
        from extractors.registry import load_extractor
    except ImportError as exc:
        raise ModelNotInstalledError(
            "no extraction model is installed, so documents cannot be annotated",
            hint="pass --use-annotations to load the annotations the input carries; "
            "PubMed XML then loads publications only",
        ) from exc
    return load_extractor(settings)


def _vocabulary_names(settings: Settings) -> Namer | None:
    """Entities' preferred names from the lexicon, where the extractors are installed."""
    try:
        from extractors.registry import vocabulary_names
    except ImportError:
        return None
    return vocabulary_names(settings)


def _watch_breaks(items: Iterator[Item], broken: list[InputError]) -> Iterator[Item]:
    for item in items:
        if isinstance(item, InputError) and is_truncation(item):
            broken.append(item)
        yield item


@dataclass(frozen=True, slots=True)
class PullOptions:
    """How a pull writes: what a scheduled job stores next to its source."""

    #: Load the annotations the input carries instead of running the models.
    use_annotations: bool = False
    #: Documents per transaction; None = ``load.batch_size``.
    batch_size: int | None = None
    #: Write nothing, commit no cursor: report what would change.
    dry_run: bool = False
    #: Forget the source's cursor and files seen first: read everything again.
    full: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PullOptions:
        return cls(**data)


def pull(
    settings: Settings,
    source: Source,
    options: PullOptions | None = None,
    *,
    job: str | None = None,
    extractor: Extractor | None = None,
    quarantine: Path | None = None,
    sink: Sink | None = None,
    show_progress: bool = False,
) -> PullReport:
    """Run ``source`` 's pending units into the graph, committing its cursor unit by unit.

    Returns the report (status ``ok``, or ``partial`` when records were quarantined or a
    watched file was left for later). Raises :class:`PullFailedError` (with the report) when
    the run stopped early, :class:`BusyError` when the source is already being pulled.
    ``options.full`` forgets the source's cursor first (everything is read again; unchanged
    records are skipped). ``extractor`` defaults to the installed model when annotations are
    not used. ``sink`` replaces the configured Neo4j sink (tests, other backends).
    """
    options = options or PullOptions()
    dry_run, use_annotations = options.dry_run, options.use_annotations
    extractor = resolve_extractor(settings, use_annotations, extractor)
    store = StateStore.for_data_dir(settings.data_dir)
    report = PullReport(source=source.key, job=job, dry_run=dry_run)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    quarantine = quarantine or (
        settings.data_dir / "quarantine" / f"pull-{source.kind}-{stamp}-{os.getpid()}.jsonl"
    )
    began = time.monotonic()
    bar = None
    try:
        with exclusive(settings, source_lock_name(source.key), source.key):
            store.mark_interrupted(source.key)
            if options.full and not dry_run:
                store.reset(source.key)
            run_id = None if dry_run else store.start_run(source.key, job)
            if sink is None:
                from loaders.base import get_sink

                sink = RollbackSink(settings) if dry_run else get_sink("neo4j", settings)
            held = _HeldSink(sink)
            if show_progress:
                from tqdm import tqdm

                bar = tqdm(unit=" doc", desc=source.kind, file=sys.stderr, dynamic_ncols=True)
            try:
                _run_units(
                    store, source, held, report, bar,
                    quarantine=quarantine,
                    batch_size=options.batch_size or settings.load.batch_size,
                    use_annotations=use_annotations,
                    extractor=extractor,
                    commit=not dry_run,
                    names=_vocabulary_names(settings),
                )  # fmt: skip
                report.status = "partial" if report.failed or report.units_failed else "ok"
            except BaseException as exc:
                report.status = "failed" if isinstance(exc, Exception) else "interrupted"
                report.error = exc.message if isinstance(exc, KGError) else repr(exc)
                if isinstance(exc, Exception):
                    raise PullFailedError(exc, report) from exc
                raise
            finally:
                held.release()
                report.notes.extend(source.notes)
                report.settle(held.total, time.monotonic() - began)
                if quarantine.exists():
                    report.quarantine_file = str(quarantine)
                if run_id is not None:
                    store.finish_run(run_id, report.status, report.to_json())
    finally:
        if bar is not None:
            bar.close()
        store.close()
    return report


def _run_units(
    store: StateStore,
    source: Source,
    sink: _HeldSink,
    report: PullReport,
    bar: Any,
    *,
    quarantine: Path,
    batch_size: int,
    use_annotations: bool,
    extractor: Extractor | None,
    commit: bool,
    names: Namer | None = None,
) -> None:
    for unit in source.units(store):
        if bar is not None:
            bar.set_postfix_str(unit.label, refresh=False)
            planned = getattr(source, "planned", None)  # known once E-utilities counted hits
            if planned:
                bar.total = planned
        broken: list[InputError] = []
        run = ingest(
            _watch_breaks(unit.read(), broken),
            sink,
            quarantine_path=quarantine,
            batch_size=batch_size,
            use_annotations=use_annotations,
            extractor=extractor,
            progress=bar.update if bar is not None else None,
            names=names,
        )
        report.absorb(run)
        if broken:
            where = f"{unit.label}: {broken[0].reason}" + (
                f" (line {broken[0].line})" if broken[0].line else ""
            )
            if unit.on_broken == "stop":
                raise SourceError(
                    where,
                    hint="the file is incomplete: fetch it again and pull again; the records "
                    "before the break are loaded, the cursor stays before this file",
                )
            report.units_failed.append(where + " — left for the next run")
            continue
        if commit:
            unit.commit(store)
        report.units_done += 1
