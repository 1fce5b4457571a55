"""What every relation backend returns, and the registry that picks one by name.

A relation backend reads documents whose entities are already recognized and linked, and
returns, per document, scored relations between pairs of those entities
(:class:`~extractors.relations.scorer.PairPrediction`). Backends:

========================  =================================================================
``default``               the model trained by ``kg train re`` (:mod:`extractors.relations.scorer`)
``re:PATH``               a model of ``kg train re`` in another folder
``hf:PATH``               a Hugging Face sequence-classification checkpoint, one pass per pair
                          (:mod:`extractors.relations.hf`)
``none``                  no relations: entities only
========================  =================================================================

Heavy imports (torch, transformers) happen inside the backend's loader, never here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from kg.errors import ConfigError, ModelNotInstalledError
from kg.model import Document

if TYPE_CHECKING:
    from extractors.relations.scorer import PairPrediction

#: The relation model shipped with the package, trained by ``kg train re``.
DEFAULT_MODEL = Path(__file__).resolve().parent / "model"


class RelationBackend(Protocol):
    """Scores relations between a document's linked entities. ``name@version`` is provenance."""

    name: str
    version: str
    threshold: float

    def predict(self, docs: Sequence[Document]) -> list[list[PairPrediction]]: ...


def load_relation_backend(spec: str, threshold: float = 0.0) -> RelationBackend | None:
    """``default``, ``none``, ``re:PATH`` or ``hf:PATH`` to a loaded backend (None for none).

    ``threshold`` above 0 replaces the one the model was tuned to.
    """
    from extractors.ner.base import require_path

    if spec == "none":
        return None
    if spec == "default":
        if not (DEFAULT_MODEL / "relations.json").is_file():
            raise ModelNotInstalledError(
                f"the default relation model is missing from {DEFAULT_MODEL}",
                hint="train it with `kg train re --corpora <corpora dir> --out "
                f"{DEFAULT_MODEL}`, or set [extract] relations to none or NAME:PATH",
            )
        spec = f"re:{DEFAULT_MODEL}"
    kind, _, arg = spec.partition(":")
    if kind not in ("re", "hf") or not arg:
        raise ConfigError(
            f"unknown relation backend {spec!r}",
            hint="use default, none, re:PATH (a model of kg train re) or hf:PATH (a Hugging "
            "Face sequence-classification checkpoint folder)",
        )
    if kind == "re":
        from extractors.relations.scorer import load_relation_model

        path = require_path(arg, "relation model", "a folder written by `kg train re`")
        backend: RelationBackend = load_relation_model(path)
    else:
        from extractors.relations.hf import load_hf_relations

        path = require_path(
            arg, "relation checkpoint", "a Hugging Face sequence-classification model folder"
        )
        backend = load_hf_relations(path)
    if threshold > 0:
        backend.threshold = threshold
    return backend
