"""Tiny models and corpora for the recognizer tests, built locally (there is no model hub).

``tiny_encoder`` writes a 2-layer BERT with a word-piece vocabulary made from the test texts;
``tiny_corpora`` writes a PubTator corpus laid out like the shared corpora folder.
"""

from __future__ import annotations

import re
from pathlib import Path

#: (title, abstract, [(mention text, type)]): mentions are found by their first occurrences.
TEXTS = [
    (
        "Cisplatin induced nephrotoxicity in rats.",
        "Cisplatin is an anticancer drug. Nephrotoxicity limits the use of cisplatin.",
        [("Cisplatin", "Chemical"), ("nephrotoxicity", "Disease")],
    ),
    (
        "Lithium and hypothyroidism.",
        "Patients given lithium developed hypothyroidism and tremor.",
        [("Lithium", "Chemical"), ("hypothyroidism", "Disease"), ("tremor", "Disease")],
    ),
    (
        "Haloperidol causes tremor.",
        "Tremor was seen after haloperidol in patients with schizophrenia.",
        [("Haloperidol", "Chemical"), ("tremor", "Disease"), ("schizophrenia", "Disease")],
    ),
    (
        "Aspirin and asthma.",
        "Aspirin can trigger asthma in sensitive patients.",
        [("Aspirin", "Chemical"), ("asthma", "Disease")],
    ),
]


def pubtator_record(pmid: int, title: str, abstract: str, mentions: list[tuple[str, str]]) -> str:
    text = f"{title} {abstract}"
    lines = [f"{pmid}|t|{title}", f"{pmid}|a|{abstract}"]
    for name, etype in mentions:
        for m in re.finditer(r"\b" + re.escape(name) + r"\b", text, flags=re.IGNORECASE):
            lines.append(f"{pmid}\t{m.start()}\t{m.end()}\t{m.group()}\t{etype}\t-")
    # sort mention lines by offset, as PubTator files are
    head, rest = lines[:2], sorted(lines[2:], key=lambda line: int(line.split("\t")[1]))
    return "\n".join(head + rest) + "\n"


def tiny_corpora(root: Path) -> Path:
    """``root/bc5cdr/{train,dev}.pubtator`` with the texts above (dev = train: tiny test)."""
    folder = root / "bc5cdr"
    folder.mkdir(parents=True, exist_ok=True)
    # dev holds the same texts under other PMIDs (a dev PMID is kept out of training)
    for split, first in (("train", 900), ("dev", 950)):
        body = "\n".join(pubtator_record(first + k, t, a, m) for k, (t, a, m) in enumerate(TEXTS))
        (folder / f"{split}.pubtator").write_text(body, encoding="utf-8")
    return root


