"""What ``[extract] precision = auto`` means on a machine: flags, then a measured probe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extractors import precision
from kg.errors import ConfigError


def _never() -> tuple[float, float]:
    raise AssertionError("the probe should not run")


@pytest.fixture(autouse=True)
def _fresh_process(monkeypatch) -> None:
    """Each test starts as a new process would: no verdict reached yet in memory."""
    monkeypatch.setattr(precision, "_VERDICTS", {})


@pytest.fixture
def bf16_cpu(monkeypatch) -> None:
    monkeypatch.setattr(precision, "native_bfloat16", lambda: True)


def _new_process(monkeypatch) -> None:
    monkeypatch.setattr(precision, "_VERDICTS", {})


def test_without_bfloat16_instructions_auto_is_float32_unmeasured(monkeypatch) -> None:
    monkeypatch.setattr(precision, "native_bfloat16", lambda: False)
    assert precision.auto_precision(None, probe=_never) == "float32"


@pytest.mark.parametrize(
    ("f32_ms", "bf16_ms", "choice"),
    [(10.0, 6.0, "bfloat16"), (10.0, 18.0, "float32"), (10.0, 9.0, "float32")],
)
def test_auto_takes_bfloat16_only_where_the_probe_finds_it_clearly_faster(
    bf16_cpu, tmp_path: Path, f32_ms: float, bf16_ms: float, choice: str
) -> None:
    assert precision.auto_precision(tmp_path, probe=lambda: (f32_ms, bf16_ms)) == choice
    kept = json.loads((tmp_path / precision.CACHE_FILE).read_text())
    assert kept == {
        precision.machine_key(): {"choice": choice, "float32_ms": f32_ms, "bfloat16_ms": bf16_ms}
    }


def test_the_verdict_is_kept_so_later_runs_do_not_flip(bf16_cpu, monkeypatch, tmp_path) -> None:
    assert precision.auto_precision(tmp_path, probe=lambda: (10.0, 5.0)) == "bfloat16"
    _new_process(monkeypatch)
    # a later, noisier probe would say otherwise: the kept verdict stands, unmeasured
    assert precision.auto_precision(tmp_path, probe=_never) == "bfloat16"


def test_other_machines_verdicts_survive_a_new_one(bf16_cpu, tmp_path: Path) -> None:
    path = tmp_path / precision.CACHE_FILE
    path.write_text(json.dumps({"elsewhere": {"choice": "bfloat16"}}))
    assert precision.auto_precision(tmp_path, probe=lambda: (10.0, 20.0)) == "float32"
    kept = json.loads(path.read_text())
    assert kept["elsewhere"] == {"choice": "bfloat16"}
    assert kept[precision.machine_key()]["choice"] == "float32"
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize(
    "content",
    ["{not json", "[1, 2]", '"float32"', "null", "KEY_CHOICE_LIST", "KEY_INT8"],
)
def test_an_unusable_verdict_file_is_measured_again_and_rewritten(
    bf16_cpu, monkeypatch, tmp_path: Path, content: str
) -> None:
    key = precision.machine_key()
    if content == "KEY_CHOICE_LIST":
        content = json.dumps({key: {"choice": []}})
    elif content == "KEY_INT8":  # auto never means int8, whatever a file says
        content = json.dumps({key: {"choice": "int8"}})
    (tmp_path / precision.CACHE_FILE).write_text(content)
    assert precision.auto_precision(tmp_path, probe=lambda: (10.0, 20.0)) == "float32"
    _new_process(monkeypatch)
    assert precision.auto_precision(tmp_path, probe=_never) == "float32"


def test_an_unwritable_cache_folder_still_gives_one_verdict_per_process(
    bf16_cpu, tmp_path: Path
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    calls = []

    def probe() -> tuple[float, float]:
        calls.append(1)
        return 10.0, 5.0

    # the entity and relation stages resolve one after the other: they must agree
    assert precision.auto_precision(blocked, probe=probe) == "bfloat16"
    assert precision.auto_precision(blocked, probe=probe) == "bfloat16"
    assert len(calls) == 1


def test_a_failing_probe_means_float32(bf16_cpu, tmp_path: Path) -> None:
    def broken() -> tuple[float, float]:
        raise RuntimeError("no bfloat16 autocast on this CPU")

    assert precision.auto_precision(tmp_path, probe=broken) == "float32"


def test_resolve_auto_goes_through_the_probe(bf16_cpu, tmp_path: Path) -> None:
    precision.auto_precision(tmp_path, probe=lambda: (10.0, 5.0))
    assert precision.resolve("auto", tmp_path) == "bfloat16"


def test_the_probe_times_both_forms_and_leaves_the_random_state_alone() -> None:
    import torch

    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    f32_ms, bf16_ms = precision.probe_bfloat16(reps=1)
    assert f32_ms > 0 and bf16_ms > 0
    assert torch.equal(torch.rand(3), expected)


def test_resolve_passes_concrete_forms_and_refuses_unknown_ones() -> None:
    assert precision.resolve("int8") == "int8"
    assert precision.resolve("float32") == "float32"
    with pytest.raises(ConfigError, match="precision"):
        precision.resolve("float8")
