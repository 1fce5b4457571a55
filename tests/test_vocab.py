"""The lexicon builder on tiny hand-written files in each official format."""

from __future__ import annotations

import gzip
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from extractors.vocab import (
    LEXICON_FORMAT,
    VocabSources,
    build_lexicon,
    decode_postings,
    encode_postings,
    is_train_split,
    mesh_type,
    normalize_name,
    read_cellosaurus,
    read_mesh,
    uninvert,
    useful_taxon_name,
    without_salt,
)
from kg.errors import ConfigError
from kg.schema import EntityType

FIXTURES = Path(__file__).parent / "fixtures" / "vocab"


def fixture_sources(**over: object) -> VocabSources:
    base = VocabSources.defaults(FIXTURES, corpora_dir=None)
    fields = {
        "mesh_descriptors": base.mesh_descriptors,
        "mesh_supplementary": base.mesh_supplementary,
        "hgnc": base.hgnc,
        "gene_info": base.gene_info,
        "taxonomy": FIXTURES / "ncbi_taxonomy_genomeinfodbdata" / "specData.tsv",
        "mondo": base.mondo,
        "ctd_diseases": FIXTURES / "ctd" / "CTD_diseases.tsv",
        "cellosaurus": base.cellosaurus,
        "corpora": (FIXTURES / "corpora" / "tiny_train.pubtator",),
    }
    fields.update(over)
    return VocabSources(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def lexicon(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lexicon") / "lexicon.sqlite"
    build_lexicon(fixture_sources(), out)
    return out


def rows(path: Path, sql: str, *args: object) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def candidates(path: Path, text: str, etype: str) -> list[tuple[str, int, int]]:
    """(curie, rank, corpus count) of the entities of a type a name leads to."""
    return rows(
        path,
        "SELECT e.curie, n.rank, n.count FROM names n JOIN entities e USING (eid) "
        "WHERE n.norm = ? AND e.type = ? ORDER BY n.rank, e.curie",
        normalize_name(text),
        etype,
    )


# -- normalize_name ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("IL-2", "IL 2"),
        ("IL-2", "il2"),
        ("TNF-α", "TNF-alpha"),
        ("β-blockers", "beta blocker"),
        ("Alzheimer's disease", "Alzheimer disease"),
        ("Diseases", "disease"),
        ("therapies", "therapy"),
        ("type II diabetes", "Type 2 Diabetes"),
        ("anaemia", "Anemia"),
        ("oedema", "edema"),
        ("tumours", "tumor"),
        ("Ｃｉｓｐｌａｔｉｎ", "cisplatin"),  # fullwidth, NFKC
        ("non-small-cell", "nonsmall cell"),
    ],
)
def test_normalize_name_meets(a: str, b: str) -> None:
    assert normalize_name(a) == normalize_name(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("psoriasis", "psoriasi"),  # "-is" is no plural
        ("virus", "viru"),
        ("CAPS", "CAP"),  # short symbols keep their s
        ("IL-2", "IL-12"),
        ("alpha", "beta"),
    ],
)
def test_normalize_name_keeps_apart(a: str, b: str) -> None:
    assert normalize_name(a) != normalize_name(b)


def test_normalize_name_values() -> None:
    assert (
        normalize_name("Diabetes Mellitus, Type 2") == "diabetemellitustype2"
    )  # "diabetes" loses its "s" too
    assert normalize_name("TNF-α") == "tnfalpha"
    assert normalize_name("  ") == ""
    assert normalize_name("+") == "+"


def test_uninvert() -> None:
    assert uninvert("Diabetes Mellitus, Type 2") == "Type 2 Diabetes Mellitus"
    assert uninvert("insulin, neutral") == "neutral insulin"
    assert uninvert("2,4-Dichlorophenoxyacetic Acid") is None
    assert uninvert("a, b, c") is None


# -- sources -----------------------------------------------------------------------------------


def test_train_splits_only() -> None:
    assert is_train_split(Path("bc5cdr/train.pubtator"))
    assert is_train_split(Path("aioner/GNormPlus_Train.PubTator"))
    assert not is_train_split(Path("bc5cdr/dev.pubtator"))
    assert not is_train_split(Path("aioner/GNormPlus_Test.PubTator"))
    assert not is_train_split(Path("ncbi_disease/train_dev.txt"))


