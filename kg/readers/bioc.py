"""BioC, as XML and as JSON (BioRED's ``*.bioc.json``, PubTator3's BioC-JSON).

A BioC document is a list of passages, each with its own ``offset`` in the document; annotation
locations are document offsets. Our :class:`Document` has one text, title + " " + abstract, so:

* the title is the first passage typed ``title`` (or ``front``) in its infons, else the first
  passage; every other passage, in order, joins the abstract, separated by single spaces;
* a location is mapped through its passage: ``offset - passage.offset`` is its place in the
  passage text, which sits at a known place in our text. Where the abstract passage's offset is
  ``len(title) + 1`` (BioRED) nothing moves; elsewhere the mapping follows the passages, and a
  location that falls outside its passage is an :class:`OffsetMismatchError`;
* an annotation with one location keeps its text, which must equal the text at the mapped
  offsets; an annotation with several locations (discontinuous) gives one mention per location,
  each with the text found there;
* annotation infons ``type`` and ``identifier`` (or the corpus keys ``MESH``, ``NCBI Gene``,
  ``NCBI Taxonomy``); types as in PubTator (see :mod:`kg.readers.pubtator`);
* relations from the document's and passages' ``relation`` elements: type from infons ``type``
  (or ``relation``), entities from infons ``entity1``/``entity2``, else from the two ``node``
  references to annotations, else BC5CDR's ``Chemical``/``Disease`` infons; ``novel`` from infons.

BioC XML is streamed document by document. BioC JSON is one JSON value, read whole: a
collection (``{"documents": [...]}``), a PubTator3 answer (``{"PubTator3": [...]}``), a list of
documents, or a single document.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from kg.errors import InputError, OffsetMismatchError
from kg.model import Document
from kg.readers._common import (
    Item,
    RawMention,
    RawRelation,
    annotated_document,
    check_file,
    head_text,
    open_binary,
    parse_novel,
    record_error,
    report_skipped,
)

#: Infon keys that hold an annotation's identifier, in order of preference.
IDENTIFIER_KEYS = ("identifier", "Identifier", "MESH", "NCBI Gene", "NCBI Taxonomy", "ID")
TITLE_PASSAGE_TYPES = frozenset({"title", "front"})


class _NotBioC(ValueError):
    """A document that does not follow BioC's layout."""


@dataclass(frozen=True, slots=True)
class _Passage:
    offset: int
    text: str
    #: Where the passage's text starts in the document's text.
    start: int


def read_bioc_json(path: str | Path) -> Iterator[Item]:
    """Documents with their annotations from a BioC JSON file."""
    return _read_json(check_file(path))


def _read_json(file: Path) -> Iterator[Item]:
    source = str(file)
    try:
        with open_binary(file) as fh:
            data = json.load(fh)
    except json.JSONDecodeError as err:
        raise InputError(
            f"not valid JSON ({err.msg})",
            source=source,
            line=err.lineno,
            hint="BioC JSON is one JSON value; for one object per line use jsonl",
        ) from err
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as err:
        raise InputError(f"cannot read: {err}", source=source) from err
    if isinstance(data, dict) and "documents" in data:
        documents = data["documents"]
    elif isinstance(data, dict) and "PubTator3" in data:
        documents = data["PubTator3"]
    elif isinstance(data, dict) and "passages" in data:
        documents = [data]
    else:
        documents = data
    if not isinstance(documents, list):
        raise InputError(
            "no BioC documents found",
            source=source,
            hint='a BioC collection is {"documents": [{"id": ..., "passages": [...]}]}',
        )
    skipped: Counter[str] = Counter()
    for doc in documents:
        yield _document(doc, source, skipped, raw=partial(json.dumps, doc, ensure_ascii=False))
    report_skipped(source, skipped)


def read_bioc_xml(path: str | Path) -> Iterator[Item]:
    """Documents with their annotations from a BioC XML file, streamed."""
    file = check_file(path)
    if not head_text(file, 1024).lstrip().startswith("<"):
        raise InputError("not XML", source=str(file), hint="BioC XML starts with <?xml")
    return _read_xml(file)


