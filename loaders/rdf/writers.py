"""Streaming RDF serializers: N-Triples, N-Quads, Turtle, JSON-LD.

Each writer takes blocks (a subject and its predicate/object pairs, see
:mod:`loaders.rdf.triples`) one at a time and writes them at once, so memory does not grow with
the graph. Lines are written directly (N-Triples is a line format; writing it by hand is about
ten times faster than building rdflib ``Graph`` objects); rdflib supplies the standard namespaces
and, in the tests, an independent Turtle and JSON-LD parser.

* N-Triples / N-Quads: one statement per line, absolute IRIs; N-Quads puts every statement into
  one named graph (``--graph-iri``, default ``kgg:<database>``), so several exports can share a
  store.
* Turtle: a subject's statements are grouped with ``;``; prefixed names where the local part is
  safe in Turtle, else ``<IRI>``; an ``@prefix`` line is written the first time a prefix is used
  (Turtle allows directives anywhere before use).
* JSON-LD: ``{"@context": ..., "@graph": [node objects]}``, one node object per block, absolute
  IRIs as ``@id``; literals with their datatype.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TextIO
from urllib.parse import quote

from rdflib.namespace import DCTERMS, RDF, RDFS, XSD

from kg.errors import SchemaError
from loaders.rdf.prefixes import expand
from loaders.rdf.triples import Block, Lit

#: Vocabulary prefixes every writer knows; rdflib's namespaces for the W3C ones.
VOCABULARY: dict[str, str] = {
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "xsd": str(XSD),
    "dct": str(DCTERMS),
}

_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})
#: A conservative PN_LOCAL: letters, digits, '_', '-', '.', not ending in '.'.
_TTL_LOCAL = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?$")
_TTL_PREFIX = re.compile(r"^[A-Za-z](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?$")
#: Where an identifier's prefix is in no map (counted in the report, never dropped).
FALLBACK_NAMESPACE = "https://w3id.org/kg-biomed/curie/"


#: Rendered terms kept per writer: vocabulary, entities and publications repeat (a publication
#: per mention, an entity per edge). Bounded, so memory does not grow with the graph.
CACHE_SIZE = 1 << 18


def _remember(cache: dict[str, str], curie: str, text: str) -> str:
    """Cache a rendered term: vocabulary and entities repeat, associations and evidence don't."""
    if len(cache) < CACHE_SIZE and not curie.startswith(("kga:", "kge:")):
        cache[curie] = text
    return text


def _literal(lit: Lit, datatype_term: Callable[[str], str]) -> str:
    """``"text"`` or ``"text"^^<datatype>`` (N-Triples and Turtle escape literals alike)."""
    value, datatype = lit
    text = '"' + value.translate(_ESCAPES) + '"'
    return text if datatype is None else f"{text}^^{datatype_term(datatype)}"