def test_dev_split_refused(tmp_path: Path) -> None:
    sources = fixture_sources(corpora=(FIXTURES / "corpora" / "tiny_dev.pubtator",))
    with pytest.raises(ConfigError, match="not a TRAIN split"):
        build_lexicon(sources, tmp_path / "x.sqlite")
    assert not (tmp_path / "x.sqlite").exists()


def test_missing_file_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        build_lexicon(fixture_sources(hgnc=tmp_path / "nope.tsv"), tmp_path / "x.sqlite")


def test_taxon_names_kept_for_matching() -> None:
    assert useful_taxon_name("Escherichia coli")
    assert useful_taxon_name("Human immunodeficiency virus 1")
    assert not useful_taxon_name("Lamellibrachia sp.")
    assert not useful_taxon_name("uncultured bacterium")
    assert not useful_taxon_name("Escherichia coli O157:H7")
    assert not useful_taxon_name("Bacillus cereus 1230-11")


def test_postings_round_trip() -> None:
    ids = [0, 3, 4, 900, 100_000]
    from array import array

    assert decode_postings(encode_postings(array("i", ids))) == ids


# -- the built lexicon -------------------------------------------------------------------------


def test_meta_and_types(lexicon: Path) -> None:
    meta = dict(rows(lexicon, "SELECT key, value FROM meta"))
    assert meta["format"] == str(LEXICON_FORMAT)
    assert "hgnc" in meta["sources"]
    types = dict(rows(lexicon, "SELECT type, count(*) FROM entities GROUP BY type"))
    assert set(types) == {"Chemical", "Disease", "Gene", "Species", "CellLine"}


def test_mesh_descriptors(lexicon: Path) -> None:
    assert candidates(lexicon, "cis-diamminedichloroplatinum", "Chemical") == [
        ("MESH:D002945", 11, 0)
    ]
    assert candidates(lexicon, "Cisplatin", "Chemical")[0][:2] == ("MESH:D002945", 1)
    # inverted entry terms are indexed both ways
    assert candidates(lexicon, "Type 2 Diabetes Mellitus", "Disease")[0][0] == "MESH:D003924"
    # F03 (mental disorders) is a disease branch; J (Abattoirs) is not linked at all
    assert candidates(lexicon, "Psychoses, Substance-Induced", "Disease")[0][0] == "MESH:D011605"
    assert rows(lexicon, "SELECT * FROM entities WHERE curie = 'MESH:D000003'") == []
    # a chemical is not a disease
    assert candidates(lexicon, "cisplatin", "Disease") == []


def test_an_enzyme_is_not_a_chemical(lexicon: Path) -> None:
    assert candidates(lexicon, "renin", "Chemical") == []
    assert mesh_type(["D08.811.277.656.837.750", "D12.776.124"]) == {EntityType.CHEMICAL}
    assert mesh_type(["D08.211.200"]) == {EntityType.CHEMICAL}  # a coenzyme


def test_a_salt_is_found_by_its_base_name(lexicon: Path) -> None:
    # MeSH names the drug by its salt only; the base name ranks as a previous name does
    assert candidates(lexicon, "sildenafil", "Chemical") == [("MESH:D000068677", 21, 0)]
    assert candidates(lexicon, "Sildenafil Citrate", "Chemical")[0][1] == 1
    assert without_salt("Erlotinib Hydrochloride") == "Erlotinib"
    assert without_salt("Sodium") is None and without_salt("Ca acetate") is None
    assert without_salt("Cisplatin") is None


def test_mesh_supplementary(lexicon: Path) -> None:
    assert candidates(lexicon, "Seroquel", "Chemical")[0][0] == "MESH:C069541"
    # a supplementary concept mapped to a disease descriptor is a disease
    assert candidates(lexicon, "HOMG1", "Disease")[0][0] == "MESH:C537153"
    # mapped to several descriptors (comma-separated): a chemical like its first one
    assert candidates(lexicon, "ziprasidone", "Chemical")[0][0] == "MESH:C092292"
    assert ("MESH:C069541", "MESH:D002945", "mesh_mapped") in rows(
        lexicon, "SELECT curie, xref, source FROM xrefs"
    )


