"""``kg extract`` (annotate files with the models) and ``kg eval ner|norm`` (score them)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kg.cli.app import main, settings_from

if TYPE_CHECKING:
    from kg.config import Settings
    from kg.model import Document

EXIT_SKIPPED = 3

_recognizer = click.option(
    "--recognizer",
    help="default, or NAME:PATH with NAME one of tagger, hf, gliner, dictionary "
    "(overrides [extract] recognizer).",
)
_relations = click.option(
    "--relations",
    help="default, none, or NAME:PATH with NAME one of re, hf (overrides [extract] relations).",
)
_fmt = click.option(
    "--format",
    "fmt",
    default=None,
    help="Input format (pubmed, medline, pubtator, bioc-xml, bioc-json, text, jsonl); "
    "detected when omitted.",
)


#: the input format (kg.readers) each output format is read back as
WRITTEN_AS = {"pubtator": "pubtator", "bioc": "bioc-xml", "jsonl": "jsonl"}


@main.command("extract")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--to",
    "to",
    type=click.Choice(["pubtator", "bioc", "jsonl"]),
    default="pubtator",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default="-",
    show_default=True,
    help="Output file; - writes to standard output.",
)
@_fmt
@_recognizer
@_relations
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.pass_context
def extract_cmd(
    ctx: click.Context,
    inputs: tuple[Path, ...],
    to: str,
    out: Path,
    fmt: str | None,
    recognizer: str | None,
    relations: str | None,
    no_progress: bool,
) -> None:
    """Find and link the entities of INPUTS (files or folders), find the relations between
    them, and write both out (PubTator relation lines: PMID, type, ID1, ID2, Novel|No).

    Offsets count characters of title + " " + abstract, as in PubTator. Annotations in the
    input are ignored. Records that cannot be read or annotated are reported on standard error
    with their PMID, the rest is written; the exit code is then 3.

    With --to given and no --out, the last of two or more paths is the output file, as in
    `kg extract abstracts.xml.gz --to pubtator predicted.pubtator`; an existing file there is
    replaced only if it is in the --to format (a PubMed or BioC input named last by mistake is
    refused, not overwritten).

    Example: kg extract abstracts.xml.gz --to pubtator --out predicted.pubtator
    """
    from extractors.registry import load_extractor
    from extractors.run import ExtractReport, annotate, write_documents
    from kg.readers import read_path

    inputs, out = _inputs_and_output(ctx, inputs, to, out)
    settings = settings_from(ctx)
    extractor = load_extractor(settings, recognizer, relations)
    report = ExtractReport()
    items = (item for path in inputs for item in read_path(path, fmt))
    bar = None
    if not no_progress:
        from tqdm import tqdm

        bar = tqdm(unit=" doc", desc="extract", file=sys.stderr, dynamic_ncols=True)
    docs = annotate(
        extractor,
        items,
        report,
        chunk=settings.extract.batch_size,
        progress=bar.update if bar is not None else None,
    )
    target = out if str(out) != "-" else None
    tmp = target.with_name(target.name + ".part") if target else None
    try:
        if tmp is not None:
            with tmp.open("w", encoding="utf-8") as fh:
                write_documents(docs, to, fh)
            tmp.replace(target)  # all or nothing: no half-written output file
        else:
            write_documents(docs, to, sys.stdout)
    finally:
        if bar is not None:
            bar.close()
        if tmp is not None and tmp.exists():
            tmp.unlink()
    click.echo(
        f"documents: {report.documents}   mentions: {report.mentions}   "
        f"relations: {report.relations}",
        err=True,
    )
    for error in report.failed:
        click.secho(f"  skipped: {error}", fg="yellow", err=True)
    if report.failed:
        ctx.exit(EXIT_SKIPPED)


def _inputs_and_output(
    ctx: click.Context, paths: tuple[Path, ...], to: str, out: Path
) -> tuple[tuple[Path, ...], Path]:
    """The input paths and the output file: ``--out``, or the last path where ``--to`` is
    given, ``--out`` is not and there are two paths or more (``kg extract IN --to pubtator
    OUT``)."""
    from click.core import ParameterSource

    from kg.errors import InputError
    from kg.readers import detect_format

    given = ParameterSource.COMMANDLINE
    if (
        len(paths) >= 2
        and ctx.get_parameter_source("to") is given
        and ctx.get_parameter_source("out") is not given
    ):
        *rest, last = paths
        if last.is_dir():
            raise click.BadParameter(
                f"the output {last} is a folder; name a file, or give --out", param_hint="OUT"
            )
        try:
            found = detect_format(last) if last.is_file() else WRITTEN_AS[to]
        except InputError:
            found = None
        if found != WRITTEN_AS[to]:
            raise click.BadParameter(
                f"{last} exists and is not a {to} file, so it is not overwritten; "
                "give the output with --out, or remove the file",
                param_hint="OUT",
            )
        paths, out = tuple(rest), last
    for path in paths:
        if not path.exists():
            raise click.BadParameter(f"Path '{path}' does not exist.", param_hint="INPUTS...")
    return paths, out


@main.group("eval")
def eval_group() -> None:
    """Score the models against a gold PubTator/BioC file."""


def _run_eval(
    ctx: click.Context,
    gold: Path,
    fmt: str | None,
    recognizer: str | None,
    predictions: Path | None,
    link: bool,
) -> tuple:
    from extractors.run import ExtractReport, annotate, evaluate, gold_documents

    gold_docs = gold_documents(gold, fmt)
    if predictions is not None:
        predicted = gold_documents(predictions)
    else:
        from extractors.registry import load_entity_extractor, with_workers

        settings = settings_from(ctx)
        if not link:
            settings = settings.model_validate(
                {
                    **settings.model_dump(),
                    "extract": {**settings.extract.model_dump(), "link": False},
                }
            )
        extractor = with_workers(settings, load_entity_extractor(settings, recognizer))
        report = ExtractReport()
        predicted = list(annotate(extractor, gold_docs, report, chunk=settings.extract.batch_size))
    return evaluate(gold_docs, predicted)


def _print(title: str, scores: dict, as_json: bool) -> None:
    from extractors.evaluation import format_table

    if as_json:
        click.echo(json.dumps({k: v.as_dict() for k, v in scores.items()}, indent=2))
    else:
        click.echo(format_table(title, scores))


_gold = click.option(
    "--gold",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Gold annotations (PubTator, BioC XML/JSON).",
)
_pred = click.option(
    "--predictions",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Score this file of predictions instead of running a model (any tool's PubTator).",
)
_json = click.option("--json", "as_json", is_flag=True, help="Scores as JSON.")


@eval_group.command("ner")
@_gold
@_fmt
@_recognizer
@_pred
@_json
@click.pass_context
def eval_ner_cmd(
    ctx: click.Context,
    gold: Path,
    fmt: str | None,
    recognizer: str | None,
    predictions: Path | None,
    as_json: bool,
) -> None:
    """Strict mention precision, recall and F1 per type (same start, end and type).

    Example: kg eval ner --gold ../shared/data/corpora/bc5cdr/dev.pubtator
    """
    mentions, _ = _run_eval(ctx, gold, fmt, recognizer, predictions, link=False)
    _print(f"strict mentions: {gold.name}", mentions, as_json)


@eval_group.command("norm")
@_gold
@_fmt
@_recognizer
@_pred
@_json
@click.pass_context
def eval_norm_cmd(
    ctx: click.Context,
    gold: Path,
    fmt: str | None,
    recognizer: str | None,
    predictions: Path | None,
    as_json: bool,
) -> None:
    """Document-level concept precision, recall and F1 per type: the set of (type, ID) per
    document, end to end (recognized and linked mentions). Also prints the strict mentions.

    Example: kg eval norm --gold ../shared/data/corpora/bc5cdr/dev.pubtator
    """
    mentions, concepts = _run_eval(ctx, gold, fmt, recognizer, predictions, link=True)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "mentions": {k: v.as_dict() for k, v in mentions.items()},
                    "concepts": {k: v.as_dict() for k, v in concepts.items()},
                },
                indent=2,
            )
        )
        return
    _print(f"document concepts: {gold.name}", concepts, False)
    _print(f"strict mentions: {gold.name}", mentions, False)


@eval_group.command("re")
@_gold
@_fmt
@_recognizer
@_relations
@_pred
@click.option(
    "--mode",
    type=click.Choice(["both", "end-to-end", "gold-entities"]),
    default="both",
    show_default=True,
    help="end-to-end: the models find and link the entities first; gold-entities: the gold "
    "file's mentions are given and only relations are predicted.",
)
@click.option(
    "--breakdown",
    is_flag=True,
    help="Also score each entity-type pair (Chemical-Disease, Gene-Gene, ...) and each "
    "relation type on its own.",
)
@click.option(
    "--losses",
    is_flag=True,
    help="Also say where the pairs go: found, missed by the relation model although both IDs "
    "were found, missed because the entity stage missed an ID (not recognized, unlinked or "
    "linked to another ID), and the false pairs by whether the gold has both IDs.",
)
@click.option(
    "--current-ids",
    is_flag=True,
    help="Read gold MeSH IDs that MeSH no longer has (concepts merged or made descriptors "
    "since the corpus was annotated) as the current MeSH ID their gold mention texts name; "
    "says how many were read so. Off by default: the gold file's IDs as they are.",
)
@_json
@click.pass_context
def eval_re_cmd(
    ctx: click.Context,
    gold: Path,
    fmt: str | None,
    recognizer: str | None,
    relations: str | None,
    predictions: Path | None,
    mode: str,
    breakdown: bool,
    losses: bool,
    current_ids: bool,
    as_json: bool,
) -> None:
    """Document-level relation precision, recall and F1: pair (the two IDs, either order),
    pair+type, and pair+type+novelty (where the gold states novelty).

    Only the relation types and entity-type pairs the gold file annotates are scored (BC5CDR:
    chemical-induced disease, read as Positive_Correlation between a chemical and a disease).

    Example: kg eval re --gold ../shared/data/corpora/bc5cdr/dev.pubtator --breakdown
    """
    from extractors.evaluation import format_breakdown
    from extractors.run import (
        evaluate_relations,
        gold_documents,
        relation_losses,
        relations_breakdown,
        with_ids,
    )

    gold_docs = gold_documents(gold, fmt)
    retired = _retired_ids(settings_from(ctx), gold_docs) if current_ids else {}
    gold_docs = with_ids(gold_docs, retired)
    runs: dict[str, list] = {}
    if predictions is not None:
        runs["predictions"] = gold_documents(predictions)
    else:
        from extractors.registry import load_extractor
        from extractors.run import ExtractReport, annotate

        settings = settings_from(ctx)
        modes = ["end-to-end", "gold-entities"] if mode == "both" else [mode]
        for m in modes:
            extractor = load_extractor(settings, recognizer, relations, entities=m == "end-to-end")
            report = ExtractReport()
            runs[m] = list(
                annotate(
                    extractor,
                    gold_docs,
                    report,
                    chunk=settings.extract.batch_size,
                    keep_mentions=m == "gold-entities",
                )
            )
    # a retired ID is one concept with its successor on both sides: the linker may still
    # give the old ID where the training corpora name it most ("venlafaxine")
    runs = {name: with_ids(docs, retired) for name, docs in runs.items()}
    results = {name: evaluate_relations(gold_docs, docs) for name, docs in runs.items()}
    groups = (
        {name: relations_breakdown(gold_docs, docs) for name, docs in runs.items()}
        if breakdown
        else {}
    )
    where = (
        {name: relation_losses(gold_docs, docs) for name, docs in runs.items()} if losses else {}
    )
    if as_json:
        out: dict[str, dict] = {}
        for name, scores in results.items():
            out[name] = {k: v.as_dict() for k, v in scores.items()}
            if breakdown:
                out[name]["breakdown"] = {
                    g: {k: v.as_dict() for k, v in s.items()} for g, s in groups[name].items()
                }
            if losses:
                out[name]["losses"] = where[name]
        click.echo(json.dumps(out, indent=2))
        return
    for name, scores in results.items():
        _print(f"relations ({name}): {gold.name}", scores, False)
        if breakdown:
            click.echo(format_breakdown(f"by entity-type pair and type ({name})", groups[name]))
        if losses:
            click.echo(f"where the pairs go ({name})")
            for key, n in where[name].items():
                click.echo(f"  {n:>6}  {key}")


def _retired_ids(settings: Settings, gold_docs: list[Document]) -> dict[str, str]:
    """``kg eval re --current-ids``: the gold's retired MeSH IDs, each with its current one
    (extractors/run.py ``current_ids``); says how many on stderr."""
    from extractors.linker import Linker
    from extractors.registry import lexicon_path
    from extractors.run import current_ids

    with Linker(lexicon_path(settings)) as linker:
        ids = current_ids(gold_docs, linker)
    shown = ", ".join(f"{old} -> {new}" for old, new in sorted(ids.items())[:5])
    more = f", ... ({len(ids) - 5} more)" if len(ids) > 5 else ""
    click.echo(f"--current-ids: {len(ids)} retired gold IDs read as current ones"
               + (f" ({shown}{more})" if ids else ""), err=True)  # fmt: skip
    return ids
