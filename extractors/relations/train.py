"""``kg train re``: fine-tune the relation model on gold entities (and, where asked, on the
entity stage's), keep the best epoch.

The corpora (:data:`TRAIN_CORPORA`) each say which relation types they annotate between which
entity types; a corpus trains only those sigmoids (the others are masked), so BC5CDR's
chemical-induced disease teaches Positive_Correlation on chemical–disease pairs and is silent
about the rest. After each epoch the model scores the dev splits *with gold entities*, the
decision threshold is chosen on them (the mean pair+type F1 over the dev corpora), and the best
epoch is kept. Reproducible: documents, shuffling and initialization follow ``seed``; the record
of the run goes into ``relations.json``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from extractors.evaluation import PRF
from extractors.relations.candidates import pair_name
from extractors.relations.prior import PRIOR_KINDS, KnownRelations, resolve_known_relations
from extractors.relations.scorer import (
    RELATIONS,
    TYPES,
    Encoded,
    RelationModel,
    build_model,
    check_context,
    decode,
    encode,
    load_encoder_for_relations,
    pair_priors,
)
from extractors.training import (
    batches_by_length,
    forward_precision,
    optimizer,
    progress_bar,
    seeded,
    settings_record,
    step,
)
from kg.errors import ConfigError
from kg.model import AnnotatedRelation, Document
from kg.schema import EntityType, RelationType

C, D = EntityType.CHEMICAL, EntityType.DISEASE


@dataclass(frozen=True, slots=True)
class RelationCorpus:
    """An annotated file and what it annotates: relation types (None: all) on which pairs."""

    name: str
    path: str
    #: relation types annotated; None = all eight
    types: frozenset[RelationType] | None = None
    #: entity-type pairs annotated; None = every allowed pair
    pairs: frozenset[frozenset[EntityType]] | None = None
    novelty: bool = False
    #: ``pubtator`` (a file kg.readers reads) or ``chemprot`` (a ChemProt split folder)
    reader: str = "pubtator"
    #: TSV files (pmid, label, id1, id2) with the relations, when the text file has none
    relation_files: tuple[str, ...] = ()
    #: their labels as relation types; a label mapped to None marks its pair as unknown
    labels: tuple[tuple[str, RelationType | None], ...] = ()
    #: more text files of the corpus, read after ``path``
    more_paths: tuple[str, ...] = ()
    #: corpora whose documents this one leaves out: they annotate the same abstracts better
    defer_to: tuple[str, ...] = ()


#: Parameters trained at the head learning rate; the encoder's at the encoder's.
HEAD_PREFIXES = ("project.", "pair_type.", "head.")
CID = frozenset({RelationType.POSITIVE_CORRELATION})
CHEM_DISEASE = frozenset({frozenset((C, D))})
#: What ChemDisGene relates: chemicals with diseases and with genes.
CHEM_DISEASE_GENE = frozenset({frozenset((C, D)), frozenset((C, EntityType.GENE))})
POS, NEG, BIND = (
    RelationType.POSITIVE_CORRELATION,
    RelationType.NEGATIVE_CORRELATION,
    RelationType.BIND,
)
#: ChemDisGene's curated labels (CTD's interaction types) read as BioRED's. CTD's chemical-disease
#: "marker/mechanism" is what BC5CDR's chemical-induced disease was drawn from.
CHEMDISGENE_LABELS: tuple[tuple[str, RelationType | None], ...] = (
    ("chem^disease:marker/mechanism", POS),
    ("chem^disease:therapeutic", NEG),
    ("chem^gene:increases-expression", POS),
    ("chem^gene:increases-activity", POS),
    ("chem^gene:decreases-expression", NEG),
    ("chem^gene:decreases-activity", NEG),
    ("chem^gene:affects-binding", BIND),
)
#: ChemDisGene's CTD-derived labels (the same interaction types, spelt otherwise); a pair CTD
#: relates another way (transport, localization, metabolic processing) is left unknown.
CTD_DERIVED_LABELS: tuple[tuple[str, RelationType | None], ...] = (
    ("chem_disease:marker/mechanism", POS),
    ("chem_disease:therapeutic", NEG),
    ("chem_gene:increases^expression", POS),
    ("chem_gene:increases^activity", POS),
    ("chem_gene:decreases^expression", NEG),
    ("chem_gene:decreases^activity", NEG),
    ("chem_gene:affects^binding", BIND),
)
TRAIN_CORPORA: tuple[RelationCorpus, ...] = (
    RelationCorpus("biored", "biored/train.pubtator", novelty=True),
    RelationCorpus("bc5cdr", "bc5cdr/train.pubtator", CID, CHEM_DISEASE),
    RelationCorpus(
        "chemdisgene",
        "chemdisgene/curated/abstracts.txt.gz",
        frozenset({POS, NEG, BIND}),
        CHEM_DISEASE_GENE,
        relation_files=(
            "chemdisgene/curated/approved_relns_ctd_v0.tsv.gz",
            "chemdisgene/curated/approved_relns_new_v0.tsv.gz",
        ),
        labels=CHEMDISGENE_LABELS,
    ),
    # Distant supervision: the relations CTD's curators indexed for each abstract, over
    # ChemDisGene's annotated mentions (its dev and test splits; its train split has no text).
    # Not exhaustive: a related pair CTD never indexed reads as unrelated.
    RelationCorpus(
        "ctd_derived",
        "chemdisgene/ctd_derived/dev_abstracts.txt.gz",
        frozenset({POS, NEG, BIND}),
        CHEM_DISEASE_GENE,
        relation_files=(
            "chemdisgene/ctd_derived/dev_relationships.tsv.gz",
            "chemdisgene/ctd_derived/test_relationships.tsv.gz",
        ),
        labels=CTD_DERIVED_LABELS,
        more_paths=("chemdisgene/ctd_derived/test_abstracts.txt.gz",),
        defer_to=("chemdisgene",),
    ),
    RelationCorpus(
        "chemprot",
        "chemprot/training",
        frozenset({POS, NEG}),
        frozenset({frozenset((C, EntityType.GENE))}),
        reader="chemprot",
    ),
)
#: What ``kg train re`` trains on unless ``--use`` says otherwise.
DEFAULT_CORPORA: tuple[str, ...] = ("biored", "bc5cdr", "chemdisgene")
DEV_CORPORA: tuple[RelationCorpus, ...] = (
    RelationCorpus("biored", "biored/dev.pubtator", novelty=True),
    RelationCorpus("bc5cdr", "bc5cdr/dev.pubtator", CID, CHEM_DISEASE),
)


def corpus_by_name(name: str, dev: bool = False) -> RelationCorpus:
    table = {c.name: c for c in (DEV_CORPORA if dev else TRAIN_CORPORA)}
    if name not in table:
        raise ConfigError(f"unknown corpus {name!r}", hint=f"choose from {', '.join(table)}")
    return table[name]


@dataclass
class TrainConfig:
    corpora_dir: Path
    out: Path
    base: str = "all-MiniLM-L6-v2"
    corpora: tuple[str, ...] = DEFAULT_CORPORA
    dev: tuple[str, ...] = tuple(c.name for c in DEV_CORPORA)
    #: Start the encoder from a tagger artifact's fine-tuned layers (the shipped NER model).
    init_tagger: Path | None = None
    #: Continue from a relation model's weights (a folder of kg train re); beats init_tagger.
    init: Path | None = None
    #: Weight of a cross-entropy over the types of each related pair, next to the per-type
    #: sigmoids: it trains the choice between types (Positive vs Negative_Correlation) directly.
    type_loss: float = 0.0
    #: Exponent of each type's positive weight, (negatives / positives) ** balance, capped at
    #: :data:`MAX_TYPE_WEIGHT`: 0 weighs every cell alike, and rare types (Negative_Correlation
    #: is positive in 5% of the cells that state it) drown among the easy negatives.
    type_balance: float = 0.0
    #: Corpora trained a second time with the entity stage's mentions in place of the gold ones
    #: (:func:`with_found_mentions`), so that the model meets the markers it is run on.
    found_entities: tuple[str, ...] = ()
    #: Forward passes in float32 or under bfloat16 autocast (faster where the CPU has it).
    precision: str = "float32"
    epochs: int = 4
    batch_size: int = 4
    lr: float = 5e-5
    head_lr: float = 1e-3
    warmup: float = 0.06
    max_len: int = 512
    #: What the encoder reads (scorer.CONTEXTS); None: the record's (the ``init`` model's
    #: when training, else "abstract"; for ``kg tune re`` the tuned model's)
    context: str | None = None
    seed: int = 13
    threads: int | None = None
    max_docs: int | None = None
    #: None: 1, or the next after the version of the ``init`` model
    version: str | None = None
    name: str = "kg-re"
    #: ``kg tune re``: the known-relations file whose prior is tuned with the thresholds
    #: ("default", "none" or a path; extractors/relations/prior.py)
    known_relations: str = "default"
    extra: dict[str, Any] = field(default_factory=dict)


def read_docs(config: TrainConfig, corpus: RelationCorpus) -> list[Document]:
    return [doc for doc, _ in read_corpus(config, corpus)]


Pair = tuple[str, str]


def read_corpus(
    config: TrainConfig, corpus: RelationCorpus
) -> list[tuple[Document, frozenset[Pair]]]:
    """The corpus's documents with their relations, and per document the pairs whose
    relation type is unknown (stated with a label outside ``corpus.labels``)."""
    for name in (corpus.path, *corpus.more_paths):
        if not (config.corpora_dir / name).exists():
            raise ConfigError(
                f"corpus file not found: {config.corpora_dir / name}",
                hint="point --corpora at the folder holding biored/, bc5cdr/ and chemdisgene/",
            )
    if corpus.reader == "chemprot":
        from extractors.relations.chemprot import read_chemprot

        rows = read_chemprot(config.corpora_dir / corpus.path)
        return rows[: config.max_docs] if config.max_docs else rows
    docs = _documents(config, corpus)
    if corpus.defer_to:
        better = {
            d.pmid for name in corpus.defer_to for d in _documents(config, corpus_by_name(name))
        }
        docs = [d for d in docs if d.pmid not in better]
    docs = docs[: config.max_docs] if config.max_docs else docs
    if not corpus.relation_files:
        return [(d, frozenset()) for d in docs]
    stated = _relation_table(config.corpora_dir, corpus)
    out = []
    for doc in docs:
        rels, unknown = [], set()
        for label, a, b in stated.get(doc.pmid, ()):
            rtype = dict(corpus.labels).get(label)
            if rtype is None:
                unknown.add(tuple(sorted((a, b))))
            else:
                rels.append(AnnotatedRelation(rtype, a, b))
        out.append((replace(doc, relations=tuple(rels)), frozenset(unknown)))
    return out


def _documents(config: TrainConfig, corpus: RelationCorpus) -> list[Document]:
    """The documents of a PubTator corpus's text files, all of them (no ``max_docs``), as they
    stand there (relations kept apart in ``relation_files`` are not read)."""
    from kg.readers import read_path

    return [
        d
        for p in (corpus.path, *corpus.more_paths)
        for d in read_path(config.corpora_dir / p, "pubtator")
        if isinstance(d, Document)
    ]


def _relation_table(root: Path, corpus: RelationCorpus) -> dict[str, list[tuple[str, str, str]]]:
    import gzip

    from kg.identifiers import normalize_ids

    def curie(raw: str) -> str:
        etype = EntityType.GENE if raw.isdigit() else EntityType.CHEMICAL
        found = normalize_ids(raw, etype)
        return found[0] if found else raw

    table: dict[str, list[tuple[str, str, str]]] = {}
    for name in corpus.relation_files:
        with gzip.open(root / name, "rt", encoding="utf-8") as fh:
            for line in fh:
                cols = line.rstrip("\n").split("\t")
                if len(cols) >= 4:
                    table.setdefault(cols[0], []).append((cols[1], curie(cols[2]), curie(cols[3])))
    return table


@dataclass(slots=True)
class Example:
    encoded: Encoded
    #: per pair: per type 1.0/0.0, None where the corpus says nothing
    labels: list[list[float | None]]
    novelty: list[float | None]


#: The largest positive weight :attr:`TrainConfig.type_balance` gives a type.
MAX_TYPE_WEIGHT = 8.0


def type_weights(data: Sequence[Example], balance: float) -> list[float]:
    """Each relation type's positive weight: (negatives / positives) ** balance, in [1, cap]."""
    weights = []
    for t in range(len(TYPES)):
        cells = [row[t] for e in data for row in e.labels if row[t] is not None]
        positives = sum(1 for v in cells if v == 1.0)
        ratio = (len(cells) - positives) / positives if positives else 1.0
        weights.append(round(min(MAX_TYPE_WEIGHT, max(1.0, ratio**balance)), 3))
    return weights


