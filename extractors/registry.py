"""The pipeline's extractor, assembled from configuration (``[extract]`` in kg/defaults.toml).

:func:`load_extractor` checks every part (recognizer model, lexicon) before the first document,
so a misconfigured run fails at once with the fix, not an hour into the input.
"""

from __future__ import annotations

from pathlib import Path

from kg.config import Settings
from kg.errors import ModelNotInstalledError

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


def load_extractor(settings: Settings, recognizer: str | None = None):  # noqa: ANN201
    """The entity extractor the configuration names (relations join it with issue 4)."""
    from extractors.entities import EntityExtractor
    from extractors.linker import Linker
    from extractors.ner.base import load_recognizer

    cfg = settings.extract
    if cfg.threads:
        import torch

        torch.set_num_threads(cfg.threads)
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
    model = load_recognizer(recognizer_spec(recognizer or cfg.recognizer))
    if cfg.quantize and hasattr(model, "quantize"):
        model.quantize()
    return EntityExtractor(model, linker, spread=cfg.propagate)
