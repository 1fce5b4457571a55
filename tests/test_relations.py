"""Relation extraction: candidates, entity markers, scoring, training a tiny model, the Hugging
Face checkpoint adapter, evidence in the pipeline, ``kg eval re`` and ``kg extract``, and the
graph: model evidence aggregated (one paper once) and re-ingest without duplicates."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from extractors.evaluation import (
    CID_SCOPE,
    relation_breakdown,
    relation_item,
    relation_scope,
    score_relations,
)
from extractors.relations.candidates import (
    TYPE_PAIRS,
    DocEntity,
    candidate_pairs,
    doc_entities,
    gold_pairs,
)
from kg.errors import ConfigError, ModelNotInstalledError
from kg.model import AnnotatedRelation, Document, Mention
from kg.pipeline import assemble
from kg.schema import EntityType, RelationType
from tests.helpers import make_doc
from tests.ner_tiny import tiny_classifier, tiny_encoder, tiny_relation_corpora

pytest.importorskip("transformers")
C, D, G = EntityType.CHEMICAL, EntityType.DISEASE, EntityType.GENE
POS, NEG, ASSOC = (
    RelationType.POSITIVE_CORRELATION,
    RelationType.NEGATIVE_CORRELATION,
    RelationType.ASSOCIATION,
)

DOC = make_doc(
    "42",
    "Lithium causes tremor.",
    "Tremor was frequent. BRCA1 was unrelated. Lithium levels rose, and so did unknownium.",
    [
        ("Lithium", "Chemical", "D008094"),
        ("tremor", "Disease", "D014202"),
        ("Tremor", "Disease", "D014202"),
        ("BRCA1", "Gene", "672"),
        ("unknownium", "Chemical", "-"),
    ],
)


def test_entities_group_mentions_by_id_and_skip_unlinked() -> None:
    ents = doc_entities(DOC)
    assert [e.id for e in ents] == ["MESH:D008094", "MESH:D014202", "NCBIGene:672"]
    lithium = ents[0]
    assert len(lithium.spans) == 2 and all(DOC.text[s:e] == "Lithium" for s, e in lithium.spans)


def test_candidate_pairs_follow_the_schema_in_canonical_order() -> None:
    ents = doc_entities(DOC)
    pairs = [(ents[a].id, ents[b].id) for a, b in candidate_pairs(ents)]
    # chemical-disease, chemical-gene, disease-gene; the first of a pair is the earlier type
    assert pairs == [
        ("MESH:D008094", "MESH:D014202"),
        ("MESH:D008094", "NCBIGene:672"),
        ("MESH:D014202", "NCBIGene:672"),
    ]
    named = [("Lithium", "Chemical", "D008094"), ("mice", "Species", "10090")]
    with_species = make_doc("1", "Lithium in mice.", "", named)
    assert candidate_pairs(doc_entities(with_species)) == []  # no relations to species


def test_gold_pairs_are_keyed_either_way_round() -> None:
    doc = make_doc("1", "Lithium tremor.", "", [("Lithium", "Chemical", "D008094"),
                                                ("tremor", "Disease", "D014202")],
                   [("Positive_Correlation", "MESH:D014202", "MESH:D008094")])  # fmt: skip
    assert set(gold_pairs(doc)) == {("MESH:D008094", "MESH:D014202")}


def test_markers_open_each_mention_of_each_entity() -> None:
    from extractors.ner.encoders import load_encoder
    from extractors.relations.scorer import MARKER, encode

    _, tokenizer = load_encoder("all-MiniLM-L6-v2")
    enc = encode(tokenizer, DOC, max_len=512)
    pieces = tokenizer.convert_ids_to_tokens(enc.segments[0])
    marker = pieces.count(MARKER)
    assert marker == 2 * 5  # five linked mentions, a marker on each side
    for ent, positions in zip(enc.entities, enc.positions, strict=True):
        for (seg, pos), (s, e) in zip(positions, ent.spans, strict=True):
            assert seg == 0
            assert pieces[pos - 1] == MARKER  # position counts [CLS]
            word = DOC.text[s:e].lower()
            assert word.startswith(pieces[pos].lstrip("#"))


def test_long_documents_are_cut_into_segments() -> None:
    from extractors.ner.encoders import load_encoder
    from extractors.relations.scorer import encode

    _, tokenizer = load_encoder("all-MiniLM-L6-v2")
    named = [("Lithium", "Chemical", "D008094"), ("tremor", "Disease", "D014202")]
    filler = "Filler words here. " * 200 + "Lithium again."
    long = make_doc("7", "Lithium and tremor.", filler, named)
    enc = encode(tokenizer, long, max_len=128)
    assert len(enc.segments) > 5 and all(len(s) <= 126 for s in enc.segments)
    last_seg, _ = enc.positions[0][-1]
    assert last_seg == len(enc.segments) - 1  # the last "Lithium" is in the last segment


def test_pair_sentences_leave_out_the_sentences_that_name_no_paired_entity() -> None:
    from extractors.ner.encoders import load_encoder
    from extractors.relations.scorer import MARKER, check_context, encode

    _, tokenizer = load_encoder("all-MiniLM-L6-v2")
    named = [("Lithium", "Chemical", "D008094"), ("mice", "Species", "10090"),
             ("tremor", "Disease", "D014202")]  # fmt: skip
    doc = make_doc("8", "Lithium in old age.", "The weather was cold, and mice slept. "
                   "Later the tremor came.", named)  # fmt: skip
    whole = encode(tokenizer, doc, context="abstract")
    read = encode(tokenizer, doc, context="pair_sentences")
    text = tokenizer.decode(read.segments[0])
    assert "weather" not in text and "mice" not in text  # no entity of a pair there
    assert "lithium" in text and "later the * tremor * came" in text
    assert len(read.segments[0]) < len(whole.segments[0])
    # the pairs are those of the whole abstract; the species (in no pair) has no mention left
    pair_ids = [[(e.entities[a].id, e.entities[b].id) for a, b in e.pairs] for e in (whole, read)]
    assert pair_ids[0] == pair_ids[1] == [("MESH:D008094", "MESH:D014202")]
    assert [e.id for e in read.entities] == ["MESH:D008094", "MESH:D014202"]
    pieces = tokenizer.convert_ids_to_tokens(read.segments[0])
    assert all(pieces[pos - 1] == MARKER for ps in read.positions for _, pos in ps)
    # a document without a candidate pair is read whole
    alone = make_doc("9", "Lithium.", "The weather was cold.", named[:1])
    assert (
        encode(tokenizer, alone, context="pair_sentences").segments
        == encode(tokenizer, alone).segments
    )
    with pytest.raises(ConfigError, match="pair_sentences"):
        check_context("sentences")


def test_relation_scores_by_hand() -> None:
    gold = {
        "1": [relation_item("A", "B", POS, True), relation_item("A", "C", NEG, False)],
        "2": [relation_item("A", "B", ASSOC, None)],
    }
    pred = {
        "1": [
            relation_item("B", "A", POS, False),  # pair and type right, novelty wrong
            relation_item("A", "C", ASSOC, None),  # pair right, type wrong
            relation_item("A", "G", ASSOC, None),  # chemical-gene: outside the gold's scope
        ]
    }
    types = {"1": {"A": C, "B": D, "C": D, "G": G}, "2": {"A": C, "B": D}}
    # a gold file with several relation types judges every prediction (BioRED)
    assert relation_scope(gold, types) is None
    s = score_relations(gold, pred, types, None)
    assert (s["pair"].tp, s["pair"].fp, s["pair"].fn) == (2, 1, 1)
    assert (s["pair+type"].tp, s["pair+type"].fp, s["pair+type"].fn) == (1, 2, 2)
    assert (s["pair+type+novelty"].tp, s["pair+type+novelty"].fp) == (0, 3)
    # a gold file of chemical-induced disease only (BC5CDR) judges only that: the
    # chemical-gene pair and the Association are outside it, on every level
    cid = {"1": [relation_item("A", "B", POS, None)]}
    assert relation_scope(cid, types) == CID_SCOPE
    only = score_relations(cid, pred, types, CID_SCOPE)
    assert (only["pair"].tp, only["pair"].fp, only["pair"].fn) == (1, 0, 0)
    assert "pair+type+novelty" not in only


def test_relation_breakdown_by_entity_type_pair_and_relation_type() -> None:
    gold = {
        "1": [relation_item("A", "B", POS, True), relation_item("G", "H", ASSOC, None)],
        "2": [relation_item("A", "B", NEG, None)],
    }
    pred = {
        "1": [
            relation_item("A", "B", POS, True),  # right
            relation_item("G", "H", POS, None),  # gene-gene: pair right, type wrong
        ],
        "2": [relation_item("A", "B", NEG, None), relation_item("A", "G", ASSOC, None)],
        "9": [relation_item("A", "B", POS, None)],  # a document the gold does not have
    }
    types = {"1": {"A": C, "B": D, "G": G, "H": G}, "2": {"A": C, "B": D, "G": G}}
    by = relation_breakdown(gold, pred, types)
    assert list(by) == ["Chemical-Disease", "Chemical-Gene", "Gene-Gene",
                        "Association", "Negative_Correlation", "Positive_Correlation"]  # fmt: skip
    cd, gg = by["Chemical-Disease"], by["Gene-Gene"]
    assert (cd["pair+type"].tp, cd["pair+type"].fp, cd["pair+type"].fn) == (2, 0, 0)
    assert (gg["pair"].tp, gg["pair+type"].tp, gg["pair+type"].fp) == (1, 0, 1)
    assert (by["Chemical-Gene"]["pair"].fp, by["Chemical-Gene"]["pair"].fn) == (1, 0)
    # per relation type: pair+type only; a wrong type is a miss of the gold's type and a
    # false positive of the predicted one
    assert "pair" not in by["Association"]
    assert (by["Association"]["pair+type"].fn, by["Association"]["pair+type"].fp) == (1, 1)
    assert (
        by["Positive_Correlation"]["pair+type"].tp,
        by["Positive_Correlation"]["pair+type"].fp,
    ) == (1, 1)
    # the groups add up to the headline figures
    total = score_relations(gold, pred, types, None)
    pairs = [v for k, v in by.items() if "-" in k]
    for level in ("pair", "pair+type"):
        assert sum(v[level].tp for v in pairs) == total[level].tp
        assert sum(v[level].fp for v in pairs) == total[level].fp
        assert sum(v[level].fn for v in pairs) == total[level].fn
    # BC5CDR's scope leaves the chemical-gene prediction out of every group
    cid = {"1": [relation_item("A", "B", POS, None)], "2": []}
    assert "Chemical-Gene" not in relation_breakdown(cid, pred, types, CID_SCOPE)


def test_relation_losses_say_where_each_pair_goes() -> None:
    from extractors.run import relation_losses

    text = "aspirin ulcer ibuprofen ulcer sulindac rash"

    def doc(mentions: list[tuple[int, int, EntityType, tuple[str, ...]]], pairs: list) -> Document:
        ms = tuple(Mention(a, b, text[a:b], t, ids) for a, b, t, ids in mentions)
        rels = tuple(AnnotatedRelation(POS, x, y) for x, y in pairs)
        return Document(pmid="1", title=text, mentions=ms, relations=rels)

    asp, ulc, ibu, sul = "MESH:D001241", "MESH:D014456", "MESH:D007052", "MESH:D013467"
    rash = "MESH:D005076"
    gold = doc(
        [
            (0, 7, C, (asp,)),
            (8, 13, D, (ulc,)),
            (14, 23, C, (ibu,)),
            (30, 38, C, (sul,)),
            (39, 43, D, (rash,)),
        ],  # fmt: skip
        [(asp, ulc), (ibu, ulc), (sul, ulc)],
    )
    found = doc(
        # ibuprofen found but linked elsewhere, sulindac not recognized
        [(0, 7, C, (asp,)), (8, 13, D, (ulc,)), (14, 23, C, ("MESH:D000001",))],
        [(asp, ulc), ("MESH:D000001", ulc)],
    )
    assert relation_losses([gold], [found]) == {
        "found": 1,
        "missed, one ID not given: Chemical linked to another ID": 1,
        "missed, one ID not given: Chemical not recognized": 1,
        "false, an ID not in the gold document": 1,
    }
    # with the gold's own entities: misses of the model, and a false pair of gold entities
    # (BC5CDR's scope: a chemical-chemical pair would not be judged)
    given = doc(
        list((m.start, m.end, m.type, m.ids) for m in gold.mentions), [(asp, ulc), (asp, rash)]
    )
    assert relation_losses([gold], [given]) == {
        "found": 1,
        "missed, both IDs given": 2,
        "false, both IDs in the gold document": 1,
    }
    judged = relation_losses([gold], [given])
    more = replace(given, relations=(*given.relations, AnnotatedRelation(POS, asp, sul)))
    assert relation_losses([gold], [more]) == judged


def test_predicted_relations_carry_score_source_and_sentences() -> None:
    doc = make_doc(
        "5",
        "Lithium and tremor.",
        "Lithium was given. Tremor followed lithium in most. Nothing else.",
        [("Lithium", "Chemical", "D008094"), ("lithium", "Chemical", "D008094"),
         ("tremor", "Disease", "D014202"), ("Tremor", "Disease", "D014202")],
    )  # fmt: skip
    predicted = AnnotatedRelation(POS, "MESH:D014202", "MESH:D008094", True, 0.83, "kg-re@1")
    record, skips = assemble(Document(**{**_fields(doc), "relations": (predicted,)}), "kg-ner@1")
    assert not skips
    ev = record.evidence
    # every sentence naming both (the title and the second sentence), each one Evidence
    assert [e.sentence for e in ev] == ["Lithium and tremor.", "Tremor followed lithium in most."]
    assert {e.relation.predicate for e in ev} == {"biolink:causes"}
    assert all(e.relation.subject == "MESH:D008094" for e in ev)
    assert all(e.score == 0.83 and e.extractor == "kg-re@1" and e.novel for e in ev)
    for e in ev:
        assert doc.text[e.start : e.end] == e.sentence


def test_cross_sentence_relations_show_the_joining_passage() -> None:
    doc = make_doc(
        "6",
        "A study.",
        "Patients took lithium. Many developed tremor. Unrelated words follow.",
        [("lithium", "Chemical", "D008094"), ("tremor", "Disease", "D014202")],
    )
    rel = AnnotatedRelation(POS, "MESH:D008094", "MESH:D014202", None, 0.6, "kg-re@1")
    record, _ = assemble(Document(**{**_fields(doc), "relations": (rel,)}))
    (ev,) = record.evidence
    assert ev.sentence == "Patients took lithium. Many developed tremor."
    # an input annotation in the same place keeps no sentence (none names both)
    ann = AnnotatedRelation(POS, "MESH:D008094", "MESH:D014202")
    record, _ = assemble(Document(**{**_fields(doc), "relations": (ann,)}))
    assert record.evidence[0].sentence is None and record.evidence[0].score == 1.0


def _fields(doc: Document) -> dict:
    return {f: getattr(doc, f) for f in doc.__dataclass_fields__}


# --- a tiny model trained by the real training code -------------------------------------------


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_encoder(tmp_path_factory.mktemp("enc"))


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_relation_corpora(tmp_path_factory.mktemp("recorpora"))


@pytest.fixture(scope="module")
def tiny_re(tmp_path_factory: pytest.TempPathFactory, encoder_dir: Path, corpora: Path) -> Path:
    from extractors.relations.train import TrainConfig, train

    out = tmp_path_factory.mktemp("re") / "model"
    config = TrainConfig(
        corpora_dir=corpora, out=out, base=str(encoder_dir), epochs=40, batch_size=2,
        lr=3e-3, head_lr=1e-2, warmup=0.0, max_len=64, threads=1,
    )  # fmt: skip
    record = train(config, progress=False, echo=lambda _: None)
    data = record["training"]["data"]
    assert data["bc5cdr"]["left_out_in_dev"] == 0
    assert data["bc5cdr"]["positive_pairs"] == 5
    assert data["biored"]["positive_pairs"] == 6
    assert data["chemdisgene"]["positive_pairs"] == 5  # one pair's label is unknown: masked
    return out


@pytest.fixture(scope="module")
def no_link(settings):
    """The test settings without the lexicon (the dictionary terms carry their IDs)."""
    extract = {**settings.extract.model_dump(), "link": False}
    return settings.model_validate({**settings.model_dump(), "extract": extract})


def test_training_documents_that_are_in_a_dev_split_are_left_out(
    corpora: Path, encoder_dir: Path, tmp_path
) -> None:
    import shutil

    from extractors.heldout import dev_pmids
    from extractors.relations.train import TrainConfig, train

    assert dev_pmids(corpora) == {"750", "751", "752", "753"}
    root = tmp_path / "leaky"
    shutil.copytree(corpora, root)
    train_file = root / "bc5cdr" / "train.pubtator"
    train_file.write_text(train_file.read_text().replace("701|", "751|").replace("701\t", "751\t"))
    config = TrainConfig(corpora_dir=root, out=tmp_path / "m", base=str(encoder_dir),
                         corpora=("bc5cdr",), dev=("bc5cdr",), epochs=1, max_docs=None,
                         max_len=64, threads=1)  # fmt: skip
    record = train(config, progress=False, echo=lambda _: None)
    assert record["training"]["data"]["bc5cdr"]["left_out_in_dev"] == 1
    assert record["training"]["data"]["bc5cdr"]["documents"] == 3


def test_relations_from_separate_files_with_unknown_labels_masked(corpora: Path) -> None:
    from extractors.relations.scorer import encode
    from extractors.relations.train import TYPES, TrainConfig, corpus_by_name, label, read_corpus

    config = TrainConfig(corpora_dir=corpora, out=corpora / "unused")
    corpus = corpus_by_name("chemdisgene")
    rows = read_corpus(config, corpus)
    assert [len(d.relations) for d, _ in rows] == [1, 2, 2, 1]
    doc, unknown = rows[2]
    assert unknown == {("MESH:D006220", "MESH:D012559")}

    from extractors.ner.encoders import load_encoder

    _, tokenizer = load_encoder("all-MiniLM-L6-v2")
    enc = encode(tokenizer, doc)
    example = label(enc, doc, corpus, unknown)
    by_pair = {
        (enc.entities[a].id, enc.entities[b].id): row
        for (a, b), row in zip(enc.pairs, example.labels, strict=True)
    }
    pos = TYPES.index(POS)
    assert by_pair[("MESH:D006220", "MESH:D014202")][pos] == 1.0
    assert by_pair[("MESH:D006220", "MESH:D012559")] == [None] * len(TYPES)  # unknown: masked
    assert by_pair[("MESH:D006220", "MESH:D014202")][TYPES.index(ASSOC)] is None  # not annotated


def test_ctd_derived_reads_both_files_and_leaves_curated_abstracts_to_the_curated_set(
    tmp_path: Path,
) -> None:
    import gzip

    from extractors.relations.train import TrainConfig, corpus_by_name, read_corpus
    from tests.ner_tiny import relation_record

    root = tiny_relation_corpora(tmp_path)
    folder = root / "chemdisgene" / "ctd_derived"
    folder.mkdir()
    mentions = [("Lithium", "Chemical", "MESH:D008094"), ("tremor", "Disease", "MESH:D014202"),
                ("TSHR", "Gene", "7253")]  # fmt: skip
    texts = {
        "dev": [  # 700 is in the curated set too: its curated labels win
            relation_record(
                700, "Lithium and tremor.", "Lithium gave tremor.", mentions, [], False
            ),
            relation_record(900, "Lithium and tremor.", "TSHR and lithium.", mentions, [], False),
        ],
        "test": [relation_record(901, "Lithium.", "Lithium, tremor, TSHR.", mentions, [], False)],
    }
    rows = {
        "dev": ["700\tchem_disease:therapeutic\tMESH:D008094\tMESH:D014202\n",
                "900\tchem_disease:marker/mechanism\tMESH:D008094\tMESH:D014202\n",
                "900\tchem_gene:increases^transport\t7253\tMESH:D008094\n"],
        "test": ["901\tchem_gene:decreases^expression\t7253\tMESH:D008094\n"],
    }  # fmt: skip
    for split in ("dev", "test"):
        with gzip.open(folder / f"{split}_abstracts.txt.gz", "wt", encoding="utf-8") as fh:
            fh.write("\n".join(texts[split]))
        with gzip.open(folder / f"{split}_relationships.tsv.gz", "wt", encoding="utf-8") as fh:
            fh.writelines(rows[split])

    config = TrainConfig(corpora_dir=root, out=root / "unused")
    read = {
        d.pmid: (d, unknown) for d, unknown in read_corpus(config, corpus_by_name("ctd_derived"))
    }
    assert sorted(read) == ["900", "901"]
    doc, unknown = read["900"]
    assert [(r.type, r.id1, r.id2) for r in doc.relations] == [
        (POS, "MESH:D008094", "MESH:D014202")
    ]
    assert unknown == {("MESH:D008094", "NCBIGene:7253")}  # transport: no BioRED type
    doc, unknown = read["901"]
    assert [(r.type, r.id1, r.id2) for r in doc.relations] == [
        (NEG, "NCBIGene:7253", "MESH:D008094")
    ]
    assert not unknown

    (folder / "test_abstracts.txt.gz").unlink()  # a file of the corpus missing: said, by name
    with pytest.raises(ConfigError, match="test_abstracts"):
        read_corpus(config, corpus_by_name("ctd_derived"))


def gold_docs(corpora: Path, name: str = "biored") -> list[Document]:
    from extractors.run import gold_documents

    return gold_documents(corpora / name / "dev.pubtator")


def test_a_trained_tiny_model_finds_its_training_relations(tiny_re: Path, corpora: Path) -> None:
    from extractors.relations.base import load_relation_backend
    from extractors.relations.extractor import RelationExtractor
    from extractors.run import evaluate_relations

    backend = load_relation_backend(f"re:{tiny_re}")
    config = json.loads((tiny_re / "relations.json").read_text())
    assert 0 < backend.threshold == config["threshold"] < 1
    docs = gold_docs(corpora)
    extractor = RelationExtractor(None, backend)
    out = extractor.batch([Document(**{**_fields(d), "relations": ()}) for d in docs])
    scores = evaluate_relations(docs, out)
    assert scores["pair+type"].f1 > 0.8, scores
    for d in out:
        for r in d.relations:
            assert r.source == extractor.source and 0 < r.score <= 1
            assert r.novel in (True, False)
    # a threshold above every score keeps nothing
    strict = load_relation_backend(f"re:{tiny_re}", threshold=1.0)
    assert not any(strict.predict(docs))


def test_bfloat16_scores_stay_close_to_float32(tiny_re: Path, corpora: Path) -> None:
    from extractors.relations.base import load_relation_backend

    docs = gold_docs(corpora)
    reference = load_relation_backend(f"re:{tiny_re}")
    fast = load_relation_backend(f"re:{tiny_re}")
    fast.set_precision("bfloat16")
    assert fast.version == reference.version + "-bf16"
    for (_, want), (_, got) in zip(reference.scores(docs), fast.scores(docs), strict=True):
        assert abs(want - got).max() < 0.05


def test_last_layer_attention_is_what_eager_attention_returns(encoder_dir: Path) -> None:
    import torch

    from extractors.ner.encoders import load_encoder
    from extractors.relations.scorer import encode_with_attention, load_encoder_for_relations

    fused, tokenizer = load_encoder_for_relations(str(encoder_dir))
    assert fused.config._attn_implementation == "sdpa"
    eager, _ = load_encoder(str(encoder_dir), attn_implementation="eager")
    rows = tokenizer(
        ["aspirin causes ulcers in rats", "cisplatin"], padding=True, return_tensors="pt"
    )
    ids, mask = rows["input_ids"], rows["attention_mask"]
    assert mask[1].sum() < mask.shape[1]  # the second row is padded
    queries = torch.tensor([(0, 1), (1, 2), (0, 4), (1, 1)])  # (row, piece) asked about
    with torch.inference_mode():
        states, attn = encode_with_attention(fused, ids, mask, queries)
        want = eager(input_ids=ids, attention_mask=mask, output_attentions=True)
    assert torch.allclose(states, want.last_hidden_state, atol=1e-5)
    full = want.attentions[-1].mean(1)  # (rows, L, L)
    assert attn.shape == (4, ids.shape[1])
    for q, (r, piece) in enumerate(queries.tolist()):
        assert torch.allclose(attn[q], full[r, piece], atol=1e-5)
    assert float(attn[1, int(mask[1].sum()) :].abs().max()) == 0.0  # no weight on padding


def test_kg_tune_re_writes_thresholds_per_entity_type_pair(
    tiny_re: Path, corpora: Path, tmp_path
) -> None:
    import shutil

    from extractors.relations.base import load_relation_backend
    from kg.cli.app import main

    folder = tmp_path / "tuned"
    shutil.copytree(tiny_re, folder)
    res = CliRunner().invoke(
        main,
        ["tune", "re", "--model", str(folder), "--corpora", str(corpora), "--threads", "1"]
        + ["--known-relations", "none", "--context", "pair_sentences"],
    )
    assert res.exit_code == 0, res.output
    record = json.loads((folder / "relations.json").read_text())
    assert "prior" not in record
    assert record["context"] == "pair_sentences"  # tuned with it, and the model reads so
    pairs = {f"{a.value}-{b.value}" for a, b in TYPE_PAIRS}
    assert set(record["pair_thresholds"]) <= pairs
    assert all(0 < v < 1 for v in record["pair_thresholds"].values())
    tuned = record["training"]["tuned_dev_f1"]
    before = record["training"]["epochs_dev"][record["training"]["best_epoch"] - 1]
    shared = before["gold_entity_f1"]
    # the tuned thresholds are never worse on dev than the shared one they start from
    assert sum(tuned[n]["pair+type"] for n in tuned) >= sum(shared[n]["pair+type"] for n in tuned)
    backend = load_relation_backend(f"re:{folder}")
    assert backend.pair_thresholds == record["pair_thresholds"]
    assert backend.context == "pair_sentences"
    backend.threshold = 0.9  # one threshold for every pair replaces the tuned ones
    assert backend.pair_thresholds == {}


def test_decode_takes_the_threshold_of_the_entity_type_pair() -> None:
    import numpy as np

    from extractors.relations.scorer import TYPES, decode

    chem, dis, gene = (
        DocEntity("MESH:C1", EntityType.CHEMICAL, ((0, 1),)),
        DocEntity("MESH:D1", EntityType.DISEASE, ((2, 3),)),
        DocEntity("NCBIGene:1", EntityType.GENE, ((4, 5),)),
    )
    enc = SimpleNamespace(entities=[chem, dis, gene], pairs=[(0, 1), (1, 2)])
    scores = np.zeros((2, len(TYPES) + 1), dtype="float32")
    scores[:, TYPES.index(RelationType.POSITIVE_CORRELATION)] = 0.3
    kept = decode(enc, scores, TYPES, 0.2)
    assert len(kept) == 2
    kept = decode(enc, scores, TYPES, 0.2, {"Chemical-Disease": 0.4})
    assert [(p.id1, p.id2) for p in kept] == [("MESH:D1", "NCBIGene:1")]


def test_kg_eval_re_end_to_end_and_gold_entities(tiny_re: Path, corpora: Path, no_link) -> None:
    from kg.cli.app import main

    terms = corpora / "terms.tsv"
    rows = {(m.text, m.type.value, m.ids[0]) for d in gold_docs(corpora)
            for m in d.mentions}  # fmt: skip
    terms.write_text("".join(f"{t}\t{ty}\t{i}\n" for t, ty, i in sorted(rows)))
    runner = CliRunner()
    gold = corpora / "biored" / "dev.pubtator"
    res = runner.invoke(
        main,
        ["eval", "re", "--gold", str(gold), "--relations", f"re:{tiny_re}",
         "--recognizer", f"dictionary:{terms}", "--json"],
        obj={"settings": no_link},
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    scores = json.loads(res.output[res.output.index("{") :])
    assert set(scores) == {"end-to-end", "gold-entities"}
    assert set(scores["gold-entities"]) == {"pair", "pair+type", "pair+type+novelty"}
    # the dictionary finds exactly the gold mentions, so both ways score alike
    assert scores["end-to-end"]["pair"]["f1"] == scores["gold-entities"]["pair"]["f1"] > 80
    # BC5CDR: CID only, no novelty
    res = runner.invoke(
        main,
        ["eval", "re", "--gold", str(corpora / "bc5cdr" / "dev.pubtator"), "--relations",
         f"re:{tiny_re}", "--mode", "gold-entities"],
        obj={"settings": no_link},
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "pair+type" in res.output and "novelty" not in res.output
    # --breakdown: a table per entity-type pair and relation type, and the same in JSON
    res = runner.invoke(
        main,
        ["eval", "re", "--gold", str(gold), "--predictions", str(gold), "--breakdown"],
        obj={"settings": no_link},
    )  # fmt: skip
    assert res.exit_code == 0 and "by entity-type pair and type" in res.output, res.output
    res = runner.invoke(
        main,
        ["eval", "re", "--gold", str(gold), "--predictions", str(gold), "--breakdown", "--json"],
        obj={"settings": no_link},
    )  # fmt: skip
    groups = json.loads(res.output)["predictions"]["breakdown"]
    assert groups and all(s["pair+type"]["f1"] == 100.0 for s in groups.values())
    # a predictions file is scored without a model: gold against itself is perfect
    res = runner.invoke(main, ["eval", "re", "--gold", str(gold), "--predictions", str(gold)],
                        obj={"settings": no_link})  # fmt: skip
    assert res.exit_code == 0 and res.output.count("100.00") >= 9


def test_kg_extract_writes_relation_lines(tiny_re: Path, corpora: Path, no_link, tmp_path) -> None:
    from kg.cli.app import main

    terms = tmp_path / "terms.tsv"
    rows = {(m.text, m.type.value, m.ids[0]) for d in gold_docs(corpora)
            for m in d.mentions}  # fmt: skip
    terms.write_text("".join(f"{t}\t{ty}\t{i}\n" for t, ty, i in sorted(rows)))
    out = tmp_path / "pred.pubtator"
    res = CliRunner().invoke(
        main,
        ["extract", str(corpora / "biored" / "dev.pubtator"), "--out", str(out),
         "--recognizer", f"dictionary:{terms}", "--relations", f"re:{tiny_re}", "--no-progress"],
        obj={"settings": no_link},
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    lines = [line.split("\t") for line in out.read_text().splitlines() if "\t" in line]
    relations = [f for f in lines if not f[1].isdigit()]
    assert relations and all(len(f) == 5 and f[4] in ("Novel", "No") for f in relations)
    assert all(f[1] in {t.value for t in RelationType} for f in relations)
    assert ["750", "Positive_Correlation", "D002945", "D007674"] in [f[:4] for f in relations]


def test_two_workers_find_what_one_finds(tiny_re: Path, corpora: Path, no_link, tmp_path) -> None:
    """``[extract] workers``: batches side by side give the same mentions and relations, with
    the same provenance, as one batch at a time (scores to the rounding of the output)."""
    from extractors.parallel import ParallelExtractor
    from extractors.registry import load_extractor
    from extractors.run import ExtractReport, annotate

    terms = tmp_path / "terms.tsv"
    rows = {(m.text, m.type.value, m.ids[0]) for d in gold_docs(corpora)
            for m in d.mentions}  # fmt: skip
    terms.write_text("".join(f"{t}\t{ty}\t{i}\n" for t, ty, i in sorted(rows)))
    plain = [replace(d, mentions=(), relations=()) for d in gold_docs(corpora) * 3]
    runs = {}
    for workers in (1, 2):
        extract = {**no_link.extract.model_dump(), "workers": workers, "batch_size": 2}
        settings = no_link.model_validate({**no_link.model_dump(), "extract": extract})
        extractor = load_extractor(settings, f"dictionary:{terms}", f"re:{tiny_re}")
        assert isinstance(extractor, ParallelExtractor) == (workers == 2)
        out = list(annotate(extractor, plain, ExtractReport(), chunk=2))
        runs[workers] = (extractor.name, extractor.identity, out)
    (name1, id1, one), (name2, id2, two) = runs[1], runs[2]
    assert (name1, id1) == (name2, id2)
    assert [d.pmid for d in one] == [d.pmid for d in two] == [d.pmid for d in plain]
    assert [d.mentions for d in one] == [d.mentions for d in two]
    assert sum(len(d.relations) for d in one) > 0

    def key(doc: Document) -> list:
        return [(r.type, r.id1, r.id2, r.novel) for r in doc.relations]

    assert [key(d) for d in one] == [key(d) for d in two]
    pairs = [zip(x.relations, y.relations, strict=True) for x, y in zip(one, two, strict=True)]
    assert all(abs(a.score - b.score) < 2e-3 for pair in pairs for a, b in pair)


# --- the Hugging Face sequence-classification adapter ------------------------------------------


def _bias_towards(folder: Path, label: int, margin: float = 4.0) -> None:
    """Make the classifier answer ``label`` for every input (weights zero, bias decides)."""
    import torch
    from safetensors.torch import load_file, save_file

    path = folder / "model.safetensors"
    state = load_file(str(path))
    state["classifier.weight"] = torch.zeros_like(state["classifier.weight"])
    bias = torch.zeros_like(state["classifier.bias"])
    bias[label] = margin
    state["classifier.bias"] = bias
    save_file(state, str(path), metadata={"format": "pt"})


def test_hf_checkpoint_classifies_every_candidate_pair(
    encoder_dir: Path, corpora: Path, tmp_path: Path
) -> None:
    from extractors.relations.base import load_relation_backend

    folder = tiny_classifier(tmp_path / "biorex", ["None", "Positive_Correlation", "Association"],
                             encoder_dir)  # fmt: skip
    _bias_towards(folder, 1)
    backend = load_relation_backend(f"hf:{folder}")
    assert backend.name == "hf:biorex" and backend.version
    docs = gold_docs(corpora)
    preds = backend.predict(docs)
    for doc, found in zip(docs, preds, strict=True):
        ents = doc_entities(doc)
        expected = {(ents[a].id, ents[b].id) for a, b in candidate_pairs(ents)}
        assert {(p.id1, p.id2) for p in found} == expected
        assert all(p.type is POS and p.score == pytest.approx(0.9647, abs=1e-3) for p in found)
    # the "None" label winning means no relation
    _bias_towards(folder, 0)
    assert not any(load_relation_backend(f"hf:{folder}").predict(docs))


def test_hf_labels_map_through_kg_label_map(
    encoder_dir: Path, corpora: Path, tmp_path: Path
) -> None:
    from extractors.relations.base import load_relation_backend

    folder = tiny_classifier(tmp_path / "plain", ["LABEL_0", "LABEL_1"], encoder_dir)
    with pytest.raises(ConfigError, match="not relation types"):
        load_relation_backend(f"hf:{folder}")
    (folder / "kg_label_map.json").write_text('{"LABEL_0": null, "LABEL_1": "CID"}')
    _bias_towards(folder, 1)
    (folder / "kg_relations.json").write_text(
        '{"markers": ["[", "]", "<", ">"], "threshold": 0.99}'
    )
    backend = load_relation_backend(f"hf:{folder}")
    assert backend.threshold == 0.99 and backend.markers == ("[", "]", "<", ">")
    assert not any(backend.predict(gold_docs(corpora)))  # 0.98 < 0.99


def test_markers_wrap_both_entities() -> None:
    from extractors.relations.hf import mark

    ents = doc_entities(DOC)
    text = mark(DOC, ents[0], ents[1], ("[", "]", "<{type}>", "</{type}>"))
    assert text.startswith("[Lithium] causes <Disease>tremor</Disease>. <Disease>Tremor</Disease>")
    assert "[Lithium] levels" in text and "BRCA1" in text


def test_wrong_relation_model_paths_say_what_was_expected(encoder_dir: Path, tmp_path) -> None:
    from extractors.relations import base

    with pytest.raises(ConfigError, match="relation model not found"):
        base.load_relation_backend(f"re:{tmp_path / 'nothing'}")
    with pytest.raises(ConfigError, match="not a kg relation model"):
        base.load_relation_backend(f"re:{tmp_path}")
    with pytest.raises(ConfigError, match="not a sequence-classification one"):
        from transformers import BertConfig, BertForTokenClassification

        tok = tmp_path / "ner"
        BertForTokenClassification(BertConfig.from_pretrained(str(encoder_dir))).save_pretrained(
            str(tok)
        )
        base.load_relation_backend(f"hf:{tok}")
    with pytest.raises(ConfigError, match="unknown relation backend"):
        base.load_relation_backend("spacy:/x")
    assert base.load_relation_backend("none") is None


def test_missing_default_model_names_the_command(monkeypatch, tmp_path) -> None:
    from extractors.relations import base

    monkeypatch.setattr(base, "DEFAULT_MODEL", tmp_path / "absent")
    with pytest.raises(ModelNotInstalledError, match="kg train re"):
        base.load_relation_backend("default")


# --- the graph -----------------------------------------------------------------------------------


class _KeepGold:
    """A relation backend that states each gold relation again with a fixed score (test aid)."""

    name = "fixed"
    version = "1"
    threshold = 0.5

    def __init__(self, gold: dict[str, list]) -> None:
        self.gold = gold

    def predict(self, docs):
        from extractors.relations.scorer import PairPrediction

        return [
            [PairPrediction(r.id1, r.id2, r.type, 0.7, r.novel, 0.5) for r in self.gold[d.pmid]]
            for d in docs
        ]


def test_model_evidence_in_the_graph_counts_each_paper_once_and_reloads_cleanly(
    settings, graph, tmp_path
) -> None:
    from extractors.relations.extractor import RelationExtractor
    from kg.pipeline import ingest
    from loaders.base import get_sink

    doc = make_doc(
        "9001",
        "Lithium causes tremor.",
        "Lithium is used widely. Tremor after lithium was common.",
        [("Lithium", "Chemical", "D008094"), ("lithium", "Chemical", "D008094"),
         ("tremor", "Disease", "D014202"), ("Tremor", "Disease", "D014202")],
        [("Positive_Correlation", "MESH:D008094", "MESH:D014202")],
    )  # fmt: skip
    other = make_doc(
        "9002",
        "Tremor in lithium users.",
        "",
        [("lithium", "Chemical", "D008094"), ("Tremor", "Disease", "D014202")],
        [("Positive_Correlation", "MESH:D008094", "MESH:D014202")],
        pub_date="2022",
    )
    backend = _KeepGold({d.pmid: list(d.relations) for d in (doc, other)})
    terms = tmp_path / "terms.tsv"
    terms.write_text("lithium\tChemical\tMESH:D008094\ntremor\tDisease\tMESH:D014202\n")
    from extractors.entities import EntityExtractor
    from extractors.ner.base import load_recognizer

    entities = EntityExtractor(load_recognizer(f"dictionary:{terms}"), linker=None)
    extractor = RelationExtractor(entities, backend)

    def load() -> dict:
        items = [Document(**{**_fields(d), "relations": ()}) for d in (doc, other)]
        report = ingest(iter(items), get_sink("neo4j", settings), quarantine_path=tmp_path / "q",
                        batch_size=10, use_annotations=False, extractor=extractor)  # fmt: skip
        return report.sink

    first = load()
    assert first["publications_written"] == 2
    query = (
        "MATCH (c:Chemical)-[r:CAUSES]->(d:Disease) "
        "OPTIONAL MATCH (v:Evidence {relation_key: r.key}) "
        "RETURN r.paper_count AS papers, r.evidence_count AS evidence, r.confidence AS conf, "
        "r.first_year AS first, r.last_year AS last, r.extractors AS extractors, "
        "count(v) AS nodes"
    )
    with graph.session() as s:
        row = s.run(query).single().data()
    # two sentences of paper 9001 name both, one of 9002: three evidence, two papers
    assert row["papers"] == 2 and row["evidence"] == 3 == row["nodes"]
    assert row["conf"] == pytest.approx(1 - 0.3 * 0.3)  # noisy-OR over papers, not sentences
    assert (row["first"], row["last"]) == (2020, 2022)
    assert row["extractors"] == ["fixed@1"]
    assert extractor.name.startswith("dictionary") and extractor.name.endswith("+fixed@1")
    again = load()
    assert again["publications_unchanged"] == 2 and again["publications_written"] == 0
    with graph.session() as s:
        assert s.run(query).single().data() == row
        sentences = s.run(
            "MATCH (:Publication {pmid: '9001'})-[m:MENTIONS]->(e:Entity) "
            "RETURN e.id AS id, m.sentences AS sentences ORDER BY id"
        ).data()
    assert sentences == [
        {"id": "MESH:D008094", "sentences": [0, 1, 2]},
        {"id": "MESH:D014202", "sentences": [0, 2]},
    ]


def test_a_predicted_conversion_between_chemicals_has_no_made_up_direction() -> None:
    named = [("arsenite", "Chemical", "D000000"), ("arsenate", "Chemical", "C000000")]
    doc = make_doc("8", "arsenite becomes arsenate.", "", named)
    conv = RelationType.CONVERSION
    predicted = AnnotatedRelation(conv, "MESH:D000000", "MESH:C000000", None, 0.9, "kg-re@1")
    record, _ = assemble(Document(**{**_fields(doc), "relations": (predicted,)}))
    (ev,) = record.evidence
    assert ev.relation.predicate == "biolink:related_to" and ev.relation_type is conv
    assert (ev.relation.subject, ev.relation.object) == ("MESH:C000000", "MESH:D000000")
    # an input annotation states its direction: it keeps derives_into as written
    stated = AnnotatedRelation(conv, "MESH:D000000", "MESH:C000000")
    record, _ = assemble(Document(**{**_fields(doc), "relations": (stated,)}))
    assert record.evidence[0].relation.predicate == "biolink:derives_into"


@pytest.mark.parametrize("fmt", ["jsonl", "bioc"])
def test_model_relations_round_trip_with_score_and_source(fmt: str, tmp_path: Path) -> None:
    from extractors.run import write_documents
    from kg.readers import read_path

    rel = AnnotatedRelation(POS, "MESH:D008094", "MESH:D014202", True, 0.77, "kg-re@1")
    doc = Document(**{**_fields(DOC), "relations": (rel,)})
    path = tmp_path / ("out.jsonl" if fmt == "jsonl" else "out.xml")
    with path.open("w", encoding="utf-8") as fh:
        write_documents([doc], fmt, fh)
    (back,) = [d for d in read_path(path) if isinstance(d, Document)]
    (r,) = back.relations
    assert (r.type, r.novel, r.score, r.source) == (POS, True, 0.77, "kg-re@1")
    if fmt == "jsonl":  # JSONL carries the evidence sentences' offsets too
        row = json.loads(path.read_text())
        (evidence,) = row["relations"][0]["evidence"]
        assert doc.text[evidence["start"] : evidence["end"]] == "Lithium causes tremor."


def test_kg_train_re_and_ner_from_the_command_line(encoder_dir: Path, corpora: Path, tmp_path):
    from kg.cli.app import main

    common = ["--base", str(encoder_dir), "--epochs", "1", "--threads", "1", "--no-progress"]
    out = tmp_path / "re"
    res = CliRunner().invoke(
        main,
        ["train", "re", "--corpora", str(corpora), "--out", str(out), "--max-len", "64",
         "--use", "biored", "--dev", "biored", *common],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    record = json.loads((out / "relations.json").read_text())
    assert record["training"]["corpora"] == ["biored"] and record["training"]["epochs"] == 1
    assert record["context"] == "abstract"  # the default: the whole document
    assert "best epoch 1" in res.output
    from tests.ner_tiny import tiny_corpora

    ner_root = tiny_corpora(tmp_path / "ner-corpora")
    res = CliRunner().invoke(
        main,
        ["train", "ner", "--corpora", str(ner_root), "--out", str(tmp_path / "ner"),
         "--max-len", "24", "--use", "bc5cdr", "--dev", "bc5cdr", *common],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert (tmp_path / "ner" / "tagger.json").is_file()


def test_kg_train_re_continues_a_model_with_type_loss_and_balance_in_bfloat16(
    tiny_re: Path, encoder_dir: Path, corpora: Path, tmp_path
) -> None:
    import shutil

    from kg.cli.app import main

    start_dir = tmp_path / "start"
    shutil.copytree(tiny_re, start_dir)
    start_record = json.loads((start_dir / "relations.json").read_text())
    start_record["context"] = "pair_sentences"
    (start_dir / "relations.json").write_text(json.dumps(start_record))
    out = tmp_path / "re2"
    res = CliRunner().invoke(
        main,
        ["train", "re", "--corpora", str(corpora), "--out", str(out), "--max-len", "64",
         "--base", str(encoder_dir), "--init", str(start_dir), "--type-loss", "1",
         "--type-balance", "0.5", "--precision", "bfloat16", "--epochs", "1", "--lr", "1e-4",
         "--threads", "1", "--no-progress"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    record = json.loads((out / "relations.json").read_text())
    training = record["training"]
    assert training["type_loss"] == 1.0 and training["precision"] == "bfloat16"
    assert training["type_balance"] == 0.5 and max(training["type_weights"]) > 1.0
    assert training["init_training"]["epochs"] == 40  # the tiny model's own record
    assert record["context"] == "pair_sentences"  # read as the model it continues
    # A model continued from another is that model's next version.
    start = json.loads((tiny_re / "relations.json").read_text())["version"]
    assert record["version"] == training["version"] == str(int(start) + 1)
    # Started from a trained model, one epoch keeps what it found.
    assert training["epochs_dev"][0]["gold_entity_f1"]["biored"]["pair"] > 50


def test_a_continued_model_takes_the_next_version() -> None:
    from extractors.relations.train import next_version

    assert next_version("3") == "4"
    assert next_version("3-bf16") == "4"  # a precision suffix is not part of the number
    assert next_version(None) == next_version("beta") == "1"


def test_most_specific_disease_drops_the_broader_of_two_for_one_chemical() -> None:
    from extractors.relations.extractor import most_specific
    from extractors.relations.scorer import PairPrediction

    up = {"MESH:Dhepatitis": frozenset({"MESH:Dliver"}), "MESH:Dliver": frozenset()}

    def broader(curie: str) -> frozenset[str]:
        return up.get(curie, frozenset())

    types = {
        "MESH:Caspirin": EntityType.CHEMICAL,
        "MESH:Cother": EntityType.CHEMICAL,
        "MESH:Dhepatitis": EntityType.DISEASE,
        "MESH:Dliver": EntityType.DISEASE,
        "NCBIGene:1": EntityType.GENE,
    }
    pos, neg = RelationType.POSITIVE_CORRELATION, RelationType.NEGATIVE_CORRELATION

    def rel(a: str, b: str, t: RelationType = pos) -> PairPrediction:
        return PairPrediction(a, b, t, 0.5, None, 0.0)

    preds = [
        rel("MESH:Caspirin", "MESH:Dhepatitis"),
        rel("MESH:Dliver", "MESH:Caspirin"),  # broader, same chemical, same type: dropped
        rel("MESH:Cother", "MESH:Dliver"),  # another chemical's only disease: kept
        rel("MESH:Caspirin", "MESH:Dliver", neg),  # another type: kept
        rel("MESH:Dliver", "NCBIGene:1"),  # genes are left alone
        rel("MESH:Dhepatitis", "NCBIGene:1"),
    ]
    kept = most_specific(preds, types, broader)
    assert kept == [p for k, p in enumerate(preds) if k != 1]


def test_the_relation_stage_gets_the_lexicons_disease_hierarchy(
    settings, tiny_re: Path, tmp_path
) -> None:
    from extractors.registry import load_extractor
    from extractors.vocab import build_lexicon
    from tests.test_vocab import fixture_sources

    lexicon = tmp_path / "lexicon.sqlite"
    build_lexicon(fixture_sources(), lexicon)

    def with_extract(**values: object):
        extract = {**settings.extract.model_dump(), "lexicon": str(lexicon), **values}
        return settings.model_validate({**settings.model_dump(), "extract": extract})

    found = load_extractor(with_extract(), relations=f"re:{tiny_re}", entities=False)
    assert found.broader is not None and "MESH:D020278" in found.broader("MESH:D009103")
    off = load_extractor(
        with_extract(most_specific_disease=False), relations=f"re:{tiny_re}", entities=False
    )
    assert off.broader is None and off.identity != found.identity


def test_found_mentions_keep_the_gold_identifiers_they_overlap() -> None:
    from extractors.entities import EntityExtractor
    from extractors.ner.base import load_recognizer
    from extractors.relations.train import with_found_mentions

    terms = Path(__file__).parent / "fixtures" / "ner_terms"
    doc = make_doc(
        "9",
        "Aspirin-induced acute kidney injury in mice.",
        "Zorbide was given.",
        [("Aspirin", "Chemical", "D000082"), ("kidney injury", "Disease", "D007674"),
         ("Zorbide", "Chemical", "D999999")],
        [("Positive_Correlation", "D000082", "D007674")],
    )  # fmt: skip
    unknown = frozenset({("MESH:D000082", "MESH:D999999")})
    finder = EntityExtractor(load_recognizer(f"dictionary:{terms}"), None)
    ((found, kept),) = with_found_mentions([(doc, unknown)], finder)
    assert kept == unknown and found.relations == doc.relations
    assert [(m.text, m.ids) for m in found.mentions] == [
        ("Aspirin", ("MESH:D000082",)),  # the dictionary says D001241: the gold ID is kept
        ("acute kidney injury", ("MESH:D007674",)),  # the found span, the gold ID
        ("mice", ("NCBITaxon:10090",)),  # not in the gold: its own ID
    ]  # and Zorbide, which the entity stage misses, is gone


def test_type_weights_lift_rare_types_up_to_the_cap() -> None:
    from extractors.relations.train import MAX_TYPE_WEIGHT, TYPES, Example, type_weights

    common, rare = TYPES.index(ASSOC), TYPES.index(NEG)

    def row(positive: int | None) -> list[float | None]:
        cells: list[float | None] = [None] * len(TYPES)
        cells[common] = 1.0 if positive == common else 0.0
        cells[rare] = 1.0 if positive == rare else 0.0
        return cells

    rows = [row(common)] * 30 + [row(rare)] + [row(None)] * 91
    data = [Example(encoded=None, labels=rows, novelty=[None] * len(rows))]
    weights = type_weights(data, 0.5)
    assert weights[common] == round((92 / 30) ** 0.5, 3)
    assert weights[rare] == MAX_TYPE_WEIGHT  # sqrt(121 / 1) = 11, capped
    assert all(w == 1.0 for t, w in enumerate(weights) if t not in (common, rare))
    assert type_weights(data, 0.0) == [1.0] * len(TYPES)


def test_registry_gives_the_prior_to_a_model_that_asks(tiny_re: Path, tmp_path) -> None:
    import shutil

    from extractors.registry import load_extractor
    from kg.config import load_settings
    from tests.test_relation_prior import write_known

    folder = tmp_path / "with-prior"
    shutil.copytree(tiny_re, folder)
    record = json.loads((folder / "relations.json").read_text())
    record["prior"] = {"Chemical-Disease": {"log_support": 0.5}}
    (folder / "relations.json").write_text(json.dumps(record))
    known = write_known(tmp_path / "rel.tsv.gz")

    def load(value: str):
        settings = load_settings(overrides={"extract": {"known_relations": value}})
        return load_extractor(settings, relations=f"re:{folder}", entities=False)

    with_prior, without = load(str(known)), load("none")
    assert with_prior.relations.prior is not None and len(with_prior.relations.prior) == 1
    assert without.relations.prior is None
    assert with_prior.identity != without.identity
    assert with_prior.source.endswith("+prior") and not without.source.endswith("+prior")
    with pytest.raises(ConfigError, match="known relations file not found"):
        load(str(tmp_path / "absent.tsv.gz"))


def test_kg_eval_re_current_ids_reads_a_retired_gold_id_as_todays(settings, tmp_path) -> None:
    """A corpus annotated before MeSH made a supplementary concept a descriptor names an ID no
    vocabulary has; --current-ids reads it as the ID its mention text names today."""
    from extractors.linker import Linker
    from extractors.run import current_ids
    from extractors.vocab import build_lexicon
    from kg.cli.app import main
    from loaders.files.pubtator import write_pubtator
    from tests.test_vocab import fixture_sources

    lexicon = tmp_path / "lexicon.sqlite"
    build_lexicon(fixture_sources(), lexicon)
    extract = {**settings.extract.model_dump(), "lexicon": str(lexicon)}
    with_lexicon = settings.model_validate({**settings.model_dump(), "extract": extract})

    def doc(cisplatin: str, pmid: str = "1") -> Document:
        return make_doc(
            pmid,
            "Cisplatin-induced anemia.",
            "Zorbide was given. TP53 was read in rats.",
            [("Cisplatin", "Chemical", cisplatin), ("anemia", "Disease", "D000740"),
             ("Zorbide", "Chemical", "C999998"), ("TP53", "Gene", "99999991")],
            [("Positive_Correlation", cisplatin, "D000740")],
        )  # fmt: skip

    gold, pred = tmp_path / "gold.pubtator", tmp_path / "pred.pubtator"
    with gold.open("w") as out:  # the old ID, and one a lexicon name does not give
        write_pubtator([doc("C999999")], out)
    with pred.open("w") as out:
        write_pubtator([doc("D002945")], out)
    with Linker(lexicon) as linker:
        assert linker.in_vocabulary("MESH:D002945") and not linker.in_vocabulary("MESH:C999999")
        ids = current_ids([doc("C999999")], linker)
    # Zorbide names nothing, and the rat gene is of a species the lexicon lacks, not retired
    assert ids == {"MESH:C999999": "MESH:D002945"}

    def pair_f1(*flags: str, predictions: Path = pred) -> float:
        res = CliRunner().invoke(
            main,
            ["eval", "re", "--gold", str(gold), "--predictions", str(predictions), "--json",
             *flags],
            obj={"settings": with_lexicon},
        )  # fmt: skip
        assert res.exit_code == 0, res.output
        return json.loads(res.output[res.output.index("{") :])["predictions"]["pair"]["f1"]

    assert pair_f1() == 0.0
    assert pair_f1("--current-ids") == 100.0
    # predictions that still give the retired ID are read the same way
    assert pair_f1("--current-ids", predictions=gold) == 100.0
