"""Scheduled pulls: named jobs with a cron expression, run by a foreground daemon or by hand.

Jobs live in the state database (:mod:`kg.sources.state`) with the ``kg pull`` arguments they
were given and the source spec those parse into. Triggers are APScheduler's ``CronTrigger``
(5 fields, or 6 with seconds first). The daemon (:func:`run_daemon`) schedules every job with
``coalesce=True`` and ``max_instances=1``: runs missed while it was busy collapse into one, and
a run missed while it was not running at all (the machine was off) is made up once at start.
Each run holds a lock for its job (and :func:`kg.sources.pull.pull` one for its source), so two
runs of the same job never overlap, even from two daemons or a daemon and ``run-once``. Every
run, including one skipped because the job was busy, is recorded with its report.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kg.errors import ConfigError, KGError
from kg.sources import SourceSpec, make_source
from kg.sources.pull import BusyError, PullOptions, PullReport, exclusive, pull
from kg.sources.state import Job, Run, StateStore, now_iso

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

    from kg.config import Settings

log = logging.getLogger(__name__)

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


@dataclass(frozen=True, slots=True)
class JobStatus:
    """A job with its next fire time and its last run, for ``kg schedule list``."""

    job: Job
    next_run: datetime | None
    last_run: Run | None


def _timezone(settings: Settings) -> Any:
    from tzlocal import get_localzone

    if settings.schedule.timezone:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            return ZoneInfo(settings.schedule.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(
                f"unknown time zone {settings.schedule.timezone!r}",
                hint="set schedule.timezone to an IANA name (Europe/Paris), or leave it empty",
            ) from exc
    return get_localzone()


def make_trigger(cron: str, timezone: Any) -> CronTrigger:
    """A cron trigger from 5 fields (``m h dom mon dow``) or 6 (seconds first)."""
    from apscheduler.triggers.cron import CronTrigger

    fields = cron.split()
    try:
        if len(fields) == 5:
            return CronTrigger.from_crontab(cron, timezone=timezone)
        if len(fields) == 6:
            second, minute, hour, day, month, dow = fields
            return CronTrigger(
                second=second,
                minute=minute,
                hour=hour,
                day=day,
                month=month,
                day_of_week=dow,
                timezone=timezone,
            )
    except ValueError as exc:
        raise ConfigError(f"cron expression {cron!r}: {exc}", hint=_CRON_HINT) from exc
    raise ConfigError(f"cron expression {cron!r} has {len(fields)} fields", hint=_CRON_HINT)


_CRON_HINT = 'five fields "minute hour day month weekday", e.g. "0 3 * * *" for 03:00 daily'


def _store(settings: Settings) -> StateStore:
    return StateStore.for_data_dir(settings.data_dir)


def add_job(
    settings: Settings,
    name: str,
    cron: str,
    argv: list[str],
    source: SourceSpec,
    options: PullOptions,
    *,
    replace: bool = False,
) -> Job:
    """Check and store a job; the source is built once so a bad path or query fails now."""
    if not name or set(name) - _NAME_CHARS:
        raise ConfigError(
            f"job name {name!r} is not usable", hint="use letters, digits, '-', '_' and '.'"
        )
    if options.dry_run:
        raise ConfigError("a scheduled job cannot be a dry run", hint="drop --dry-run")
    make_trigger(cron, _timezone(settings))
    make_source(source, settings)
    job = Job(
        name=name,
        cron=cron,
        argv=tuple(argv),
        spec={"source": source.to_json(), "pull": options.to_json()},
        created_at=now_iso(),
    )
    with _store(settings) as store:
        store.add_job(job, replace=replace)
    return job


def remove_job(settings: Settings, name: str) -> None:
    with _store(settings) as store:
        if not store.remove_job(name):
            raise ConfigError(
                f"no scheduled job named {name!r}", hint="`kg schedule list` shows the jobs"
            )


def list_jobs(settings: Settings) -> list[JobStatus]:
    tz = _timezone(settings)
    now = datetime.now(tz)
    with _store(settings) as store:
        return [
            JobStatus(
                job,
                make_trigger(job.cron, tz).get_next_fire_time(None, now),
                store.last_run(job.name),
            )
            for job in store.jobs()
        ]


def history(settings: Settings, name: str | None = None, limit: int = 20) -> list[Run]:
    with _store(settings) as store:
        if name is not None:
            store.job(name)  # an unknown name is an error, not an empty history
        return store.runs(name, limit)


def run_job(settings: Settings, name: str, *, show_progress: bool = False) -> PullReport:
    """Run one job now, under its lock. Raises :class:`BusyError` if it is already running
    (the skipped run is recorded), :class:`~kg.sources.pull.PullFailedError` if it fails."""
    with _store(settings) as store:
        job = store.job(name)
    source = make_source(SourceSpec.from_json(job.spec["source"]), settings)
    options = PullOptions.from_json(job.spec.get("pull", {}))
    try:
        with exclusive(settings, f"job-{name}", f"job {name}"):
            return pull(settings, source, options, job=name, show_progress=show_progress)
    except BusyError as exc:
        with _store(settings) as store:
            run = store.start_run(source.key, name)
            store.finish_run(run, "skipped", {"error": exc.message})
        raise


def missed_since(job: Job, last: Run | None, now: datetime, timezone: Any) -> bool:
    """True when the job should have fired between its last run (or creation) and ``now``."""
    since = datetime.fromisoformat(last.started_at if last else job.created_at)
    due = make_trigger(job.cron, timezone).get_next_fire_time(None, since.astimezone(timezone))
    return due is not None and due <= now


def _run_logged(settings: Settings, name: str, on_run: Callable[[str, Any], None]) -> None:
    """The daemon's job function: runs, logs and never raises (the next run must still come)."""
    try:
        report: Any = run_job(settings, name)
    except KGError as exc:
        log.error("job %s: %s", name, exc)
        report = exc
    except Exception as exc:  # a bug must not stop the daemon; it is logged with its traceback
        log.exception("job %s crashed", name)
        report = exc
    on_run(name, report)


