"""kg.memory: the heap is trimmed when resident memory has grown, not after every chunk."""

from __future__ import annotations

import sys

import pytest

from kg import memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc, calls glibc")
def test_the_heap_is_trimmed_only_after_it_grew(monkeypatch) -> None:
    assert memory.resident_bytes() > 10 * 2**20
    monkeypatch.setattr(memory, "_after_last_trim", 0)  # as if no earlier test had trimmed
    assert memory.release_freed_memory(growth=0)  # grown since the start: trimmed
    assert not memory.release_freed_memory(growth=2**40)  # not grown by a terabyte since
    calls = []
    monkeypatch.setattr(memory, "_trim", lambda: calls.append)
    monkeypatch.setattr(memory, "_after_last_trim", 0)
    assert memory.release_freed_memory(growth=2**20) and calls == [0]
    assert not memory.release_freed_memory(growth=2**20) and calls == [0]  # nothing grew since
    monkeypatch.setattr(memory, "_trim", lambda: None)  # not glibc: nothing to call
    assert not memory.release_freed_memory(growth=0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="calls glibc")
def test_threads_can_be_held_to_fewer_heaps() -> None:
    assert memory.limit_heaps(8)  # glibc's mallopt accepts it (the process default is larger)


def test_bfloat16_bounds_the_kernel_cache_unless_the_user_sized_it(monkeypatch) -> None:
    from extractors.precision import autocast

    environ: dict[str, str] = {}
    monkeypatch.setattr(memory.os, "environ", environ)
    autocast("float32")
    assert environ == {}  # float32 products do not use the cache
    autocast("bfloat16")
    assert environ == {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": str(memory.KERNEL_CACHE)}
    environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = "4096"
    autocast("bfloat16")
    assert environ["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] == "4096"
