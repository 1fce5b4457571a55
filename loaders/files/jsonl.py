"""Writing documents as JSON Lines, the format ``kg/readers/jsonl.py`` reads back."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

from kg.model import Document


def document_to_json(doc: Document) -> dict[str, Any]:
    row: dict[str, Any] = {
        "pmid": doc.pmid,
        "title": doc.title,
        "abstract": doc.abstract,
        "journal": doc.journal,
        "pub_date": doc.pub_date,
        "mesh_terms": list(doc.mesh_terms),
        "version": doc.version,
        "mentions": [
            {
                "start": m.start,
                "end": m.end,
                "text": m.text,
                "type": m.type.value,
                "ids": list(m.ids),
            }
            for m in doc.mentions
        ],
        "relations": [
            {"type": r.type.value, "id1": r.id1, "id2": r.id2, "novel": r.novel}
            for r in doc.relations
        ],
    }
    return {k: v for k, v in row.items() if v is not None}


def write_jsonl(docs: Iterable[Document], out: TextIO) -> int:
    n = 0
    for doc in docs:
        out.write(json.dumps(document_to_json(doc), ensure_ascii=False) + "\n")
        n += 1
    return n
