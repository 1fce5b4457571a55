"""JSON Lines: one document per line, validated at the edge.

Each non-blank line is an object::

    {"pmid": "123", "title": "...", "abstract": "...", "journal": "...", "pub_date": "2020-05",
     "mesh_terms": ["MESH:D000818"], "version": 1,
     "mentions": [{"start": 0, "end": 5, "text": "...", "type": "Gene", "ids": ["7157"]}],
     "relations": [{"type": "Association", "id1": "7157", "id2": "D009369", "novel": true}]}

``id`` may stand for ``pmid`` and ``year`` for ``pub_date``; ``ids`` is a list or one string
(several IDs joined by ``,``); ``novel`` is a boolean or BioRED's ``Novel``/``No``. A MeSH term
without a prefix gets ``MESH:``. Unknown keys are ignored. A line that is not JSON or not such
an object yields an :class:`InputError` with its line number.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

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

_HINT = "one JSON object per line with pmid (or id), title, abstract, mentions, relations"


class JsonMention(BaseModel):
    model_config = ConfigDict(extra="ignore")

    start: int
    end: int
    text: str
    type: str
    ids: list[str] | str | None = None


class JsonRelation(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str
    id1: str
    id2: str
    novel: bool | str | None = None
    score: float | None = None
    source: str | None = None


class JsonDocument(BaseModel):
    """One line of a JSONL input file."""

    model_config = ConfigDict(extra="ignore")

    pmid: str | int | None = None
    id: str | int | None = None
    title: str
    abstract: str = ""
    journal: str | None = None
    pub_date: str | None = None
    year: int | str | None = None
    mesh_terms: list[str] = []
    version: int = 1
    mentions: list[JsonMention] = []
    relations: list[JsonRelation] = []

    @model_validator(mode="after")
    def _has_id(self) -> JsonDocument:
        if not str(self.pmid if self.pmid is not None else self.id or "").strip():
            raise ValueError("needs a pmid (or id)")
        return self

    @property
    def doc_id(self) -> str:
        return str(self.pmid if self.pmid is not None else self.id).strip()


def read_jsonl(path: str | Path) -> Iterator[Item]:
    """Documents (with annotations, if given) from a JSON Lines file (``.gz`` too)."""
    return _read(check_file(path))


def _read(file: Path) -> Iterator[Item]:
    source = str(file)
    skipped: Counter[str] = Counter()
    with open_binary(file) as fh:
        try:
            for number, text in numbered_lines(fh):
                if text is None or text.strip():
                    yield _line(number, text, source, skipped)
        except (OSError, EOFError, zlib.error) as err:
            yield record_error(f"the file is damaged ({err}); reading stopped here", source=source)
            return
    report_skipped(source, skipped)


def _validation_message(err: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'line'}: {e['msg']}" for e in err.errors()
    )


def _line(number: int, text: str | None, source: str, skipped: Counter[str]) -> Item:
    if text is None:
        return record_error(
            "the line is not valid UTF-8", source=source, line=number, hint="save as UTF-8"
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        return record_error(
            f"not JSON ({err.msg} at column {err.colno})",
            source=source,
            line=number,
            raw=text,
            hint=_HINT,
        )
    record = None
    if isinstance(data, dict):
        found = data.get("pmid", data.get("id"))
        record = str(found) if found is not None else None
    try:
        item = JsonDocument.model_validate(data)
    except ValidationError as err:
        return record_error(
            _validation_message(err),
            source=source,
            record=record,
            line=number,
            raw=text,
            hint=_HINT,
        )
    try:
        relations = [
            RawRelation(r.type, r.id1, r.id2, parse_novel(r.novel), number, r.score, r.source)
            for r in item.relations
        ]
    except ValueError as err:
        return record_error(
            str(err), source=source, record=item.doc_id, line=number, raw=text, hint=_HINT
        )
    pub_date = item.pub_date or (str(item.year) if item.year is not None else None)
    doc = Document(
        pmid=item.doc_id,
        title=item.title,
        abstract=item.abstract,
        journal=item.journal,
        pub_date=pub_date,
        mesh_terms=tuple(t if ":" in t else f"MESH:{t}" for t in item.mesh_terms),
        version=item.version,
        source=source,
    )
    mentions = [RawMention(m.start, m.end, m.text, m.type, m.ids, number) for m in item.mentions]
    return annotated_document(doc, mentions, relations, raw=text, skipped=skipped, line=number)
