"""``kg hypotheses open|closed|evaluate``: literature-based discovery over the graph.

A thin layer over :mod:`queries.hypotheses` (ranking, evaluation) and :mod:`queries.html`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kg.cli.app import main, settings_from
from kg.cli.output import render

if TYPE_CHECKING:
    from queries.hypotheses import DiscoveryResult, EvaluationResult, Filters

T = TypeVar("T")
OUTPUT_FORMATS = ("table", "json")


def filter_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options every subcommand shares: which edges count, which entities may be B / C."""
    options = [
        click.option(
            "--predicate",
            "predicates",
            multiple=True,
            help="Only edges of this predicate (biolink:causes, treats, ...); repeatable.",
        ),
        click.option(
            "--via-type", "via_types", multiple=True, help="Intermediates B of this entity type."
        ),
        click.option(
            "--target-type", "target_types", multiple=True, help="Candidates C of this type."
        ),
        click.option("--since-year", type=int, help="Only evidence published in or after it."),
        click.option("--until-year", type=int, help="Only evidence published in or before it."),
        click.option(
            "--min-papers",
            type=click.IntRange(min=1),
            default=1,
            show_default=True,
            help="An edge needs this many papers (inside the year window).",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def output_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--evidence, --format and --html, shared by ``open`` and ``closed``."""
    options = [
        click.option(
            "--evidence",
            type=click.IntRange(min=0),
            default=2,
            show_default=True,
            help="Evidence sentences per edge in the trail.",
        ),
        click.option("--format", "fmt", type=click.Choice(OUTPUT_FORMATS), default="table"),
        click.option(
            "--html",
            "html_out",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Also write an offline HTML page drawing the A–B–C subgraph.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def build_filters(kwargs: dict[str, Any]) -> Filters:
    """The checked :class:`Filters` from the shared options (removed from ``kwargs``)."""
    from queries.hypotheses import Filters

    return Filters.build(
        predicates=kwargs.pop("predicates"),
        via_types=kwargs.pop("via_types"),
        target_types=kwargs.pop("target_types"),
        since_year=kwargs.pop("since_year"),
        until_year=kwargs.pop("until_year"),
        min_papers=kwargs.pop("min_papers"),
    )


def with_graph(ctx: click.Context, work: Callable[[Any, str], T]) -> T:
    """Run ``work(driver, database)`` on the configured graph."""
    from queries.library import with_driver

    return with_driver(settings_from(ctx), work)


def format_trails(result: DiscoveryResult, limit: int) -> str:
    """The evidence trail of the first ``limit`` hypotheses, one path per block."""
    lines: list[str] = []
    for rank, h in enumerate(result.hypotheses[:limit], start=1):
        lines.append(f"\n#{rank} {h.name} ({h.id}, {h.type})")
        for path in h.trail:
            names = [path[0].source] + [hop.target for hop in path]
            labels = [result.graph.nodes[n].get("name") or n for n in names]
            lines.append("  path: " + "  →  ".join(labels))
            for hop in path:
                for e in hop.edges:
                    conf = "?" if e["confidence"] is None else f"{e['confidence']:.2f}"
                    pmids = ", ".join(e["pmids"][:5])
                    lines.append(
                        f"    {e['subject']} {e['predicate']} {e['object']}: "
                        f"{e['papers']} paper(s), confidence {conf}, PMIDs {pmids}"
                    )
                    for ev in e["evidence"]:
                        sentence = ev["sentence"] or "(document-level annotation)"
                        lines.append(f"      PMID {ev['pmid']} ({ev['year']}): {sentence}")
    return "\n".join(lines)


def print_discovery(result: DiscoveryResult, fmt: str, trails: int, html_out: Path | None) -> None:
    """Print a discovery result as a table with evidence trails, or JSON; write the page."""
    if html_out is not None:
        from queries.html import write_html

        write_html(result, html_out)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2, default=str))
        return
    from queries.hypotheses import MEASURES

    rows = [
        {
            "#": rank,
            "id": h.id,
            "name": h.name,
            "type": h.type,
            **{m: round(h.scores[m], 4) for m in MEASURES},
            "via": ", ".join(result.graph.nodes[b].get("name") or b for b in h.via[:3]),
        }
        for rank, h in enumerate(result.hypotheses, start=1)
    ]
    columns = ["#", "id", "name", "type", *MEASURES, "via"]
    click.echo(render(columns, rows, "table", max_width=40))
    if result.target is not None:
        scores = ", ".join(f"{k} {v:.4g}" for k, v in result.target["scores"].items())
        click.echo(f"pair {result.source['id']} … {result.target['id']}: {scores}")
        if result.target["direct"]:
            click.echo("(the two are already directly related)")
    click.echo(format_trails(result, trails))
    stages = ", ".join(f"{k} {v:.0f} ms" for k, v in result.timings.stages.items())
    click.secho(
        f"\n{result.candidates} candidates; co-occurrence from {result.cooccurrence_source}; "
        f"time: {stages}",
        fg="bright_black",
    )
    if html_out is not None:
        click.echo(f"page written: {html_out}")


@main.group("hypotheses")
def hypotheses_group() -> None:
    """Literature-based discovery: open and closed discovery, time-sliced evaluation.

    Measures (see README, "Hypotheses"): shared, evidence, jaccard, adamic_adar, npmi, paths.
    """


@hypotheses_group.command("open")
@click.argument("source")
@filter_options
@click.option(
    "--measure",
    type=click.Choice(("shared", "evidence", "jaccard", "adamic_adar", "npmi", "paths")),
    default="adamic_adar",
    show_default=True,
    help="Rank by this measure.",
)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option(
    "--trail",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Print the evidence trail of this many top hypotheses.",
)
@click.option(
    "--paths",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Paths (intermediates) per hypothesis in its trail.",
)
@output_options
@click.pass_context
def open_cmd(ctx: click.Context, source: str, **kwargs: Any) -> None:
    """Candidates C linked to SOURCE (a CURIE) through intermediates but not directly.

    Example: kg hypotheses open MESH:D004317 --target-type Disease --html /tmp/dox.html
    """
    from queries.hypotheses import open_discovery

    filters = build_filters(kwargs)
    result = with_graph(
        ctx,
        lambda driver, db: open_discovery(
            driver,
            db,
            source,
            filters=filters,
            measure=kwargs["measure"],
            limit=kwargs["limit"],
            trail_hops=kwargs["paths"],
            evidence_per_edge=kwargs["evidence"],
        ),
    )
    print_discovery(result, kwargs["fmt"], kwargs["trail"], kwargs["html_out"])


@hypotheses_group.command("closed")
@click.argument("source")
@click.argument("target")
@filter_options
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@output_options
@click.pass_context
def closed_cmd(ctx: click.Context, source: str, target: str, **kwargs: Any) -> None:
    """The intermediates B joining SOURCE and TARGET, with the evidence on each hop.

    Example: kg hypotheses closed MESH:D004317 MESH:D014594
    """
    from queries.hypotheses import closed_discovery

    filters = build_filters(kwargs)
    result = with_graph(
        ctx,
        lambda driver, db: closed_discovery(
            driver,
            db,
            source,
            target,
            filters=filters,
            limit=kwargs["limit"],
            evidence_per_edge=kwargs["evidence"],
        ),
    )
    print_discovery(result, kwargs["fmt"], kwargs["limit"], kwargs["html_out"])


def format_evaluation(result: EvaluationResult) -> str:
    """The per-measure table and the counts that say what it was measured on."""
    columns = ["measure", "roc_auc", "average_precision", *(f"p@{k}" for k in result.ks)]
    rows = [
        {"measure": m, **{c: round(v, 4) for c, v in scores.items()}}
        for m, scores in result.metrics.items()
    ]
    head = (
        f"cutoff {result.cutoff_year}: graph of evidence up to {result.cutoff_year}, "
        f"scored against pairs first connected after it\n"
        f"sources {result.sources}, candidate pairs {result.candidates}, positives "
        f"{result.positives} (base rate {result.base_rate:.4f}); pairs first connected later: "
        f"{result.new_pairs}, of which {result.new_pairs_reachable} had both ends in the graph "
        f"at the cutoff"
    )
    stages = ", ".join(f"{k} {v:.0f} ms" for k, v in result.timings.stages.items())
    return f"{head}\n{render(columns, rows, 'table')}\ntime: {stages}"


@hypotheses_group.command("evaluate")
@click.option(
    "--cutoff-year",
    type=int,
    required=True,
    help="Predict from evidence up to this year; score against later pairs.",
)
@click.option(
    "--source-type",
    "source_types",
    multiple=True,
    help="Sources A of this entity type (any when omitted); repeatable.",
)
@filter_options
@click.option(
    "--k",
    "ks",
    type=click.IntRange(min=1),
    multiple=True,
    help="Precision@k cut-offs (default 10, 50, 100).",
)
@click.option(
    "--max-sources",
    type=click.IntRange(min=1),
    help="Evaluate a fixed, hash-chosen subset of sources (large graphs).",
)
@click.option("--format", "fmt", type=click.Choice(OUTPUT_FORMATS), default="table")
@click.pass_context
def evaluate_cmd(ctx: click.Context, cutoff_year: int, **kwargs: Any) -> None:
    """Time-sliced evaluation of every ranking measure on this graph.

    Builds the candidate pairs from evidence published up to --cutoff-year and scores each
    measure's ranking against the pairs first connected after it (ROC AUC, average precision,
    precision@k). Example:

        kg hypotheses evaluate --cutoff-year 2005 --source-type Chemical --target-type Disease
    """
    from queries.hypotheses import evaluate

    if kwargs["until_year"] is not None:
        raise click.UsageError("use --cutoff-year, not --until-year, with evaluate")
    source_types = kwargs.pop("source_types")
    ks = kwargs.pop("ks") or (10, 50, 100)
    max_sources = kwargs.pop("max_sources")
    fmt = kwargs.pop("fmt")
    filters = build_filters(kwargs)
    result = with_graph(
        ctx,
        lambda driver, db: evaluate(
            driver,
            db,
            cutoff_year,
            filters=filters,
            source_types=source_types,
            ks=ks,
            max_sources=max_sources,
        ),
    )
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        click.echo(format_evaluation(result))
