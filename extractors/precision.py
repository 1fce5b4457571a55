"""Number formats for running the shipped models on CPU (``[extract] precision``).

* ``float32``: the reference.
* ``bfloat16``: matrix products in bfloat16 under ``torch.autocast``, weights kept in float32.
  On CPUs with native bfloat16 instructions (AVX512-BF16, AMX) this is ~1.6x faster for our
  encoders; elsewhere it is emulated and slower, so ``auto`` only picks it where it is native.
* ``int8``: dynamic quantization of the linear layers; ~2x faster, but it costs the tagger
  2.4 strict F1 on BC5CDR dev (docs/models/ner.md), so it is never chosen by ``auto``.
* ``auto``: ``bfloat16`` where the CPU has native bfloat16, else ``float32``.

The default is ``auto``: bfloat16 gives the same dev scores as float32 (model cards), runs the
full pipeline 1.44x faster on this project's EPYC machines and peaks 390 MB higher, within the
2.5 GB the pipeline is held to (bench/RESULTS.md).

The dev scores of each form are in the model cards; the chosen form is part of the model's
version string (``1-bf16``), so provenance says how an edge was computed.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from kg.errors import ConfigError

PRECISIONS = ("auto", "float32", "bfloat16", "int8")
SUFFIX = {"float32": "", "bfloat16": "-bf16", "int8": "-int8"}


@cache
def native_bfloat16() -> bool:
    """Whether the CPU multiplies bfloat16 natively (Linux /proc/cpuinfo flags)."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve(precision: str) -> str:
    """``auto`` to the concrete form for this machine; anything unknown is refused."""
    if precision not in PRECISIONS:
        raise ConfigError(
            f"unknown precision {precision!r}",
            hint=f"[extract] precision is one of {', '.join(PRECISIONS)}",
        )
    if precision == "auto":
        return "bfloat16" if native_bfloat16() else "float32"
    return precision


def quantized(model: Any) -> Any:
    """``model`` with int8 dynamic quantization of its linear layers."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def autocast(precision: str) -> Any:
    """bfloat16 autocast for ``bfloat16``; nothing for the other forms (inference or training)."""
    import torch

    if precision == "bfloat16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def running(precision: str) -> Iterator[None]:
    """Inference mode, under bfloat16 autocast when ``precision`` says so."""
    import torch

    with torch.inference_mode(), autocast(precision):
        yield
