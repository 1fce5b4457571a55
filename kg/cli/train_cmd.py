"""``kg train ner|re|gazetteer``: train the default recognizer and relation model from the corpora;
``kg tune ner|re``: choose the tagger's or the relation model's thresholds on dev."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from extractors.relations import CONTEXTS
from kg.cli.app import main


@main.group("train")
def train_group() -> None:
    """Train the models the pipeline ships (reproducible: same data and seed, same model)."""


def _training_options(
    *, corpora: str, files: str, mix: str, batch_size: int, batch_help: str, lr: float,
    max_len: int, max_len_top: int, length_help: str,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:  # fmt: skip
    """The options both trainers take; defaults and help differ by model."""
    options = [
        click.option(
            "--corpora",
            "corpora_dir",
            type=click.Path(exists=True, file_okay=False, path_type=Path),
            required=True,
            help=f"Folder with the corpora ({corpora}).",
        ),
        click.option(
            "--out",
            type=click.Path(file_okay=False, path_type=Path),
            required=True,
            help=f"Folder the model is written to ({files}).",
        ),
        click.option(
            "--base",
            default="all-MiniLM-L6-v2",
            show_default=True,
            help="Base encoder: a pinned known name or a local Hugging Face model folder.",
        ),
        click.option(
            "--use",
            "use",
            multiple=True,
            help=f"Training corpus by name (repeat; a name given twice trains on it twice); {mix}.",
        ),
        click.option("--dev", "dev", multiple=True, help="Dev corpus by name (repeat)."),
        click.option("--epochs", default=4, show_default=True, type=click.IntRange(min=1)),
        click.option(
            "--batch-size",
            default=batch_size,
            show_default=True,
            type=click.IntRange(min=1),
            help=batch_help,
        ),
        click.option(
            "--lr", default=lr, show_default=True, type=float, help="Encoder learning rate."
        ),
        click.option(
            "--max-len",
            default=max_len,
            show_default=True,
            type=click.IntRange(min=16, max=max_len_top),
            help=length_help,
        ),
        click.option(
            "--max-docs", type=click.IntRange(min=1), help="Cap documents per corpus (quick runs)."
        ),
        click.option("--seed", default=13, show_default=True, type=int),
        click.option("--threads", type=click.IntRange(min=1), help="CPU threads for torch."),
        click.option(
            "--precision",
            type=click.Choice(["float32", "bfloat16"]),
            default="float32",
            show_default=True,
            help="Forward passes in float32, or under bfloat16 autocast (weights and updates "
            "stay float32). bfloat16 was ~1.5x faster on AMD EPYC and slower on an Intel Xeon "
            "without AMX (bench/RESULTS.md): time a few steps of each first.",
        ),
        click.option("--no-progress", is_flag=True, help="No progress bar."),
    ]

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


def _run(module: Any, options: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Build the trainer's config from the shared options and train."""
    use, dev, no_progress = options.pop("use"), options.pop("dev"), options.pop("no_progress")
    config = module.TrainConfig(**options, **extra)
    if use:
        config.corpora = use
    if dev:
        config.dev = dev
    return module.train(config, progress=not no_progress, echo=click.echo)


@train_group.command("ner")
@_training_options(
    corpora="bc5cdr/, biored/, ncbi_disease/, aioner/",
    files="tagger.json, tagger.safetensors",
    mix="default: the full mix of extractors/ner/corpora.py",
    batch_size=16,
    batch_help="Windows per step.",
    lr=1e-4,
    max_len=192,
    max_len_top=510,
    length_help="Word pieces per window.",
)
@click.option(
    "--init",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Continue from this tagger's weights (a folder written by kg train ner).",
)
def train_ner_cmd(init: Path | None, **options: Any) -> None:
    """Fine-tune the six-type tagger and keep the epoch with the best dev score.

    The shipped model (docs/models/ner.md): kg train ner --corpora ../shared/data/corpora
    --out /tmp/ner-run --epochs 2, then --init /tmp/ner-run --epochs 2 --lr 5e-5 --seed 14, then
    --init <that> --epochs 2 --lr 5e-5 --seed 15 --precision bfloat16 with BC5CDR named twice in
    --use; kg tune ner after each.
    """
    from extractors.ner import train

    record = _run(train, options, init=init)
    click.echo(f"best epoch {record['training'].get('best_epoch')}; model in {options['out']}")


