"""PubTator: the annotated-abstract format of BioRED, BC5CDR, AIONER and NCBI-disease.

A record is a block of lines, blocks separated by blank lines::

    PMID|t|title
    PMID|a|abstract
    PMID<TAB>start<TAB>end<TAB>mention<TAB>Type[<TAB>ID[<TAB>...]]
    PMID<TAB>RelType<TAB>ID1<TAB>ID2[<TAB>Novel|No]

Offsets count characters of title + " " + abstract. The ID field may be missing, ``-``, padded
with spaces, or hold several IDs (``D006470|D003556``, ``12525,12526``); BC5CDR adds a seventh
field with the parts of a composite mention, which is ignored. A new ``|t|`` line also starts a
new record when the blank line is missing.

Decisions:

* Type names are those of :mod:`kg.schema` plus :data:`CORPUS_ENTITY_TYPES`: the AIONER files use
  ``FamilyName`` (gene families: read as Gene) and ``OtherMutation`` (tmVar3: read as Variant);
  ``DomainMotif``, ``Cell``, ``ChromosomeLocation``, ``OTHER`` and ``NonStandardRef`` name no
  entity of our schema: those mentions are left out, counted and logged once per file, and the
  rest of the record is kept. Any other unknown type fails the record.
* A record whose PMID repeats (NLM-Chem splits full texts into many records with one PMID) is
  yielded as it is; merging is not the reader's business.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from kg.errors import InputError
from kg.model import Document
from kg.readers._common import (
    Item,
    RawMention,
    RawRelation,
    annotated_document,
    check_file,
    numbered_lines,
    open_binary,
    parse_novel,
    record_error,
    report_skipped,
)

_TEXT_LINE = re.compile(r"^([^|\t]*)\|([ta])\|(.*)$", re.DOTALL)
_INT = re.compile(r"^-?\d+$")

#: A record's lines: (line number, text; None where the line is not UTF-8).
_Block = list[tuple[int, str | None]]


def read_pubtator(path: str | Path) -> Iterator[Item]:
    """Documents with their mentions and relations from a PubTator file (``.gz`` too)."""
    return _read(check_file(path))


def _read(file: Path) -> Iterator[Item]:
    source = str(file)
    skipped: Counter[str] = Counter()
    block: _Block = []
    has_title = False
    with open_binary(file) as fh:
        try:
            for number, text in numbered_lines(fh):
                if text is not None and not text.strip():
                    if block:
                        yield _record(block, source, skipped)
                    block, has_title = [], False
                    continue
                is_title = text is not None and _is_title(text)
                if is_title and has_title:
                    yield _record(block, source, skipped)
                    block = []
                has_title = has_title or is_title
                block.append((number, text))
        except (OSError, EOFError, zlib.error) as err:
            yield _broken_file(source, err)
            return
        if block:
            yield _record(block, source, skipped)
    report_skipped(source, skipped)


def _is_title(text: str) -> bool:
    m = _TEXT_LINE.match(text)
    return m is not None and m.group(2) == "t"


def _broken_file(source: str, err: Exception) -> InputError:
    return record_error(
        f"the file is damaged ({err}); reading stopped here",
        source=source,
        hint="fetch the file again; the records before this point were read",
    )


def _record(block: _Block, source: str, skipped: Counter[str]) -> Item:
    """One PubTator block to a Document, or the InputError that says what is wrong with it."""
    first_line = block[0][0]
    raw = "\n".join(text or "" for _, text in block)
    pmid: str | None = None
    texts: dict[str, str] = {}
    mentions: list[RawMention] = []
    relations: list[RawRelation] = []
    ids_seen: list[tuple[int, str]] = []

    def error(message: str, line: int, hint: str | None = None) -> InputError:
        return record_error(message, source=source, record=pmid, line=line, raw=raw, hint=hint)

    for number, text in block:
        if text is None:
            return error("the line is not valid UTF-8", number, "save the file as UTF-8")
        if m := _TEXT_LINE.match(text):
            line_id, kind, content = m.group(1).strip(), m.group(2), m.group(3)
            if kind in texts:
                return error(
                    f"a second {'title' if kind == 't' else 'abstract'} line",
                    number,
                    "separate records with a blank line",
                )
            texts[kind] = content
            if kind == "t":
                pmid = line_id
            ids_seen.append((number, line_id))
            continue
        fields = text.split("\t")
        ids_seen.append((number, fields[0].strip()))
        if len(fields) >= 3 and _INT.match(fields[1]) and _INT.match(fields[2]):
            if len(fields) < 5:
                return error(
                    f"mention line has {len(fields)} fields",
                    number,
                    "write PMID, start, end, mention text, type and ID separated by tabs",
                )
            ident = fields[5] if len(fields) > 5 else None
            mentions.append(
                RawMention(int(fields[1]), int(fields[2]), fields[3], fields[4], ident, number)
            )
        elif len(fields) in (4, 5):
            try:
                novel = parse_novel(fields[4]) if len(fields) == 5 else None
            except ValueError as err:
                return error(str(err), number, "the fifth field of a relation is Novel or No")
            relations.append(RawRelation(fields[1], fields[2], fields[3], novel, number))
        else:
            return error(
                "line is neither a title, an abstract, a mention nor a relation",
                number,
                "see the PubTator layout: PMID|t|title, PMID|a|abstract, tab-separated "
                "mention and relation lines",
            )

    if "t" not in texts or not pmid:
        pmid = pmid or next((line_id for _, line_id in ids_seen if line_id), None)
        return error(
            "record has no title line with a PMID" if "t" not in texts else "the PMID is empty",
            first_line,
            "start each record with PMID|t|title",
        )
    for number, line_id in ids_seen:
        if line_id != pmid:
            return error(
                f"line names PMID {line_id!r}, the record is {pmid!r}",
                number,
                "separate records with a blank line; every line of a record starts with its PMID",
            )
    doc = Document(pmid=pmid, title=texts["t"], abstract=texts.get("a", ""), source=source)
    return annotated_document(doc, mentions, relations, raw=raw, skipped=skipped, line=first_line)
