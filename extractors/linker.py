"""Linking mention texts to identifiers with the lexicon built by :mod:`extractors.vocab`.

:meth:`Linker.link` tries steps 1-5 in order and stops at the first that finds something; step
6 then checks the species of a gene, and step 7 is a gene's last resort:

1. variants: an rs-id in the text (``DBSNP:rs123``), a name the training corpora linked, or an
   HGVS-like string rewritten in tmVar's normalized form (``tmVar:c|SUB|C|677|T``);
2. the long form, when the mention is a short form defined in the same document
   (Schwartz–Hearst, :mod:`extractors.abbreviations`), looked up exactly;
3. the mention text, looked up exactly (after :func:`~extractors.vocab.normalize_name`), then
   its :func:`rewrites`: a chemical without a trailing counter-ion ("fenoprofen calcium" ->
   "fenoprofen") or a leading word of its form or route ("liposomal daunorubicin"), a
   disease's "tumor" as MeSH's "neoplasm" ("liver tumors"), an organ's adjective as its noun
   ("renal impairment" -> "kidney impairment"), a disease's adjective as its noun
   ("neutropenic" -> "neutropenia", "migraineurs" -> "migraine") and an organ's general harm
   as its diseases ("heart damage" -> "heart diseases", "vascular events");
4. fuzzy candidates: names sharing character 3-grams with the long form, then with the
   mention, with Jaccard similarity at least ``fuzzy_threshold``;
5. diseases only: the head, the longest run of the mention's trailing words that the training
   corpora annotated as a disease ("submucosal hemorrhage" -> "hemorrhage", "Alzheimer-like
   subacute dementia" -> "dementia"). A modifier the lexicon has no name for would otherwise
   leave the mention unlinked; on BC5CDR dev this raised disease concept F1 by 0.8 and on BioRED
   dev by 1.2 (docs/models/ner.md). Chemicals gained nothing (their head is seldom last).
6. genes only: when the gene found is of another species than the one the text is about
   (a name only the mouse vocabulary has, in a paper on human cells), the preferred species'
   gene of the same symbol (Polg -> POLG; human and mouse orthologs mostly share symbols).
7. genes only, when steps 2-5 found nothing: a name MeSH gives a protein ("psoriasin") links to
   the gene whose name is the protein's MeSH heading (S100A7, "S100 calcium binding protein
   A7"). On the unlinked gold gene mentions of BioRED dev and NLM-Gene train it linked 37, all
   rightly.

:meth:`Linker.link_ids` gives the IDs a mention names: one, or one per name where the mention
coordinates several and is not a name as a whole ("MMP-1, -2 and -9", "caspase-3/7", "breast and
ovarian cancer"; :func:`coordinated_parts`; drugs joined by a hyphen or slash,
"fenfluramine-phentermine": :func:`joined_parts`), as the corpora annotate such composite
mentions. :meth:`Linker.homonyms` gives the genes of one species that a symbol fits equally
("p62": NUP62 and SQSTM1); the entity stage picks among them by the other mentions of the
document (:func:`extractors.entities.homonyms_by_document`).

Candidates of the requested type only. Ranking: genes of the preferred species first (the
species the context names most, human on ties and by default; where that species has no gene
vocabulary, genes only the training corpora name), then the prior (how often the training
corpora linked this name to this entity), then the kind of name (preferred name or
symbol > synonym > previous symbol) and its source (MeSH > CTD > MONDO; HGNC > gene_info).
An empty list means unlinked: the caller gives the mention a provisional key.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path

from extractors.abbreviations import Abbreviation, abbreviation_map, expand, find_abbreviations
from extractors.variants import RSID, normalize_variant
from extractors.vocab import (
    COMMON_SPECIES_NAMES,
    LEXICON_FORMAT,
    SYNONYM_SEP,
    char_grams,
    decode_postings,
    normalize_name,
    without_salt,
)
from kg.errors import ConfigError
from kg.model import Document, Entity
from kg.schema import EntityType

LEXICON_FILE = "lexicon.sqlite"
HUMAN = 9606
#: Bumped when the linking rules change what a mention links to; part of the entity stage's
#: identity (extractors/registry.py), so documents linked by older rules are extracted again
#: by an incremental ingest rather than kept as they were (also when the entity stage's span
#: rules change what is linked). 2: stop 29's readings; 3 (stop 34): a gene symbol several
#: genes share takes the one another mention of the document names, MONDO's labels rank as
#: synonyms, a variant keeps the sign of its position.
LINKING_VERSION = 3


@dataclass(frozen=True, slots=True)
class Candidate:
    """One identifier a mention may name, with why it was proposed."""

    curie: str
    type: EntityType
    #: The entity's preferred name.
    name: str
    #: Similarity of the matched name to the mention: 1.0 for exact matches.
    score: float
    #: Share of the training corpora's annotations of this name that chose this entity.
    prior: float
    #: ``exact``, ``abbreviation``, ``fuzzy``, ``head``, ``ortholog``, ``rsid``, ``hgvs`` or
    #: ``corpus``.
    method: str
    #: The source that names the entity (``mesh``, ``hgnc``, ``corpus``...).
    source: str
    taxon: int | None = None
    #: The normalized name that matched.
    matched: str = ""


# ---------------------------------------------------------------------------------------------
# Species in context
# ---------------------------------------------------------------------------------------------

#: Words that name a species in running text -> taxon (from the lexicon's common names, plus
#: adjectives and genus names authors use for the model organisms).
SPECIES_CUES: dict[str, int] = {
    **{
        name.lower(): tax
        for tax, names in COMMON_SPECIES_NAMES.items()
        for name in names
        if tax not in (11676, 12721, 562)
    },
    "drosophila": 7227,
    "melanogaster": 7227,
    "elegans": 6239,
    "cerevisiae": 4932,
    "arabidopsis": 3702,
    "xenopus": 8355,
    "danio": 7955,
    "rattus": 10116,
    "musculus": 10090,
    "sapiens": HUMAN,
}
_CUE_RE = re.compile(
    r"\b(" + "|".join(sorted((re.escape(c) for c in SPECIES_CUES), key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)


def species_in_context(context: str | None) -> list[int]:
    """Taxa the text names, most mentioned first; human first on ties and when none is named.

    "Species-aware, kept simple": counts cue words (human/patients, mouse/mice/murine, rat,
    zebrafish, Drosophila, ...). Human is always in the list, last if the text never names it.
    """
    if not context:
        return [HUMAN]
    counts: Counter[int] = Counter(
        SPECIES_CUES[m.group(1).lower()] for m in _CUE_RE.finditer(context)
    )
    order = sorted(counts, key=lambda t: (-counts[t], t != HUMAN, t))
    if HUMAN not in order:
        order.append(HUMAN)
    return order


def _species_tuple(context: str | None) -> tuple[int, ...]:
    return tuple(species_in_context(context))


# ---------------------------------------------------------------------------------------------
# Rewrites of a mention that vocabularies name otherwise
# ---------------------------------------------------------------------------------------------

_TUMOR = re.compile(r"\btumou?r(s?)\b", re.IGNORECASE)

#: A disease named by its adjective or by its patients ("dyskinetic", "neutropenic",
#: "migraineurs"): the adjective's ending -> the noun's, tried in this order on the last word.
ADJECTIVE_ENDINGS: tuple[tuple[str, str], ...] = (
    ("etic", "esia"),  # dyskinetic -> dyskinesia
    ("ptic", "psy"),  # cataleptic -> catalepsy, epileptic -> epilepsy
    ("atic", "asis"),  # psoriatic -> psoriasis
    ("otic", "osis"),  # cirrhotic -> cirrhosis, psychotic -> psychosis
    ("tic", "sis"),  # septic -> sepsis
    ("ic", "ia"),  # neutropenic -> neutropenia, arrhythmic -> arrhythmia
    ("ic", "y"),  # hypertrophic -> hypertrophy, neuropathic -> neuropathy
    ("ic", "e"),  # asystolic -> asystole
    ("ic", "es"),  # diabetic -> diabetes
    ("ous", "a"),  # edematous -> edema
    ("al", ""),  # aneurysmal -> aneurysm
    ("al", "a"),  # anginal -> angina
    ("ful", ""),  # painful -> pain
    ("oid", "osis"),  # choreoathetoid -> choreoathetosis
    ("eurs", "e"),  # migraineurs -> migraine
    ("eur", "e"),
)
#: Shortest last word the endings are tried on (shorter adjectives are mostly not diseases').
ADJECTIVE_MIN_LEN = 6
#: Organ adjectives -> the organ's noun, the form MeSH and CTD name most diseases by
#: ("renal impairment" -> "kidney impairment", "pulmonary toxicity" -> "lung toxicity").
ORGAN_NOUNS: dict[str, str] = {
    "renal": "kidney",
    "hepatic": "liver",
    "cardiac": "heart",
    "myocardial": "heart",
    "pulmonary": "lung",
    "gastric": "stomach",
    "cerebral": "brain",
    "ocular": "eye",
    "cutaneous": "skin",
    "dermal": "skin",
    "pancreatic": "pancreas",
    "splenic": "spleen",
    "ovarian": "ovary",
    "testicular": "testis",
    "muscular": "muscle",
}
_ORGAN_RE = re.compile(r"\b(" + "|".join(ORGAN_NOUNS) + r")\b", re.IGNORECASE)


#: Words of a drug's form or route before its name ("liposomal daunorubicin"): MeSH names
#: the drug alone.
FORMULATION_WORDS = frozenset(
    [
        "liposomal",
        "pegylated",
        "encapsulated",
        "nebulized",
        "nebulised",
        "intravenous",
        "intrathecal",
        "intramuscular",
        "subcutaneous",
        "oral",
        "topical",
        "inhaled",
        "transdermal",
        "intranasal",
    ]
)
#: A disease named by an organ or system and a general word for harm ("heart damage",
#: "vascular events"): the corpora annotate it as that organ's diseases, the form MeSH names.
GENERIC_HEADS = frozenset(
    [
        "damage",
        "injury",
        "injuries",
        "lesion",
        "lesions",
        "dysfunction",
        "dysfunctions",
        "impairment",
        "impairments",
        "abnormality",
        "abnormalities",
        "complication",
        "complications",
        "event",
        "events",
        "disturbance",
        "disturbances",
        "deficit",
        "deficits",
        "problem",
        "problems",
    ]
)


def rewrites(text: str, etype: EntityType) -> list[str]:
    """Other forms of a mention to look up exactly when the mention itself is not a name."""
    if etype is EntityType.CHEMICAL:
        out = []
        base = without_salt(text)
        if base:
            out.append(base)
        first, _, rest = text.partition(" ")
        if rest and first.lower() in FORMULATION_WORDS:
            out.append(rest)
        return out
    if etype is not EntityType.DISEASE:
        return []
    out = [_TUMOR.sub(r"neoplasm\1", text)] if _TUMOR.search(text) else []
    out.extend(noun_forms(text))
    organ = _ORGAN_RE.sub(lambda m: ORGAN_NOUNS[m.group(1).lower()], text)
    if organ != text:
        out.extend([organ, *noun_forms(organ)])
    out.extend(generic_forms(organ))
    return out


def generic_forms(text: str) -> list[str]:
    """ "heart damage" -> "heart diseases", "heart disorders" (:data:`GENERIC_HEADS`); on
    BioRED dev this raised disease concept F1 from 77.8 to 79.0, on NCBI-disease dev 81.5 to
    81.7, on BC5CDR dev 82.5 to 82.7."""
    rest, _, last = text.rpartition(" ")
    if not rest or last.lower() not in GENERIC_HEADS:
        return []
    return [f"{rest} diseases", f"{rest} disorders"]


def noun_forms(text: str) -> list[str]:
    """``text`` with its last word's adjective ending replaced by each noun ending."""
    head, _, last = text.rpartition(" ")
    word = last.lower()
    if len(word) < ADJECTIVE_MIN_LEN:
        return []
    prefix = f"{head} " if head else ""
    return [
        f"{prefix}{word[: -len(adj)]}{noun}"
        for adj, noun in ADJECTIVE_ENDINGS
        if word.endswith(adj)
    ]


