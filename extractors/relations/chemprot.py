"""ChemProt (BioCreative VI) read as a relation training corpus of chemical–gene relations.

A split is three TSV files in one folder (``chemprot_<split>_abstracts.tsv``, ``_entities.tsv``,
``_relations.tsv``): abstracts as PMID, title, text; mentions as PMID, ``T1``, CHEMICAL /
GENE-Y / GENE-N, start, end, text, offsets into the title and text joined by one space (what
:attr:`kg.model.Document.text` is); relations between two mentions with a CPR group.

ChemProt links no mention to an identifier, and the relation model groups mentions by
identifier. So each distinct name of a type in a document is one entity, keyed
``CHEMPROT:<type>:<normalized name>``: "aspirin" and "acetylsalicylic acid" stay two. Those keys
never reach the graph; they only group mentions while training.

The CPR groups that say how a chemical changes a gene's product are read as BioRED's types
(:data:`CPR_TYPES`): up-regulators, activators and agonists as Positive_Correlation,
down-regulators, inhibitors and antagonists as Negative_Correlation. CPR:10 ("not") states that
there is no relation. The other groups (part of, regulator, modulator, cofactor, substrate or
product) have no BioRED type; their pairs are unknown, so no type of theirs is trained.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from extractors.vocab import normalize_name
from kg.errors import InputError
from kg.model import AnnotatedRelation, Document, Mention
from kg.schema import EntityType, RelationType

POS, NEG = RelationType.POSITIVE_CORRELATION, RelationType.NEGATIVE_CORRELATION
#: CPR groups with a BioRED type; None: a stated absence of any relation.
CPR_TYPES: dict[str, RelationType | None] = {
    "CPR:3": POS,  # up-regulator, activator, indirect up-regulator
    "CPR:4": NEG,  # down-regulator, inhibitor, indirect down-regulator
    "CPR:5": POS,  # agonist, agonist-activator
    "CPR:6": NEG,  # antagonist
    "CPR:10": None,  # not
}
ENTITY_TYPES = {
    "CHEMICAL": EntityType.CHEMICAL,
    "GENE-Y": EntityType.GENE,
    "GENE-N": EntityType.GENE,
}

Pair = tuple[str, str]


@dataclass(frozen=True, slots=True)
class _Mention:
    start: int
    end: int
    text: str
    type: EntityType

    @property
    def key(self) -> str:
        return f"CHEMPROT:{self.type.value}:{normalize_name(self.text)}"


def split_files(folder: Path) -> tuple[Path, Path, Path]:
    """The abstracts, entities and relations files of the split in ``folder``."""
    found = sorted(folder.glob("chemprot_*_abstracts.tsv"))
    if len(found) != 1:
        raise InputError(
            f"{folder}: expected one chemprot_<split>_abstracts.tsv, found {len(found)}",
            hint="point at a ChemProt split folder (chemprot/training or chemprot/development)",
        )
    stem = str(found[0]).removesuffix("_abstracts.tsv")
    return found[0], Path(f"{stem}_entities.tsv"), Path(f"{stem}_relations.tsv")


def read_chemprot(folder: Path) -> list[tuple[Document, frozenset[Pair]]]:
    """The split's documents with mentions and relations, and per document the entity pairs
    ChemProt relates by a group without a BioRED type (unknown: masked in training)."""
    abstracts, entities, relations = split_files(folder)
    texts: dict[str, tuple[str, str]] = {}
    for _, cols in _rows(abstracts, 3):
        texts[cols[0]] = (cols[1], cols[2])
    mentions: dict[str, dict[str, _Mention]] = {}
    for n, cols in _rows(entities, 6):
        pmid, tid, kind, start, end, text = cols
        if kind not in ENTITY_TYPES or pmid not in texts:
            raise InputError(
                f"{entities}:{n}: mention {tid} of {pmid}: unknown type {kind!r} or document",
                hint=f"types are {', '.join(ENTITY_TYPES)}; every PMID needs its abstract",
            )
        title, body = texts[pmid]
        full = f"{title} {body}"
        a, b = int(start), int(end)
        if full[a:b] != text:
            raise InputError(
                f"{entities}:{n}: mention {tid} of {pmid} ({text!r}) is not at {a}-{b}",
                hint="offsets count from the title's start, title and text joined by a space",
            )
        mentions.setdefault(pmid, {})[tid] = _Mention(a, b, text, ENTITY_TYPES[kind])
    stated: dict[str, dict[Pair, set[RelationType | None]]] = {}
    unknown: dict[str, set[Pair]] = {}
    for n, cols in _rows(relations, 6):
        pmid, group = cols[0], cols[1].strip()
        ends = [mentions.get(pmid, {}).get(arg.split(":", 1)[-1]) for arg in cols[4:6]]
        if ends[0] is None or ends[1] is None:
            raise InputError(
                f"{relations}:{n}: relation {group} of {pmid} names a mention that is not in "
                f"{entities.name}",
                hint="the three files of a split belong together",
            )
        pair: Pair = tuple(sorted((ends[0].key, ends[1].key)))  # type: ignore[assignment]
        if group in CPR_TYPES:
            stated.setdefault(pmid, {}).setdefault(pair, set()).add(CPR_TYPES[group])
        else:
            unknown.setdefault(pmid, set()).add(pair)
    out = []
    for pmid, (title, body) in texts.items():
        found = sorted(mentions.get(pmid, {}).values(), key=lambda m: (m.start, m.end))
        doc_mentions = tuple(
            Mention(m.start, m.end, m.text, m.type, (m.key,), source="annotation") for m in found
        )
        rels = tuple(
            AnnotatedRelation(t, a, b)
            for (a, b), types in sorted(stated.get(pmid, {}).items())
            for t in sorted((t for t in types if t is not None), key=lambda t: t.value)
        )
        doc = Document(pmid, title, body, mentions=doc_mentions, relations=rels, source=str(folder))
        out.append((doc, frozenset(unknown.get(pmid, set()))))
    return out


def _rows(path: Path, width: int):
    """(line number, columns) of a TSV file, each row ``width`` columns wide."""
    if not path.exists():
        raise InputError(f"{path}: file not found", hint="a ChemProt split has three TSV files")
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            cols = line.rstrip("\n").split("\t")
            if not line.strip():
                continue
            if len(cols) < width:
                raise InputError(
                    f"{path}:{n}: {len(cols)} columns, expected {width}",
                    hint="ChemProt's files are tab-separated, one record a line",
                )
            yield n, cols[:width]
