"""Text utilities shared by every stage: sentence spans over a document's text."""

from __future__ import annotations

import re
from collections.abc import Iterator

# A sentence ends at . ! or ? followed by space and an upper-case letter, digit or bracket,
# unless the word before the dot is a common abbreviation of scientific prose.
_BOUNDARY = re.compile(r"[.!?]+[\"')\]]*\s+(?=[A-Z0-9(\[])")
_ABBREVIATIONS = frozenset(
    [
        "e.g",
        "i.e",
        "et",
        "al",
        "vs",
        "fig",
        "figs",
        "no",
        "nos",
        "approx",
        "ca",
        "cf",
        "dr",
        "mr",
        "mrs",
        "ms",
        "st",
        "sp",
        "spp",
        "inc",
        "ltd",
        "eq",
        "ref",
        "refs",
        "resp",
        "vol",
        "viz",
    ]
)


def sentence_spans(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each sentence in ``text``; spans cover the text without its spaces."""
    start = 0
    for match in _BOUNDARY.finditer(text):
        before = text[start : match.start()].rsplit(None, 1)
        word = before[-1].lower().lstrip("([{\"'").rstrip(".") if before else ""
        if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
            continue
        end = match.start() + len(match.group().rstrip())
        if text[start:end].strip():
            yield start, end
        start = match.end()
    if text[start:].strip():
        yield start, len(text.rstrip())


def sentence_at(spans: list[tuple[int, int]], offset: int) -> int:
    """Index of the sentence holding ``offset`` (the last one starting at or before it)."""
    lo, hi = 0, len(spans) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if spans[mid][0] <= offset:
            lo = mid
        else:
            hi = mid - 1
    return lo
