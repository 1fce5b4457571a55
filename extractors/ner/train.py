"""``kg train ner``: fine-tune the multi-head tagger on the corpora mix, keep the best epoch.

Reproducible: the corpora, their order and samples, the shuffling and the initialization all
follow ``seed``; the record of the run (data, settings, per-epoch dev scores, time) is written
into the artifact's ``tagger.json``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractors.evaluation import PRF, score_mentions
from extractors.ner.corpora import DEV_CORPORA, TRAIN_CORPORA, Corpus, read_corpus
from extractors.ner.tagger import (
    IGNORE,
    Tagger,
    Window,
    build_model,
    label_window,
    pad_batch,
    save_tagger,
    windows,
    write_config,
)
from extractors.training import (
    batches_by_length,
    forward_precision,
    optimizer,
    progress_bar,
    seeded,
    settings_record,
    step,
)
from kg.model import Document
from kg.schema import EntityType

log = logging.getLogger(__name__)

TYPES: tuple[EntityType, ...] = tuple(EntityType)


@dataclass
class TrainConfig:
    corpora_dir: Path
    out: Path
    base: str = "all-MiniLM-L6-v2"
    corpora: tuple[str, ...] = tuple(c.name for c in TRAIN_CORPORA)
    dev: tuple[str, ...] = tuple(c.name for c in DEV_CORPORA)
    epochs: int = 4
    batch_size: int = 16
    lr: float = 1e-4
    head_lr: float = 1e-3
    warmup: float = 0.06
    max_len: int = 192
    seed: int = 13
    threads: int | None = None
    #: Cap on documents per corpus (quick runs and tests); ``None`` uses all.
    max_docs: int | None = None
    #: Start from the weights of this tagger artifact (continued training) instead of the base.
    init: Path | None = None
    #: Forward passes in float32 or under bfloat16 autocast (faster where the CPU has it).
    precision: str = "float32"
    version: str = "1"
    name: str = "kg-ner"
    extra: dict[str, Any] = field(default_factory=dict)


def _corpus(name: str, table: Sequence[Corpus]) -> Corpus:
    from extractors.ner.corpora import corpus_by_name

    return corpus_by_name(name, dev=table is DEV_CORPORA)


def _docs(config: TrainConfig, corpus: Corpus) -> list[Document]:
    docs = list(read_corpus(config.corpora_dir, corpus, config.seed))
    return docs[: config.max_docs] if config.max_docs else docs


def labelled_windows(tokenizer: Any, config: TrainConfig) -> tuple[list[Window], dict[str, int]]:
    from extractors.heldout import dev_pmids

    held_out = dev_pmids(config.corpora_dir)  # abstracts shared with a dev split stay out
    out: list[Window] = []
    counts: dict[str, int] = {}
    for name in config.corpora:
        corpus = _corpus(name, TRAIN_CORPORA)
        n = 0
        docs = [d for d in _docs(config, corpus) if d.pmid not in held_out]
        for k, doc in enumerate(docs):
            mentions = [(m.start, m.end, m.type) for m in doc.mentions]
            for w in windows(tokenizer, k, doc.text, config.max_len):
                label_window(w, mentions, TYPES, corpus.types)
                out.append(w)
                n += 1
        counts[name] = counts.get(name, 0) + n  # a corpus named twice counts twice
    return out, counts


def dev_scores(tagger: Tagger, config: TrainConfig) -> dict[str, dict[str, PRF]]:
    """Strict mention scores on each dev corpus, over the types it annotates."""
    result: dict[str, dict[str, PRF]] = {}
    for name in config.dev:
        corpus = _corpus(name, DEV_CORPORA)
        docs = _docs(config, corpus)
        preds = tagger.predict([d.text for d in docs])
        gold = {d.pmid: [(m.start, m.end, m.type, ()) for m in d.mentions] for d in docs}
        pred = {
            d.pmid: [(s.start, s.end, s.type, ()) for s in spans]
            for d, spans in zip(docs, preds, strict=True)
        }
        result[name] = score_mentions(gold, pred, corpus.types)
    return result


def tune_type_thresholds(
    tagger: Tagger, config: TrainConfig
) -> tuple[dict[EntityType, float], dict[str, dict[str, PRF]], dict[str, dict[str, PRF]]]:
    """Per type, the least span score to keep that maximizes the mean strict F1 of that type
    over the dev corpora that annotate it (0.30, 0.35, ... 0.95, or 0: keep every span).

    The tagger's spans are found once; a threshold only drops spans of its own type (after
    overlaps are resolved), so each type is tuned on its own. Returns the thresholds and the
    dev scores without and with them.
    """
    tagger.type_thresholds = {}
    runs = []
    for name in config.dev:
        corpus = _corpus(name, DEV_CORPORA)
        docs = _docs(config, corpus)
        gold = {d.pmid: [(m.start, m.end, m.type, ()) for m in d.mentions] for d in docs}
        found = tagger.predict([d.text for d in docs])
        spans = dict(zip((d.pmid for d in docs), found, strict=True))
        runs.append((corpus, gold, spans))

    def scores(limits: dict[EntityType, float]) -> dict[str, dict[str, PRF]]:
        out = {}
        for corpus, gold, spans in runs:
            pred = {
                pmid: [
                    (s.start, s.end, s.type, ()) for s in found if s.score >= limits.get(s.type, 0)
                ]
                for pmid, found in spans.items()
            }
            out[corpus.name] = score_mentions(gold, pred, corpus.types)
        return out

    limits: dict[EntityType, float] = {}
    for etype in TYPES:
        judged = [corpus.name for corpus, _, _ in runs if etype in corpus.types]
        if not judged:
            continue
        best, best_value = -1.0, 0.0
        for value in [0.0] + [p / 100 for p in range(30, 96, 5)]:
            found = scores({etype: value})
            mean = sum(found[n][etype.value].f1 for n in judged) / len(judged)
            if mean > best + 1e-9:
                best, best_value = mean, value
        if best_value:
            limits[etype] = best_value
    tagger.type_thresholds = limits
    return limits, scores({}), scores(limits)


def tune(config: TrainConfig, model_dir: Path, echo: Callable[[str], None] = print) -> dict:
    """``kg tune ner``: tune a tagger's per-type thresholds on dev, rewrite its record."""
    from extractors.ner.tagger import load_tagger

    tagger = load_tagger(model_dir, config.threads)
    limits, without, with_limits = tune_type_thresholds(tagger, config)
    before = {name: round(100 * s["all"].f1, 2) for name, s in without.items()}
    after = {name: round(100 * s["all"].f1, 2) for name, s in with_limits.items()}
    record = tagger.info  # the tagger.json it was loaded from
    record["type_thresholds"] = {t.value: v for t, v in limits.items()}
    record["training"]["tuned_dev_strict_f1"] = {"before": before, "after": after}
    write_config(model_dir, record)
    echo(f"per-type thresholds {record['type_thresholds']}; dev strict F1 {before} -> {after}")
    return record


