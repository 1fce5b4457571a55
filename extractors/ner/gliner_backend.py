"""GLiNER with natural-language descriptions of our types (``gliner:PATH``).

GLiNER (https://github.com/urchade/GLiNER) scores text spans against type descriptions given at
prediction time, so it finds types no corpus annotated. Each of our entity types is asked for by
one or more descriptions (:data:`DEFAULT_DESCRIPTIONS`); a ``kg_gliner.json`` next to the model,
or the ``descriptions`` and ``threshold`` arguments of :func:`load_gliner`, change them::

    {"descriptions": {"Chemical": ["drug", "chemical compound"], "CellLine": null},
     "threshold": 0.4, "max_words": 256}

A type mapped to null is not searched for. The model folder is what ``GLiNER.save_pretrained``
writes (``gliner_config.json``, weights, tokenizer files); it is read with no network access.
GLiNER silently truncates a text at ``max_len`` words, so texts are cut into runs of whole
sentences that fit, and the offsets of the spans are shifted back into the input text.

Needs the optional extra: ``pip install -e '.[gliner]'``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from extractors.ner.base import Span, read_json_file, resolve_overlaps
from kg.errors import ConfigError, ModelNotInstalledError, SchemaError
from kg.schema import EntityType, parse_entity_type
from kg.text import sentence_spans

EXPECTED = (
    "a folder written by GLiNER.save_pretrained "
    "(gliner_config.json, model.safetensors or pytorch_model.bin, tokenizer files)"
)
SETTINGS_FILE = "kg_gliner.json"
CONFIG_FILE = "gliner_config.json"
WEIGHTS = ("model.safetensors", "pytorch_model.bin")
DEFAULT_THRESHOLD = 0.5

#: What GLiNER is asked to find for each of our types.
DEFAULT_DESCRIPTIONS: dict[EntityType, tuple[str, ...]] = {
    EntityType.CHEMICAL: ("chemical compound or drug",),
    EntityType.DISEASE: ("disease or phenotype",),
    EntityType.GENE: ("gene or protein",),
    EntityType.SPECIES: ("species or organism",),
    EntityType.VARIANT: ("genetic variant or mutation",),
    EntityType.CELL_LINE: ("cell line",),
}

Descriptions = Mapping[str, "str | Sequence[str] | None"]


def label_types(
    overrides: Descriptions | None = None, source: str = SETTINGS_FILE
) -> dict[str, EntityType]:
    """Description -> type: the defaults with ``overrides`` (type name -> descriptions or None)."""
    table: dict[EntityType, tuple[str, ...]] = dict(DEFAULT_DESCRIPTIONS)
    for name, value in (overrides or {}).items():
        try:
            etype = parse_entity_type(name)
        except SchemaError as exc:
            raise ConfigError(f"{source}: {exc.message}", hint=exc.hint) from exc
        if value is None:
            table.pop(etype, None)
            continue
        values = (value,) if isinstance(value, str) else tuple(value)
        if not values or not all(isinstance(v, str) and v.strip() for v in values):
            raise ConfigError(
                f"{source}: the descriptions of {etype.value} must be non-empty strings",
                hint='e.g. "Chemical": ["chemical compound", "drug"], or null to skip the type',
            )
        table[etype] = tuple(v.strip() for v in values)
    labels: dict[str, EntityType] = {}
    for etype, values in table.items():
        for value in values:
            if labels.setdefault(value, etype) != etype:
                raise ConfigError(
                    f"{source}: the description {value!r} is given for both "
                    f"{labels[value].value} and {etype.value}",
                    hint="give each type its own descriptions",
                )
    if not labels:
        raise ConfigError(f"{source}: every type is switched off", hint="describe at least one")
    return labels


class GlinerRecognizer:
    """A loaded GLiNER model behind the :class:`Recognizer` protocol."""

    def __init__(
        self,
        model: Any,
        labels: Mapping[str, EntityType],
        threshold: float,
        max_words: int,
        name: str,
        version: str,
        batch_size: int = 8,
    ) -> None:
        self.model = model
        self.labels = dict(labels)
        self.threshold = threshold
        self.max_words = max_words
        self.name = name
        self.version = version
        self.batch_size = batch_size

    def chunks(self, text: str) -> list[tuple[int, int]]:
        """Character ranges of runs of whole sentences of at most ``max_words`` GLiNER words."""
        words = [(a, b) for _, a, b in self.model.data_processor.words_splitter(text)]
        if not words:
            return []
        ends = [end for _, end in sentence_spans(text)]
        out: list[tuple[int, int]] = []
        first = 0  # index of the first word of the open chunk
        last_end = -1  # index of the last word ending a sentence in the open chunk
        s = 0
        for i, (_, b) in enumerate(words):
            if i - first >= self.max_words:  # word i does not fit: close the chunk
                cut = last_end if last_end >= first else i - 1
                out.append((words[first][0], words[cut][1]))
                first = cut + 1
            while s < len(ends) and ends[s] < b:
                s += 1
            if s < len(ends) and ends[s] == b:
                last_end = i
        out.append((words[first][0], words[-1][1]))
        return out

    def predict(self, texts: Sequence[str]) -> list[list[Span]]:
        pieces = [(k, a, b) for k, text in enumerate(texts) for a, b in self.chunks(text)]
        out: list[list[Span]] = [[] for _ in texts]
        if not pieces:
            return out
        found = self.model.inference(
            [texts[k][a:b] for k, a, b in pieces],
            list(self.labels),
            flat_ner=True,
            threshold=self.threshold,
            batch_size=self.batch_size,
        )
        for (k, a, _), entities in zip(pieces, found, strict=True):
            for e in entities:
                out[k].append(
                    Span(a + e["start"], a + e["end"], self.labels[e["label"]], float(e["score"]))
                )
        return [resolve_overlaps(spans) for spans in out]


def read_settings(folder: Path) -> dict[str, Any]:
    path = folder / SETTINGS_FILE
    settings = read_json_file(path)
    if settings is None:
        return {}
    known = {"descriptions", "threshold", "max_words"}
    if not isinstance(settings, dict) or set(settings) - known:
        raise ConfigError(
            f"{path} must be a JSON object with keys among {', '.join(sorted(known))}",
            hint='e.g. {"descriptions": {"Chemical": ["drug"]}, "threshold": 0.4}',
        )
    return settings


def load_gliner(
    folder: Path,
    descriptions: Descriptions | None = None,
    threshold: float | None = None,
    max_words: int | None = None,
) -> GlinerRecognizer:
    """Load a GLiNER model folder; arguments override ``kg_gliner.json``, which overrides the
    defaults."""
    folder = folder.resolve()
    weights = [folder / w for w in WEIGHTS if (folder / w).is_file()]
    if not folder.is_dir() or not (folder / CONFIG_FILE).is_file() or not weights:
        other = (
            "; it holds a Hugging Face checkpoint (config.json): try hf:PATH"
            if (folder / "config.json").is_file()
            else ""
        )
        raise ConfigError(f"{folder} is not a GLiNER model", hint=f"expected {EXPECTED}{other}")
    if not (folder / "tokenizer_config.json").is_file():
        # GLiNER would fetch the tokenizer of its base model from the hub instead.
        raise ConfigError(
            f"{folder} has no tokenizer files (tokenizer_config.json)",
            hint=f"expected {EXPECTED}; GLiNER.save_pretrained writes them",
        )
    settings = read_settings(folder)
    source = str(folder / SETTINGS_FILE)
    labels = label_types({**settings.get("descriptions", {}), **(descriptions or {})}, source)
    threshold = float(
        threshold if threshold is not None else settings.get("threshold", DEFAULT_THRESHOLD)
    )
    if not 0.0 <= threshold <= 1.0:
        raise ConfigError(f"GLiNER threshold {threshold} is outside [0, 1]", hint="e.g. 0.5")
    try:
        from gliner import GLiNER
    except ImportError as exc:
        raise ModelNotInstalledError(
            f"the gliner package is not installed ({exc})",
            hint="install the optional extra: pip install -e '.[gliner]'",
        ) from exc
    try:
        model = GLiNER.from_pretrained(str(folder), local_files_only=True, map_location="cpu")
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ConfigError(
            f"cannot load the GLiNER model in {folder}: {exc}", hint=EXPECTED
        ) from exc
    model.eval()
    words = min(
        int(max_words or settings.get("max_words") or model.config.max_len), model.config.max_len
    )
    from extractors.ner.backends import files_version

    version = files_version(
        [folder / CONFIG_FILE, *weights],
        json.dumps(sorted(labels.items())),
        f"threshold={threshold}",
        f"max_words={words}",
    )
    return GlinerRecognizer(model, labels, threshold, words, f"gliner:{folder.name}", version)
