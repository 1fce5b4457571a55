"""The pipeline's extractor, assembled from configuration (``[extract]`` in kg/defaults.toml).

:func:`load_extractor` checks every part (recognizer model, lexicon) before the first document,
so a misconfigured run fails at once with the fix, not an hour into the input.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from extractors.precision import resolve
from kg.config import Settings
from kg.errors import ModelNotInstalledError
from kg.model import stable_hash

if TYPE_CHECKING:
    from kg.pipeline import Namer

#: The recognizer shipped with the package, trained by ``kg train ner`` (see its tagger.json).
DEFAULT_MODEL = Path(__file__).resolve().parent / "ner" / "model"


def recognizer_spec(name: str) -> str:
    """``default`` is the shipped tagger; anything else is NAME:PATH as given."""
    if name == "default":
        if not (DEFAULT_MODEL / "tagger.json").is_file():
            raise ModelNotInstalledError(
                f"the default entity model is missing from {DEFAULT_MODEL}",
                hint="train it with `kg train ner --corpora <corpora dir> --out "
                f"{DEFAULT_MODEL}`, or set [extract] recognizer to NAME:PATH",
            )
        return f"tagger:{DEFAULT_MODEL}"
    return name


def lexicon_path(settings: Settings) -> Path:
    from extractors.linker import default_lexicon_path

    configured = settings.extract.lexicon
    return Path(configured).expanduser() if configured else default_lexicon_path(settings.data_dir)


def vocabulary_names(settings: Settings) -> Namer | None:
    """The lexicon's preferred name of an identifier ("Kidney Diseases" for MESH:D007674), for
    naming the graph's entities (kg.pipeline.entities_of); None where linking is off or no
    lexicon is built (entities then take their mentions' most frequent text)."""
    path = lexicon_path(settings)
    if not settings.extract.link or not path.is_file():
        return None
    from extractors.linker import Linker

    return lru_cache(maxsize=100_000)(Linker(path).preferred_name)


def load_extractor(  # noqa: ANN201
    settings: Settings,
    recognizer: str | None = None,
    relations: str | None = None,
    *,
    entities: bool = True,
):
    """The extractor the configuration names: entities, then relations unless they are none.

    ``entities=False`` keeps the mentions each document brings (relations on gold entities).
    """
    from extractors.relations.base import DEFAULT_MODEL as DEFAULT_RELATIONS
    from extractors.relations.base import load_relation_backend

    cfg = settings.extract
    _set_threads(cfg.threads)
    found = load_entity_extractor(settings, recognizer) if entities else None
    spec = relations or cfg.relations
    precision = resolve(cfg.precision, settings.cache_dir)
    backend = load_relation_backend(spec, cfg.relation_threshold)
    if backend is not None and hasattr(backend, "set_precision"):
        backend.set_precision(precision)
    if backend is None:
        if found is None:
            raise ModelNotInstalledError(
                "relations are off ([extract] relations = none) and entities are not asked for",
                hint="choose a relation model, or let the entity models run",
            )
        return with_workers(settings, found)
    from extractors.relations.extractor import RelationExtractor

    prior = _known_relations(settings, backend)
    extractor = RelationExtractor(found, backend, _broader(settings, found))
    relation_files = DEFAULT_RELATIONS if spec == "default" else spec.partition(":")[2]
    extractor.identity = stable_hash(
        getattr(found, "identity", "gold-entities"),
        extractor.source,
        cfg.relation_threshold,
        extractor.broader is not None,
        precision,
        files_digest(Path(relation_files)),
        files_digest(prior) if prior is not None else "no-prior",
        length=32,
    )
    return with_workers(settings, extractor)


def _known_relations(settings: Settings, backend: Any) -> Path | None:
    """Give a relation model whose record has prior weights the known-relations file
    ``[extract] known_relations`` names (extractors/relations/prior.py); the file, or None."""
    from extractors.relations.prior import KnownRelations, resolve_known_relations

    if not getattr(backend, "prior_weights", None):
        return None
    path = resolve_known_relations(settings.extract.known_relations)
    if path is not None:
        backend.prior = KnownRelations.read(path)
        # the relations say they had it: kg-re@4-bf16+prior
        backend.version = f"{backend.version}+prior"
    return path


def with_workers(settings: Settings, extractor: Any) -> Any:
    """``extractor`` run by ``[extract] workers`` threads side by side where that is more than
    one (extractors/parallel.py), sharing the configured threads; else ``extractor`` itself."""
    from extractors.parallel import ParallelExtractor, cpu_threads, resolve_workers

    cfg = settings.extract
    threads = cpu_threads(cfg.threads)
    workers = resolve_workers(cfg.workers, threads)
    if workers < 2:
        return extractor
    return ParallelExtractor(
        extractor, workers=workers, threads=threads // workers, batch_size=cfg.batch_size
    )


def _broader(settings: Settings, found: object):  # noqa: ANN202
    """The lexicon's disease hierarchy for the relation stage, when it is asked for and there."""
    if not settings.extract.most_specific_disease:
        return None
    linker = getattr(found, "linker", None)
    if linker is None and settings.extract.link:
        from extractors.linker import Linker

        path = lexicon_path(settings)
        linker = Linker(path) if path.is_file() else None
    return linker.ancestors if linker is not None else None


def files_digest(path: Path) -> str:
    """SHA-1 over a model's files (a folder's, in name order): retrained weights in the same
    place, or a rebuilt lexicon, change what a model produces although its name does not."""
    digest = hashlib.sha1()
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
    else:
        files = [path] if path.is_file() else []
    for file in files:
        digest.update(file.name.encode())
        with file.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def load_entity_extractor(settings: Settings, recognizer: str | None = None):  # noqa: ANN201
    """The entity extractor the configuration names (recognizer, propagation, linker)."""
    from extractors.entities import EntityExtractor
    from extractors.linker import LINKING_VERSION, Linker
    from extractors.ner.base import load_recognizer

    cfg = settings.extract
    _set_threads(cfg.threads)
    linker = None
    if cfg.link:
        path = lexicon_path(settings)
        if not path.is_file():
            raise ModelNotInstalledError(
                f"no lexicon at {path}: mentions could not be linked to identifiers",
                hint="build it with `kg vocab build` (a few minutes), or set "
                "KG_EXTRACT__LINK=false to keep mentions unlinked",
            )
        linker = Linker(path)
    spec = recognizer_spec(recognizer or cfg.recognizer)
    precision = resolve(cfg.precision, settings.cache_dir)
    model = load_recognizer(spec)
    if hasattr(model, "set_precision"):
        model.set_precision(precision)
    folder = Path(spec.partition(":")[2])
    gazetteer = None
    if cfg.gazetteer and spec.startswith("tagger:"):
        from extractors.ner.gazetteer import load_gazetteer

        gazetteer = load_gazetteer(folder)
    extractor = EntityExtractor(model, linker, spread=cfg.propagate, gazetteer=gazetteer)
    extractor.identity = stable_hash(
        extractor.name,
        cfg.propagate,
        gazetteer is not None,
        precision,
        files_digest(folder),
        # The lexicon's build stamp and counts, not its 250 MB: a rebuild writes a new stamp.
        linker.meta.get("built") if linker else None,
        linker.meta.get("counts") if linker else None,
        LINKING_VERSION if linker else None,
        length=32,
    )
    return extractor


def _set_threads(threads: int) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)
