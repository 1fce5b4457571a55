"""The linker over a lexicon built from the tiny fixtures."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from extractors.entities import homonyms_by_document
from extractors.linker import (
    Linker,
    coordinated_parts,
    evaluate_gold_mentions,
    joined_parts,
    normalize_variant,
    rewrites,
    species_in_context,
)
from extractors.vocab import build_lexicon
from kg.errors import ConfigError
from kg.model import Document, Mention
from kg.schema import EntityType
from tests.test_vocab import fixture_sources

C, D, G, S, V, CL = (
    EntityType.CHEMICAL,
    EntityType.DISEASE,
    EntityType.GENE,
    EntityType.SPECIES,
    EntityType.VARIANT,
    EntityType.CELL_LINE,
)


@pytest.fixture(scope="module")
def linker(tmp_path_factory: pytest.TempPathFactory) -> Linker:
    out = tmp_path_factory.mktemp("lexicon") / "lexicon.sqlite"
    build_lexicon(fixture_sources(), out)
    return Linker(out)


def top(found: list) -> str | None:
    return found[0].curie if found else None


def test_exact(linker: Linker) -> None:
    found = linker.link("Cisplatin", C)
    assert top(found) == "MESH:D002945"
    assert (found[0].method, found[0].score, found[0].name) == ("exact", 1.0, "Cisplatin")
    assert top(linker.link("cis-diamminedichloroplatinum", C)) == "MESH:D002945"
    assert top(linker.link("type II diabetes mellitus", D)) == "MESH:D003924"
    assert top(linker.link("anaemias", D)) == "MESH:D000740"


def test_type_filter(linker: Linker) -> None:
    assert linker.link("cisplatin", D) == []
    assert linker.link("multiple sclerosis", C) == []
    assert top(linker.link("multiple sclerosis", D)) == "MESH:D009103"


def test_unlinked_is_empty(linker: Linker) -> None:
    assert linker.link("zorblaxine", C) == []
    assert linker.link("   ", C) == []


def test_abbreviation_from_context(linker: Linker) -> None:
    context = (
        "Patients received platinum diamminodichloride (PDD) weekly. "
        "PDD caused nausea in patients with multiple sclerosis (MS)."
    )
    found = linker.link("PDD", C, context)
    assert top(found) == "MESH:D002945" and found[0].method == "abbreviation"
    assert top(linker.link("MS", D, context)) == "MESH:D009103"
    # without its definition, "PDD" names nothing here
    assert linker.link("PDD", C) == []
    # definitions passed by the caller are used as given
    assert top(linker.link("PDD", C, abbreviations={"PDD": "Platinol"})) == "MESH:D002945"
    # a mention that is its own name in the training corpora ("CDDP") needs no definition
    assert top(linker.link("CDDP", C)) == "MESH:D002945"


def test_rewrites() -> None:
    assert rewrites("fenoprofen calcium", C) == ["fenoprofen"]
    assert rewrites("liver tumors", D) == ["liver neoplasms"]
    assert rewrites("Brain Tumour", D) == ["Brain neoplasm"]
    assert rewrites("tumorigenesis", D) == [] and rewrites("liver tumors", C) == []
    # a disease's adjective, or its patients, as the noun; an organ's adjective as its noun
    assert "dyskinesia" in rewrites("dyskinetic", D)
    assert "neutropenia" in rewrites("neutropenic", D)
    assert rewrites("migraineurs", D) == ["migraine"]
    assert rewrites("renal impairment", D)[0] == "kidney impairment"
    # an organ's general harm as its diseases ("heart damage", "vascular events")
    assert rewrites("renal impairment", D)[1:] == ["kidney diseases", "kidney disorders"]
    assert rewrites("Venous complications", D) == ["Venous diseases", "Venous disorders"]
    assert rewrites("damage", D) == [] and rewrites("heart failure", D) == []
    # a drug's form or route before its name
    assert rewrites("Liposomal daunorubicin", C) == ["daunorubicin"]
    assert rewrites("oral", C) == [] and rewrites("dietary fat", C) == []
    assert "lung hypertrophy" in rewrites("Pulmonary hypertrophic", D)
    # short words and other types are left alone
    assert rewrites("toxic", D) == [] and rewrites("dyskinetic", C) == []


def test_a_disease_adjective_links_by_its_noun(linker: Linker) -> None:
    found = linker.link("anemic", D)
    assert top(found) == "MESH:D000740" and found[0].matched == "anemia"
    assert linker.link("anemically", D) == []


def test_a_salt_mention_links_by_its_base_name(linker: Linker) -> None:
    assert top(linker.link("cisplatin hydrochloride", C)) == "MESH:D002945"
    assert top(linker.link("Sildenafil", C)) == "MESH:D000068677"  # the lexicon's salt


def test_fuzzy(linker: Linker) -> None:
    found = linker.link("cis-diaminedichloroplatinum", C)  # one "m" missing
    assert top(found) == "MESH:D002945"
    assert found[0].method == "fuzzy" and 0.6 <= found[0].score < 1.0
    # far from any name: nothing
    assert linker.link("dichloromethane", C) == []


def test_clearing_the_caches_keeps_the_links(linker: Linker) -> None:
    before = linker.link("cis-diaminedichloroplatinum", C)
    assert linker._fuzzy.cache_info().currsize > 0
    linker.clear_caches()
    assert linker._fuzzy.cache_info().currsize == linker._lookup.cache_info().currsize == 0
    assert linker.link("cis-diaminedichloroplatinum", C) == before


def test_a_disease_links_by_the_head_the_corpora_annotated(linker: Linker) -> None:
    found = linker.link("severe postpartum psychosis", D)
    assert top(found) == "MESH:D011605"
    assert (found[0].method, found[0].matched) == ("head", "psychosis")
    # the vocabulary knows "anaemias", but no corpus annotated it: no head link
    assert top(linker.link("anaemias", D)) == "MESH:D000740"
    assert linker.link("severe anaemias", D) == []
    # chemicals are not linked by their last words
    assert top(linker.link("quetiapine", C)) == "MESH:C069541"
    assert linker.link("atypical quetiapine", C) == []  # (a form word, "oral", is dropped)


def test_fuzzy_threshold_can_refuse(linker: Linker) -> None:
    strict = Linker(linker.path, fuzzy_threshold=0.95)
    assert strict.link("cis-diaminedichloroplatinum", C) == []


@pytest.mark.parametrize(
    ("text", "first_reading"),
    [
        ("MMP-1, -2, -9, and -12", ["MMP-1", "MMP-2", "MMP-9", "MMP-12"]),
        ("caspase-3/7", ["caspase-3", "caspase-7"]),
        ("ERK1/2", ["ERK1", "ERK2"]),
        ("SOCS-1 and -3", ["SOCS-1", "SOCS-3"]),
        ("breast and ovarian cancer", ["breast cancer", "ovarian cancer"]),
        (
            "brain, breast, and prostate cancer",
            ["brain cancer", "breast cancer", "prostate cancer"],
        ),
        ("L- and T-type calcium channels", ["L-type calcium channels", "T-type calcium channels"]),
        ("anemia or psychosis", ["anemia", "psychosis"]),
    ],
)
def test_coordinated_parts(text: str, first_reading: list[str]) -> None:
    assert coordinated_parts(text)[0] == first_reading


def test_coordinated_parts_plural_stem_and_plain_names() -> None:
    readings = coordinated_parts("FGF receptors 2 and 4")
    assert ["FGF receptor 2", "FGF receptor 4"] in readings
    # a part without a letter names nothing ("12, -16", a fragment of a longer list)
    for single in ("IL-6", "p38", "CYP2C9", "Na+/K+ ATPase", "multiple sclerosis", "12, -16"):
        assert coordinated_parts(single) == []


@pytest.mark.parametrize(
    ("text", "readings"),
    [
        ("fenfluramine-phentermine", [["fenfluramine", "phentermine"]]),
        ("L-DOPA/benserazide", [["L-DOPA", "benserazide"]]),
        ("Prostigmine-morphine", [["Prostigmine", "morphine"]]),
        # one name's own hyphens: a part of fewer than four letters
        ("N-nitroso-N-methylurea", []),
        ("5-fluorouracil", []),
        ("cis-platin", []),
        ("Na+/K+", []),
    ],
)
def test_joined_parts(text: str, readings: list[list[str]]) -> None:
    assert joined_parts(text) == readings


def test_drugs_joined_by_a_hyphen_link_to_each_and_a_form_word_is_dropped(
    linker: Linker,
) -> None:
    assert linker.link_ids("cisplatin-methylprednisolone", C) == ("MESH:D002945", "MESH:D008775")
    assert linker.link_ids("Platinol/methylprednisolone", C) == ("MESH:D002945", "MESH:D008775")
    assert linker.link_ids("intravenous methylprednisolone", C) == ("MESH:D008775",)
    # both parts must be names
    assert "MESH:D008775" not in linker.link_ids("cisplatin-zorblaxine", C)


def test_a_coordinated_mention_links_to_each_entity_it_names(linker: Linker) -> None:
    assert linker.link_ids("MMP-2/-9", G) == ("NCBIGene:4313", "NCBIGene:4318")
    assert linker.link_ids("matrix metalloproteinases 2 and 9", G) == (
        "NCBIGene:4313",
        "NCBIGene:4318",
    )
    assert linker.link_ids("anemia and multiple sclerosis", D) == ("MESH:D000740", "MESH:D009103")
    # every part must be a name; else the mention links as a whole, as link() does
    assert linker.link_ids("MMP-2 and -7", G) == tuple(
        c.curie for c in linker.link("MMP-2 and -7", G)[:1]
    )
    # a name that is one entity as a whole stays one
    assert linker.link_ids("Diabetes Mellitus, Type 2", D) == ("MESH:D003924",)
    assert linker.link_ids("TP53", G) == ("NCBIGene:7157",)


def test_an_unlinked_gene_named_as_a_mesh_protein_takes_the_gene_of_that_name(
    linker: Linker,
) -> None:
    # "psoriasin" is no gene name, but MeSH's protein "S100 Calcium Binding Protein A7" is
    # S100A7's full name
    assert linker.exact("psoriasin", G) == []
    found = linker.link("Psoriasin", G)
    assert top(found) == "NCBIGene:6278" and found[0].method == "protein name"
    assert linker.link("zorblaxine", G) == []


def test_species_aware_genes(linker: Linker) -> None:
    assert top(linker.link("p53", G)) == "NCBIGene:7157"
    assert top(linker.link("p53", G, "Expression of p53 in patients.")) == "NCBIGene:7157"
    in_mice = "p53-null mice developed tumors; murine p53 was mutated."
    assert top(linker.link("p53", G, in_mice)) == "NCBIGene:22059"
    assert top(linker.link("p53", G, species=[10116])) == "NCBIGene:24842"
    # human is the default, also when other candidates are ranked by prior
    assert [c.taxon for c in linker.link("p53", G)][:2] == [9606, 10090]


def test_a_gene_named_for_another_species_takes_the_namesake_of_the_texts_species(
    linker: Linker,
) -> None:
    # "Bhr1" is a name only mouse Casr has: in a text on patients the human gene of the same
    # symbol (CASR) is meant, in a text on mice the mouse gene itself
    found = linker.link("Bhr1", G, "Bhr1 was raised in patients.")
    assert top(found) == "NCBIGene:846"
    assert found[0].method == "ortholog" and found[1].curie == "NCBIGene:12374"
    assert top(linker.link("Bhr1", G, "Bhr1 was raised in mice.")) == "NCBIGene:12374"
    assert top(linker.link("Bhr1", G)) == "NCBIGene:846"


def test_a_long_form_only_another_species_names_gives_way_to_the_short_form(
    linker: Linker,
) -> None:
    # "tumor suppressor p53" is mouse Trp53's name only (and the human gene's symbol is not
    # Trp53's); in a text on patients the short form names the human gene
    text = "Tumor suppressor p53 (TRP53) was raised in patients."
    assert top(linker.link("TRP53", G, text)) == "NCBIGene:7157"
    assert top(linker.link("TRP53", G, text.replace("patients", "mice"))) == "NCBIGene:22059"


def test_a_symbol_two_genes_share_takes_the_one_the_document_names(linker: Linker) -> None:
    # "p62" is a name of SQSTM1 and of NUP62 (fixture gene_info); SQSTM1 comes first
    assert linker.homonyms("p62", G) == ("NCBIGene:8878", "NCBIGene:23636")
    assert linker.homonyms("NUP62", G) == () and linker.homonyms("p53", G) == ()  # species differ

    def mentions(text: str) -> list[Mention]:
        found = []
        for name in ("p62", "NUP62", "SQSTM1"):
            start = text.find(name)
            while start >= 0:
                ids = linker.link_ids(name, G, text)
                found.append(Mention(start, start + len(name), name, G, ids))
                start = text.find(name, start + 1)
        return sorted(found, key=lambda m: m.start)

    def resolved(text: str) -> list[tuple[str, tuple[str, ...]]]:
        out = homonyms_by_document(mentions(text), lambda m: linker.homonyms(m.text, m.type, text))
        return [(m.text, m.ids) for m in out]

    nup = ("NCBIGene:23636",)
    assert resolved("NUP62 (p62) was raised; p62 fell.") == [
        ("NUP62", nup), ("p62", nup), ("p62", nup)
    ]  # fmt: skip
    # no other name in the document: the linker's first choice stays
    assert resolved("p62 was raised.") == [("p62", ("NCBIGene:8878",))]
    # the first choice is named elsewhere too: it stays
    assert resolved("SQSTM1 and NUP62 bind; p62 fell.")[2] == ("p62", ("NCBIGene:8878",))


def test_a_species_without_gene_vocabulary_takes_the_genes_only_the_corpora_name(
    linker: Linker,
) -> None:
    # "CAR" is a human CASR alias; the training corpus also linked it to a pig gene that no
    # gene vocabulary of the lexicon holds
    assert top(linker.link("CAR", G, "CAR in patients.")) == "NCBIGene:846"
    assert top(linker.link("CAR", G, "CAR in pigs; porcine CAR.")) == "NCBIGene:397033"
    # a species with a vocabulary keeps its own genes first
    assert linker.link("CAR", G, "CAR in mice.")[0].taxon in (10090, 9606)


def test_species_in_context() -> None:
    assert species_in_context(None) == [9606]
    assert species_in_context("Rats and mice; mice again.") == [10090, 10116, 9606]
    assert species_in_context("mice and patients") == [9606, 10090]


def test_prior_from_corpus(linker: Linker) -> None:
    found = linker.link("MS", D)
    assert top(found) == "MESH:D009103" and found[0].prior == 1.0
    assert linker.link("psychosis", D)[0].prior == 1.0


def test_species_and_cell_lines(linker: Linker) -> None:
    assert top(linker.link("E. coli", S)) == "NCBITaxon:562"
    assert top(linker.link("mice", S)) == "NCBITaxon:10090"
    assert top(linker.link("patients", S)) == "NCBITaxon:9606"
    assert top(linker.link("HeLa", CL)) == "cellosaurus:CVCL_0030"
    assert top(linker.link("NIH3T3", CL)) == "cellosaurus:CVCL_0594"


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("c.677C>T", "c|SUB|C|677|T"),
        ("677C>T", "c|SUB|C|677|T"),
        ("677 C>T", "c|SUB|C|677|T"),
        ("c.2406C-->A", "c|SUB|C|2406|A"),
        ("-3170G>A", "c|SUB|G|-3170|A"),
        ("c.357-3C>G", "c|SUB|C|357-3|G"),
        ("G1691A", "c|SUB|G|1691|A"),
        ("p.Leu307Arg", "p|SUB|L|307|R"),
        ("R215W", "p|SUB|R|215|W"),
        ("p.R229G", "p|SUB|R|229|G"),
        ("E873stop", "p|SUB|E|873|X"),
        ("Q31*", "p|SUB|Q|31|X"),
        ("p.Ser119fsX", "p|FS|S|119||"),
        ("F508del", "p|DEL|508|F"),
        ("delF508", "p|DEL|508|F"),
        ("657del5", "c|DEL|657|5"),
        ("1195delC", "c|DEL|1195|C"),
        ("c.1181_1186+20del26", "c|DEL|1181_1186+20|26"),
        ("c.118_119insA", "c|INS|118_119|A"),
        ("157delMTTTVP", "p|DEL|157|MTTTVP"),
        # the forms of the training corpora: g., ranges, frameshifts with a length, duplications
        ("g.3352delG", "g|DEL|3352|G"),
        ("1782-83delAG", "c|DEL|1782_1783|AG"),
        ("c.370-371insA", "c|INS|370_371|A"),
        ("c.463-6T>G", "c|SUB|T|463-6|G"),  # an intronic offset is not a range
        ("p.G204VfsX28", "p|FS|G|204|V|28"),
        ("p.A27fsX132", "p|FS|A|27||132"),
        ("899dupC", "c|DUP|899|C|"),
        ("p. Glu104X", "p|SUB|E|104|X"),
        ("IVS3 + 18C > T", "c|SUB|C|IVS3+18|T"),
        ("-924 A/G", "c|SUB|A|-924|G"),
        ("192Q/R", "p|SUB|Q|192|R"),
        ("C-1228T", "c|SUB|C|-1228|T"),
        ("Delta32", "c|DEL||32"),
        ("19-base pair deletion", "c|DEL||19"),
        ("15 kb deletion", "c|DEL||15K"),
        # prose
        ("thymidine to cytosine mutation at position 28", "c|SUB|T|28|C"),
        ("T to A transition at the nucleotide position +387", "c|SUB|T|387|A"),
        ("G to C at codon 158", "c|SUB|G|CODON158|C"),
        ("T deletion at 5063", "c|DEL|5063|T"),
        ("arginine 150 proline", "p|SUB|R|150|P"),
        ("glutamic acid 333 by aspartic acid", "p|SUB|E|333|D"),
        ("Glu 272 to stop", "p|SUB|E|272|X"),
        ("glycine-594-valine", "p|SUB|G|594|V"),
        ("methionine-->valine substitution at codon 404", "p|SUB|M|404|V"),
        ("valine (Val) to alanine (Ala) substitution at amino acid 16", "p|SUB|V|16|A"),
        ("proline residue for arginine residue at position 150", "p|SUB|R|150|P"),  # R150P
        ("326 from Ser to Cys", "p|SUB|S|326|C"),
    ],
)
def test_normalize_variant(text: str, form: str) -> None:
    assert normalize_variant(text) == form


def test_normalize_variant_refuses_what_is_no_variant() -> None:
    for text in ("BRCA1", "a deletion somewhere", "arginine", "C57BL/6", "G/D allele", "192"):
        assert normalize_variant(text) is None, text


def test_a_variant_given_with_its_rsid_takes_it_as_do_its_other_mentions() -> None:
    from extractors.variants import rsid_beside, same_variant_rsids

    text = (
        "c.471 C>T (p.Ser157Ser, rs35435463) and Ile105Val (rs1695); rs25531(A-->G). "
        "Carriers of Ile105Val, unlike carriers of R32W (in exon 2), ..."
    )

    def at(word: str, last: bool = False) -> tuple[int, int]:
        start = text.rindex(word) if last else text.index(word)
        return start, start + len(word)

    assert rsid_beside(text, *at("c.471 C>T")) == "rs35435463"
    assert rsid_beside(text, *at("p.Ser157Ser")) == "rs35435463"
    assert rsid_beside(text, *at("A-->G")) == "rs25531"
    assert rsid_beside(text, *at("R32W")) is None  # brackets without an rs-id
    ile = ("tmVar:p|SUB|I|105|V",)
    found = same_variant_rsids(
        text,
        [(*at("Ile105Val"), ile), (*at("Ile105Val", last=True), ile),
         (*at("R32W"), ("tmVar:p|SUB|R|32|W",))],
    )  # fmt: skip
    assert found == [("DBSNP:rs1695",), ("DBSNP:rs1695",), ("tmVar:p|SUB|R|32|W",)]


def test_variants(linker: Linker) -> None:
    found = linker.link("rs1801133", V)
    assert top(found) == "DBSNP:rs1801133" and found[0].method == "rsid"
    assert top(linker.link("c.677C>T", V)) == "tmVar:c|SUB|C|677|T"
    assert linker.link("a deletion somewhere", V) == []


def test_entity_and_xrefs(linker: Linker) -> None:
    ms = linker.entity("MESH:D009103")
    assert ms is not None and ms.name == "Multiple Sclerosis" and ms.type is D
    assert "Disseminated Sclerosis" in ms.synonyms
    assert linker.entity("MESH:D999999") is None
    assert "OMIM:126200" in linker.xrefs("MESH:D009103")
    assert "MESH:D009103" in linker.xrefs("OMIM:126200")


def test_broader_diseases(linker: Linker) -> None:
    # CTD's parents, transitively; MeSH's tree numbers (C18.452.394.750.149 under C18.452.394.750)
    assert linker.ancestors("MESH:D009103") == {"MESH:D020278", "MESH:D003711"}
    assert "MESH:D003920" in linker.ancestors("MESH:D003924")
    assert linker.ancestors("MESH:D003920") == frozenset()
    assert linker.ancestors("MESH:D002945") == frozenset()  # a chemical


def test_missing_or_foreign_lexicon(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="kg vocab build"):
        Linker(tmp_path / "none.sqlite")
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    con.execute("INSERT INTO meta VALUES ('format', '0')")
    con.commit()
    con.close()
    with pytest.raises(ConfigError, match="format"):
        Linker(other)


def test_evaluate_gold_mentions(linker: Linker) -> None:
    text = "Cisplatin (CDDP) and zorblaxine in multiple sclerosis"
    doc = Document(
        "9",
        text,
        mentions=(
            Mention(0, 9, "Cisplatin", C, ("MESH:D002945",)),
            Mention(11, 15, "CDDP", C, ("MESH:D002945",)),
            Mention(21, 31, "zorblaxine", C, ("MESH:C999999",)),
            Mention(35, 53, "multiple sclerosis", D, ("MESH:D009103",)),
        ),
    )
    scores = evaluate_gold_mentions(linker, [doc])
    chem = scores[C]
    assert (chem.mentions, chem.linked, chem.correct) == (3, 2, 2)
    p, r, f = chem.prf()
    assert (p, r) == (1.0, 0.5)
    assert scores[D].accuracy == 1.0


def _settings(home: Path, **extract: object):
    """Settings with these ``[extract]`` values and no user configuration."""
    from kg.config import load_settings

    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / "none")}
    return load_settings(overrides={"extract": extract}, environ=env)


def test_vocabulary_names_give_the_preferred_name_or_none(linker: Linker, tmp_path: Path) -> None:
    from extractors.registry import vocabulary_names

    names = vocabulary_names(_settings(tmp_path, lexicon=str(linker.path)))
    assert names is not None
    assert names("MESH:D002945") == linker.preferred_name("MESH:D002945") == "Cisplatin"
    assert names("MESH:D999999") is None and names("KGP:disease.zorblax") is None
    # linking off, or no lexicon built: entities keep their mentions' text
    assert vocabulary_names(_settings(tmp_path, lexicon=str(linker.path), link=False)) is None
    assert vocabulary_names(_settings(tmp_path, lexicon=str(tmp_path / "missing.sqlite"))) is None


def test_new_linking_rules_change_the_entity_stage_identity(
    linker: Linker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an incremental ingest extracts again what older rules linked (kg.pipeline fingerprints)
    from extractors import linker as module
    from extractors.registry import load_entity_extractor

    settings = _settings(tmp_path, lexicon=str(linker.path))
    before = load_entity_extractor(settings).identity
    assert load_entity_extractor(settings).identity == before
    monkeypatch.setattr(module, "LINKING_VERSION", module.LINKING_VERSION + 1)
    assert load_entity_extractor(settings).identity != before
