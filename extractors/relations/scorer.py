"""The default relation model: one encoder pass per document, every candidate pair scored.

How it reads a document (the document-level approach of ATLOP, Zhou et al. 2021, written anew):

1. the text is tokenized once with offsets; a marker piece (``*``) is put before and after every
   mention of a linked entity, so the encoder sees where the entities are;
2. the encoder (all-MiniLM-L6-v2 by default; 512 pieces at a time, a longer text in several
   segments) gives a vector per piece; an entity's vector is the log-sum-exp over its mentions'
   opening markers (a soft maximum: one strong mention is enough);
3. for a pair, a *context vector* is pooled from the pieces both entities attend to (the product
   of their last-layer attention, averaged over heads), so evidence anywhere in the abstract,
   also across sentences, can count;
4. a symmetric scorer (the pair is unordered; direction comes from the schema) gives one sigmoid
   per relation type and one for novelty (BioRED's "is this a finding of this paper?").

With ``context = "pair_sentences"`` in ``relations.json`` (the shipped model's, since stop 31) the
encoder reads only the sentences that mention an entity of a candidate pair: 28% fewer pieces on
baseline abstracts, a pipeline 1.12-1.20x as fast, and higher dev scores (docs/models/re.md,
stop 31).

One sigmoid per type, not a softmax, so that a corpus that annotates only some types trains only
those (BC5CDR annotates chemical-induced disease alone: it trains Positive_Correlation on
chemical–disease pairs and nothing else), as the tagger's heads do for entity types.

The artifact (``kg train re`` writes it) is a folder with ``relations.json`` (base encoder, types,
threshold, training record) and ``relations.safetensors`` (fine-tuned layers and heads, float16,
without the frozen word-embedding table, which comes from the pinned base encoder).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from extractors.artifacts import ArtifactKind
from extractors.precision import running
from extractors.relations import CONTEXTS
from extractors.relations.candidates import (
    TYPE_PAIR_INDEX,
    TYPE_PAIRS,
    DocEntity,
    candidate_pairs,
    doc_entities,
    pair_name,
    type_pair,
)
from extractors.relations.prior import KnownRelations, PriorHint
from kg.errors import ConfigError
from kg.model import Document
from kg.schema import RelationType

if TYPE_CHECKING:
    import torch

MARKER = "*"
TYPES: tuple[RelationType, ...] = tuple(RelationType)


@dataclass(slots=True)
class Encoded:
    """A document ready for the network: marked segments and where each entity's mentions are."""

    segments: list[list[int]]
    #: per entity, the (segment, position) of each mention's opening marker ([CLS] counted)
    positions: list[list[tuple[int, int]]]
    entities: list[DocEntity]
    pairs: list[tuple[int, int]]


