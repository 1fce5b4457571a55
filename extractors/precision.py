"""Number formats for running the shipped models on CPU (``[extract] precision``).

* ``float32``: the reference.
* ``bfloat16``: matrix products in bfloat16 under ``torch.autocast``, weights kept in float32.
  Whether that is faster depends on the CPU, not only on its flags: on this project's AMD EPYC
  machines (AVX512-BF16) the full pipeline ran 1.44x faster than in float32, on an Intel Xeon
  that reports AVX512-BF16 but no AMX it ran 1.46x slower (bench/RESULTS.md, stop 15).
* ``int8``: dynamic quantization of the linear layers; ~2x faster, but it costs the tagger
  2.4 strict F1 on BC5CDR dev (docs/models/ner.md), so it is never chosen by ``auto``.
* ``auto``: ``bfloat16`` where the CPU has bfloat16 instructions (Linux x86 flags:
  AVX512-BF16 or AMX; elsewhere float32) *and* a short probe (one of the encoders' linear
  layers, both ways, ~0.2 s) finds it clearly faster, else ``float32``. The probe runs once
  per machine: its verdict is kept in the cache folder (``precision.json``), keyed by the CPU
  model, its bfloat16-related flags, torch's version and the thread count; delete the file to
  measure again. A verdict that changed from run to run would change every model's version
  string, and with it every document's input fingerprint, so that an incremental ingest would
  extract everything again.

The default is ``auto``: bfloat16 gives the same dev scores as float32 (model cards). Its
extra memory is oneDNN's kernel cache, one entry per matmul shape; ``autocast`` bounds it
(``kg.memory.bound_kernel_cache``), which keeps its peak within about 300 MB of float32's
(bench/RESULTS.md, stop 21-22).

The dev scores of each form are in the model cards; the chosen form is part of the model's
version string (``1-bf16``), so provenance says how an edge was computed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from kg.errors import ConfigError
from kg.memory import bound_kernel_cache

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "float32", "bfloat16", "int8")
SUFFIX = {"float32": "", "bfloat16": "-bf16", "int8": "-int8"}
#: ``auto`` takes bfloat16 only where the probe's bfloat16 time is at most this share of
#: float32's: a clear margin, so that a noisy machine does not flip between runs.
FASTER = 0.8
CACHE_FILE = "precision.json"
#: What ``auto`` may choose (a kept verdict naming anything else is measured again).
AUTO_CHOICES = ("float32", "bfloat16")
#: Raised when the probe changes, so that verdicts of the old probe are not reused.
PROBE_VERSION = 1


@cache
def _cpuinfo() -> str:
    """The text of /proc/cpuinfo, read once per process ("" where there is none)."""
    try:
        return Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return ""


@cache
def native_bfloat16() -> bool:
    """Whether the CPU has bfloat16 instructions (Linux /proc/cpuinfo flags)."""
    flags = _cpuinfo()
    return "avx512_bf16" in flags or "amx_bf16" in flags


def probe_bfloat16(reps: int = 7) -> tuple[float, float]:
    """Milliseconds of one encoder-sized linear layer (2,048 x 384 -> 1,536), float32 then
    bfloat16 autocast: the fastest of ``reps`` interleaved runs after a warm-up (the fastest,
    because other work on the machine only ever adds time). Torch's random state is left as
    it was, so a seeded training run draws the same numbers whether or not the probe ran."""
    import torch

    with torch.random.fork_rng(devices=[]):
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
    return min(times["float32"]), min(times["bfloat16"])


def machine_key() -> str:
    """What a verdict is of: the CPU model, its bfloat16-related flags (not all flags: a kernel
    update that adds an unrelated one must not re-probe), torch's version, the thread count
    and the probe's version."""
    import torch

    lines = _cpuinfo().splitlines()
    model = sorted({ln.split(":", 1)[-1].strip() for ln in lines if ln.startswith("model name")})
    flags = sorted(
        {
            f
            for ln in lines
            if ln.startswith("flags")
            for f in ln.split(":", 1)[-1].split()
            if f.startswith(("avx512", "amx"))
        }
    )
    parts = [*model, *flags, torch.__version__, str(torch.get_num_threads()), str(PROBE_VERSION)]
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:16]


