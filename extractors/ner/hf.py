"""Any Hugging Face token-classification checkpoint in a local folder (``hf:PATH``).

BioBERT, PubMedBERT or Bioformer NER checkpoints name their labels in many ways: BIO
(``B-Chemical``), IOBES or BILOU (``S-DISEASE``), plain type names (``Gene``) or nothing useful
(``LABEL_0``). Each label is mapped onto an :class:`~kg.schema.EntityType` with
:func:`kg.schema.parse_entity_type`; an optional ``kg_label_map.json`` next to the checkpoint maps
the labels it cannot read (``{"LABEL_1": "B-Chemical", "LABEL_2": "I-Chemical", "LABEL_0": null}``;
a key may be a whole label or the type part of one, null drops it).

Texts are cut into windows of whole sentences that fit the model (:func:`tagger.windows`), each
word takes the label of its first word piece (how such checkpoints are trained), and runs of
words with the same type become spans with exact character offsets. A span's score is the mean
probability of its words' labels.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extractors.ner.base import Span, read_json_file, resolve_overlaps
from kg.errors import ConfigError, SchemaError
from kg.schema import EntityType, parse_entity_type

log = logging.getLogger(__name__)

EXPECTED = (
    "a folder with a Hugging Face token-classification checkpoint "
    "(config.json, a fast tokenizer's tokenizer.json, and the weights)"
)
LABEL_MAP = "kg_label_map.json"
WEIGHTS = ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json")
#: BILOU tags read as their IOBES equivalents.
_TAGS = {"B": "B", "I": "I", "E": "E", "S": "S", "L": "E", "U": "S"}
_PREFIXED = re.compile(r"^([BIESLU])[-_](.+)$", re.IGNORECASE)
#: The longest window the adapter uses, in word pieces (without [CLS] and [SEP]).
MAX_WINDOW = 510


@dataclass(frozen=True, slots=True)
class Tag:
    """What one model label means: a tag of the scheme and a type (None: outside)."""

    tag: str
    type: EntityType | None


OUTSIDE = Tag("O", None)


def _split(label: str) -> tuple[str | None, str]:
    m = _PREFIXED.match(label.strip())
    return (_TAGS[m.group(1).upper()], m.group(2)) if m else (None, label.strip())


def parse_label(label: str, table: dict[str, str | None], source: str = LABEL_MAP) -> Tag | None:
    """The meaning of a model label, or None when neither the name nor ``table`` says."""
    if label.strip().upper() == "O":
        return OUTSIDE
    tag, name = _split(label)
    for key in (label, name):
        if key not in table:
            continue
        target = table[key]
        if target is None:
            return OUTSIDE
        target_tag, target_name = _split(str(target))
        try:
            return Tag(target_tag or tag or "I", parse_entity_type(target_name))
        except SchemaError as exc:
            raise ConfigError(
                f"{source}: label {key!r} is mapped to {target!r}, which is no entity type",
                hint=f"map it to one of {', '.join(t.value for t in EntityType)}, or to null",
            ) from exc
    try:
        return Tag(tag or "I", parse_entity_type(name))
    except SchemaError:
        return None


def label_table(id2label: dict[int, str], table: dict[str, str | None], folder: Path) -> list[Tag]:
    """The meaning of each class id; refuses a checkpoint none of whose labels is a type."""
    source = str(folder / LABEL_MAP)
    parsed = {i: parse_label(label, table, source) for i, label in id2label.items()}
    unknown = sorted(id2label[i] for i, tag in parsed.items() if tag is None)
    if not any(tag is not None and tag.type is not None for tag in parsed.values()):
        example = {label: "B-Chemical" for label in unknown[:2]}
        raise ConfigError(
            f"no label of the checkpoint in {folder} maps to an entity type "
            f"(could not map: {', '.join(unknown[:12]) or 'no labels'})",
            hint=f"write {folder / LABEL_MAP} mapping each label to one of "
            f"{', '.join(t.value for t in EntityType)} (optionally with its B-/I- tag) or to "
            f"null to drop it, e.g. {json.dumps(example)}",
        )
    if unknown:
        log.warning(
            "%s: labels %s map to no entity type and are ignored (map them in %s)",
            folder,
            ", ".join(unknown),
            LABEL_MAP,
        )
    return [parsed[i] or OUTSIDE for i in sorted(parsed)]


def decode_words(words: Sequence[tuple[int, int, int, float]], tags: Sequence[Tag]) -> list[Span]:
    """Spans from ``(start, end, label id, probability)`` per word, for BIO, IOBES or IO labels.

    A span opens at B or S, at a type change, or at I/E after outside; it closes at E or S, at
    outside, or when the type changes.
    """
    spans: list[Span] = []
    open_: list[Any] | None = None  # [start, end, type, probabilities]

    def close() -> None:
        nonlocal open_
        if open_ is not None:
            start, end, etype, probs = open_
            spans.append(Span(start, end, etype, sum(probs) / len(probs)))
        open_ = None

    for start, end, label, prob in words:
        tag = tags[label]
        if tag.type is None:
            close()
            continue
        if tag.tag in ("B", "S") or open_ is None or open_[2] != tag.type:
            close()
            open_ = [start, end, tag.type, [prob]]
        else:
            open_[1] = end
            open_[3].append(prob)
        if tag.tag in ("E", "S"):
            close()
    close()
    return spans


def window_words(offsets: Sequence[tuple[int, int]], word_ids: Sequence[int], probs: Any):
    """Per word of a window: its character extent and its first piece's label and probability."""
    best = probs.argmax(-1)
    words: list[tuple[int, int, int, float]] = []
    for i, ((a, b), w) in enumerate(zip(offsets, word_ids, strict=True)):
        if i > 0 and w == word_ids[i - 1] and w != -1:
            start, _, label, prob = words[-1]
            words[-1] = (start, b, label, prob)
        else:
            words.append((a, b, int(best[i]), float(probs[i, best[i]])))
    return words