# ---------------------------------------------------------------------------------------------
# Coordinated mentions: one span naming several entities
# ---------------------------------------------------------------------------------------------

#: A list of numbers after a stem: "MMP-1, -2, -9, and -12", "caspase-3/7", "ERK1/2",
#: "FGF receptors 2 and 4", "SOCS-1 and -3".
_NUMBERED = re.compile(
    r"^(?P<stem>.*?[A-Za-z)])(?P<sep>[- ]?)(?P<first>\d+[a-z]?)"
    r"(?P<rest>(?:\s*(?:,\s*(?:and|or)?|/|\band\b|\bor\b|&)\s*-?\s*\d+[a-z]?)+)$"
)
_ITEM = re.compile(r"\d+[a-z]?")
#: Conjuncts sharing a head: "breast and ovarian cancer", "B1 and B2 receptors",
#: "L- and T-type channels".
_SHARED_HEAD = re.compile(
    r"^(?P<first>[\w()+]+-?)(?P<more>(?:\s*,\s*[\w()+]+-?)*)\s*,?\s+(?:and|or|&)\s+"
    r"(?P<last>[\w()+-]+)\s+(?P<head>\S.*)$"
)
_LETTER = re.compile(r"[A-Za-z]")
#: Two or more whole names joined: "hypertension and metabolic dysfunction".
_CONJUNCTION = re.compile(r"\s*(?:,\s*(?:and|or)\s+|,\s*|\s+(?:and|or|&)\s+)")


