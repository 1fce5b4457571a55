"""Incremental sources: where new, revised and deleted records come from, and how far we got.

A source turns its input into :class:`Unit` s of work, in the order they must be applied: one
update file, one watched file, one E-utilities ``efetch`` batch. A unit reads its records
(:data:`kg.readers.Item` s) and, once the graph holds them, ``commit`` s the source's cursor
to the :class:`~kg.sources.state.StateStore`. The runner (:mod:`kg.sources.pull`) never commits
a unit whose write failed, so a failed or killed run is completed by running it again.

Sources are registered by name in :data:`SOURCES` and built from a JSON-able spec
(``{"source": "updates", "options": {...}}``), which is what a scheduled job stores.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from kg.errors import ConfigError, InputError, KGError
from kg.readers import Item

if TYPE_CHECKING:
    from kg.config import Settings
    from kg.sources.state import SeenFile, StateStore


class SourceError(KGError):
    """A source could not deliver its records (a damaged file, a refused query)."""


class SourceUnavailableError(SourceError):
    """A remote source did not answer after every retry. Running again later may work."""

    transient = True


#: The phrase every reader puts in the error of a file that breaks off mid-way.
TRUNCATION_PHRASE = "reading stopped here"


def is_truncation(error: InputError) -> bool:
    """True for the error a reader yields when a file breaks off (its later records are lost)."""
    return TRUNCATION_PHRASE in error.reason


@dataclass(slots=True)
class Unit:
    """One piece of work whose cursor commits as a whole, after the graph write succeeded.

    ``on_broken`` says what a file that breaks off mid-way does: ``stop`` the run (update files
    must be applied in order) or ``skip`` this unit only (it is retried on the next run).
    """

    label: str
    read: Callable[[], Iterator[Item]]
    commit: Callable[[StateStore], None]
    on_broken: Literal["stop", "skip"] = "stop"
    expected: int | None = None


class Source(Protocol):
    """Yields the units still to do, given what the state store says was done."""

    #: The registry name (``eutils``, ``updates``, ``watch``).
    kind: str
    #: The state key: one cursor per key.
    key: str
    #: Things the user should know that are not errors (files out of order, skipped files).
    notes: list[str]

    def units(self, store: StateStore) -> Iterator[Unit]: ...


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """What a pull reads, as stored with a scheduled job."""

    source: str
    options: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "options": self.options}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SourceSpec:
        return cls(str(data["source"]), dict(data.get("options", {})))


#: name -> "module:Class"; a class has ``from_options(settings, **options)``.
SOURCES: dict[str, str] = {
    "eutils": "kg.sources.eutils:EutilsSource",
    "updates": "kg.sources.files:UpdateFilesSource",
    "watch": "kg.sources.files:WatchFolderSource",
}


def make_source(spec: SourceSpec, settings: Settings) -> Source:
    """The source a spec names, built and checked before any work is done."""
    target = SOURCES.get(spec.source)
    if target is None:
        raise ConfigError(
            f"unknown source {spec.source!r}", hint=f"use one of {', '.join(sorted(SOURCES))}"
        )
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls).from_options(settings, **spec.options)


def file_state(path: Path, *, digest: bool = True) -> SeenFile:
    """A file's size, mtime and (unless ``digest`` is False) SHA-256, for the files-seen table."""
    from kg.sources.state import SeenFile

    stat = path.stat()
    sha = ""
    if digest:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        sha = h.hexdigest()
    return SeenFile(str(path), stat.st_size, stat.st_mtime_ns, sha)
