"""The closed schema: entity types, relation types, predicates and allowed patterns.

Everything the graph may contain is declared here as data. Anything else is refused with a
clear message (:class:`kg.errors.SchemaError`). Labels and relationship types that reach Cypher
come only from these tables, never from input text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from kg.errors import SchemaError


class EntityType(StrEnum):
    CHEMICAL = "Chemical"
    DISEASE = "Disease"
    GENE = "Gene"
    SPECIES = "Species"
    VARIANT = "Variant"
    CELL_LINE = "CellLine"


#: Biolink category of each entity type.
BIOLINK_CATEGORY: dict[EntityType, str] = {
    EntityType.CHEMICAL: "biolink:ChemicalEntity",
    EntityType.DISEASE: "biolink:DiseaseOrPhenotypicFeature",
    EntityType.GENE: "biolink:Gene",
    EntityType.SPECIES: "biolink:OrganismTaxon",
    EntityType.VARIANT: "biolink:SequenceVariant",
    EntityType.CELL_LINE: "biolink:CellLine",
}

#: Type names used by the corpora and tools we read, mapped onto ours.
ENTITY_TYPE_ALIASES: dict[str, EntityType] = {
    **{t.value.lower(): t for t in EntityType},
    "chemicalentity": EntityType.CHEMICAL,
    "drug": EntityType.CHEMICAL,
    "diseaseorphenotypicfeature": EntityType.DISEASE,
    "specificdisease": EntityType.DISEASE,
    "diseaseclass": EntityType.DISEASE,
    "modifier": EntityType.DISEASE,
    "compositemention": EntityType.DISEASE,
    "geneorgeneproduct": EntityType.GENE,
    "protein": EntityType.GENE,
    "organismtaxon": EntityType.SPECIES,
    "organism": EntityType.SPECIES,
    "sequencevariant": EntityType.VARIANT,
    "dnamutation": EntityType.VARIANT,
    "proteinmutation": EntityType.VARIANT,
    "snp": EntityType.VARIANT,
    "dnaallele": EntityType.VARIANT,
    "proteinallele": EntityType.VARIANT,
    "acidchange": EntityType.VARIANT,
    "cell_line": EntityType.CELL_LINE,
    "cellline": EntityType.CELL_LINE,
}


def parse_entity_type(label: str) -> EntityType:
    """Map a type name from any supported corpus or tool onto an :class:`EntityType`."""
    found = ENTITY_TYPE_ALIASES.get(label.strip().lower())
    if found is None:
        known = ", ".join(t.value for t in EntityType)
        raise SchemaError(
            f"unknown entity type {label!r}",
            hint=f"use one of {known} (BioRED's names are accepted too)",
        )
    return found


class RelationType(StrEnum):
    """BioRED's eight relation types: the names of the extraction output contract."""

    ASSOCIATION = "Association"
    POSITIVE_CORRELATION = "Positive_Correlation"
    NEGATIVE_CORRELATION = "Negative_Correlation"
    BIND = "Bind"
    COTREATMENT = "Cotreatment"
    COMPARISON = "Comparison"
    DRUG_INTERACTION = "Drug_Interaction"
    CONVERSION = "Conversion"


RELATION_TYPE_ALIASES: dict[str, RelationType] = {
    **{t.value.lower(): t for t in RelationType},
    # BC5CDR's chemical-induced disease relation.
    "cid": RelationType.POSITIVE_CORRELATION,
}


def parse_relation_type(label: str) -> RelationType:
    found = RELATION_TYPE_ALIASES.get(label.strip().lower())
    if found is None:
        known = ", ".join(t.value for t in RelationType)
        raise SchemaError(f"unknown relation type {label!r}", hint=f"use one of {known} or CID")
    return found


@dataclass(frozen=True, slots=True)
class Predicate:
    curie: str
    #: The Neo4j relationship type: derived from the CURIE, always from this table.
    rel_type: str
    #: Symmetric predicates store their two ends in a canonical (sorted) order.
    symmetric: bool


def _predicate(curie: str, symmetric: bool) -> Predicate:
    name = curie.split(":", 1)[1]
    return Predicate(curie, name.upper(), symmetric)


