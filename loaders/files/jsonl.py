"""Writing documents as JSON Lines, the format ``kg/readers/jsonl.py`` reads back."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

from kg.model import AnnotatedRelation, Document
from kg.pipeline import relation_evidence
from kg.text import sentence_spans


def document_to_json(doc: Document) -> dict[str, Any]:
    spans = list(sentence_spans(doc.text)) if doc.relations else []
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
        "relations": [_relation(doc, spans, r) for r in doc.relations],
    }
    return {k: v for k, v in row.items() if v is not None}


def _relation(doc: Document, spans: list[tuple[int, int]], r: AnnotatedRelation) -> dict:
    row = {"type": r.type.value, "id1": r.id1, "id2": r.id2, "novel": r.novel}
    if r.score is not None:  # a model's relation: its score, model and evidence sentences
        row["score"] = r.score
        row["source"] = r.source
        row["evidence"] = [{"start": a, "end": b} for _, a, b in relation_evidence(doc, spans, r)]
    return row


def write_jsonl(docs: Iterable[Document], out: TextIO) -> int:
    n = 0
    for doc in docs:
        out.write(json.dumps(document_to_json(doc), ensure_ascii=False) + "\n")
        n += 1
    return n