def _read_verdicts(path: Path) -> dict[str, Any]:
    try:
        known = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}  # missing or unreadable: measure again and rewrite it
    return known if isinstance(known, dict) else {}


def _kept(known: dict[str, Any], key: str) -> str | None:
    entry = known.get(key)
    choice = entry.get("choice") if isinstance(entry, dict) else None
    return choice if choice in AUTO_CHOICES else None


def _write_verdicts(path: Path, known: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(known, indent=1) + "\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _measure(probe: Callable[[], tuple[float, float]]) -> tuple[str, dict[str, Any]]:
    try:
        f32, bf16 = probe()
    except Exception as exc:  # noqa: BLE001 - a torch without CPU bfloat16 autocast, say
        log.warning("bfloat16 probe failed (%s); running in float32", exc)
        return "float32", {"choice": "float32", "probe_error": str(exc)}
    choice = "bfloat16" if bf16 <= FASTER * f32 else "float32"
    log.warning(
        "precision auto -> %s on this machine (probe: float32 %.2f ms, bfloat16 %.2f ms); "
        "kept for later runs, delete %s in the cache folder to measure again",
        choice, f32, bf16, CACHE_FILE,
    )  # fmt: skip
    return choice, {"choice": choice, "float32_ms": round(f32, 3), "bfloat16_ms": round(bf16, 3)}


#: Verdicts already reached in this process, by (machine key, cache folder): the entity and
#: relation stages resolve ``auto`` one after the other and must agree even where the cache
#: folder cannot be written.
_VERDICTS: dict[tuple[str, str], str] = {}


def auto_precision(
    cache_dir: Path | None = None, probe: Callable[[], tuple[float, float]] = probe_bfloat16
) -> str:
    """What ``auto`` means on this machine (module doc). The verdict is kept in
    ``cache_dir/precision.json`` when a folder is given; processes that start together take
    turns under a file lock, and the first verdict written for a machine is the one kept."""
    if not native_bfloat16():
        return "float32"
    key = machine_key()
    memo = (key, str(cache_dir))
    if memo in _VERDICTS:
        return _VERDICTS[memo]
    if cache_dir is None:
        choice, _ = _measure(probe)
    else:
        choice = _verdict_in(cache_dir / CACHE_FILE, key, probe)
    _VERDICTS[memo] = choice
    return choice


def _verdict_in(path: Path, key: str, probe: Callable[[], tuple[float, float]]) -> str:
    kept = _kept(_read_verdicts(path), key)
    if kept is not None:
        return kept
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(path.with_suffix(".lock"), "a")  # noqa: SIM115 - closed by the with below
    except OSError as exc:  # a read-only cache folder: measure, and measure again next run
        log.warning("could not keep the precision verdict in %s: %s", path, exc)
        return _measure(probe)[0]
    with lock:
        with contextlib.suppress(OSError):  # a file system without locks: go on unlocked
            fcntl.flock(lock, fcntl.LOCK_EX)
        known = _read_verdicts(path)  # another process may have written it meanwhile
        kept = _kept(known, key)
        if kept is not None:
            return kept
        choice, entry = _measure(probe)
        known[key] = entry
        try:
            _write_verdicts(path, known)
        except OSError as exc:
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
    """bfloat16 autocast for ``bfloat16``; nothing for the other forms (inference or training).

    bfloat16 products run on oneDNN kernels, compiled and cached for each shape; the cache is
    bounded first (kg.memory.bound_kernel_cache)."""
    import torch

    if precision == "bfloat16":
        bound_kernel_cache()
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def running(precision: str) -> Iterator[None]:
    """Inference mode, under bfloat16 autocast when ``precision`` says so."""
    import torch

    with torch.inference_mode(), autocast(precision):
        yield
