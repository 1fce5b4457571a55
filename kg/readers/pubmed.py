"""PubMed citations: XML of the baseline/update files and of efetch, and MEDLINE text.

XML is streamed (``iterparse``); each record is dropped from memory once read, so a baseline
file of 30,000 citations reads in bounded memory. What is read:

* ``MedlineCitation/PMID`` and its ``Version`` -> ``pmid``, ``version``. A record without a PMID
  is an :class:`InputError`. (``PMID`` elements elsewhere, as in ``CommentsCorrections``, are not
  the record's.)
* ``ArticleTitle`` (``VernacularTitle`` when it is empty) and ``Abstract/AbstractText`` with
  inline markup (``<i>``, ``<sup>``, MathML) flattened and line breaks turned into spaces; a
  labelled section of a structured abstract reads ``LABEL: text``; sections are joined by a
  space. ``OtherAbstract`` is not read.
* Journal ``Title`` (``MedlineTA`` when missing); ``PubDate`` as ``YYYY``, ``YYYY-MM`` or
  ``YYYY-MM-DD`` (month names or numbers; ``Season`` ignored); a ``MedlineDate`` gives its year.
* MeSH descriptor UIs -> ``MESH:Dxxxxxx``.
* ``DeleteCitation/PMID`` -> :class:`DeletedCitation`, in file order.
* ``PubmedBookArticle`` (NCBI Bookshelf records) are read too: title from ``ArticleTitle`` or
  the ``BookTitle``, abstract as above, date from the book's ``PubDate``, no journal.
* Old ``MedlineCitationSet`` files (no ``PubmedArticle`` wrapper) are read the same way.

XML that breaks off mid-file yields one :class:`InputError` with the line of the break and ends
the file; the records before it have been yielded. A file that is not XML, or whose root is not
a PubMed element, raises :class:`InputError`.

MEDLINE text (``PMID- `` lines) gives PMID, title (TI), abstract (AB), journal (JT, else TA)
and date (DP). Its MeSH headings are names without UIs and are not read.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from kg.errors import InputError
from kg.model import DeletedCitation, Document
from kg.readers._common import (
    Item,
    check_file,
    head_text,
    numbered_lines,
    open_binary,
    record_error,
)

#: Roots of PubMed XML that hold records, and the records that may be a root themselves.
RECORD_SETS = frozenset({"PubmedArticleSet", "PubmedBookArticleSet", "MedlineCitationSet"})
PUBMED_ROOTS = RECORD_SETS | {"PubmedArticle", "PubmedBookArticle", "MedlineCitation"}

MONTHS: dict[str, int] = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}

_BREAK = re.compile(r"\s*[\r\n\t]\s*")
_YEAR = re.compile(r"\b(\d{4})\b")
_MEDLINE_TAG = re.compile(r"^([A-Z][A-Z0-9]{0,3}) {0,3}- ?(.*)$")
_MEDLINE_DATE = re.compile(r"^(\d{4})(?: ([A-Za-z]{3}|\d{1,2})(?: (\d{1,2}))?)?$")


def read_pubmed(path: str | Path) -> Iterator[Item]:
    """Citations and deletions from PubMed XML (``.xml``, ``.xml.gz``, efetch output)."""
    file = check_file(path)
    if not head_text(file, 1024).lstrip().startswith("<"):
        raise InputError(
            "not XML", source=str(file), hint="PubMed XML starts with <?xml or <PubmedArticleSet"
        )
    return _read_xml(file)


def _read_xml(file: Path) -> Iterator[Item]:
    source = str(file)
    root: ET.Element | None = None
    depth = 0
    record_depth = 1  # records are the root's children, or the root itself (efetch of one)
    with open_binary(file) as fh:
        try:
            for event, elem in ET.iterparse(fh, events=("start", "end")):
                if event == "start":
                    if root is None:
                        root = elem
                        _check_root(elem, source)
                        record_depth = 1 if elem.tag in RECORD_SETS else 0
                    depth += 1
                    continue
                depth -= 1
                if depth == record_depth:
                    yield from _record(elem, source)
                    if root is not elem:
                        root.clear()  # type: ignore[union-attr]  # keeps memory bounded
        except ET.ParseError as err:
            line = err.position[0]
            if root is None:
                raise InputError(f"not well-formed XML ({err})", source=source, line=line) from err
            yield record_error(
                f"malformed XML ({err}); reading stopped here",
                source=source,
                line=line,
                hint="the file is truncated or damaged: fetch it again "
                "(the records before this line were read)",
            )
        except (OSError, EOFError, zlib.error) as err:
            if root is None:
                raise InputError(f"cannot read: {err}", source=source) from err
            yield record_error(
                f"the file is damaged ({err}); reading stopped here",
                source=source,
                hint="fetch the file again (the records before this point were read)",
            )


def _check_root(root: ET.Element, source: str) -> None:
    if root.tag in PUBMED_ROOTS:
        return
    hint = "read it as bioc-xml" if root.tag == "collection" else "is this a PubMed XML file?"
    raise InputError(f"root element <{root.tag}> is not PubMed XML", source=source, hint=hint)


def _record(elem: ET.Element, source: str) -> Iterator[Item]:
    tag = elem.tag
    if tag == "PubmedArticle":
        citation = elem.find("MedlineCitation")
        yield _citation(elem, citation if citation is not None else elem, source)
    elif tag == "MedlineCitation":
        yield _citation(elem, elem, source)
    elif tag == "PubmedBookArticle":
        yield _book(elem, source)
    elif tag == "DeleteCitation":
        for pmid in elem.iterfind("PMID"):
            if pmid.text and pmid.text.strip():
                yield DeletedCitation(pmid.text.strip(), source=source)
    # Anything else at this level (none in the DTD today) carries no citation.


def _pmid(
    record: ET.Element, parent: ET.Element | None, source: str
) -> tuple[str, int] | InputError:
    elem = parent.find("PMID") if parent is not None else None
    pmid = (elem.text or "").strip() if elem is not None else ""
    if elem is None or not pmid:
        return record_error(
            "citation has no PMID",
            source=source,
            raw=ET.tostring(record, encoding="unicode"),
            hint="every PubmedArticle needs MedlineCitation/PMID",
        )
    version = elem.get("Version", "1").strip() or "1"
    if not version.isdigit():
        return record_error(
            f"PMID Version {version!r} is not a number",
            source=source,
            record=pmid,
            raw=ET.tostring(record, encoding="unicode"),
            hint='write <PMID Version="2">',
        )
    return pmid, int(version)


def _citation(record: ET.Element, citation: ET.Element, source: str) -> Item:
    found = _pmid(record, citation, source)
    if isinstance(found, InputError):
        return found
    pmid, version = found
    article = citation.find("Article")
    if article is None:
        article = citation  # some efetch variants; the finds below then come up empty
    title = _text(article.find("ArticleTitle")) or _text(article.find("VernacularTitle"))
    journal = _text(article.find("Journal/Title")) or _text(
        citation.find("MedlineJournalInfo/MedlineTA")
    )
    pub_date = _pub_date(article.find("Journal/JournalIssue/PubDate")) or _pub_date(
        article.find("ArticleDate")
    )
    mesh = tuple(
        f"MESH:{ui}"
        for d in citation.iterfind("MeshHeadingList/MeshHeading/DescriptorName")
        if (ui := (d.get("UI") or "").strip())
    )
    return Document(
        pmid=pmid,
        title=title,
        abstract=_abstract(article.find("Abstract")),
        journal=journal or None,
        pub_date=pub_date,
        mesh_terms=mesh,
        version=version,
        source=source,
    )


def _book(record: ET.Element, source: str) -> Item:
    book_doc = record.find("BookDocument")
    found = _pmid(record, book_doc, source)
    if isinstance(found, InputError):
        return found
    assert book_doc is not None  # _pmid found a PMID in it
    pmid, version = found
    title = _text(book_doc.find("ArticleTitle")) or _text(book_doc.find("Book/BookTitle"))
    return Document(
        pmid=pmid,
        title=title,
        abstract=_abstract(book_doc.find("Abstract")),
        pub_date=_pub_date(book_doc.find("Book/PubDate")),
        version=version,
        source=source,
    )


def _text(elem: ET.Element | None) -> str:
    """An element's text with inline markup flattened, on one line.

    Line breaks and tabs (pretty-printed efetch XML indents inline markup) with the spaces
    around them become one space, so the text stays one line; other spaces are kept as they are.
    """
    if elem is None:
        return ""
    text = "".join(elem.itertext())
    if "\n" in text or "\t" in text or "\r" in text:
        text = _BREAK.sub(" ", text)
    return text.strip()


def _abstract(abstract: ET.Element | None) -> str:
    if abstract is None:
        return ""
    sections = []
    for part in abstract.iterfind("AbstractText"):
        text = _text(part)
        if not text:
            continue
        label = (part.get("Label") or "").strip()
        sections.append(f"{label}: {text}" if label else text)
    return " ".join(sections)


def _month(value: str | None) -> int | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        number = int(value)
        return number if 1 <= number <= 12 else None
    return MONTHS.get(value[:3].lower())


def format_date(year: str | None, month: str | None = None, day: str | None = None) -> str | None:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, as precise as the parts allow."""
    if not year or not (year := year.strip()).isdigit() or len(year) != 4:
        return None
    number = _month(month)
    if number is None:
        return year
    if day and (day := day.strip()).isdigit():
        try:
            return date(int(year), number, int(day)).isoformat()
        except ValueError:  # 30 February: keep what is sure
            pass
    return f"{year}-{number:02d}"


