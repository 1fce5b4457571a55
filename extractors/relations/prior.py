"""What curated knowledge already says about a pair: a prior for the relation model.

A chemical and a disease that other papers were curated as related (CTD's chemical–disease
relations, as ChemDisGene's ``ctd_derived/train_relationships.tsv.gz`` carries them) are more
likely related in a new paper that names both: on BC5CDR dev with gold entities, 37.5% of the
chemical–disease pairs that three or more other papers support are CID relations, against 10.8%
of the pairs no other paper supports. The model reads one abstract and cannot know that.

:class:`KnownRelations` counts, for a pair of entities, the papers that support it **other than
the document being read**: a paper CTD curated must not vouch for itself (that would copy the
curation, not read the text; the corpora's own documents are among CTD's papers). The pair is
unordered (the file lists chemical and disease in either order).

The relation model adds ``log_support * log(1 + n) + supported * [n > 0]`` to the logit of a
pair's best type for the entity-type pairs its record's ``prior`` names, ``n`` the number of
other supporting papers (:func:`logit_shift`); ``kg tune re`` chooses the weights on dev with
the thresholds. The kept score is the shifted one.

The curators' labels also say which way a pair goes, which the model cannot tell well: it
scores a drug given for a disease as high as one that causes it (docs/models/re.md, "treats
comes out as causes"). Where the record's weights hold ``types: 1``, a kept pair takes the type
of :data:`LABEL_TYPES` whose label more of the other papers carry (a chemical curated as
therapeutic for the disease: Negative_Correlation, which the graph writes as ``biolink:treats``;
as a marker or mechanism of it: Positive_Correlation, ``biolink:causes``); on a tie, or with no
labelled support, the model's type stays (:meth:`KnownRelations.known_type`). The model still
decides *whether* the pair is related; the labels only decide *which way*. On BioRED train,
of the chemical–disease relations whose other papers lean one way, 61 of the 67 leaning
therapeutic are Negative_Correlation (4 Association, 2 Positive_Correlation) and 170 of the 188
leaning marker/mechanism are Positive_Correlation. A pair no paper supports keeps the model's
score, but its entity-type pair's threshold is tuned together with the weights, so the prior
does favour known facts over new ones: docs/models/re.md has the figures with and without it,
and ``[extract] known_relations = "none"`` turns it off (literature-based discovery of new
chemical–disease links may prefer that).
"""

from __future__ import annotations

import gzip
import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kg.errors import ConfigError, InputError
from kg.schema import RelationType

#: ChemDisGene's CTD-derived relations (CC0): PMID, label, two identifiers.
DEFAULT_FILE = (
    Path(__file__).resolve().parents[2].parent
    / "shared/data/corpora/chemdisgene/ctd_derived/train_relationships.tsv.gz"
)

#: Entity-type pairs the shipped weights cover: the file's chemical–gene and gene–disease rows
#: did not help on dev (docs/models/re.md), so only chemical–disease rows are kept.
PRIOR_KINDS = ("Chemical-Disease",)
_LABEL_PREFIX = "chem_disease:"

#: A chemical–disease label of the file (after ``chem_disease:``) -> the relation type it says.
LABEL_TYPES: dict[str, RelationType] = {
    "therapeutic": RelationType.NEGATIVE_CORRELATION,
    "marker/mechanism": RelationType.POSITIVE_CORRELATION,
}
#: One pair's papers by label.
Labels = Mapping[str, frozenset[str]]


def _curie(raw: str) -> str:
    """The file's ``MESH:D001`` stays; a bare number is an NCBI Gene ID."""
    return raw if ":" in raw else f"NCBIGene:{raw}"


@dataclass(frozen=True, slots=True)
class PriorHint:
    """What the prior says of one candidate pair: a logit shift and, maybe, its type."""

    shift: float = 0.0
    type: RelationType | None = None


class KnownRelations:
    """Pair of entity IDs -> the PMIDs of the papers curated as supporting it, by label."""

    def __init__(self, labels: Mapping[tuple[str, str], Labels], source: str = "") -> None:
        self._labels = labels
        self.source = source

    @classmethod
    def read(cls, path: Path) -> KnownRelations:
        """The chemical–disease rows of a CTD-derived relations file (TSV, optionally gzipped)."""
        if not path.is_file():
            raise ConfigError(
                f"known relations file not found: {path}",
                hint='set [extract] known_relations to the file, or "none" for no prior',
            )
        opener = gzip.open if path.suffix == ".gz" else open
        found: defaultdict[tuple[str, str], defaultdict[str, set[str]]] = defaultdict(
            lambda: defaultdict(set)
        )
        with opener(path, "rt", encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                parts = line.rstrip("\n").split("\t")
                if len(parts) != 4:
                    raise InputError(
                        f"{path}:{number}: expected PMID, label and two IDs, tab-separated; "
                        f"got {len(parts)} fields",
                        hint="pass ChemDisGene's ctd_derived/*_relationships.tsv[.gz]",
                    )
                pmid, label, a, b = parts
                if label.startswith(_LABEL_PREFIX):
                    found[_key(_curie(a), _curie(b))][label[len(_LABEL_PREFIX) :]].add(pmid)
        labels = {k: {n: frozenset(p) for n, p in v.items()} for k, v in found.items()}
        return cls(labels, str(path))

    def __len__(self) -> int:
        return len(self._labels)

    def support(self, id1: str, id2: str, pmid: str) -> int:
        """Papers other than ``pmid`` that support the (unordered) pair, under any label."""
        by_label = self._labels.get(_key(id1, id2))
        if not by_label:
            return 0
        sets = list(by_label.values())
        papers = sets[0] if len(sets) == 1 else frozenset().union(*sets)
        return len(papers) - (pmid in papers)

    def known_type(self, id1: str, id2: str, pmid: str) -> RelationType | None:
        """The type of :data:`LABEL_TYPES` whose label more papers other than ``pmid`` give the
        (unordered) pair than any other label; None on a tie or without such papers."""
        by_label = self._labels.get(_key(id1, id2), {})
        others = ((len(p) - (pmid in p), n) for n, p in by_label.items() if n in LABEL_TYPES)
        counts = sorted(others, reverse=True)
        if not counts or counts[0][0] == 0 or (len(counts) > 1 and counts[1][0] == counts[0][0]):
            return None
        return LABEL_TYPES[counts[0][1]]

    def hint(self, id1: str, id2: str, pmid: str, weights: Mapping[str, float]) -> PriorHint:
        """The shift (:func:`logit_shift`) and, where ``weights`` hold ``types: 1``, the type
        (:meth:`known_type`) the prior gives a pair read in ``pmid``."""
        shift = logit_shift(weights, self.support(id1, id2, pmid))
        known = self.known_type(id1, id2, pmid) if weights.get("types") else None
        return PriorHint(shift, known)


def _key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def logit_shift(weights: Mapping[str, float], support: int) -> float:
    """What ``support`` other papers add to a pair's logit under ``weights`` (module doc)."""
    if support <= 0:
        return 0.0
    return weights.get("log_support", 0.0) * math.log1p(support) + weights.get("supported", 0.0)


def resolve_known_relations(value: str) -> Path | None:
    """``[extract] known_relations``: "default" (the shared file where it exists), "none", or a
    path."""
    if value == "none":
        return None
    if value == "default":
        return DEFAULT_FILE if DEFAULT_FILE.is_file() else None
    return Path(value).expanduser()
