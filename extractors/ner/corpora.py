"""Training corpora for the recognizer: which file, which entity types it annotates.

Each corpus annotates only some of our six types (BC5CDR: chemicals and diseases; SPECIES:
species; BioRED: all six). The tagger has one B/I/O head per type, and a corpus trains only the
heads of the types it annotates: a chemical in an NCBI-disease abstract is not taught as "not a
chemical". :data:`TRAIN_CORPORA` is the default mix of ``kg train ner``; :data:`DEV_CORPORA` are
the dev splits it reports on.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kg.errors import ConfigError, InputError
from kg.model import Document
from kg.schema import EntityType

C, D, G, S, V, L = (
    EntityType.CHEMICAL,
    EntityType.DISEASE,
    EntityType.GENE,
    EntityType.SPECIES,
    EntityType.VARIANT,
    EntityType.CELL_LINE,
)


@dataclass(frozen=True, slots=True)
class Corpus:
    """One annotated file, relative to the corpora folder, and the types it annotates."""

    name: str
    path: str
    types: frozenset[EntityType]
    #: Keep at most this many documents (a seeded sample); ``None`` keeps all.
    limit: int | None = None


TRAIN_CORPORA: tuple[Corpus, ...] = (
    Corpus("bc5cdr", "bc5cdr/train.pubtator", frozenset({C, D})),
    Corpus("biored", "biored/train.pubtator", frozenset({C, D, G, S, V, L})),
    Corpus("ncbi_disease", "ncbi_disease/train.txt", frozenset({D})),
    Corpus("gnormplus", "aioner/GNormPlus_Train.PubTator", frozenset({G})),
    Corpus("nlmgene", "aioner/NLMgene_Train.PubTator", frozenset({G}), limit=200),
    Corpus("species", "aioner/SPECIES_Train.PubTator", frozenset({S}), limit=300),
    Corpus("tmvar3", "aioner/tmVar3_Train.PubTator", frozenset({D, G, S, V})),
    Corpus("bioid", "aioner/BioID_Train_revision.PubTator", frozenset({L}), limit=600),
)
#: Read on request (``--corpora``) but not in the default mix: Linnaeus is 80 full texts, as
#: many word pieces as the rest of the species data together, on a 2-core training budget.
EXTRA_CORPORA: tuple[Corpus, ...] = (
    Corpus("linnaeus", "aioner/Linnaeus_Train.PubTator", frozenset({S})),
)

DEV_CORPORA: tuple[Corpus, ...] = (
    Corpus("bc5cdr", "bc5cdr/dev.pubtator", frozenset({C, D})),
    Corpus("biored", "biored/dev.pubtator", frozenset({C, D, G, S, V, L})),
    Corpus("ncbi_disease", "ncbi_disease/dev.txt", frozenset({D})),
)


def corpus_by_name(name: str, dev: bool = False) -> Corpus:
    table = {c.name: c for c in (DEV_CORPORA if dev else TRAIN_CORPORA + EXTRA_CORPORA)}
    if name not in table:
        raise ConfigError(
            f"unknown corpus {name!r}", hint=f"choose from {', '.join(sorted(table))}"
        )
    return table[name]


def read_corpus(root: Path, corpus: Corpus, seed: int = 13) -> Iterator[Document]:
    """The corpus's documents with their annotations; records that fail to read are skipped.

    Long full-text records (Linnaeus) are read as they are; the tagger windows them.
    """
    from kg.readers import read_path

    path = root / corpus.path
    if not path.exists():
        raise ConfigError(
            f"corpus file not found: {path}",
            hint="point --corpora at the folder holding bc5cdr/, biored/, aioner/, ...",
        )
    docs = [d for d in read_path(path, "pubtator") if isinstance(d, Document)]
    if corpus.limit is not None and len(docs) > corpus.limit:
        # Keep every document that has a mention of the corpus's types first, then fill.
        rng = random.Random(seed)
        rng.shuffle(docs)
        docs.sort(key=lambda d: not any(m.type in corpus.types for m in d.mentions))
        docs = docs[: corpus.limit]
    for doc in docs:
        if isinstance(doc, InputError):  # pragma: no cover - filtered above
            continue
        yield doc
