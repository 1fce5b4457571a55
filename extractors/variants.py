"""Sequence variants in tmVar's normalized form (``c|SUB|C|677|T``), the IDs BioRED and tmVar
give variants that have no dbSNP rs-id.

:func:`normalize_variant` reads the common HGVS-like notations (``c.677C>T``, ``p.Leu307Arg``,
``R215W``, ``F508del``, ``c.118_119insA``, ``p.G204VfsX28``, ``-924 A/G``) and the usual prose
("arginine 150 proline", "C to T transition at nucleotide 3916", "T deletion at 5063", "19-bp
deletion"). The forms follow the annotation of the training corpora (BioRED train, tmVar3
train): ``TYPE|OP|...`` with TYPE ``c`` (DNA; ``g`` for an explicit ``g.``) or ``p`` (protein),
OP one of SUB, DEL, INS, DUP, FS, Allele. Where the corpora disagree with each other the
linguistically right reading is taken ("proline for arginine at 150" is R150P). Agreement with
the gold forms of BioRED train: docs/models/ner.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable

RSID = re.compile(r"^\s*rs\s?#?:?\s?(\d+)\s*$", re.IGNORECASE)

_AA3 = {
    "ala": "A", "arg": "R", "asn": "N", "asp": "D", "cys": "C", "gln": "Q", "glu": "E",
    "gly": "G", "his": "H", "ile": "I", "leu": "L", "lys": "K", "met": "M", "phe": "F",
    "pro": "P", "ser": "S", "thr": "T", "trp": "W", "tyr": "Y", "val": "V", "ter": "X",
    "stop": "X", "sec": "U",
}  # fmt: skip
#: amino acids by name, for prose ("glutamic acid 333 by aspartic acid")
_AA_NAMES = {
    "alanine": "A", "arginine": "R", "asparagine": "N", "aspartic acid": "D", "aspartate": "D",
    "cysteine": "C", "glutamine": "Q", "glutamic acid": "E", "glutamate": "E", "glycine": "G",
    "histidine": "H", "isoleucine": "I", "leucine": "L", "lysine": "K", "methionine": "M",
    "phenylalanine": "F", "proline": "P", "serine": "S", "threonine": "T", "tryptophan": "W",
    "tyrosine": "Y", "valine": "V", "stop": "X", "stop codon": "X", "termination": "X",
    "termination codon": "X", "premature termination codon": "X", "term": "X",
}  # fmt: skip
_NT_NAMES = {
    "adenine": "A", "adenosine": "A", "cytosine": "C", "cytidine": "C", "guanine": "G",
    "guanosine": "G", "thymine": "T", "thymidine": "T", "uracil": "U", "uridine": "U",
}  # fmt: skip

_AA = r"(?:[ACDEFGHIKLMNPQRSTVWYX*]|(?:" + "|".join(k.title() for k in _AA3 if k != "stop") + "))"
_POS = r"(?:IVS\d+\s?)?[-+*]?\d+(?:[-+_]\d+)*(?:[-+_]\d+)?"
_PREFIX = r"(?:([cgmnr])\.)?"
#: an amino acid in prose: a name, a three-letter code, "stop"; "(R)" after it is dropped
_AA_WORD = (
    r"(" + "|".join(sorted(_AA_NAMES, key=len, reverse=True)) + "|"
    + "|".join(k for k in _AA3 if k != "stop") + r")(?:\s*residue)?(?:\s*\([A-Za-z]{1,3}\))?"
)  # fmt: skip
_NT_WORD = r"(" + "|".join(_NT_NAMES) + r"|[ACGTU])"
_TO = r"\s*(?:-+>|>|→|\bto\b|-to-|\bby\b)\s*"
_KIND = r"(?:\s+(?:substitution|mutation|transition|transversion|change|replacement|variant))?"
_AT = (
    r"\s+(?:was\s+identified\s+)?(?:at|in)\s+(?:the\s+)?(?:amino[- ]acid\s+|nucleotide\s+|"
    r"codon\s+|residue\s+|base\s+)*(?:position\s+)?(?:c\.)?"
)
_SIZE = r"(\d+(?:\.\d+)?)[- ]?(bp|base[- ]?pairs?|nucleotides?|nt|kb)"


def _aa(code: str) -> str:
    """One-letter amino acid of a one- or three-letter code, a name, ``*`` or ``stop``."""
    word = re.sub(r"\s*(?:residue)?\s*(?:\([A-Za-z]{1,3}\))?$", "", code.strip()).lower()
    if word in _AA_NAMES:
        return _AA_NAMES[word]
    code = code.strip().strip("*") or "X"
    if code.lower() in _AA3:
        return _AA3[code.lower()]
    return "X" if code == "*" else code.upper()


def _nt(word: str) -> str:
    return _NT_NAMES.get(word.lower(), word.upper())


def _position(pos: str) -> str:
    return re.sub(r"\s+", "", pos)


def _range(pos: str) -> str:
    """``1782-83`` or ``899-1142`` as the range ``1782_1783`` / ``899_1142``; other positions
    (intronic offsets such as ``1093-1``) as written."""
    pos = _position(pos)
    m = re.fullmatch(r"(\d+)-(\d+)", pos)
    if not m:
        return pos
    a, b = m.groups()
    if len(b) < len(a):
        b = a[: len(a) - len(b)] + b
    return f"{a}_{b}" if int(b) > int(a) else pos


def _op(word: str) -> str:
    """The tmVar operation a word names: deletion DEL, insertion INS, duplication DUP."""
    return word[:3].upper()


def _sized(what: str, size: str) -> str:
    """A deletion, insertion or duplication of a number of bases, position not given."""
    op = _op(what)
    return f"c|{op}||{size}" + ("|" if op == "DUP" else "")


def _seq(kind: str) -> str:
    return "g" if (kind or "").lower() == "g" else "c"


def _sub_p(a: str, pos: str, b: str) -> str:
    """A protein substitution: amino acid ``a`` at ``pos`` replaced by ``b``."""
    return f"p|SUB|{_aa(a)}|{pos}|{_aa(b)}"


def _sub_c(seq: str, a: str, pos: str, b: str) -> str:
    """A DNA substitution (``seq`` ``c`` or ``g``): base ``a`` at ``pos`` replaced by ``b``."""
    return f"{seq}|SUB|{_nt(a)}|{pos}|{_nt(b)}"


Build = Callable[[tuple[str, ...]], str]


def _rules() -> list[tuple[re.Pattern[str], Build]]:
    """(pattern, form builder) in the order they are tried; each pattern matches a whole
    mention."""
    i = re.IGNORECASE
    return [
        # c.677C>T, 677C>T, g.1755G>A, c.2406C-->A, -3170G>A, IVS8-2A>G, c.855+1G>C
        (
            re.compile(rf"^{_PREFIX}({_POS})\s?([ACGTU])\s?(?:>|-+>)\s?([ACGTU])$", i),
            lambda g: _sub_c(_seq(g[0]), g[2], _position(g[1]), g[3]),
        ),
        # G1691A, C-1228T (DNA letters only, upper case)
        (re.compile(r"^([ACGT])([-+]?\d+)([ACGT])$"), lambda g: _sub_c("c", g[0], g[1], g[2])),
        # -924 A/G, +8365 C/T, -1082(G/A)
        (
            re.compile(r"^([-+]?\d+)\s?\(?([ACGT])/([ACGT])\)?$"),
            lambda g: _sub_c("c", g[1], g[0], g[2]),
        ),
        # p.Leu307Arg, p.R229G, R215W, E873stop, E873X, Q31*, p.(Arg97Cys)
        (
            re.compile(rf"^(?:p\.)?\(?({_AA})(\d+)({_AA}|stop)\)?$", i),
            lambda g: _sub_p(g[0], g[1], g[2]),
        ),
        # 192Q/R (protein letters, at least one that is not a DNA letter)
        (
            re.compile(r"^(\d+)\s?([A-Z])/([A-Z])$"),
            lambda g: _sub_p(g[1], g[0], g[2]) if set(g[1] + g[2]) - set("ACGT") else "",
        ),
        # p.Ser119fsX, S119fs, p.A27fsX132, p.G204VfsX28, p.T3708fs3769
        (
            re.compile(rf"^(?:p\.)?({_AA})(\d+)({_AA})?fs(?:\*|X|Ter)?(\d+)?$", i),
            lambda g: f"p|FS|{_aa(g[0])}|{g[1]}|{_aa(g[2]) if g[2] else ''}|{g[3] or ''}",
        ),
        # F508del, p.Phe508del, delF508
        (re.compile(rf"^(?:p\.)?({_AA})(\d+)del$", i), lambda g: f"p|DEL|{g[1]}|{_aa(g[0])}"),
        (re.compile(rf"^del({_AA})(\d+)$", i), lambda g: f"p|DEL|{g[1]}|{_aa(g[0])}"),
        # 157delMTTTVP (protein letters after a position: upper case, not DNA letters only)
        (
            re.compile(r"^(\d+)del([ACDEFGHIKLMNPQRSTVWY]*[DEFHIKLMNPQRSVWY][A-Z]*)$"),
            lambda g: f"p|DEL|{g[0]}|{g[1]}",
        ),
        # del642T
        (re.compile(r"^del(\d+)([ACGT]+)$"), lambda g: f"c|DEL|{g[0]}|{g[1]}"),
        # c.1195delC, 657del5, c.1181_1186+20del26, 2238-9del AG, c.899-1142del
        (
            re.compile(rf"^{_PREFIX}({_POS})\s?del\s?([ACGT]*|\d*)$", i),
            lambda g: f"{_seq(g[0])}|DEL|{_range(g[1])}|{g[2].upper()}",
        ),
        # c.118_119insA, 118-119insA
        (
            re.compile(rf"^{_PREFIX}({_POS})\s?ins\s?([ACGT]+|\d+)$", i),
            lambda g: f"{_seq(g[0])}|INS|{_range(g[1])}|{g[2].upper()}",
        ),
        # c.123dupA, c.429_452dup, 1308_1316 dup9 (the corpora end DUP with an empty field)
        (
            re.compile(rf"^{_PREFIX}({_POS})\s?dup\s?([ACGT]*|\d*)$", i),
            lambda g: f"{_seq(g[0])}|DUP|{_range(g[1])}|{g[2].upper()}|",
        ),
        # p.G204_K247del
        (re.compile(rf"^p\.{_AA}(\d+)_{_AA}(\d+)del$", i), lambda g: f"p|DEL|{g[0]}_{g[1]}|"),
        # TGAG deletion, deletion (TGAG); CAG repeat, (CCTTT)14
        (
            re.compile(r"^(?:([ACGT]{2,})\s+deletion|deletion\s+\(([ACGT]{2,})\))$"),
            lambda g: f"c|DEL||{g[0] or g[1]}",
        ),
        (re.compile(r"^([ACGT]{2,6})\s+repeats?$"), lambda g: f"c|DUP||{g[0]}|"),
        (re.compile(r"^\(([ACGT]{2,6})\)(\d+)$"), lambda g: f"c|DUP||{g[0]}|{g[1]}"),
        # p.Arg104, p.Thr26: an allele at a residue
        (re.compile(rf"^p\.({_AA})(\d+)$", i), lambda g: f"p|Allele|{_aa(g[0])}|{g[1]}"),
        # Delta32, delta32, Δ32
        (re.compile(r"^(?:delta|Δ)\s?(\d+)$", i), lambda g: f"c|DEL||{g[0]}"),
        # 19-base pair deletion, 33-bp genomic deletion, 96 bp insertion, dup24bp
        (
            re.compile(rf"^{_SIZE}(?:\s+\w+)?\s+(deletion|insertion|duplication)$", i),
            lambda g: _sized(g[2], g[0] + ("K" if g[1].lower() == "kb" else "")),
        ),
        (re.compile(r"^dup(\d+)\s?bp$", i), lambda g: _sized("duplication", g[0])),
        # --- prose, amino acids ---
        # arginine 150 proline, Arg158 Pro, glutamic acid 333 by aspartic acid, Glu 272 to stop,
        # glycine-594-valine
        (
            re.compile(rf"^{_AA_WORD}[\s-]*(\d+)(?:{_TO}|\s+|-to-|-){_AA_WORD}$", i),
            lambda g: _sub_p(g[0], g[1], g[2]),
        ),
        # glycine to glutamine (no position)
        (
            re.compile(rf"^{_AA_WORD}{_TO}{_AA_WORD}{_KIND}$", i),
            lambda g: _sub_p(g[0], "", g[1]),
        ),
        # methionine-->valine substitution at codon 404, Arginine (R) to Glycine (G) mutation
        # at position 76, arginine by glutamine at amino acid position 714
        (
            re.compile(rf"^{_AA_WORD}{_TO}{_AA_WORD}{_KIND}{_AT}(\d+)$", i),
            lambda g: _sub_p(g[0], g[2], g[1]),
        ),
        # proline for arginine at position 150, stop codon for glutamine at codon 298
        (
            re.compile(rf"^{_AA_WORD}\s+for\s+{_AA_WORD}{_KIND}{_AT}(\d+)$", i),
            lambda g: _sub_p(g[1], g[2], g[0]),
        ),
        # glutamine with lysine at residue 223 ("replaced ... with")
        (
            re.compile(rf"^{_AA_WORD}\s+with\s+{_AA_WORD}{_AT}(\d+)$", i),
            lambda g: _sub_p(g[0], g[2], g[1]),
        ),
        # codon 358, tyrosine to histidine; 326 from Ser to Cys
        (
            re.compile(rf"^(?:codon\s+)?(\d+),?\s+(?:from\s+)?{_AA_WORD}{_TO}{_AA_WORD}$", i),
            lambda g: _sub_p(g[1], g[0], g[2]),
        ),
        # --- prose, nucleotides ---
        # G to C at codon 158
        (
            re.compile(rf"^{_NT_WORD}{_TO}{_NT_WORD}{_KIND}\s+(?:at|in)\s+codon\s+(\d+)$", i),
            lambda g: _sub_c("c", g[0], f"CODON{g[2]}", g[1]),
        ),
        # C to T at 33468, cytosine to guanine transversion at nucleotide 1451,
        # (G-->A) at nucleotide position 2141, G>T substitution at nucleotide c.898
        (
            re.compile(rf"^\(?{_NT_WORD}{_TO}{_NT_WORD}\)?{_KIND}{_AT}\+?(-?\d+)$", i),
            lambda g: _sub_c("c", g[0], g[2], g[1]),
        ),
        # G6410 by T
        (
            re.compile(r"^([ACGT])(\d+)\s+(?:by|to|->|-->)\s+([ACGT])$"),
            lambda g: _sub_c("c", g[0], g[1], g[2]),
        ),
        # C to T, G > C, C-->T, G/C: a change without a position
        (
            re.compile(r"^([ACGT])\s?(?:>|-+>|\bto\b|-to-|/)\s?([ACGT])$"),
            lambda g: _sub_c("c", g[0], "", g[1]),
        ),
        # C deletion in codon 241
        (
            re.compile(rf"^{_NT_WORD}\s+(deletion|insertion)\s+(?:at|in)\s+codon\s+(\d+)$", i),
            lambda g: f"c|{_op(g[1])}|CODON{g[2]}|{_nt(g[0])}",
        ),
        # T deletion at 5063; cytosine insertion
        (
            re.compile(rf"^{_NT_WORD}\s+(deletion|insertion)(?:{_AT}(\d+))?$", i),
            lambda g: f"c|{_op(g[1])}|{g[2] or ''}|{_nt(g[0])}",
        ),
    ]


_RULES = _rules()


def normalize_variant(text: str) -> str | None:
    """An HGVS-like or prose variant mention in tmVar's normalized form, or None (module doc)."""
    s = " ".join(text.split())
    s = re.sub(r"(?<=\b[cgmnrp]\.)\s+", "", s)  # "p. Glu104X", "c. 1093-1G>T"
    s = re.sub(r"(?<=\d)\s*\+\s*(?=\d)", "+", s)  # "c.855 +1G>C", "IVS3 + 18C>T"
    s = re.sub(r"(?<=[\dA-Za-z*])\s*>\s*(?=[A-Za-z])", ">", s)  # "g.3907G >A", "C > T"
    for pattern, build in _RULES:
        m = pattern.match(s)
        if m:
            form = build(m.groups())
            if form:
                return form
    return None