def with_found_mentions(
    rows: Sequence[tuple[Document, frozenset[Pair]]], extractor: Any
) -> list[tuple[Document, frozenset[Pair]]]:
    """The documents with the mentions ``extractor`` finds in place of the gold ones.

    A found mention that overlaps a gold mention of its type takes the gold identifiers, so the
    labels stay what the corpus states and only the set of mentions changes: spans the entity
    stage misses are gone, and those it adds are unrelated to everything.
    """
    found = extractor.batch([replace(d, mentions=(), relations=()) for d, _ in rows])
    out = []
    for (doc, unknown), seen in zip(rows, found, strict=True):
        mentions = []
        for m in seen.mentions:
            gold = next(
                (
                    g
                    for g in doc.mentions
                    if g.type is m.type and g.ids and g.start < m.end and m.start < g.end
                ),
                None,
            )
            mentions.append(replace(m, ids=gold.ids) if gold is not None else m)
        out.append((replace(doc, mentions=tuple(mentions)), unknown))
    return out


def label(
    encoded: Encoded, doc: Document, corpus: RelationCorpus, unknown: frozenset[Pair] = frozenset()
) -> Example:
    """Targets for every candidate pair: what the corpus says, masked where it says nothing."""
    types: dict[Pair, set[RelationType]] = {}
    novel: dict[Pair, bool | None] = {}
    for r in doc.relations:
        key = tuple(sorted((r.id1, r.id2)))
        types.setdefault(key, set()).add(r.type)
        novel.setdefault(key, r.novel)
    labels: list[list[float | None]] = []
    novelty: list[float | None] = []
    for a, b in encoded.pairs:
        ea, eb = encoded.entities[a], encoded.entities[b]
        key = tuple(sorted((ea.id, eb.id)))
        known = key not in unknown and (
            corpus.pairs is None or frozenset((ea.type, eb.type)) in corpus.pairs
        )
        stated = types.get(key, set())
        row: list[float | None] = []
        for t in TYPES:
            if not known or (corpus.types is not None and t not in corpus.types):
                row.append(None)
            else:
                row.append(1.0 if t in stated else 0.0)
        labels.append(row)
        flag = novel.get(key)
        novelty.append(float(flag) if corpus.novelty and stated and flag is not None else None)
    return Example(encoded, labels, novelty)


