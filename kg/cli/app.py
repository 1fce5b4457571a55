"""The root ``kg`` group, shared options, and error handling for every command."""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from kg import __version__
from kg.config import Settings, load_settings
from kg.errors import KGError

#: Command modules, imported lazily by name so ``kg --help`` stays fast.
COMMAND_MODULES = (
    "kg.cli.neo4j_cmd",
    "kg.cli.graph_cmd",
    "kg.cli.vocab_cmd",
    "kg.cli.pull_cmd",
    "kg.cli.schedule_cmd",
    "kg.cli.train_cmd",
    "kg.cli.extract_cmd",
    "kg.cli.query_cmd",
    "kg.cli.hypotheses_cmd",
    "kg.cli.export_cmd",
)


class KGGroup(click.Group):
    """Turns :class:`KGError` into a clear message and its exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KGError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(exc.exit_code)


def settings_from(ctx: click.Context) -> Settings:
    obj = ctx.ensure_object(dict)
    if "settings" not in obj:
        obj["settings"] = load_settings()
    return obj["settings"]


@click.group(cls=KGGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kg")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def main(ctx: click.Context, verbose: int) -> None:
    """Build and query a biomedical knowledge graph from the literature."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    ctx.ensure_object(dict)


for _name in COMMAND_MODULES:
    importlib.import_module(_name)
