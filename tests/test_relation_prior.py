"""The known-relations prior: support from other papers only, unordered pairs, its effect on
decoding (the registry's part is in test_relations.py, beside the tiny model)."""

from __future__ import annotations

import gzip
from pathlib import Path
from types import SimpleNamespace

import pytest

from extractors.relations.candidates import DocEntity
from extractors.relations.prior import KnownRelations, logit_shift
from kg.errors import ConfigError, InputError
from kg.schema import EntityType, RelationType

ROWS = [
    ("100", "chem_disease:marker/mechanism", "MESH:D1", "MESH:C1"),
    ("101", "chem_disease:therapeutic", "MESH:C1", "MESH:D1"),
    ("102", "chem_disease:marker/mechanism", "MESH:C1", "MESH:D1"),
    ("102", "chem_gene:increases^expression", "7157", "MESH:C1"),
]


def write_known(path: Path, rows=ROWS) -> Path:
    with gzip.open(path, "wt") as fh:
        fh.writelines("\t".join(r) + "\n" for r in rows)
    return path


def test_support_counts_other_papers_of_the_unordered_pair(tmp_path) -> None:
    known = KnownRelations.read(write_known(tmp_path / "rel.tsv.gz"))
    assert known.support("MESH:C1", "MESH:D1", "999") == 3
    assert known.support("MESH:D1", "MESH:C1", "999") == 3  # either order
    # the paper being read never vouches for itself
    assert known.support("MESH:C1", "MESH:D1", "101") == 2
    # chemical-gene rows are not kept (PRIOR_KINDS)
    assert known.support("MESH:C1", "NCBIGene:7157", "999") == 0
    assert len(known) == 1


def test_bad_rows_and_missing_files_are_named(tmp_path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        KnownRelations.read(tmp_path / "absent.tsv.gz")
    bad = tmp_path / "bad.tsv"
    bad.write_text("100\tchem_disease:therapeutic\tMESH:C1\n")
    with pytest.raises(InputError, match=r"bad.tsv:1"):
        KnownRelations.read(bad)


def test_logit_shift() -> None:
    weights = {"log_support": 1.0, "supported": -0.5}
    assert logit_shift(weights, 0) == 0.0  # an unsupported pair keeps the model's score
    assert logit_shift(weights, 3) == pytest.approx(1.3862944 - 0.5)


def test_decode_with_shifts_keeps_a_supported_pair() -> None:
    import numpy as np

    from extractors.relations.scorer import TYPES, decode, pair_shifts

    chem, dis, dis2 = (
        DocEntity("MESH:C1", EntityType.CHEMICAL, ((0, 1),)),
        DocEntity("MESH:D1", EntityType.DISEASE, ((2, 3),)),
        DocEntity("MESH:D2", EntityType.DISEASE, ((4, 5),)),
    )
    enc = SimpleNamespace(entities=[chem, dis, dis2], pairs=[(0, 1), (0, 2)])
    scores = np.zeros((2, len(TYPES) + 1), dtype="float32")
    scores[:, TYPES.index(RelationType.POSITIVE_CORRELATION)] = 0.4
    known = KnownRelations({("MESH:C1", "MESH:D1"): frozenset({"100", "101"})})
    weights = {"Chemical-Disease": {"log_support": 1.0}}
    assert decode(enc, scores, TYPES, 0.5) == []
    other = pair_shifts(SimpleNamespace(pmid="7"), enc, known, weights)
    kept = decode(enc, scores, TYPES, 0.5, None, other)
    assert [(p.id1, p.id2) for p in kept] == [("MESH:C1", "MESH:D1")]
    assert kept[0].score > 0.5  # the kept score is the shifted one
    # read in one of its supporting papers, the pair has one other paper: still kept, lower
    own = pair_shifts(SimpleNamespace(pmid="100"), enc, known, weights)
    assert own[0] < other[0]
    assert pair_shifts(SimpleNamespace(pmid="7"), enc, None, weights) is None
