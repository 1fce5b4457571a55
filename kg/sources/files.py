"""File sources: PubMed baseline/update files in order, and a watched folder of any format.

* :class:`UpdateFilesSource` applies ``pubmedYYnNNNN.xml.gz`` files (baseline or daily update)
  from a local folder or mirror in name order, which is NCBI's release order. Its cursor is the
  last file applied; a file that sorts before it and was never applied is reported, not applied
  (applying it late could bring back a citation a later file deleted). A ``.md5`` file next to
  an update file, as NCBI publishes them, is checked first. A file that breaks off mid-way stops
  the run: later files wait until it is fetched again.
* :class:`WatchFolderSource` loads every new or changed file under a folder (PubTator, BioC,
  PubMed XML, text, JSONL; format detected per file). A file is known by path, size and mtime;
  when those change its SHA-256 decides whether it really did. Files still being written (changed
  in the last ``settle_s`` seconds) wait for the next run, and so does a file that breaks off.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg.errors import ConfigError, InputError
from kg.readers import Item, detect_format, read_path, read_pubmed
from kg.sources import SourceError, Unit, file_state

if TYPE_CHECKING:
    from kg.config import Settings
    from kg.sources.state import StateStore

log = logging.getLogger(__name__)

#: Names of PubMed XML files an update folder may hold.
PUBMED_FILE = re.compile(r"\.xml(\.gz)?$", re.IGNORECASE)
_MD5_LINE = re.compile(r"([0-9a-fA-F]{32})")


def _folder(path: str | Path) -> Path:
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder", hint="give the folder that holds the files")
    return folder


def _visible_files(folder: Path, recursive: bool) -> list[Path]:
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(
        p
        for p in found
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def check_md5(file: Path) -> None:
    """Compare ``file`` with the digest in ``file.md5`` when NCBI's sidecar file is there."""
    sidecar = file.with_name(file.name + ".md5")
    if not sidecar.is_file():
        return
    m = _MD5_LINE.search(sidecar.read_text(encoding="utf-8", errors="replace"))
    if m is None:
        raise SourceError(f"{sidecar}: no MD5 digest in it", hint="fetch the .md5 file again")
    h = hashlib.md5(usedforsecurity=False)
    with file.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    if h.hexdigest().lower() != m.group(1).lower():
        raise SourceError(
            f"{file.name} does not match its MD5 ({sidecar.name}): the download is incomplete",
            hint="fetch the file again; later files wait until this one is applied",
        )


class UpdateFilesSource:
    """PubMed baseline and update files from a folder, applied once each, in name order."""

    kind = "updates"

    def __init__(self, folder: str | Path) -> None:
        self.folder = _folder(folder)
        self.key = f"updates:{self.folder}"
        self.notes: list[str] = []

    @classmethod
    def from_options(cls, settings: Settings, *, path: str) -> UpdateFilesSource:
        return cls(path)

    def files(self) -> list[Path]:
        return [p for p in _visible_files(self.folder, False) if PUBMED_FILE.search(p.name)]

    def units(self, store: StateStore) -> Iterator[Unit]:
        last = (store.cursor(self.key) or {}).get("last_file", "")
        seen = store.seen_files(self.key)
        for file in self.files():
            if file.name <= last:
                if str(file) not in seen:
                    self.notes.append(
                        f"{file.name} sorts before {last}, which was applied already: not applied "
                        "(it could undo later changes; --full replays every file in order)"
                    )
                continue
            yield Unit(
                label=file.name,
                read=partial(self._read, file),
                commit=partial(self._commit, file),
                on_broken="stop",
            )

    def _read(self, file: Path) -> Iterator[Item]:
        check_md5(file)
        yield from read_pubmed(file)

    def _commit(self, file: Path, store: StateStore) -> None:
        store.mark_file(self.key, file_state(file), cursor={"last_file": file.name})


class WatchFolderSource:
    """New and changed files under a folder, any supported format, each loaded once."""

    kind = "watch"

    def __init__(self, folder: str | Path, fmt: str | None = None, settle_s: float = 2.0) -> None:
        self.folder = _folder(folder)
        self.fmt = fmt
        self.settle_s = settle_s
        self.key = f"watch:{self.folder}"
        self.notes: list[str] = []

    @classmethod
    def from_options(
        cls, settings: Settings, *, path: str, fmt: str | None = None, settle_s: float = 2.0
    ) -> WatchFolderSource:
        return cls(path, fmt, settle_s)

    def units(self, store: StateStore) -> Iterator[Unit]:
        seen = store.seen_files(self.key)
        files = _visible_files(self.folder, True)
        gone = set(seen) - {str(f) for f in files}
        if gone:
            self.notes.append(
                f"{len(gone)} file(s) loaded before are gone; their records stay in the graph"
            )
        for file in files:
            stat = file.stat()
            before = seen.get(str(file))
            if before and (before.size, before.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
                continue
            if time.time() - stat.st_mtime < self.settle_s:
                self.notes.append(f"{file.name} changed just now: left for the next run")
                continue
            now = file_state(file)
            if before and before.sha256 == now.sha256:
                store.mark_file(self.key, now)  # touched, not changed
                continue
            try:
                fmt = self.fmt or detect_format(file)
            except InputError as err:
                self.notes.append(f"{file.name}: skipped ({err.reason})")
                continue
            yield Unit(
                label=str(file.relative_to(self.folder)),
                read=partial(read_path, file, fmt),
                commit=partial(store_file, self.key, now),
                on_broken="skip",
            )


def store_file(key: str, seen: Any, store: StateStore) -> None:
    """Record a watched file as loaded, as it was when it was read."""
    store.mark_file(key, seen)