@train_group.command("re")
@_training_options(
    corpora="biored/, bc5cdr/, chemdisgene/",
    files="relations.json, relations.safetensors",
    mix="default: biored, bc5cdr, chemdisgene; chemprot and ctd_derived (ChemDisGene's "
    "CTD-derived labels) on request (docs/models/re.md)",
    batch_size=4,
    batch_help="Documents per step.",
    lr=5e-5,
    max_len=512,
    max_len_top=512,
    length_help="Word pieces per segment.",
)
@click.option(
    "--init-tagger",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Start the encoder from this tagger's fine-tuned layers (e.g. extractors/ner/model).",
)
@click.option(
    "--init",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Continue from this relation model's weights (a folder written by kg train re).",
)
@click.option(
    "--type-loss",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0.0),
    help="Weight of a cross-entropy over the types of each related pair (trains the choice "
    "between Positive and Negative_Correlation directly); 0 is off.",
)
@click.option(
    "--type-balance",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="Weigh each type's positives by (negatives / positives) ** this (capped at 8), so "
    "that rare types are fitted; 0 weighs every cell alike, 0.5 is the square root.",
)
@click.option(
    "--context",
    type=click.Choice(CONTEXTS),
    help="What the encoder reads of a document: all of it, or only the sentences that mention "
    "an entity of a candidate pair. Default: the --init model's, else abstract.",
)
@click.option(
    "--found-entities",
    multiple=True,
    help="Also train on this corpus with the entity stage's mentions in place of the gold "
    "ones (repeat); found mentions that overlap a gold one keep its identifiers.",
)
def train_re_cmd(
    init_tagger: Path | None,
    init: Path | None,
    type_loss: float,
    type_balance: float,
    context: str | None,
    found_entities: tuple[str, ...],
    **options: Any,
) -> None:
    """Fine-tune the document-level relation model on gold entities; keep the best epoch and
    the decision threshold that scores best on the dev splits.

    The shipped model (docs/models/re.md), in four stages: kg train re --corpora
    ../shared/data/corpora --out /tmp/re-v1 --init-tagger extractors/ner/model --epochs 4
    --lr 1e-4 (stopped after epoch 3); then --init /tmp/re-v1 --epochs 2 --lr 5e-5 --type-loss 1
    --precision bfloat16; then --init <that> --epochs 2 --lr 5e-5 --type-loss 1 --type-balance
    0.5 --found-entities chemdisgene --precision bfloat16; a fourth with --lr 3e-5 and bc5cdr
    twice; kg tune re after each.
    """
    from extractors.relations import train

    out = options["out"]
    record = _run(
        train,
        options,
        init_tagger=init_tagger,
        init=init,
        type_loss=type_loss,
        type_balance=type_balance,
        context=context,
        found_entities=found_entities,
    )
    click.echo(
        f"best epoch {record['training'].get('best_epoch')}, threshold {record['threshold']}; "
        f"model in {out}"
    )


_SHARE = click.FloatRange(0.0, 1.0)


def _limit(flag: str, default: float, kind: click.ParamType, text: str) -> Callable:
    """One of the gazetteer's numeric limits, its default shown in --help."""
    return click.option(flag, default=default, show_default=True, type=kind, help=text)


@train_group.command("gazetteer")
@click.option(
    "--corpora",
    "corpora_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="Folder with the corpora (bc5cdr/, biored/, ncbi_disease/, aioner/).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The tagger's folder; gazetteer.tsv is written there.",
)
@click.option(
    "--use", multiple=True, help="Corpus by name (repeat); default: the tagger's training mix."
)
@_limit("--min-share", 0.5, _SHARE, "Share of a name's occurrences the corpora must annotate.")
@_limit("--min-annotated", 1, click.IntRange(min=1), "Annotated occurrences a name to add needs.")
@_limit(
    "--drop-below",
    0.1,
    _SHARE,
    "A name annotated less than this share of its occurrences is dropped (0: none).",
)
@_limit("--drop-seen", 3, click.IntRange(min=1), "Occurrences a name to drop needs.")
@click.pass_context
def train_gazetteer_cmd(
    ctx: click.Context,
    corpora_dir: Path,
    out: Path,
    use: tuple[str, ...],
    **limits: Any,
) -> None:
    """List the lexicon names the training corpora annotate most times they occur, and those
    they almost never annotate: the entity stage recognizes the first where the tagger found
    nothing and drops the second where it found them (extractors/ner/gazetteer.py).

    Needs the lexicon (`kg vocab build`). The shipped list: kg train gazetteer --corpora
    ../shared/data/corpora --out extractors/ner/model (about a minute).
    """
    from functools import lru_cache

    from extractors.linker import Linker
    from extractors.ner.gazetteer import build, write_gazetteer
    from extractors.registry import lexicon_path
    from kg.cli.app import settings_from
    from kg.errors import ModelNotInstalledError

    path = lexicon_path(settings_from(ctx))
    if not path.is_file():
        raise ModelNotInstalledError(
            f"no lexicon at {path}: the gazetteer lists lexicon names",
            hint="build it with `kg vocab build` (a few minutes)",
        )
    with Linker(path) as linker:
        named = lru_cache(maxsize=None)(linker.types_named)
        rows, record = build(corpora_dir, named, use or None, **limits)
    written = write_gazetteer(out, rows, record)
    added = ", ".join(f"{k} {v}" for k, v in record["added"].items())
    dropped = sum(record["dropped"].values())
    click.echo(
        f"of {record['candidates']} names counted: {len(rows) - dropped} to add ({added}), "
        f"{dropped} to drop; wrote {written}"
    )


