"""Sources: readers that turn input files into :class:`~kg.model.Document` s.

Every reader is ``read_<fmt>(path) -> Iterator[Document | DeletedCitation | InputError]``:

* a record that cannot be read is *yielded* as an :class:`~kg.errors.InputError` (or its
  :class:`~kg.errors.OffsetMismatchError`) naming the file, record, line, raw text and a fix,
  and the reader goes on with the next record;
* a file that cannot be read at all (missing, not gzip though named ``.gz``, not XML, not the
  format's root element) *raises* :class:`~kg.errors.InputError`, when the reader is called
  where that can be told without parsing, else on the first ``next()``;
* ``.gz`` files are decompressed on the fly (found by their magic number);
* annotations are checked: offsets into title + " " + abstract are refused, never shifted, when
  they do not select the mention's text.

:data:`FORMATS` is the registry of readers by name; :func:`detect_format` names the format of a
file; :func:`read_path` reads a file or every file of a folder.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

from kg.errors import InputError
from kg.readers._common import CORPUS_ENTITY_TYPES, Item, check_file, head_text, log
from kg.readers.bioc import read_bioc_json, read_bioc_xml
from kg.readers.jsonl import read_jsonl
from kg.readers.pubmed import PUBMED_ROOTS, read_medline, read_pubmed
from kg.readers.pubtator import read_pubtator
from kg.readers.text import read_text

__all__ = [
    "CORPUS_ENTITY_TYPES",
    "FORMATS",
    "Item",
    "Reader",
    "detect_format",
    "read_bioc_json",
    "read_bioc_xml",
    "read_jsonl",
    "read_medline",
    "read_path",
    "read_pubmed",
    "read_pubtator",
    "read_text",
]

Reader = Callable[[str | Path], Iterator[Item]]

#: Readers by format name.
FORMATS: dict[str, Reader] = {
    "pubmed": read_pubmed,
    "medline": read_medline,
    "pubtator": read_pubtator,
    "bioc-xml": read_bioc_xml,
    "bioc-json": read_bioc_json,
    "text": read_text,
    "jsonl": read_jsonl,
}

#: File name endings (lower case, after any ``.gz``) that name a format outright.
SUFFIX_FORMATS: dict[str, str] = {
    ".pubtator": "pubtator",
    ".bioc.xml": "bioc-xml",
    ".bioc.json": "bioc-json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".medline": "medline",
    ".nbib": "medline",
}

#: Endings whose format is told by the first bytes; the value is the fallback, if any.
SNIFFED_SUFFIXES: dict[str, str | None] = {
    ".xml": None,
    ".json": None,
    ".txt": "text",
    ".text": "text",
    "": None,
}

_PUBTATOR_FIRST_LINE = re.compile(r"^[^\t|\n]+\|[ta]\|")
_XML_ROOT = re.compile(r"<([A-Za-z_][\w.:-]*)")
_XML_PROLOG = re.compile(r"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>)", re.S)


def _ending(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    for ending in SUFFIX_FORMATS:
        if name.endswith(ending):
            return ending
    return Path(name).suffix


def _sniff(head: str) -> str | None:
    """The format the first bytes of a file show, if they show one."""
    text = head.lstrip()
    if text.startswith("<"):
        rest = text
        while m := _XML_PROLOG.match(rest):
            rest = rest[m.end() :]
        root = _XML_ROOT.match(rest.lstrip())
        if root and root.group(1) in PUBMED_ROOTS:
            return "pubmed"
        if root and root.group(1) == "collection":
            return "bioc-xml"
        return None
    if text.startswith(("{", "[")):
        if '"passages"' in text or '"documents"' in text or '"PubTator3"' in text:
            return "bioc-json"
        if text.startswith("{") and '"title"' in text.split("\n", 1)[0]:
            return "jsonl"
        return None
    first = text.split("\n", 1)[0]
    if _PUBTATOR_FIRST_LINE.match(first):
        return "pubtator"
    if first.startswith("PMID-"):
        return "medline"
    return None


def detect_format(path: str | Path) -> str:
    """The format name of a file: by its ending, else by its first bytes (``.gz`` looked into).

    Raises :class:`InputError` when the file is missing or its format cannot be told.
    """
    file = check_file(path)
    found = _detect(file)
    if found is None:
        raise InputError(
            "cannot tell the format of this file",
            source=str(file),
            hint=f"name the format: one of {', '.join(FORMATS)}",
        )
    return found


def _detect(file: Path) -> str | None:
    ending = _ending(file)
    if ending in SUFFIX_FORMATS:
        return SUFFIX_FORMATS[ending]
    if ending in SNIFFED_SUFFIXES:
        return _sniff(head_text(file)) or SNIFFED_SUFFIXES[ending]
    return None


def _reader(fmt: str) -> Reader:
    found = FORMATS.get(fmt.strip().lower())
    if found is None:
        raise InputError(f"unknown input format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    return found


def read_path(path: str | Path, fmt: str | None = None) -> Iterator[Item]:
    """Read a file, or every file under a folder (recursively, sorted by path).

    ``fmt`` names the format; by default each file's is detected. In a folder, hidden files are
    passed over, so are files whose format cannot be detected (logged: READMEs, licences), and a
    file that cannot be read is yielded as an :class:`InputError` so the other files still are.
    """
    reader = _reader(fmt) if fmt is not None else None
    target = Path(path)
    if target.is_dir():
        return _read_folder(target, reader)
    return (reader or FORMATS[detect_format(target)])(target)


def _read_folder(folder: Path, reader: Reader | None) -> Iterator[Item]:
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    for file in files:
        try:
            check_file(file)
            read = reader or FORMATS.get(_detect(file) or "")
        except InputError as err:
            yield err
            continue
        if read is None:
            log.warning("%s: skipped (cannot tell its format)", file)
            continue
        try:
            yield from read(file)
        except InputError as err:
            yield err
