"""The command line as a user runs it: ingest with quarantine, cypher output, refusals."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from kg.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "cli"


def run(settings, *args: str):
    return CliRunner().invoke(main, list(args), obj={"settings": settings})


def test_every_command_has_help() -> None:
    for args in (
        [],
        ["ingest"],
        ["cypher"],
        ["neo4j"],
        ["neo4j", "start"],
        ["vocab"],
        ["vocab", "build"],
    ):
        result = CliRunner().invoke(main, [*args, "--help"])
        assert result.exit_code == 0, (args, result.output)
        assert "Usage:" in result.output


def test_ingest_without_annotations_checks_the_extractor_before_reading(settings) -> None:
    # the test settings' data dir has no lexicon: the run stops at once and says how to fix it
    result = run(settings, "ingest", str(FIXTURES / "mixed.pubtator"), "--no-progress")
    assert result.exit_code == 1
    assert "no lexicon at" in result.output and "kg vocab build" in result.output
    # a recognizer that does not exist is named, with what was expected there
    no_link = settings.model_validate(
        {**settings.model_dump(), "extract": {**settings.extract.model_dump(), "link": False}}
    )
    result = run(no_link, "ingest", str(FIXTURES / "mixed.pubtator"), "--no-progress",
                 "--recognizer", "hf:/no/such/checkpoint")  # fmt: skip
    assert result.exit_code == 2
    assert "/no/such/checkpoint" in result.output


def test_ingest_quarantines_bad_records_and_loads_the_rest(settings, graph, tmp_path) -> None:
    quarantine = tmp_path / "q.jsonl"
    result = run(
        settings,
        "ingest",
        str(FIXTURES / "mixed.pubtator"),
        "--use-annotations",
        "--no-progress",
        "--quarantine",
        str(quarantine),
    )
    assert result.exit_code == 3, result.output
    assert "publications_written: 2" in result.output
    assert str(quarantine) in result.output
    rows = [json.loads(line) for line in quarantine.read_text().splitlines()]
    assert {(r["record"], r["kind"]) for r in rows} == {("1003", "record"), ("1004", "record")}
    by_record = {r["record"]: r for r in rows}
    assert by_record["1003"]["source"].endswith("mixed.pubtator")
    assert "'Cafeine' at 0-8" in by_record["1003"]["reason"]
    assert by_record["1004"]["line"] == 28
    pmids = graph.execute_query("MATCH (p:Publication) RETURN p.pmid AS p ORDER BY p").records
    assert [r["p"] for r in pmids] == ["1001", "1002"]


def test_cypher_prints_json_rows_and_csv(settings, graph, tmp_path) -> None:
    # with the progress bar, as a user runs it
    loaded = run(
        settings,
        "ingest",
        str(FIXTURES / "mixed.pubtator"),
        "--use-annotations",
        "--quarantine",
        str(tmp_path / "q.jsonl"),
    )
    assert loaded.exit_code == 3 and "publications_written: 2" in loaded.output, loaded.output
    query = (
        "MATCH (c:Chemical)-[r:TREATS]->(d:Disease) "
        "WHERE r.paper_count >= $min RETURN c.name AS chemical, d.name AS disease ORDER BY chemical"
    )
    result = run(settings, "cypher", query, "--param", "min=1", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {"chemical": "Aspirin", "disease": "headache"},
        {"chemical": "Valproate", "disease": "epilepsy"},
    ]
    csv_out = run(settings, "cypher", query, "-p", "min=1", "--format", "csv").output
    assert csv_out.splitlines() == ["chemical,disease", "Aspirin,headache", "Valproate,epilepsy"]
    table = run(settings, "cypher", query, "-p", "min=1").output
    assert "(2 rows)" in table


def test_cypher_refuses_writes_with_a_clear_error(settings, graph) -> None:
    result = run(settings, "cypher", "CREATE (n:Entity {id: 'x'}) RETURN n")
    assert result.exit_code == 1
    assert "query refused" in result.output
    assert graph.execute_query("MATCH (n) RETURN count(n) AS n").records[0]["n"] == 0


def test_bad_param_syntax_is_a_usage_error(settings) -> None:
    result = run(settings, "cypher", "RETURN 1", "--param", "novalue")
    assert result.exit_code == 2
    assert "key=value" in result.output


def test_pubmed_update_file_revises_and_deletes(settings, graph, tmp_path) -> None:
    """A real-format update file: versioned records load, DeleteCitation removes a paper."""
    from kg.model import Document
    from kg.pipeline import ingest
    from loaders.neo4j.sink import Neo4jSink

    # 93000010 was loaded earlier; the update file withdraws it.
    ingest(
        [Document(pmid="93000010", title="Soon withdrawn.", pub_date="2001")],
        Neo4jSink(settings),
        quarantine_path=tmp_path / "q0.jsonl",
        batch_size=10,
        use_annotations=True,
    )
    update = Path(__file__).parent / "fixtures" / "readers" / "pubmed_update.xml.gz"
    result = run(
        settings,
        "ingest",
        str(update),
        "--use-annotations",
        "--no-progress",
        "--quarantine",
        str(tmp_path / "q.jsonl"),
    )
    assert result.exit_code == 3, result.output  # the record without a PMID is quarantined
    assert "publications_deleted: 1" in result.output
    rows = graph.execute_query(
        "MATCH (p:Publication) RETURN p.pmid AS pmid, p.version AS v ORDER BY pmid"
    ).records
    assert [(r["pmid"], r["v"]) for r in rows] == [
        ("93000001", 2),
        ("93000002", 1),
        ("93000003", 1),
    ]
