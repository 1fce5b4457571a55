"""The tagger's gazetteer: names the training corpora annotate most times they occur, found where
the tagger found nothing, and names they almost never annotate, dropped where the tagger found
them.

The tagger misses rare names it has seen few times ("mesna", "macrolide", "corticosteroids"),
while the corpora annotate them almost wherever they occur. ``kg train gazetteer`` counts, in
the training mix of :mod:`extractors.ner.corpora` (dev abstracts left out,
:mod:`extractors.heldout`), every run of 1 to :data:`MAX_TOKENS` tokens (at least
:data:`MIN_CHARS` characters) that the lexicon names as an entity of a type the corpus
annotates: how often it occurs (matched as whole words, leftmost-longest, as at run time) and
how often the corpus annotates exactly that span with that type. A name is kept when the corpora
annotate it at least ``min_share`` of the times (default one half) and at least
``min_annotated`` times: "placebo", "drug" and "protein" are lexicon names the corpora leave
unannotated, so they stay out. A name that occurs at least ``drop_seen`` times and is annotated
less than ``drop_below`` of them is listed too, to be dropped ("beta2" and "hormone" as
chemicals, "PAX3" as a disease). Variants are not listed (:mod:`extractors.variants` has their
rules).

At run time (:meth:`Gazetteer.apply`) a recognized span whose whole text is a name to drop (of
its type) is dropped, and a name to add becomes a span wherever no recognized span overlaps it;
its score is the share of its occurrences the corpora annotate. The list is a derived artifact,
``gazetteer.tsv`` beside the tagger's weights: one name a line, ``name <TAB> type <TAB>
occurrences <TAB> annotated``, after a ``#`` line with the build record (which says the share
that separates the names to add from those to drop).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from extractors.ner.base import Span
from extractors.ner.dictionary import Term, TermDictionary, is_short_caps, tokens
from kg.errors import ConfigError, SchemaError
from kg.model import Document
from kg.schema import EntityType, parse_entity_type

FILE = "gazetteer.tsv"
_HEADER = "# kg gazetteer: "
#: Shorter names are too ambiguous ("Na", "DA", "K").
MIN_CHARS = 4
MAX_TOKENS = 6
#: The types it lists: variants follow their own rules.
TYPES = frozenset(EntityType) - {EntityType.VARIANT}

#: What the lexicon says a text names: the entity types it has that name for.
Named = Callable[[str], frozenset[EntityType]]


@dataclass(slots=True)
class NameCount:
    """How often a name occurs in the corpora that annotate its type, and is annotated."""

    seen: int = 0
    annotated: int = 0
    spellings: Counter[str] = field(default_factory=Counter)

    @property
    def share(self) -> float:
        return self.annotated / self.seen if self.seen else 0.0


def ngrams(text: str) -> Iterator[tuple[int, int]]:
    """Spans of 1 to MAX_TOKENS tokens that begin and end with a word, MIN_CHARS or longer."""
    toks = tokens(text)
    for i, (start, _, first) in enumerate(toks):
        if not first[0].isalnum():
            continue
        for j in range(i, min(i + MAX_TOKENS, len(toks))):
            end, last = toks[j][1], toks[j][2]
            if last[0].isalnum() and end - start >= MIN_CHARS:
                yield start, end


def count_names(
    corpora: Iterable[tuple[frozenset[EntityType], Sequence[Document]]], named: Named
) -> dict[tuple[str, EntityType], NameCount]:
    """Occurrences and annotations of every lexicon name in the documents, per type; each
    corpus counts only the types it annotates."""
    corpora = [(types & TYPES, docs) for types, docs in corpora]
    found: dict[EntityType, set[str]] = {}
    spelled: dict[str, str] = {}
    for types, docs in corpora:
        for doc in docs:
            for start, end in ngrams(doc.text):
                surface = doc.text[start:end]
                for etype in named(surface) & types:
                    found.setdefault(etype, set()).add(surface.casefold())
                    spelled.setdefault(surface.casefold(), surface)
    counts: dict[tuple[str, EntityType], NameCount] = {}
    for etype, names in found.items():
        matcher = TermDictionary()
        for name in names:
            matcher.add(Term(spelled[name], etype, (), is_short_caps(spelled[name])))
        for types, docs in corpora:
            if etype not in types:
                continue
            for doc in docs:
                gold = {(m.start, m.end) for m in doc.mentions if m.type is etype}
                for span in matcher.find(doc.text):
                    surface = doc.text[span.start : span.end]
                    count = counts.setdefault((surface.casefold(), etype), NameCount())
                    count.seen += 1
                    if (span.start, span.end) in gold:
                        count.annotated += 1
                        count.spellings[surface] += 1
    return counts


def select(
    counts: dict[tuple[str, EntityType], NameCount],
    min_share: float,
    min_annotated: int,
    drop_below: float = 0.0,
    drop_seen: int = 1,
) -> list[tuple[str, EntityType, NameCount]]:
    """The names to add, best share first (a name listed for two types: the better one wins),
    then those to drop."""
    add, drop = [], []
    for (name, etype), c in counts.items():
        if c.annotated >= min_annotated and c.share >= min_share:
            add.append((c.spellings.most_common(1)[0][0], etype, c))
        elif c.seen >= drop_seen and c.share < drop_below:
            drop.append((name, etype, c))
    add.sort(key=lambda k: (-k[2].share, -k[2].annotated, k[0].casefold(), k[1].value))
    drop.sort(key=lambda k: (k[2].share, -k[2].seen, k[0], k[1].value))
    return add + drop


class Gazetteer:
    """The names to add, in a token trie, and the names to drop; :meth:`apply` uses both."""

    def __init__(self, rows: Iterable[tuple[str, EntityType, int, int]], min_share: float) -> None:
        self.matcher = TermDictionary("gazetteer")
        self.shares: dict[tuple[str, EntityType], float] = {}
        self.dropped: set[tuple[str, EntityType]] = set()
        for name, etype, seen, annotated in rows:
            share = annotated / max(seen, 1)
            if share < min_share:
                self.dropped.add((name.casefold(), etype))
                continue
            self.matcher.add(Term(name, etype, (), is_short_caps(name)))
            self.shares.setdefault((name.casefold(), etype), share)

    def __len__(self) -> int:
        return self.matcher.size + len(self.dropped)

    def apply(self, text: str, spans: Sequence[Span]) -> list[Span]:
        """``spans`` without the names to drop, and the names to add that overlap none."""
        kept = [s for s in spans if (text[s.start : s.end].casefold(), s.type) not in self.dropped]
        out = list(kept)
        for m in self.matcher.find(text):
            if all(m.end <= s.start or m.start >= s.end for s in kept):
                share = self.shares.get((text[m.start : m.end].casefold(), m.type), 1.0)
                out.append(Span(m.start, m.end, m.type, share))
        return sorted(out, key=lambda s: (s.start, s.end))


def write_gazetteer(
    folder: Path, rows: Sequence[tuple[str, EntityType, NameCount]], record: dict
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE
    with path.open("w", encoding="utf-8") as fh:
        fh.write(_HEADER + json.dumps(record, sort_keys=True) + "\n")
        fh.write("# name\ttype\toccurrences\tannotated\n")
        for name, etype, c in rows:
            fh.write(f"{name}\t{etype.value}\t{c.seen}\t{c.annotated}\n")
    return path


def read_gazetteer(path: Path) -> Gazetteer:
    rows = []
    record: dict = {}
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if line.startswith(_HEADER):
                record = json.loads(line[len(_HEADER) :])
                continue
            if line.startswith("#") or not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            try:
                rows.append((cols[0], parse_entity_type(cols[1]), int(cols[2]), int(cols[3])))
            except (IndexError, ValueError, SchemaError) as exc:
                raise ConfigError(
                    f"{path}, line {number}: not name<TAB>type<TAB>occurrences<TAB>annotated",
                    hint="rebuild it with `kg train gazetteer`",
                ) from exc
    return Gazetteer(rows, float(record.get("min_share", 0.5)))


def load_gazetteer(folder: Path) -> Gazetteer | None:
    """The gazetteer beside a tagger's weights, if it has one."""
    path = folder / FILE
    return read_gazetteer(path) if path.is_file() else None


