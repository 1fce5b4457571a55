"""NCBI E-utilities: ``esearch`` (history server) then ``efetch`` in batches, by date window.

The client keeps NCBI's rules: ``tool`` and ``email`` on every request, the API key from
``$NCBI_API_KEY``, at most 3 requests a second without a key and 10 with one (or
``eutils.rate_limit``), and retries with exponential backoff on HTTP 429 (honouring
``Retry-After``), 5xx, timeouts, dropped connections and bodies that are not complete XML. The
base URL is ``eutils.base_url`` or ``$KG_EUTILS_URL`` (a mirror, or the tests' fake server).

:class:`EutilsSource` splits ``[mindate, maxdate]`` into windows of ``window_days`` (smaller when
one holds more hits than ``esearch`` can page through), and yields one :class:`Unit` per
``efetch`` batch. Its cursor is the last day whose window is complete (``done_through``), plus
the offset reached inside the current window, so a killed run resumes at the batch it lost. The
next run starts again at ``done_through`` (that day may have grown since) and goes to today.
E-utilities serve current records only: deletions reach the graph through update files.
"""

from __future__ import annotations

import http.client
import logging
import random
import re
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg import __version__
from kg.errors import ConfigError, InputError
from kg.model import Document
from kg.readers import Item, read_pubmed
from kg.sources import SourceError, SourceUnavailableError, Unit

if TYPE_CHECKING:
    from kg.config import Settings
    from kg.sources.state import StateStore

log = logging.getLogger(__name__)

#: esearch pages through at most this many hits of one query (PubMed's limit).
ESEARCH_MAX = 9_999
#: Date fields a window can use: entrez date, publication date, modification date.
DATE_TYPES = ("edat", "pdat", "mdat")
_DATE = re.compile(r"^(\d{4})[/-](\d{1,2})[/-](\d{1,2})$")


class _Retry(Exception):
    """A response worth asking again for (said why); never leaves this module."""


