"""``kg export rdf|kgx|pubtator|bioc``: the graph out, streamed, in the community's formats."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from kg.cli.app import main, settings_from

T = TypeVar("T")


def with_pages(ctx: click.Context, work: Callable[[Any, str], T]) -> T:
    """Run ``work(driver, database)`` on the configured graph."""
    from queries.library import with_driver

    return with_driver(settings_from(ctx), work)


def export_kgx(driver: Any, database: str, out: Path, page: int) -> dict[str, Any]:
    """Nodes and edges TSV (see :mod:`loaders.files.kgx`); returns paths and row counts."""
    from loaders.files.kgx import kgx_paths, write_edges, write_nodes
    from loaders.rdf.export import open_output
    from loaders.rdf.graph import GraphPages

    pages = GraphPages(driver, database, page=page)
    nodes_path, edges_path = kgx_paths(out)
    with open_output(nodes_path) as stream:
        nodes = write_nodes(pages.entities(), stream)
    with open_output(edges_path) as stream:
        edges = write_edges(pages.relations(evidence=False), stream)
    return {"nodes": nodes, "edges": edges, "nodes_file": nodes_path, "edges_file": edges_path}


def export_annotations(driver: Any, database: str, fmt: str, out: Path, page: int) -> int:
    """Every publication with the graph's mentions and relations, as PubTator or BioC XML."""
    from loaders.rdf.export import open_output
    from loaders.rdf.graph import GraphPages

    docs = GraphPages(driver, database, page=page).documents()
    with open_output(out) as stream:
        if fmt == "pubtator":
            from loaders.files.pubtator import write_pubtator

            return write_pubtator(docs, stream)
        from loaders.files.bioc import write_bioc

        return write_bioc(docs, stream, source=f"kg export of {database}")


@main.group("export")
def export_group() -> None:
    """Write the graph out: RDF (with provenance), KGX TSV, PubTator, BioC XML."""


_page_option = click.option(
    "--page-size",
    type=click.IntRange(min=1),
    default=5000,
    show_default=True,
    help="Rows per page read from Neo4j.",
)


@export_group.command("rdf")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("ttl", "nt", "nq", "jsonld")),
    default="ttl",
    show_default=True,
)
@click.option("--no-evidence", is_flag=True, help="Leave out the evidence records (sentences).")
@click.option("--graph-iri", help="Named graph of N-Quads (a CURIE or IRI; default kgg:<db>).")
@_page_option
@click.pass_context
def rdf_cmd(
    ctx: click.Context,
    out: Path,
    fmt: str,
    no_evidence: bool,
    graph_iri: str | None,
    page_size: int,
) -> None:
    """Stream the graph to OUT as RDF ('-' for stdout, a .gz name compresses).

    Entities are IRIs from their CURIEs through the Biolink prefix map, typed by their Biolink
    category; every asserted edge is a plain triple plus a reified statement carrying its
    supporting PMIDs, evidence count and confidence (docs/decisions/0005). Example:

        kg export rdf --format nt graph.nt.gz
    """
    from loaders.rdf.export import export_rdf

    report = with_pages(
        ctx,
        lambda driver, db: export_rdf(
            driver,
            db,
            fmt,
            out,
            evidence=not no_evidence,
            graph_iri=graph_iri,
            page=page_size,
        ),
    )
    if str(out) != "-":
        counts = ", ".join(f"{k} {v}" for k, v in report.counts.items())
        click.echo(
            f"{report.triples} triples ({counts}) to {out} in {report.seconds:.1f} s "
            f"({report.per_second:,.0f} triples/s)",
            err=True,
        )
    for prefix, n in report.unmapped_prefixes.items():
        click.secho(
            f"  {n} identifiers with prefix {prefix!r} have no namespace in the prefix map; "
            "they use https://w3id.org/kg-biomed/curie/",
            fg="yellow",
            err=True,
        )


@export_group.command("kgx")
@click.argument("out", type=click.Path(path_type=Path))
@_page_option
@click.pass_context
def kgx_cmd(ctx: click.Context, out: Path, page_size: int) -> None:
    """KGX TSV: OUT_nodes.tsv and OUT_edges.tsv (OUT a folder: nodes.tsv, edges.tsv in it).

    Example: kg export kgx exports/kg   (writes exports/kg_nodes.tsv, exports/kg_edges.tsv)
    """
    result = with_pages(ctx, lambda driver, db: export_kgx(driver, db, out, page_size))
    click.echo(
        f"{result['nodes']} nodes to {result['nodes_file']}, "
        f"{result['edges']} edges to {result['edges_file']}",
        err=True,
    )


def _annotation_command(fmt: str, example: str) -> None:
    """``kg export pubtator`` and ``kg export bioc``: the same command for two writers."""

    @export_group.command(
        fmt,
        help=(
            f"Every publication with the graph's mentions and relations, as {_fmt_name(fmt)}.\n\n"
            f"The file reads back with `kg ingest OUT --use-annotations`. Example: {example}"
        ),
    )
    @click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
    @_page_option
    @click.pass_context
    def command(ctx: click.Context, out: Path, page_size: int) -> None:
        n = with_pages(ctx, lambda driver, db: export_annotations(driver, db, fmt, out, page_size))
        click.echo(f"{n} documents to {out}", err=True)


def _fmt_name(fmt: str) -> str:
    return {"pubtator": "PubTator", "bioc": "BioC XML"}[fmt]


_annotation_command("pubtator", "kg export pubtator annotations.pubtator")
_annotation_command("bioc", "kg export bioc annotations.bioc.xml")
