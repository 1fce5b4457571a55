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
    body = "\n".join(pubtator_record(900 + k, t, a, m) for k, (t, a, m) in enumerate(TEXTS))
    for split in ("train", "dev"):
        (folder / f"{split}.pubtator").write_text(body, encoding="utf-8")
    return root


def tiny_encoder(folder: Path, hidden: int = 32) -> Path:
    """A randomly initialized 2-layer BERT and its fast tokenizer, saved to ``folder``."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    words: set[str] = set()
    for title, abstract, _ in TEXTS:
        words.update(re.findall(r"\w+|[^\w\s]", f"{title} {abstract}".lower()))
    chars = sorted({c for w in words for c in w})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(words), *chars,
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
