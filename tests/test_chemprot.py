"""ChemProt read as relation training data (extractors/relations/chemprot.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from extractors.relations.chemprot import read_chemprot
from extractors.relations.train import TrainConfig, corpus_by_name, read_corpus
from kg.errors import InputError
from kg.schema import EntityType, RelationType

FIXTURE = Path(__file__).parent / "fixtures" / "chemprot"
IMATINIB, ABL1 = "CHEMPROT:Chemical:imatinib", "CHEMPROT:Gene:abl1"
FORSKOLIN, PKA = "CHEMPROT:Chemical:forskolin", "CHEMPROT:Gene:pka"
KIT, CREB = "CHEMPROT:Gene:kit", "CHEMPROT:Gene:creb"


def test_mentions_of_one_name_are_one_entity_and_cpr_groups_map_to_types() -> None:
    (doc, unknown), (empty, none) = read_chemprot(FIXTURE)
    assert doc.pmid == "1001" and empty.pmid == "1002" and not empty.mentions and not none
    assert [m.text for m in doc.mentions][:4] == ["Imatinib", "ABL1", "Imatinib", "ABL1"]
    assert all(doc.text[m.start : m.end] == m.text for m in doc.mentions)
    assert {m.ids[0] for m in doc.mentions if m.text == "Imatinib"} == {IMATINIB}
    assert {m.type for m in doc.mentions if m.text == "PKA"} == {EntityType.GENE}  # GENE-N
    # two inhibitor mention pairs are one relation; the activator is Positive_Correlation
    assert {(r.type, r.id1, r.id2) for r in doc.relations} == {
        (RelationType.NEGATIVE_CORRELATION, IMATINIB, ABL1),
        (RelationType.POSITIVE_CORRELATION, FORSKOLIN, PKA),
    }
    # CPR:10 ("not") is a stated absence: a negative, not unknown; a substrate has no type
    assert unknown == {(FORSKOLIN, CREB)} and (IMATINIB, KIT) not in unknown


def test_kg_train_re_reads_chemprot_by_name(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE, tmp_path / "chemprot" / "training")
    corpus = corpus_by_name("chemprot")
    assert corpus.types == {RelationType.POSITIVE_CORRELATION, RelationType.NEGATIVE_CORRELATION}
    assert corpus.pairs == {frozenset((EntityType.CHEMICAL, EntityType.GENE))}
    rows = read_corpus(TrainConfig(corpora_dir=tmp_path, out=tmp_path / "out"), corpus)
    assert [d.pmid for d, _ in rows] == ["1001", "1002"]
    # on request only: trained on, it cost end-to-end F1 (docs/models/re.md)
    assert "chemprot" not in TrainConfig(corpora_dir=tmp_path, out=tmp_path).corpora


def _broken(tmp_path: Path, name: str, old: str, new: str) -> Path:
    folder = tmp_path / "split"
    shutil.copytree(FIXTURE, folder)
    path = folder / name
    path.write_text(path.read_text().replace(old, new, 1))
    return folder


def test_bad_records_name_the_file_line_and_fix(tmp_path: Path) -> None:
    folder = _broken(tmp_path, "chemprot_tiny_entities.tsv", "\t0\t8\t", "\t1\t9\t")
    with pytest.raises(InputError, match=r"entities\.tsv:1: mention T1 of 1001") as err:
        read_chemprot(folder)
    assert "offsets count from the title" in str(err.value.hint)
    folder = _broken(tmp_path / "b", "chemprot_tiny_relations.tsv", "Arg2:T2", "Arg2:T99")
    with pytest.raises(InputError, match=r"relations\.tsv:1: relation CPR:4 of 1001"):
        read_chemprot(folder)
    with pytest.raises(InputError, match="expected one chemprot_<split>_abstracts.tsv"):
        read_chemprot(tmp_path)
