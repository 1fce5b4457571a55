"""A local fake of NCBI E-utilities (``esearch`` with the history server, ``efetch``) for tests.

It serves real-format PubMed XML: the ``PubmedArticle`` records of the files it is given,
searchable by entrez date (``PubmedData/History/PubMedPubDate[@PubStatus="entrez"]``),
publication date (``PubDate``) or modification date (``DateRevised``), and by a word of the
title or abstract (``all[sb]`` or ``*`` match everything). Answers are shaped like NCBI's
(``eSearchResult`` with Count, RetMax, RetStart, QueryKey, WebEnv, IdList; ``PubmedArticleSet``
with its DOCTYPE). Faults are scripted per endpoint and consumed in order: an HTTP status
(with ``Retry-After``), a delay longer than the client's timeout, a body cut in half, or a body
that stops half-way and waits (so a test can kill the client mid-batch).
"""

from __future__ import annotations

import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from kg.config import Settings, load_settings
from kg.readers.pubmed import MONTHS

DOCTYPE = (
    '<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, '
    '1st January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
)


@dataclass
class Article:
    pmid: str
    xml: str
    text: str
    dates: dict[str, date]


@dataclass
class Fault:
    """What to do instead of answering: ``status``, ``sleep``, ``truncate`` or ``hold``."""

    kind: str
    status: int = 500
    seconds: float = 0.0
    retry_after: str | None = None
    release: threading.Event = field(default_factory=threading.Event)
    reached: threading.Event = field(default_factory=threading.Event)


def _day(elem: ET.Element | None) -> date | None:
    if elem is None or not (elem.findtext("Year") or "").isdigit():
        return None
    month = (elem.findtext("Month") or "1").strip()
    number = int(month) if month.isdigit() else MONTHS.get(month[:3].lower(), 1)
    day = (elem.findtext("Day") or "1").strip()
    return date(int(elem.findtext("Year") or 0), number, int(day) if day.isdigit() else 1)


def parse_articles(files: Iterable[Path]) -> list[Article]:
    """The PubmedArticle records of real-format PubMed XML files (``.gz`` allowed)."""
    import gzip

    out: list[Article] = []
    for file in files:
        data = file.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        for elem in ET.fromstring(data).iter("PubmedArticle"):
            citation = elem.find("MedlineCitation")
            assert citation is not None
            pmid = (citation.findtext("PMID") or "").strip()
            entrez = _day(elem.find("PubmedData/History/PubMedPubDate[@PubStatus='entrez']"))
            dates = {
                "edat": entrez,
                "pdat": _day(citation.find("Article/Journal/JournalIssue/PubDate")) or entrez,
                "mdat": _day(citation.find("DateRevised")) or entrez,
            }
            text = " ".join(citation.find("Article").itertext()).lower()  # type: ignore[union-attr]
            xml = ET.tostring(elem, encoding="unicode")
            out.append(Article(pmid, xml, text, {k: v for k, v in dates.items() if v}))
    return out