def build(
    corpora_dir: Path,
    named: Named,
    corpora: Sequence[str] | None = None,
    min_share: float = 0.5,
    min_annotated: int = 1,
    drop_below: float = 0.1,
    drop_seen: int = 3,
) -> tuple[list[tuple[str, EntityType, NameCount]], dict]:
    """Count and select over the training mix (or the named corpora); returns the kept names
    and the build record."""
    from extractors.heldout import dev_pmids
    from extractors.ner.corpora import TRAIN_CORPORA, corpus_by_name, read_corpus

    chosen = [corpus_by_name(n) for n in corpora] if corpora else list(TRAIN_CORPORA)
    held_out = dev_pmids(corpora_dir)
    docs = []
    for corpus in chosen:
        kept = [d for d in read_corpus(corpora_dir, corpus) if d.pmid not in held_out]
        docs.append((corpus.types, kept))
    counts = count_names(docs, named)
    rows = select(counts, min_share, min_annotated, drop_below, drop_seen)
    record = {
        "corpora": [c.name for c in chosen],
        "min_share": min_share,
        "min_annotated": min_annotated,
        "drop_below": drop_below,
        "drop_seen": drop_seen,
        "candidates": len(counts),
        "added": dict(Counter(e.value for _, e, c in rows if c.share >= min_share).most_common()),
        "dropped": dict(Counter(e.value for _, e, c in rows if c.share < min_share).most_common()),
    }
    return rows, record
