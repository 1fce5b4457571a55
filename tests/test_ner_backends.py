"""The recognizer backends ``hf:``, ``gliner:`` and ``dictionary:``, each on a tiny model or term
list built here (there is no model hub): the spans they find, their offsets, and the errors for
paths of the wrong kind."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from extractors.ner.base import Span, backend_names, load_recognizer
from extractors.ner.hf import OUTSIDE, Tag, decode_words, parse_label
from kg.errors import ConfigError
from kg.schema import EntityType

C, D, G = EntityType.CHEMICAL, EntityType.DISEASE, EntityType.GENE

#: Hand-written sentences and their mentions (found by first occurrence).
SENTENCES = [
    ("Cisplatin induced nephrotoxicity in rats.", [("Cisplatin", C), ("nephrotoxicity", D)]),
    (
        "Valproic acid caused acute kidney injury in two patients.",
        [("Valproic acid", C), ("acute kidney injury", D)],
    ),
    (
        "Patients given lithium developed hypothyroidism and tremor.",
        [("lithium", C), ("hypothyroidism", D), ("tremor", D)],
    ),
    ("Aspirin can trigger asthma in sensitive patients.", [("Aspirin", C), ("asthma", D)]),
]
HF_LABELS = ["O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease"]
#: Left out of the word-piece vocabulary, so that they split into several pieces.
SPLIT_WORDS = {"nephrotoxicity", "hypothyroidism"}


def gold(text: str, mentions: list[tuple[str, EntityType]]) -> list[tuple[int, int, EntityType]]:
    out = []
    for name, etype in mentions:
        start = text.index(name)
        out.append((start, start + len(name), etype))
    return sorted(out)


def tiny_tokenizer(folder: Path):
    """A lower-casing BERT word-piece tokenizer over the words of :data:`SENTENCES` and of the
    GLiNER type descriptions."""
    from transformers import BertTokenizerFast

    from extractors.ner.gliner_backend import DEFAULT_DESCRIPTIONS

    texts = [text for text, _ in SENTENCES] + [
        d for ds in DEFAULT_DESCRIPTIONS.values() for d in ds
    ]
    words = {w for text in texts for w in re.findall(r"\w+|[^\w\s]", text.lower())}
    chars = sorted({c for w in words for c in w})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(words - SPLIT_WORDS), *chars]
    vocab += [f"##{c}" for c in chars]
    tokenizer = BertTokenizerFast(vocab={w: i for i, w in enumerate(dict.fromkeys(vocab))})
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(folder))
    return tokenizer


def bert_config(tokenizer, positions: int = 64, **kwargs):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=positions,
        **kwargs,
    )


def piece_labels(tokenizer, text: str, mentions) -> tuple[list[int], list[int]]:
    """Input ids and BIO label ids on each word's first piece (-100 elsewhere)."""
    enc = tokenizer(text, return_offsets_mapping=True)
    spans = gold(text, mentions)
    labels, previous = [], None
    for (a, b), word in zip(enc["offset_mapping"], enc.word_ids(), strict=True):
        if word is None or word == previous:
            labels.append(-100)
        else:
            hit = next(((s, e, t) for s, e, t in spans if s <= a and b <= e), None)
            tag = "O" if hit is None else ("B-" if a == hit[0] else "I-") + hit[2].value
            labels.append(HF_LABELS.index(tag))
        previous = word
    return enc["input_ids"], labels


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models train faster on one thread than on two shared with other work."""
    try:
        import torch
    except ImportError:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def hf_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny BertForTokenClassification trained until it tags :data:`SENTENCES`."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from transformers import BertForTokenClassification

    folder = tmp_path_factory.mktemp("hf") / "tiny-bert-ner"
    tokenizer = tiny_tokenizer(folder)
    config = bert_config(
        tokenizer,
        num_labels=len(HF_LABELS),
        id2label=dict(enumerate(HF_LABELS)),
        label2id={label: i for i, label in enumerate(HF_LABELS)},
    )
    torch.manual_seed(0)
    model = BertForTokenClassification(config)
    rows = [piece_labels(tokenizer, text, mentions) for text, mentions in SENTENCES]
    width = max(len(ids) for ids, _ in rows)
    ids = torch.tensor([i + [0] * (width - len(i)) for i, _ in rows])
    labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in rows])
    mask = (ids != 0).long()
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    model.train()
    for _ in range(60):
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05, f"the tiny model did not fit its sentences (loss {loss.item()})"
    model.save_pretrained(str(folder))
    return folder


def test_all_backends_are_registered() -> None:
    assert {"tagger", "hf", "gliner", "dictionary"} <= set(backend_names())


# --- hf: -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "table", "expected"),
    [
        ("O", {}, OUTSIDE),
        ("B-Chemical", {}, Tag("B", C)),
        ("I-DISEASE", {}, Tag("I", D)),
        ("B-GeneOrGeneProduct", {}, Tag("B", G)),
        ("S_Chemical", {}, Tag("S", C)),
        ("L-Disease", {}, Tag("E", D)),  # BILOU's last is IOBES's end
        ("Gene", {}, Tag("I", G)),
        ("LABEL_0", {}, None),
        ("B-Cell_type", {}, None),
        ("LABEL_1", {"LABEL_1": "B-Chemical"}, Tag("B", C)),
        ("LABEL_1", {"LABEL_1": "Chemical"}, Tag("I", C)),
        ("B-Cell_type", {"Cell_type": None}, OUTSIDE),
        ("I-Drug_Name", {"Drug_Name": "chemical"}, Tag("I", C)),
    ],
)
def test_model_labels_map_onto_entity_types(label, table, expected) -> None:
    assert parse_label(label, table) == expected


def test_a_label_map_to_no_type_is_refused() -> None:
    with pytest.raises(ConfigError, match="LABEL_1.*no entity type"):
        parse_label("LABEL_1", {"LABEL_1": "Cell"})


def test_word_labels_decode_in_bio_iobes_and_io() -> None:
    tags = [OUTSIDE, Tag("B", C), Tag("I", C), Tag("E", C), Tag("S", D), Tag("I", D)]
    # words: 0-3 B-C, 4-7 I-C, 8-9 O, 10-12 S-D, 13-15 S-D, 16-18 I-D, 19-20 E-C
    words = [(0, 3, 1, 0.9), (4, 7, 2, 0.7), (8, 9, 0, 0.9), (10, 12, 4, 0.8), (13, 15, 4, 0.6),
             (16, 18, 5, 0.5), (19, 20, 3, 1.0)]  # fmt: skip
    spans = decode_words(words, tags)
    assert [(s.start, s.end, s.type) for s in spans] == [
        (0, 7, C), (10, 12, D), (13, 15, D), (16, 18, D), (19, 20, C),
    ]  # fmt: skip
    assert spans[0].score == pytest.approx(0.8)


def test_hf_checkpoint_finds_the_mentions_with_exact_offsets(hf_checkpoint: Path) -> None:
    model = load_recognizer(f"hf:{hf_checkpoint}")
    assert model.name == "hf:tiny-bert-ner"
    assert re.fullmatch(r"[0-9a-f]{12}", model.version)
    texts = [text for text, _ in SENTENCES]
    for text, (_, mentions), spans in zip(texts, SENTENCES, model.predict(texts), strict=True):
        assert [(s.start, s.end, s.type) for s in spans] == gold(text, mentions)
        assert [text[s.start : s.end] for s in spans] == [name for name, _ in mentions]
        assert all(0.5 < s.score <= 1.0 for s in spans)


def test_hf_long_text_is_cut_into_windows(hf_checkpoint: Path) -> None:
    model = load_recognizer(f"hf:{hf_checkpoint}")
    model.max_len = 24  # about a sentence per window, so that the text spans many windows
    text = " ".join(text for text, _ in SENTENCES * 3)
    (spans,) = model.predict([text])
    names = [name for _, mentions in SENTENCES * 3 for name, _ in mentions]
    assert [text[s.start : s.end] for s in spans] == names
    assert model.predict([""]) == [[]]


def test_hf_refuses_folders_that_are_not_ner_checkpoints(tmp_path: Path, hf_checkpoint) -> None:
    from transformers import BertForSequenceClassification, BertModel

    with pytest.raises(ConfigError, match="not found"):
        load_recognizer(f"hf:{tmp_path / 'nope'}")
    with pytest.raises(ConfigError, match="no config.json"):
        load_recognizer(f"hf:{tmp_path}")
    tokenizer = tiny_tokenizer(tmp_path / "plain")
    BertModel(bert_config(tokenizer)).save_pretrained(str(tmp_path / "plain"))
    with pytest.raises(ConfigError, match="BertModel model, not a token-classification"):
        load_recognizer(f"hf:{tmp_path / 'plain'}")
    # without the architectures entry, the missing head is what gives it away
    config = json.loads((tmp_path / "plain" / "config.json").read_text())
    config.pop("architectures")
    config["id2label"] = {"0": "O", "1": "B-Chemical"}
    (tmp_path / "plain" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="lack the token-classification head"):
        load_recognizer(f"hf:{tmp_path / 'plain'}")
    tiny_tokenizer(tmp_path / "cls")
    BertForSequenceClassification(bert_config(tokenizer)).save_pretrained(str(tmp_path / "cls"))
    with pytest.raises(ConfigError, match="BertForSequenceClassification"):
        load_recognizer(f"hf:{tmp_path / 'cls'}")


def test_hf_unreadable_labels_are_refused_until_mapped(tmp_path: Path, hf_checkpoint) -> None:
    folder = tmp_path / "numbered"
    shutil.copytree(hf_checkpoint, folder)
    config = json.loads((folder / "config.json").read_text())
    config["id2label"] = {str(i): f"LABEL_{i}" for i in range(len(HF_LABELS))}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="LABEL_0, LABEL_1") as err:
        load_recognizer(f"hf:{folder}")
    assert "kg_label_map.json" in str(err.value)
    table = {f"LABEL_{i}": (None if label == "O" else label) for i, label in enumerate(HF_LABELS)}
    (folder / "kg_label_map.json").write_text(json.dumps(table))
    model = load_recognizer(f"hf:{folder}")
    text, mentions = SENTENCES[1]
    assert [(s.start, s.end, s.type) for s in model.predict([text])[0]] == gold(text, mentions)
    assert model.version != load_recognizer(f"hf:{hf_checkpoint}").version


def test_hf_refuses_a_slow_tokenizer(hf_checkpoint: Path, monkeypatch) -> None:
    import transformers

    class Slow:
        is_fast = False

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", lambda *a, **k: Slow())
    with pytest.raises(ConfigError, match="slow"):
        load_recognizer(f"hf:{hf_checkpoint}")


# --- gliner: ---------------------------------------------------------------------------------


def word_spans(model, text: str, mentions, labels: dict[EntityType, str]) -> dict:
    """A GLiNER training example: the text's words and the word-index spans of its mentions."""
    words = list(model.data_processor.words_splitter(text))
    ner = []
    for start, end, etype in gold(text, mentions):
        first = next(i for i, (_, a, _) in enumerate(words) if a == start)
        last = next(i for i, (_, _, b) in enumerate(words) if b == end)
        ner.append([first, last, labels[etype]])
    return {"tokenized_text": [w for w, _, _ in words], "ner": ner}