class RateLimiter:
    """Spaces request starts at least ``1 / per_second`` apart, across threads."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


@dataclass(frozen=True, slots=True)
class SearchResult:
    """An ``esearch`` on the history server: how many hits, and where they are kept."""

    count: int
    webenv: str
    query_key: str
    ids: tuple[str, ...] = ()


class EutilsClient:
    """A small, polite E-utilities client on the standard library (``urllib``)."""

    def __init__(
        self,
        settings: Settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        cfg = settings.eutils
        self.base_url = settings.eutils_url.rstrip("/") + "/"
        self.cfg = cfg
        self.api_key = settings.ncbi_api_key
        rate = cfg.rate_limit or (10.0 if self.api_key else 3.0)
        self.limiter = RateLimiter(rate)
        self._sleep = sleep
        self.requests = 0

    def _params(self, params: dict[str, Any]) -> dict[str, Any]:
        out = {"db": "pubmed", **params, "tool": self.cfg.tool}
        if self.cfg.email:
            out["email"] = self.cfg.email
        if self.api_key:
            out["api_key"] = self.api_key
        return out

    def get(self, endpoint: str, params: dict[str, Any], check: Callable[[bytes], Any]) -> Any:
        """GET ``endpoint`` and return ``check(body)``; retries what is worth retrying.

        ``check`` parses the body and raises :class:`_Retry` for a body that is not whole.
        """
        url = f"{self.base_url}{endpoint}?{urllib.parse.urlencode(self._params(params))}"
        shown = url.split("api_key=")[0]  # never log the key
        request = urllib.request.Request(url, headers={"User-Agent": f"kg-biomed/{__version__}"})
        attempts = self.cfg.max_attempts
        for attempt in range(1, attempts + 1):
            self.limiter.wait()
            self.requests += 1
            wait_at_least = 0.0
            try:
                with urllib.request.urlopen(request, timeout=self.cfg.timeout_s) as resp:
                    body = resp.read()
                return check(body)
            except urllib.error.HTTPError as exc:
                if exc.code != 429 and exc.code < 500:
                    detail = exc.read()[:300].decode("utf-8", "replace")
                    raise SourceError(
                        f"E-utilities {endpoint} refused the request: HTTP {exc.code} {detail}",
                        hint="check the query and dates; the request was " + shown,
                    ) from exc
                reason = f"HTTP {exc.code}"
                wait_at_least = _retry_after(exc.headers.get("Retry-After"))
            except TimeoutError as exc:
                reason = f"timed out ({exc})"
            except (urllib.error.URLError, http.client.HTTPException, ConnectionError) as exc:
                reason = f"connection failed ({exc})"
            except _Retry as exc:
                reason = str(exc)
            if attempt == attempts:
                raise SourceUnavailableError(
                    f"E-utilities {endpoint} failed {attempts} times, last: {reason}",
                    hint="NCBI may be busy or down: run again later (the cursor did not move "
                    "past what was loaded)",
                )
            delay = min(self.cfg.retry_backoff_max_s, self.cfg.retry_backoff_s * 2 ** (attempt - 1))
            delay = max(delay * (0.5 + random.random() / 2), wait_at_least)
            log.warning("%s: %s; retry %d/%d in %.1fs", endpoint, reason, attempt, attempts, delay)
            self._sleep(delay)
        raise AssertionError("unreachable")

    def esearch(
        self, term: str, datetype: str, mindate: date, maxdate: date, *, retmax: int = 0
    ) -> SearchResult:
        """Hits of ``term`` in the window (inclusive), kept on the history server."""
        params = {
            "term": term,
            "usehistory": "y",
            "datetype": datetype,
            "mindate": _ncbi_date(mindate),
            "maxdate": _ncbi_date(maxdate),
            "retmax": retmax,
        }
        return self.get("esearch.fcgi", params, _parse_esearch)

    def efetch(self, search: SearchResult, retstart: int, retmax: int) -> bytes:
        """PubMed XML of hits ``retstart .. retstart + retmax - 1``, checked to be complete."""
        params = {
            "query_key": search.query_key,
            "WebEnv": search.webenv,
            "retstart": retstart,
            "retmax": retmax,
            "retmode": "xml",
        }
        return self.get("efetch.fcgi", params, _check_efetch)


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value else 0.0
    except ValueError:
        return 0.0


def _xml(body: bytes, what: str) -> ET.Element:
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        raise _Retry(f"{what} body is not complete XML ({exc}; {len(body)} bytes)") from exc


def _parse_esearch(body: bytes) -> SearchResult:
    root = _xml(body, "esearch")
    error = root.findtext("ERROR")
    if error:
        raise _Retry(f"esearch error: {error.strip()}")
    count, webenv, key = root.findtext("Count"), root.findtext("WebEnv"), root.findtext("QueryKey")
    if count is None or not webenv or not key:
        raise _Retry("esearch answer lacks Count, WebEnv or QueryKey")
    ids = tuple(i.text.strip() for i in root.iterfind("IdList/Id") if i.text)
    return SearchResult(int(count), webenv.strip(), key.strip(), ids)


def _check_efetch(body: bytes) -> bytes:
    root = _xml(body, "efetch")
    if root.tag not in ("PubmedArticleSet", "PubmedBookArticleSet"):
        error = root.findtext(".//ERROR") or f"root element <{root.tag}>"
        raise _Retry(f"efetch error: {error.strip()}")
    return body


def _ncbi_date(day: date) -> str:
    return day.strftime("%Y/%m/%d")


def parse_day(value: str | date | None) -> date | None:
    """``YYYY/MM/DD`` or ``YYYY-MM-DD`` (or a date) to a date; None stays None."""
    if value is None or isinstance(value, date):
        return value
    m = _DATE.match(value.strip())
    try:
        if m is None:
            raise ValueError(value)
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise ConfigError(
            f"date {value!r} is not a day", hint="write YYYY/MM/DD, e.g. 2024/05/01"
        ) from None


def windows(start: date, end: date, days: int) -> Iterator[tuple[date, date]]:
    """Consecutive inclusive windows of ``days`` days covering ``start .. end``."""
    while start <= end:
        stop = min(end, start + timedelta(days=days - 1))
        yield start, stop
        start = stop + timedelta(days=1)


class EutilsSource:
    """PubMed records matching a query, window by window, one unit per efetch batch."""

    kind = "eutils"

    def __init__(
        self,
        client: EutilsClient,
        query: str,
        *,
        datetype: str = "edat",
        mindate: date | None = None,
        maxdate: date | None = None,
        window_days: int = 7,
        batch_size: int = 500,
        today: Callable[[], date] = date.today,
    ) -> None:
        if datetype not in DATE_TYPES:
            raise ConfigError(
                f"date type {datetype!r} is not one E-utilities knows",
                hint=f"use one of {', '.join(DATE_TYPES)}",
            )
        if not query.strip():
            raise ConfigError("the E-utilities query is empty", hint="pass --query")
        self.client = client
        self.query = query
        self.datetype = datetype
        self.mindate = mindate
        self.maxdate = maxdate
        self.window_days = window_days
        self.batch_size = batch_size
        self.today = today
        self.key = f"eutils:{datetype}:{query}"
        self.notes: list[str] = []
        self.planned = 0

    @classmethod
    def from_options(
        cls,
        settings: Settings,
        *,
        query: str,
        datetype: str = "edat",
        mindate: str | None = None,
        maxdate: str | None = None,
        window_days: int | None = None,
        efetch_batch: int | None = None,
    ) -> EutilsSource:
        return cls(
            EutilsClient(settings),
            query,
            datetype=datetype,
            mindate=parse_day(mindate),
            maxdate=parse_day(maxdate),
            window_days=window_days or settings.eutils.window_days,
            batch_size=efetch_batch or settings.eutils.batch_size,
        )

    def span(self, store: StateStore) -> tuple[date, date]:
        """The days this run covers: from the cursor (or ``mindate``) to ``maxdate`` (or today)."""
        cursor = store.cursor(self.key) or {}
        done = parse_day(cursor.get("done_through"))
        start = max(d for d in (self.mindate, done) if d) if (self.mindate or done) else None
        if start is None:
            raise ConfigError(
                f"no start date for {self.key!r}: no --mindate and no earlier run",
                hint="pass --mindate YYYY/MM/DD for the first pull",
            )
        return start, self.maxdate or self.today()

    def units(self, store: StateStore) -> Iterator[Unit]:
        start, end = self.span(store)
        pending = (store.cursor(self.key) or {}).get("window")
        if pending:  # a run stopped inside this window: finish it first, from where it stopped
            lo, hi = parse_day(pending[0]), parse_day(pending[1])
            assert lo is not None and hi is not None
            yield from self._window(store, lo, hi)
            start = max(start, hi + timedelta(days=1))
        if start > end and not pending:
            self.notes.append(f"nothing to do: {_ncbi_date(start)} is after {_ncbi_date(end)}")
            return
        for lo, hi in windows(start, end, self.window_days):
            yield from self._window(store, lo, hi)

    def _window(self, store: StateStore, lo: date, hi: date) -> Iterator[Unit]:
        found = self.client.esearch(self.query, self.datetype, lo, hi)
        if found.count > ESEARCH_MAX and hi > lo:
            middle = lo + (hi - lo) // 2
            yield from self._window(store, lo, middle)
            yield from self._window(store, middle + timedelta(days=1), hi)
            return
        count = found.count
        if count > ESEARCH_MAX:
            self.notes.append(
                f"{_ncbi_date(lo)}: {count} hits in one day; E-utilities serve the first "
                f"{ESEARCH_MAX} (narrow the query, or load that day from update files)"
            )
            count = ESEARCH_MAX
        window = [_ncbi_date(lo), _ncbi_date(hi)]
        cursor = store.cursor(self.key) or {}
        offset = 0
        if cursor.get("window") == window and cursor.get("count") == found.count:
            offset = int(cursor.get("offset", 0))  # a killed run stopped inside this window
        previous = cursor.get("done_through")
        self.planned += count - offset
        for retstart in range(offset, count, self.batch_size):
            n = min(self.batch_size, count - retstart)
            last = retstart + n >= count
            after: dict[str, Any] = (
                {"done_through": window[1]}
                if last
                else {
                    "done_through": previous,
                    "window": window,
                    "offset": retstart + n,
                    "count": found.count,
                }
            )
            yield Unit(
                label=f"{self.datetype} {window[0]}..{window[1]} #{retstart + 1}-{retstart + n}",
                read=partial(self._fetch, found, retstart, n),
                commit=partial(_set_cursor, self.key, after),
                expected=n,
            )
        if count == 0:
            yield Unit(
                label=f"{self.datetype} {window[0]}..{window[1]} (no hits)",
                read=iter_nothing,
                commit=partial(_set_cursor, self.key, {"done_through": window[1]}),
                expected=0,
            )

    def _fetch(self, found: SearchResult, retstart: int, n: int) -> Iterator[Item]:
        body = self.client.efetch(found, retstart, n)
        label = f"efetch {self.query!r} {self.datetype} #{retstart + 1}-{retstart + n}"
        with tempfile.TemporaryDirectory(prefix="kg-efetch-") as tmp:
            spool = Path(tmp) / "efetch.xml"
            spool.write_bytes(body)
            for item in read_pubmed(spool):
                yield _relabel(item, label)


def iter_nothing() -> Iterator[Item]:
    return iter(())


def _set_cursor(key: str, value: dict[str, Any], store: StateStore) -> None:
    store.set_cursor(key, value)


def _relabel(item: Item, source: str) -> Item:
    """Name the request, not the temporary file, as where a record came from."""
    if isinstance(item, Document):
        return replace(item, source=source)
    if isinstance(item, InputError):
        return InputError(
            item.reason,
            source=source,
            record=item.record,
            line=item.line,
            hint=item.hint,
            raw=item.raw,
        )
    return replace(item, source=source)


__all__ = [
    "DATE_TYPES",
    "ESEARCH_MAX",
    "EutilsClient",
    "EutilsSource",
    "RateLimiter",
    "SearchResult",
    "SourceError",
    "parse_day",
    "windows",
]
