"""``kg ingest`` and ``kg cypher``: put documents into the graph, ask it questions."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import click

from kg.cli.app import main, settings_from
from kg.cli.output import FORMATS, parse_params, render
from kg.config import Settings
from kg.pipeline import RunReport, ingest

#: Exit code of a run that completed but left records out (see the quarantine file).
EXIT_SKIPPED = 3


def ingest_paths(
    settings: Settings,
    paths: list[Path],
    *,
    fmt: str | None = None,
    use_annotations: bool = False,
    batch_size: int | None = None,
    quarantine: Path | None = None,
    sink_name: str = "neo4j",
    show_progress: bool = False,
    recognizer: str | None = None,
    relations: str | None = None,
    reuse: bool = True,
) -> RunReport:
    """Read every path, build the records and write them: the function behind ``kg ingest``.

    Without ``use_annotations`` the configured extractor (``[extract]``) annotates each
    document; it is loaded, and checked, before anything is read.
    """
    from extractors.registry import vocabulary_names
    from kg.readers import read_path
    from loaders.base import get_sink

    extractor = None
    if not use_annotations:
        from extractors.registry import load_extractor

        extractor = load_extractor(settings, recognizer, relations)

    def items() -> Iterator:
        for path in paths:
            yield from read_path(path, fmt)

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    quarantine = quarantine or settings.data_dir / "quarantine" / f"ingest-{stamp}.jsonl"
    bar = None
    if show_progress:
        from tqdm import tqdm

        bar = tqdm(unit=" doc", desc="ingest", file=sys.stderr, dynamic_ncols=True)
    try:
        return ingest(
            items(),
            get_sink(sink_name, settings),
            quarantine_path=quarantine,
            batch_size=batch_size or settings.load.batch_size,
            use_annotations=use_annotations,
            extractor=extractor,
            progress=bar.update if bar is not None else None,
            chunk=settings.extract.batch_size,
            reuse=reuse,
            names=vocabulary_names(settings),
        )
    finally:
        if bar is not None:
            bar.close()


def print_report(report: RunReport) -> None:
    click.echo(f"documents read: {report.read}   deletions: {report.deletions}")
    for key, value in report.sink.items():
        click.echo(f"  {key}: {value}")
    for reason, n in itertools.chain(report.quarantined.items(), report.skipped.items()):
        click.secho(f"  skipped {n}: {reason}", fg="yellow")
    if report.quarantine_file:
        click.secho(f"quarantined records and why: {report.quarantine_file}", fg="yellow")


@main.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--use-annotations",
    is_flag=True,
    help="Load the entities and relations the input already carries (PubTator, BioC, JSONL) "
    "instead of running models.",
)
@click.option(
    "--format",
    "fmt",
    default=None,
    help="Input format (pubmed, medline, pubtator, bioc-xml, bioc-json, text, jsonl); "
    "detected from the file when omitted.",
)
@click.option("--batch-size", type=click.IntRange(min=1), help="Documents per transaction.")
@click.option(
    "--quarantine",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where rejected records go (JSONL with the reason). "
    "Default: <data dir>/quarantine/ingest-<time>.jsonl",
)
@click.option(
    "--recognizer",
    help="Entity recognizer for this run: default, or NAME:PATH (tagger, hf, gliner, "
    "dictionary); overrides [extract] recognizer.",
)
@click.option(
    "--relations",
    help="Relation model for this run: default, none, or NAME:PATH (re, hf); overrides "
    "[extract] relations.",
)
@click.option(
    "--reextract",
    is_flag=True,
    help="Run the models on every document, even those the graph holds already from the same "
    "text and the same models (by default they are not extracted again, so an interrupted run "
    "resumes where it stopped).",
)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.pass_context
def ingest_cmd(
    ctx: click.Context,
    paths: tuple[Path, ...],
    use_annotations: bool,
    fmt: str | None,
    batch_size: int | None,
    quarantine: Path | None,
    recognizer: str | None,
    relations: str | None,
    reextract: bool,
    no_progress: bool,
) -> None:
    """Load documents (files or folders) into the graph.

    Loading the same input twice changes nothing. Exit code 3 means the load completed but
    some records were skipped; they are in the quarantine file with the reason.
    """
    report = ingest_paths(
        settings_from(ctx),
        list(paths),
        fmt=fmt,
        use_annotations=use_annotations,
        batch_size=batch_size,
        quarantine=quarantine,
        show_progress=not no_progress,
        recognizer=recognizer,
        relations=relations,
        reuse=not reextract,
    )
    print_report(report)
    if not report.clean:
        ctx.exit(EXIT_SKIPPED)


@main.command("cypher")
@click.argument("query")
@click.option("--param", "-p", "params", multiple=True, help="Query parameter key=value.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.pass_context
def cypher_cmd(ctx: click.Context, query: str, params: tuple[str, ...], fmt: str) -> None:
    """Run a read-only Cypher QUERY against the configured graph and print the rows.

    Example: kg cypher "MATCH (e:Entity {id: $id}) RETURN e.name" --param id=MESH:D008094
    """
    from loaders.neo4j.query import read_query

    columns, rows = read_query(settings_from(ctx), query, parse_params(params))
    click.echo(render(columns, rows, fmt))