def dev_evaluation(
    model: RelationModel, corpora: Sequence[tuple[RelationCorpus, list[Document]]]
) -> tuple[float, dict[str, dict[str, PRF]]]:
    """Gold-entity dev scores at the best shared threshold: (threshold, scores per corpus)."""
    scored = {c.name: (c, docs, model.scores(docs)) for c, docs in corpora}
    best: tuple[float, float, dict[str, dict[str, PRF]]] = (-1.0, 0.5, {})
    for percent in range(5, 96, 5):
        threshold = percent / 100
        result = {}
        for name, (_, docs, scores) in scored.items():
            result[name] = score_docs(docs, scores, model.types, threshold)
        mean = sum(r["pair+type"].f1 for r in result.values()) / max(len(result), 1)
        if mean > best[0]:
            best = (mean, threshold, result)
    return best[1], best[2]


#: The prior's weights ``kg tune re`` tries (extractors/relations/prior.py); ``types`` 1 lets
#: the curators' labels choose a kept pair's type.
PRIOR_GRID = tuple(
    {"log_support": a / 4, "supported": b / 2, "types": c}
    for a in range(7)
    for b in range(-2, 3)
    for c in (0, 1)
)


def tune_pair_thresholds(
    model: RelationModel,
    corpora: Sequence[tuple[RelationCorpus, list[Document]]],
    passes: int = 2,
    prior: KnownRelations | None = None,
) -> tuple[dict[str, float], dict[str, dict[str, float]], dict[str, dict[str, PRF]]]:
    """Thresholds per entity-type pair (``Chemical-Disease``), and with ``prior`` its weights
    for :data:`PRIOR_KINDS`, that maximize the mean dev pair+type F1 (gold entities):
    (thresholds, prior weights, scores).

    Pairs of types differ in how often they are related (BioRED relates most gene-disease
    pairs it annotates, few chemical pairs), so one threshold suits none of them well.
    Coordinate ascent from the shared threshold and no prior: each entity-type pair that dev
    has candidates of takes in turn the value of 0.05, 0.10, ... 0.95 that scores best with the
    others fixed, then each prior kind the weights of :data:`PRIOR_GRID`; ``passes`` rounds.
    """
    scored = [(docs, model.scores(docs)) for _, docs in corpora]
    kinds = sorted(
        {
            pair_name(enc.entities[a].type, enc.entities[b].type)
            for _, scores in scored
            for enc, _ in scores
            for a, b in enc.pairs
        }
    )
    limits: dict[str, float] = {}
    weights: dict[str, dict[str, float]] = {}
    prior_kinds = [k for k in PRIOR_KINDS if k in kinds] if prior is not None else []

    def objective(
        values: dict[str, float], prior_weights: dict[str, dict[str, float]]
    ) -> tuple[float, dict[str, dict[str, PRF]]]:
        result = {
            c.name: score_docs(
                docs, scores, model.types, model.threshold, values, prior, prior_weights
            )
            for (c, _), (docs, scores) in zip(corpora, scored, strict=True)
        }
        return sum(r["pair+type"].f1 for r in result.values()) / max(len(result), 1), result

    best, result = objective(limits, weights)
    for _ in range(passes):
        for kind in kinds:
            for percent in range(5, 96, 5):
                trial = {**limits, kind: percent / 100}
                value, found = objective(trial, weights)
                if value > best + 1e-9:
                    best, result, limits = value, found, trial
        for kind in prior_kinds:
            for grid in PRIOR_GRID:
                tried = {**weights, kind: grid}
                value, found = objective(limits, tried)
                if value > best + 1e-9:
                    best, result, weights = value, found, tried
    return dict(sorted(limits.items())), weights, result


