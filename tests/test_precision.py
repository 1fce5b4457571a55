"""What ``[extract] precision = auto`` means on a machine: flags, then a measured probe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extractors import precision
from kg.errors import ConfigError


def _never() -> tuple[float, float]:
    raise AssertionError("the probe should not run")


def test_without_bfloat16_instructions_auto_is_float32_unmeasured(monkeypatch) -> None:
    monkeypatch.setattr(precision, "native_bfloat16", lambda: False)
    assert precision.auto_precision(None, probe=_never) == "float32"


@pytest.mark.parametrize(
    ("f32_ms", "bf16_ms", "choice"),
    [(10.0, 6.0, "bfloat16"), (10.0, 18.0, "float32"), (10.0, 9.0, "float32")],
)
def test_auto_takes_bfloat16_only_where_the_probe_finds_it_clearly_faster(
    monkeypatch, tmp_path: Path, f32_ms: float, bf16_ms: float, choice: str
) -> None:
    monkeypatch.setattr(precision, "native_bfloat16", lambda: True)
    assert precision.auto_precision(tmp_path, probe=lambda: (f32_ms, bf16_ms)) == choice
    kept = json.loads((tmp_path / precision.CACHE_FILE).read_text())
    (verdict,) = kept.values()
    assert verdict == {"choice": choice, "float32_ms": f32_ms, "bfloat16_ms": bf16_ms}


def test_the_verdict_is_kept_so_later_runs_do_not_flip(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(precision, "native_bfloat16", lambda: True)
    assert precision.auto_precision(tmp_path, probe=lambda: (10.0, 5.0)) == "bfloat16"
    # a later, noisier probe would say otherwise: the kept verdict stands, unmeasured
    assert precision.auto_precision(tmp_path, probe=_never) == "bfloat16"


def test_an_unreadable_verdict_file_is_measured_again_and_rewritten(
    monkeypatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(precision, "native_bfloat16", lambda: True)
    (tmp_path / precision.CACHE_FILE).write_text("{not json")
    assert precision.auto_precision(tmp_path, probe=lambda: (10.0, 20.0)) == "float32"
    assert precision.auto_precision(tmp_path, probe=_never) == "float32"


def test_the_probe_times_both_forms() -> None:
    f32_ms, bf16_ms = precision.probe_bfloat16(reps=1)
    assert f32_ms > 0 and bf16_ms > 0


def test_resolve_passes_concrete_forms_and_refuses_unknown_ones() -> None:
    assert precision.resolve("int8") == "int8"
    assert precision.resolve("float32") == "float32"
    with pytest.raises(ConfigError, match="precision"):
        precision.resolve("float8")
