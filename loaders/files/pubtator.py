"""Writing documents in PubTator format: the extraction output contract (shared DESIGN.md)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from kg.identifiers import to_pubtator_id
from kg.model import Document


def _clean(text: str) -> str:
    # PubTator is line- and tab-delimited: neither may occur inside a field.
    return text.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def format_document(doc: Document) -> str:
    lines = [f"{doc.pmid}|t|{_clean(doc.title)}", f"{doc.pmid}|a|{_clean(doc.abstract)}"]
    for m in sorted(doc.mentions, key=lambda m: (m.start, m.end)):
        ids = ",".join(to_pubtator_id(i) for i in m.ids) or "-"
        lines.append(f"{doc.pmid}\t{m.start}\t{m.end}\t{_clean(m.text)}\t{m.type.value}\t{ids}")
    for r in doc.relations:
        novel = "" if r.novel is None else ("\tNovel" if r.novel else "\tNo")
        lines.append(
            f"{doc.pmid}\t{r.type.value}\t{to_pubtator_id(r.id1)}\t{to_pubtator_id(r.id2)}{novel}"
        )
    return "\n".join(lines) + "\n"


def write_pubtator(docs: Iterable[Document], out: TextIO) -> int:
    """Write documents separated by blank lines; returns how many were written."""
    n = 0
    for doc in docs:
        if n:
            out.write("\n")
        out.write(format_document(doc))
        n += 1
    return n
