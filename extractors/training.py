"""What ``kg train ner`` and ``kg train re`` share: seeding, batches by length, the optimizer
and schedule, the run record and the progress bar.

Reproducible by construction: one ``random.Random(seed)`` drives the shuffling, torch's seed
the initialization, and the record of a run keeps every setting that shaped it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

from kg.errors import ConfigError

T = TypeVar("T")


def seeded(seed: int, threads: int | None) -> random.Random:
    """Seed torch, set its threads, and return the run's random generator."""
    import torch

    rng = random.Random(seed)
    torch.manual_seed(seed)
    if threads:
        torch.set_num_threads(threads)
    return rng


def batches_by_length(
    items: Sequence[T], size: int, rng: random.Random, length: Callable[[T], int]
) -> list[list[T]]:
    """Shuffled batches of items of similar length (little padding)."""
    order = sorted(range(len(items)), key=lambda i: (length(items[i]), rng.random()))
    groups = [[items[i] for i in order[a : a + size]] for a in range(0, len(order), size)]
    rng.shuffle(groups)
    return groups


def optimizer(
    model: Any, head_prefixes: tuple[str, ...], lr: float, head_lr: float, warmup: float, total: int
) -> tuple[Any, Any]:
    """AdamW with one learning rate for the encoder and another for the heads, and a linear
    schedule with warm-up over ``total`` steps."""
    import torch
    from transformers import get_linear_schedule_with_warmup

    named = list(model.named_parameters())
    head = [p for n, p in named if n.startswith(head_prefixes)]
    body = [p for n, p in named if not n.startswith(head_prefixes) and p.requires_grad]
    optim = torch.optim.AdamW(
        [{"params": body, "lr": lr}, {"params": head, "lr": head_lr}], weight_decay=0.01
    )
    return optim, get_linear_schedule_with_warmup(optim, int(warmup * total), total)


def step(model: Any, loss: Any, optim: Any, sched: Any) -> None:
    """Backward, clip, update, schedule."""
    import torch

    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optim.step()
    sched.step()
    optim.zero_grad(set_to_none=True)


def settings_record(config: Any) -> dict[str, Any]:
    """A training config as JSON-ready values, without the machine-specific folders."""
    return {
        k: (str(v) if isinstance(v, Path) else v)
        for k, v in asdict(config).items()
        if k not in ("corpora_dir", "out")
    }


def progress_bar(enabled: bool, total: int, desc: str) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="step", desc=desc, dynamic_ncols=True)


def forward_precision(precision: str) -> Any:
    """The context a training forward pass runs in: bfloat16 autocast, or nothing."""
    from extractors.precision import autocast

    if precision not in ("float32", "bfloat16"):
        raise ConfigError(
            f"unknown training precision {precision!r}", hint="use float32 or bfloat16"
        )
    return autocast(precision)