def test_genes_hgnc_and_gene_info(lexicon: Path) -> None:
    p53 = candidates(lexicon, "p53", "Gene")
    # human (HGNC alias, gene_info synonym), mouse; rat left out of the default taxa? no: kept
    assert {c for c, _, _ in p53} == {"NCBIGene:7157", "NCBIGene:22059", "NCBIGene:24842"}
    taxa = dict(rows(lexicon, "SELECT curie, taxon FROM entities WHERE type = 'Gene'"))
    assert taxa["NCBIGene:7157"] == 9606 and taxa["NCBIGene:22059"] == 10090
    assert candidates(lexicon, "TP53", "Gene")[0][:2] == ("NCBIGene:7157", 1)  # HGNC symbol
    assert candidates(lexicon, "PCAR1", "Gene") == [("NCBIGene:846", 21, 0)]  # previous
    # protein names from gene_info's Other_designations
    assert candidates(lexicon, "extracellular calcium-sensing receptor", "Gene")[0][0] == (
        "NCBIGene:846"
    )
    # withdrawn HGNC symbols are not entities
    assert candidates(lexicon, "A1S9T", "Gene") == []


def test_gene_taxa_filter(tmp_path: Path) -> None:
    out = tmp_path / "lex.sqlite"
    build_lexicon(fixture_sources(gene_taxa=frozenset({9606}), corpora=()), out)
    assert {c for c, _, _ in candidates(out, "p53", "Gene")} == {"NCBIGene:7157"}


def test_gzipped_gene_info(tmp_path: Path) -> None:
    gz = tmp_path / "All_Data.gene_info.gz"
    with gzip.open(gz, "wb") as fh:
        fh.write((FIXTURES / "ncbi_gene" / "Mus_musculus.gene_info").read_bytes())
    out = tmp_path / "lex.sqlite"
    build_lexicon(VocabSources(gene_info=(gz,), gene_taxa=None), out)
    assert {c for c, _, _ in candidates(out, "Tp53", "Gene")} == {
        "NCBIGene:22059",
        "NCBIGene:24842",
    }


def test_taxonomy(lexicon: Path) -> None:
    assert candidates(lexicon, "Escherichia coli", "Species")[0][0] == "NCBITaxon:562"
    assert candidates(lexicon, "Bacillus coli", "Species")[0][0] == "NCBITaxon:562"
    assert candidates(lexicon, "E. coli", "Species")[0][0] == "NCBITaxon:562"
    assert candidates(lexicon, "mice", "Species")[0][0] == "NCBITaxon:10090"
    assert candidates(lexicon, "uncultured bacterium", "Species") == []
    # recent taxa get no "F. novus" abbreviation
    assert candidates(lexicon, "Fakeogenus novus", "Species")
    assert candidates(lexicon, "F. novus", "Species") == []


def test_ctd_and_mondo(lexicon: Path) -> None:
    # CTD: synonyms, OMIM alternatives as cross-references, OMIM-only diseases
    assert candidates(lexicon, "Disseminated Sclerosis", "Disease")[0][0] == "MESH:D009103"
    xrefs = rows(lexicon, "SELECT curie, xref FROM xrefs")
    assert ("MESH:D009103", "OMIM:126200") in xrefs
    assert candidates(lexicon, "DFNA99", "Disease")[0][0] == "OMIM:999999"
    # MONDO lends its synonyms to the MeSH descriptor it cross-references, else to OMIM
    assert candidates(lexicon, "diabetes", "Disease")[0][0] == "MESH:D003920"
    # ... as synonyms, also its own label: CTD's synonym of a concept outranks the label of a
    # MONDO term that only cross-references another ("disseminated sclerosis", D012598)
    found = candidates(lexicon, "disseminated sclerosis", "Disease")
    assert [c for c, _, _ in found] == ["MESH:D009103", "MESH:D012598"]
    assert candidates(lexicon, "PARK late onset", "Disease")[0][0] == "OMIM:168600"
    assert ("MESH:D003920", "MONDO:0005015") in xrefs
    # ... and an OMIM entry CTD lists under a MeSH concept lends to that concept: one disease,
    # one entity (no OMIM:602014 beside MESH:C537153)
    assert candidates(lexicon, "familial magnesium wasting of the gut", "Disease")[0][0] == (
        "MESH:C537153"
    )
    assert rows(lexicon, "SELECT curie FROM entities WHERE curie = 'OMIM:602014'") == []
    # a MONDO term without MeSH or OMIM is left out
    assert candidates(lexicon, "disease", "Disease") == []


