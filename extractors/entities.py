"""Entities in a document: recognize spans, spread them through the abstract, link them.

:class:`EntityExtractor` is the pipeline's extractor for entities (the ``Extractor`` protocol of
:mod:`kg.pipeline`). For a batch of documents it

1. asks the recognizer (any backend of :mod:`extractors.ner.base`) for typed spans, trims and
   joins them (:mod:`extractors.ner.base`), applies the tagger's gazetteer
   (:mod:`extractors.ner.gazetteer`) and drops a disease's leading course or severity word
   where the rest is a lexicon name and the whole is not ("acute choreoathetosis");
2. *propagates* them within each abstract (``[extract] propagate``): a short form whose long
   form was recognized ("cisplatin (CDDP)"), or the long form's last words ("ribavirin-induced
   hemolytic anemia (RIHA)"; not after a preposition: "deleted in colorectal carcinoma (DCC)"
   is a gene), is given the long form's type wherever it occurs, also where the
   tagger gave it another (the default, ``abbreviations``), and with ``names`` a name
   recognized once is recognized at its other whole-word occurrences too;
3. links each mention with the lexicon (:class:`extractors.linker.Linker`), using the
   abstract's abbreviation definitions and the species it names; a composite mention ("MMP-2
   and -9") takes one ID per entity it names (:meth:`~extractors.linker.Linker.link_ids`), a
   variant the ID its rs-id gives, and a gene family in the plural ("MMPs") the IDs of the
   members the abstract names (:func:`families_as_members`). A mention the lexicon cannot
   link keeps no ID, and the graph gives it a stable provisional key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from extractors.abbreviations import Abbreviation, abbreviation_map, find_abbreviations
from extractors.linker import Linker
from extractors.ner.base import (
    Recognizer,
    Span,
    join_adjacent,
    resolve_overlaps,
    split_at,
    trim,
)
from extractors.ner.gazetteer import Gazetteer
from extractors.variants import same_variant_rsids
from extractors.vocab import normalize_name
from kg.model import Document, Mention
from kg.schema import EntityType

#: Names shorter than this are not propagated by their text alone (too ambiguous).
MIN_PROPAGATED = 3


#: A preposition before the recognized last words: the long form's head lies before them
#: ("deleted in colorectal carcinoma (DCC)" names a gene, not a carcinoma).
_HEAD_BEFORE = re.compile(r"\b(?:in|of|for|on|with|to|from|by|at)\s", re.IGNORECASE)


def _occurrences(text: str, needle: str) -> list[tuple[int, int]]:
    pattern = re.compile(r"(?<![\w-])" + re.escape(needle) + r"(?![\w-])")
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


def _free(span: tuple[int, int], taken: Sequence[Span]) -> bool:
    return all(span[1] <= s.start or span[0] >= s.end for s in taken)


def propagate(
    text: str,
    spans: Sequence[Span],
    abbreviations: Sequence[Abbreviation],
    names: bool = True,
) -> list[Span]:
    """Add the other occurrences of short forms and, with ``names``, of recognized names (see
    module doc)."""
    out = list(spans)
    by_end = {s.end: s for s in spans}
    longs: dict[str, list[Span]] = {}
    for ab in abbreviations:
        # the long form, or the span of its last words ("ribavirin-induced hemolytic anemia")
        long = by_end.get(ab.long_end)
        if (
            long is not None
            and long.start >= ab.long_start
            and ab.short not in ab.long
            and not _HEAD_BEFORE.search(text[ab.long_start : long.start])
        ):
            longs.setdefault(ab.short, []).append(long)
    for short, found in longs.items():
        if len({s.type for s in found}) > 1:  # defined twice, as different things
            continue
        long = found[0]
        for occ in _occurrences(text, short):
            same = next((k for k, s in enumerate(out) if (s.start, s.end) == occ), None)
            if same is not None and out[same].type != long.type:  # one type for a short form
                out[same] = Span(occ[0], occ[1], long.type, out[same].score, long.ids)
            elif same is None and _free(occ, out):
                out.append(Span(occ[0], occ[1], long.type, long.score, long.ids))
    if not names:
        return resolve_overlaps(out)
    found: dict[str, Span] = {}
    for s in sorted(out, key=lambda s: -s.score):
        name = text[s.start : s.end]
        if len(name) >= MIN_PROPAGATED:
            found.setdefault(name, s)
    for name, s in found.items():
        for occ in _occurrences(text, name):
            if _free(occ, out):
                out.append(Span(occ[0], occ[1], s.type, s.score, s.ids))
    return resolve_overlaps(out)


#: Words of a disease's course or severity, not of its name ("acute choreoathetosis").
COURSE_WORDS = frozenset(
    [
        "acute",
        "chronic",
        "subacute",
        "severe",
        "mild",
        "moderate",
        "fatal",
        "massive",
        "advanced",
        "delayed",
        "transient",
        "persistent",
        "recurrent",
        "progressive",
        "idiopathic",
    ]
)


def _without_course(text: str, span: Span, linker: Linker) -> Span:
    """A disease span without a leading course or severity word, where the rest is a lexicon
    name and the whole is not ("acute renal failure" is MeSH's; "acute choreoathetosis" is not)."""
    surface = text[span.start : span.end]
    first, _, rest = surface.partition(" ")
    if span.type is not EntityType.DISEASE or first.lower() not in COURSE_WORDS or not rest:
        return span
    if linker.exact(surface, span.type) or not linker.exact(rest, span.type):
        return span
    return Span(span.end - len(rest), span.end, span.type, span.score, span.ids)


class EntityExtractor:
    """Recognizer + propagation + linker, as one pipeline extractor."""

    #: What the output depends on (models, lexicon, settings), set by the registry.
    identity: str = ""

    def __init__(
        self,
        recognizer: Recognizer,
        linker: Linker | None,
        *,
        spread: str = "none",
        gazetteer: Gazetteer | None = None,
    ) -> None:
        if spread not in ("none", "abbreviations", "names"):
            raise ValueError(f"propagate: none, abbreviations or names, not {spread!r}")
        self.recognizer = recognizer
        self.linker = linker
        self.spread = spread
        self.gazetteer = gazetteer
        self.name = f"{recognizer.name}@{recognizer.version}"

    def __call__(self, doc: Document) -> Document:
        return self.batch([doc])[0]

    def batch(self, docs: Sequence[Document]) -> list[Document]:
        """Annotate documents together (the model runs on full batches of windows)."""
        texts = [d.text for d in docs]
        predicted = self.recognizer.predict(texts) if texts else []
        return [self._annotate(d, spans) for d, spans in zip(docs, predicted, strict=True)]

    def _annotate(self, doc: Document, spans: Sequence[Span]) -> Document:
        text = doc.text
        breaks = (len(doc.title),) if doc.abstract else ()
        spans = [t for t in (trim(text, s) for s in split_at(spans, breaks)) if t is not None]
        spans = join_adjacent(text, spans, breaks)
        spans = [t for t in (trim(text, s, words=True) for s in spans) if t is not None]
        if self.gazetteer is not None:
            spans = self.gazetteer.apply(text, spans)
        if self.linker is not None:
            spans = [_without_course(text, s, self.linker) for s in spans]
        spread = self.spread != "none"
        abbreviations = find_abbreviations(text) if (spread or self.linker) else []
        if spread:
            spans = propagate(text, spans, abbreviations, names=self.spread == "names")
        table = abbreviation_map(abbreviations)
        mentions = []
        for s in spans:
            surface = text[s.start : s.end]
            if not surface.strip():
                continue
            ids = s.ids
            if not ids and self.linker is not None:
                ids = self.linker.link_ids(surface, s.type, text, table)
            mentions.append(
                Mention(
                    start=s.start,
                    end=s.end,
                    text=surface,
                    type=s.type,
                    ids=ids,
                    score=round(s.score, 4),
                    source=self.name,
                )
            )
        if self.linker is not None:
            linker = self.linker
            mentions = _variants_with_rsids(text, mentions)
            mentions = homonyms_by_document(
                mentions, lambda m: linker.homonyms(m.text, m.type, text, table)
            )
            mentions = families_as_members(mentions)
        return replace(doc, mentions=tuple(mentions))


def homonyms_by_document(
    mentions: list[Mention], homonyms: Callable[[Mention], tuple[str, ...]]
) -> list[Mention]:
    """A gene symbol that several genes of one species share ("p62": NUP62 and SQSTM1) names
    the one another mention of the same document names without doubt ("p62/SQSTM1"), where
    no other mention names the linker's first choice. ``homonyms(mention)`` is the linker's
    first choice and the genes that fit as well (:meth:`Linker.homonyms`), or () where one
    fits best.

    The paper names the gene it means in full or by its own symbol somewhere; GNormPlus's
    disambiguation reads the document the same way. A mention that is the first choice's own
    symbol or name has no homonyms ("HGF" is HGF, though it is also an alias of IL6). Linking
    the gold gene mentions (docs/models/ner.md, stop 34), the ID became right for 9 more of
    BioRED dev's 1,040 (none wrong that was right), 13 more of BioRED train's 4,199 (18
    right, 5 wrong), 7 more of GNormPlus train's 4,104 and 19 more of NLM-Gene train's
    11,938 (31 right, 12 wrong)."""
    genes = [k for k, m in enumerate(mentions) if m.type is EntityType.GENE and m.ids]
    fits = {k: homonyms(mentions[k]) if len(mentions[k].ids) == 1 else () for k in genes}
    # ID -> the names (normalized) that name it without doubt
    named: dict[str, set[str]] = {}
    for k in genes:
        if not fits[k]:
            for i in mentions[k].ids:
                named.setdefault(i, set()).add(normalize_name(mentions[k].text))

    def elsewhere(curie: str, own: str) -> bool:
        """Another name than ``own`` names ``curie`` without doubt."""
        return bool(named.get(curie, set()) - {own})

    out = list(mentions)
    for k in genes:
        m, fit = mentions[k], fits[k]
        if not fit or fit[0] != m.ids[0]:
            continue
        own = normalize_name(m.text)
        if elsewhere(fit[0], own):
            continue
        pick = next((c for c in fit[1:] if elsewhere(c, own)), None)
        if pick is not None:
            out[k] = replace(m, ids=(pick,))
    return out


#: A gene family in the plural: "MMPs", "FGFs", "caspases", "bone morphogenetic proteins".
_PLURAL = re.compile(r"^(?P<stem>.{2,}[A-Za-z])s$")


def families_as_members(mentions: list[Mention]) -> list[Mention]:
    """A gene family named in the plural ("MMPs") names the members the same document names
    by the family's stem and a number ("MMP-2", "MMP 9", "MMP12"): it takes their IDs, in the
    order they first appear, as the corpora annotate such mentions. On the gold mentions of
    BioRED, NLM-Gene and GNormPlus (train and dev) the members' IDs were the gold IDs exactly
    for 38 of 48 such mentions, overlapped them for 8, and missed for 2."""
    genes = [m for m in mentions if m.type is EntityType.GENE and m.ids]
    out = list(mentions)
    for k, m in enumerate(mentions):
        match = _PLURAL.match(m.text) if m.type is EntityType.GENE else None
        if match is None:
            continue
        member = re.compile(re.escape(match.group("stem")) + r"[- ]?\d", re.IGNORECASE)
        ids = tuple(
            dict.fromkeys(i for g in genes if g is not m and member.match(g.text) for i in g.ids)
        )
        if ids and ids != m.ids:
            out[k] = replace(m, ids=ids)
    return out


def _variants_with_rsids(text: str, mentions: list[Mention]) -> list[Mention]:
    """Variant mentions given with an rs-id take it, as do the other mentions of the same
    variant (:func:`extractors.variants.same_variant_rsids`)."""
    at = [k for k, m in enumerate(mentions) if m.type is EntityType.VARIANT]
    if not at:
        return mentions
    found = same_variant_rsids(
        text, [(mentions[k].start, mentions[k].end, mentions[k].ids) for k in at]
    )
    out = list(mentions)
    for k, ids in zip(at, found, strict=True):
        if ids != out[k].ids:
            out[k] = replace(out[k], ids=ids)
    return out
