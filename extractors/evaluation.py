"""Scoring predictions against gold annotations: the numbers ``kg eval`` and training report.

* **strict mentions**: a predicted mention counts when its start, end and type equal a gold
  mention's in the same document;
* **document concepts**: per document, the set of (type, identifier) pairs, as in BC5CDR's
  normalization task; gold mentions without an identifier (``-``) are left out of both sides.

Scores are micro-averaged per type and over all types.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kg.schema import EntityType, RelationType


@dataclass(slots=True)
class PRF:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, gold: set, pred: set) -> None:
        self.tp += len(gold & pred)
        self.fp += len(pred - gold)
        self.fn += len(gold - pred)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "precision": round(100 * self.precision, 2),
            "recall": round(100 * self.recall, 2),
            "f1": round(100 * self.f1, 2),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


#: A mention reduced to what scoring looks at: (start, end, type, ids).
Item = tuple[int, int, EntityType, tuple[str, ...]]


def score_mentions(
    gold: Mapping[str, Iterable[Item]],
    pred: Mapping[str, Iterable[Item]],
    types: Iterable[EntityType] | None = None,
) -> dict[str, PRF]:
    """Strict mention P/R/F1 per type (and ``"all"``) over the documents of ``gold``."""
    keep = set(types) if types is not None else set(EntityType)
    scores: dict[str, PRF] = defaultdict(PRF)
    for pmid, gold_items in gold.items():
        g = {(s, e, t) for s, e, t, _ in gold_items if t in keep}
        p = {(s, e, t) for s, e, t, _ in pred.get(pmid, ()) if t in keep}
        for t in keep:
            scores[t.value].add({x for x in g if x[2] == t}, {x for x in p if x[2] == t})
        scores["all"].add(g, p)
    return dict(scores)


def score_concepts(
    gold: Mapping[str, Iterable[Item]],
    pred: Mapping[str, Iterable[Item]],
    types: Iterable[EntityType] | None = None,
) -> dict[str, PRF]:
    """Document-level (type, identifier) P/R/F1 per type (and ``"all"``)."""
    keep = set(types) if types is not None else set(EntityType)

    def concepts(items: Iterable[Item]) -> set[tuple[EntityType, str]]:
        return {
            (t, i)
            for _, _, t, ids in items
            if t in keep
            for i in ids
            if i and i != "-" and not i.startswith("KGP:")
        }

    scores: dict[str, PRF] = defaultdict(PRF)
    for pmid, gold_items in gold.items():
        g = concepts(gold_items)
        p = concepts(pred.get(pmid, ()))
        for t in keep:
            scores[t.value].add({x for x in g if x[0] == t}, {x for x in p if x[0] == t})
        scores["all"].add(g, p)
    return dict(scores)


def format_table(title: str, scores: Mapping[str, PRF]) -> str:
    """A fixed-width table of P/R/F1 per type, types with no gold and no prediction left out."""
    lines = [title, f"  {'type':<10} {'P':>6} {'R':>6} {'F1':>6} {'gold':>6} {'pred':>6}"]
    for name, s in sorted(scores.items(), key=lambda kv: (kv[0] == "all", kv[0])):
        if s.tp + s.fp + s.fn == 0:
            continue
        lines.append(f"  {name:<10} {_cells(s)}")
    return "\n".join(lines)


def _cells(s: PRF) -> str:
    """P, R, F1 (percent), gold and predicted counts, in fixed-width columns."""
    return (
        f"{100 * s.precision:6.2f} {100 * s.recall:6.2f} {100 * s.f1:6.2f} "
        f"{s.tp + s.fn:6d} {s.tp + s.fp:6d}"
    )


#: A relation reduced to what scoring looks at: (id, id) in sorted order, type, novelty.
RelationItem = tuple[tuple[str, str], RelationType, bool | None]
RELATION_LEVELS = ("pair", "pair+type", "pair+type+novelty")


def relation_item(id1: str, id2: str, rtype: RelationType, novel: bool | None) -> RelationItem:
    a, b = sorted((id1, id2))
    return (a, b), rtype, novel


#: What a gold file can judge: relation types and unordered entity-type pairs.
Scope = tuple[frozenset[RelationType], frozenset[frozenset[EntityType]]]
#: BC5CDR's scope: chemical-induced disease only (read as Positive_Correlation).
CID_SCOPE: Scope = (
    frozenset({RelationType.POSITIVE_CORRELATION}),
    frozenset({frozenset((EntityType.CHEMICAL, EntityType.DISEASE))}),
)


def relation_scope(
    gold: Mapping[str, Iterable[RelationItem]], types: Mapping[str, Mapping[str, EntityType]]
) -> Scope | None:
    """The scope of a gold file: BC5CDR's when it states only chemical-induced disease, else
    none (everything is judged).

    BC5CDR annotates only chemical-induced disease: a predicted gene–disease association, or a
    chemical that treats a disease, is outside what it can confirm or deny, so it is left out
    of both sides rather than counted as a false positive. A file that states other types
    (BioRED) judges every prediction, including types it happens not to contain.
    """
    rtypes: set[RelationType] = set()
    pairs: set[frozenset[EntityType]] = set()
    for pmid, items in gold.items():
        for (a, b), rtype, _ in items:
            rtypes.add(rtype)
            doc_types = types.get(pmid, {})
            if a in doc_types and b in doc_types:
                pairs.add(frozenset((doc_types[a], doc_types[b])))
    if rtypes and rtypes <= CID_SCOPE[0] and pairs <= CID_SCOPE[1]:
        return CID_SCOPE
    return None


def score_relations(
    gold: Mapping[str, Iterable[RelationItem]],
    pred: Mapping[str, Iterable[RelationItem]],
    pred_types: Mapping[str, Mapping[str, EntityType]],
    scope: Scope | None = None,
) -> dict[str, PRF]:
    """Document-level relation P/R/F1 at three levels (:data:`RELATION_LEVELS`).

    * ``pair``: the two identifiers match, in either order;
    * ``pair+type``: and the relation type;
    * ``pair+type+novelty``: and the novelty flag (only where the gold states one).

    Predictions outside ``scope`` (relation types and entity-type pairs the gold annotates,
    :func:`relation_scope`) are not scored at any level; ``pred_types`` gives each predicted
    identifier's entity type per document.
    """
    scoped = in_scope(pred, pred_types, scope)
    scores: dict[str, PRF] = {level: PRF() for level in RELATION_LEVELS}
    for pmid, gold_items in gold.items():
        g = list(gold_items)
        p = scoped.get(pmid, [])
        scores["pair"].add({x[0] for x in g}, {x[0] for x in p})
        scores["pair+type"].add({x[:2] for x in g}, {x[:2] for x in p})
        if any(x[2] is not None for x in g):
            scores["pair+type+novelty"].add(set(g), set(p))
    if not scores["pair+type+novelty"].tp + scores["pair+type+novelty"].fn:
        del scores["pair+type+novelty"]
    return scores


def in_scope(
    pred: Mapping[str, Iterable[RelationItem]],
    pred_types: Mapping[str, Mapping[str, EntityType]],
    scope: Scope | None,
) -> dict[str, list[RelationItem]]:
    """The predictions a gold file with ``scope`` can judge (all of them when it is None)."""
    out: dict[str, list[RelationItem]] = {}
    for pmid, items in pred.items():
        doc_types = pred_types.get(pmid, {})
        out[pmid] = [
            item
            for item in items
            if scope is None
            or (
                item[1] in scope[0]
                and frozenset((doc_types.get(item[0][0]), doc_types.get(item[0][1]))) in scope[1]
            )
        ]
    return out


def relation_breakdown(
    gold: Mapping[str, Iterable[RelationItem]],
    pred: Mapping[str, Iterable[RelationItem]],
    entity_types: Mapping[str, Mapping[str, EntityType]],
    scope: Scope | None = None,
    pred_types: Mapping[str, Mapping[str, EntityType]] | None = None,
) -> dict[str, dict[str, PRF]]:
    """Relation scores per entity-type pair (``Chemical-Disease``: the levels of
    :func:`score_relations`) and per relation type (``Positive_Correlation``: pair+type, and
    novelty where the gold states it).

    Where one figure hides where a model fails (BioRED's gene-gene pairs, say), these show it.
    A relation's entity-type pair comes from ``entity_types`` (per document, the gold file's
    types of its identifiers, else the prediction's); both sides of a pair of identifiers thus
    fall in the same group. ``scope`` is applied as :func:`score_relations` applies it, with
    ``pred_types`` (default ``entity_types``), so the groups add up to its figures.
    """
    from extractors.relations.candidates import pair_name

    def kind(pmid: str, pair: tuple[str, str]) -> str:
        doc_types = entity_types.get(pmid, {})
        a, b = doc_types.get(pair[0]), doc_types.get(pair[1])
        return pair_name(a, b) if a is not None and b is not None else "unknown"

    groups: dict[str, tuple[dict[str, list], dict[str, list]]] = {}
    pmids = set(gold)
    for side, items in enumerate((gold, in_scope(pred, pred_types or entity_types, scope))):
        for pmid, xs in items.items():
            if pmid not in pmids:
                continue
            for x in xs:
                for name in (kind(pmid, x[0]), x[1].value):
                    if name not in groups:  # every gold document, so that misses count
                        groups[name] = ({p: [] for p in pmids}, {})
                    groups[name][side].setdefault(pmid, []).append(x)
    out: dict[str, dict[str, PRF]] = {}
    types = {t.value for t in RelationType}
    for name in sorted(groups, key=lambda n: (n in types, n)):
        scores = score_relations(*groups[name], {})
        if name in types:
            scores.pop("pair")  # one type's pairs that match are matches of its type too
        out[name] = scores
    return out


def format_breakdown(title: str, breakdown: Mapping[str, Mapping[str, PRF]]) -> str:
    """A fixed-width table of :func:`relation_breakdown`: pair and pair+type F1 per group."""
    lines = [
        title,
        f"  {'group':<22} {'level':<10} {'P':>6} {'R':>6} {'F1':>6} {'gold':>6} {'pred':>6}",
    ]
    for name, scores in breakdown.items():
        for level in ("pair", "pair+type"):
            s = scores.get(level)
            if s is None:
                continue
            lines.append(f"  {name:<22} {level:<10} {_cells(s)}")
    return "\n".join(lines)
