# Two entry points (see README): `make demo` and `make test`. Both set up everything they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench clean-venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[fast,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/kg neo4j start
	$(BIN)/kg ingest examples/demo.jsonl --use-annotations --no-progress
	$(BIN)/kg cypher "MATCH (e:Entity) RETURN e.type AS type, count(*) AS entities ORDER BY type"
	$(BIN)/kg cypher "MATCH (c:Chemical)-[r]->(d:Disease) RETURN c.name AS chemical, type(r) AS predicate, d.name AS disease, r.paper_count AS papers, r.pmids AS pmids ORDER BY papers DESC, chemical"
	$(BIN)/kg cypher "MATCH (v:Evidence {predicate: 'biolink:causes'})-[:FROM]->(p:Publication) RETURN v.subject AS subject, v.object AS object, p.pmid AS pmid, v.sentence AS sentence"

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/load_bench.py

clean-venv:
	rm -rf $(VENV)
