"""Built-in recognizer backends, registered by name (see :mod:`extractors.ner.base`).

Each loader imports its backend module only when that backend is chosen, so choosing the
dictionary never imports torch, and choosing ``hf`` never imports gliner.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from extractors.ner.base import Recognizer, register, require_path


def files_version(files: Iterable[Path], *extra: str) -> str:
    """A short content hash of a model's files (and settings that change its output).

    Goes into ``Recognizer.version``, so provenance changes whenever the model does.
    """
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    for value in extra:
        digest.update(b"\0" + value.encode())
    return digest.hexdigest()[:12]


@register("tagger")
def _tagger(arg: str) -> Recognizer:
    from extractors.ner.tagger import load_tagger

    return load_tagger(require_path(arg, "tagger", "a folder written by `kg train ner`"))


@register("hf")
def _hf(arg: str) -> Recognizer:
    from extractors.ner.hf import EXPECTED, load_hf

    return load_hf(require_path(arg, "Hugging Face checkpoint", EXPECTED))


@register("gliner")
def _gliner(arg: str) -> Recognizer:
    from extractors.ner.gliner_backend import EXPECTED, load_gliner

    return load_gliner(require_path(arg, "GLiNER model", EXPECTED))


@register("dictionary")
def _dictionary(arg: str) -> Recognizer:
    from extractors.ner.dictionary import EXPECTED, load_dictionary

    return load_dictionary(require_path(arg, "term list", EXPECTED))
