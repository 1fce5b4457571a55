"""Readers: each format on a small hand-written fixture, detection, folders, bad records."""

from __future__ import annotations

import gzip
import logging
import shutil
from pathlib import Path

import pytest

from kg.errors import InputError, OffsetMismatchError
from kg.model import AnnotatedRelation, DeletedCitation, Document
from kg.readers import (
    FORMATS,
    detect_format,
    read_bioc_json,
    read_bioc_xml,
    read_jsonl,
    read_medline,
    read_path,
    read_pubmed,
    read_pubtator,
    read_text,
)
from kg.schema import EntityType, RelationType

FIXTURES = Path(__file__).parent / "fixtures" / "readers"
SHARED_DATA = Path(__file__).parents[2] / "shared" / "data"

CHEMICAL, DISEASE, GENE = EntityType.CHEMICAL, EntityType.DISEASE, EntityType.GENE
SPECIES, VARIANT, CELL_LINE = EntityType.SPECIES, EntityType.VARIANT, EntityType.CELL_LINE


def mentions(doc: Document) -> list[tuple[int, int, str, EntityType, tuple[str, ...]]]:
    return [(m.start, m.end, m.text, m.type, m.ids) for m in doc.mentions]


def errors(items: list[object]) -> list[tuple[str, str | None, int | None]]:
    return [(type(i).__name__, i.record, i.line) for i in items if isinstance(i, InputError)]


def docs(items: list[object]) -> list[Document]:
    return [i for i in items if isinstance(i, Document)]


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


# --- registry -----------------------------------------------------------------------------