def _pub_date(elem: ET.Element | None) -> str | None:
    if elem is None:
        return None
    year = elem.findtext("Year")
    if year:
        return format_date(year, elem.findtext("Month"), elem.findtext("Day"))
    medline = elem.findtext("MedlineDate") or ""
    m = _YEAR.search(medline)
    return m.group(1) if m else None


# --- MEDLINE text --------------------------------------------------------------------------


def read_medline(path: str | Path) -> Iterator[Item]:
    """Citations from MEDLINE text (efetch ``rettype=medline``): ``PMID- `` records."""
    return _read_medline(check_file(path))


def _read_medline(file: Path) -> Iterator[Item]:
    source = str(file)
    block: list[tuple[int, str | None]] = []
    with open_binary(file) as fh:
        try:
            for number, text in numbered_lines(fh):
                if text is not None and not text.strip():
                    if block:
                        yield _medline_record(block, source)
                    block = []
                else:
                    block.append((number, text))
        except (OSError, EOFError, zlib.error) as err:
            yield record_error(f"the file is damaged ({err}); reading stopped here", source=source)
            return
    if block:
        yield _medline_record(block, source)


def _medline_record(block: list[tuple[int, str | None]], source: str) -> Item:
    raw = "\n".join(text or "" for _, text in block)
    fields: list[tuple[str, list[str]]] = []
    for number, text in block:
        if text is None:
            return record_error("the line is not valid UTF-8", source=source, line=number, raw=raw)
        if text.startswith(" ") and fields:
            fields[-1][1].append(text.strip())
            continue
        m = _MEDLINE_TAG.match(text)
        if m is None:
            return record_error(
                "line is neither a tagged field nor a continuation",
                source=source,
                line=number,
                raw=raw,
                hint="MEDLINE lines start with a tag ('TI  - ') or six spaces",
            )
        fields.append((m.group(1), [m.group(2).strip()]))
    values: dict[str, str] = {}
    for tag, parts in fields:
        values.setdefault(tag, " ".join(p for p in parts if p))
    pmid = values.get("PMID", "")
    if not pmid:
        return record_error(
            "record has no PMID line",
            source=source,
            line=block[0][0],
            raw=raw,
            hint="start each record with 'PMID- '",
        )
    return Document(
        pmid=pmid,
        title=values.get("TI", ""),
        abstract=values.get("AB", ""),
        journal=values.get("JT") or values.get("TA") or None,
        pub_date=_medline_date(values.get("DP", "")),
        source=source,
    )


def _medline_date(value: str) -> str | None:
    m = _MEDLINE_DATE.match(value.strip())
    if m:
        return format_date(*m.groups())
    year = _YEAR.search(value)
    return year.group(1) if year else None