def coordinated_parts(text: str) -> list[list[str]]:
    """Readings of a mention as several names, most specific first (each a list of two or
    more names): numbered members of one stem ("MMP-1, -2 and -9" -> MMP-1, MMP-2, MMP-9;
    a plural stem also in the singular), conjuncts sharing a head ("breast and ovarian
    cancer" -> breast cancer, ovarian cancer; "L- and T-type channels" -> L-type channels,
    T-type channels), and the conjuncts as they stand. The linker takes the first reading
    whose every part is a name (:meth:`Linker.link_ids`)."""
    text = text.strip()
    readings: list[list[str]] = []
    m = _NUMBERED.match(text)
    if m:
        stem, sep = m.group("stem"), m.group("sep")
        numbers = [m.group("first"), *_ITEM.findall(m.group("rest"))]
        stems = [stem]
        if re.search(r"[a-rtvz]s$", stem) and len(stem.rsplit(" ", 1)[-1]) > 4:
            stems.append(stem[:-1])  # "FGF receptors 2 and 4" -> "FGF receptor 2"
        readings.extend([f"{s}{sep}{n}" for n in numbers] for s in stems)
    m = _SHARED_HEAD.match(text)
    if m:
        firsts = [m.group("first"), *re.findall(r"[\w()+]+-?", m.group("more")), m.group("last")]
        head = m.group("head")
        suffix = m.group("last").partition("-")[2]  # "L- and T-type" -> "type"
        readings.append(
            [f"{w}{suffix} {head}" if w.endswith("-") else f"{w} {head}" for w in firsts]
        )
    if _CONJUNCTION.search(text):
        parts = [p for p in _CONJUNCTION.split(text) if p]
        if len(parts) >= 2:
            readings.append(parts)
    return [
        r
        for r in readings
        if len(r) >= 2 and len(set(r)) == len(r) and all(_LETTER.search(p) for p in r)
    ]