def test_formats_registry_names() -> None:
    assert list(FORMATS) == [
        "pubmed",
        "medline",
        "pubtator",
        "bioc-xml",
        "bioc-json",
        "text",
        "jsonl",
    ]


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_missing_file_raises_for_every_reader(fmt: str, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        FORMATS[fmt](tmp_path / "nothing.here")


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_gz_name_without_gzip_content_raises(fmt: str, tmp_path: Path) -> None:
    file = write(tmp_path / "plain.gz", "not compressed\n")
    with pytest.raises(InputError, match="not gzip"):
        FORMATS[fmt](file)


# --- PubMed XML ---------------------------------------------------------------------------


def test_pubmed_update_file() -> None:
    file = FIXTURES / "pubmed_update.xml.gz"
    items = list(read_pubmed(file))
    assert [type(i).__name__ for i in items] == [
        "Document",
        "Document",
        "InputError",
        "Document",
        "DeletedCitation",
        "DeletedCitation",
    ]
    first, second, missing, book, *deleted = items
    assert first == Document(
        pmid="93000001",
        title="Effect of TP53 loss on CO2 sensing in β-cells.",
        abstract="BACKGROUND: Cells sense CO2. RESULTS: Loss of TP53 reduced sensing by 40%.",
        journal="Journal of Hand-Written Fixtures",
        pub_date="2019-03-07",
        mesh_terms=("MESH:D016159", "MESH:D002245"),
        version=2,
        source=str(file),
    )
    assert (second.pmid, second.title, second.pub_date, second.journal, second.abstract) == (
        "93000002",
        "[Rôle des naïfs lymphocytes T].",
        "1998",
        "Revue française de test",
        "",
    )
    assert isinstance(missing, InputError)
    assert missing.source == str(file)
    assert "no PMID" in missing.reason
    assert missing.raw is not None and "A citation that lost its PMID." in missing.raw
    assert missing.hint
    assert (book.pmid, book.title, book.abstract, book.pub_date, book.journal) == (
        "93000003",
        "Hand-written fixtures",
        "Small files written by hand.",
        "2010-10",
        None,
    )
    assert deleted == [
        DeletedCitation("93000010", source=str(file)),
        DeletedCitation("93000011", source=str(file)),
    ]


def test_pubmed_truncated_file_yields_records_then_one_error() -> None:
    items = list(read_pubmed(FIXTURES / "pubmed_truncated.xml"))
    assert [d.pmid for d in docs(items)] == ["94000001"]
    assert errors(items) == [("InputError", None, 16)]
    assert isinstance(items[-1], InputError)
    assert "reading stopped" in items[-1].reason


def test_pubmed_single_article_root_and_pretty_printed_markup(tmp_path: Path) -> None:
    file = write(
        tmp_path / "efetch.xml",
        """<?xml version="1.0"?>
<PubmedArticle>
  <MedlineCitation>
    <PMID Version="1">42</PMID>
    <Article>
      <Journal><JournalIssue><PubDate><Year>2001</Year><Month>13</Month></PubDate>
      </JournalIssue></Journal>
      <ArticleTitle>A fast-acting &#946;
            <sub>2</sub>-agonist</ArticleTitle>
    </Article>
  </MedlineCitation>
</PubmedArticle>
""",
    )
    assert list(read_pubmed(file)) == [
        Document(pmid="42", title="A fast-acting β 2-agonist", pub_date="2001", source=str(file))
    ]


def test_pubmed_refuses_what_is_not_pubmed_xml(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not XML"):
        read_pubmed(write(tmp_path / "x.xml", "1|t|A PubTator file\n"))
    with pytest.raises(InputError, match="bioc-xml"):
        list(read_pubmed(FIXTURES / "sample.bioc.xml"))
    with pytest.raises(InputError, match="not well-formed"):
        list(read_pubmed(write(tmp_path / "y.xml", "<<<")))


def test_pubmed_bad_version_is_a_record_error(tmp_path: Path) -> None:
    file = write(
        tmp_path / "v.xml",
        '<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID Version="two">7</PMID>'
        "</MedlineCitation></PubmedArticle><PubmedArticle><MedlineCitation>"
        '<PMID Version="1">8</PMID></MedlineCitation></PubmedArticle></PubmedArticleSet>',
    )
    items = list(read_pubmed(file))
    assert errors(items) == [("InputError", "7", None)]
    assert [d.pmid for d in docs(items)] == ["8"]


def test_medline_text() -> None:
    file = FIXTURES / "sample.medline"
    items = list(read_medline(file))
    assert docs(items) == [
        Document(
            pmid="95000001",
            title="A title that runs over two lines.",
            abstract="The abstract also runs over two lines.",
            journal="Journal of MEDLINE Fixtures",
            pub_date="2002-09-05",
            source=str(file),
        ),
        Document(
            pmid="95000002",
            title="Seasons give the year only.",
            journal="J Medline Fix",
            pub_date="1999",
            source=str(file),
        ),
    ]
    assert errors(items) == [("InputError", None, 18)]


# --- PubTator -----------------------------------------------------------------------------


def test_pubtator_biored_record_with_unicode_offsets_and_relations() -> None:
    file = FIXTURES / "annotated.pubtator"
    first = list(read_pubtator(file))[0]
    assert isinstance(first, Document)
    assert first.pmid == "90000001"
    assert first.title == "Rôle of BRCA1 in β-thalassemia and naïve T cells."
    assert mentions(first) == [
        (8, 13, "BRCA1", GENE, ("NCBIGene:672",)),
        (17, 30, "β-thalassemia", DISEASE, ("MESH:D017086",)),
        (50, 55, "BRCA1", GENE, ("NCBIGene:672",)),
        (56, 68, "c.68_69delAG", VARIANT, ("tmVar:c|DEL|68_69|AG",)),
        (89, 102, "breast cancer", DISEASE, ("MESH:D001943",)),
        (116, 121, "women", SPECIES, ("NCBITaxon:9606",)),
        (135, 144, "tamoxifen", CHEMICAL, ("MESH:D013629",)),
    ]
    assert first.relations == (
        AnnotatedRelation(RelationType.ASSOCIATION, "NCBIGene:672", "MESH:D001943", True),
        AnnotatedRelation(
            RelationType.POSITIVE_CORRELATION, "tmVar:c|DEL|68_69|AG", "MESH:D001943", False
        ),
        AnnotatedRelation(RelationType.NEGATIVE_CORRELATION, "MESH:D013629", "MESH:D001943", False),
        # D999999 names no mention: kept, with its raw ID.
        AnnotatedRelation(RelationType.ASSOCIATION, "D999999", "NCBIGene:672", True),
    )


def test_pubtator_bc5cdr_record_ids_and_cid() -> None:
    second = list(read_pubtator(FIXTURES / "annotated.pubtator"))[1]
    assert isinstance(second, Document)
    assert mentions(second) == [
        (0, 7, "Lithium", CHEMICAL, ("MESH:D008094",)),
        (16, 22, "tremor", DISEASE, ("MESH:D014202",)),
        (27, 40, "renal failure", DISEASE, ("MESH:D051437",)),
        (42, 59, "Lithium carbonate", CHEMICAL, ("MESH:D016651",)),
        (67, 73, "tremor", DISEASE, ("MESH:D014202",)),
        (84, 106, "kidney or liver injury", DISEASE, ("MESH:D058186", "MESH:D056486")),
        (135, 139, "salt", CHEMICAL, ()),
    ]
    assert second.relations == (
        AnnotatedRelation(RelationType.POSITIVE_CORRELATION, "MESH:D008094", "MESH:D014202"),
    )


def test_pubtator_corpus_types_mapped_or_left_out(caplog: pytest.LogCaptureFixture) -> None:
    file = FIXTURES / "annotated.pubtator"
    with caplog.at_level(logging.WARNING, logger="kg.readers"):
        items = list(read_pubtator(file))
    third = items[2]
    assert isinstance(third, Document)
    assert third.abstract == ""
    assert third.text == "PI3K binds the SH2 domain of p85 in HeLa cells."
    assert mentions(third) == [
        (0, 4, "PI3K", GENE, ("NCBIGene:5290",)),  # FamilyName: a gene family
        (29, 32, "p85", GENE, ("NCBIGene:5295",)),
        (36, 40, "HeLa", CELL_LINE, ("cellosaurus:CVCL_0030",)),
    ]
    assert len(items) == 3
    assert "left out 1 mentions" in caplog.text and "DomainMotif: 1" in caplog.text


def test_pubtator_bad_records_are_yielded_and_reading_goes_on() -> None:
    items = list(read_pubtator(FIXTURES / "bad.pubtator"))
    assert errors(items) == [
        ("OffsetMismatchError", "91000001", 4),
        ("InputError", "91000002", 8),
        ("InputError", "91000003", 12),
        ("InputError", "91000004", 18),
        ("InputError", "91000005", 20),
    ]
    mismatch = items[0]
    assert isinstance(mismatch, OffsetMismatchError)
    assert mismatch.source == str(FIXTURES / "bad.pubtator")
    assert mismatch.raw is not None and mismatch.raw.startswith("91000001|t|Aspirin and headache.")
    assert "'headache' at 13-21" in mismatch.reason
    assert "Anatomy" in items[2].reason and "Causes" in items[3].reason
    assert all(isinstance(i, InputError) and i.hint for i in items[:5])
    last = items[5]
    assert isinstance(last, Document) and last.pmid == "91000006"
    assert mentions(last) == [
        (0, 8, "Caffeine", CHEMICAL, ("MESH:D002110",)),
        (20, 28, "Caffeine", CHEMICAL, ("MESH:D002110",)),
    ]


def test_pubtator_missing_blank_line_crlf_and_gzip(tmp_path: Path) -> None:
    text = "1|t|Alpha\r\n1|a|beta\r\n1\t0\t5\tAlpha\tGene\t7\r\n2|t|Gamma\r\n2|a|\r\n"
    plain = write(tmp_path / "two.pubtator", text)
    packed = write(tmp_path / "two.pubtator.gz", gzip.compress(text.encode()))
    for file in (plain, packed):
        items = list(read_pubtator(file))
        assert [(d.pmid, d.text) for d in docs(items)] == [("1", "Alpha beta"), ("2", "Gamma")]
        assert errors(items) == []


def test_pubtator_truncated_gzip_keeps_the_records_before(tmp_path: Path) -> None:
    text = "".join(f"{n}|t|Title {n}\n{n}|a|Abstract {n}\n\n" for n in range(1, 2001))
    packed = gzip.compress(text.encode())
    items = list(read_pubtator(write(tmp_path / "cut.pubtator.gz", packed[: len(packed) // 2])))
    assert isinstance(items[-1], InputError) and "damaged" in items[-1].reason
    assert len(items) > 2
    assert [d.pmid for d in docs(items)] == [str(n) for n in range(1, len(items))]


def test_pubtator_line_not_utf8_fails_only_its_record(tmp_path: Path) -> None:
    file = write(tmp_path / "latin.pubtator", b"1|t|Caf\xe9\n1|a|\n\n2|t|Tea\n2|a|\n")
    items = list(read_pubtator(file))
    assert errors(items) == [("InputError", None, 1)]
    assert [d.pmid for d in docs(items)] == ["2"]


def test_ncbi_disease_style_txt() -> None:
    file = FIXTURES / "ncbi_style.txt"
    assert detect_format(file) == "pubtator"
    first, second = list(read_path(file))
    assert isinstance(first, Document) and isinstance(second, Document)
    assert mentions(first) == [
        (0, 36, "Hereditary breast and ovarian cancer", DISEASE, ("MESH:D061325",)),
        (56, 80, "Breast or ovarian cancer", DISEASE, ("MESH:D001943", "MESH:D010051")),
        (99, 105, "tumour", DISEASE, ("MESH:D009369",)),
        (125, 132, "cancers", DISEASE, ("MESH:D009369",)),
    ]
    assert second.title == "Ataxia-telangiectasia in two sisters."


# --- BioC ---------------------------------------------------------------------------------


def test_bioc_json() -> None:
    items = list(read_bioc_json(FIXTURES / "sample.bioc.json"))
    assert errors(items) == [
        ("OffsetMismatchError", "97000003", None),
        ("OffsetMismatchError", "97000004", None),
        ("InputError", None, None),
    ]
    assert "outside its passage" in items[2].reason
    biored, general = docs(items)
    assert biored.text == (
        "KRAS G12D in colorectal cancer. The KRAS variant rs121913529 was frequent in "
        "colorectal cancer patients given cetuximab."
    )
    assert mentions(biored) == [
        (0, 4, "KRAS", GENE, ("NCBIGene:3845",)),
        (5, 9, "G12D", VARIANT, ("DBSNP:rs121913529",)),
        (13, 30, "colorectal cancer", DISEASE, ("MESH:D015179",)),
        (36, 40, "KRAS", GENE, ("NCBIGene:3845",)),
        (49, 60, "rs121913529", VARIANT, ("DBSNP:rs121913529",)),
        (77, 94, "colorectal cancer", DISEASE, ("MESH:D015179",)),
        (95, 103, "patients", SPECIES, ("NCBITaxon:9606",)),
        (110, 119, "cetuximab", CHEMICAL, ("MESH:D000068818",)),
    ]
    assert biored.relations == (
        AnnotatedRelation(
            RelationType.POSITIVE_CORRELATION, "DBSNP:rs121913529", "MESH:D015179", True
        ),
        AnnotatedRelation(
            RelationType.NEGATIVE_CORRELATION, "MESH:D000068818", "MESH:D015179", False
        ),
    )
    # Passages at offsets 0, 100 and 300 land at 0, 19 and 63 of title + " " + abstract.
    assert general.text == (
        "Aspirin and ulcers Aspirin caused gastric and duodenal ulcers. Omeprazole prevented them."
    )
    assert (general.journal, general.pub_date) == ("J BioC Fix", "2015")
    assert mentions(general) == [
        (0, 7, "Aspirin", CHEMICAL, ("MESH:D001241",)),
        (12, 18, "ulcers", DISEASE, ("MESH:D014456",)),
        (19, 26, "Aspirin", CHEMICAL, ("MESH:D001241",)),
        (34, 41, "gastric", DISEASE, ("MESH:D013276",)),  # two locations: two mentions
        (55, 61, "ulcers", DISEASE, ("MESH:D013276",)),
        (63, 73, "Omeprazole", CHEMICAL, ("MESH:D009853",)),
    ]
    assert general.relations == (
        AnnotatedRelation(RelationType.POSITIVE_CORRELATION, "MESH:D001241", "MESH:D013276"),
        AnnotatedRelation(RelationType.NEGATIVE_CORRELATION, "MESH:D009853", "MESH:D014456"),
    )


def test_bioc_xml() -> None:
    items = list(read_bioc_xml(FIXTURES / "sample.bioc.xml"))
    assert errors(items) == [("InputError", "98000002", None)]
    assert "no type" in items[1].reason
    cdr, ketamine = docs(items)
    assert (
        cdr.text == "Cocaine-induced seizures in rats. Cocaine produced seizures; naloxone did not."
    )
    assert mentions(cdr) == [
        (0, 7, "Cocaine", CHEMICAL, ("MESH:D003042",)),
        (16, 24, "seizures", DISEASE, ("MESH:D012640",)),
        (28, 32, "rats", SPECIES, ("NCBITaxon:10116",)),
        (34, 41, "Cocaine", CHEMICAL, ("MESH:D003042",)),
        (51, 59, "seizures", DISEASE, ("MESH:D012640",)),
        (61, 69, "naloxone", CHEMICAL, ("MESH:D009270",)),
    ]
    assert cdr.relations == (
        AnnotatedRelation(RelationType.POSITIVE_CORRELATION, "MESH:D003042", "MESH:D012640"),
    )
    assert ketamine.relations == (
        AnnotatedRelation(RelationType.NEGATIVE_CORRELATION, "MESH:D007649", "MESH:D003866"),
    )


def test_bioc_unreadable_files_raise(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        list(read_bioc_json(write(tmp_path / "x.bioc.json", '{"documents": [\n{"id": }]}')))
    assert caught.value.line == 2
    with pytest.raises(InputError, match="not a BioC"):
        list(read_bioc_xml(FIXTURES / "pubmed_truncated.xml"))


# --- text and JSONL -----------------------------------------------------------------------


def test_plain_text() -> None:
    file = FIXTURES / "note.txt"
    assert list(read_text(file)) == [
        Document(
            pmid="text:note",
            title="Naïve T cells and IL-2 signalling",
            abstract="IL-2 drives the expansion of naïve T cells. It is also made by them.",
            source=str(file),
        )
    ]


def test_empty_text_file_is_a_record_error(tmp_path: Path) -> None:
    (item,) = read_text(write(tmp_path / "empty.txt", "\n  \n"))
    assert isinstance(item, InputError) and item.record == "text:empty"


def test_jsonl() -> None:
    file = FIXTURES / "sample.jsonl"
    items = list(read_jsonl(file))
    assert errors(items) == [
        ("InputError", None, 4),
        ("InputError", "96000004", 5),
        ("OffsetMismatchError", "96000005", 6),
    ]
    assert "title" in items[3].reason
    first, second = docs(items)
    assert (first.pmid, first.journal, first.pub_date, first.version, first.mesh_terms) == (
        "96000001",
        "J Jsonl",
        "2021",
        3,
        ("MESH:D016159", "MESH:D009369"),
    )
    assert mentions(first) == [
        (0, 4, "TP53", GENE, ("NCBIGene:7157",)),
        (8, 14, "cancer", DISEASE, ("MESH:D009369",)),
        (23, 27, "TP53", GENE, ("NCBIGene:7157",)),
    ]
    assert first.relations == (
        AnnotatedRelation(RelationType.POSITIVE_CORRELATION, "NCBIGene:7157", "MESH:D009369", True),
    )
    assert second == Document(
        pmid="96000002", title="Café au lait spots – a case.", pub_date="2020-05", source=str(file)
    )


# --- detection and paths ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("pubmed_update.xml.gz", "pubmed"),
        ("pubmed_truncated.xml", "pubmed"),
        ("sample.medline", "medline"),
        ("annotated.pubtator", "pubtator"),
        ("ncbi_style.txt", "pubtator"),
        ("sample.bioc.xml", "bioc-xml"),
        ("sample.bioc.json", "bioc-json"),
        ("note.txt", "text"),
        ("sample.jsonl", "jsonl"),
    ],
)
def test_detect_format_of_fixtures(name: str, fmt: str) -> None:
    assert detect_format(FIXTURES / name) == fmt


def test_detect_format_sniffs_ambiguous_names(tmp_path: Path) -> None:
    bioc = (FIXTURES / "sample.bioc.xml").read_bytes()
    assert detect_format(write(tmp_path / "corpus.xml", bioc)) == "bioc-xml"
    assert detect_format(write(tmp_path / "corpus.xml.gz", gzip.compress(bioc))) == "bioc-xml"
    medline = (FIXTURES / "sample.medline").read_bytes()
    assert detect_format(write(tmp_path / "result.txt", medline)) == "medline"
    assert detect_format(write(tmp_path / "AIONER.PubTator", "1|t|x\n")) == "pubtator"
    assert detect_format(write(tmp_path / "one.json", '{"pmid": "1", "title": "x"}\n')) == "jsonl"
    assert detect_format(write(tmp_path / "PUBMED", "<PubmedArticleSet/>")) == "pubmed"
    with pytest.raises(InputError, match="cannot tell the format"):
        detect_format(write(tmp_path / "table.csv", "a,b\n"))


def test_read_path_unknown_format_names_the_accepted_ones() -> None:
    with pytest.raises(InputError) as caught:
        read_path(FIXTURES / "note.txt", "docx")
    assert "docx" in str(caught.value)
    assert caught.value.hint is not None
    assert all(name in caught.value.hint for name in FORMATS)


def test_read_path_with_named_format() -> None:
    (item,) = read_path(FIXTURES / "ncbi_style.txt", "text")
    assert isinstance(item, Document) and item.pmid == "text:ncbi_style"


def test_read_path_folder(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    shutil.copy(FIXTURES / "note.txt", tmp_path / "b_note.txt")
    (tmp_path / "a").mkdir()
    shutil.copy(FIXTURES / "ncbi_style.txt", tmp_path / "a" / "corpus.txt")
    shutil.copy(FIXTURES / "sample.medline", tmp_path / "c.medline")
    write(tmp_path / "LICENSE", "Permission is hereby granted\n")
    write(tmp_path / ".hidden.pubtator", "9|t|hidden\n")
    write(tmp_path / "broken.pubtator.gz", "not gzip\n")
    with caplog.at_level(logging.WARNING, logger="kg.readers"):
        items = list(read_path(tmp_path))
    assert [i.pmid for i in items if isinstance(i, Document)] == [
        "92000001",
        "92000002",
        "text:b_note",
        "95000001",
        "95000002",
    ]
    assert [(i.source, i.reason) for i in items if isinstance(i, InputError)] == [
        (str(tmp_path / "broken.pubtator.gz"), "named .gz but not gzip-compressed"),
        (str(tmp_path / "c.medline"), "record has no PMID line"),
    ]
    assert "LICENSE: skipped" in caplog.text


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_DATA.exists(), reason="the shared corpora are not here")
def test_real_bc5cdr_dev_reads_without_errors() -> None:
    items = list(read_path(SHARED_DATA / "corpora" / "bc5cdr" / "dev.pubtator"))
    assert errors(items) == []
    assert len(docs(items)) == 489