class RdfWriter:
    """Base: IRI rendering with a per-run cache of vocabulary IRIs and a triple count."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.triples = 0
        self.unmapped: dict[str, int] = {}
        self._vocab: dict[str, str] = {}

    def iri(self, curie: str) -> str:
        """The absolute IRI of a CURIE; an unmapped prefix falls back (and is counted)."""
        try:
            return expand(curie)
        except SchemaError:
            prefix = curie.partition(":")[0]
            self.unmapped[prefix] = self.unmapped.get(prefix, 0) + 1
            return FALLBACK_NAMESPACE + quote(curie, safe=":")

    def nt_iri(self, curie: str) -> str:
        """The ``<IRI>`` of a CURIE, cached."""
        found = self._vocab.get(curie)
        if found is None:
            found = _remember(self._vocab, curie, f"<{self.iri(curie)}>")
        return found

    def start(self) -> None:  # noqa: B027 - optional hook
        """Write what comes before the first block."""

    def write(self, block: Block) -> None:
        raise NotImplementedError

    def finish(self) -> None:  # noqa: B027 - optional hook
        """Write what comes after the last block."""


class NTriplesWriter(RdfWriter):
    """One ``<s> <p> <o> .`` line per triple (``graph`` given: N-Quads)."""

    def __init__(self, out: TextIO, graph: str | None = None) -> None:
        super().__init__(out)
        self.tail = f" <{self.iri(graph)}> .\n" if graph else " .\n"

    def write(self, block: Block) -> None:
        # The hot loop of every export: cache lookups inlined, one write per block.
        subject, pairs = block
        get, term = self._vocab.get, self.nt_iri
        s = get(subject) or term(subject)
        tail = self.tail
        lines = []
        for p, o in pairs:
            if type(o) is str:
                obj = get(o) or term(o)
            else:
                value, datatype = o
                obj = '"' + value.translate(_ESCAPES) + '"'
                if datatype is not None:
                    obj = f"{obj}^^{get(datatype) or term(datatype)}"
            lines.append(f"{s} {get(p) or term(p)} {obj}{tail}")
        self.out.write("".join(lines))
        self.triples += len(pairs)


class TurtleWriter(RdfWriter):
    """Grouped statements with prefixed names; ``@prefix`` lines as prefixes first appear."""

    def __init__(self, out: TextIO) -> None:
        super().__init__(out)
        self._declared: set[str] = set()
        self._terms: dict[str, str] = {}

    def term(self, curie: str) -> str:
        """A CURIE as a Turtle term: a prefixed name if safe (declared at first use), else <IRI>."""
        found = self._terms.get(curie)
        if found is not None:
            return found
        prefix, _, local = curie.partition(":")
        if _TTL_PREFIX.match(prefix) and _TTL_LOCAL.match(local):
            iri = self.iri(curie)
            if iri.endswith(local) and not iri.startswith(FALLBACK_NAMESPACE):
                if prefix not in self._declared:
                    self._declared.add(prefix)
                    self.out.write(f"@prefix {prefix}: <{iri[: len(iri) - len(local)]}> .\n")
                text = curie
            else:
                text = f"<{iri}>"
        else:
            text = f"<{self.iri(curie)}>"
        return _remember(self._terms, curie, text)

    def literal(self, lit: Lit) -> str:
        """A Turtle literal."""
        return _literal(lit, self.term)

    def write(self, block: Block) -> None:
        subject, pairs = block
        rendered = [
            (self.term(p), self.term(o) if type(o) is str else self.literal(o)) for p, o in pairs
        ]
        s = self.term(subject)
        body = " ;\n    ".join(f"{'a' if p == 'rdf:type' else p} {o}" for p, o in rendered)
        self.out.write(f"{s} {body} .\n")
        self.triples += len(pairs)


class JsonLdWriter(RdfWriter):
    """``{"@context": {...}, "@graph": [...]}`` written one node object at a time."""

    def __init__(self, out: TextIO) -> None:
        super().__init__(out)
        self._first = True

    def start(self) -> None:
        context = {p: VOCABULARY[p] for p in ("rdf", "rdfs", "xsd", "dct")}
        context["biolink"] = expand("biolink:x")[:-1]
        context["kgv"] = expand("kgv:x")[:-1]
        self.out.write('{"@context": ' + json.dumps(context) + ',\n "@graph": [\n')

    def write(self, block: Block) -> None:
        subject, pairs = block
        node: dict[str, object] = {"@id": self.iri(subject)}
        types: list[str] = []
        for p, o in pairs:
            if p == "rdf:type" and type(o) is str:
                types.append(self.iri(o))
                continue
            value: object
            if type(o) is str:
                value = {"@id": self.iri(o)}
            elif o[1] is None:
                value = o[0]
            else:
                value = {"@value": o[0], "@type": self.iri(o[1])}
            node.setdefault(self.iri(p), []).append(value)  # type: ignore[union-attr]
        if types:
            node["@type"] = types
        self.out.write(("  " if self._first else ",\n  ") + json.dumps(node, ensure_ascii=False))
        self._first = False
        self.triples += len(pairs)

    def finish(self) -> None:
        self.out.write("\n]}\n")


#: ``kg export rdf --format`` -> (writer class, file extension).
FORMATS: dict[str, tuple[type[RdfWriter], str]] = {
    "nt": (NTriplesWriter, ".nt"),
    "nq": (NTriplesWriter, ".nq"),
    "ttl": (TurtleWriter, ".ttl"),
    "jsonld": (JsonLdWriter, ".jsonld"),
}
