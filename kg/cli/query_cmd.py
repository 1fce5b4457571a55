"""``kg query``: run a named query from the library in ``queries/``."""

from __future__ import annotations

import click

from kg.cli.app import main, settings_from
from kg.cli.output import FORMATS, parse_params, render


def list_queries() -> str:
    """The library as text: each query's name, what it answers, parameters and examples."""
    from queries.library import library

    blocks = []
    for query in library().values():
        lines = [click.style(query.name, bold=True), f"  {query.answers}"]
        lines += [f"    --param {p.describe()}" for p in query.params]
        lines += [f"  e.g. {example}" for example in query.examples]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


@main.command("query")
@click.argument("name", required=False)
@click.option("--param", "-p", "params", multiple=True, help="Query parameter key=value.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--list", "list_", is_flag=True, help="List the queries with their parameters.")
@click.option("--show", is_flag=True, help="Print the query's Cypher instead of running it.")
@click.pass_context
def query_cmd(
    ctx: click.Context,
    name: str | None,
    params: tuple[str, ...],
    fmt: str,
    list_: bool,
    show: bool,
) -> None:
    """Run the named query NAME from the library (queries/*.cypher) read-only.

    Parameters are checked against the query's declared kinds and passed to Neo4j as
    parameters, never spliced into the Cypher. Example:

        kg query neighbours --param id=MESH:D008094 --param predicate=biolink:causes
    """
    from queries.library import get_query, run_query

    if list_ or not name:
        click.echo(list_queries())
        return
    if show:
        click.echo(get_query(name).cypher)
        return
    columns, rows = run_query(settings_from(ctx), name, parse_params(params))
    click.echo(render(columns, rows, fmt))
