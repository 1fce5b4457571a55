"""Schwartz–Hearst abbreviation detection on classic examples."""

from __future__ import annotations

import pytest

from extractors.abbreviations import (
    abbreviation_map,
    best_long_form,
    expand,
    find_abbreviations,
)


def pairs(text: str) -> list[tuple[str, str]]:
    found = find_abbreviations(text)
    for a in found:  # offsets select the forms in the text
        assert text[a.short_start : a.short_end] == a.short
        assert text[a.long_start : a.long_end] == a.long
    return [(a.short, a.long) for a in found]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Heat shock protein (HSP) levels rose.", [("HSP", "Heat shock protein")]),
        (
            "Patients received cis-diamminedichloroplatinum (CDDP) weekly.",
            [("CDDP", "cis-diamminedichloroplatinum")],
        ),
        # the shortest long form that explains the short form, not the whole sentence
        (
            "We measured levels of tumor necrosis factor alpha (TNF-alpha) in serum.",
            [("TNF-alpha", "tumor necrosis factor alpha")],
        ),
        ("5-fluorouracil (5-FU) was given.", [("5-FU", "5-fluorouracil")]),
        # two definitions in one sentence
        (
            "interleukin 6 (IL-6) and multiple sclerosis (MS) were studied",
            [("IL-6", "interleukin 6"), ("MS", "multiple sclerosis")],
        ),
        # a definition followed by other text in the parenthesis
        ("in multiple sclerosis (MS; n = 12) patients", [("MS", "multiple sclerosis")]),
        # nested parentheses: the inner one is cut off the short form
        (
            "amyotrophic lateral sclerosis (ALS (motor neuron disease)) was",
            [("ALS", "amyotrophic lateral sclerosis")],
        ),
        # short form (long form)
        (
            "The CDDP (cis-diamminedichloroplatinum) dose",
            [("CDDP", "cis-diamminedichloroplatinum")],
        ),
        # suffix after the parenthesis
        ("hepatocyte nuclear factor (HNF)-6 binds", [("HNF", "hepatocyte nuclear factor")]),
        # the long form stays within its sentence
        ("Doses were low. Serum levels (SL) rose.", [("SL", "Serum levels")]),
        # brackets inside a word do not end the long form's stretch
        (
            "induced by 7,12-dimethylbenz(a)anthracene (DMBA) in rats",
            [("DMBA", "7,12-dimethylbenz(a)anthracene")],
        ),
    ],
)
def test_detects(text: str, expected: list[tuple[str, str]]) -> None:
    assert pairs(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "mean age (SD) of 34 years",  # no long form explains SD
        "at 10(-8) M in rats (n = 5).",  # numbers and statistics
        "results (see Table 2) were",  # no valid short form, no matching long form
        "the Wnt signaling (Wnt) pathway",  # the short form is a word of its long form
        "unbalanced ( parenthesis",
        "a (b) c",  # one-character short form
        "aspirin (ASA)",  # A-S-A cannot be found in "aspirin" in order
        "Serum (n = 4) levels (SL) rose.",  # a bracket between words ends the stretch
    ],
)
def test_refuses(text: str) -> None:
    assert pairs(text) == []


def test_first_character_starts_a_word() -> None:
    # "DM" must start at a word: "Diabetes Mellitus", not "...dm" inside a word
    assert best_long_form("DM", "in adm with Diabetes Mellitus") == "Diabetes Mellitus"
    assert best_long_form("XY", "no match here") is None


def test_offsets() -> None:
    text = "Patients with multiple sclerosis (MS) improved."
    (a,) = find_abbreviations(text)
    assert (a.short_start, a.short_end, a.long_start, a.long_end) == (34, 36, 14, 32)


def test_map_and_expand() -> None:
    text = (
        "non-steroidal anti-inflammatory drug (NSAID) use; multiple sclerosis (MS). "
        "Later, mass spectrometry (MS) was used."
    )
    table = abbreviation_map(find_abbreviations(text))
    assert table["MS"] == "multiple sclerosis"  # the first definition wins
    assert expand("MS", table) == "multiple sclerosis"
    assert expand("NSAIDs", table) == "non-steroidal anti-inflammatory drug"  # plural
    assert expand("ms", table) is None  # case matters
    assert expand("HSP", find_abbreviations(text)) is None