def tune(config: TrainConfig, model_dir: Path, echo: Callable[[str], None] = print) -> dict:
    """``kg tune re``: tune a trained model's thresholds per entity-type pair (and the weights
    of the known-relations prior, where its file is there) on dev, rewrite its record."""
    from extractors.relations.scorer import load_relation_model

    if config.threads:
        import torch

        torch.set_num_threads(config.threads)
    model = load_relation_model(model_dir)
    if config.context is not None:
        model.context = check_context(config.context)
    path = resolve_known_relations(config.known_relations)
    prior = KnownRelations.read(path) if path is not None else None
    dev = [
        (corpus_by_name(n, dev=True), read_docs(config, corpus_by_name(n, dev=True)))
        for n in config.dev
    ]
    thresholds, weights, scores = tune_pair_thresholds(model, dev, prior=prior)
    summary = {
        name: {level: round(100 * s.f1, 2) for level, s in levels.items()}
        for name, levels in scores.items()
    }
    record = RELATIONS.read_config(model_dir)
    record.pop("type_thresholds", None)  # the per-type thresholds of earlier versions
    record["context"] = model.context
    record["pair_thresholds"] = thresholds
    record.pop("prior", None)
    if weights:
        record["prior"] = weights
    record["training"]["tuned_dev_f1"] = summary
    record["training"]["tuned_with_prior"] = path.name if path is not None else None
    RELATIONS.write_config(model_dir, record)
    echo(
        f"thresholds per entity-type pair {thresholds}; prior {weights or 'none'}; "
        f"dev F1 (gold entities) {summary}"
    )
    return record


