"""What every reader shares: opening files, record errors, and building annotated documents.

Annotated formats (PubTator, BioC, JSONL) first collect their annotations as they are written
(:class:`RawMention`, :class:`RawRelation`) and then call :func:`annotated_document`, so that
type names, identifiers and offsets are checked the same way whatever the format.
"""

from __future__ import annotations

import gzip
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from kg.errors import InputError, OffsetMismatchError, SchemaError
from kg.identifiers import normalize_ids
from kg.model import AnnotatedRelation, DeletedCitation, Document, Mention
from kg.schema import EntityType, parse_entity_type, parse_relation_type

log = logging.getLogger("kg.readers")

#: What a reader yields: documents, PubMed deletions, and the records it could not read.
Item = Document | DeletedCitation | InputError

#: How much of a bad record's text an error keeps.
RAW_LIMIT = 2000

GZIP_MAGIC = b"\x1f\x8b"

#: Type names some corpora use that our schema does not have. A type maps onto one of ours, or
#: to None: such mentions are left out of the document (counted, logged per file), the rest of
#: the record is kept. Any other unknown type makes the record fail.
CORPUS_ENTITY_TYPES: dict[str, EntityType | None] = {
    # GNormPlus / NLM-Gene gene families ("PI3K", "NF-kappaB", "Wnt"); often linked to genes.
    "familyname": EntityType.GENE,
    # tmVar3 variants written outside the standard notations ("Delta32", "13-bp deletion").
    "othermutation": EntityType.VARIANT,
    # GNormPlus / NLM-Gene protein domains ("SH2 domain"): parts of genes, not entities here.
    "domainmotif": None,
    # NLM-Gene cell types and chromosome locations ("T cells", "22q11.2").
    "cell": None,
    "chromosomelocation": None,
    # NLM-Chem: things that are not chemicals, and references like "compound 1a".
    "other": None,
    "nonstandardref": None,
}

_NOVEL: dict[str, bool] = {"novel": True, "no": False, "true": True, "false": False}
_ID_PARTS = re.compile(r"[,;]")
_GENERIC_ID_PARTS = re.compile(r"[,;|]")


def truncate(raw: str | None) -> str | None:
    if raw is None or len(raw) <= RAW_LIMIT:
        return raw
    return raw[:RAW_LIMIT] + "…"


#: A record's raw text, or a function that makes it (only called when there is an error).
Raw = str | Callable[[], str] | None


def record_error(
    message: str,
    *,
    source: str,
    record: str | None = None,
    line: int | None = None,
    raw: Raw = None,
    hint: str | None = None,
    kind: type[InputError] = InputError,
) -> InputError:
    """An error for one record, to be yielded (not raised) so the reader goes on."""
    text = raw() if callable(raw) else raw
    return kind(message, source=source, record=record, line=line, raw=truncate(text), hint=hint)


def check_file(path: str | Path) -> Path:
    """The path of a readable file, or an :class:`InputError` saying why it is not one."""
    file = Path(path)
    if not file.exists():
        raise InputError("no such file", source=str(file), hint="check the path")
    if not file.is_file():
        raise InputError(
            "not a file", source=str(file), hint="use read_path() to read every file of a folder"
        )
    try:
        with file.open("rb") as fh:
            magic = fh.read(2)
    except OSError as err:
        raise InputError(f"cannot open: {err.strerror}", source=str(file)) from err
    if file.suffix.lower() == ".gz" and magic != GZIP_MAGIC:
        raise InputError(
            "named .gz but not gzip-compressed",
            source=str(file),
            hint="decompress it first or rename it without .gz",
        )
    return file


def open_binary(file: Path) -> BinaryIO:
    """The file's bytes, decompressed when it is gzip (found by its magic number)."""
    fh = file.open("rb")
    if fh.read(2) == GZIP_MAGIC:
        fh.close()
        return gzip.open(file, "rb")  # type: ignore[return-value]
    fh.seek(0)
    return fh


def head_text(file: Path, size: int = 65536) -> str:
    """The first bytes of a (possibly gzipped) file as text, for format sniffing."""
    try:
        with open_binary(file) as fh:
            data = fh.read(size)
    except (OSError, EOFError) as err:
        raise InputError(f"cannot read: {err}", source=str(file)) from err
    return data.decode("utf-8", errors="replace").lstrip("\ufeff")


def numbered_lines(fh: BinaryIO) -> Iterator[tuple[int, str | None]]:
    """(1-based line number, text without its line break) for each line; None if not UTF-8.

    Lines end at ``\\n`` only, so a stray ``\\r`` inside a text keeps its place in the offsets.
    """
    for number, data in enumerate(fh, 1):
        if data.endswith(b"\n"):
            data = data[:-2] if data.endswith(b"\r\n") else data[:-1]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            yield number, None
            continue
        if number == 1:
            text = text.lstrip("\ufeff")
        yield number, text


def parse_novel(value: str | bool | None) -> bool | None:
    """BioRED's novelty flag (``Novel``/``No``); raises ValueError for anything else."""
    if value is None or isinstance(value, bool):
        return value
    key = value.strip().lower()
    if not key:
        return None
    if key not in _NOVEL:
        raise ValueError(f"novelty {value!r} is not Novel or No")
    return _NOVEL[key]


