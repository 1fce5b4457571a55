"""CURIEs to IRIs through a maintained prefix map, not a hand-written table.

The map is the Biolink model's own prefix map (``biolink-model-prefix-map.json`` of Biolink
4.4.4, the release that ``kg/schema.py`` follows, read from the pinned PyPI package
``biolink-model``), chained with
``extra-prefixes.json`` for the few prefixes our identifiers use that Biolink does not define
(Cellosaurus, tmVar strings, provisional keys, this project's vocabulary). The ``curies``
package does the expansion and compression.

A local identifier is percent-encoded where the IRI grammar forbids its characters (tmVar's
``c|SUB|C|1012|T`` becomes ``c%7CSUB%7CC%7C1012%7CT``), so every IRI is valid in N-Triples and
round-trips.
"""

from __future__ import annotations

import json
import re
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import curies

from kg.errors import SchemaError

#: Characters a local identifier may keep as they are (RFC 3987 unreserved + sub-delims + ':@/').
_SAFE = "-._~!$&'()*+,;=:@/"
_UNSAFE = re.compile(r"[^A-Za-z0-9\-._~!$&'()*+,;=:@/]")


def _load(name: str) -> dict[str, str]:
    data = json.loads(resources.files("loaders.rdf").joinpath(name).read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


@cache
def _biolink() -> dict[str, str]:
    """Biolink's own prefix map, from the pinned ``biolink-model`` package (its data files)."""
    import importlib.util

    spec = importlib.util.find_spec("biolink_model")
    if spec is None or not spec.submodule_search_locations:
        raise SchemaError(
            "the Biolink prefix map is missing (Python package biolink-model)",
            hint="install the project's dependencies: pip install -e .",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "prefixmaps"
    return json.loads((path / "biolink-model-prefix-map.json").read_text(encoding="utf-8"))


@cache
def prefix_map() -> dict[str, str]:
    """Biolink's prefix map with our extensions (Biolink wins where both define a prefix)."""
    return {**_load("extra-prefixes.json"), **_biolink()}


@cache
def converter() -> curies.Converter:
    """The ``curies`` converter over :func:`prefix_map`."""
    # strict=False: Biolink's map gives two prefixes the same namespace (icd11 and
    # icd11.foundation); expansion is unaffected, compression picks one of them.
    return curies.chain(
        [
            curies.load_prefix_map(_biolink(), strict=False),
            curies.load_prefix_map(_load("extra-prefixes.json")),
        ]
    )


@cache
def _namespaces() -> dict[str, str]:
    """prefix -> URI prefix, read once from the converter (a plain dict lookup per CURIE is
    ~100× faster than ``Converter.expand``, which matters at hundreds of thousands per second)."""
    return dict(converter().prefix_map)


@lru_cache(maxsize=1 << 16)
def _unknown(prefix: str, curie: str) -> SchemaError:
    return SchemaError(
        f"no IRI namespace for the prefix {prefix!r} (identifier {curie!r})",
        hint="add the prefix to loaders/rdf/extra-prefixes.json (check bioregistry.io for "
        "its preferred URI)",
    )


def expand(curie: str) -> str:
    """The IRI of a CURIE; :class:`SchemaError` for a prefix no map defines."""
    prefix, sep, local = curie.partition(":")
    namespace = _namespaces().get(prefix) if sep else None
    if namespace is None:
        if not sep:
            raise SchemaError(f"{curie!r} is not a CURIE (prefix:local)")
        raise _unknown(prefix, curie)
    if not local.isalnum() and _UNSAFE.search(local):
        local = quote(local, safe=_SAFE)
    return namespace + local


def prefix_of(iri: str) -> tuple[str, str] | None:
    """(prefix, local) of an IRI under the map, or None."""
    found = converter().compress(iri)
    if found is None:
        return None
    prefix, _, local = found.partition(":")
    return prefix, local