@main.group("tune")
def tune_group() -> None:
    """Tune a trained model's decision thresholds on the dev splits."""


def _tune_options(model_help: str, corpora_help: str) -> Callable[[Callable], Callable]:
    """The options both ``kg tune`` commands take."""

    def wrap(fn: Callable) -> Callable:
        folder = click.Path(exists=True, file_okay=False, path_type=Path)
        for option in reversed(
            [
                click.option("--model", "model_dir", type=folder, required=True, help=model_help),
                click.option(
                    "--corpora", "corpora_dir", type=folder, required=True, help=corpora_help
                ),
                click.option("--dev", "dev", multiple=True, help="Dev corpus by name (repeat)."),
                click.option(
                    "--threads", type=click.IntRange(min=1), help="CPU threads for torch."
                ),
            ]
        ):
            fn = option(fn)
        return fn

    return wrap


def _tune(
    module: Any,
    model_dir: Path,
    corpora_dir: Path,
    dev: tuple[str, ...],
    threads: int | None,
    **options: Any,
) -> None:
    """Run ``module.tune`` (extractors.ner.train or extractors.relations.train) on dev."""
    config = module.TrainConfig(corpora_dir=corpora_dir, out=model_dir, threads=threads, **options)
    if dev:
        config.dev = dev
    module.tune(config, model_dir, echo=click.echo)


@tune_group.command("ner")
@_tune_options(
    "The tagger folder (written by kg train ner); its tagger.json is rewritten.",
    "Folder with the corpora (bc5cdr/, biored/, ncbi_disease/).",
)
def tune_ner_cmd(
    model_dir: Path, corpora_dir: Path, dev: tuple[str, ...], threads: int | None
) -> None:
    """Choose, per entity type, the least span score to keep that maximizes the mean strict F1
    of that type on the dev splits that annotate it.

    Example: kg tune ner --model extractors/ner/model --corpora ../shared/data/corpora
    """
    from extractors.ner import train

    _tune(train, model_dir, corpora_dir, dev, threads)


@tune_group.command("re")
@_tune_options(
    "The relation model folder (written by kg train re); its relations.json is rewritten.",
    "Folder with the corpora (biored/, bc5cdr/).",
)
@click.option(
    "--known-relations",
    default="default",
    show_default=True,
    help='CTD-derived relations file whose prior is tuned too ("none": no prior).',
)
@click.option(
    "--context",
    type=click.Choice(CONTEXTS),
    help="What the encoder reads of a document, tuned with and written to the record: all of "
    "it, or the sentences that mention an entity of a candidate pair. Default: the record's.",
)
def tune_re_cmd(
    model_dir: Path,
    corpora_dir: Path,
    dev: tuple[str, ...],
    threads: int | None,
    known_relations: str,
    context: str | None,
) -> None:
    """Choose one threshold per entity-type pair (Chemical-Disease, Gene-Gene, ...), and the
    weights of the known-relations prior for chemical-disease pairs (and whether its labels
    choose a kept pair's type), that maximize the mean pair+type F1 on the dev splits, with gold
    entities (coordinate ascent from the model's shared threshold and no prior;
    extractors/relations/prior.py).

    Example: kg tune re --model extractors/relations/model --corpora ../shared/data/corpora
    """
    from extractors.relations import train

    _tune(
        train,
        model_dir,
        corpora_dir,
        dev,
        threads,
        known_relations=known_relations,
        context=context,
    )
