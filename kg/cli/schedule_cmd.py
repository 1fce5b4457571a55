"""``kg schedule``: named, cron-timed pulls, a foreground daemon that runs them, their history."""

from __future__ import annotations

import json
import signal
import threading
from dataclasses import asdict
from datetime import datetime
from typing import Any

import click

from kg.cli.app import main, settings_from
from kg.cli.pull_cmd import parse_pull_args, print_pull_report, report_and_exit
from kg.schedule import add_job, history, list_jobs, remove_job, run_daemon, run_job
from kg.sources.pull import PullReport


@main.group("schedule")
def schedule_group() -> None:
    """Run pulls on a schedule: add jobs, run them (daemon or once), read their history.

    Example: kg schedule add nightly --cron "0 3 * * *" -- updates /data/pubmed/updatefiles
    --use-annotations; then keep `kg schedule run` running (systemd, tmux), or call
    `kg schedule run-once nightly` from cron.
    """


@schedule_group.command("add", context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.option("--cron", required=True, help='When to run: "minute hour day month weekday".')
@click.option("--replace", is_flag=True, help="Replace a job of the same name.")
@click.argument("args", nargs=-1, type=click.UNPROCESSED, required=True)
@click.pass_context
def schedule_add(
    ctx: click.Context, name: str, cron: str, replace: bool, args: tuple[str, ...]
) -> None:
    """Add job NAME that runs `kg pull ARGS` on the cron schedule.

    Put the pull after `--`: kg schedule add daily --cron "0 3 * * *" -- eutils --query
    "lithium" --mindate 2024/01/01 --use-annotations. Paths are stored absolute; the source is
    checked now, so a wrong path or option fails here rather than at 3 a.m.
    """
    spec, options = parse_pull_args(list(args))
    job = add_job(settings_from(ctx), name, cron, list(args), spec, options, replace=replace)
    click.echo(f"job {job.name} added: {job.cron} -> kg pull {' '.join(job.argv)}")


@schedule_group.command("list")
@click.pass_context
def schedule_list(ctx: click.Context) -> None:
    """Every job: its schedule, next run, pull arguments and last run."""
    jobs = list_jobs(settings_from(ctx))
    if not jobs:
        click.echo("no jobs; add one with kg schedule add")
    for status in jobs:
        job, last = status.job, status.last_run
        next_run = status.next_run.isoformat(timespec="minutes") if status.next_run else "never"
        click.echo(f"{job.name}  [{job.cron}]  next: {next_run}")
        click.echo(f"  kg pull {' '.join(job.argv)}")
        if last is not None:
            click.echo(f"  last run: {last.started_at} {last.status}")


@schedule_group.command("remove")
@click.argument("name")
@click.pass_context
def schedule_remove(ctx: click.Context, name: str) -> None:
    """Remove job NAME (its history and its source's cursor stay)."""
    remove_job(settings_from(ctx), name)
    click.echo(f"job {name} removed")


@schedule_group.command("run-once")
@click.argument("name")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.pass_context
def schedule_run_once(ctx: click.Context, name: str, no_progress: bool) -> None:
    """Run job NAME now, in the foreground (what cron or a systemd timer calls).

    Exit codes: 0 done, 3 done with quarantined records, 75 the job is already running
    (nothing done), other non-zero: the run failed and its cursor did not move past what
    was written.
    """
    settings = settings_from(ctx)
    report_and_exit(ctx, lambda: run_job(settings, name, show_progress=not no_progress))


@schedule_group.command("run")
@click.option(
    "--reload",
    "reload_s",
    type=click.FloatRange(min=1),
    default=30.0,
    show_default=True,
    help="Seconds between re-reading the job list (adds and removals apply without restart).",
)
@click.pass_context
def schedule_run(ctx: click.Context, reload_s: float) -> None:
    """Run every job on its schedule, in the foreground, until interrupted (Ctrl-C, SIGTERM).

    Runs missed while the daemon was busy or not running are made up once, not repeated; a job
    never runs twice at the same time. Each run's report goes to `kg schedule history`.
    """
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    def on_run(name: str, outcome: Any) -> None:
        when = datetime.now().isoformat(timespec="seconds")
        if isinstance(outcome, PullReport):
            click.echo(f"{when} job {name}:")
            print_pull_report(outcome)
        else:
            click.secho(f"{when} job {name}: {outcome}", fg="red", err=True)

    click.echo("scheduler running; Ctrl-C to stop")
    run_daemon(settings_from(ctx), stop=stop, reload_s=reload_s, on_run=on_run)
    click.echo("scheduler stopped")


@schedule_group.command("history")
@click.argument("name", required=False)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Full reports as JSON.")
@click.pass_context
def schedule_history(ctx: click.Context, name: str | None, limit: int, as_json: bool) -> None:
    """Past runs (of job NAME, or all runs, by hand too), newest first, with their reports."""
    runs = history(settings_from(ctx), name, limit)
    if as_json:
        click.echo(json.dumps([asdict(run) for run in runs], indent=2))
        return
    if not runs:
        click.echo("no runs yet")
    for run in runs:
        r = run.report
        head = f"#{run.id} {run.started_at} {run.job or '(by hand)'} {run.status}"
        if "added" in r:
            click.echo(
                f"{head} {r['duration_s']:.1f}s: +{r['added']} added, {r['updated']} updated, "
                f"{r['deleted']} deleted, {r['failed']} failed, {r['unchanged']} unchanged, "
                f"{r['relations_changed']} relations changed"
            )
        else:
            click.echo(f"{head} {r.get('error', '')}")
        if r.get("error") and "added" in r:
            click.secho(f"  error: {r['error']}", fg="red")
