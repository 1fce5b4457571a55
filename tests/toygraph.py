"""A hand-built graph for the query, hypothesis and export tests, with every number known.

Entities: A = alphamycin (Chemical, also written "AMC"), B1 = GENEB1, B2 = GENEB2 (Genes),
B3 = betazole (Chemical), C1 = cardiopathy, C2 = colitis, D = dermatitis (Diseases),
X = GENEX (Gene). Edges and the years of their papers::

    A–B1  associated_with              p01 2001, p02 2003
    A–B2  positively_correlated_with   p03 2002
    A–B3  interacts_with               p04 2002
    A→D   treats                       p05 2000
    B1–C1 associated_with              p06 2001
    B2–C1 associated_with              p07 2002, p08 2003, p09 2004
    B2–C1 positively_correlated_with   p07 2002            (a second predicate: 2 paths)
    B1–C2 associated_with              p10 2002
    B1–X  associated_with              p11 2001
    B3→C2 causes                       p12 2003
    (A and C2 co-mentioned, no relation: p16 2004)
    B3→D  causes                       p15 2006            (first connected after 2005)
    A→C1  causes                       p13 2010            (first connected after 2005)

So at the cutoff 2005, the Chemical→Disease candidates are (A, C1) via B1, B2 — a later
discovery —, (A, C2) via B1, B3 — never connected —, and (B3, D) via A — connected in 2006.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kg.model import Document
from tests.helpers import make_doc

A, B1, B2, B3 = "MESH:C000001", "NCBIGene:101", "NCBIGene:102", "MESH:C000003"
C1, C2, D, X = "MESH:D000011", "MESH:D000012", "MESH:D000013", "NCBIGene:109"

#: id -> (text in documents, type, raw id as a corpus writes it)
ENTITIES = {
    A: ("alphamycin", "Chemical", "C000001"),
    B1: ("GENEB1", "Gene", "101"),
    B2: ("GENEB2", "Gene", "102"),
    B3: ("betazole", "Chemical", "C000003"),
    C1: ("cardiopathy", "Disease", "D000011"),
    C2: ("colitis", "Disease", "D000012"),
    D: ("dermatitis", "Disease", "D000013"),
    X: ("GENEX", "Gene", "109"),
}

#: (pmid, year, subject, object, relation types)
RELATIONS = [
    ("9000001", 2001, A, B1, ["Association"]),
    ("9000002", 2003, A, B1, ["Association"]),
    ("9000003", 2002, A, B2, ["Positive_Correlation"]),
    ("9000004", 2002, A, B3, ["Drug_Interaction"]),
    ("9000005", 2000, A, D, ["Negative_Correlation"]),
    ("9000006", 2001, B1, C1, ["Association"]),
    ("9000007", 2002, B2, C1, ["Association", "Positive_Correlation"]),
    ("9000008", 2003, B2, C1, ["Association"]),
    ("9000009", 2004, B2, C1, ["Association"]),
    ("9000010", 2002, B1, C2, ["Association"]),
    ("9000011", 2001, B1, X, ["Association"]),
    ("9000012", 2003, B3, C2, ["Positive_Correlation"]),
    ("9000013", 2010, A, C1, ["Positive_Correlation"]),
    ("9000015", 2006, B3, D, ["Positive_Correlation"]),
]


def toy_documents() -> list[Document]:
    docs = []
    for pmid, year, s, o, types in RELATIONS:
        s_text, o_text = ENTITIES[s][0], ENTITIES[o][0]
        sentence = f"We report that {s_text} and {o_text} are linked in study {pmid}."
        docs.append(
            make_doc(
                pmid,
                f"On {s_text} and {o_text}.",
                sentence,
                [ENTITIES[s], ENTITIES[o]],
                [(t, s, o) for t in types],
                pub_date=f"{year}-06",
            )
        )
    # A co-mention without a relation, and a synonym for A.
    docs.append(
        make_doc(
            "9000016",
            "AMC in colitis.",
            "Patients given alphamycin had colitis.",
            [("AMC", "Chemical", "C000001"), ENTITIES[A], ENTITIES[C2]],
            pub_date="2004",
        )
    )
    return docs


def load_toy_graph(settings: object, tmp_path: Path) -> None:
    """Load the toy documents into the (empty) test database with the real loader."""
    from kg.pipeline import ingest
    from loaders.neo4j.sink import Neo4jSink

    report = ingest(
        toy_documents(),
        Neo4jSink(settings),  # type: ignore[arg-type]
        quarantine_path=tmp_path / "quarantine.jsonl",
        batch_size=50,
        use_annotations=True,
    )
    assert report.clean, report.quarantined


def toy_driver(neo4j_server: Any, tmp_path_factory: Any) -> Iterator[Any]:
    """Body of the tests' module-scoped ``toy`` fixture: empty the test database, load the toy
    graph once, yield a driver."""
    from loaders.neo4j.connection import open_driver
    from tests.conftest import empty_database

    neo4j_server.start()
    driver = open_driver(neo4j_server.settings)
    empty_database(driver, neo4j_server.settings.neo4j.database)
    load_toy_graph(neo4j_server.settings, tmp_path_factory.mktemp("toy"))
    try:
        yield driver
    finally:
        driver.close()
