"""Durable incremental state: cursors, files seen, scheduled jobs and their run history.

One small SQLite database, ``<data_dir>/state.sqlite`` (docs/decisions/0004). Every change is
its own transaction, so a cursor written here is on disk when the call returns; callers write a
cursor only after the graph write it stands for has committed. A crash between the two makes the
next run redo that piece of work, which the loader makes harmless (unchanged records are
skipped by fingerprint).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kg.errors import ConfigError

SCHEMA = """
CREATE TABLE IF NOT EXISTS cursors (
    source TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    source TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    processed_at TEXT NOT NULL,
    PRIMARY KEY (source, path)
);
CREATE TABLE IF NOT EXISTS jobs (
    name TEXT PRIMARY KEY,
    cron TEXT NOT NULL,
    argv TEXT NOT NULL,
    spec TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job TEXT,
    source TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,
    report TEXT
);
CREATE INDEX IF NOT EXISTS runs_job ON runs (job, id);
"""


def now_iso() -> str:
    """The current time, UTC, ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class SeenFile:
    """A file a source has processed, as it was then."""

    path: str
    size: int
    mtime_ns: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Job:
    """A scheduled pull: a cron expression and the ``kg pull`` arguments it runs."""

    name: str
    cron: str
    argv: tuple[str, ...]
    spec: dict[str, Any]
    created_at: str


@dataclass(frozen=True, slots=True)
class Run:
    """One pull, scheduled or by hand, with its report."""

    id: int
    job: str | None
    source: str
    started_at: str
    finished_at: str | None
    status: str
    report: dict[str, Any]


class StateStore:
    """The state database. Cheap to open; use one per process or thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise ConfigError(
                f"cannot open the state database {path}: {exc}",
                hint="check that the data directory is writable (paths.data_dir)",
            ) from exc

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> StateStore:
        return cls(data_dir / "state.sqlite")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic change: everything inside commits together or not at all."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # --- cursors ---------------------------------------------------------------------------

    def cursor(self, source: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT value FROM cursors WHERE source = ?", (source,)).fetchone()
        return json.loads(row[0]) if row else None

    def cursors(self) -> dict[str, tuple[dict[str, Any], str]]:
        """Every source's cursor and when it last moved."""
        rows = self._db.execute("SELECT source, value, updated_at FROM cursors ORDER BY source")
        return {r[0]: (json.loads(r[1]), r[2]) for r in rows}

    def set_cursor(self, source: str, value: dict[str, Any]) -> None:
        with self.transaction() as db:
            _put_cursor(db, source, value)

    def reset(self, source: str) -> None:
        """Forget a source's cursor and files seen (the next pull starts over)."""
        with self.transaction() as db:
            db.execute("DELETE FROM cursors WHERE source = ?", (source,))
            db.execute("DELETE FROM files WHERE source = ?", (source,))

    # --- files seen ------------------------------------------------------------------------

    def seen_files(self, source: str) -> dict[str, SeenFile]:
        rows = self._db.execute(
            "SELECT path, size, mtime_ns, sha256 FROM files WHERE source = ?", (source,)
        )
        return {r[0]: SeenFile(*r) for r in rows}

    def mark_file(self, source: str, seen: SeenFile, cursor: dict[str, Any] | None = None) -> None:
        """Record a processed file, and optionally the source's cursor, in one transaction."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)",
                (source, seen.path, seen.size, seen.mtime_ns, seen.sha256, now_iso()),
            )
            if cursor is not None:
                _put_cursor(db, source, cursor)

    # --- jobs ------------------------------------------------------------------------------

    def add_job(self, job: Job, *, replace: bool = False) -> None:
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        try:
            with self.transaction() as db:
                db.execute(
                    f"{verb} INTO jobs VALUES (?, ?, ?, ?, ?)",
                    (
                        job.name,
                        job.cron,
                        json.dumps(list(job.argv)),
                        json.dumps(job.spec),
                        job.created_at,
                    ),
                )
        except sqlite3.IntegrityError as exc:
            raise ConfigError(
                f"a job named {job.name!r} exists already",
                hint="pick another name, or pass --replace",
            ) from exc

    def remove_job(self, name: str) -> bool:
        with self.transaction() as db:
            return db.execute("DELETE FROM jobs WHERE name = ?", (name,)).rowcount > 0

    def jobs(self) -> list[Job]:
        rows = self._db.execute("SELECT name, cron, argv, spec, created_at FROM jobs ORDER BY name")
        return [Job(r[0], r[1], tuple(json.loads(r[2])), json.loads(r[3]), r[4]) for r in rows]

    def job(self, name: str) -> Job:
        for job in self.jobs():
            if job.name == name:
                return job
        raise ConfigError(
            f"no scheduled job named {name!r}", hint="`kg schedule list` shows the jobs"
        )

    # --- runs ------------------------------------------------------------------------------

    def start_run(self, source: str, job: str | None) -> int:
        with self.transaction() as db:
            cur = db.execute(
                "INSERT INTO runs (job, source, started_at, status) VALUES (?, ?, ?, 'running')",
                (job, source, now_iso()),
            )
            return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, status: str, report: dict[str, Any]) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET finished_at = ?, status = ?, report = ? WHERE id = ?",
                (now_iso(), status, json.dumps(report), run_id),
            )

    def mark_interrupted(self, source: str) -> int:
        """Runs of ``source`` still marked running belong to dead processes (the caller holds
        the source's lock): say so. Returns how many there were."""
        with self.transaction() as db:
            return db.execute(
                "UPDATE runs SET status = 'interrupted' WHERE source = ? AND status = 'running'",
                (source,),
            ).rowcount

    def runs(self, job: str | None = None, limit: int = 20) -> list[Run]:
        where, params = ("WHERE job = ?", (job, limit)) if job else ("", (limit,))
        rows = self._db.execute(
            "SELECT id, job, source, started_at, finished_at, status, report FROM runs "
            f"{where} ORDER BY id DESC LIMIT ?",
            params,
        )
        return [Run(*r[:6], report=json.loads(r[6]) if r[6] else {}) for r in rows]

    def last_run(self, job: str) -> Run | None:
        found = self.runs(job, limit=1)
        return found[0] if found else None


def _put_cursor(db: sqlite3.Connection, source: str, value: dict[str, Any]) -> None:
    db.execute(
        "INSERT OR REPLACE INTO cursors VALUES (?, ?, ?)",
        (source, json.dumps(value, sort_keys=True), now_iso()),
    )