PREDICATES: dict[str, Predicate] = {
    p.curie: p
    for p in (
        _predicate("biolink:associated_with", True),
        _predicate("biolink:positively_correlated_with", True),
        _predicate("biolink:negatively_correlated_with", True),
        _predicate("biolink:causes", False),
        _predicate("biolink:treats", False),
        _predicate("biolink:physically_interacts_with", True),
        _predicate("biolink:interacts_with", True),
        _predicate("biolink:coexists_with", True),
        _predicate("biolink:related_to", True),
        _predicate("biolink:derives_into", False),
    )
}

#: Relation type -> predicate, for any pair of entity types. See docs/decisions/0002.
DEFAULT_PREDICATE: dict[RelationType, str] = {
    RelationType.ASSOCIATION: "biolink:associated_with",
    RelationType.POSITIVE_CORRELATION: "biolink:positively_correlated_with",
    RelationType.NEGATIVE_CORRELATION: "biolink:negatively_correlated_with",
    RelationType.BIND: "biolink:physically_interacts_with",
    RelationType.COTREATMENT: "biolink:coexists_with",
    RelationType.COMPARISON: "biolink:related_to",
    RelationType.DRUG_INTERACTION: "biolink:interacts_with",
    RelationType.CONVERSION: "biolink:derives_into",
}

#: What a relation whose direction nobody knows becomes when its type's predicate is directed
#: and both ends have one type (a model's Conversion between two chemicals).
UNDIRECTED_PREDICATE = "biolink:related_to"

#: Overrides for particular (relation type, subject type, object type): chemical -> disease.
#: The subject of these is always the first type named, whichever order the input gave.
DIRECTED_PREDICATE: dict[tuple[RelationType, EntityType, EntityType], str] = {
    (
        RelationType.POSITIVE_CORRELATION,
        EntityType.CHEMICAL,
        EntityType.DISEASE,
    ): "biolink:causes",
    (
        RelationType.NEGATIVE_CORRELATION,
        EntityType.CHEMICAL,
        EntityType.DISEASE,
    ): "biolink:treats",
}

#: Unordered pairs of entity types between which relations may be asserted (BioRED's scheme).
ALLOWED_PAIRS: frozenset[frozenset[EntityType]] = frozenset(
    frozenset(pair)
    for pair in (
        (EntityType.CHEMICAL, EntityType.CHEMICAL),
        (EntityType.CHEMICAL, EntityType.DISEASE),
        (EntityType.CHEMICAL, EntityType.GENE),
        (EntityType.CHEMICAL, EntityType.VARIANT),
        (EntityType.DISEASE, EntityType.GENE),
        (EntityType.DISEASE, EntityType.VARIANT),
        (EntityType.GENE, EntityType.GENE),
        (EntityType.GENE, EntityType.VARIANT),
        (EntityType.VARIANT, EntityType.VARIANT),
    )
)


@dataclass(frozen=True, slots=True)
class ResolvedPredicate:
    predicate: Predicate
    #: True when the subject and object must be swapped relative to the input order.
    swap: bool


def resolve_predicate(
    relation_type: RelationType, subject_type: EntityType, object_type: EntityType
) -> ResolvedPredicate:
    """The predicate for a typed relation between two entity types, and its direction.

    Raises :class:`SchemaError` for a pair of types outside :data:`ALLOWED_PAIRS`.
    """
    if frozenset((subject_type, object_type)) not in ALLOWED_PAIRS:
        raise SchemaError(
            f"{relation_type.value} between {subject_type.value} and {object_type.value} "
            "is outside the schema",
            hint="relations join Chemical, Disease, Gene and Variant entities (see kg/schema.py)",
        )
    forward = DIRECTED_PREDICATE.get((relation_type, subject_type, object_type))
    if forward:
        return ResolvedPredicate(PREDICATES[forward], swap=False)
    backward = DIRECTED_PREDICATE.get((relation_type, object_type, subject_type))
    if backward:
        return ResolvedPredicate(PREDICATES[backward], swap=True)
    return ResolvedPredicate(PREDICATES[DEFAULT_PREDICATE[relation_type]], swap=False)


def predicate_by_curie(curie: str) -> Predicate:
    found = PREDICATES.get(curie)
    if found is None:
        raise SchemaError(
            f"unknown predicate {curie!r}", hint=f"use one of {', '.join(sorted(PREDICATES))}"
        )
    return found


#: Node labels that may appear in Cypher we generate.
ENTITY_LABEL = "Entity"
PUBLICATION_LABEL = "Publication"
EVIDENCE_LABEL = "Evidence"
MENTIONS_REL = "MENTIONS"
FROM_REL = "FROM"
