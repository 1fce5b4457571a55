"""Plain text: one document per file.

The first non-empty line is the title; the remaining non-empty lines, stripped and joined by
single spaces, are the abstract (so the text stays one line, as the PubTator output needs).
The document's id is ``text:`` + the file name without its suffixes (``notes.txt.gz`` ->
``text:notes``). An empty file, or one that is not UTF-8, is an :class:`InputError` record.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

from kg.model import Document
from kg.readers._common import Item, check_file, open_binary, record_error

TEXT_ID_PREFIX = "text:"


def read_text(path: str | Path) -> Iterator[Item]:
    """One document from a plain-text file."""
    return _read(check_file(path))


def text_id(file: Path) -> str:
    name = file.name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    return TEXT_ID_PREFIX + Path(name).stem


def _read(file: Path) -> Iterator[Item]:
    source = str(file)
    pmid = text_id(file)
    try:
        with open_binary(file) as fh:
            data = fh.read()
    except (OSError, EOFError, zlib.error) as err:
        yield record_error(f"cannot read: {err}", source=source, record=pmid)
        return
    try:
        content = data.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        yield record_error(
            f"not valid UTF-8 ({err.reason})",
            source=source,
            record=pmid,
            line=line,
            raw=data[:2000].decode("utf-8", errors="replace"),
            hint="save the file as UTF-8",
        )
        return
    lines = [line.strip() for line in content.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        yield record_error(
            "the file has no text", source=source, record=pmid, hint="remove the file"
        )
        return
    yield Document(pmid=pmid, title=lines[0], abstract=" ".join(lines[1:]), source=source)
