"""Sources without the graph: the E-utilities client against a local fake, update files, a
watched folder, and the state store their cursors live in."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import time
from datetime import date
from pathlib import Path

import pytest

from kg.errors import ConfigError, InputError
from kg.model import DeletedCitation, Document
from kg.sources import SourceError, SourceSpec, SourceUnavailableError, make_source
from kg.sources import eutils as eutils_mod
from kg.sources.eutils import EutilsClient, EutilsSource, parse_day, windows
from kg.sources.files import UpdateFilesSource, WatchFolderSource
from kg.sources.state import Job, StateStore
from tests.fake_eutils import FakeEutils, parse_articles, settings_for

FIXTURES = Path(__file__).parent / "fixtures"
EUTILS_XML = FIXTURES / "pubmed_eutils.xml"
UPDATES = FIXTURES / "pubmed_updates"
SHARED_SAMPLES = Path(__file__).resolve().parents[2] / "shared/data/pubmed/eutils_samples"
ALL_PMIDS = [str(38100001 + i) for i in range(12)]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("NCBI_API_KEY", raising=False)
    server = FakeEutils(parse_articles([EUTILS_XML])).start()
    yield server
    server.stop()


@pytest.fixture
def store(tmp_path: Path):
    with StateStore(tmp_path / "state.sqlite") as db:
        yield db


def drain(source, store: StateStore, stop_after: int | None = None) -> list:
    """Read every unit and commit it, as a pull does when the graph write succeeded."""
    items = []
    for n, unit in enumerate(source.units(store)):
        if stop_after is not None and n == stop_after:
            break
        items.extend(unit.read())
        unit.commit(store)
    return items


def pmids(items) -> list[str]:
    return [i.pmid for i in items if isinstance(i, Document)]


def eutils_source(settings, **kw) -> EutilsSource:
    kw.setdefault("mindate", date(2024, 3, 1))
    kw.setdefault("maxdate", date(2024, 3, 31))
    kw.setdefault("batch_size", settings.eutils.batch_size)
    return EutilsSource(EutilsClient(settings), "all[sb]", **kw)


# --- E-utilities -------------------------------------------------------------------------


def test_esearch_history_then_efetch_batches(settings, fake, tmp_path, store) -> None:
    cfg = settings_for(settings, tmp_path, fake.url)
    items = drain(eutils_source(cfg, window_days=31, batch_size=5), store)
    assert sorted(pmids(items)) == ALL_PMIDS
    assert all(isinstance(i, Document) for i in items)
    assert items[0].source.startswith("efetch 'all[sb]' edat #1-5")
    (search,) = fake.calls("esearch")
    assert search["usehistory"] == "y" and search["datetype"] == "edat"
    assert (search["mindate"], search["maxdate"]) == ("2024/03/01", "2024/03/31")
    assert search["tool"] == "kg-biomed" and search["email"] == "dev@example.org"
    fetches = fake.calls("efetch")
    assert [(f["retstart"], f["retmax"]) for f in fetches] == [("0", "5"), ("5", "5"), ("10", "2")]
    assert {f["WebEnv"] for f in fetches} == {"MCID_fake0001"}
    assert store.cursor("eutils:edat:all[sb]") == {"done_through": "2024/03/31"}


def test_windows_by_date_and_pdat(settings, fake, tmp_path, store) -> None:
    assert list(windows(date(2024, 3, 1), date(2024, 3, 5), 2)) == [
        (date(2024, 3, 1), date(2024, 3, 2)),
        (date(2024, 3, 3), date(2024, 3, 4)),
        (date(2024, 3, 5), date(2024, 3, 5)),
    ]
    cfg = settings_for(settings, tmp_path, fake.url)
    items = drain(eutils_source(cfg, window_days=2, maxdate=date(2024, 3, 3)), store)
    assert pmids(items) == ALL_PMIDS[:6]  # two a day, 1-3 March
    assert len(fake.calls("esearch")) == 2
    # By publication date: the fixture's 2023 papers only.
    items = drain(eutils_source(cfg, datetype="pdat", mindate=date(2023, 1, 1),
                                maxdate=date(2023, 12, 31)), store)  # fmt: skip
    assert pmids(items) == [ALL_PMIDS[i] for i in range(12) if i % 3 == 0]


def test_window_with_too_many_hits_is_split(settings, fake, tmp_path, store, monkeypatch) -> None:
    monkeypatch.setattr(eutils_mod, "ESEARCH_MAX", 3)
    cfg = settings_for(settings, tmp_path, fake.url)
    items = drain(eutils_source(cfg, window_days=31), store)
    assert sorted(pmids(items)) == ALL_PMIDS  # each exactly once
    spans = [(c["mindate"], c["maxdate"]) for c in fake.calls("esearch")]
    assert spans[0] == ("2024/03/01", "2024/03/31") and len(spans) > 3


def test_killed_run_resumes_at_the_lost_batch(settings, fake, tmp_path, store) -> None:
    cfg = settings_for(settings, tmp_path, fake.url)
    first = drain(eutils_source(cfg, window_days=31), store, stop_after=1)
    assert pmids(first) == ALL_PMIDS[:5]
    assert store.cursor("eutils:edat:all[sb]") == {
        "done_through": None,
        "window": ["2024/03/01", "2024/03/31"],
        "offset": 5,
        "count": 12,
    }
    rest = drain(eutils_source(cfg, window_days=31), store)
    assert pmids(rest) == ALL_PMIDS[5:]
    assert [f["retstart"] for f in fake.calls("efetch")] == ["0", "5", "10"]


def test_next_run_starts_at_the_cursor_and_needs_a_first_date(
    settings, fake, tmp_path, store
) -> None:
    cfg = settings_for(settings, tmp_path, fake.url)
    drain(eutils_source(cfg, maxdate=date(2024, 3, 2)), store)
    later = EutilsSource(EutilsClient(cfg), "all[sb]", today=lambda: date(2024, 3, 4))
    assert later.span(store) == (date(2024, 3, 2), date(2024, 3, 4))
    assert pmids(drain(later, store)) == ALL_PMIDS[2:8]  # 2 March again: it may have grown
    with pytest.raises(ConfigError, match="no --mindate"):
        EutilsSource(EutilsClient(cfg), "other").span(store)
    with pytest.raises(ConfigError, match="not a day"):
        parse_day("March 3")
    assert parse_day("2024-03-05") == date(2024, 3, 5)


def test_rate_limit_three_per_second_without_key(settings, fake, tmp_path) -> None:
    cfg = settings_for(settings, tmp_path, fake.url, rate_limit=0)
    client = EutilsClient(cfg)
    assert client.limiter.interval == pytest.approx(1 / 3)
    for _ in range(4):
        client.esearch("all[sb]", "edat", date(2024, 3, 1), date(2024, 3, 2))
    times = [t for _, _, t in fake.requests]
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= 0.30
    assert "api_key" not in fake.calls("esearch")[0]


def test_api_key_from_environment_allows_ten_per_second(
    settings, fake, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("NCBI_API_KEY", "secret-key")
    cfg = settings_for(settings, tmp_path, fake.url, rate_limit=0)
    client = EutilsClient(cfg)
    assert client.limiter.interval == pytest.approx(0.1)
    client.esearch("all[sb]", "edat", date(2024, 3, 1), date(2024, 3, 2))
    assert fake.calls("esearch")[0]["api_key"] == "secret-key"


def test_base_url_from_environment(settings, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KG_EUTILS_URL", "http://mirror.example/eutils")
    assert (
        EutilsClient(settings_for(settings, tmp_path)).base_url == "http://mirror.example/eutils/"
    )


@pytest.mark.parametrize(
    ("endpoint", "fault"),
    [
        ("esearch", {"kind": "status", "status": 429, "retry_after": "0.2"}),
        ("efetch", {"kind": "status", "status": 429}),
        ("efetch", {"kind": "status", "status": 500}),
        ("esearch", {"kind": "status", "status": 503}),
        ("efetch", {"kind": "status", "status": 502}),
        ("efetch", {"kind": "sleep", "seconds": 1.5}),
        ("esearch", {"kind": "sleep", "seconds": 1.5}),
        ("efetch", {"kind": "truncate"}),
        ("esearch", {"kind": "truncate"}),
    ],
)
def test_faults_are_retried_and_nothing_is_lost(
    settings, fake, tmp_path, store, endpoint, fault
) -> None:
    cfg = settings_for(settings, tmp_path, fake.url, timeout_s=0.5)
    for _ in range(2):
        fake.fail(endpoint, **fault)
    began = time.monotonic()
    items = drain(eutils_source(cfg, window_days=31), store)
    assert sorted(pmids(items)) == ALL_PMIDS
    assert not [i for i in items if isinstance(i, InputError)]
    assert len(fake.calls(endpoint)) == (1 if endpoint == "esearch" else 3) + 2
    if fault.get("retry_after"):
        assert time.monotonic() - began >= 0.4  # Retry-After honoured twice


def test_giving_up_says_so_and_a_client_error_is_not_retried(
    settings, fake, tmp_path, store
) -> None:
    cfg = settings_for(settings, tmp_path, fake.url, max_attempts=3)
    for _ in range(3):
        fake.fail("efetch", "status", status=503)
    with pytest.raises(SourceUnavailableError, match="failed 3 times, last: HTTP 503") as err:
        drain(eutils_source(cfg, window_days=31), store)
    assert err.value.transient and "run again later" in (err.value.hint or "")
    assert store.cursor("eutils:edat:all[sb]") is None
    fake.fail("esearch", "status", status=400)
    with pytest.raises(SourceError, match="HTTP 400"):
        drain(eutils_source(cfg, window_days=31), store)
    assert len(fake.calls("esearch")) == 2


def test_expired_history_is_retried_as_an_error_answer(settings, fake, tmp_path) -> None:
    cfg = settings_for(settings, tmp_path, fake.url, max_attempts=2)
    client = EutilsClient(cfg)
    found = client.esearch("all[sb]", "edat", date(2024, 3, 1), date(2024, 3, 2))
    gone = eutils_mod.SearchResult(found.count, "MCID_expired", found.query_key)
    with pytest.raises(SourceUnavailableError, match="Unable to obtain query"):
        client.efetch(gone, 0, 2)


@pytest.mark.skipif(not SHARED_SAMPLES.is_dir(), reason="shared E-utilities samples not present")
def test_real_efetch_responses_from_the_shared_samples(settings, tmp_path, store) -> None:
    files = sorted((SHARED_SAMPLES / "efetch_biopython").glob("*.xml"))
    files.append(SHARED_SAMPLES / "eutils_jzsh2000" / "20000000.xml")
    articles = parse_articles(files)
    server = FakeEutils(articles).start()
    try:
        cfg = settings_for(settings, tmp_path, server.url, batch_size=4)
        items = drain(eutils_source(cfg, mindate=date(1900, 1, 1), maxdate=date(2030, 1, 1),
                                    window_days=100_000), store)  # fmt: skip
    finally:
        server.stop()
    assert sorted(pmids(items)) == sorted({a.pmid for a in articles})
    assert "20000000" in pmids(items)


# --- update files ------------------------------------------------------------------------


def copy_updates(tmp_path: Path) -> Path:
    folder = tmp_path / "updates"
    shutil.copytree(UPDATES, folder)
    return folder


def test_update_files_in_name_order_once_each(tmp_path, store) -> None:
    folder = copy_updates(tmp_path)
    source = UpdateFilesSource(folder)
    items = drain(source, store)
    assert [type(i).__name__ for i in items][-2:] == ["InputError", "DeletedCitation"]
    assert pmids(items)[:6] == [str(39000001 + i) for i in range(6)]
    assert store.cursor(source.key) == {"last_file": "pubmed99n0002.xml"}
    assert drain(UpdateFilesSource(folder), store) == []
    # A new update file is picked up; one that sorts before the cursor is reported, not applied.
    (folder / "pubmed99n0003.xml.gz").write_bytes(
        gzip.compress((folder / "pubmed99n0001.xml").read_bytes())
    )
    shutil.copy(folder / "pubmed99n0001.xml", folder / "pubmed99n0000.xml")
    late = UpdateFilesSource(folder)
    assert len(pmids(drain(late, store))) == 6
    assert late.notes and "pubmed99n0000.xml sorts before" in late.notes[0]


def test_update_file_checked_against_its_md5(tmp_path, store) -> None:
    folder = copy_updates(tmp_path)
    data = (folder / "pubmed99n0001.xml").read_bytes()
    (folder / "pubmed99n0001.xml.md5").write_text(
        f"MD5(pubmed99n0001.xml)= {hashlib.md5(data).hexdigest()}\n"
    )
    (folder / "pubmed99n0002.xml.md5").write_text("MD5(pubmed99n0002.xml)= " + "0" * 32 + "\n")
    source = UpdateFilesSource(folder)
    with pytest.raises(SourceError, match="does not match its MD5"):
        drain(source, store)
    assert store.cursor(source.key) == {"last_file": "pubmed99n0001.xml"}


def test_update_folder_must_exist(tmp_path) -> None:
    with pytest.raises(ConfigError, match="is not a folder"):
        UpdateFilesSource(tmp_path / "missing")


# --- watched folder ----------------------------------------------------------------------


def test_watched_folder_loads_new_and_changed_files_once(tmp_path, store) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    shutil.copy(FIXTURES / "readers" / "annotated.pubtator", folder / "a.pubtator")
    shutil.copy(FIXTURES / "readers" / "sample.jsonl", folder / "b.jsonl")
    (folder / "README").write_text("not a document format\n")
    old = time.time() - 60
    for f in folder.iterdir():
        os.utime(f, (old, old))
    source = WatchFolderSource(folder)
    first = drain(source, store)
    assert len(pmids(first)) >= 3
    assert any("README: skipped" in n for n in source.notes)
    assert drain(WatchFolderSource(folder), store) == []
    # Touched but not changed: nothing; changed: read again; just written: left for later.
    os.utime(folder / "a.pubtator", (old + 1, old + 1))
    assert drain(WatchFolderSource(folder), store) == []
    with (folder / "b.jsonl").open("a") as fh:
        fh.write('{"pmid": "96000009", "title": "A new one."}\n')
    recent = WatchFolderSource(folder)
    assert drain(recent, store) == [] and "changed just now" in recent.notes[-1]
    os.utime(folder / "b.jsonl", (old + 2, old + 2))
    again = drain(WatchFolderSource(folder, settle_s=0), store)
    assert "96000009" in pmids(again) and len(pmids(again)) == 3


# --- registry and state ------------------------------------------------------------------


def test_sources_built_from_a_spec(settings, tmp_path) -> None:
    cfg = settings_for(settings, tmp_path)
    source = make_source(SourceSpec("updates", {"path": str(UPDATES)}), cfg)
    assert source.key == f"updates:{UPDATES.resolve()}"
    options = {"query": "x", "mindate": "2024/1/2"}
    spec = SourceSpec.from_json({"source": "eutils", "options": options})
    assert make_source(spec, cfg).mindate == date(2024, 1, 2)
    with pytest.raises(ConfigError, match="unknown source"):
        make_source(SourceSpec("ftp"), cfg)
    with pytest.raises(ConfigError, match="date type"):
        make_source(SourceSpec("eutils", {"query": "x", "datetype": "xdat"}), cfg)


def test_state_store_survives_reopening(tmp_path) -> None:
    path = tmp_path / "state.sqlite"
    with StateStore(path) as db:
        db.set_cursor("s", {"last_file": "a"})
        db.add_job(Job("nightly", "0 3 * * *", ("updates", "/x"), {"source": "updates"}, "t"))
        run = db.start_run("s", "nightly")
    with StateStore(path) as db:
        assert db.cursor("s") == {"last_file": "a"}
        assert db.job("nightly").argv == ("updates", "/x")
        with pytest.raises(ConfigError, match="exists already"):
            db.add_job(Job("nightly", "* * * * *", (), {}, "t"))
        assert db.mark_interrupted("s") == 1
        assert db.runs("nightly")[0].id == run and db.runs("nightly")[0].status == "interrupted"
        db.reset("s")
        assert db.cursor("s") is None
        assert isinstance(DeletedCitation("1"), DeletedCitation)