def score_docs(
    docs: Sequence[Document],
    scores: Sequence[tuple[Encoded, Any]],
    types: Sequence[RelationType],
    threshold: float,
    pair_thresholds: Mapping[str, float] | None = None,
    prior: KnownRelations | None = None,
    prior_weights: Mapping[str, Mapping[str, float]] | None = None,
) -> dict[str, PRF]:
    """Scores of the relations kept at ``threshold`` and ``pair_thresholds``, with the prior
    where given (documents keep their gold mentions)."""
    from extractors.run import evaluate_relations

    predicted = [
        replace(
            d,
            relations=tuple(
                AnnotatedRelation(p.type, p.id1, p.id2, p.novel, p.score)
                for p in decode(
                    enc,
                    s,
                    types,
                    threshold,
                    pair_thresholds,
                    pair_priors(d, enc, prior, prior_weights or {}),
                )
            ),
        )
        for d, (enc, s) in zip(docs, scores, strict=True)
    ]
    return evaluate_relations(docs, predicted)


def train(
    config: TrainConfig, progress: bool = True, echo: Callable[[str], None] = print
) -> dict[str, Any]:
    """Train, evaluate on dev after each epoch, keep the best; returns the run record."""
    import torch

    started = time.monotonic()
    rng = seeded(config.seed, config.threads)
    encoder, tokenizer = load_encoder_for_relations(config.base)
    if config.init_tagger is not None:
        _encoder_from_tagger(encoder, config.init_tagger)
    encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    model = build_model(encoder, len(TYPES))
    model.special = (tokenizer.cls_token_id, tokenizer.sep_token_id)
    init_config: dict[str, Any] = {}
    if config.init is not None:
        RELATIONS.load_weights(model, config.init, config.base)
        init_config = RELATIONS.read_config(config.init)
    init_record = init_config.get("training")
    context = check_context(config.context or init_config.get("context") or "abstract")
    version = config.version or next_version(init_config.get("version"))
    dev = [
        (corpus_by_name(n, dev=True), read_docs(config, corpus_by_name(n, dev=True)))
        for n in config.dev
    ]
    # The corpora share abstracts (44 of BioRED's training abstracts are in BC5CDR's dev
    # split): a training document that is in any dev split is left out, or dev would score
    # documents the model was trained on.
    held_out = {d.pmid for _, docs in dev for d in docs}
    data: list[Example] = []
    counts: dict[str, dict[str, int]] = {}
    finder = _entity_stage() if config.found_entities else None
    for name in (*config.corpora, *(f"{n}+found" for n in config.found_entities)):
        corpus = corpus_by_name(name.removesuffix("+found"))
        rows = read_corpus(config, corpus)
        kept = [(d, unknown) for d, unknown in rows if d.pmid not in held_out]
        if name.endswith("+found"):
            kept = with_found_mentions(kept, finder)
        examples = [
            label(encode(tokenizer, d, config.max_len, context), d, corpus, u) for d, u in kept
        ]
        examples = [e for e in examples if e.encoded.pairs]
        positives = sum(1 for e in examples for row in e.labels if 1.0 in row)
        pairs = sum(len(e.labels) for e in examples)
        counts[name] = {
            "documents": len(examples),
            "pairs": pairs,
            "positive_pairs": positives,
            "left_out_in_dev": len(rows) - len(kept),
        }
        data.extend(examples)
    echo(f"training documents: {counts}")
    weights = type_weights(data, config.type_balance)
    if config.type_balance:
        echo(
            f"positive weight per type: {dict(zip((t.value for t in TYPES), weights, strict=True))}"
        )
    pos_weight = torch.tensor(weights)
    steps_per_epoch = math.ceil(len(data) / config.batch_size)
    total = steps_per_epoch * config.epochs
    optim, sched = optimizer(model, HEAD_PREFIXES, config.lr, config.head_lr, config.warmup, total)
    bce = torch.nn.BCEWithLogitsLoss(reduction="sum")
    ce = torch.nn.CrossEntropyLoss(reduction="sum")
    record: dict[str, Any] = {
        "name": config.name,
        "version": version,
        "base": config.base,
        "types": [t.value for t in TYPES],
        "max_len": config.max_len,
        "context": context,
        "threshold": 0.5,
        "training": {
            **settings_record(config),
            "version": version,
            "data": counts,
            "type_weights": weights,
            "epochs_dev": [],
            "init_training": init_record,
        },
    }
    best = -1.0
    bar = progress_bar(progress, total, "train re")
    for epoch in range(1, config.epochs + 1):
        model.train()
        running = 0.0
        groups = batches_by_length(data, config.batch_size, rng, _length)
        for n_step, batch in enumerate(groups, 1):
            with forward_precision(config.precision):
                logits = model([e.encoded for e in batch])
            loss = torch.zeros(())
            typed = torch.zeros(())
            n = n_typed = 0
            for e, lg in zip(batch, logits, strict=True):
                lg = lg.float()
                y, m = _targets(e.labels)
                cells = torch.nn.functional.binary_cross_entropy_with_logits(
                    lg[:, : len(TYPES)], y, pos_weight=pos_weight, reduction="none"
                )
                loss = loss + cells[m].sum()
                n += int(m.sum())
                yn, mn = _targets([[v] for v in e.novelty])
                if mn.any():
                    loss = loss + bce(lg[:, len(TYPES) :][mn], yn[mn])
                if config.type_loss:
                    related = (y == 1.0).sum(1) == 1  # one known type (not two at once)
                    if related.any():
                        target = y[related].argmax(1)
                        typed = typed + ce(lg[related][:, : len(TYPES)], target)
                        n_typed += int(related.sum())
            loss = loss / max(n, 1) + config.type_loss * typed / max(n_typed, 1)
            step(model, loss, optim, sched)
            running = 0.95 * running + 0.05 * loss.item() if n_step > 1 else loss.item()
            if bar is not None:
                bar.update(1)
                bar.set_postfix(epoch=epoch, loss=f"{running:.4f}")
        evaluated = RelationModel(model, tokenizer, record)
        threshold, scores = dev_evaluation(evaluated, dev)
        summary = {
            name: {level: round(100 * s.f1, 2) for level, s in levels.items()}
            for name, levels in scores.items()
        }
        mean = sum(v["pair+type"] for v in summary.values()) / max(len(summary), 1)
        record["training"]["epochs_dev"].append(
            {"epoch": epoch, "threshold": threshold, "gold_entity_f1": summary}
        )
        echo(f"epoch {epoch}: threshold {threshold}, dev F1 (gold entities) {summary}")
        if mean > best:
            best = mean
            record["threshold"] = threshold
            record["training"]["best_epoch"] = epoch
            record["training"]["seconds"] = round(time.monotonic() - started)
            RELATIONS.save(model, config.out, record)
    if bar is not None:
        bar.close()
    record["training"]["seconds_total"] = round(time.monotonic() - started)
    RELATIONS.write_config(config.out, record)
    return record


