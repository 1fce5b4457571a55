"""Writing documents as BioC XML, the layout ``kg/readers/bioc.py`` reads back.

One ``<document>`` per publication: a title passage (offset 0, infons ``type=title``, ``year``,
``journal``) and an abstract passage (offset ``len(title) + 1``, as BioRED), annotations on the
passage that holds them with document offsets, and relations on the document with infons
``type``, ``entity1``, ``entity2`` and ``novel``. Written element by element, so any number of
documents streams through constant memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO
from xml.sax.saxutils import escape, quoteattr

from kg.model import Document


def _infon(key: str, value: str) -> str:
    return f"<infon key={quoteattr(key)}>{escape(value)}</infon>"


def format_document(doc: Document) -> str:
    """One ``<document>`` element (see the module doc)."""
    title_end = len(doc.title)
    abstract_offset = title_end + 1
    parts = [f"<document><id>{escape(doc.pmid)}</id>"]
    passages = [(0, doc.title, "title"), (abstract_offset, doc.abstract, "abstract")]
    n = 0
    for offset, text, kind in passages:
        if kind == "abstract" and not text:
            continue
        infons = _infon("type", kind)
        if kind == "title":
            if doc.year:
                infons += _infon("year", str(doc.year))
            if doc.journal:
                infons += _infon("journal", doc.journal)
        parts.append(f"<passage>{infons}<offset>{offset}</offset><text>{escape(text)}</text>")
        end = offset + len(text)
        for m in doc.mentions:
            if not (offset <= m.start and m.end <= end):
                continue
            ident = ",".join(m.ids) or "-"
            parts.append(
                f'<annotation id="{n}">{_infon("identifier", ident)}{_infon("type", m.type.value)}'
                f'<location offset="{m.start}" length="{m.end - m.start}"/>'
                f"<text>{escape(m.text)}</text></annotation>"
            )
            n += 1
        parts.append("</passage>")
    for i, r in enumerate(doc.relations):
        novel = "" if r.novel is None else _infon("novel", "Novel" if r.novel else "No")
        model = (
            "" if r.score is None else _infon("score", str(r.score)) + _infon("source", r.source)
        )
        parts.append(
            f'<relation id="R{i}">{_infon("type", r.type.value)}{_infon("entity1", r.id1)}'
            f"{_infon('entity2', r.id2)}{novel}{model}</relation>"
        )
    parts.append("</document>\n")
    return "".join(parts)


def write_bioc(docs: Iterable[Document], out: TextIO, source: str = "kg") -> int:
    """A BioC collection of ``docs``; returns how many were written."""
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE collection SYSTEM "BioC.dtd">\n')
    out.write(
        f"<collection><source>{escape(source)}</source>"
        f"<date>{datetime.now(UTC).strftime('%Y-%m-%d')}</date><key>BioC.key</key>\n"
    )
    n = 0
    for doc in docs:
        out.write(format_document(doc))
        n += 1
    out.write("</collection>\n")
    return n