def tiny_encoder(folder: Path, hidden: int = 32) -> Path:
    """A randomly initialized 2-layer BERT and its fast tokenizer, saved to ``folder``."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    words: set[str] = set()
    for title, abstract, _ in TEXTS:
        words.update(re.findall(r"\w+|[^\w\s]", f"{title} {abstract}".lower()))
    chars = sorted({c for w in words for c in w})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "*", *sorted(words), *chars,
             *(f"##{c}" for c in chars)]  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    table = {token: k for k, token in enumerate(dict.fromkeys(vocab))}
    # transformers 5 builds a fast tokenizer from a vocab mapping (vocab_file is ignored)
    tokenizer = BertTokenizerFast(vocab=table, do_lower_case=True)
    tokenizer.save_pretrained(str(folder))
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=hidden,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(str(folder))
    return folder


#: (title, abstract, [(mention, type, id)], [(relation type, id1, id2, novel)]): a tiny
#: relation corpus; mentions are found at every occurrence of their text.
RELATION_TEXTS = [
    (
        "Cisplatin induced nephrotoxicity in rats.",
        "Cisplatin is an anticancer drug. Nephrotoxicity limits the use of cisplatin.",
        [("isplatin", "Chemical", "D002945"), ("ephrotoxicity", "Disease", "D007674")],
        [("Positive_Correlation", "D002945", "D007674", "Novel")],
    ),
    (
        "Lithium and hypothyroidism.",
        "Patients given lithium developed hypothyroidism and tremor.",
        [
            ("ithium", "Chemical", "D008094"),
            ("hypothyroidism", "Disease", "D007037"),
            ("tremor", "Disease", "D014202"),
        ],
        [
            ("Positive_Correlation", "D008094", "D007037", "Novel"),
            ("Positive_Correlation", "D008094", "D014202", "No"),
        ],
    ),
    (
        "Haloperidol causes tremor.",
        "Tremor was seen after haloperidol in patients with schizophrenia.",
        [
            ("aloperidol", "Chemical", "D006220"),
            ("remor", "Disease", "D014202"),
            ("schizophrenia", "Disease", "D012559"),
        ],
        [
            ("Positive_Correlation", "D006220", "D014202", "Novel"),
            ("Negative_Correlation", "D006220", "D012559", "No"),
        ],
    ),
    (
        "Aspirin and asthma.",
        "Aspirin can trigger asthma in sensitive patients.",
        [("Aspirin", "Chemical", "D001241"), ("asthma", "Disease", "D001249")],
        [("Positive_Correlation", "D001241", "D001249", "Novel")],
    ),
]


def relation_record(pmid: int, title: str, abstract: str, mentions, relations, cid: bool) -> str:
    """A PubTator record; ``cid``: BC5CDR style (CID lines, Positive_Correlation only)."""
    text = f"{title} {abstract}"
    lines = []
    for name, etype, ident in mentions:
        for m in re.finditer(r"\w*" + re.escape(name), text):
            lines.append(f"{pmid}\t{m.start()}\t{m.end()}\t{m.group()}\t{etype}\t{ident}")
    lines.sort(key=lambda line: int(line.split("\t")[1]))
    for rtype, a, b, novel in relations:
        if cid:
            if rtype == "Positive_Correlation":
                lines.append(f"{pmid}\tCID\t{a}\t{b}")
        else:
            lines.append(f"{pmid}\t{rtype}\t{a}\t{b}\t{novel}")
    return "\n".join([f"{pmid}|t|{title}", f"{pmid}|a|{abstract}", *lines]) + "\n"


def tiny_relation_corpora(root: Path) -> Path:
    """``root/{biored,bc5cdr}/{train,dev}.pubtator`` from :data:`RELATION_TEXTS`, and
    ``root/chemdisgene/curated/`` laid out as ChemDisGene's (mentions in the text file, relations
    in TSV files, one of them with a label outside the table)."""
    import gzip

    for corpus, cid in (("biored", False), ("bc5cdr", True)):
        folder = root / corpus
        folder.mkdir(parents=True, exist_ok=True)
        for split, first in (("train", 700), ("dev", 750)):  # other PMIDs, same texts
            body = "\n".join(
                relation_record(first + k, t, a, m, r, cid)
                for k, (t, a, m, r) in enumerate(RELATION_TEXTS)
            )
            (folder / f"{split}.pubtator").write_text(body, encoding="utf-8")
    folder = root / "chemdisgene" / "curated"
    folder.mkdir(parents=True, exist_ok=True)
    texts = [
        relation_record(700 + k, t, a, [(n, ty, f"MESH:{i}") for n, ty, i in m], [], False)
        for k, (t, a, m, _) in enumerate(RELATION_TEXTS)
    ]
    labels = {"Positive_Correlation": "chem^disease:marker/mechanism",
              "Negative_Correlation": "chem^disease:therapeutic"}  # fmt: skip
    rows = [
        f"{700 + k}\t{labels[r]}\tMESH:{a}\tMESH:{b}\n"
        for k, (_, _, _, rels) in enumerate(RELATION_TEXTS)
        for r, a, b, _ in rels
    ]
    with gzip.open(folder / "abstracts.txt.gz", "wt", encoding="utf-8") as fh:
        fh.write("\n".join(texts))
    with gzip.open(folder / "approved_relns_ctd_v0.tsv.gz", "wt", encoding="utf-8") as fh:
        fh.writelines(rows[:3])
    with gzip.open(folder / "approved_relns_new_v0.tsv.gz", "wt", encoding="utf-8") as fh:
        fh.writelines([*rows[3:], "702\tchem^disease:affects-course\tMESH:D006220\tMESH:D012559\n"])
    return root


def tiny_classifier(folder: Path, labels: list[str], encoder: Path) -> Path:
    """A 2-layer BERT sequence classifier over ``encoder``'s vocabulary, labels by name."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(str(encoder), local_files_only=True)
    config = BertConfig.from_pretrained(str(encoder))
    config.num_labels = len(labels)
    config.id2label = dict(enumerate(labels))
    config.label2id = {v: k for k, v in config.id2label.items()}
    model = BertForSequenceClassification(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder
