"""Any Hugging Face sequence-classification checkpoint as a relation backend (``hf:PATH``).

Checkpoints of the BioREx kind (PubMedBERT fine-tuned on BioRED-style pairs) classify one entity
pair at a time: the text is given with the two entities' mentions wrapped in marker strings, and
the labels are relation types plus a "no relation" label. This adapter builds that input for
every candidate pair of a document (:func:`~extractors.relations.candidates.candidate_pairs`),
runs the classifier in batches, and keeps a pair when its best label is a relation type whose
probability reaches the threshold.

Next to the checkpoint, an optional ``kg_relations.json`` says how the model was trained:

``markers``    four strings wrapped around the first and second entity's mentions
               (``{type}`` becomes our type name, ``Chemical``; ``{biored}`` BioRED's,
               ``ChemicalEntity``), default, as BioREx-style checkpoints were trained:
               ``["@{biored}Src$ ", " @/{biored}Src$", "@{biored}Tgt$ ", " @/{biored}Tgt$"]``
``threshold``  the probability a relation needs (default 0.5)
``max_len``    word pieces per input (default: what the model takes, at most 512)

Labels are read by name (``Association``, ``Positive_Correlation``, ``CID`` ... as in
:func:`kg.schema.parse_relation_type`; ``None``, ``no_relation``, ``0``, ``false`` and ``NA`` mean
no relation); ``kg_label_map.json`` maps labels it cannot read (``{"LABEL_1": "Bind",
"LABEL_0": null}``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from extractors.ner.base import read_json_file
from extractors.ner.hf import (
    WEIGHTS,
    load_classifier,
    load_tokenizer,
    read_checkpoint_config,
    read_label_map,
)
from extractors.relations.candidates import DocEntity, candidate_pairs, doc_entities
from extractors.relations.scorer import PairPrediction
from kg.errors import ConfigError, SchemaError
from kg.model import Document
from kg.schema import RelationType, parse_relation_type

EXPECTED = (
    "a folder with a Hugging Face sequence-classification checkpoint "
    "(config.json with id2label, a tokenizer, and the weights)"
)
SETTINGS = "kg_relations.json"
DEFAULT_MARKERS = ("@{biored}Src$ ", " @/{biored}Src$", "@{biored}Tgt$ ", " @/{biored}Tgt$")
#: BioRED's names of the entity types, for markers of checkpoints trained on BioRED.
BIORED_NAMES = {
    "Chemical": "ChemicalEntity",
    "Disease": "DiseaseOrPhenotypicFeature",
    "Gene": "GeneOrGeneProduct",
    "Variant": "SequenceVariant",
    "Species": "OrganismTaxon",
    "CellLine": "CellLine",
}
NO_RELATION = frozenset({"none", "no_relation", "no relation", "0", "false", "na", "other"})


def relation_labels(
    id2label: dict[int, str], table: dict[str, str | None], folder: Path
) -> list[RelationType | None]:
    """Each label index's relation type (None: no relation); unknown labels are an error."""
    if sorted(id2label) != list(range(len(id2label))):
        raise ConfigError(
            f"{folder}: id2label's ids are {sorted(id2label)}, not 0..{len(id2label) - 1}",
            hint="fix id2label in config.json: one label for each output, numbered from 0",
        )
    out: list[RelationType | None] = []
    unknown = []
    for i in range(len(id2label)):
        label = id2label[i]
        name = table.get(label, label)
        if name is None or name.strip().lower() in NO_RELATION:
            out.append(None)
            continue
        try:
            out.append(parse_relation_type(name))
        except SchemaError:
            unknown.append(label)
            out.append(None)
    if unknown:
        raise ConfigError(
            f"{folder}: labels {', '.join(unknown[:5])} are not relation types",
            hint="name them in config.json's id2label (Association, Bind, ...) or map them in "
            'kg_label_map.json, e.g. {"LABEL_1": "Bind", "LABEL_0": null}',
        )
    if all(t is None for t in out):
        raise ConfigError(f"{folder}: no label is a relation type", hint=EXPECTED)
    return out


def mark(doc: Document, first: DocEntity, second: DocEntity, markers: Sequence[str]) -> str:
    """The document's text with the two entities' mentions wrapped in their markers."""
    edits: list[tuple[int, int, str, str]] = []
    for ent, (open_, close) in ((first, markers[0:2]), (second, markers[2:4])):
        names = {"type": ent.type.value, "biored": BIORED_NAMES[ent.type.value]}
        for s, e in ent.spans:
            edits.append((s, e, open_.format(**names), close.format(**names)))
    text = doc.text
    out, at = [], 0
    for s, e, open_, close in sorted(edits):
        if s < at:  # overlapping mentions: keep the first
            continue
        out += [text[at:s], open_, text[s:e], close]
        at = e
    out.append(text[at:])
    return "".join(out)