def entity_type(label: str) -> EntityType | None:
    """Our type for a corpus type name; None for the known types we leave out.

    Raises :class:`SchemaError` for an unknown type name.
    """
    key = label.strip().lower()
    if key in CORPUS_ENTITY_TYPES:
        return CORPUS_ENTITY_TYPES[key]
    return parse_entity_type(label)


@dataclass(frozen=True, slots=True)
class RawMention:
    """A mention as a file states it: type name and identifier field not yet interpreted."""

    start: int
    end: int
    text: str
    type: str
    #: The identifier field (several IDs joined by ``,``/``;``/``|``), or a list of them.
    ids: str | Sequence[str] | None = None
    line: int | None = None


@dataclass(frozen=True, slots=True)
class RawRelation:
    type: str
    id1: str
    id2: str
    novel: bool | None = None
    line: int | None = None
    #: A model's score and ``name@version``, when the file was written by ``kg extract``.
    score: float | None = None
    source: str | None = None


def _id_fields(ids: str | Sequence[str] | None) -> list[str]:
    if ids is None:
        return []
    return [ids] if isinstance(ids, str) else list(ids)


def _id_keys(field: str, etype: EntityType) -> set[str]:
    """The raw IDs a relation line may use to name a mention with this identifier field."""
    field = field.strip()
    # A variant's notation contains '|' (c|SUB|C|1012|T): split it only on ',' and ';'.
    parts = _ID_PARTS if etype is EntityType.VARIANT else _GENERIC_ID_PARTS
    return {field, *(p.strip() for p in parts.split(field))} - {""}


def _relation_id(raw: str, id_types: dict[str, EntityType]) -> str:
    """The relation's ID normalized as the mention that carries it; the raw ID otherwise."""
    raw = raw.strip()
    etype = id_types.get(raw)
    if etype is not None:
        ids = normalize_ids(raw, etype)
        if ids:
            return ids[0]
    return raw


def annotated_document(
    doc: Document,
    mentions: Sequence[RawMention],
    relations: Sequence[RawRelation],
    *,
    raw: Raw,
    skipped: Counter[str],
    line: int | None = None,
) -> Document | InputError:
    """``doc`` with its annotations interpreted and checked, or the error for this record.

    Type names go through :func:`entity_type`, IDs through :func:`normalize_ids`, relation
    types through :func:`parse_relation_type`. Offsets are checked against ``doc.text`` and
    refused (:class:`OffsetMismatchError`), never shifted. Mentions of left-out types are
    counted in ``skipped`` by type name. ``line`` is where the record starts.
    """
    source = doc.source or ""
    built: list[Mention] = []
    lines: list[int | None] = []
    id_types: dict[str, EntityType] = {}
    for m in mentions:
        try:
            etype = entity_type(m.type)
        except SchemaError as err:
            return record_error(
                err.message,
                source=source,
                record=doc.pmid,
                line=m.line or line,
                raw=raw,
                hint=err.hint,
            )
        if etype is None:
            skipped[m.type] += 1
            continue
        ids: list[str] = []
        for field in _id_fields(m.ids):
            ids.extend(i for i in normalize_ids(field, etype) if i not in ids)
            for key in _id_keys(field, etype):
                id_types.setdefault(key, etype)
        built.append(Mention(m.start, m.end, m.text, etype, tuple(ids)))
        lines.append(m.line)

    rels: list[AnnotatedRelation] = []
    for r in relations:
        try:
            rtype = parse_relation_type(r.type)
        except SchemaError as err:
            return record_error(
                err.message,
                source=source,
                record=doc.pmid,
                line=r.line or line,
                raw=raw,
                hint=err.hint,
            )
        rels.append(
            AnnotatedRelation(
                rtype,
                _relation_id(r.id1, id_types),
                _relation_id(r.id2, id_types),
                r.novel,
                r.score,
                r.source or "annotation",
            )
        )

    result = replace(doc, mentions=tuple(built), relations=tuple(rels))
    try:
        result.check_offsets()
    except OffsetMismatchError as err:
        return record_error(
            err.reason,
            source=source,
            record=doc.pmid,
            line=_first_mismatch(result, lines) or line,
            raw=raw,
            hint=err.hint,
            kind=OffsetMismatchError,
        )
    return result


def _first_mismatch(doc: Document, lines: Sequence[int | None]) -> int | None:
    text = doc.text
    for m, number in zip(doc.mentions, lines, strict=True):
        if text[m.start : m.end] != m.text or not 0 <= m.start < m.end <= len(text):
            return number
    return None


def report_skipped(source: str, skipped: Counter[str]) -> None:
    """Log, once per file, the mentions left out because their type is outside the schema."""
    if skipped:
        detail = ", ".join(f"{name}: {count}" for name, count in skipped.most_common())
        log.warning(
            "%s: left out %d mentions of types outside the schema (%s)",
            source,
            sum(skipped.values()),
            detail,
        )
