"""Writing documents as BioC XML: two passages (title at offset 0, abstract at len(title) + 1),
annotations with document-level offsets, and document-level relations.

Offsets stay those of ``title + " " + abstract``, as in PubTator, so a file written here reads
back (``kg.readers``) to the same mentions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO
from xml.sax.saxutils import escape, quoteattr

from kg.identifiers import to_pubtator_id
from kg.model import Document


def _infon(key: str, value: str) -> str:
    return f"<infon key={quoteattr(key)}>{escape(value)}</infon>"


def format_bioc_document(doc: Document) -> str:
    parts = [f"<document><id>{escape(doc.pmid)}</id>"]
    title_end = len(doc.title)
    passages = (("title", 0, doc.title), ("abstract", title_end + 1, doc.abstract))
    for kind, offset, text in passages:
        parts.append(f"<passage>{_infon('type', kind)}<offset>{offset}</offset>")
        parts.append(f"<text>{escape(text)}</text>")
        for k, m in enumerate(sorted(doc.mentions, key=lambda m: (m.start, m.end))):
            inside = m.start < title_end if kind == "title" else m.start > title_end
            if not inside:
                continue
            ids = ",".join(to_pubtator_id(i) for i in m.ids) or "-"
            score = "" if m.score is None else _infon("score", f"{m.score:.4f}")
            parts.append(
                f'<annotation id="T{k}">{_infon("type", m.type.value)}'
                f"{_infon('identifier', ids)}{score}"
                f'<location offset="{m.start}" length="{m.end - m.start}"/>'
                f"<text>{escape(m.text)}</text></annotation>"
            )
        parts.append("</passage>")
    for k, r in enumerate(doc.relations):
        novel = "" if r.novel is None else _infon("novel", "Novel" if r.novel else "No")
        parts.append(
            f'<relation id="R{k}">{_infon("type", r.type.value)}'
            f"{_infon('entity1', to_pubtator_id(r.id1))}{_infon('entity2', to_pubtator_id(r.id2))}"
            f"{novel}</relation>"
        )
    parts.append("</document>")
    return "".join(parts)


def write_bioc_xml(docs: Iterable[Document], out: TextIO, source: str = "kg") -> int:
    """Write a BioC collection, one document per line; returns how many were written."""
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE collection SYSTEM "BioC.dtd">\n')
    out.write(f"<collection><source>{escape(source)}</source><date></date><key>kg</key>\n")
    n = 0
    for doc in docs:
        out.write(format_bioc_document(doc) + "\n")
        n += 1
    out.write("</collection>\n")
    return n