#: The GLiNER fixture is trained on prompts of these two types only, so it is asked for them only.
TWO_TYPES = {"descriptions": {t.value: None for t in EntityType if t not in (C, D)}}


@pytest.fixture(scope="module")
def gliner_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GLiNER over a 2-layer BERT, trained on :data:`SENTENCES` with our descriptions."""
    pytest.importorskip("gliner", reason="the optional extra gliner is not installed")
    import random

    import torch
    from gliner import GLiNER, GLiNERConfig
    from transformers import BertModel

    from extractors.ner.gliner_backend import DEFAULT_DESCRIPTIONS

    root = tmp_path_factory.mktemp("gliner")
    backbone = root / "tiny-bert"
    tokenizer = tiny_tokenizer(backbone)
    torch.manual_seed(0)
    random.seed(0)  # GLiNER shuffles the types of each batch
    # room for the type prompt before the text's word pieces; no dropout: a quick, steady fit
    config = bert_config(
        tokenizer, positions=128, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0
    )
    BertModel(config).save_pretrained(str(backbone))
    config = GLiNERConfig(
        model_name=str(backbone), hidden_size=32, max_width=4, max_len=64, dropout=0.0,
        num_rnn_layers=0, max_neg_type_ratio=0,
    ).to_dict()  # fmt: skip
    config.pop("model_type")  # GLiNER.from_config refuses it in a dict; the class derives it
    model = GLiNER.from_config(config)
    labels = {t: DEFAULT_DESCRIPTIONS[t][0] for t in (C, D)}
    data = [word_spans(model, text, mentions, labels) for text, mentions in SENTENCES]
    collate = model.data_collator_class(
        model.config, data_processor=model.data_processor, prepare_labels=True
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    model.train()
    for _ in range(150):
        loss = model.model(**collate(data)).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    folder = root / "tiny-gliner"
    model.save_pretrained(str(folder), safe_serialization=True)
    (folder / "kg_gliner.json").write_text(json.dumps(TWO_TYPES))
    return folder


def test_gliner_finds_the_described_types_with_exact_offsets(gliner_model: Path) -> None:
    model = load_recognizer(f"gliner:{gliner_model}")
    assert model.name == "gliner:tiny-gliner"
    texts = [text for text, _ in SENTENCES]
    for text, (_, mentions), spans in zip(texts, SENTENCES, model.predict(texts), strict=True):
        assert [(s.start, s.end, s.type) for s in spans] == gold(text, mentions)
        assert all(model.threshold <= s.score <= 1.0 for s in spans)
    assert model.predict(["", "   "]) == [[], []]


def test_gliner_long_text_is_cut_at_sentences(gliner_model: Path) -> None:
    model = load_recognizer(f"gliner:{gliner_model}")
    model.max_words = 12
    text = " ".join(text for text, _ in SENTENCES * 2)
    chunks = model.chunks(text)
    assert len(chunks) >= 4
    assert all(text[b - 1] == "." for _, b in chunks)  # each ends a sentence
    (spans,) = model.predict([text])
    expected = [name for _, mentions in SENTENCES * 2 for name, _ in mentions]
    assert [text[s.start : s.end] for s in spans] == expected


def test_gliner_descriptions_and_threshold_come_from_the_settings(gliner_model: Path) -> None:
    from extractors.ner.gliner_backend import load_gliner

    base = load_recognizer(f"gliner:{gliner_model}")
    assert base.labels == {"chemical compound or drug": C, "disease or phenotype": D}
    assert base.threshold == 0.5
    settings = {"descriptions": {"Disease": None, "Gene": ["gene", "protein"]}, "threshold": 0.3}
    (gliner_model / "kg_gliner.json").write_text(json.dumps(settings))
    try:
        model = load_recognizer(f"gliner:{gliner_model}")
        assert set(model.labels.values()) == set(EntityType) - {D}  # defaults for the rest
        assert model.labels["protein"] == G and model.threshold == 0.3
        assert model.version != base.version
        text = SENTENCES[0][0]
        assert all(s.type != D for s in model.predict([text])[0])
        assert load_gliner(gliner_model, threshold=0.9).threshold == 0.9
        with pytest.raises(ConfigError, match="both Chemical and Gene"):
            load_gliner(gliner_model, descriptions={"Chemical": "gene"})
        with pytest.raises(ConfigError, match="unknown entity type 'Cell'"):
            load_gliner(gliner_model, descriptions={"Cell": "cell"})
    finally:
        (gliner_model / "kg_gliner.json").write_text(json.dumps(TWO_TYPES))


def test_gliner_refuses_folders_that_are_not_gliner_models(tmp_path: Path, hf_checkpoint) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_recognizer(f"gliner:{tmp_path / 'nope'}")
    with pytest.raises(ConfigError, match="(?s)is not a GLiNER model.*hf:") as err:
        load_recognizer(f"gliner:{hf_checkpoint}")
    assert "gliner_config.json" in str(err.value)


# --- dictionary: -----------------------------------------------------------------------------

TERMS = Path(__file__).parent / "fixtures" / "ner_terms"


def found(model, text: str) -> list[tuple[str, EntityType, tuple[str, ...]]]:
    (spans,) = model.predict([text])
    return [(text[s.start : s.end], s.type, s.ids) for s in spans]


def test_dictionary_matches_longest_whole_words_with_ids() -> None:
    model = load_recognizer(f"dictionary:{TERMS}")
    assert model.name == "dictionary:ner_terms"
    text = (
        "ASPIRIN-induced acute  kidney\ninjury in mice; aspirinate did not. Kidney injury and "
        "Na+ levels, IL-6 and il-6, Ca and ca. 3 mice."
    )
    assert found(model, text) == [
        ("ASPIRIN", C, ("MESH:D001241", "CHEBI:15365")),  # listed twice: ids merged
        ("acute  kidney\ninjury", D, ("MESH:D058186", "HP:0001919")),  # the longest term
        ("mice", EntityType.SPECIES, ("NCBITaxon:10090",)),
        ("Kidney injury", D, ("MESH:D058186",)),
        ("Na+", C, ()),
        ("IL-6", G, ("NCBIGene:3569",)),
        ("il-6", G, ("NCBIGene:3569",)),  # short capitals, but flagged nocase
        ("Ca", C, ("MESH:D002118",)),  # flagged case: "ca." is not calcium
        ("mice", EntityType.SPECIES, ("NCBITaxon:10090",)),
    ]


def test_dictionary_short_capitals_match_only_as_written() -> None:
    model = load_recognizer(f"dictionary:{TERMS / 'genes_species.tsv'}")
    assert found(model, "ACE and COLD") == [
        ("ACE", G, ("NCBIGene:1636",)),
        ("COLD", D, ("MESH:D029424",)),
    ]
    assert found(model, "an ace in the cold; acetylsalicylic acid") == []
    text = "Angiotensin  converting enzyme in a mouse"
    spans = model.predict([text])[0]
    assert [(text[s.start : s.end], s.type) for s in spans] == [
        ("Angiotensin  converting enzyme", G),
        ("mouse", EntityType.SPECIES),  # "Organism" is read as Species
    ]
    # whitespace must be where the term has it, and only there
    assert found(model, "angiotensin-converting enzyme") == []


def test_dictionary_version_follows_the_terms(tmp_path: Path) -> None:
    terms = tmp_path / "terms.tsv"
    terms.write_text("aspirin\tChemical\n", encoding="utf-8")
    first = load_recognizer(f"dictionary:{terms}")
    assert first.name == "dictionary:terms.tsv"
    terms.write_text("aspirin\tChemical\tMESH:D001241\n", encoding="utf-8")
    assert load_recognizer(f"dictionary:{terms}").version != first.version


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("aspirin\tChemical\naspirin Chemical\n", r"terms\.tsv, line 2: expected 2 to 4 tab"),
        ("# terms\naspirin\tDrug\ntremor\tSymptom\n", r"terms\.tsv, line 3: unknown entity type"),
        ("aspirin\tChemical\t-\tignorecase\n", r"terms\.tsv, line 1: unknown flags"),
        ("aspirin\tChemical\t-\tcase\tmore\n", r"line 1: expected 2 to 4 tab-separated columns"),
        ("--\tChemical\n", r"line 1: the term '--' has no letter or digit"),
        ("# nothing\n\n", r"terms\.tsv: no terms found"),
    ],
)
def test_dictionary_malformed_lines_name_file_and_line(tmp_path, content, message) -> None:
    (tmp_path / "terms.tsv").write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_recognizer(f"dictionary:{tmp_path / 'terms.tsv'}")


def test_dictionary_refuses_missing_and_empty_paths(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="term list not found"):
        load_recognizer(f"dictionary:{tmp_path / 'nope.tsv'}")
    with pytest.raises(ConfigError, match=r"holds no \*\.tsv term lists"):
        load_recognizer(f"dictionary:{tmp_path}")


def test_dictionary_conflicting_types_keep_the_first(tmp_path: Path, caplog) -> None:
    (tmp_path / "a.tsv").write_text("cold\tDisease\tMESH:D003139\n", encoding="utf-8")
    (tmp_path / "b.tsv").write_text("Cold\tChemical\n", encoding="utf-8")
    model = load_recognizer(f"dictionary:{tmp_path}")
    assert model.predict(["a cold"]) == [[Span(2, 6, D, 1.0, ("MESH:D003139",))]]
    assert "1 terms listed again with another type" in caplog.text