#: Drugs named together with a hyphen or slash: "fenfluramine-phentermine", "L-DOPA/carbidopa".
_JOINED = re.compile(r"(?<=[A-Za-z)])\s*[-/]\s*(?=[A-Za-z])")


def joined_parts(text: str) -> list[list[str]]:
    """Readings of a chemical mention as two or three drugs joined by hyphens or slashes (a
    slash first: "L-DOPA/benserazide"); every part at least four letters long, so that a
    single name's hyphens ("N-nitroso-N-methylurea", "5-fluorouracil") make no reading."""
    readings = []
    for sep in ("/", "-"):
        if sep not in text:
            continue
        parts = [p.strip() for p in (text.split("/") if sep == "/" else _JOINED.split(text))]
        if 2 <= len(parts) <= 3 and all(sum(c.isalpha() for c in p) >= 4 for p in parts):
            readings.append(parts)
    return readings


# ---------------------------------------------------------------------------------------------
# The linker
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Row:
    eid: int
    curie: str
    name: str
    taxon: int | None
    source: str
    rank: int
    count: int


#: At most this many candidates (those sharing the most probed grams) are scored per query.
FUZZY_CANDIDATES = 2000
#: Posting lists probed beyond the fewest prefix filtering needs: each raises the number of
#: probed lists a candidate must be in, which rules most candidates out before they are read.
FUZZY_EXTRA_LISTS = 2
#: Types whose unlinked mentions may be linked by their head (step 5 of the module doc).
HEAD_TYPES = frozenset({EntityType.DISEASE})
HEAD_MIN_LEN = 4
_WORD = re.compile(r"\S+")


