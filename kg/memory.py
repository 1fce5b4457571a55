"""Give memory the models have freed back to the system during long runs.

glibc keeps freed heap pages for reuse, and the models' many short-lived tensors of varying size
fragment that heap: over 8,000 abstracts ``kg extract``'s resident memory rose from 1.87 to
2.45 GB with nothing live growing (clearing every cache freed nothing; ``malloc_trim`` gave back
454 MB). Trimming after every chunk holds a run flat at 1.7-1.9 GB but costs up to 7% of the
speed, so :func:`release_freed_memory` trims only once resident memory has grown by
:data:`TRIM_GROWTH` since the last trim. Elsewhere than glibc it does nothing. Measured in
bench/RESULTS.md, "Memory over a long run".

In bfloat16 the largest growth is not the heap's fragments but oneDNN's cache of compiled
matrix kernels: one entry for each shape it meets, about a third of a megabyte each, up to 1,024
of them by default, and every batch of abstracts of another padded length is another shape.
:func:`bound_kernel_cache` holds it to :data:`KERNEL_CACHE` entries (bench/RESULTS.md, stop 21-22).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable
from functools import cache

#: oneDNN's kernel cache entries (its default is 1,024) once :func:`bound_kernel_cache` ran.
KERNEL_CACHE = 128
_KERNEL_CACHE_VARIABLE = "ONEDNN_PRIMITIVE_CACHE_CAPACITY"

#: Growth of resident memory since the last trim, in bytes, that calls for the next one.
TRIM_GROWTH = 96 * 2**20

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_after_last_trim = 0


def resident_bytes() -> int:
    """This process's resident memory now, or 0 where /proc is missing."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


@cache
def _libc_function(name: str) -> Callable[..., int] | None:
    library = ctypes.util.find_library("c")
    if library is None:
        return None
    try:
        return getattr(ctypes.CDLL(library), name)
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to call
        return None


def _trim() -> Callable[[int], int] | None:
    return _libc_function("malloc_trim")


#: glibc's ``mallopt`` parameter for the most heaps (arenas) threads may spread over.
_M_ARENA_MAX = -8


def limit_heaps(arenas: int) -> bool:
    """Let the process's threads share at most ``arenas`` heaps from now on.

    glibc gives a thread that allocates while another holds the heap a heap of its own, and
    each heap keeps what was freed in it: two extraction workers, each with a heap of its own
    beside the main one, peaked 300-400 MB higher than with two heaps in all (bench/RESULTS.md,
    stop 20). Call it before the threads start. Returns whether it was applied (glibc only).
    """
    mallopt = _libc_function("mallopt")
    return bool(mallopt is not None and mallopt(_M_ARENA_MAX, arenas))


def release_freed_memory(growth: int = TRIM_GROWTH) -> bool:
    """Trim the heap when resident memory grew by ``growth`` bytes since the last trim.

    Returns whether it trimmed. Cheap when it does not (one read of /proc/self/statm).
    """
    global _after_last_trim
    trim = _trim()
    if trim is None:
        return False
    now = resident_bytes()
    if not now or now - _after_last_trim < growth:
        return False
    trim(0)
    _after_last_trim = resident_bytes()
    return True


def bound_kernel_cache(entries: int = KERNEL_CACHE) -> None:
    """Hold oneDNN's cache of compiled kernels to ``entries`` shapes, unless the user set its
    size (``ONEDNN_PRIMITIVE_CACHE_CAPACITY``). oneDNN reads the variable when it first
    compiles a kernel, so call it before the first bfloat16 product (later calls change
    nothing)."""
    os.environ.setdefault(_KERNEL_CACHE_VARIABLE, str(entries))
