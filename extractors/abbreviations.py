"""Abbreviation definitions within one text: the Schwartz–Hearst algorithm.

Schwartz A.S., Hearst M.A. (2003), "A simple algorithm for identifying abbreviation definitions
in biomedical text", Pacific Symposium on Biocomputing 8:451-462. Written here from the paper's
description:

1. Candidates are ``long form (short form)`` and, when the parenthesis holds more than two
   words, ``short form (long form)``. A parenthetical is cut at its first ``;`` or ``,``.
2. A short form has at most two words and 2-10 characters, starts with a letter or digit and
   holds at least one letter.
3. The long form is searched among the words just before the parenthesis, in the same
   sentence, at most ``min(|SF| + 5, 2 * |SF|)`` words.
4. Matching runs right to left: every letter and digit of the short form must occur, in order,
   in the long form (case-insensitively), and the short form's first character must start a
   word of the long form. The long form begins at the word holding that match: the shortest
   long form that explains the short form.
5. A long form no longer than its short form, or that holds the short form as a word, is
   refused.

Two small extensions: a parenthesis that is no valid short form (one long word) is tried as a
long form too, and a nested parenthesis is cut off the short form ("ALS (motor neuron disease)").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Abbreviation:
    """A short form defined by a long form, with both spans' character offsets in the text."""

    short: str
    long: str
    short_start: int
    short_end: int
    long_start: int
    long_end: int


#: What ends the stretch of text a long form may come from: a sentence end, a semicolon, or
#: another parenthesis; not a bracket inside a word, as chemical names have them
#: ("7,12-dimethylbenz(a)anthracene (DMBA)").
_WINDOW_STOP = re.compile(r"[.!?;:](?=\s)|(?<![\w-])[(\[]|[)\]](?![\w-])")
_WORD = re.compile(r"\S+")


def _valid_short(short: str) -> bool:
    return (
        2 <= len(short) <= 10
        and len(short.split()) <= 2
        and short[0].isalnum()
        and any(c.isalpha() for c in short)
    )


def best_long_form(short: str, candidate: str) -> str | None:
    """The shortest suffix of ``candidate`` (whole words) that explains ``short``, or None."""
    s = len(short) - 1
    pos = len(candidate) - 1
    while s >= 0:
        char = short[s].lower()
        if not char.isalnum():
            s -= 1
            continue
        # Find the character going left; the short form's first character must start a word.
        while pos >= 0 and (
            candidate[pos].lower() != char or (s == 0 and pos > 0 and candidate[pos - 1].isalnum())
        ):
            pos -= 1
        if pos < 0:
            return None
        pos -= 1
        s -= 1
    start = candidate.rfind(" ", 0, pos + 1) + 1
    return candidate[start:]


def _accept(short: str, long: str) -> bool:
    if len(long) <= len(short):
        return False
    if short.lower() in (w.lower().strip("-,") for w in long.split()):
        return False
    max_words = min(len(short) + 5, 2 * len(short))
    return len(long.split()) <= max_words


def _matching_paren(text: str, open_at: int) -> int:
    """Index of the ')' closing the '(' at ``open_at`` (nesting respected); -1 if none."""
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _window_start(text: str, end: int) -> int:
    start = 0
    for m in _WINDOW_STOP.finditer(text, 0, end):
        start = m.end()
    return start


def find_abbreviations(text: str) -> list[Abbreviation]:
    """Every (short form, long form) pair defined in ``text``, in order of appearance."""
    found: list[Abbreviation] = []
    i = text.find("(")
    while i != -1:
        close = _matching_paren(text, i)
        if close == -1:
            break
        pair = _pair_at(text, i, close)
        if pair is not None:
            found.append(pair)
        # Parentheses nested inside are visited too ("(... (ABC) ...)").
        i = text.find("(", i + 1)
    return found


def _pair_at(text: str, open_at: int, close: int) -> Abbreviation | None:
    inner_start = open_at + 1
    inner = text[inner_start:close]
    # Cut at the first "; " or ", " and before a nested parenthesis: "(ALS (motor neuron ...))".
    cut = re.search(r"[;,]\s|\(", inner)
    if cut:
        inner = inner[: cut.start()]
    lead = len(inner) - len(inner.lstrip())
    inner_start += lead
    inner = inner.strip()
    if not inner:
        return None
    window_start = _window_start(text, open_at)
    before = text[window_start:open_at].rstrip()
    words = list(_WORD.finditer(before))
    if not words:
        return None
    if len(inner.split()) <= 2 and _valid_short(inner):
        # long form (SHORT FORM)
        max_words = min(len(inner) + 5, 2 * len(inner))
        first = words[max(0, len(words) - max_words)].start()
        candidate = before[first:]
        long = best_long_form(inner, candidate)
        if long is not None and _accept(inner, long):
            long_start = window_start + first + len(candidate) - len(long)
            return Abbreviation(
                inner,
                long,
                inner_start,
                inner_start + len(inner),
                long_start,
                long_start + len(long),
            )
    # SHORT FORM (long form): the word just before the parenthesis is the short form. The paper
    # takes this turn for a parenthesis of more than two words; we also take it when the
    # parenthesis is no valid short form ("CDDP (cis-diamminedichloroplatinum)").
    short = words[-1].group()
    if not _valid_short(short):
        return None
    long = best_long_form(short, inner)
    if long is None or not _accept(short, long) or long != inner:
        return None
    short_start = window_start + words[-1].start()
    return Abbreviation(
        short, long, short_start, short_start + len(short), inner_start, inner_start + len(inner)
    )


def abbreviation_map(abbreviations: Iterable[Abbreviation]) -> dict[str, str]:
    """Short form -> long form; the first definition in the text wins."""
    out: dict[str, str] = {}
    for abbr in abbreviations:
        out.setdefault(abbr.short, abbr.long)
    return out


def expand(
    mention_text: str, abbreviations: Mapping[str, str] | Iterable[Abbreviation]
) -> str | None:
    """The long form when ``mention_text`` is a short form defined in the same document.

    Matches the short form exactly, or with a plural "s" the short form lacks ("NSAIDs" for
    "NSAID"). None when the mention is not a defined short form.
    """
    table = abbreviations if isinstance(abbreviations, Mapping) else abbreviation_map(abbreviations)
    text = mention_text.strip()
    found = table.get(text)
    if found is None and text.endswith("s") and len(text) > 2:
        found = table.get(text[:-1])
    return found
