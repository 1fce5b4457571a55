"""Model artifacts written by ``kg train``: a JSON record and float16 weights, side by side.

Both trained models (the tagger, the relation model) are a folder with ``<name>.json`` (base
encoder, labels, settings, the record of the training run) and ``<name>.safetensors`` (the
fine-tuned layers and heads in float16). The encoder's word-embedding table is frozen while
training and not saved: it comes from the pinned base encoder, whose checksum is verified
(:mod:`extractors.ner.encoders`), which keeps each artifact at about 22 MB.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kg.errors import ConfigError

#: Parameters not saved in an artifact: they stay as the base encoder has them.
FROZEN_PREFIXES = ("encoder.embeddings.word_embeddings.",)


@dataclass(frozen=True, slots=True)
class ArtifactKind:
    """One kind of artifact: its file names and what to tell a user who points elsewhere."""

    stem: str
    what: str
    hint: str

    @property
    def config_name(self) -> str:
        return f"{self.stem}.json"

    @property
    def weights_name(self) -> str:
        return f"{self.stem}.safetensors"

    def save(self, model: Any, folder: Path, config: dict[str, Any]) -> None:
        """Write the trainable weights as float16 and the config next to them."""
        from safetensors.torch import save_file

        folder.mkdir(parents=True, exist_ok=True)
        state = {
            k: v.detach().to("cpu").half().contiguous()
            for k, v in model.state_dict().items()
            if not k.startswith(FROZEN_PREFIXES)
        }
        save_file(state, str(folder / self.weights_name))
        self.write_config(folder, config)

    def write_config(self, folder: Path, config: dict[str, Any]) -> None:
        text = json.dumps(config, indent=2) + "\n"
        (folder / self.config_name).write_text(text, encoding="utf-8")

    def read_config(self, folder: Path) -> dict[str, Any]:
        path = folder / self.config_name
        if not path.is_file() or not (folder / self.weights_name).is_file():
            raise ConfigError(
                f"{folder} is not a {self.what}: expected {self.config_name} and "
                f"{self.weights_name}",
                hint=self.hint,
            )
        return json.loads(path.read_text(encoding="utf-8"))

    def weights(self, folder: Path) -> dict[str, Any]:
        """The saved tensors as float32."""
        from safetensors.torch import load_file

        self.read_config(folder)
        return {k: v.float() for k, v in load_file(str(folder / self.weights_name)).items()}

    def load_weights(self, model: Any, folder: Path, base: str | None) -> None:
        """Put the artifact's weights into a model built over its base encoder."""
        missing, unexpected = model.load_state_dict(self.weights(folder), strict=False)
        missing = [k for k in missing if not k.startswith(FROZEN_PREFIXES)]
        if missing or unexpected:
            raise ConfigError(
                f"{folder / self.weights_name} does not fit base encoder {base!r}: "
                f"missing {missing[:3]}, unexpected {unexpected[:3]}",
                hint=f"the artifact was trained over another encoder; retrain or fix "
                f"{self.config_name}",
            )
