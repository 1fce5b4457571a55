"""The core without a database: identifiers, schema, model, text, pipeline assembly, config."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kg.config import load_settings
from kg.errors import ConfigError, ModelNotInstalledError, OffsetMismatchError, SchemaError
from kg.identifiers import normalize_ids, provisional_id, to_pubtator_id
from kg.model import DeletedCitation, Mention
from kg.pipeline import Quarantine, RunReport, assemble, batches, entities_of, records
from kg.schema import EntityType, RelationType, parse_entity_type, resolve_predicate
from kg.text import sentence_spans
from tests.helpers import LITHIUM, make_doc

E = EntityType


@pytest.mark.parametrize(
    ("raw", "etype", "expected"),
    [
        ("D008750|D003866", E.DISEASE, ("MESH:D008750", "MESH:D003866")),
        ("C564766", E.DISEASE, ("MESH:C564766",)),
        ("OMIM:601200", E.DISEASE, ("OMIM:601200",)),
        ("OMIM_601200", E.DISEASE, ("OMIM:601200",)),
        ("-1", E.CHEMICAL, ()),
        ("-", E.CHEMICAL, ()),
        ("3569(Tax:10090),12", E.GENE, ("NCBIGene:3569", "NCBIGene:12")),
        ("24513(tax:10116)", E.GENE, ("NCBIGene:24513",)),
        ("D004829+D003294", E.DISEASE, ("MESH:D004829", "MESH:D003294")),
        ("9606", E.SPECIES, ("NCBITaxon:9606",)),
        ("rs121913527;Disease:D001;VariantGroup:1", E.VARIANT, ("DBSNP:rs121913527",)),
        ("c|DEL||15;Gene:7157", E.VARIANT, ("tmVar:c|DEL||15",)),
        (" CVCL_1452", E.CELL_LINE, ("cellosaurus:CVCL_1452",)),
    ],
)
def test_normalize_ids(raw: str, etype: EntityType, expected: tuple[str, ...]) -> None:
    assert normalize_ids(raw, etype) == expected


def test_pubtator_ids_round_trip() -> None:
    for raw, etype in [("D008750", E.CHEMICAL), ("672", E.GENE), ("rs12", E.VARIANT)]:
        assert to_pubtator_id(normalize_ids(raw, etype)[0]) == raw
    assert to_pubtator_id(provisional_id(E.DISEASE, "odd thing")) == "-"


def test_provisional_ids_are_stable_and_typed() -> None:
    assert provisional_id(E.DISEASE, "Iodide transport defect") == provisional_id(
        E.DISEASE, "iodide  transport-defect"
    )
    assert provisional_id(E.DISEASE, "x") != provisional_id(E.CHEMICAL, "x")


def test_entity_type_aliases_and_refusal() -> None:
    assert parse_entity_type("GeneOrGeneProduct") is E.GENE
    assert parse_entity_type("DiseaseOrPhenotypicFeature") is E.DISEASE
    with pytest.raises(SchemaError, match="unknown entity type 'Planet'"):
        parse_entity_type("Planet")


@pytest.mark.parametrize(
    ("rtype", "s", "o", "curie", "swap"),
    [
        (RelationType.POSITIVE_CORRELATION, E.CHEMICAL, E.DISEASE, "biolink:causes", False),
        (RelationType.POSITIVE_CORRELATION, E.DISEASE, E.CHEMICAL, "biolink:causes", True),
        (RelationType.NEGATIVE_CORRELATION, E.DISEASE, E.CHEMICAL, "biolink:treats", True),
        (
            RelationType.POSITIVE_CORRELATION,
            E.GENE,
            E.DISEASE,
            "biolink:positively_correlated_with",
            False,
        ),
        (RelationType.BIND, E.CHEMICAL, E.GENE, "biolink:physically_interacts_with", False),
        (RelationType.COTREATMENT, E.CHEMICAL, E.CHEMICAL, "biolink:coexists_with", False),
        (RelationType.DRUG_INTERACTION, E.CHEMICAL, E.CHEMICAL, "biolink:interacts_with", False),
    ],
)
def test_predicate_table(rtype, s, o, curie, swap) -> None:
    resolved = resolve_predicate(rtype, s, o)
    assert (resolved.predicate.curie, resolved.swap) == (curie, swap)


def test_relation_outside_schema_is_refused() -> None:
    with pytest.raises(SchemaError, match="outside the schema"):
        resolve_predicate(RelationType.ASSOCIATION, E.SPECIES, E.DISEASE)


def test_sentence_spans_keep_abbreviations_together() -> None:
    text = "Lithium (e.g. Li2CO3) causes tremor. We saw 2.5 mg in Fig. 3 of cases! Then X. Y agree."
    got = [text[s:e] for s, e in sentence_spans(text)]
    assert got == [
        "Lithium (e.g. Li2CO3) causes tremor.",
        "We saw 2.5 mg in Fig. 3 of cases!",
        "Then X. Y agree.",
    ]


def test_offsets_that_do_not_match_are_refused() -> None:
    bad = replace(LITHIUM, mentions=(Mention(0, 7, "Lithiux", E.CHEMICAL, ("MESH:D008094",)),))
    with pytest.raises(OffsetMismatchError, match="'Lithiux' at 0-7"):
        bad.check_offsets()


def test_assemble_directs_chemical_disease_and_finds_the_sentence() -> None:
    record, skips = assemble(LITHIUM)
    assert skips == []
    by_pred = {ev.relation.predicate: ev for ev in record.evidence}
    causes = by_pred["biolink:causes"]
    assert (causes.relation.subject, causes.relation.object) == ("MESH:D008094", "MESH:D014202")
    assert causes.sentence == "Lithium-induced tremor."
    assert LITHIUM.text[causes.start : causes.end] == causes.sentence
    treats = by_pred["biolink:treats"]
    assert (treats.relation.subject, treats.relation.object) == ("MESH:D014635", "MESH:D004827")
    assoc = by_pred["biolink:associated_with"]  # symmetric: stored in sorted order
    assert (assoc.relation.subject, assoc.relation.object) == ("MESH:D014202", "NCBIGene:672")
    assert len({ev.key for ev in record.evidence}) == 3


def test_assemble_skips_relations_it_cannot_place() -> None:
    doc = make_doc(
        "2",
        "Aspirin and humans.",
        "",
        [("Aspirin", "Chemical", "D001241"), ("humans", "Species", "9606")],
        [
            ("Association", "MESH:D001241", "NCBITaxon:9606"),
            ("Association", "MESH:D001241", "MESH:D000001"),
        ],
    )
    record, skips = assemble(doc)
    assert record.evidence == ()
    assert sorted(s.reason for s in skips) == [
        "relation entity not mentioned",
        "relation outside the schema",
    ]


def test_fingerprint_is_deterministic_and_sensitive() -> None:
    first, _ = assemble(LITHIUM)
    again, _ = assemble(LITHIUM)
    revised, _ = assemble(replace(LITHIUM, version=2))
    assert first.fingerprint == again.fingerprint != revised.fingerprint


def test_unlinked_mentions_get_provisional_entities() -> None:
    doc = make_doc("3", "A new syndrome X.", "", [("syndrome X", "Disease", "-")])
    record, _ = assemble(doc)
    assert [eid for eid, _ in record.mentions] == ["KGP:disease.syndrome_x"]


def test_batches_split_on_size_and_on_repeated_pmid(tmp_path) -> None:
    a, _ = assemble(LITHIUM)
    b, _ = assemble(replace(LITHIUM, pmid="1002"))
    revised, _ = assemble(replace(LITHIUM, version=2))
    out = list(batches([a, b, DeletedCitation("9"), revised], size=10))
    assert [x.pmids for x in out] == [["1001", "1002", "9"], ["1001"]]
    assert [x.pmids for x in batches([a, b], size=1)] == [["1001"], ["1002"]]
    merged = next(iter(batches([a, b], size=10))).entities["MESH:D008094"]
    assert merged.synonyms == ("Lithium",)


def test_no_model_and_no_annotations_says_so(tmp_path) -> None:
    with pytest.raises(ModelNotInstalledError, match="no extraction model is installed"):
        list(records([LITHIUM], RunReport(), Quarantine(tmp_path / "q"), use_annotations=False))


def test_settings_layering(tmp_path) -> None:
    user = tmp_path / "c.toml"
    user.write_text('[neo4j]\nbolt_port = 9999\nheap = "2g"\n')
    env = {"KG_CONFIG": str(user), "KG_NEO4J__HEAP": "3g", "HOME": str(tmp_path)}
    s = load_settings(overrides={"load": {"batch_size": 7}}, environ=env)
    assert (s.neo4j.bolt_port, s.neo4j.heap, s.load.batch_size) == (9999, "3g", 7)
    with pytest.raises(ConfigError, match="bolt_port"):
        load_settings(environ={"KG_NEO4J__BOLT_PORT": "notaport", "HOME": str(tmp_path)})


def test_an_entity_is_named_by_the_mentions_that_name_it_alone() -> None:
    # "MMPs" names MMP2 and MMP9 (a family) more often than "MMP-2" names MMP2 alone
    doc = make_doc(
        "11",
        "MMPs and MMPs again.",
        "MMPs rise; MMP-2 rises.",
        [("MMPs", "Gene", "4313,4318"), ("MMP-2", "Gene", "4313")],
    )
    record, _ = assemble(doc)
    named = entities_of(record)
    assert named["NCBIGene:4313"].name == "MMP-2"
    assert named["NCBIGene:4313"].synonyms == ("MMP-2", "MMPs")
    assert named["NCBIGene:4318"].name == "MMPs"  # no mention names it alone


def test_an_entity_takes_its_vocabulary_name_and_keeps_the_texts_as_synonyms() -> None:
    doc = make_doc(
        "12",
        "Cisplatin nephrotoxicity.",
        "Nephrotoxicity of cisplatin; renal damage again.",
        [
            ("nephrotoxicity", "Disease", "D007674"),
            ("Nephrotoxicity", "Disease", "D007674"),
            ("renal damage", "Disease", "D007674"),
            ("Cisplatin", "Chemical", "D002945"),
        ],
    )
    record, _ = assemble(doc)
    vocabulary = {"MESH:D007674": "Kidney Diseases"}
    named = entities_of(record, vocabulary.get)
    kidney = named["MESH:D007674"]
    assert (kidney.name, kidney.preferred) == ("Kidney Diseases", True)
    assert kidney.synonyms == ("Nephrotoxicity", "nephrotoxicity", "renal damage")
    # an identifier the vocabulary lacks keeps its mentions' text
    assert (named["MESH:D002945"].name, named["MESH:D002945"].preferred) == ("Cisplatin", False)
    assert entities_of(record)["MESH:D007674"].name in {"nephrotoxicity", "Nephrotoxicity"}