def train(
    config: TrainConfig, progress: bool = True, echo: Callable[[str], None] = print
) -> dict[str, Any]:
    """Train, evaluate on dev after each epoch, keep the best; returns the run record."""
    import torch

    from extractors.ner.encoders import load_encoder

    started = time.monotonic()
    rng = seeded(config.seed, config.threads)
    encoder, tokenizer = load_encoder(config.base)
    encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    model = build_model(encoder, len(TYPES))
    init_record = None
    if config.init is not None:
        from extractors.ner.tagger import load_weights, read_config

        load_weights(model, config.init, config.base)
        init_record = read_config(config.init).get("training")
    data, counts = labelled_windows(tokenizer, config)
    echo(f"training windows: {len(data)} " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    steps_per_epoch = math.ceil(len(data) / config.batch_size)
    total = steps_per_epoch * config.epochs
    optim, sched = optimizer(model, ("head.",), config.lr, config.head_lr, config.warmup, total)
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=IGNORE)
    record: dict[str, Any] = {
        "name": config.name,
        "version": config.version,
        "base": config.base,
        "types": [t.value for t in TYPES],
        "max_len": config.max_len,
        "training": {
            **settings_record(config),
            "windows": counts,
            "epochs_dev": [],
            # the run this one continued from, so the artifact tells its whole history
            "init_training": init_record,
        },
    }
    best = -1.0
    bar = progress_bar(progress, total, "train ner")
    for epoch in range(1, config.epochs + 1):
        model.train()
        running = 0.0
        groups = batches_by_length(data, config.batch_size, rng, lambda w: len(w.ids))
        for n, batch in enumerate(groups, 1):
            ids, mask = pad_batch(batch, tokenizer)
            labels = torch.full((len(batch), ids.shape[1], len(TYPES)), IGNORE, dtype=torch.long)
            for r, w in enumerate(batch):
                labels[r, 1 : 1 + len(w.ids)] = torch.tensor(w.labels)
            with forward_precision(config.precision):
                logits = model(ids, mask)
            loss = loss_fn(logits.float().reshape(-1, 3), labels.reshape(-1))
            step(model, loss, optim, sched)
            running = 0.98 * running + 0.02 * loss.item() if n > 1 else loss.item()
            if bar is not None:
                bar.update(1)
                bar.set_postfix(epoch=epoch, loss=f"{running:.4f}")
        tagger = Tagger(model, tokenizer, TYPES, config.max_len, record)
        scores = dev_scores(tagger, config)
        summary = {name: round(100 * s["all"].f1, 2) for name, s in scores.items()}
        mean = sum(summary.values()) / max(len(summary), 1)
        record["training"]["epochs_dev"].append({"epoch": epoch, "strict_f1": summary})
        echo(f"epoch {epoch}: dev strict F1 {summary} (mean {mean:.2f})")
        if mean > best:
            best = mean
            record["training"]["best_epoch"] = epoch
            record["training"]["seconds"] = round(time.monotonic() - started)
            save_tagger(model, config.out, record)
    if bar is not None:
        bar.close()
    # the weights are the best epoch's; the record keeps every epoch's dev scores
    record["training"]["seconds_total"] = round(time.monotonic() - started)
    write_config(config.out, record)
    return record