class HFRecognizer:
    """A loaded token-classification checkpoint behind the :class:`Recognizer` protocol."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        tags: Sequence[Tag],
        max_len: int,
        name: str,
        version: str,
        batch_size: int = 16,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.tags = tuple(tags)
        self.max_len = max_len
        self.name = name
        self.version = version
        self.batch_size = batch_size

    @property
    def types(self) -> tuple[EntityType, ...]:
        return tuple(dict.fromkeys(t.type for t in self.tags if t.type is not None))

    def predict(self, texts: Sequence[str]) -> list[list[Span]]:
        import torch

        from extractors.ner.tagger import pad_batch, windows

        wins = [w for k, t in enumerate(texts) for w in windows(self.tokenizer, k, t, self.max_len)]
        order = sorted(range(len(wins)), key=lambda k: -len(wins[k].ids))
        out: list[list[Span]] = [[] for _ in texts]
        with torch.inference_mode():
            for a in range(0, len(order), self.batch_size):
                batch = [wins[k] for k in order[a : a + self.batch_size]]
                ids, mask = pad_batch(batch, self.tokenizer)
                logits = self.model(input_ids=ids, attention_mask=mask).logits
                probs = logits.float().softmax(-1)[:, 1:].numpy()  # drop [CLS]
                for w, p in zip(batch, probs, strict=True):
                    words = window_words(w.offsets, w.word_ids, p[: len(w.ids)])
                    out[w.doc_index].extend(decode_words(words, self.tags))
        return [resolve_overlaps(spans) for spans in out]


def read_checkpoint_config(
    folder: Path,
    architecture: str = "ForTokenClassification",
    kind: str = "token-classification",
    expected: str = EXPECTED,
) -> dict[str, Any]:
    """``config.json`` of a checkpoint folder, checked to be of the ``architecture`` wanted."""
    path = folder / "config.json"
    if not folder.is_dir() or not path.is_file():
        raise ConfigError(
            f"{folder} is not a Hugging Face checkpoint: no config.json", hint=expected
        )
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} is not readable JSON: {exc}", hint=expected) from exc
    archs = config.get("architectures") or []
    if archs and not any(a.endswith(architecture) for a in archs):
        raise ConfigError(
            f"{folder} holds a {', '.join(archs)} model, not a {kind} one",
            hint=f"expected {expected}; its config.json names an architecture ending in "
            f"{architecture}",
        )
    if not any((folder / w).is_file() for w in WEIGHTS):
        raise ConfigError(f"{folder} has no weights ({' or '.join(WEIGHTS[:2])})", hint=expected)
    return config


def load_tokenizer(folder: Path, expected: str) -> Any:
    """A checkpoint's tokenizer, or a clear error."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"no usable tokenizer in {folder}: {exc}", hint=expected) from exc


