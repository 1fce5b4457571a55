"""``kg pull``: bring a source's new, revised and deleted records into the graph, incrementally.

Each subcommand parses its options into a :class:`~kg.sources.SourceSpec` and
:class:`~kg.sources.pull.PullOptions` and calls :func:`kg.sources.pull.pull`; ``kg schedule add``
parses the same arguments (:func:`parse_pull_args`) and stores them with the job.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from kg.cli.app import main, settings_from
from kg.cli.graph_cmd import EXIT_SKIPPED
from kg.errors import ConfigError
from kg.sources import SourceSpec, make_source
from kg.sources.eutils import DATE_TYPES
from kg.sources.pull import PullFailedError, PullOptions, PullReport, pull
from kg.sources.state import StateStore

#: Options every source takes; they become :class:`PullOptions`, the rest the source's options.
COMMON = ("use_annotations", "dry_run", "full", "batch_size", "quarantine", "no_progress")


def _common(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--use-annotations",
            is_flag=True,
            help="Load the entities and relations the input carries instead of running models "
            "(PubMed XML then loads publications only).",
        ),
        click.option(
            "--dry-run", is_flag=True, help="Write nothing, move no cursor: say what would change."
        ),
        click.option(
            "--full",
            is_flag=True,
            help="Forget this source's cursor and files seen: read everything again "
            "(unchanged records are skipped).",
        ),
        click.option("--batch-size", type=click.IntRange(min=1), help="Documents per transaction."),
        click.option(
            "--quarantine",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Where rejected records go. "
            "Default: <data dir>/quarantine/pull-<source>-<time>.jsonl",
        ),
        click.option("--no-progress", is_flag=True, help="No progress bar."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def split_params(source: str, params: dict[str, Any]) -> tuple[SourceSpec, PullOptions]:
    """A subcommand's parsed parameters as the source spec and the pull options."""
    options = PullOptions(
        use_annotations=params["use_annotations"],
        batch_size=params["batch_size"],
        dry_run=params["dry_run"],
        full=params["full"],
    )
    spec = {k: v for k, v in params.items() if k not in COMMON and v is not None}
    if "path" in spec:
        spec["path"] = str(Path(spec["path"]).resolve())
    return SourceSpec(source, spec), options


def parse_pull_args(argv: list[str]) -> tuple[SourceSpec, PullOptions]:
    """``kg pull`` arguments (``SOURCE OPTIONS...``) parsed as the command line would be."""
    if not argv:
        raise ConfigError(
            "no source given", hint=f"after --, name one of {', '.join(pull_group.commands)}"
        )
    name, *rest = argv
    command = pull_group.commands.get(name)
    if command is None or name == "status":
        raise ConfigError(
            f"unknown source {name!r}", hint=f"use one of {', '.join(sorted(SOURCE_COMMANDS))}"
        )
    try:
        ctx = command.make_context(f"kg pull {name}", list(rest))
    except click.ClickException as exc:
        raise ConfigError(
            f"kg pull {name}: {exc.format_message()}", hint=f"see kg pull {name} --help"
        ) from exc
    return split_params(name, ctx.params)


def print_pull_report(report: PullReport) -> None:
    """The report as a user reads it after a run (``kg schedule history`` shows the same)."""
    verb = "would" if report.dry_run else "done:"
    click.echo(
        f"{report.source}  {report.status}  {report.duration_s:.1f}s  "
        f"({report.units_done} unit(s), {report.read} documents read)"
    )
    click.echo(
        f"  {verb} add {report.added}, update {report.updated}, delete {report.deleted} "
        f"(of {report.deletions_requested} deletions), unchanged {report.unchanged}, "
        f"failed {report.failed}; relations changed {report.relations_changed}"
    )
    if report.dry_run:
        click.echo("  dry run: nothing was written and no cursor moved")
    for note in report.notes:
        click.secho(f"  note: {note}", fg="yellow")
    for failed in report.units_failed:
        click.secho(f"  not loaded: {failed}", fg="yellow")
    if report.relations_skipped:
        click.secho(f"  relations left out: {report.relations_skipped}", fg="yellow")
    if report.quarantine_file:
        click.secho(f"  quarantined records and why: {report.quarantine_file}", fg="yellow")