def next_version(version: object) -> str:
    """The version a model continued from one of ``version`` gets: the next whole number
    ("3" -> "4"), or "1" where there is none (a first model) or it is not a number."""
    text = str(version or "").split("-")[0]
    return str(int(text) + 1) if text.isdigit() else "1"


def _entity_stage() -> Any:
    """The configured entity stage (the shipped tagger, gazetteer and linker)."""
    from extractors.registry import load_entity_extractor
    from kg.config import load_settings

    return load_entity_extractor(load_settings())


def _targets(rows: Sequence[Sequence[float | None]]) -> tuple[Any, Any]:
    import torch

    y = torch.tensor([[0.0 if v is None else v for v in r] for r in rows])
    m = torch.tensor([[v is not None for v in r] for r in rows], dtype=torch.bool)
    return y.reshape(len(rows), -1), m.reshape(len(rows), -1)


def _length(example: Example) -> int:
    return sum(map(len, example.encoded.segments))


def _encoder_from_tagger(encoder: Any, folder: Path) -> None:
    """Copy a tagger artifact's fine-tuned encoder layers into ``encoder``."""
    from extractors.ner.tagger import TAGGER

    prefix = "encoder."
    state = TAGGER.weights(folder)
    layers = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    missing, unexpected = encoder.load_state_dict(layers, strict=False)
    if unexpected:
        raise ConfigError(
            f"the tagger in {folder} was trained over another encoder ({unexpected[:3]})",
            hint="use a tagger built over the same --base encoder",
        )
