"""The default recognizer: a transformer encoder with one B/I/O head per entity type.

Why one head per type, not one softmax over 13 BIO labels: the training corpora each annotate a
subset of the types, and a head per type lets a corpus train only the heads it annotates (see
:mod:`extractors.ner.corpora`). At prediction time each head proposes spans; where spans of two
types overlap, the more confident one wins.

Text is tokenized once per document with offsets, then cut into windows of whole sentences of
at most ``max_len`` word pieces, so that every prediction maps back to exact character offsets
in ``title + " " + abstract``. Predicted spans are snapped to whole word pieces' words.

The artifact (``kg train ner`` writes it, :func:`load_tagger` reads it) is a folder with
``tagger.json`` (base encoder, types, window length, training record) and
``tagger.safetensors`` (the fine-tuned layers and the heads, float16). The word-embedding table
is frozen during training and not saved: it comes from the base encoder, a pinned dependency
whose checksum is verified (:mod:`extractors.ner.encoders`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from extractors.artifacts import ArtifactKind
from extractors.ner.base import Span, resolve_overlaps
from extractors.precision import running
from kg.schema import EntityType
from kg.text import sentence_spans

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerFast

O, B, I = 0, 1, 2  # noqa: E741 - the names of the tagging scheme
IGNORE = -100


@dataclass(slots=True)
class Window:
    """A run of word pieces from one document, with their character offsets."""

    doc_index: int
    ids: list[int]
    offsets: list[tuple[int, int]]
    word_ids: list[int]
    #: labels[i][t]: O, B, I or IGNORE for piece i and type t (training only).
    labels: list[list[int]] = field(default_factory=list)


def _encode(tokenizer: PreTrainedTokenizerFast, text: str) -> tuple[list[int], list, list[int]]:
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    words = enc.word_ids()
    return enc["input_ids"], enc["offset_mapping"], [w if w is not None else -1 for w in words]


def windows(
    tokenizer: PreTrainedTokenizerFast, doc_index: int, text: str, max_len: int
) -> Iterator[Window]:
    """Whole sentences packed into windows of at most ``max_len`` word pieces."""
    ids, offsets, words = _encode(tokenizer, text)
    if not ids:
        return
    ends = [end for _, end in sentence_spans(text)] or [len(text)]
    cut_after: list[int] = []  # piece indices at which a sentence ends
    s = 0
    for i, (_, end) in enumerate(offsets):
        while s < len(ends) and end > ends[s]:
            s += 1
        if s < len(ends) and end >= ends[s]:
            cut_after.append(i)
    cuts = sorted(set(cut_after) | {len(ids) - 1})
    start = 0
    last_ok = -1
    for c in cuts:
        if c - start + 1 > max_len:
            if last_ok >= start:
                yield _window(doc_index, ids, offsets, words, start, last_ok + 1)
                start = last_ok + 1
            while c - start + 1 > max_len:  # one sentence longer than a window
                yield _window(doc_index, ids, offsets, words, start, start + max_len)
                start += max_len
        last_ok = c
    if start < len(ids):
        yield _window(doc_index, ids, offsets, words, start, len(ids))


def _window(doc_index: int, ids, offsets, words, a: int, b: int) -> Window:
    return Window(doc_index, list(ids[a:b]), [tuple(o) for o in offsets[a:b]], list(words[a:b]))


def label_window(
    window: Window,
    mentions: Iterable[tuple[int, int, EntityType]],
    types: Sequence[EntityType],
    annotated: frozenset[EntityType],
) -> None:
    """Fill ``window.labels`` from gold mentions; types the corpus does not annotate: IGNORE."""
    col = {t: i for i, t in enumerate(types)}
    base = [O if t in annotated else IGNORE for t in types]
    labels = [list(base) for _ in window.ids]
    for start, end, etype in mentions:
        if etype not in annotated or etype not in col:
            continue
        t = col[etype]
        first = True
        for i, (a, b) in enumerate(window.offsets):
            if b <= start or a >= end:
                continue
            labels[i][t] = B if first else I
            first = False
    window.labels = labels


def decode(window: Window, probs: Any, types: Sequence[EntityType]) -> list[Span]:
    """Spans from per-piece, per-type probabilities: ``probs[i, t] = [pO, pB, pI]`` (numpy).

    A span starts at a piece whose B or I beats O, runs through the following pieces whose I
    beats O and B (or that continue the same word), and is snapped to whole words.
    """
    import numpy as np

    n = len(window.ids)
    spans: list[Span] = []
    inside = probs[:, :, O] < np.maximum(probs[:, :, B], probs[:, :, I])
    cont = probs[:, :, I] > np.maximum(probs[:, :, O], probs[:, :, B])
    words = window.word_ids
    for t in np.flatnonzero(inside.any(axis=0)):
        etype = types[t]
        i = 0
        hits = np.flatnonzero(inside[:, t])
        h = 0
        while h < len(hits):
            i = int(hits[h])
            j = i + 1
            while j < n and (cont[j, t] or words[j] == words[j - 1]):
                j += 1
            while i > 0 and words[i - 1] == words[i]:
                i -= 1
            score = float(1.0 - probs[i:j, t, O].mean())
            spans.append(Span(window.offsets[i][0], window.offsets[j - 1][1], etype, score))
            while h < len(hits) and hits[h] < j:
                h += 1
    return resolve_overlaps(spans)


class Tagger:
    """A loaded tagger: ``tagger.predict(texts)`` gives the spans of each text."""

    def __init__(
        self,
        model: Any,
        tokenizer: PreTrainedTokenizerFast,
        types: Sequence[EntityType],
        max_len: int,
        info: dict[str, Any],
        batch_size: int = 16,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.types = tuple(types)
        self.max_len = max_len
        self.info = info
        self.batch_size = batch_size
        self.name = info.get("name", "kg-ner")
        self.version = str(info.get("version", "0"))
        self.precision = "float32"
        #: per type, the least span score kept (``kg tune ner`` chooses them on dev); 0: all
        self.type_thresholds = {
            EntityType(k): float(v) for k, v in info.get("type_thresholds", {}).items()
        }

    def set_precision(self, precision: str) -> None:
        """Run as ``float32``, ``bfloat16`` or ``int8`` (see extractors/precision.py).

        The dev scores of each form are in the model card (docs/models/ner.md).
        """
        from extractors.precision import SUFFIX, quantized

        if precision == "int8":
            self.model = quantized(self.model)
        self.precision = precision
        self.version = self.version.split("-")[0] + SUFFIX[precision]

    def predict(self, texts: Sequence[str]) -> list[list[Span]]:
        wins = [
            w
            for k, text in enumerate(texts)
            for w in windows(self.tokenizer, k, text, self.max_len)
        ]
        # longest first keeps padding low within a batch
        order = sorted(range(len(wins)), key=lambda k: -len(wins[k].ids))
        out: list[list[Span]] = [[] for _ in texts]
        self.model.eval()
        with running(self.precision):
            for a in range(0, len(order), self.batch_size):
                batch = [wins[k] for k in order[a : a + self.batch_size]]
                ids, mask = pad_batch(batch, self.tokenizer)
                probs = self.model(ids, mask).float().softmax(-1)[:, 1:].numpy()
                for w, p in zip(batch, probs, strict=True):
                    out[w.doc_index].extend(decode(w, p[: len(w.ids)], self.types))
        limits = self.type_thresholds
        return [
            [s for s in resolve_overlaps(spans) if s.score >= limits.get(s.type, 0.0)]
            for spans in out
        ]


def pad_batch(
    batch: Sequence[Window], tokenizer: PreTrainedTokenizerFast
) -> tuple[torch.Tensor, torch.Tensor]:
    """Input ids with [CLS] ... [SEP] and padding, and the attention mask."""
    import torch

    width = max(len(w.ids) for w in batch) + 2
    ids = torch.full((len(batch), width), tokenizer.pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for r, w in enumerate(batch):
        row = [tokenizer.cls_token_id, *w.ids, tokenizer.sep_token_id]
        ids[r, : len(row)] = torch.tensor(row)
        mask[r, : len(row)] = 1
    return ids, mask


def build_model(encoder: Any, n_types: int) -> Any:
    """The network: encoder, dropout, and a linear layer giving 3 logits per type per piece."""
    from torch import nn

    class MultiHeadTagger(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.dropout = nn.Dropout(0.1)
            self.head = nn.Linear(encoder.config.hidden_size, n_types * 3)
            self.n_types = n_types

        def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
            logits = self.head(self.dropout(hidden))
            return logits.view(ids.shape[0], ids.shape[1], self.n_types, 3)

    return MultiHeadTagger()


TAGGER = ArtifactKind(
    "tagger",
    "kg tagger",
    "train one with `kg train ner`, or choose another backend "
    "(e.g. hf:/path/to/checkpoint for a Hugging Face token-classification model)",
)


def save_tagger(model: Any, folder: Path, config: dict[str, Any]) -> None:
    """Write the artifact: trainable weights as float16 and the config next to them."""
    TAGGER.save(model, folder, config)


def write_config(folder: Path, config: dict[str, Any]) -> None:
    TAGGER.write_config(folder, config)


def read_config(folder: Path) -> dict[str, Any]:
    return TAGGER.read_config(folder)


def load_weights(model: Any, folder: Path, base: str) -> None:
    """Put an artifact's weights into a model built over its base encoder."""
    TAGGER.load_weights(model, folder, base)


def load_tagger(folder: Path, threads: int | None = None) -> Tagger:
    """Load a tagger artifact over its base encoder."""
    import torch

    from extractors.ner.encoders import load_encoder

    config = read_config(folder)
    if threads:
        torch.set_num_threads(threads)
    encoder, tokenizer = load_encoder(config["base"])
    types = [EntityType(t) for t in config["types"]]
    model = build_model(encoder, len(types))
    load_weights(model, folder, config["base"])
    model.eval()
    return Tagger(model, tokenizer, types, int(config["max_len"]), config)