def report_and_exit(ctx: click.Context, run: Callable[[], PullReport]) -> None:
    """Run a pull, print its report (also when it failed), exit 3 when records were left out."""
    try:
        report = run()
    except PullFailedError as exc:
        print_pull_report(exc.report)
        raise
    print_pull_report(report)
    if report.status == "partial":
        ctx.exit(EXIT_SKIPPED)


def _run(ctx: click.Context, source_name: str) -> None:
    settings = settings_from(ctx)
    spec, options = split_params(source_name, ctx.params)
    source = make_source(spec, settings)
    report_and_exit(
        ctx,
        lambda: pull(
            settings,
            source,
            options,
            quarantine=ctx.params["quarantine"],
            show_progress=not ctx.params["no_progress"],
        ),
    )


@main.group("pull")
def pull_group() -> None:
    """Pull new, revised and deleted records from a source into the graph, incrementally.

    Each source keeps a cursor (last date window, last update file, files seen) that moves only
    after the graph write succeeded: a failed or interrupted pull is completed by running the
    same command again, without duplicates. Exit code 3: done, but records were quarantined.
    """


@pull_group.command("eutils")
@click.option("--query", required=True, help='PubMed query, e.g. "lithium AND tremor" or all[sb].')
@click.option(
    "--datetype",
    type=click.Choice(DATE_TYPES),
    default="edat",
    show_default=True,
    help="Date the window applies to: entrez (added), publication or modification date.",
)
@click.option("--mindate", help="First day (YYYY/MM/DD); later runs start from the cursor.")
@click.option("--maxdate", help="Last day (YYYY/MM/DD). Default: today.")
@click.option("--window-days", type=click.IntRange(min=1), help="Days per esearch window.")
@click.option("--efetch-batch", type=click.IntRange(1, 10_000), help="Records per efetch request.")
@_common
@click.pass_context
def pull_eutils(ctx: click.Context, **_: Any) -> None:
    """PubMed records matching a query, by date window, from NCBI E-utilities.

    Polite by default: tool/email sent, 3 requests/s (10 with NCBI_API_KEY), retries with
    backoff on 429, 5xx, timeouts and truncated answers. KG_EUTILS_URL points at a mirror.
    E-utilities serve current records only; deletions come with update files (kg pull updates).
    """
    _run(ctx, "eutils")


@pull_group.command("updates")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_common
@click.pass_context
def pull_updates(ctx: click.Context, **_: Any) -> None:
    """PubMed baseline/update files (.xml, .xml.gz) in PATH, each applied once, in name order.

    Revised citations replace their earlier version; DeleteCitation removes a publication with
    its evidence. A .md5 file next to an update file is checked first.
    """
    _run(ctx, "updates")


@pull_group.command("watch")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", help="Input format of every file; detected per file when omitted.")
@click.option(
    "--settle",
    "settle_s",
    type=click.FloatRange(min=0),
    help="Seconds a file must be unchanged before it is read (default 2).",
)
@_common
@click.pass_context
def pull_watch(ctx: click.Context, **_: Any) -> None:
    """New or changed files under PATH (PubTator, BioC, PubMed XML, text, JSONL).

    A file is loaded again only when its content changed (path, size, mtime, then SHA-256).
    """
    _run(ctx, "watch")


@pull_group.command("status")
@click.pass_context
def pull_status(ctx: click.Context) -> None:
    """The cursor of every source pulled so far."""
    settings = settings_from(ctx)
    with StateStore.for_data_dir(settings.data_dir) as store:
        cursors = store.cursors()
    if not cursors:
        click.echo("no source pulled yet")
    for key, (value, updated) in cursors.items():
        click.echo(f"{key}\n  cursor: {value}\n  moved: {updated}")


SOURCE_COMMANDS = ("eutils", "updates", "watch")