def _read_xml(file: Path) -> Iterator[Item]:
    source = str(file)
    skipped: Counter[str] = Counter()
    root: ET.Element | None = None
    depth = 0
    with open_binary(file) as fh:
        try:
            for event, elem in ET.iterparse(fh, events=("start", "end")):
                if event == "start":
                    if root is None:
                        root = elem
                        if elem.tag != "collection":
                            raise InputError(
                                f"root element <{elem.tag}> is not a BioC <collection>",
                                source=source,
                                hint="read PubMed XML as pubmed",
                            )
                    depth += 1
                    continue
                depth -= 1
                if depth == 1 and elem.tag == "document":
                    yield _document(
                        _xml_document(elem),
                        source,
                        skipped,
                        raw=_serialized(elem),
                    )
                if depth == 1:
                    root.clear()  # type: ignore[union-attr]  # keeps memory bounded
        except ET.ParseError as err:
            if root is None:
                raise InputError(
                    f"not well-formed XML ({err})", source=source, line=err.position[0]
                ) from err
            yield record_error(
                f"malformed XML ({err}); reading stopped here",
                source=source,
                line=err.position[0],
                hint="the file is truncated or damaged (the documents before this line were read)",
            )
        except (OSError, EOFError, zlib.error) as err:
            if root is None:
                raise InputError(f"cannot read: {err}", source=source) from err
            yield record_error(f"the file is damaged ({err}); reading stopped here", source=source)
    report_skipped(source, skipped)


def _serialized(elem: ET.Element) -> Callable[[], str]:
    return lambda: ET.tostring(elem, encoding="unicode")


def _infons(elem: ET.Element) -> dict[str, str]:
    return {i.get("key", ""): (i.text or "") for i in elem.iterfind("infon")}


def _xml_relation(elem: ET.Element) -> dict[str, Any]:
    return {
        "id": elem.get("id"),
        "infons": _infons(elem),
        "nodes": [{"refid": n.get("refid"), "role": n.get("role")} for n in elem.iterfind("node")],
    }


def _xml_document(elem: ET.Element) -> dict[str, Any]:
    """A BioC XML document in the shape of BioC JSON, so that one function reads both."""
    passages = []
    for p in elem.iterfind("passage"):
        annotations = [
            {
                "id": a.get("id"),
                "infons": _infons(a),
                "text": a.findtext("text", ""),
                "locations": [
                    {"offset": loc.get("offset"), "length": loc.get("length")}
                    for loc in a.iterfind("location")
                ],
            }
            for a in p.iterfind("annotation")
        ]
        passages.append(
            {
                "infons": _infons(p),
                "offset": p.findtext("offset"),
                "text": p.findtext("text"),
                "annotations": annotations,
                "relations": [_xml_relation(r) for r in p.iterfind("relation")],
            }
        )
    return {
        "id": elem.findtext("id"),
        "infons": _infons(elem),
        "passages": passages,
        "relations": [_xml_relation(r) for r in elem.iterfind("relation")],
    }


def _document(doc: Any, source: str, skipped: Counter[str], raw: Callable[[], str]) -> Item:
    """One BioC document (JSON shape) to a Document, or the error for it."""
    pmid = str(doc.get("id") or "").strip() if isinstance(doc, Mapping) else ""
    try:
        if not pmid:
            raise _NotBioC("document has no id")
        return _read_document(doc, pmid, source, skipped, raw)
    except _NotBioC as err:
        return record_error(
            str(err),
            source=source,
            record=pmid or None,
            raw=raw,
            hint="see the BioC layout: document id, passages with offset, text and annotations",
        )
    except OffsetMismatchError as err:
        return record_error(
            err.reason,
            source=source,
            record=pmid,
            raw=raw,
            hint=err.hint,
            kind=OffsetMismatchError,
        )


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise _NotBioC(f"{what} {value!r} is not a number")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _NotBioC(f"{what} {value!r} is not a number") from None


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _NotBioC(f"{what} is not a list")
    return value


