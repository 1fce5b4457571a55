"""Hand-built documents for tests: mentions are placed by searching their text."""

from __future__ import annotations

from kg.identifiers import normalize_ids
from kg.model import AnnotatedRelation, Document, Mention
from kg.schema import EntityType, RelationType


def make_doc(
    pmid: str,
    title: str,
    abstract: str,
    mentions: list[tuple[str, str, str]],
    relations: list[tuple[str, str, str]] = (),
    *,
    pub_date: str | None = "2020",
    version: int = 1,
) -> Document:
    """``mentions``: (text, type, raw id), each at every place its text occurs."""
    text = f"{title} {abstract}" if abstract else title
    found: list[Mention] = []
    for surface, etype_name, raw_id in mentions:
        etype = EntityType(etype_name)
        start = text.find(surface)
        assert start >= 0, f"{surface!r} is not in the text"
        while start >= 0:
            found.append(
                Mention(start, start + len(surface), surface, etype, normalize_ids(raw_id, etype))
            )
            start = text.find(surface, start + 1)
    rels = tuple(
        AnnotatedRelation(RelationType(rtype), id1, id2, novel=True)
        for rtype, id1, id2 in relations
    )
    return Document(
        pmid=pmid,
        title=title,
        abstract=abstract,
        journal="Test J",
        pub_date=pub_date,
        version=version,
        mentions=tuple(sorted(found, key=lambda m: m.start)),
        relations=rels,
    )


LITHIUM = make_doc(
    "1001",
    "Lithium-induced tremor.",
    "Lithium causes tremor in many patients. Valproate treats epilepsy. "
    "BRCA1 was not associated with tremor.",
    [
        ("Lithium", "Chemical", "D008094"),
        ("tremor", "Disease", "D014202"),
        ("Valproate", "Chemical", "D014635"),
        ("epilepsy", "Disease", "D004827"),
        ("BRCA1", "Gene", "672"),
        ("patients", "Species", "9606"),
    ],
    [
        ("Positive_Correlation", "MESH:D014202", "MESH:D008094"),
        ("Negative_Correlation", "MESH:D014635", "MESH:D004827"),
        ("Association", "NCBIGene:672", "MESH:D014202"),
    ],
)
