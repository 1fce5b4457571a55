"""Exact matching of user-supplied term lists (``dictionary:PATH``).

PATH is a tab-separated file, or a folder whose ``*.tsv`` files are all read (in name order).
One term a line::

    # term            type      ids (optional)       flags (optional)
    aspirin           Chemical  MESH:D001241
    acetylsalicylic acid  Chemical  MESH:D001241
    ACE               Gene      NCBIGene:1636
    ace               Gene      NCBIGene:1636        nocase

Columns: the term; its type (any name :func:`kg.schema.parse_entity_type` reads); identifiers,
separated by ``|`` or ``,`` (``-`` or empty for none), carried into :attr:`Span.ids`; flags:
``case`` to match only the exact spelling, ``nocase`` to match any. Without a flag, short
all-capital terms (up to :data:`SHORT_CAPS` characters: ACE, CAT, MET) match only as written,
everything else case-insensitively. Blank lines, lines starting with ``#`` and a header line
(``term<TAB>type...``) are skipped.

Text and terms are cut into tokens (runs of letters and digits, or one other character), so a
term only matches whole words; whitespace between tokens must be present where the term has
it, of any length. Matching is leftmost-longest over a token trie: at each token the longest
term that starts there wins, and matches do not overlap. When a term is listed twice with the
same type, the identifiers are merged; with another type, the first listing wins (a warning
counts them).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from extractors.ner.base import Span
from kg.errors import ConfigError, SchemaError
from kg.schema import EntityType, parse_entity_type

log = logging.getLogger(__name__)

EXPECTED = "a TSV file (term, type[, ids[, flags]]) or a folder of *.tsv files"
SHORT_CAPS = 5
FLAGS = frozenset({"case", "nocase"})
_TOKEN = re.compile(r"\w+|[^\w\s]")
_ID_SEPARATOR = re.compile(r"[|,]")


@dataclass(frozen=True, slots=True)
class Term:
    """One dictionary entry, as read from its file."""

    text: str
    type: EntityType
    ids: tuple[str, ...] = ()
    case_sensitive: bool = False


@dataclass(slots=True)
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    #: terms ending here: (exact tokens, term); case-sensitive ones check the exact tokens.
    terms: list[tuple[tuple[str, ...], Term]] = field(default_factory=list)


def tokens(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]


def _keys(toks: Sequence[tuple[int, int, str]]) -> list[str]:
    """Trie keys: case-folded tokens, marked with a leading space where whitespace precedes."""
    keys = []
    for k, (start, _, tok) in enumerate(toks):
        spaced = k > 0 and start > toks[k - 1][1]
        keys.append((" " if spaced else "") + tok.casefold())
    return keys


def is_short_caps(term: str) -> bool:
    return len(term) <= SHORT_CAPS and term.upper() == term and any(c.isalpha() for c in term)


class TermDictionary:
    """Terms in a token trie; ``predict`` finds them in texts (the :class:`Recognizer` protocol)."""

    def __init__(self, name: str = "dictionary", version: str = "0") -> None:
        self.name = name
        self.version = version
        self._root = _Node()
        self.size = 0
        self.conflicts = 0

    def add(self, term: Term) -> None:
        toks = tokens(term.text)
        node = self._root
        for key in _keys(toks):
            node = node.children.setdefault(key, _Node())
        exact = tuple(t for _, _, t in toks)
        for k, (known_exact, known) in enumerate(node.terms):
            if known.case_sensitive != term.case_sensitive or (
                term.case_sensitive and known_exact != exact
            ):
                continue  # another spelling: both stay
            if known.type != term.type:
                self.conflicts += 1
                return
            ids = tuple(dict.fromkeys(known.ids + term.ids))
            node.terms[k] = (known_exact, Term(known.text, known.type, ids, known.case_sensitive))
            return
        node.terms.append((exact, term))
        self.size += 1

    def find(self, text: str) -> list[Span]:
        toks = tokens(text)
        keys = _keys(toks)
        spans: list[Span] = []
        i = 0
        while i < len(toks):
            node = self._root.children.get(keys[i].lstrip(" "))
            best: tuple[int, Term] | None = None
            j = i
            while node is not None:
                term = _accept(node, toks, i, j)
                if term is not None:
                    best = (j, term)
                j += 1
                node = node.children.get(keys[j]) if j < len(toks) else None
            if best is None:
                i += 1
                continue
            j, term = best
            spans.append(Span(toks[i][0], toks[j][1], term.type, 1.0, term.ids))
            i = j + 1
        return spans

    def predict(self, texts: Sequence[str]) -> list[list[Span]]:
        return [self.find(text) for text in texts]


def _accept(node: _Node, toks, i: int, j: int) -> Term | None:
    """The term ending at ``node`` that text tokens ``i..j`` spell: exact spellings first."""
    if not node.terms:
        return None
    written = tuple(t for _, _, t in toks[i : j + 1])
    exact = [term for spelled, term in node.terms if term.case_sensitive and spelled == written]
    if exact:
        return exact[0]
    return next((term for _, term in node.terms if not term.case_sensitive), None)


def parse_line(line: str, source: Path, number: int) -> Term | None:
    """One line of a term list; None for blank, comment and header lines."""
    if not line.strip() or line.lstrip().startswith("#"):
        return None
    cols = [c.strip() for c in line.rstrip("\r\n").split("\t")]
    while cols and not cols[-1]:
        cols.pop()
    where = f"{source}, line {number}"
    if [c.lower() for c in cols[:2]] == ["term", "type"]:
        return None
    if len(cols) < 2 or len(cols) > 4:
        raise ConfigError(
            f"{where}: expected 2 to 4 tab-separated columns, found {len(cols)}: {line.strip()!r}",
            hint="write term<TAB>type[<TAB>ids[<TAB>flags]], with tabs, not spaces",
        )
    text, type_name = cols[0], cols[1]
    if not any(c.isalnum() for c in text):
        raise ConfigError(f"{where}: the term {text!r} has no letter or digit", hint="fix the term")
    try:
        etype = parse_entity_type(type_name)
    except SchemaError as exc:
        raise ConfigError(f"{where}: {exc.message}", hint=exc.hint) from exc
    ids: tuple[str, ...] = ()
    if len(cols) > 2 and cols[2] not in ("", "-"):
        ids = tuple(i.strip() for i in _ID_SEPARATOR.split(cols[2]) if i.strip())
    flags = {f.strip().lower() for f in cols[3].split(",") if f.strip()} if len(cols) > 3 else set()
    if flags - FLAGS or flags == FLAGS:
        raise ConfigError(
            f"{where}: unknown flags {cols[3]!r}",
            hint="the fourth column is empty, 'case' (exact spelling only) or 'nocase'",
        )
    case = "case" in flags or ("nocase" not in flags and is_short_caps(text))
    return Term(text, etype, ids, case)


def read_terms(path: Path) -> Iterable[Term]:
    try:
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                term = parse_line(line, path, number)
                if term is not None:
                    yield term
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text: {exc}", hint="save it as UTF-8") from exc


def term_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.glob("*.tsv") if p.is_file())
        if not files:
            raise ConfigError(f"{path} holds no *.tsv term lists", hint=f"expected {EXPECTED}")
        return files
    return [path]


def load_dictionary(path: Path) -> TermDictionary:
    """A dictionary recognizer over the term list(s) at ``path``."""
    from extractors.ner.backends import files_version

    files = term_files(path.resolve())
    matcher = TermDictionary(f"dictionary:{path.resolve().name}", files_version(files))
    for file in files:
        for term in read_terms(file):
            matcher.add(term)
    if not matcher.size:
        raise ConfigError(f"{path}: no terms found", hint=f"expected {EXPECTED}")
    if matcher.conflicts:
        log.warning(
            "%s: %d terms listed again with another type; the first listing was kept",
            path,
            matcher.conflicts,
        )
    return matcher
