"""Identifiers: raw corpus IDs to CURIEs, provisional keys, and back.

Every entity is its CURIE. The prefixes follow the Biolink prefix map where it has one
(``MESH``, ``OMIM``, ``NCBIGene``, ``NCBITaxon``, ``DBSNP``); Cellosaurus uses
``cellosaurus:CVCL_xxxx``; a variant without an rs-id keeps tmVar's normalized form
(``tmVar:c|SUB|C|1012|T``), which is HGVS-like and round-trips to the corpora's IDs.
A mention that cannot be linked gets a stable provisional key (``KGP:<type>.<slug>``).
"""

from __future__ import annotations

import re
import unicodedata

from kg.schema import EntityType

PROVISIONAL_PREFIX = "KGP"

_UNLINKED = {"", "-", "-1", "none", "null", "n/a"}
_MESH = re.compile(r"^(?:MESH:)?([CD]\d{6,9})$", re.IGNORECASE)
_OMIM = re.compile(r"^OMIM[:_](\d+)$", re.IGNORECASE)
_DIGITS = re.compile(r"^\d+$")
_TAX_SUFFIX = re.compile(r"\(tax:\d+\)$", re.IGNORECASE)
_RSID = re.compile(r"^(?:RS#:|rs)(\d+)$", re.IGNORECASE)
_CVCL = re.compile(r"^(?:cellosaurus:)?CVCL[_:]([0-9A-Z]{4})$", re.IGNORECASE)
_CURIE = re.compile(r"^[A-Za-z][\w.-]*:\S+$")
_SLUG = re.compile(r"[^0-9a-z]+")


def _split(raw: str, etype: EntityType) -> list[str]:
    if etype is EntityType.VARIANT:
        # tmVar writes "rs123;Disease:D000;VariantGroup:1" or "c|DEL||15;Gene:7157": the
        # variant is the first part; '|' belongs to its notation.
        first = raw.split(";")[0]
        return [first]
    return re.split(r"[|,;+]", raw)


def _one(part: str, etype: EntityType) -> str | None:
    part = part.strip()
    if part.lower() in _UNLINKED:
        return None
    if etype in (EntityType.CHEMICAL, EntityType.DISEASE):
        if m := _MESH.match(part):
            return f"MESH:{m.group(1).upper()}"
        if m := _OMIM.match(part):
            return f"OMIM:{m.group(1)}"
    elif etype is EntityType.GENE:
        part = _TAX_SUFFIX.sub("", part)
        if part.lower().startswith("ncbigene:"):
            part = part.split(":", 1)[1]
        if _DIGITS.match(part):
            return f"NCBIGene:{part}"
    elif etype is EntityType.SPECIES:
        part = part.lower().removeprefix("species:ncbi:").removeprefix("ncbitaxon:")
        part = part.lstrip("*")
        if _DIGITS.match(part):
            return f"NCBITaxon:{part}"
    elif etype is EntityType.VARIANT:
        if m := _RSID.match(part):
            return f"DBSNP:rs{m.group(1)}"
        if part.lower().startswith("dbsnp:"):
            return "DBSNP:" + part.split(":", 1)[1].lower()
        if "|" in part:
            return f"tmVar:{part.removeprefix('tmVar:')}"
    elif etype is EntityType.CELL_LINE and (m := _CVCL.match(part)):
        return f"cellosaurus:CVCL_{m.group(1).upper()}"
    if _CURIE.match(part):
        return part
    return None


def normalize_ids(raw: str | None, etype: EntityType) -> tuple[str, ...]:
    """CURIEs for a raw identifier field of a corpus (several IDs allowed); () if unlinked."""
    if raw is None:
        return ()
    out: list[str] = []
    for part in _split(raw.strip(), etype):
        curie = _one(part, etype)
        if curie and curie not in out:
            out.append(curie)
    return tuple(out)


def slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return _SLUG.sub("_", folded).strip("_") or "x"


def provisional_id(etype: EntityType, text: str) -> str:
    """A stable key for a mention we could not link: same type and text, same key."""
    return f"{PROVISIONAL_PREFIX}:{etype.value.lower()}.{slug(text)}"


def is_provisional(curie: str) -> bool:
    return curie.startswith(PROVISIONAL_PREFIX + ":")


#: CURIE prefixes stripped when writing the PubTator contract (bare IDs, as in the corpora).
_BARE_PREFIXES = ("MESH:", "NCBIGene:", "NCBITaxon:", "tmVar:", "cellosaurus:")


def to_pubtator_id(curie: str) -> str:
    """The ID as the PubTator corpora write it (``MESH:D003409`` -> ``D003409``); '-' if none."""
    if is_provisional(curie):
        return "-"
    if curie.startswith("DBSNP:"):
        return curie.split(":", 1)[1]
    for prefix in _BARE_PREFIXES:
        if curie.startswith(prefix):
            return curie[len(prefix) :]
    return curie
