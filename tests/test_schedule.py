"""``kg schedule`` as a user runs it: jobs, run-once, the lock, history, the daemon and its
catch-up of missed runs."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.errors import ConfigError
from kg.schedule import make_trigger, missed_since, run_daemon
from kg.sources.pull import exclusive
from kg.sources.state import Job, Run, StateStore
from tests.fake_eutils import settings_for

UPDATES = Path(__file__).parent / "fixtures" / "pubmed_updates"


def kg(cfg, *args: str):
    return CliRunner().invoke(main, list(args), obj={"settings": cfg})


@pytest.fixture
def cfg(settings, tmp_path):
    return settings_for(settings, tmp_path)


def test_every_schedule_and_pull_command_has_help() -> None:
    for args in (["schedule"], ["schedule", "add"], ["schedule", "list"], ["schedule", "remove"],
                 ["schedule", "run"], ["schedule", "run-once"], ["schedule", "history"],
                 ["pull"], ["pull", "eutils"], ["pull", "updates"], ["pull", "watch"],
                 ["pull", "status"]):  # fmt: skip
        result = CliRunner().invoke(main, [*args, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, (args, result.output)


def test_add_list_remove_as_a_user(cfg, tmp_path) -> None:
    folder = tmp_path / "updates"
    shutil.copytree(UPDATES, folder)
    added = kg(cfg, "schedule", "add", "nightly", "--cron", "0 3 * * *", "--",
               "updates", str(folder), "--use-annotations")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "job nightly added: 0 3 * * *" in added.output
    listed = kg(cfg, "schedule", "list")
    assert "nightly  [0 3 * * *]  next: " in listed.output
    assert f"kg pull updates {folder} --use-annotations" in listed.output
    again = kg(
        cfg, "schedule", "add", "nightly", "--cron", "0 4 * * *", "--", "updates", str(folder)
    )
    assert again.exit_code == 2 and "exists already" in again.output
    replaced = kg(cfg, "schedule", "add", "nightly", "--cron", "0 4 * * *", "--replace", "--",
                  "updates", str(folder), "--use-annotations")  # fmt: skip
    assert replaced.exit_code == 0 and "[0 4 * * *]" in kg(cfg, "schedule", "list").output
    for bad, message in (
        (["--cron", "0 3 * *", "--", "updates", str(folder)], "has 4 fields"),
        (["--cron", "0 25 * * *", "--", "updates", str(folder)], "cron expression"),
        (["--cron", "0 3 * * *", "--", "ftp", "x"], "unknown source 'ftp'"),
        (["--cron", "0 3 * * *", "--", "updates", str(tmp_path / "nope")], "does not exist"),
        (["--cron", "0 3 * * *", "--", "updates", str(folder), "--dry-run"], "dry run"),
        (["--cron", "0 3 * * *", "--", "eutils", "--mindate", "2024/1/1"], "--query"),
    ):
        result = kg(cfg, "schedule", "add", "other", *bad)
        assert result.exit_code == 2 and message in result.output, (bad, result.output)
    assert kg(cfg, "schedule", "remove", "nightly").exit_code == 0
    assert "no jobs" in kg(cfg, "schedule", "list").output
    gone = kg(cfg, "schedule", "remove", "nightly")
    assert gone.exit_code == 2 and "no scheduled job named 'nightly'" in gone.output


def test_run_once_reports_and_history_shows_it(cfg, graph, tmp_path) -> None:
    folder = tmp_path / "updates"
    shutil.copytree(UPDATES, folder)
    kg(cfg, "schedule", "add", "nightly", "--cron", "0 3 * * *", "--",
       "updates", str(folder), "--use-annotations")  # fmt: skip
    first = kg(cfg, "schedule", "run-once", "nightly", "--no-progress")
    assert first.exit_code == 3, first.output  # one record without a PMID was quarantined
    assert "done: add 7, update 1, delete 1 (of 1 deletions), unchanged 0, failed 1" in first.output
    second = kg(cfg, "schedule", "run-once", "nightly", "--no-progress")
    assert second.exit_code == 0 and "done: add 0, update 0, delete 0" in second.output
    # The lock: a run of the same job while one holds it does nothing and says so.
    with exclusive(cfg, "job-nightly"):
        busy = kg(cfg, "schedule", "run-once", "nightly", "--no-progress")
    assert busy.exit_code == 75 and "already running" in busy.output
    shown = kg(cfg, "schedule", "history", "nightly")
    lines = shown.output.splitlines()
    assert len(lines) == 3 and "nightly skipped" in lines[0]
    assert "nightly ok" in lines[1] and "+0 added" in lines[1]
    assert "nightly partial" in lines[2] and "+7 added, 1 updated, 1 deleted, 1 failed" in lines[2]
    as_json = kg(cfg, "schedule", "history", "--json", "--limit", "1")
    assert '"status": "skipped"' in as_json.output
    status = kg(cfg, "pull", "status")
    assert f"updates:{folder}" in status.output and "pubmed99n0002.xml" in status.output
    unknown = kg(cfg, "schedule", "history", "weekly")
    assert unknown.exit_code == 2


def test_missed_runs_are_made_up_once() -> None:
    utc = UTC
    now = datetime(2024, 5, 10, 12, 0, tzinfo=utc)
    job = Job("nightly", "0 3 * * *", (), {}, (now - timedelta(days=3)).isoformat())
    assert missed_since(job, None, now, utc)  # three 03:00s passed: due (once)
    ran = Run(1, "nightly", "s", (now - timedelta(hours=8)).isoformat(), None, "ok", {})
    assert not missed_since(job, ran, now, utc)  # ran at 04:00 today
    old = Run(1, "nightly", "s", (now - timedelta(days=1, hours=10)).isoformat(), None, "ok", {})
    assert missed_since(job, old, now, utc)
    assert make_trigger("*/5 * * * * *", utc).get_next_fire_time(None, now) == now
    with pytest.raises(ConfigError, match="cron expression"):
        make_trigger("61 * * * *", utc)


def wait_for(predicate, timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_daemon_runs_jobs_never_overlapping_and_catches_up_once(cfg, tmp_path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()  # empty: the runs are quick and need no graph
    assert kg(cfg, "schedule", "add", "often", "--cron", "*/1 * * * * *", "--",
              "watch", str(inbox), "--use-annotations").exit_code == 0  # fmt: skip
    with StateStore.for_data_dir(cfg.data_dir) as db:
        created = (datetime.now(UTC) - timedelta(days=2)).isoformat()
        other = tmp_path / "other"
        other.mkdir()
        spec = db.job("often").spec
        spec["source"]["options"]["path"] = str(other)
        nightly = Job("nightly", "0 3 * * *", ("watch", str(other)), spec, created)
        db.add_job(nightly)
    stop = threading.Event()
    seen: list[str] = []
    daemon = threading.Thread(
        target=run_daemon,
        args=(cfg,),
        kwargs={"stop": stop, "reload_s": 1.0, "on_run": lambda name, _: seen.append(name)},
    )
    daemon.start()
    try:
        assert wait_for(lambda: seen.count("often") >= 3)
        # Removed while running: the daemon stops running it at its next reload.
        kg(cfg, "schedule", "remove", "often")
        time.sleep(2.5)
        count = seen.count("often")
        time.sleep(2)
        assert seen.count("often") == count
    finally:
        stop.set()
        daemon.join(30)
    assert not daemon.is_alive()
    assert seen.count("nightly") == 1  # two missed 03:00s, made up once
    with StateStore.for_data_dir(cfg.data_dir) as db:
        runs = sorted(db.runs(limit=100), key=lambda r: r.id)
    assert {r.status for r in runs} == {"ok"}
    often = [r for r in runs if r.job == "often"]
    for a, b in zip(often, often[1:], strict=False):
        assert a.finished_at is not None and a.finished_at <= b.started_at


def test_daemon_command_stops_on_sigterm(cfg, tmp_path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    kg(cfg, "schedule", "add", "often", "--cron", "*/1 * * * * *", "--", "watch", str(inbox),
       "--use-annotations")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KG_", "NEO4J_"))}
    env.update(KG_PATHS__DATA_DIR=str(cfg.data_dir), XDG_CONFIG_HOME=str(tmp_path / "none"))
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "kg"), "schedule", "run", "--reload", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with StateStore.for_data_dir(cfg.data_dir) as db:
            assert wait_for(lambda: len(db.runs("often")) >= 2, 60)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "scheduler running" in out and "job often:" in out and "scheduler stopped" in out