class HFRelations:
    """A sequence-classification checkpoint, one input per candidate pair."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        labels: Sequence[RelationType | None],
        settings: dict[str, Any],
        name: str,
        version: str,
        batch_size: int = 16,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.markers = tuple(settings.get("markers", DEFAULT_MARKERS))
        self.threshold = float(settings.get("threshold", 0.5))
        self.max_len = int(settings["max_len"])
        self.name = name
        self.version = version
        self.batch_size = batch_size

    def predict(self, docs: Sequence[Document]) -> list[list[PairPrediction]]:
        import torch

        jobs: list[tuple[int, DocEntity, DocEntity, str]] = []
        for k, doc in enumerate(docs):
            ents = doc_entities(doc)
            for a, b in candidate_pairs(ents):
                jobs.append((k, ents[a], ents[b], mark(doc, ents[a], ents[b], self.markers)))
        out: list[list[PairPrediction]] = [[] for _ in docs]
        self.model.eval()
        with torch.inference_mode():
            for a in range(0, len(jobs), self.batch_size):
                chunk = jobs[a : a + self.batch_size]
                enc = self.tokenizer(
                    [j[3] for j in chunk],
                    truncation=True,
                    max_length=self.max_len,
                    padding=True,
                    return_tensors="pt",
                )
                probs = self.model(**enc).logits.float().softmax(-1).numpy()
                for (k, first, second, _), row in zip(chunk, probs, strict=True):
                    best = int(row.argmax())
                    rtype = self.labels[best]
                    if rtype is None or row[best] < self.threshold:
                        continue
                    out[k].append(
                        PairPrediction(first.id, second.id, rtype, float(row[best]), None, 0.0)
                    )
        return out


def _settings(folder: Path) -> dict[str, Any]:
    path = folder / SETTINGS
    settings = read_json_file(path)
    if settings is None:
        return {}
    markers = settings.get("markers", DEFAULT_MARKERS) if isinstance(settings, dict) else None
    if (
        not isinstance(settings, dict)
        or not isinstance(markers, list | tuple)
        or len(markers) != 4
        or not all(isinstance(m, str) for m in markers)
    ):
        raise ConfigError(
            f"{path} must be a JSON object; markers, if given, a list of four strings",
            hint='e.g. {"markers": ["[E1]", "[/E1]", "[E2]", "[/E2]"], "threshold": 0.5}',
        )
    return settings


def load_hf_relations(folder: Path, batch_size: int = 16) -> HFRelations:
    """Load a sequence-classification checkpoint from ``folder``; nothing is downloaded."""
    folder = folder.resolve()
    raw = read_checkpoint_config(
        folder, "ForSequenceClassification", "sequence-classification", EXPECTED
    )
    table = read_label_map(folder, example='{"LABEL_1": "Bind", "LABEL_0": null}')
    id2label = {int(k): str(v) for k, v in (raw.get("id2label") or {}).items()}
    if not id2label:  # transformers leaves its default names (LABEL_0 ...) out of config.json
        id2label = {i: f"LABEL_{i}" for i in range(int(raw.get("num_labels", 2)))}
    labels = relation_labels(id2label, table, folder)
    settings = _settings(folder)

    from transformers import AutoModelForSequenceClassification

    tokenizer = load_tokenizer(folder, EXPECTED)
    model = load_classifier(
        folder,
        AutoModelForSequenceClassification,
        len(labels),
        EXPECTED,
        head="classification head",
        purpose="fine-tuned for relations; a plain encoder cannot classify",
    )
    positions = int(getattr(model.config, "max_position_embeddings", 512) or 512)
    settings.setdefault("max_len", min(512, positions))
    from extractors.ner.backends import files_version

    files = [folder / "config.json", *(folder / w for w in WEIGHTS if (folder / w).is_file())]
    files += [folder / f for f in (SETTINGS, "kg_label_map.json") if (folder / f).is_file()]
    return HFRelations(
        model,
        tokenizer,
        labels,
        settings,
        name=f"hf:{folder.name}",
        version=files_version(files),
        batch_size=batch_size,
    )