class FakeEutils:
    """The server; ``url`` is its base URL (for ``KG_EUTILS_URL`` / ``eutils.base_url``)."""

    def __init__(self, articles: list[Article]) -> None:
        self.articles = {a.pmid: a for a in articles}
        self.faults: dict[str, deque[Fault]] = defaultdict(deque)
        self.requests: list[tuple[str, dict[str, str], float]] = []
        self.histories: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                fake._handle(self)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/entrez/eutils/"

    def start(self) -> FakeEutils:
        self.thread.start()
        return self

    def stop(self) -> None:
        for queue in self.faults.values():
            for fault in queue:
                fault.release.set()
        self.server.shutdown()
        self.server.server_close()

    def fail(self, endpoint: str, kind: str, **kw: object) -> Fault:
        """Script a fault for the next request to ``endpoint`` (``esearch`` or ``efetch``)."""
        fault = Fault(kind, **kw)  # type: ignore[arg-type]
        self.faults[endpoint].append(fault)
        return fault

    def calls(self, endpoint: str) -> list[dict[str, str]]:
        return [params for name, params, _ in self.requests if name == endpoint]

    # --- answering -------------------------------------------------------------------------

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        parsed = urllib.parse.urlparse(req.path)
        endpoint = parsed.path.rsplit("/", 1)[-1].removesuffix(".fcgi")
        params = dict(urllib.parse.parse_qsl(parsed.query))
        with self._lock:
            self.requests.append((endpoint, params, time.monotonic()))
            fault = self.faults[endpoint].popleft() if self.faults[endpoint] else None
        if endpoint == "esearch":
            body = self._esearch(params)
        elif endpoint == "efetch":
            body = self._efetch(params)
        else:
            self._send(req, 404, b"unknown endpoint")
            return
        if fault is None:
            self._send(req, 200, body)
        elif fault.kind == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            self._send(req, fault.status, b'{"error":"API rate limit exceeded"}', headers)
        elif fault.kind == "sleep":
            time.sleep(fault.seconds)
            self._send(req, 200, body)
        elif fault.kind == "truncate":
            self._send(req, 200, body[: len(body) // 2], length=False)
        elif fault.kind == "hold":
            req.send_response(200)
            req.send_header("Content-Type", "text/xml")
            req.end_headers()
            req.wfile.write(body[: len(body) // 2])
            req.wfile.flush()
            fault.reached.set()
            fault.release.wait(60)
            req.close_connection = True

    @staticmethod
    def _send(
        req: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
        length: bool = True,
    ) -> None:
        req.send_response(status)
        req.send_header("Content-Type", "text/xml; charset=UTF-8")
        if length:
            req.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            req.send_header(name, value)
        req.end_headers()
        req.wfile.write(body)
        req.close_connection = True

    def _esearch(self, p: dict[str, str]) -> bytes:
        datetype = p.get("datetype", "edat")
        lo = date(*map(int, p["mindate"].split("/"))) if "mindate" in p else date.min
        hi = date(*map(int, p["maxdate"].split("/"))) if "maxdate" in p else date.max
        term = p.get("term", "").strip().lower()
        every = term in ("", "*", "all[sb]")
        hits = sorted(
            (a for a in self.articles.values() if (every or term in a.text)),
            key=lambda a: (a.dates.get(datetype, date.min), a.pmid),
        )
        ids = [a.pmid for a in hits if lo <= a.dates.get(datetype, date.min) <= hi]
        with self._lock:
            webenv = f"MCID_fake{len(self.histories) + 1:04d}"
            self.histories[webenv] = ids
        retmax = int(p.get("retmax", 20))
        id_list = "".join(f"<Id>{i}</Id>" for i in ids[:retmax])
        return (
            '<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE eSearchResult PUBLIC '
            '"-//NLM//DTD esearch 20060628//EN" '
            '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n'
            f"<eSearchResult><Count>{len(ids)}</Count><RetMax>{min(retmax, len(ids))}</RetMax>"
            f"<RetStart>0</RetStart><QueryKey>1</QueryKey><WebEnv>{webenv}</WebEnv>"
            f"<IdList>{id_list}</IdList><TranslationSet/>"
            f"<QueryTranslation>{term}</QueryTranslation></eSearchResult>\n"
        ).encode()

    def _efetch(self, p: dict[str, str]) -> bytes:
        ids = self.histories.get(p.get("WebEnv", ""))
        if ids is None:
            return (
                b'<?xml version="1.0" encoding="UTF-8" ?>\n<eFetchResult>\n'
                b"\t<ERROR>Unable to obtain query #1</ERROR>\n</eFetchResult>\n"
            )
        start, n = int(p.get("retstart", 0)), int(p.get("retmax", 20))
        records = [self.articles[i].xml for i in ids[start : start + n] if i in self.articles]
        body = DOCTYPE + "<PubmedArticleSet>\n" + "\n".join(records) + "\n</PubmedArticleSet>\n"
        return body.encode()


def settings_for(base: Settings, tmp_path: Path, url: str = "", **eutils: object) -> Settings:
    """``base`` (the test server's settings) with its own data dir and a fast, local E-utilities.

    The data dir holds the state database, locks and quarantine files of one test.
    """
    cfg: dict[str, object] = {
        "rate_limit": 100,
        "retry_backoff_s": 0.01,
        "retry_backoff_max_s": 0.05,
        "timeout_s": 5,
        "batch_size": 5,
        "email": "dev@example.org",
        **eutils,
    }
    if url:
        cfg["base_url"] = url
    return load_settings(
        overrides={
            "paths": {
                "data_dir": str(tmp_path / "data"),
                "config_dir": str(base.config_dir),
                "cache_dir": str(base.cache_dir),
            },
            "neo4j": base.neo4j.model_dump(),
            "load": base.load.model_dump(),
            "eutils": cfg,
        },
        environ={"XDG_CONFIG_HOME": str(tmp_path / "no-user-config")},
    )