def load_classifier(
    folder: Path, auto_class: Any, n_labels: int, expected: str, *, head: str, purpose: str
) -> Any:
    """A checkpoint's model through ``auto_class``, checked to have its head and its labels."""
    try:
        model, info = auto_class.from_pretrained(
            str(folder), local_files_only=True, output_loading_info=True
        )
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"cannot load the model in {folder}: {exc}", hint=expected) from exc
    if info.get("missing_keys"):
        missing = sorted(info["missing_keys"])
        raise ConfigError(
            f"the weights in {folder} lack the {head} (missing {', '.join(missing[:3])})",
            hint=f"expected {expected}, {purpose}",
        )
    if model.config.num_labels != n_labels:
        raise ConfigError(
            f"{folder}: the model has {model.config.num_labels} labels, id2label {n_labels}",
            hint="fix id2label in config.json",
        )
    model.eval()
    return model


def _read_config(folder: Path) -> dict[str, Any]:
    return read_checkpoint_config(folder)


def read_label_map(
    folder: Path,
    name: str = LABEL_MAP,
    example: str = '{"LABEL_1": "B-Chemical", "LABEL_2": "I-Chemical", "LABEL_0": null}',
) -> dict[str, str | None]:
    """An optional JSON object next to a checkpoint mapping its labels to ours (or null)."""
    path = folder / name
    table = read_json_file(path)
    if table is None:
        return {}
    if not isinstance(table, dict) or not all(isinstance(v, str | None) for v in table.values()):
        raise ConfigError(
            f"{path} must be one JSON object mapping labels to type names or null",
            hint=f"e.g. {example}",
        )
    return table


def _read_label_map(folder: Path) -> dict[str, str | None]:
    return read_label_map(folder)


def _window_length(config: Any, tokenizer: Any) -> int:
    positions = int(getattr(config, "max_position_embeddings", 0) or MAX_WINDOW + 2)
    declared = getattr(tokenizer, "model_max_length", None) or positions
    longest = min(positions, declared if declared < 100_000 else positions)
    return max(8, min(MAX_WINDOW, longest - 2))


def load_hf(folder: Path, threads: int | None = None, batch_size: int = 16) -> HFRecognizer:
    """Load a token-classification checkpoint from ``folder``; nothing is ever downloaded."""
    folder = folder.resolve()
    raw = _read_config(folder)
    table = _read_label_map(folder)
    id2label = {int(k): str(v) for k, v in (raw.get("id2label") or {}).items()}
    tags = label_table(id2label, table, folder)

    import torch
    from transformers import AutoModelForTokenClassification

    if threads:
        torch.set_num_threads(threads)
    tokenizer = load_tokenizer(folder, EXPECTED)
    if not getattr(tokenizer, "is_fast", False):
        raise ConfigError(
            f"the tokenizer in {folder} is a slow (Python) tokenizer",
            hint="character offsets need a fast tokenizer: save one with tokenizer.json "
            "(AutoTokenizer.from_pretrained(..., use_fast=True).save_pretrained(folder))",
        )
    if None in (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id):
        raise ConfigError(
            f"the tokenizer in {folder} lacks a start, end or padding token",
            hint="expected a BERT- or RoBERTa-style tokenizer "
            "([CLS]/[SEP]/[PAD] or <s>/</s>/<pad>)",
        )
    model = load_classifier(
        folder,
        AutoModelForTokenClassification,
        len(tags),
        EXPECTED,
        head="token-classification head",
        purpose="fine-tuned for NER; a plain encoder cannot tag",
    )
    model.eval()
    files = [folder / "config.json", *(folder / w for w in WEIGHTS if (folder / w).is_file())]
    if (folder / LABEL_MAP).is_file():
        files.append(folder / LABEL_MAP)
    return HFRecognizer(
        model,
        tokenizer,
        tags,
        _window_length(model.config, tokenizer),
        name=f"hf:{folder.name}",
        version=_version(files, folder),
        batch_size=batch_size,
    )


def _version(files: list[Path], folder: Path) -> str:
    from extractors.ner.backends import files_version

    index = folder / "model.safetensors.index.json"
    if index.is_file():  # sharded weights: hash the shards too
        shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        files += [folder / s for s in shards if (folder / s).is_file()]
    return files_version(files)