def test_cellosaurus(lexicon: Path) -> None:
    recs = list(read_cellosaurus(FIXTURES / "cellosaurus" / "cellosaurus.txt"))
    assert [(r.accession, r.name, r.taxa) for r in recs] == [
        ("CVCL_0030", "HeLa", (9606,)),
        ("CVCL_0594", "NIH 3T3", (10090,)),
    ]
    assert "He La" in recs[0].synonyms
    assert candidates(lexicon, "NIH-3T3", "CellLine")[0][0] == "cellosaurus:CVCL_0594"


def test_corpus_pairs_counted(lexicon: Path) -> None:
    # "MS" -> D009103 three times in the train file, as its own name
    assert candidates(lexicon, "MS", "Disease") == [("MESH:D009103", 19, 3)]
    # a corpus count adds to a vocabulary name without changing its rank
    assert candidates(lexicon, "quetiapine", "Chemical") == [("MESH:C069541", 2, 1)]


def test_entity_names_and_synonyms(lexicon: Path) -> None:
    name, synonyms, source = rows(
        lexicon,
        "SELECT name, synonyms, source FROM entities WHERE curie = 'MESH:D009103'",
    )[0]
    assert (name, source) == ("Multiple Sclerosis", "mesh")
    assert "Disseminated Sclerosis" in synonyms.split("\t")


def test_mesh_xml_release(tmp_path: Path) -> None:
    desc = list(read_mesh(FIXTURES / "mesh_xml" / "desc2025.xml"))
    assert desc[0].ui == "D000077208" and desc[0].synonyms == ("Ultiva",)
    gz = tmp_path / "supp2025.xml.gz"
    with gzip.open(gz, "wb") as fh:
        fh.write((FIXTURES / "mesh_xml" / "supp2025.xml").read_bytes())
    out = tmp_path / "lex.sqlite"
    build_lexicon(VocabSources(mesh_descriptors=FIXTURES / "mesh_xml" / "desc2025.xml",
                               mesh_supplementary=gz), out)  # fmt: skip
    assert candidates(out, "Ultiva", "Chemical")[0][0] == "MESH:D000077208"
    assert candidates(out, "Bleeding", "Disease")[0][0] == "MESH:D006470"
    assert candidates(out, "bevonium methylsulfate", "Chemical")[0][0] == "MESH:C000002"


# -- the command -------------------------------------------------------------------------------


def test_cli_build_and_info(tmp_path: Path) -> None:
    from kg.cli.app import main
    from kg.cli.vocab_cmd import vocab_group

    assert main.get_command(None, "vocab") is vocab_group  # type: ignore[arg-type]
    vocab_dir = tmp_path / "vocab"
    shutil.copytree(FIXTURES, vocab_dir)
    out = tmp_path / "lex.sqlite"
    runner = CliRunner()
    result = runner.invoke(
        main, ["vocab", "build", "--vocab-dir", str(vocab_dir), "--no-corpora", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "entities" in result.output and out.is_file()
    info = runner.invoke(main, ["vocab", "info", "--lexicon", str(out)])
    assert info.exit_code == 0, info.output
    assert "Gene" in info.output and "hgnc" in info.output
    refused = runner.invoke(
        main,
        ["vocab", "build", "--vocab-dir", str(vocab_dir), "--out", str(out),
         "--corpus", str(FIXTURES / "corpora" / "tiny_dev.pubtator")],
    )  # fmt: skip
    assert refused.exit_code != 0 and "TRAIN" in refused.output