def encode(tokenizer: Any, doc: Document, max_len: int = 512, context: str = "abstract") -> Encoded:
    """Tokenize a document with entity markers and cut it into segments of ``max_len``.

    ``context`` (:data:`CONTEXTS`): ``pair_sentences`` reads only the sentences that mention an
    entity of a candidate pair (:func:`pair_sentence_pieces`)."""
    entities = doc_entities(doc)
    text = doc.text
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids: list[int] = enc["input_ids"]
    offsets: list[tuple[int, int]] = [tuple(o) for o in enc["offset_mapping"]]
    if context == "pair_sentences":
        ids, offsets = pair_sentence_pieces(text, entities, ids, offsets)
    marker = marker_id(tokenizer)
    opens: dict[int, list[int]] = {}  # piece index -> entities with a mention starting there
    closes: dict[int, int] = {}  # piece index -> mentions ending there
    starts = [a for a, _ in offsets]

    for e, ent in enumerate(entities):
        for s, t in ent.spans:
            first = bisect.bisect_right(starts, s) - 1
            if first < 0 or offsets[first][1] <= s:
                first += 1
            last = bisect.bisect_left(starts, t) - 1
            if first >= len(ids) or last < first:
                continue
            opens.setdefault(first, []).append(e)
            closes[last] = closes.get(last, 0) + 1
    marked: list[int] = []
    where: list[list[int]] = [[] for _ in entities]
    for i, piece in enumerate(ids):
        for e in opens.get(i, ()):
            where[e].append(len(marked))
            marked.append(marker)
        marked.append(piece)
        marked.extend([marker] * closes.get(i, 0))
    width = max_len - 2
    segments = [marked[a : a + width] for a in range(0, max(len(marked), 1), width)]
    positions = [[(p // width, p % width + 1) for p in ps] for ps in where]
    keep = [i for i, ps in enumerate(positions) if ps]
    if len(keep) < len(entities):  # an entity whose mentions no piece covers (odd spacing)
        entities = [entities[i] for i in keep]
        positions = [positions[i] for i in keep]
    return Encoded(segments, positions, entities, candidate_pairs(entities))


def pair_sentence_pieces(
    text: str, entities: Sequence[DocEntity], ids: list[int], offsets: list[tuple[int, int]]
) -> tuple[list[int], list[tuple[int, int]]]:
    """The pieces of the sentences that mention an entity of a candidate pair, in order.

    Sentences that name no such entity add encoder work and, measured on dev, nothing the
    scores need (docs/models/re.md, stop 31); a document without candidate pairs keeps all."""
    from kg.text import sentence_spans

    pairs = candidate_pairs(list(entities))
    if not pairs:
        return ids, offsets
    paired = {e for pair in pairs for e in pair}
    mention_starts = sorted(s for e in paired for s, _ in entities[e].spans)
    kept = [
        (a, b)
        for a, b in sentence_spans(text)
        if bisect.bisect_left(mention_starts, a) < bisect.bisect_left(mention_starts, b)
    ]
    if not kept:
        return ids, offsets
    sentence_starts = [a for a, _ in kept]
    keep = []
    for i, (s, _) in enumerate(offsets):
        k = bisect.bisect_right(sentence_starts, s) - 1
        if k >= 0 and s < kept[k][1]:
            keep.append(i)
    return [ids[i] for i in keep], [offsets[i] for i in keep]


def check_context(context: str) -> str:
    """``context`` if it is one of :data:`CONTEXTS`, else a ConfigError."""
    if context not in CONTEXTS:
        raise ConfigError(
            f"unknown relation context {context!r}",
            hint=f"choose from {', '.join(CONTEXTS)} (context in relations.json, --context)",
        )
    return context


def marker_id(tokenizer: Any) -> int:
    """The id of the marker piece; an encoder whose vocabulary lacks it cannot mark entities."""
    found = tokenizer.convert_tokens_to_ids(MARKER)
    if found is None or found == tokenizer.unk_token_id:
        raise ConfigError(
            f"the tokenizer's vocabulary has no {MARKER!r} piece to mark entities with",
            hint="use a base encoder whose vocabulary has it (BERT-style word pieces do)",
        )
    return found


def build_model(encoder: Any, n_types: int = len(TYPES)) -> Any:
    """The network over an encoder: entity pooling, pair context, symmetric scorer."""
    import torch
    from torch import nn

    hidden = encoder.config.hidden_size

    class PairScorer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.project = nn.Linear(2 * hidden, hidden)
            self.pair_type = nn.Embedding(len(TYPE_PAIRS), 32)
            self.head = nn.Sequential(
                nn.Linear(3 * hidden + 32, hidden),
                nn.GELU(),
                nn.Dropout(0.1),
                nn.Linear(hidden, n_types + 1),
            )
            self.n_types = n_types

        def forward(self, docs: Sequence[Encoded]) -> list[torch.Tensor]:
            """Logits (pairs, types + 1: the last is novelty) for each document's pairs."""
            rows = [seg for d in docs for seg in d.segments]
            width = max(len(r) for r in rows) + 2
            ids = torch.zeros((len(rows), width), dtype=torch.long)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            cls, sep = self.special
            for r, seg in enumerate(rows):
                row = [cls, *seg, sep]
                ids[r, : len(row)] = torch.tensor(row)
                mask[r, : len(row)] = 1
            # the attention rows _pairs needs: those of every mention's opening marker
            queries, r0 = [], 0
            for d in docs:
                queries += [(r0 + s, p) for ps in d.positions for s, p in ps]
                r0 += len(d.segments)
            states, attn = encode_with_attention(
                self.encoder, ids, mask, torch.tensor(queries, dtype=torch.long).reshape(-1, 2)
            )
            results = []
            r0 = q0 = 0
            for d in docs:
                n, m = len(d.segments), sum(map(len, d.positions))
                results.append(self._pairs(d, states[r0 : r0 + n], attn[q0 : q0 + m]))
                r0, q0 = r0 + n, q0 + m
            return results

        def _pairs(self, d: Encoded, states: torch.Tensor, attn: torch.Tensor) -> torch.Tensor:
            """Logits for the pairs of ``d``; ``attn`` holds one attention row (over its
            segment) per mention, in the order of ``d.positions``."""
            if not d.pairs:
                return states.new_zeros((0, self.n_types + 1))
            n, length, h = states.shape
            flat = states.reshape(n * length, h)
            vecs = [
                torch.logsumexp(flat[torch.tensor([s * length + p for s, p in ps])], dim=0)
                for ps in d.positions
            ]
            ent = torch.stack(vecs)  # (E, h)
            # each entity's attention over the whole document: its mentions' rows, averaged
            owner = torch.tensor([e for e, ps in enumerate(d.positions) for _ in ps])
            segment = torch.tensor([s for ps in d.positions for s, _ in ps])
            count = torch.tensor([float(len(ps)) for ps in d.positions], dtype=states.dtype)
            rows = states.new_zeros((len(owner), n, length))
            rows[torch.arange(len(owner)), segment] = attn.to(states.dtype)
            ent_att = (
                states.new_zeros((len(d.positions), n * length)).index_add_(
                    0, owner, rows.reshape(len(owner), -1)
                )
                / count[:, None]
            )  # (E, n*L)
            i = torch.tensor([p[0] for p in d.pairs])
            j = torch.tensor([p[1] for p in d.pairs])
            q = ent_att[i] * ent_att[j]
            q = q / (q.sum(-1, keepdim=True) + 1e-5)
            ctx = q @ flat  # (P, h)
            za = torch.tanh(self.project(torch.cat([ent[i], ctx], -1)))
            zb = torch.tanh(self.project(torch.cat([ent[j], ctx], -1)))
            kinds = torch.tensor(
                [
                    TYPE_PAIR_INDEX[type_pair(d.entities[a].type, d.entities[b].type)]
                    for a, b in d.pairs
                ]
            )
            feats = torch.cat([za + zb, za * zb, (za - zb).abs(), self.pair_type(kinds)], -1)
            return self.head(feats)

    model = PairScorer()
    return model


def _last_self_attention(encoder: Any) -> Any:
    """The last layer's self-attention module, where it has BERT's layout; else None."""
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    module = getattr(getattr(layers[-1], "attention", None), "self", None) if layers else None
    wanted = ("query", "key", "num_attention_heads", "attention_head_size")
    return module if module is not None and all(hasattr(module, a) for a in wanted) else None


def encode_with_attention(
    encoder: Any, ids: torch.Tensor, mask: torch.Tensor, queries: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Last hidden states (rows, L, h) and, for each query piece (``queries``: (Q, 2) of row and
    position), its last-layer attention over its row averaged over heads (Q, L).

    The encoder runs with its fused attention (SDPA), which gives no attention weights; the
    queries' weights in the last layer are computed again from its input (the second-last
    hidden states) and its query and key projections: softmax(q k^T / sqrt(d) + padding mask),
    as eager attention computes them, for the few pieces asked about (the mentions' markers)
    rather than for every piece. Asking every layer for its weights instead
    (``output_attentions``) runs all six layers in unfused attention and keeps six (rows, heads,
    L, L) tensors: 1.65x the time. An encoder of another layout is asked for its attention (it
    must have been loaded with eager attention, see :func:`load_encoder_for_relations`).
    """
    import torch

    row, pos = queries[:, 0], queries[:, 1]
    module = _last_self_attention(encoder)
    if module is None:
        out = encoder(input_ids=ids, attention_mask=mask, output_attentions=True)
        return out.last_hidden_state, out.attentions[-1].mean(1)[row, pos]
    out = encoder(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    hidden = out.hidden_states[-2]
    rows, length, _ = hidden.shape
    heads, size = module.num_attention_heads, module.attention_head_size
    q = module.query(hidden[row, pos]).view(len(row), heads, size)
    k = module.key(hidden).view(rows, length, heads, size)
    # row by row, so that no (queries, L, h) copy of the keys is made: a batch's rows are few,
    # its queries (every mention of every document) many
    scores = q.new_empty((len(row), heads, length))
    for r in row.unique().tolist():
        mine = (row == r).nonzero().squeeze(1)
        scores[mine] = torch.einsum("qhd,lhd->qhl", q[mine], k[r])
    scores = scores * (size**-0.5)
    scores = scores.masked_fill(mask[row][:, None, :] == 0, torch.finfo(scores.dtype).min)
    return out.last_hidden_state, scores.softmax(-1).mean(1)


@dataclass(frozen=True, slots=True)
class PairPrediction:
    """A scored relation between two entities of a document (canonical order)."""

    id1: str
    id2: str
    type: RelationType
    score: float
    novel: bool | None
    novel_score: float


class RelationModel:
    """A loaded model: ``predict(docs)`` gives each document's relations above the threshold."""

    def __init__(self, model: Any, tokenizer: Any, info: dict[str, Any]) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.info = info
        self.types = tuple(RelationType(t) for t in info.get("types", [t.value for t in TYPES]))
        #: per entity-type pair (``Chemical-Disease``), tuned on dev by ``kg tune re``; the
        #: shared threshold for the pairs it does not name
        self.pair_thresholds = {
            k: float(v) for k, v in info.get("pair_thresholds", {}).items()
        }  # fmt: skip
        self._threshold = float(info.get("threshold", 0.5))
        self.max_len = int(info.get("max_len", 512))
        self.context = check_context(info.get("context", "abstract"))
        self.batch_size = int(info.get("batch_size", 4))
        self.name = info.get("name", "kg-re")
        self.version = str(info.get("version", "0"))
        self.precision = "float32"
        #: weights of the known-relations prior per entity-type pair (prior.py), tuned by
        #: ``kg tune re``; they apply once :attr:`prior` is set (extractors/registry.py)
        self.prior_weights: dict[str, dict[str, float]] = {
            k: {n: float(w) for n, w in v.items()} for k, v in info.get("prior", {}).items()
        }
        self.prior: KnownRelations | None = None
        model.special = (tokenizer.cls_token_id, tokenizer.sep_token_id)

    @property
    def threshold(self) -> float:
        return self._threshold

    @threshold.setter
    def threshold(self, value: float) -> None:
        """One threshold for every pair, replacing the tuned ones (``relation_threshold``)."""
        self._threshold = float(value)
        self.pair_thresholds = {}

    def set_precision(self, precision: str) -> None:
        """Run as ``float32``, ``bfloat16`` or ``int8`` (see extractors/precision.py)."""
        from extractors.precision import SUFFIX, quantized

        if precision == "int8":
            special = self.model.special
            self.model = quantized(self.model)
            self.model.special = special
        self.precision = precision
        self.version = self.version.split("-")[0] + SUFFIX[precision]

    def scores(self, docs: Sequence[Document]) -> list[tuple[Encoded, Any]]:
        """(encoded document, sigmoid scores (pairs, types + 1) as numpy) for each document."""
        import torch

        encoded = [encode(self.tokenizer, d, self.max_len, self.context) for d in docs]
        out: list[Any] = [None] * len(docs)
        order = sorted(range(len(docs)), key=lambda k: -sum(map(len, encoded[k].segments)))
        todo = [k for k in order if encoded[k].pairs]
        self.model.eval()
        with running(self.precision):
            for a in range(0, len(todo), self.batch_size):
                chunk = todo[a : a + self.batch_size]
                logits = self.model([encoded[k] for k in chunk])
                for k, lg in zip(chunk, logits, strict=True):
                    out[k] = torch.sigmoid(lg.float()).numpy()
        import numpy as np

        empty = np.zeros((0, len(self.types) + 1), dtype="float32")
        return [(e, s if s is not None else empty) for e, s in zip(encoded, out, strict=True)]

    def priors(self, doc: Document, encoded: Encoded) -> list[PriorHint] | None:
        """What the prior says of each candidate pair (None without a prior)."""
        return pair_priors(doc, encoded, self.prior, self.prior_weights)

    def predict(self, docs: Sequence[Document]) -> list[list[PairPrediction]]:
        return [
            decode(e, s, self.types, self._threshold, self.pair_thresholds, self.priors(d, e))
            for d, (e, s) in zip(docs, self.scores(docs), strict=True)
        ]


NO_HINT = PriorHint()


def pair_priors(
    doc: Document,
    encoded: Encoded,
    prior: KnownRelations | None,
    weights: Mapping[str, Mapping[str, float]],
) -> list[PriorHint] | None:
    """Per candidate pair, what the papers other than ``doc`` that support it say under
    ``weights`` (per entity-type pair): a logit shift, and maybe the type
    (extractors/relations/prior.py)."""
    if prior is None or not weights:
        return None
    out = []
    for a, b in encoded.pairs:
        first, second = encoded.entities[a], encoded.entities[b]
        kind = weights.get(pair_name(first.type, second.type))
        out.append(prior.hint(first.id, second.id, doc.pmid, kind) if kind else NO_HINT)
    return out


def decode(
    encoded: Encoded,
    scores: Any,
    types: Sequence[RelationType],
    threshold: float,
    pair_thresholds: Mapping[str, float] | None = None,
    priors: Sequence[PriorHint] | None = None,
) -> list[PairPrediction]:
    """Each pair whose best type reaches the threshold of its entity-type pair (the shared
    ``threshold`` where ``pair_thresholds`` names none). ``priors`` (the known-relations prior,
    one per pair) move a pair's score on the logit scale first, and where one gives a type, a
    kept pair takes it instead of the model's."""
    out = []
    for k, ((a, b), row) in enumerate(zip(encoded.pairs, scores, strict=True)):
        t = int(row[: len(types)].argmax())
        score = float(row[t])
        hint = priors[k] if priors else NO_HINT
        if hint.shift:
            score = _sigmoid(_logit(score) + hint.shift)
        limit = threshold
        if pair_thresholds:
            kind = pair_name(encoded.entities[a].type, encoded.entities[b].type)
            limit = pair_thresholds.get(kind, threshold)
        if score < limit:
            continue
        novel_score = float(row[len(types)])
        out.append(
            PairPrediction(
                encoded.entities[a].id,
                encoded.entities[b].id,
                hint.type or types[t],
                score,
                novel_score >= 0.5,
                novel_score,
            )
        )
    return out


def _logit(p: float) -> float:
    p = min(max(p, 1e-7), 1 - 1e-7)
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


RELATIONS = ArtifactKind(
    "relations",
    "kg relation model",
    "train one with `kg train re`, or use hf:/path/to/checkpoint for a Hugging Face "
    "sequence-classification model",
)


def load_encoder_for_relations(base: str) -> tuple[Any, Any]:
    """The base encoder, with fused attention where :func:`encode_with_attention` can compute
    the last layer's weights itself, else with eager attention (which returns them)."""
    from extractors.ner.encoders import load_encoder

    encoder, tokenizer = load_encoder(base, attn_implementation="sdpa")
    if _last_self_attention(encoder) is None:
        encoder.set_attn_implementation("eager")
    return encoder, tokenizer


def load_relation_model(folder: Path, threads: int | None = None) -> RelationModel:
    import torch

    config = RELATIONS.read_config(folder)
    if threads:
        torch.set_num_threads(threads)
    encoder, tokenizer = load_encoder_for_relations(config["base"])
    model = build_model(encoder, len(config.get("types", TYPES)))
    RELATIONS.load_weights(model, folder, config["base"])
    model.eval()
    return RelationModel(model, tokenizer, config)