def _map(value: Any, what: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _NotBioC(f"{what} is not an object")
    return value


def _read_document(
    doc: Mapping[str, Any],
    pmid: str,
    source: str,
    skipped: Counter[str],
    raw: Callable[[], str],
) -> Item:
    raw_passages = [_map(p, "passage") for p in _list(doc.get("passages"), "passages")]
    if not raw_passages:
        raise _NotBioC("document has no passages")
    types = [
        str(_map(p.get("infons"), "passage infons").get("type", "")).lower() for p in raw_passages
    ]
    title_index = next((i for i, t in enumerate(types) if t in TITLE_PASSAGE_TYPES), 0)
    order = [title_index] + [i for i in range(len(raw_passages)) if i != title_index]

    passages: dict[int, _Passage] = {}
    abstract_parts: list[str] = []
    position = 0
    for rank, index in enumerate(order):
        p = raw_passages[index]
        text = p.get("text") or ""
        if not isinstance(text, str):
            raise _NotBioC("passage text is not a string")
        if rank > 0 and text:
            position += 1  # the space before each part of the abstract
            abstract_parts.append(text)
        passages[index] = _Passage(_int(p.get("offset"), "passage offset"), text, position)
        position += len(text)

    title = passages[title_index].text
    mentions: list[RawMention] = []
    identifiers: dict[str, str] = {}
    relation_sources = list(_list(doc.get("relations"), "relations"))
    for index, p in enumerate(raw_passages):
        passage = passages[index]
        relation_sources.extend(_list(p.get("relations"), "passage relations"))
        for a in _list(p.get("annotations"), "annotations"):
            a = _map(a, "annotation")
            infons = _map(a.get("infons"), "annotation infons")
            label = infons.get("type")
            if not label:
                raise _NotBioC(f"annotation {a.get('id')!r} has no type infon")
            ident = next((str(infons[k]) for k in IDENTIFIER_KEYS if infons.get(k)), None)
            if a.get("id") is not None and ident:
                identifiers[str(a["id"])] = ident
            locations = _list(a.get("locations"), "locations")
            for loc in locations:
                loc = _map(loc, "location")
                start, length = _int(loc.get("offset"), "offset"), _int(loc.get("length"), "length")
                local = start - passage.offset
                if local < 0 or length <= 0 or local + length > len(passage.text):
                    raise OffsetMismatchError(
                        f"annotation {a.get('text')!r} at {start}-{start + length} lies outside "
                        f"its passage ({passage.offset}-{passage.offset + len(passage.text)})",
                        hint="locations are document offsets; fix the offset or length",
                    )
                mapped = passage.start + local
                if len(locations) == 1:
                    text = str(a.get("text") or "")
                else:
                    text = passage.text[local : local + length]
                mentions.append(RawMention(mapped, mapped + length, text, str(label), ident))

    relations = [_relation(_map(r, "relation"), identifiers) for r in relation_sources]
    title_infons = _map(raw_passages[title_index].get("infons"), "passage infons")
    year = str(title_infons.get("year") or "").strip()
    document = Document(
        pmid=pmid,
        title=title,
        abstract=" ".join(abstract_parts),
        journal=str(title_infons.get("journal") or "").strip() or None,
        pub_date=year[:4] if year[:4].isdigit() else None,
        source=source,
    )
    return annotated_document(document, mentions, relations, raw=raw, skipped=skipped)


def _relation(r: Mapping[str, Any], identifiers: Mapping[str, str]) -> RawRelation:
    infons = _map(r.get("infons"), "relation infons")
    label = infons.get("type") or infons.get("relation")
    if not label:
        raise _NotBioC(f"relation {r.get('id')!r} has no type infon")
    nodes: Sequence[Any] = _list(r.get("nodes"), "relation nodes")
    if infons.get("entity1") and infons.get("entity2"):
        id1, id2 = str(infons["entity1"]), str(infons["entity2"])
    elif len(nodes) == 2:
        refs = [str(_map(n, "node").get("refid")) for n in nodes]
        missing = [ref for ref in refs if ref not in identifiers]
        if missing:
            raise _NotBioC(f"relation {r.get('id')!r} refers to unknown annotations {missing}")
        id1, id2 = identifiers[refs[0]], identifiers[refs[1]]
    elif infons.get("Chemical") and infons.get("Disease"):
        id1, id2 = str(infons["Chemical"]), str(infons["Disease"])
    else:
        raise _NotBioC(f"relation {r.get('id')!r} names no two entities")
    try:
        novel = parse_novel(infons.get("novel"))
        score = float(infons["score"]) if infons.get("score") not in (None, "") else None
    except ValueError as err:
        raise _NotBioC(str(err)) from None
    source = str(infons["source"]) if infons.get("source") else None
    return RawRelation(str(label), id1, id2, novel, score=score, source=source)