def run_daemon(
    settings: Settings,
    *,
    stop: threading.Event | None = None,
    reload_s: float = 30.0,
    on_run: Callable[[str, Any], None] | None = None,
) -> None:
    """Run every job on its schedule until ``stop`` is set (or the process is interrupted).

    The job table is read again every ``reload_s`` seconds, so ``kg schedule add/remove``
    take effect without a restart. ``on_run(name, report_or_error)`` is called after each run.
    """
    from apscheduler.schedulers.background import BackgroundScheduler

    tz = _timezone(settings)
    stop = stop or threading.Event()
    report_to = on_run or (lambda name, report: None)
    scheduler = BackgroundScheduler(
        timezone=tz,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    known: dict[str, str] = {}  # job name -> cron it was scheduled with

    def sync() -> None:
        with _store(settings) as store:
            jobs = {job.name: job for job in store.jobs()}
            for name in set(known) - set(jobs):
                scheduler.remove_job(name)
                del known[name]
                log.info("job %s removed", name)
            for name, job in jobs.items():
                if known.get(name) == job.cron:
                    continue
                if name in known:
                    scheduler.remove_job(name)
                trigger = make_trigger(job.cron, tz)
                extra: dict[str, Any] = {}
                if missed_since(job, store.last_run(name), datetime.now(tz), tz):
                    extra["next_run_time"] = datetime.now(tz)  # missed runs, made up once
                scheduler.add_job(
                    _run_logged,
                    trigger,
                    args=(settings, name, report_to),
                    id=name,
                    name=name,
                    **extra,
                )
                known[name] = job.cron
                log.info(
                    "job %s scheduled (%s)%s", name, job.cron, " — catching up" if extra else ""
                )

    sync()
    scheduler.start()
    try:
        while not stop.wait(reload_s):
            sync()
    finally:
        scheduler.shutdown(wait=True)