class Linker:
    """Links mention texts to CURIEs with a lexicon file (opened once, read-only).

    Exact lookups are answered from SQLite's B-tree behind an LRU cache (microseconds); the
    fuzzy index is read on demand, so loading costs nothing but opening the file.
    """

    def __init__(
        self,
        path: Path,
        *,
        fuzzy_threshold: float = 0.7,
        max_candidates: int = 5,
        cache_size: int = 200_000,
    ) -> None:
        if not path.is_file():
            raise ConfigError(
                f"no lexicon at {path}", hint="build it with `kg vocab build` (see kg vocab -h)"
            )
        self.path = path
        self.fuzzy_threshold = fuzzy_threshold
        self.max_candidates = max_candidates
        self._con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        try:
            self.meta = dict(self._con.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise ConfigError(
                f"{path} is not a lexicon ({exc})", hint="rebuild it with `kg vocab build`"
            ) from exc
        if self.meta.get("format") != str(LEXICON_FORMAT):
            raise ConfigError(
                f"{path} has lexicon format {self.meta.get('format')}, this code reads "
                f"{LEXICON_FORMAT}",
                hint="rebuild it with `kg vocab build`",
            )
        self._lookup = lru_cache(maxsize=cache_size)(self._lookup_uncached)
        self._fuzzy = lru_cache(maxsize=20_000)(self._fuzzy_uncached)
        self._abbreviations = lru_cache(maxsize=64)(self._abbreviations_uncached)
        self._species = lru_cache(maxsize=64)(_species_tuple)
        self._ancestors = lru_cache(maxsize=20_000)(self._ancestors_uncached)

    def clear_caches(self) -> None:
        """Forget every memoized lookup (benchmarks time passes over the same text cold)."""
        for cached in (self._lookup, self._fuzzy, self._abbreviations, self._ancestors):
            cached.cache_clear()

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Linker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public API ---------------------------------------------------------------------------

    def link(
        self,
        mention_text: str,
        etype: EntityType,
        context: str | None = None,
        abbreviations: Mapping[str, str] | Sequence[Abbreviation] | None = None,
        *,
        species: Sequence[int] | None = None,
    ) -> list[Candidate]:
        """Candidates for a mention of type ``etype``, best first; [] when unlinked.

        ``context`` is the document text (for abbreviations and species); ``abbreviations``
        are the document's definitions when the caller already found them (else they are
        found in ``context``); ``species`` overrides the taxa read from the context.
        """
        text = mention_text.strip()
        if not text:
            return []
        if abbreviations is None:
            abbreviations = self._abbreviations(context) if context else {}
        taxa = tuple(species) if species else self._species(context)
        if etype is EntityType.VARIANT:
            return self._link_variant(text)
        found = self._steps(text, etype, taxa, abbreviations)
        if etype is EntityType.GENE and not found:
            found = self._by_protein_name(text, taxa)
        if etype is EntityType.GENE and found:
            return self._in_species(found, taxa)
        return found

    def homonyms(
        self,
        mention_text: str,
        etype: EntityType,
        context: str | None = None,
        abbreviations: Mapping[str, str] | Sequence[Abbreviation] | None = None,
    ) -> tuple[str, ...]:
        """The top candidate's ID, then those of the entities of its species whose names fit
        the mention as closely ("p62" is a name of both NUP62 and SQSTM1): only the corpora's
        counts and the kind of name put the top one first. Empty where no other fits as well
        (or nothing links)."""
        found = self.link(mention_text, etype, context, abbreviations)
        if len(found) < 2:
            return ()
        top = found[0]
        if normalize_name(top.name) == top.matched:
            return ()  # the mention is the first choice's own symbol or name
        ties = [c.curie for c in found[1:] if c.score >= top.score and c.taxon == top.taxon]
        return (top.curie, *ties) if ties else ()

    def _by_protein_name(self, text: str, taxa: tuple[int, ...]) -> list[Candidate]:
        """Step 7 of the module doc: an unlinked gene mention that MeSH names as a protein
        ("psoriasin") takes the gene whose name is that protein's MeSH heading ("S100 Calcium
        Binding Protein A7" is S100A7's name)."""
        protein = self._exact(text, EntityType.CHEMICAL, taxa, "exact")
        if not protein:
            return []
        return self._exact(protein[0].name, EntityType.GENE, taxa, "protein name")

    def link_ids(
        self,
        mention_text: str,
        etype: EntityType,
        context: str | None = None,
        abbreviations: Mapping[str, str] | Sequence[Abbreviation] | None = None,
    ) -> tuple[str, ...]:
        """The IDs a mention names: its top candidate's, or one per part where it coordinates
        several names ("MMP-1, -2 and -9", "breast and ovarian cancer"). A mention linked
        exactly as a whole keeps that one ID; otherwise the first of
        :func:`coordinated_parts`' readings (and, for a chemical, :func:`joined_parts`')
        whose every part is a name (looked up exactly, or by a rewrite) gives the parts' IDs,
        and failing that the top candidate is taken."""
        found = self.link(mention_text, etype, context, abbreviations)
        if found and found[0].method in ("exact", "abbreviation"):
            return (found[0].curie,)
        if etype is not EntityType.VARIANT:
            taxa = self._species(context)
            readings = coordinated_parts(mention_text)
            if etype is EntityType.CHEMICAL:
                readings.extend(joined_parts(mention_text))
            for parts in readings:
                named = [self._named(part, etype, taxa) for part in parts]
                if all(named):
                    ids = (
                        self._in_species(n, taxa) if etype is EntityType.GENE else n for n in named
                    )
                    return tuple(dict.fromkeys(n[0].curie for n in ids))
        return (found[0].curie,) if found else ()

    def _named(self, text: str, etype: EntityType, taxa: tuple[int, ...]) -> list[Candidate]:
        """Step 3 of the module doc: ``text`` looked up exactly, then its rewrites."""
        for form in (text, *rewrites(text, etype)):
            found = self._exact(form, etype, taxa, "exact")
            if found:
                return found
        return []

    def _steps(
        self,
        text: str,
        etype: EntityType,
        taxa: tuple[int, ...],
        abbreviations: Mapping[str, str] | Sequence[Abbreviation],
    ) -> list[Candidate]:
        """Steps 2-5 of the module doc: the first that finds something."""
        long = expand(text, abbreviations) if abbreviations else None
        if long:
            found = self._exact(long, etype, taxa, "abbreviation")
            if found and etype is EntityType.GENE and taxa and found[0].taxon != taxa[0]:
                # a long form only another species' gene has: the short form may name the
                # text's species' gene ("mitogen-activated protein kinases (MAPK)")
                short = self._exact(text, etype, taxa, "exact")
                if short and short[0].taxon == taxa[0]:
                    return short
            if found:
                return found
        found = self._named(text, etype, taxa)
        if found:
            return found
        queries = (long, text) if long else (text,)
        for query in queries:
            found = self._fuzzy_candidates(query, etype, taxa)
            if found:
                return found
        if etype in HEAD_TYPES:
            for query in queries:
                found = self._head_candidates(query, etype, taxa)
                if found:
                    return found
        return []

    def _in_species(self, found: list[Candidate], taxa: tuple[int, ...]) -> list[Candidate]:
        """Step 6 of the module doc: the preferred species' gene of the same symbol."""
        top, want = found[0], taxa[0] if taxa else HUMAN
        if top.taxon is None or top.taxon == want or want not in self.gene_taxa:
            return found
        norm = normalize_name(top.name)
        for row in self._lookup(norm, EntityType.GENE):
            if row.taxon == want and normalize_name(row.name) == norm:
                namesake = Candidate(
                    row.curie, EntityType.GENE, row.name, top.score, top.prior, "ortholog",
                    row.source, row.taxon, top.matched,
                )  # fmt: skip
                rest = [c for c in found if c.curie != row.curie]
                return [namesake, *rest][: self.max_candidates]
        return found

    @cached_property
    def gene_taxa(self) -> frozenset[int]:
        """The taxa the lexicon has genes of (from gene_info and HGNC, not the corpora)."""
        rows = self._con.execute(
            "SELECT DISTINCT taxon FROM entities WHERE type = ? AND taxon IS NOT NULL",
            (EntityType.GENE.value,),
        ).fetchall()
        return frozenset(r[0] for r in rows)

    def exact(self, text: str, etype: EntityType) -> list[Candidate]:
        """Exact (normalized) matches of ``text`` only, human genes first."""
        return self._exact(text, etype, (HUMAN,), "exact")

    def types_named(self, text: str) -> frozenset[EntityType]:
        """The entity types the lexicon has ``text`` (normalized) as a name of."""
        rows = self._con.execute(
            "SELECT DISTINCT e.type FROM names n JOIN entities e ON e.eid = n.eid WHERE n.norm = ?",
            (normalize_name(text),),
        ).fetchall()
        return frozenset(EntityType(r[0]) for r in rows)

    def in_vocabulary(self, curie: str) -> bool:
        """True where a vocabulary (MeSH, NCBI Gene, ...) has the CURIE, not only a corpus: an
        ID only the training corpora name may have been retired since they were annotated."""
        row = self._con.execute(
            "SELECT 1 FROM entities WHERE curie = ? AND source != 'corpus' LIMIT 1", (curie,)
        ).fetchone()
        return row is not None

    def preferred_name(self, curie: str) -> str | None:
        """The lexicon's preferred name of a CURIE ("Kidney Diseases"), None if it lacks it."""
        row = self._con.execute("SELECT name FROM entities WHERE curie = ?", (curie,)).fetchone()
        return row[0] if row is not None else None

    def entity(self, curie: str, etype: EntityType | None = None) -> Entity | None:
        """The lexicon's entity for a CURIE (preferred name and synonyms), if it has one."""
        sql = "SELECT type, name, synonyms FROM entities WHERE curie = ?"
        args: tuple[str, ...] = (curie,)
        if etype is not None:
            sql += " AND type = ?"
            args = (curie, etype.value)
        row = self._con.execute(sql, args).fetchone()
        if row is None:
            return None
        synonyms = tuple(s for s in row[2].split(SYNONYM_SEP) if s)
        return Entity(curie, row[1], EntityType(row[0]), synonyms)

    def xrefs(self, curie: str) -> list[str]:
        """Cross-references of a CURIE (OMIM <-> MeSH, MONDO, HGNC), both directions."""
        rows = self._con.execute(
            "SELECT xref FROM xrefs WHERE curie = ? UNION SELECT curie FROM xrefs WHERE xref = ?",
            (curie, curie),
        ).fetchall()
        return sorted(r[0] for r in rows)

    def ancestors(self, curie: str) -> frozenset[str]:
        """Every broader disease of a disease (MeSH tree, CTD MEDIC), transitively."""
        return self._ancestors(curie)

    def _ancestors_uncached(self, curie: str) -> frozenset[str]:
        rows = self._con.execute(
            "WITH RECURSIVE up(c) AS (SELECT parent FROM parents WHERE curie = ? "
            "UNION SELECT p.parent FROM parents p JOIN up ON p.curie = up.c) SELECT c FROM up",
            (curie,),
        ).fetchall()
        return frozenset(r[0] for r in rows if r[0] != curie)

    def info(self) -> dict[str, object]:
        """What the lexicon holds: entities per type and source, names, build metadata."""
        con = self._con
        return {
            "path": str(self.path),
            "size_bytes": self.path.stat().st_size,
            "meta": self.meta,
            "entities": dict(
                con.execute("SELECT type, count(*) FROM entities GROUP BY type").fetchall()
            ),
            "entities_by_source": dict(
                con.execute("SELECT source, count(*) FROM entities GROUP BY source").fetchall()
            ),
            "names": con.execute("SELECT count(*) FROM names").fetchone()[0],
            "corpus_names": con.execute("SELECT count(*) FROM names WHERE count > 0").fetchone()[0],
            "fuzzy_names": con.execute("SELECT count(*) FROM fuzzy").fetchone()[0],
        }

    # -- steps -------------------------------------------------------------------------------

    def _abbreviations_uncached(self, context: str) -> dict[str, str]:
        return abbreviation_map(find_abbreviations(context))

    def _lookup_uncached(self, norm: str, etype: EntityType) -> tuple[_Row, ...]:
        rows = self._con.execute(
            "SELECT e.eid, e.curie, e.name, e.taxon, e.source, n.rank, n.count "
            "FROM names n JOIN entities e ON e.eid = n.eid WHERE n.norm = ? AND e.type = ?",
            (norm, etype.value),
        ).fetchall()
        return tuple(_Row(*r) for r in rows)

    def _rank(
        self, rows: Iterable[tuple[_Row, float]], etype: EntityType, taxa: tuple[int, ...]
    ) -> list[tuple[_Row, float]]:
        # A gene only the corpora name is of a species without a gene vocabulary (rat,
        # mostly): the best guess where the text is about such a species.
        corpus_first = etype is EntityType.GENE and bool(taxa) and taxa[0] not in self.gene_taxa

        def key(item: tuple[_Row, float]) -> tuple[float, ...]:
            row, score = item
            taxon_order = 0.0
            if etype is EntityType.GENE:
                taxon_order = taxa.index(row.taxon) if row.taxon in taxa else len(taxa)
                if row.taxon is None and corpus_first:
                    taxon_order = 0.0
            # Species: long-known taxa (small IDs) win ties between homonyms.
            tie = float(row.taxon or 0) if etype is EntityType.SPECIES else 0.0
            return (taxon_order, -score, -row.count, row.rank, tie, len(row.curie))

        return sorted(rows, key=key)

    def _candidates(
        self, ranked: list[tuple[_Row, float]], etype: EntityType, method: str, matched: str
    ) -> list[Candidate]:
        total = sum(row.count for row, _ in ranked)
        out: list[Candidate] = []
        seen: set[str] = set()
        for row, score in ranked:
            if row.curie in seen:
                continue
            seen.add(row.curie)
            prior = row.count / total if total else 0.0
            out.append(
                Candidate(
                    row.curie, etype, row.name, score, prior, method, row.source, row.taxon, matched
                )
            )
            if len(out) >= self.max_candidates:
                break
        return out

    def _exact(
        self, text: str, etype: EntityType, taxa: tuple[int, ...], method: str
    ) -> list[Candidate]:
        norm = normalize_name(text)
        rows = self._lookup(norm, etype)
        if not rows:
            return []
        ranked = self._rank(((r, 1.0) for r in rows), etype, taxa)
        return self._candidates(ranked, etype, method, norm)

    def _head_candidates(
        self, text: str, etype: EntityType, taxa: tuple[int, ...]
    ) -> list[Candidate]:
        """The longest trailing run of words (not all of them) that the training corpora
        annotated as ``etype``, looked up exactly; names only a vocabulary has are not taken
        (a bare "disease" or "syndrome" would link anything)."""
        for word in list(_WORD.finditer(text))[1:]:
            rest = text[word.start() :]
            if len(rest) < HEAD_MIN_LEN:
                break
            if any(row.count > 0 for row in self._lookup(normalize_name(rest), etype)):
                return self._exact(rest, etype, taxa, "head")
        return []

    def _fuzzy_candidates(
        self, text: str, etype: EntityType, taxa: tuple[int, ...]
    ) -> list[Candidate]:
        norm = normalize_name(text)
        matches = self._fuzzy(norm, etype)
        if not matches:
            return []
        rows = [(row, score) for match, score in matches for row in self._lookup(match, etype)]
        ranked = self._rank(rows, etype, taxa)
        # Similarity first for fuzzy matches, species preference within equal similarity.
        ranked.sort(key=lambda item: -round(item[1], 6))
        return self._candidates(ranked, etype, "fuzzy", ranked[0][0].name if ranked else "")

    def _fuzzy_uncached(self, norm: str, etype: EntityType) -> tuple[tuple[str, float], ...]:
        """Indexed names whose 3-gram Jaccard similarity to ``norm`` reaches the threshold.

        Prefix filtering: a name reaching Jaccard ``t`` shares at least ``ceil(t * |Q|)`` of
        the query's ``|Q|`` grams, so it appears in at least one list once the
        ``ceil(t * |Q|) - 1`` longest posting lists are left out; the candidates of the
        shorter lists are then scored exactly, except those whose length rules them out: a
        name has at most as many distinct grams as characters, so one shorter than
        ``t * |Q|`` cannot reach ``t``; a name longer than ``|Q| / t`` characters is taken to
        have too many grams (only a name that repeats 3-grams could have fewer, and the
        scores of such names are not worth scoring every long candidate for).
        """
        if len(norm) < 3:
            return ()
        grams = char_grams(norm)
        t = self.fuzzy_threshold
        placeholders = ",".join("?" * len(grams))
        blobs = self._con.execute(
            f"SELECT gram, fids FROM grams WHERE type = ? AND gram IN ({placeholders})",
            (etype.value, *grams),
        ).fetchall()
        need = math.ceil(t * len(grams))
        if len(blobs) < need:
            return ()
        blobs.sort(key=lambda gb: len(gb[1]))
        probe = blobs[: len(blobs) - (need - 1) + FUZZY_EXTRA_LISTS]
        hits: Counter[int] = Counter()
        for _, blob in probe:
            hits.update(decode_postings(blob))
        # A name shares at most one gram per list left unprobed: fewer hits than
        # need - unprobed cannot reach the threshold (exact, no name is lost).
        least = need - (len(blobs) - len(probe))
        if least > 1:
            hits = Counter({fid: n for fid, n in hits.items() if n >= least})
        if not hits:
            return ()
        # A cap keeps pathological queries bounded: then the best-sharing candidates first.
        if len(hits) <= FUZZY_CANDIDATES:
            fids = list(hits)
        else:
            fids = [fid for fid, _ in hits.most_common(FUZZY_CANDIDATES)]
        found: list[tuple[str, float]] = []
        lengths = (need, math.floor(len(grams) / t))
        query = tuple(grams)
        for start in range(0, len(fids), 500):
            chunk = fids[start : start + 500]
            rows = self._con.execute(
                f"SELECT norm FROM fuzzy WHERE fid IN ({','.join('?' * len(chunk))})"
                " AND length(norm) BETWEEN ? AND ?",
                (*chunk, *lengths),
            ).fetchall()
            for (name,) in rows:
                # the grams shared, counted without building the name's set (a gram is in it
                # if it occurs in the padded name); Jaccard <= shared / |Q| rules most out
                padded = f"^{name}$"
                shared = sum(g in padded for g in query)
                if shared < need:
                    continue
                other = char_grams(name)
                score = shared / (len(grams) + len(other) - shared)
                if score >= t:
                    found.append((name, score))
        found.sort(key=lambda ns: (-ns[1], ns[0]))
        return tuple(found[:10])

    def _link_variant(self, text: str) -> list[Candidate]:
        m = RSID.match(text)
        if m:
            curie = f"DBSNP:rs{m.group(1)}"
            return [Candidate(curie, EntityType.VARIANT, text, 1.0, 0.0, "rsid", "text")]
        known = self._exact(text, EntityType.VARIANT, (HUMAN,), "corpus")
        if known:
            return known
        form = normalize_variant(text)
        if form:
            curie = f"tmVar:{form}"
            return [Candidate(curie, EntityType.VARIANT, text, 1.0, 0.0, "hgvs", "text")]
        return []


def default_lexicon_path(data_dir: Path) -> Path:
    return data_dir / "lexicon" / LEXICON_FILE


# ---------------------------------------------------------------------------------------------
# Evaluation with gold mentions (isolates normalization from recognition)
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class TypeScores:
    mentions: int = 0
    correct: int = 0
    linked: int = 0
    gold_concepts: set[tuple[str, str]] = field(default_factory=set)
    predicted_concepts: set[tuple[str, str]] = field(default_factory=set)

    @property
    def accuracy(self) -> float:
        return self.correct / self.mentions if self.mentions else 0.0

    def prf(self) -> tuple[float, float, float]:
        tp = len(self.gold_concepts & self.predicted_concepts)
        p = tp / len(self.predicted_concepts) if self.predicted_concepts else 0.0
        r = tp / len(self.gold_concepts) if self.gold_concepts else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f


def evaluate_gold_mentions(
    linker: Linker, documents: Iterable[Document], types: Iterable[EntityType] | None = None
) -> dict[EntityType, TypeScores]:
    """Top-1 accuracy per type over gold mentions with a gold ID, and document-level concept
    P/R/F1 per type: the set of (PMID, ID) predicted vs gold, a prediction counted only when
    the linker returns something. A mention is correct when its top candidate is one of its
    gold IDs (composite mentions have several). The entity stage's steps over the whole
    document (a shared gene symbol read by the other mentions, a plural family as its members)
    run as they do there."""
    from extractors.entities import families_as_members, homonyms_by_document

    wanted = set(types) if types is not None else set(EntityType)
    scores: dict[EntityType, TypeScores] = {}
    for doc in documents:
        context = doc.text
        abbreviations = abbreviation_map(find_abbreviations(context))
        gold = [m for m in doc.mentions if m.type in wanted and m.ids]
        linked = [
            replace(m, ids=linker.link_ids(m.text, m.type, context, abbreviations)) for m in gold
        ]
        linked = homonyms_by_document(
            linked,
            lambda m, c=context, a=abbreviations: linker.homonyms(m.text, m.type, c, a),
        )
        linked = families_as_members(linked)
        for m, mine in zip(gold, linked, strict=True):
            s = scores.setdefault(m.type, TypeScores())
            s.mentions += 1
            s.gold_concepts.update((doc.pmid, i) for i in m.ids)
            found = mine.ids
            if found:
                s.linked += 1
                s.predicted_concepts.update((doc.pmid, i) for i in found)
                if found[0] in m.ids:
                    s.correct += 1
    return scores


def format_scores(scores: Mapping[EntityType, TypeScores]) -> str:
    lines = [f"{'type':<10} {'mentions':>8} {'linked':>7} {'top1 acc':>9} {'doc P':>7} "
             f"{'doc R':>7} {'doc F1':>7}"]  # fmt: skip
    for etype in EntityType:
        s = scores.get(etype)
        if s is None:
            continue
        p, r, f = s.prf()
        lines.append(
            f"{etype.value:<10} {s.mentions:>8} {s.linked:>7} {100 * s.accuracy:>9.1f} "
            f"{100 * p:>7.1f} {100 * r:>7.1f} {100 * f:>7.1f}"
        )
    return "\n".join(lines)
