"""What every recognizer backend returns, and the registry that picks one by name.

A recognizer turns texts into typed character spans; linking them to identifiers is the next
step (:mod:`extractors.entities`) and the same for every backend. Backends:

========================  =================================================================
``default``               the tagger trained by ``kg train ner`` (:mod:`extractors.ner.tagger`)
``tagger:PATH``           a tagger artifact in another folder
``hf:PATH``               a Hugging Face token-classification checkpoint (BioBERT, PubMedBERT...)
``gliner:PATH``           a GLiNER model, with natural-language descriptions of the types
``dictionary:PATH``       exact matching of user-supplied term lists (TSV: term, type[, id])
========================  =================================================================

Heavy imports (torch, transformers, gliner) happen inside the backend's loader, never here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from kg.errors import ConfigError
from kg.schema import EntityType


@dataclass(frozen=True, slots=True)
class Span:
    """A recognized mention: character offsets into the text, its type and a score in [0, 1].

    ``ids`` is set by backends that know the identifier already (a dictionary with IDs).
    """

    start: int
    end: int
    type: EntityType
    score: float = 1.0
    ids: tuple[str, ...] = ()


class Recognizer(Protocol):
    """Finds typed spans in texts. ``name`` and ``version`` go into the provenance."""

    name: str
    version: str

    def predict(self, texts: Sequence[str]) -> list[list[Span]]: ...


def resolve_overlaps(spans: Sequence[Span]) -> list[Span]:
    """Keep the best of overlapping spans (higher score, then longer), in text order."""
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (-s.score, -(s.end - s.start), s.start)):
        if all(span.end <= k.start or span.start >= k.end for k in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: (s.start, s.end))


_LEAD = "-,;:/)]'"
_TRAIL = "-,;:/(["


#: lower-case words no name in the corpora begins or ends with ("myopathy of", "or anemia")
FUNCTION_WORDS = frozenset(
    ["of", "in", "and", "or", "the", "with", "to", "for", "by", "on", "from"]
)


def trim(text: str, span: Span, words: bool = False) -> Span | None:
    """A span without the punctuation a name does not begin or end with ("tacrine-" from
    "tacrine-induced", "KA)" from "kainic acid (KA)"), and with ``words`` nor the lower-case
    function words (:data:`FUNCTION_WORDS`: "peripheral neuropathy in"); None when nothing of
    a name is left.

    A closing bracket stays when the span opens it ("Ca(2+)"), an opening one likewise.
    Function words are matched by case, so names such as "WAS" or "vitamin A" keep theirs.
    They are trimmed after :func:`join_adjacent`: the tagger sometimes ends one part of a name
    at "of" and begins the next after it ("deficiency of" + "ASPA").

    A variant's minus before a digit is the sign of its position ("-308G>A", upstream of the
    start codon): it stays, and a variant span that begins just after one takes it.
    """
    start, end = span.start, span.end
    signed = span.type is EntityType.VARIANT
    if signed and _signed_at(text, start - 1):
        start -= 1
    while True:
        before = (start, end)
        while start < end:
            c = text[start]
            if signed and _signed_at(text, start):
                break
            if c.isspace() or c in _LEAD or (c in "([" and _unclosed(text[start:end])):
                start += 1
            else:
                break
        while end > start:
            c = text[end - 1]
            if c.isspace() or c in _TRAIL or (c in ")]" and _unopened(text[start:end])):
                end -= 1
            else:
                break
        parts = text[start:end].split(" ") if words else [""]
        if parts[0] in FUNCTION_WORDS:
            start += len(parts[0])
        elif parts[-1] in FUNCTION_WORDS:
            end -= len(parts[-1])
        if (start, end) == before:
            break
    if not any(ch.isalnum() for ch in text[start:end]):
        return None
    if (start, end) == (span.start, span.end):
        return span
    return Span(start, end, span.type, span.score, span.ids)


def _signed_at(text: str, i: int) -> bool:
    """A minus at ``i`` that signs the number after it (not a hyphen inside a word)."""
    return (
        0 <= i < len(text) - 1
        and text[i] == "-"
        and text[i + 1].isdigit()
        and (i == 0 or not text[i - 1].isalnum())
    )


#: Nouns that end a name of a class: a span after one is another name, not the rest of this
#: one ("genetic disorder" + "ataxia-telangiectasia", "solid tumor" + "rhabdomyosarcoma").
_HEAD_NOUNS = frozenset(
    [
        "disease",
        "diseases",
        "disorder",
        "disorders",
        "syndrome",
        "syndromes",
        "condition",
        "conditions",
        "illness",
        "tumor",
        "tumors",
        "tumour",
        "tumours",
        "cancer",
        "cancers",
        "carcinoma",
        "carcinomas",
        "deficiency",
        "deficiencies",
        "infection",
        "infections",
    ]
)


def _last_word(piece: str) -> str:
    words = re.findall(r"[A-Za-z]+", piece)
    return words[-1].lower() if words else ""


#: What may lie between two parts of one chemical name inside one word, the tagger having
#: stopped at it: locants and brackets ("7" "," "12-dimethylbenz" "(a)" "anthracene").
_IN_NAME_GAP = re.compile(r"[,()\[\]'\-]{1,2}|[,(\[\-]?[0-9A-Za-z]{1,2}[\])\-,]?")


def _joins(text: str, prev: Span, span: Span, breaks: Sequence[int]) -> bool:
    if prev.type != span.type or any(prev.end <= b < span.start for b in breaks):
        return False
    gap = text[prev.end : span.start]
    if gap in (" ", "-"):
        return _last_word(text[prev.start : prev.end]) not in _HEAD_NOUNS
    # inside one word, a chemical's locants and brackets: "/" stays a separator
    # ("trimethoprim/sulfamethoxazole" names two chemicals)
    return span.type is EntityType.CHEMICAL and bool(_IN_NAME_GAP.fullmatch(gap))


def split_at(spans: Sequence[Span], breaks: Sequence[int]) -> list[Span]:
    """Spans cut where they cross a position of ``breaks`` (the end of a title, which the
    tagger reads with the abstract as one text); :func:`trim` then drops the space."""
    out: list[Span] = []
    for span in spans:
        for b in sorted(b for b in breaks if span.start < b < span.end):
            out.append(replace(span, end=b))
            span = replace(span, start=b)
        out.append(span)
    return out


def join_adjacent(text: str, spans: Sequence[Span], breaks: Sequence[int] = ()) -> list[Span]:
    """Spans of one type that only a space or a hyphen separates, as one span ("male" +
    "breast cancer" -> "male breast cancer"): the tagger sometimes begins a second span at a
    word inside a name, where the annotators mark the whole. Parts of a chemical name inside
    one word are joined across its locants and brackets too ("7" + "12-dimethylbenz" +
    "anthracene" in "7,12-dimethylbenz(a)anthracene"). No span is joined across a position of
    ``breaks`` (the end of a title). The joined span keeps the lower score, and identifiers
    only where both parts had the same ones."""
    out: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        prev = out[-1] if out else None
        if prev and _joins(text, prev, span, breaks):
            ids = prev.ids if prev.ids == span.ids else ()
            span = Span(prev.start, span.end, span.type, min(prev.score, span.score), ids)
            out.pop()
        out.append(span)
    return out


def _unclosed(piece: str) -> bool:
    return piece.count("(") + piece.count("[") > piece.count(")") + piece.count("]")


def _unopened(piece: str) -> bool:
    return piece.count(")") + piece.count("]") > piece.count("(") + piece.count("[")


#: backend name -> loader(argument after the colon, settings-derived default path)
Loader = Callable[[str], Recognizer]
_BACKENDS: dict[str, Loader] = {}


def register(name: str) -> Callable[[Loader], Loader]:
    def add(loader: Loader) -> Loader:
        _BACKENDS[name] = loader
        return loader

    return add


def backend_names() -> list[str]:
    _load_builtin()
    return sorted(_BACKENDS)


def load_recognizer(spec: str) -> Recognizer:
    """``kind:argument`` (e.g. ``hf:/models/pubmedbert-ner``) to a loaded recognizer."""
    _load_builtin()
    kind, _, arg = spec.partition(":")
    if kind not in _BACKENDS:
        raise ConfigError(
            f"unknown recognizer backend {kind!r} in {spec!r}",
            hint=f"use one of {', '.join(sorted(_BACKENDS))}, as NAME:PATH",
        )
    if not arg:
        raise ConfigError(
            f"recognizer {spec!r} names no model",
            hint=f"write it as {kind}:PATH (a local folder or file)",
        )
    return _BACKENDS[kind](arg)


def require_path(arg: str, what: str, expect: str) -> Path:
    """A backend's path argument, or a clear error saying what was expected there."""
    path = Path(arg).expanduser()
    if not path.exists():
        raise ConfigError(f"{what} not found: {path}", hint=f"expected {expect}")
    return path


def read_json_file(path: Path) -> object | None:
    """A model folder's optional JSON settings file: None when absent, an error when broken."""
    import json

    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}", hint="fix the file") from exc


def _load_builtin() -> None:
    # Importing the modules registers their backends.
    import extractors.ner.backends  # noqa: F401