#: "Ile105Val (rs1695)", "c.471C>T (p.Ser157Ser, rs35435463)"; "p.Ser157Ser, rs35435463)"
_RS_AFTER = re.compile(r"\s*(?:[(\[][^()\[\]]{0,30}?\b(rs\d+)\b|,\s*(rs\d+)\s*[)\]])")
_RS_BEFORE = re.compile(r"\b(rs\d+)\s*\(\s*$")  # "rs25531(A-->G)"


def rsid_beside(text: str, start: int, end: int) -> str | None:
    """The rs-id a variant mention is given with in brackets ("c.471 C>T (p.Ser157Ser,
    rs35435463)", "rs25531 (A-->G)"), as ``rs123``; None when there is none."""
    after = _RS_AFTER.match(text, end)
    if after:
        return after.group(1) or after.group(2)
    before = _RS_BEFORE.search(text[max(0, start - 20) : start])
    return before.group(1) if before else None


def same_variant_rsids(
    text: str, spans: list[tuple[int, int, tuple[str, ...]]]
) -> list[tuple[str, ...]]:
    """The identifiers of a document's variant mentions ((start, end, ids) each), with the
    rs-id a mention is given with (:func:`rsid_beside`) in place of its tmVar form, and that
    rs-id also for the document's other mentions of the same form. The corpora annotate every
    mention of a variant with its rs-id where one is known ("Ile105Val (rs1695) ... Ile105Val")."""
    given: dict[str, str] = {}
    found: list[str | None] = []
    for start, end, ids in spans:
        rs = rsid_beside(text, start, end)
        found.append(rs)
        if rs:
            for i in ids:
                if i.startswith("tmVar:"):
                    given.setdefault(i, rs)
    out = []
    for (_, _, ids), rs in zip(spans, found, strict=True):
        rs = rs or next((given[i] for i in ids if i in given), None)
        out.append((f"DBSNP:{rs}",) if rs and not any(i.startswith("DBSNP:") for i in ids) else ids)
    return out
