"""Number formats for running the shipped models on CPU (``[extract] precision``).

* ``float32``: the reference.
* ``bfloat16``: matrix products in bfloat16 under ``torch.autocast``, weights kept in float32.
  Whether that is faster depends on the CPU, not only on its flags: on this project's AMD EPYC
  machines (AVX512-BF16) the full pipeline ran 1.44x faster than in float32, on an Intel Xeon
  that reports AVX512-BF16 but no AMX it ran 1.46x slower (bench/RESULTS.md, stop 15).
* ``int8``: dynamic quantization of the linear layers; ~2x faster, but it costs the tagger
  2.4 strict F1 on BC5CDR dev (docs/models/ner.md), so it is never chosen by ``auto``.
* ``auto``: ``bfloat16`` where the CPU has bfloat16 instructions *and* a short probe (one of
  the encoders' linear layers, both ways, ~0.1 s) finds it clearly faster, else ``float32``.
  The probe runs once per machine: its verdict is kept in the cache folder
  (``precision.json``), keyed by CPU, torch version and thread count. A verdict that changed
  from run to run would change every model's version string, and with it every document's
  input fingerprint, so that an incremental ingest would extract everything again.

The default is ``auto``: bfloat16 gives the same dev scores as float32 (model cards) and peaks
a few hundred MB higher, within the 2.5 GB the pipeline is held to.

The dev scores of each form are in the model cards; the chosen form is part of the model's
version string (``1-bf16``), so provenance says how an edge was computed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import statistics
import time
import warnings
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from kg.errors import ConfigError

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "float32", "bfloat16", "int8")
SUFFIX = {"float32": "", "bfloat16": "-bf16", "int8": "-int8"}
#: ``auto`` takes bfloat16 only where the probe's bfloat16 time is at most this share of
#: float32's: a clear margin, so that a noisy machine does not flip between runs.
FASTER = 0.8
CACHE_FILE = "precision.json"


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return ""


@cache
def native_bfloat16() -> bool:
    """Whether the CPU has bfloat16 instructions (Linux /proc/cpuinfo flags)."""
    flags = _cpuinfo()
    return "avx512_bf16" in flags or "amx_bf16" in flags


def probe_bfloat16(reps: int = 5) -> tuple[float, float]:
    """Milliseconds of one encoder-sized linear layer (2,048 x 384 -> 1,536), float32 then
    bfloat16 autocast, each the median of ``reps`` interleaved runs after a warm-up."""
    import torch

    layer = torch.nn.Linear(384, 1536)
    x = torch.randn(2048, 384)
    times: dict[str, list[float]] = {"float32": [], "bfloat16": []}
    with torch.inference_mode():
        for rep in range(reps + 1):
            for form, spent in times.items():
                with autocast(form):
                    start = time.perf_counter()
                    layer(x)
                    if rep:  # the first round warms up
                        spent.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times["float32"]), statistics.median(times["bfloat16"])


def _machine_key() -> str:
    """CPU model and flags, torch version and thread count: what the probe's verdict is of."""
    import torch

    info = [ln for ln in _cpuinfo().splitlines() if ln.startswith(("model name", "flags"))]
    parts = [*sorted(set(info)), torch.__version__, str(torch.get_num_threads())]
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:16]


def auto_precision(
    cache_dir: Path | None = None, probe: Callable[[], tuple[float, float]] = probe_bfloat16
) -> str:
    """What ``auto`` means on this machine (module doc); the verdict is cached in
    ``cache_dir/precision.json`` when a folder is given."""
    if not native_bfloat16():
        return "float32"
    key = _machine_key()
    path = cache_dir / CACHE_FILE if cache_dir is not None else None
    known: dict[str, Any] = {}
    if path is not None and path.is_file():
        try:
            known = json.loads(path.read_text())
        except (OSError, ValueError):
            known = {}  # unreadable: measure again and rewrite it
        if isinstance(known.get(key), dict) and known[key].get("choice") in SUFFIX:
            return str(known[key]["choice"])
    f32, bf16 = probe()
    choice = "bfloat16" if bf16 <= FASTER * f32 else "float32"
    log.info("precision auto -> %s (probe: float32 %.2f ms, bfloat16 %.2f ms)", choice, f32, bf16)
    if path is not None:
        known = known if isinstance(known, dict) else {}
        known[key] = {"choice": choice, "float32_ms": round(f32, 3), "bfloat16_ms": round(bf16, 3)}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(known, indent=1) + "\n")
            tmp.replace(path)
        except OSError as exc:  # a read-only cache folder: measure again next time
            log.warning("could not keep the precision verdict in %s: %s", path, exc)
    return choice


def resolve(precision: str, cache_dir: Path | None = None) -> str:
    """``auto`` to the concrete form for this machine; anything unknown is refused."""
    if precision not in PRECISIONS:
        raise ConfigError(
            f"unknown precision {precision!r}",
            hint=f"[extract] precision is one of {', '.join(PRECISIONS)}",
        )
    if precision == "auto":
        return auto_precision(cache_dir)
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
