"""``kg neo4j ...``: fetch, start, stop and inspect the project's own Neo4j server."""

from __future__ import annotations

import os

import click

from kg.cli.app import main, settings_from
from loaders.neo4j import server
from loaders.neo4j.connection import PASSWORD_ENV

#: Exit status of ``kg neo4j status`` when the server is not running (as in LSB init scripts).
NOT_RUNNING = 3


@main.group("neo4j")
def neo4j_group() -> None:
    """Run the managed local Neo4j server (jars fetched from Maven Central, no installer).

    Its files live in the kg data directory (neo4j/ with conf, data, logs); the jars are cached
    once per machine. Set NEO4J_URI to use another Neo4j 5 instead.
    """


@neo4j_group.command("fetch")
@click.pass_context
def fetch_cmd(ctx: click.Context) -> None:
    """Download the pinned Neo4j, APOC and Browser jars (once; needs mvn and Java 17)."""
    settings = settings_from(ctx)
    if server.is_fetched(settings):
        click.echo(f"already fetched: {server.runtime(settings).root}")
        return
    click.echo(f"fetching Neo4j {settings.neo4j.version} from Maven Central (about a minute)...")
    rt = server.fetch(settings)
    click.echo(f"fetched into {rt.root}")


@neo4j_group.command("start")
@click.pass_context
def start_cmd(ctx: click.Context) -> None:
    """Start the server in the background and wait until it answers (fetches it if needed)."""
    settings = settings_from(ctx)
    if not server.is_fetched(settings):
        click.echo(f"fetching Neo4j {settings.neo4j.version} from Maven Central (first run)...")
    info = server.start(settings)
    if info.already_running:
        click.echo(f"Neo4j {info.version} is already running (pid {info.pid})")
    else:
        click.echo(f"Neo4j {info.version} started in {info.startup_s:.1f} s (pid {info.pid})")
    click.echo(f"  browser:  {info.browser_url}")
    click.echo(f"  bolt:     {info.bolt_uri}")
    click.echo(f"  user:     {settings.neo4j_user}")
    if os.environ.get(PASSWORD_ENV):
        click.echo(f"  password: from ${PASSWORD_ENV}")
    else:
        click.echo(f"  password: in {settings.password_file}")
    click.echo(f"  home:     {info.home}")
    if not settings.managed:
        click.secho(
            f"note: NEO4J_URI is set, so other kg commands use {settings.bolt_uri}, "
            "not this server",
            fg="yellow",
            err=True,
        )


@neo4j_group.command("stop")
@click.pass_context
def stop_cmd(ctx: click.Context) -> None:
    """Stop the server (waits for a clean shutdown, up to 60 s)."""
    info = server.stop(settings_from(ctx))
    click.echo(f"stopped Neo4j (pid {info.pid})" if info.running else "Neo4j was not running")


@neo4j_group.command("status")
@click.pass_context
def status_cmd(ctx: click.Context) -> None:
    """Say whether the server runs; exit status 0 if it does, 3 if not."""
    info = server.status(settings_from(ctx))
    if info.running:
        click.echo(f"running (pid {info.pid}): {info.bolt_uri}, browser {info.browser_url}")
    else:
        click.echo(f"not running (home {info.home})")
        ctx.exit(NOT_RUNNING)


@neo4j_group.command("logs")
@click.option("-n", "--lines", default=50, show_default=True, help="How many last lines to show.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines (Ctrl-C to stop).")
@click.option(
    "--log",
    "name",
    type=click.Choice(sorted(server.LOG_FILES)),
    default="neo4j",
    show_default=True,
    help="neo4j: the short log; debug: everything; console: the JVM's own output.",
)
@click.pass_context
def logs_cmd(ctx: click.Context, lines: int, follow: bool, name: str) -> None:
    """Show the server's log."""
    settings = settings_from(ctx)
    for line in server.tail_log(settings, lines, name):
        click.echo(line)
    if follow:
        try:
            for line in server.follow_log(settings, name):
                click.echo(line)
        except KeyboardInterrupt:
            pass
