"""The known-relations prior: support from other papers only, unordered pairs, the type the
curators' labels give a pair, its effect on decoding (the registry's part is in
test_relations.py, beside the tiny model)."""

from __future__ import annotations

import gzip
from pathlib import Path
from types import SimpleNamespace

import pytest

from extractors.relations.candidates import DocEntity
from extractors.relations.prior import KnownRelations, PriorHint, logit_shift
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


def test_the_type_is_the_label_more_other_papers_give(tmp_path) -> None:
    known = KnownRelations.read(write_known(tmp_path / "rel.tsv.gz"))
    neg, pos = RelationType.NEGATIVE_CORRELATION, RelationType.POSITIVE_CORRELATION
    # two papers as marker/mechanism (causes), one as therapeutic (treats)
    assert known.known_type("MESH:D1", "MESH:C1", "999") is pos
    # read in one of the marker papers, the labels tie: no type from the prior
    assert known.known_type("MESH:C1", "MESH:D1", "100") is None
    # a pair only its own paper supports has no other paper to say anything
    solo = KnownRelations.read(write_known(tmp_path / "solo.tsv.gz", ROWS[1:2]))
    assert solo.known_type("MESH:C1", "MESH:D1", "101") is None
    assert solo.known_type("MESH:C1", "MESH:D1", "999") is neg
    assert known.known_type("MESH:C1", "MESH:D9", "999") is None
    # the type is given only where the weights ask for it
    assert known.hint("MESH:C1", "MESH:D1", "999", {"log_support": 1.0}).type is None
    hint = known.hint("MESH:C1", "MESH:D1", "999", {"log_support": 1.0, "types": 1})
    assert hint.type is pos and hint.shift == pytest.approx(1.3862944)


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


def chemical_and_two_diseases(causes: tuple[float, float]):  # noqa: ANN201
    """An encoded document of chemical C1 and diseases D1, D2 (the pairs C1-D1, C1-D2) and
    model scores where each pair's best type is Positive_Correlation at ``causes``."""
    import numpy as np

    from extractors.relations.scorer import TYPES

    enc = SimpleNamespace(
        entities=[
            DocEntity("MESH:C1", EntityType.CHEMICAL, ((0, 1),)),
            DocEntity("MESH:D1", EntityType.DISEASE, ((2, 3),)),
            DocEntity("MESH:D2", EntityType.DISEASE, ((4, 5),)),
        ],
        pairs=[(0, 1), (0, 2)],
    )
    scores = np.zeros((2, len(TYPES) + 1), dtype="float32")
    scores[:, TYPES.index(RelationType.POSITIVE_CORRELATION)] = causes
    return enc, scores


def test_decode_with_shifts_keeps_a_supported_pair() -> None:
    from extractors.relations.scorer import TYPES, decode, pair_priors

    enc, scores = chemical_and_two_diseases((0.4, 0.4))
    known = KnownRelations({("MESH:C1", "MESH:D1"): {"therapeutic": frozenset({"100", "101"})}})
    weights = {"Chemical-Disease": {"log_support": 1.0}}
    assert decode(enc, scores, TYPES, 0.5) == []
    other = pair_priors(SimpleNamespace(pmid="7"), enc, known, weights)
    kept = decode(enc, scores, TYPES, 0.5, None, other)
    assert [(p.id1, p.id2) for p in kept] == [("MESH:C1", "MESH:D1")]
    assert kept[0].score > 0.5  # the kept score is the shifted one
    assert kept[0].type is RelationType.POSITIVE_CORRELATION  # the model's type: no "types"
    # read in one of its supporting papers, the pair has one other paper: still kept, lower
    own = pair_priors(SimpleNamespace(pmid="100"), enc, known, weights)
    assert own[0].shift < other[0].shift
    assert pair_priors(SimpleNamespace(pmid="7"), enc, None, weights) is None


def test_decode_takes_the_labels_type_for_a_kept_pair_only() -> None:
    from extractors.relations.scorer import TYPES, decode, pair_priors

    # the model keeps C1-D1 as causes (0.9), not C1-D2 (0.1)
    enc, scores = chemical_and_two_diseases((0.9, 0.1))
    treats = {"therapeutic": frozenset({"100", "101"})}
    known = KnownRelations({("MESH:C1", "MESH:D1"): treats, ("MESH:C1", "MESH:D2"): treats})
    weights = {"Chemical-Disease": {"log_support": 0.0, "types": 1}}
    hints = pair_priors(SimpleNamespace(pmid="7"), enc, known, weights)
    assert hints == [PriorHint(0.0, RelationType.NEGATIVE_CORRELATION)] * 2
    kept = decode(enc, scores, TYPES, 0.5, None, hints)
    # the labels choose the type of the pair the model keeps, and keep no other pair
    assert [(p.id2, p.type) for p in kept] == [("MESH:D1", RelationType.NEGATIVE_CORRELATION)]
    assert kept[0].score == pytest.approx(0.9)


def test_tuning_lets_the_labels_choose_the_type_where_that_scores_better() -> None:
    from extractors.relations.scorer import TYPES
    from extractors.relations.train import tune_pair_thresholds
    from tests.helpers import make_doc

    # gold: the chemical treats the first disease; the model keeps the pair as causes
    doc = make_doc(
        "7",
        "Drugol for Achingitis and Bleedosis.",
        "",
        [("Drugol", "Chemical", "MESH:C1"), ("Achingitis", "Disease", "MESH:D1")]
        + [("Bleedosis", "Disease", "MESH:D2")],
        [("Negative_Correlation", "MESH:C1", "MESH:D1")],
    )
    enc, scores = chemical_and_two_diseases((0.9, 0.1))
    model = SimpleNamespace(types=TYPES, threshold=0.5, scores=lambda docs: [(enc, scores)])
    treats = {"therapeutic": frozenset({"100"})}
    known = KnownRelations({("MESH:C1", "MESH:D1"): treats})
    dev = [(SimpleNamespace(name="dev"), [doc])]
    _, weights, result = tune_pair_thresholds(model, dev, prior=known)
    assert weights["Chemical-Disease"]["types"] == 1
    assert result["dev"]["pair+type"].f1 == 1.0
    # without labelled support there is nothing to choose: the type stays the model's
    _, weights, result = tune_pair_thresholds(model, dev, prior=KnownRelations({}))
    assert result["dev"]["pair+type"].f1 == 0.0
