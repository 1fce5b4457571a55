"""Incremental pulls into the real Neo4j: equality with a from-scratch build, updates and
deletions, dry runs, and the faults a scheduled refresh must survive (E-utilities errors, a
truncated file, Neo4j stopped mid-run, the process killed mid-batch, a malformed record)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from kg.model import DeletedCitation, GraphBatch
from kg.readers import read_path
from kg.sinks import WriteReport
from kg.sources import SourceSpec, make_source
from kg.sources.files import UpdateFilesSource, WatchFolderSource
from kg.sources.pull import BusyError, PullFailedError, PullOptions, exclusive, pull
from kg.sources.pull import source_lock_name as lock_name
from kg.sources.state import StateStore
from loaders.files.jsonl import write_jsonl
from loaders.neo4j.sink import Neo4jSink
from tests.fake_eutils import FakeEutils, parse_articles, settings_for
from tests.helpers import make_doc
from tests.test_loader import counts, edges

FIXTURES = Path(__file__).parent / "fixtures"
UPDATES = FIXTURES / "pubmed_updates"
ANNOTATED = PullOptions(use_annotations=True, batch_size=2)


def state(cfg) -> StateStore:
    return StateStore.for_data_dir(cfg.data_dir)


def cursor(cfg, key: str):
    with state(cfg) as db:
        return db.cursor(key)


def rebuild(cfg, graph, items, tmp_path) -> tuple[dict, list]:
    """Empty the graph, load ``items`` from scratch, and return (counts, edges)."""
    from kg.pipeline import ingest

    graph.execute_query("MATCH (n) DETACH DELETE n")
    ingest(
        items,
        Neo4jSink(cfg),
        quarantine_path=tmp_path / "scratch-q.jsonl",
        batch_size=50,
        use_annotations=True,
    )
    return counts(graph), edges(graph)


def copy_updates(tmp_path: Path) -> Path:
    folder = tmp_path / "updates"
    shutil.copytree(UPDATES, folder)
    return folder


# --- the equality target, on a small slice -------------------------------------------------

LITHIUM = ("Lithium", "Chemical", "D008094")
TREMOR = ("tremor", "Disease", "D014202")
CAUSES = ("Positive_Correlation", "MESH:D014202", "MESH:D008094")
TREATS = ("Negative_Correlation", "MESH:D014635", "MESH:D004827")


def slice_docs():
    d1 = make_doc("97000001", "Lithium and tremor.", "Lithium induced tremor.",
                  [LITHIUM, TREMOR], [CAUSES], pub_date="2019")  # fmt: skip
    d2 = make_doc(
        "97000002",
        "Lithium, valproate.",
        "Lithium caused tremor; Valproate treats epilepsy.",
        [LITHIUM, TREMOR, ("Valproate", "Chemical", "D014635"), ("epilepsy", "Disease", "D004827")],
        [CAUSES, TREATS],
        pub_date="2020",
    )
    d3 = make_doc(
        "97000003",
        "Metformin and lactic acidosis.",
        "Metformin caused lactic acidosis; Lithium caused tremor.",
        [("Metformin", "Chemical", "D008687"), ("lactic acidosis", "Disease", "D000140"),
         LITHIUM, TREMOR],
        [("Positive_Correlation", "MESH:D000140", "MESH:D008687"), CAUSES],
        pub_date="2021",
    )  # fmt: skip
    d4 = make_doc("97000004", "BRCA1 in breast cancer.", "BRCA1 variants and breast cancer.",
                  [("BRCA1", "Gene", "672"), ("breast cancer", "Disease", "D001943")],
                  [("Association", "NCBIGene:672", "MESH:D001943")], pub_date="2018")  # fmt: skip
    # Step two: 97000002 revised without the lithium finding; a new paper; 97000003 withdrawn.
    d2v2 = replace(
        make_doc("97000002", "Lithium, valproate.", "Valproate treats epilepsy; lithium unclear.",
                 [("Valproate", "Chemical", "D014635"), ("epilepsy", "Disease", "D004827")],
                 [TREATS], pub_date="2020"),
        version=2,
    )  # fmt: skip
    d5 = make_doc("97000005", "Late lithium tremor.", "Lithium tremor again.",
                  [LITHIUM, TREMOR], [CAUSES], pub_date="2022")  # fmt: skip
    return [d1, d2, d3, d4], [d2v2, d5], [d1, d2v2, d4, d5]


DELETE_3 = """<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">
<PubmedArticleSet>
<DeleteCitation>
<PMID Version="1">97000003</PMID>
</DeleteCitation>
</PubmedArticleSet>
"""


def test_two_incremental_steps_equal_a_build_from_scratch(settings, graph, tmp_path) -> None:
    cfg = settings_for(settings, tmp_path)
    first, second, surviving = slice_docs()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with (inbox / "a.jsonl").open("w") as fh:
        write_jsonl(first, fh)
    source = WatchFolderSource(inbox, settle_s=0)
    one = pull(cfg, source, ANNOTATED)
    assert (one.status, one.added, one.updated) == ("ok", 4, 0)
    with (inbox / "b.jsonl").open("w") as fh:
        write_jsonl(second, fh)
    (inbox / "c.xml").write_text(DELETE_3)
    two = pull(cfg, WatchFolderSource(inbox, settle_s=0), ANNOTATED)
    assert (two.added, two.updated, two.deleted, two.unchanged) == (1, 1, 1, 0)
    assert two.relations_changed >= 2
    incremental = (counts(graph), edges(graph))
    scratch = rebuild(cfg, graph, surviving, tmp_path)
    assert incremental == scratch
    assert incremental[0]["publications"] == 4 and incremental[0]["evidence"] == 4
    lithium = [e for e in incremental[1] if e["s"] == "MESH:D008094"]
    assert [(e["pmids"], e["first"], e["last"]) for e in lithium] == [
        (["97000001", "97000005"], 2019, 2022)
    ]
    assert not [e for e in incremental[1] if "MESH:D008687" in (e["s"], e["o"])]


# --- update files -------------------------------------------------------------------------


def test_update_files_revise_delete_quarantine_then_change_nothing(
    settings, graph, tmp_path
) -> None:
    cfg = settings_for(settings, tmp_path)
    folder = copy_updates(tmp_path)
    report = pull(cfg, UpdateFilesSource(folder), ANNOTATED)
    assert report.status == "partial"  # the record without a PMID
    assert (report.added, report.updated, report.deleted, report.failed) == (7, 1, 1, 1)
    assert report.units_done == 2 and Path(report.quarantine_file).is_file()
    assert cursor(cfg, f"updates:{folder}") == {"last_file": "pubmed99n0002.xml"}
    rows = graph.execute_query(
        "MATCH (p:Publication) RETURN p.pmid AS pmid, p.version AS v ORDER BY pmid"
    ).records
    assert [(r["pmid"], r["v"]) for r in rows] == [
        ("39000001", 1), ("39000002", 2), ("39000003", 1), ("39000005", 1), ("39000006", 1),
        ("39000007", 1),
    ]  # fmt: skip
    expected = counts(graph)
    again = pull(cfg, UpdateFilesSource(folder), ANNOTATED)
    assert (again.units_done, again.read, again.changed) == (0, 0, False)
    full = pull(cfg, UpdateFilesSource(folder), replace(ANNOTATED, full=True))
    # Replayed in order: 39000004 comes back with the first file and goes with the second.
    assert (full.unchanged, full.added, full.updated, full.deleted) == (7, 1, 0, 1)
    assert counts(graph) == expected
    # The same end state as the surviving records loaded from scratch.
    kept = [i for i in read_path(folder) if not isinstance(i, DeletedCitation)]
    survivors = {d.pmid: d for d in kept if hasattr(d, "pmid") and d.pmid != "39000004"}
    assert rebuild(cfg, graph, list(survivors.values()), tmp_path)[0] == expected


def test_dry_run_says_what_would_change_and_writes_nothing(settings, graph, tmp_path) -> None:
    cfg = settings_for(settings, tmp_path)
    folder = copy_updates(tmp_path)
    pending = folder / "pubmed99n0002.xml"
    parked = tmp_path / pending.name
    shutil.move(pending, parked)
    pull(cfg, UpdateFilesSource(folder), ANNOTATED)
    shutil.move(parked, pending)
    before = counts(graph)
    dry = pull(cfg, UpdateFilesSource(folder), replace(ANNOTATED, dry_run=True))
    assert (dry.added, dry.updated, dry.deleted, dry.unchanged) == (1, 1, 1, 0)
    assert counts(graph) == before
    assert cursor(cfg, f"updates:{folder}") == {"last_file": "pubmed99n0001.xml"}
    with state(cfg) as db:
        assert len(db.runs()) == 1  # dry runs are not recorded
    real = pull(cfg, UpdateFilesSource(folder), ANNOTATED)
    assert (real.added, real.updated, real.deleted) == (dry.added, dry.updated, dry.deleted)


def test_truncated_update_file_stops_the_run_and_the_cursor(settings, graph, tmp_path) -> None:
    cfg = settings_for(settings, tmp_path)
    folder = copy_updates(tmp_path)
    whole = (folder / "pubmed99n0002.xml").read_bytes()
    (folder / "pubmed99n0002.xml").write_bytes(whole[: int(len(whole) * 0.6)])
    (folder / "pubmed99n0003.xml").write_text(DELETE_3.replace("97000003", "39000001"))
    with pytest.raises(PullFailedError, match="pubmed99n0002.xml: malformed XML") as err:
        pull(cfg, UpdateFilesSource(folder), ANNOTATED)
    assert "fetch it again" in (err.value.hint or "")
    assert err.value.report.status == "failed" and err.value.report.units_done == 1
    key = f"updates:{folder}"
    assert cursor(cfg, key) == {"last_file": "pubmed99n0001.xml"}
    with state(cfg) as db:
        assert db.runs()[0].status == "failed"
    (folder / "pubmed99n0002.xml").write_bytes(whole)  # fetched again
    done = pull(cfg, UpdateFilesSource(folder), ANNOTATED)
    assert done.units_done == 2 and cursor(cfg, key) == {"last_file": "pubmed99n0003.xml"}
    assert counts(graph)["publications"] == 5


class StopServerBefore:
    """The real Neo4j sink; the real server is stopped just before the batch holding ``pmid``."""

    name = "neo4j"

    def __init__(self, inner: Neo4jSink, pmid: str, stop) -> None:
        self.inner, self.pmid, self.stop, self.fired = inner, pmid, stop, False

    def open(self) -> None:
        self.inner.open()

    def write(self, batch: GraphBatch) -> WriteReport:
        if self.pmid in batch.pmids and not self.fired:
            self.fired = True
            self.stop()
        return self.inner.write(batch)

    def close(self) -> None:
        self.inner.close()


def test_neo4j_stopped_during_a_run_fails_cleanly_and_the_cursor_stays(
    neo4j_server, settings, graph, tmp_path
) -> None:
    cfg = settings_for(settings, tmp_path)
    impatient = cfg.model_copy(
        update={"load": cfg.load.model_copy(update={"max_attempts": 2, "retry_backoff_s": 0.1})}
    )
    folder = copy_updates(tmp_path)
    key = f"updates:{folder}"
    sink = StopServerBefore(Neo4jSink(impatient), "39000007", neo4j_server.stop)
    try:
        with pytest.raises(PullFailedError, match="did not commit after 2 attempts") as err:
            pull(impatient, UpdateFilesSource(folder), ANNOTATED, sink=sink)
        assert sink.fired and err.value.report.units_done == 1
        assert cursor(cfg, key) == {"last_file": "pubmed99n0001.xml"}
        # Still down: the next run fails before doing anything, and says how to fix it.
        with pytest.raises(PullFailedError) as down:
            pull(impatient, UpdateFilesSource(folder), ANNOTATED)
        assert down.value.report.read == 0
        assert cursor(cfg, key) == {"last_file": "pubmed99n0001.xml"}
    finally:
        neo4j_server.start()
    with state(cfg) as db:
        assert [r.status for r in db.runs()] == ["failed", "failed"]
    done = pull(cfg, UpdateFilesSource(folder), ANNOTATED)
    assert done.units_done == 1 and cursor(cfg, key) == {"last_file": "pubmed99n0002.xml"}
    assert counts(graph)["publications"] == 6


def test_two_pulls_of_one_source_never_overlap(settings, tmp_path) -> None:
    cfg = settings_for(settings, tmp_path)
    source = UpdateFilesSource(copy_updates(tmp_path))
    with exclusive(cfg, lock_name(source.key)), pytest.raises(BusyError, match="already running"):
        pull(cfg, source, ANNOTATED)


# --- E-utilities into the graph -------------------------------------------------------------


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("NCBI_API_KEY", raising=False)
    server = FakeEutils(parse_articles([FIXTURES / "pubmed_eutils.xml"])).start()
    yield server
    server.stop()


EUTILS = {"query": "all[sb]", "mindate": "2024/03/01", "maxdate": "2024/03/31"}


def test_eutils_pull_resumes_after_giving_up_without_duplicates(
    settings, graph, fake, tmp_path
) -> None:
    cfg = settings_for(settings, tmp_path, fake.url, max_attempts=2, batch_size=4)
    source = make_source(SourceSpec("eutils", EUTILS), cfg)
    fake.fail("efetch", "status", status=429)  # retried: fine
    fake.fail("efetch", "sleep", seconds=0)
    for _ in range(2):
        fake.fail("efetch", "status", status=503)  # the second batch: given up
    with pytest.raises(PullFailedError, match="failed 2 times") as err:
        pull(cfg, source, ANNOTATED)
    assert err.value.transient and err.value.report.added == 4
    assert cursor(cfg, source.key)["offset"] == 4
    done = pull(cfg, make_source(SourceSpec("eutils", EUTILS), cfg), ANNOTATED)
    assert (done.added, done.unchanged) == (8, 0)
    assert counts(graph)["publications"] == 12
    assert cursor(cfg, source.key) == {"done_through": "2024/03/31"}
    again = pull(cfg, make_source(SourceSpec("eutils", EUTILS), cfg), ANNOTATED)
    assert (again.units_done, again.read, again.changed) == (1, 0, False)  # 31 March again


def test_eutils_revised_record_replaces_the_stored_one(settings, graph, fake, tmp_path) -> None:
    cfg = settings_for(settings, tmp_path, fake.url)
    pull(cfg, make_source(SourceSpec("eutils", EUTILS), cfg), ANNOTATED)
    # Revised at NCBI in April: a pull by modification date brings the new version.
    article = fake.articles["38100012"]
    article.xml = article.xml.replace('<PMID Version="1">', '<PMID Version="2">').replace(
        "case series", "corrected case series"
    )
    article.dates["mdat"] = date(2024, 4, 2)
    revised = {**EUTILS, "datetype": "mdat", "mindate": "2024/04/01", "maxdate": "2024/04/30"}
    report = pull(cfg, make_source(SourceSpec("eutils", revised), cfg), ANNOTATED)
    assert (report.updated, report.added) == (1, 0)
    row = graph.execute_query(
        "MATCH (p:Publication {pmid: '38100012'}) RETURN p.version AS v, p.title AS t"
    ).records[0]
    assert row["v"] == 2 and "corrected" in row["t"]


def kg_env(cfg, fake_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KG_", "NEO4J_"))}
    env.update(
        KG_PATHS__DATA_DIR=str(cfg.data_dir),
        KG_PATHS__CONFIG_DIR=str(cfg.config_dir),
        KG_PATHS__CACHE_DIR=str(cfg.cache_dir),
        KG_NEO4J__BOLT_PORT=str(cfg.neo4j.bolt_port),
        KG_NEO4J__HTTP_PORT=str(cfg.neo4j.http_port),
        KG_EUTILS_URL=fake_url,
        KG_EUTILS__RATE_LIMIT="100",
        KG_EUTILS__BATCH_SIZE="4",
        XDG_CONFIG_HOME=str(cfg.data_dir / "no-user-config"),
    )
    return env


def test_process_killed_mid_batch_loses_and_duplicates_nothing(
    settings, graph, fake, tmp_path
) -> None:
    cfg = settings_for(settings, tmp_path, fake.url, batch_size=4)
    argv = [str(Path(sys.executable).parent / "kg"), "pull", "eutils", "--query", "all[sb]",
            "--mindate", "2024/03/01", "--maxdate", "2024/03/31", "--use-annotations",
            "--batch-size", "2", "--no-progress"]  # fmt: skip
    hold = fake.fail("efetch", "sleep", seconds=0)  # batch 1 as is
    hold = fake.fail("efetch", "hold")  # batch 2: half the body, then nothing
    env = kg_env(cfg, fake.url)
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert hold.reached.wait(60), "the pull never reached the second batch"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        hold.release.set()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert counts(graph)["publications"] == 4
    key = "eutils:edat:all[sb]"
    assert cursor(cfg, key)["offset"] == 4
    rerun = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "add 8, update 0" in rerun.stdout
    assert [c["retstart"] for c in fake.calls("efetch")] == ["0", "4", "4", "8"]
    with state(cfg) as db:
        assert [r.status for r in db.runs()] == ["ok", "interrupted"]
    incremental = (counts(graph), edges(graph))
    articles = list(read_path(FIXTURES / "pubmed_eutils.xml"))
    assert incremental == rebuild(cfg, graph, articles, tmp_path)
    assert incremental[0]["publications"] == 12
