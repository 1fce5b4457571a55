"""What each graph record becomes in RDF (the decision and its reasons: docs/decisions/0005).

Every IRI is handled as a CURIE until a writer renders it (:func:`loaders.rdf.prefixes.expand`);
literals are :class:`Lit`. A record becomes a *block*: one subject with its (predicate, object)
pairs, which lets Turtle and JSON-LD group them and N-Triples write them line by line.

* entity ``MESH:D008094``: ``a biolink:ChemicalEntity``; ``rdfs:label``; ``biolink:synonym``
  (each); ``dct:identifier`` (the CURIE); ``kgv:provisional true`` for provisional keys;
* publication ``PMID:123``: ``a biolink:Publication``; ``dct:title``; ``dct:issued``;
  ``kgv:journal``; ``dct:identifier``; ``biolink:mentions`` each entity it mentions;
* asserted edge: the plain triple ``s biolink:<predicate> o``, and its provenance on a reified
  statement ``kga:<edge key>`` (``a rdf:Statement, biolink:Association``; ``rdf:subject``,
  ``rdf:predicate``, ``rdf:object``; ``biolink:publications`` each PMID;
  ``biolink:evidence_count``; ``kgv:paper_count``; ``kgv:confidence``; ``kgv:first_year``,
  ``kgv:last_year``, ``kgv:best_score``; ``kgv:relation_type``, ``kgv:extractor`` each;
  ``biolink:knowledge_level``, ``biolink:agent_type``);
* evidence record (optional): ``kga:<key> kgv:evidence kge:<id>``; ``kge:<id> a kgv:Evidence``;
  ``dct:source`` its PMID; ``biolink:supporting_text`` the sentence; ``kgv:score``,
  ``kgv:extractor``, ``kgv:relation_type``, ``kgv:start``, ``kgv:end``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from loaders.rdf.graph import EntityRow, PublicationRow, RelationRow

XSD_INTEGER = "xsd:integer"
XSD_DOUBLE = "xsd:double"
XSD_BOOLEAN = "xsd:boolean"

RDF_TYPE = "rdf:type"
_NUMERIC_PMID = re.compile(r"^\d+$")


#: A literal: (lexical form, datatype CURIE or None for a plain string). A plain tuple, not a
#: NamedTuple: building one is several times cheaper, and exports build millions.
Lit = tuple[str, str | None]
#: An object is an IRI (a CURIE ``str``) or a literal (a ``tuple``).
Pair = tuple[str, str | Lit]
Block = tuple[str, list[Pair]]


def integer(n: int) -> Lit:
    """An ``xsd:integer`` literal."""
    return (str(int(n)), XSD_INTEGER)


def double(x: float) -> Lit:
    """An ``xsd:double`` literal."""
    return (repr(float(x)), XSD_DOUBLE)


TRUE: Lit = ("true", XSD_BOOLEAN)


def publication_curie(pmid: str) -> str:
    """``PMID:123`` for PubMed records, ``kgd:<id>`` for other documents (user texts)."""
    return f"PMID:{pmid}" if _NUMERIC_PMID.match(pmid) else f"kgd:{pmid}"


def entity_block(e: EntityRow) -> Block:
    """An entity: its category, label, synonyms, identifier (see the module doc)."""
    pairs: list[Pair] = [(RDF_TYPE, e.category), ("rdfs:label", (e.name, None))]
    pairs += [("biolink:synonym", (s, None)) for s in e.synonyms if s != e.name]
    pairs.append(("dct:identifier", (e.id, None)))
    if e.provisional:
        pairs.append(("kgv:provisional", TRUE))
    return e.id, pairs


def publication_block(p: PublicationRow) -> Block:
    """A publication: type, title, date, journal, identifier, the entities it mentions."""
    pairs: list[Pair] = [(RDF_TYPE, "biolink:Publication")]
    if p.title:
        pairs.append(("dct:title", (p.title, None)))
    if p.pub_date:
        pairs.append(("dct:issued", (p.pub_date, None)))
    if p.journal:
        pairs.append(("kgv:journal", (p.journal, None)))
    pairs.append(("dct:identifier", (publication_curie(p.pmid), None)))
    pairs += [("biolink:mentions", eid) for eid in p.mentions]
    return publication_curie(p.pmid), pairs


def relation_blocks(r: RelationRow, *, evidence: bool = True) -> Iterator[Block]:
    """The asserted triple, its reified statement with provenance, and its evidence records."""
    yield r.subject, [(r.predicate, r.object)]
    node = f"kga:{r.key}"
    pairs: list[Pair] = [
        (RDF_TYPE, "rdf:Statement"),
        (RDF_TYPE, "biolink:Association"),
        ("rdf:subject", r.subject),
        ("rdf:predicate", r.predicate),
        ("rdf:object", r.object),
    ]
    pairs += [("biolink:publications", publication_curie(p)) for p in r.pmids]
    pairs.append(("biolink:evidence_count", integer(r.evidence_count)))
    pairs.append(("kgv:paper_count", integer(r.paper_count)))
    if r.confidence is not None:
        pairs.append(("kgv:confidence", double(r.confidence)))
    if r.best_score is not None:
        pairs.append(("kgv:best_score", double(r.best_score)))
    if r.first_year is not None:
        pairs.append(("kgv:first_year", integer(r.first_year)))
    if r.last_year is not None:
        pairs.append(("kgv:last_year", integer(r.last_year)))
    pairs += [("kgv:relation_type", (t, None)) for t in r.relation_types]
    pairs += [("kgv:extractor", (x, None)) for x in r.extractors]
    pairs.append(("biolink:knowledge_level", ("knowledge_assertion", None)))
    pairs.append(("biolink:agent_type", (agent_type(r.extractors), None)))
    if evidence:
        pairs += [("kgv:evidence", f"kge:{ev.id}") for ev in r.evidence]
    yield node, pairs
    if not evidence:
        return
    for ev in r.evidence:
        ev_pairs: list[Pair] = [
            (RDF_TYPE, "kgv:Evidence"),
            ("dct:source", publication_curie(ev.pmid)),
        ]
        if ev.sentence:
            ev_pairs.append(("biolink:supporting_text", (ev.sentence, None)))
        if ev.score is not None:
            ev_pairs.append(("kgv:score", double(ev.score)))
        if ev.extractor:
            ev_pairs.append(("kgv:extractor", (ev.extractor, None)))
        if ev.relation_type:
            ev_pairs.append(("kgv:relation_type", (ev.relation_type, None)))
        if ev.start is not None and ev.end is not None:
            ev_pairs += [("kgv:start", integer(ev.start)), ("kgv:end", integer(ev.end))]
        yield f"kge:{ev.id}", ev_pairs


def agent_type(extractors: tuple[str, ...]) -> str:
    """Biolink's AgentTypeEnum: curated annotations are ``manual_agent``, models text mining."""
    if extractors and all(x == "annotation" for x in extractors):
        return "manual_agent"
    return "text_mining_agent"
