"""``kg train ner|re``: train the default recognizer and relation model from the corpora."""

from __future__ import annotations

from pathlib import Path

import click

from kg.cli.app import main


@main.group("train")
def train_group() -> None:
    """Train the models the pipeline ships (reproducible: same data and seed, same model)."""


@train_group.command("ner")
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
    help="Folder the model is written to (tagger.json, tagger.safetensors).",
)
@click.option(
    "--base",
    default="all-MiniLM-L6-v2",
    show_default=True,
    help="Base encoder: a pinned known name or a local Hugging Face model folder.",
)
@click.option(
    "--use",
    "use",
    multiple=True,
    help="Training corpus by name (repeat); default: the full mix of extractors/ner/corpora.py.",
)
@click.option("--dev", "dev", multiple=True, help="Dev corpus by name (repeat).")
@click.option("--epochs", default=4, show_default=True, type=click.IntRange(min=1))
@click.option("--batch-size", default=16, show_default=True, type=click.IntRange(min=1))
@click.option("--lr", default=1e-4, show_default=True, type=float, help="Encoder learning rate.")
@click.option(
    "--max-len",
    default=192,
    show_default=True,
    type=click.IntRange(min=16, max=510),
    help="Word pieces per window.",
)
@click.option(
    "--max-docs", type=click.IntRange(min=1), help="Cap documents per corpus (quick runs)."
)
@click.option(
    "--init",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Continue from this tagger's weights (a folder written by kg train ner).",
)
@click.option("--seed", default=13, show_default=True, type=int)
@click.option("--threads", type=click.IntRange(min=1), help="CPU threads for torch.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def train_ner_cmd(
    corpora_dir: Path,
    out: Path,
    base: str,
    use: tuple[str, ...],
    dev: tuple[str, ...],
    epochs: int,
    batch_size: int,
    lr: float,
    max_len: int,
    max_docs: int | None,
    init: Path | None,
    seed: int,
    threads: int | None,
    no_progress: bool,
) -> None:
    """Fine-tune the six-type tagger and keep the epoch with the best dev score.

    The shipped model (docs/models/ner.md): kg train ner --corpora ../shared/data/corpora
    --out /tmp/ner-run --epochs 2, then --init /tmp/ner-run --epochs 2 --lr 5e-5 --seed 14.
    """
    from extractors.ner.train import TrainConfig, train

    config = TrainConfig(
        corpora_dir=corpora_dir,
        out=out,
        base=base,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        max_len=max_len,
        max_docs=max_docs,
        init=init,
        seed=seed,
        threads=threads,
    )
    if use:
        config.corpora = use
    if dev:
        config.dev = dev
    record = train(config, progress=not no_progress, echo=click.echo)
    click.echo(f"best epoch {record['training'].get('best_epoch')}; model in {out}")


@train_group.command("re")
@click.option(
    "--corpora",
    "corpora_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="Folder with the corpora (biored/, bc5cdr/).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder the model is written to (relations.json, relations.safetensors).",
)
@click.option(
    "--base",
    default="all-MiniLM-L6-v2",
    show_default=True,
    help="Base encoder: a pinned known name or a local Hugging Face model folder.",
)
@click.option(
    "--init-tagger",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Start the encoder from this tagger's fine-tuned layers (e.g. extractors/ner/model).",
)
@click.option(
    "--use", "use", multiple=True, help="Training corpus by name (repeat): biored, bc5cdr."
)
@click.option("--dev", "dev", multiple=True, help="Dev corpus by name (repeat).")
@click.option("--epochs", default=4, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--batch-size", default=4, show_default=True, type=click.IntRange(min=1), help="Documents."
)
@click.option("--lr", default=5e-5, show_default=True, type=float, help="Encoder learning rate.")
@click.option(
    "--max-len",
    default=512,
    show_default=True,
    type=click.IntRange(min=16, max=512),
    help="Word pieces per segment.",
)
@click.option(
    "--max-docs", type=click.IntRange(min=1), help="Cap documents per corpus (quick runs)."
)
@click.option("--seed", default=13, show_default=True, type=int)
@click.option("--threads", type=click.IntRange(min=1), help="CPU threads for torch.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def train_re_cmd(
    corpora_dir: Path,
    out: Path,
    base: str,
    init_tagger: Path | None,
    use: tuple[str, ...],
    dev: tuple[str, ...],
    epochs: int,
    batch_size: int,
    lr: float,
    max_len: int,
    max_docs: int | None,
    seed: int,
    threads: int | None,
    no_progress: bool,
) -> None:
    """Fine-tune the document-level relation model on gold entities; keep the best epoch and
    the decision threshold that scores best on the dev splits.

    The shipped model (docs/models/re.md): kg train re --corpora ../shared/data/corpora
    --out extractors/relations/model --init-tagger extractors/ner/model --epochs 5 --threads 2
    """
    from extractors.relations.train import TrainConfig, train

    config = TrainConfig(
        corpora_dir=corpora_dir,
        out=out,
        base=base,
        init_tagger=init_tagger,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        max_len=max_len,
        max_docs=max_docs,
        seed=seed,
        threads=threads,
    )
    if use:
        config.corpora = use
    if dev:
        config.dev = dev
    record = train(config, progress=not no_progress, echo=click.echo)
    click.echo(
        f"best epoch {record['training'].get('best_epoch')}, threshold {record['threshold']}; "
        f"model in {out}"
    )


@main.group("tune")
def tune_group() -> None:
    """Tune a trained model's decision thresholds on the dev splits."""


@tune_group.command("re")
@click.option(
    "--model",
    "model_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="The relation model folder (written by kg train re); its relations.json is rewritten.",
)
@click.option(
    "--corpora",
    "corpora_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="Folder with the corpora (biored/, bc5cdr/).",
)
@click.option("--dev", "dev", multiple=True, help="Dev corpus by name (repeat).")
@click.option("--threads", type=click.IntRange(min=1), help="CPU threads for torch.")
def tune_re_cmd(
    model_dir: Path, corpora_dir: Path, dev: tuple[str, ...], threads: int | None
) -> None:
    """Choose one threshold per relation type that maximizes the mean pair+type F1 on the dev
    splits, with gold entities (coordinate ascent from the model's shared threshold).

    Example: kg tune re --model extractors/relations/model --corpora ../shared/data/corpora
    """
    from extractors.relations.train import TrainConfig, tune

    config = TrainConfig(corpora_dir=corpora_dir, out=model_dir, threads=threads)
    if dev:
        config.dev = dev
    tune(config, model_dir, echo=click.echo)
